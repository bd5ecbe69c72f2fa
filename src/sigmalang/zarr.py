"""ΣLANG as a zarr 3 bytes-to-bytes codec named ``sigmalang`` (``pip install 'sigmalang[zarr]'``).

zarr finds it through the ``zarr.codecs`` entry point, so an array whose ``zarr.json`` lists
``{"name": "sigmalang", "configuration": {"level": 3}}`` opens wherever sigmalang is installed::

    from sigmalang.zarr import SigmalangCodec
    z = zarr.create_array(store, shape=(1000,), dtype="S64", compressors=[SigmalangCodec(level=3)])

Each chunk's bytes become one ΣLANG stream (:func:`sigmalang.compress`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ._compressor import compress, decompress
from ._extras import require
from ._levels import DEFAULT_LEVEL, level_spec

_codec = require("zarr.abc.codec", "sigmalang.zarr")
_common = require("zarr.core.common", "sigmalang.zarr")

__all__ = ["SigmalangCodec"]

NAME = "sigmalang"


@dataclass(frozen=True)
class SigmalangCodec(_codec.BytesBytesCodec):  # type: ignore[misc, name-defined]
    """zarr 3 codec: a chunk's bytes ⇄ one ΣLANG stream at *level*."""

    is_fixed_size = False
    level: int = DEFAULT_LEVEL

    def __init__(self, *, level: int = DEFAULT_LEVEL) -> None:
        level_spec(level)
        object.__setattr__(self, "level", level)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SigmalangCodec:
        _, configuration = _common.parse_named_configuration(data, NAME)
        return cls(**(configuration or {}))

    def to_dict(self) -> dict[str, Any]:
        return {"name": NAME, "configuration": {"level": self.level}}

    def _encode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        data = compress(chunk_bytes.to_bytes(), level=self.level)
        return chunk_spec.prototype.buffer.from_bytes(data)

    def _decode_sync(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return chunk_spec.prototype.buffer.from_bytes(decompress(chunk_bytes.to_bytes()))

    async def _encode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._encode_sync, chunk_bytes, chunk_spec)

    async def _decode_single(self, chunk_bytes: Any, chunk_spec: Any) -> Any:
        return await asyncio.to_thread(self._decode_sync, chunk_bytes, chunk_spec)

    def compute_encoded_size(self, input_byte_length: int, chunk_spec: Any) -> int:
        raise NotImplementedError
