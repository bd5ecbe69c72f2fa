"""ΣLANG as a numcodecs codec, ``codec_id="sigmalang"`` (``pip install 'sigmalang[zarr]'``).

numcodecs finds it through the ``numcodecs.codecs`` entry point, so
``numcodecs.get_codec({"id": "sigmalang", "level": 3})`` works without importing sigmalang first,
and a zarr v2 array whose ``.zarray`` names it opens anywhere sigmalang is installed. Each buffer
is one ΣLANG stream (:func:`sigmalang.compress`); for zarr 3 arrays see :mod:`sigmalang.zarr`.
"""

from __future__ import annotations

from typing import Any

from ._compressor import compress, decompress
from ._extras import require
from ._levels import DEFAULT_LEVEL, level_spec

_abc = require("numcodecs.abc", "sigmalang.numcodecs")
_compat = require("numcodecs.compat", "sigmalang.numcodecs")

__all__ = ["Sigmalang"]


class Sigmalang(_abc.Codec):  # type: ignore[misc, name-defined]
    """numcodecs codec: each buffer becomes one ΣLANG stream at *level*."""

    codec_id = "sigmalang"

    def __init__(self, level: int = DEFAULT_LEVEL):
        level_spec(level)
        self.level = level

    def encode(self, buf: Any) -> bytes:
        data = _compat.ensure_contiguous_ndarray(buf).view("u1")
        return compress(data.tobytes(), level=self.level)

    def decode(self, buf: Any, out: Any = None) -> Any:
        data = decompress(_compat.ensure_bytes(buf))
        return _compat.ndarray_copy(data, out)

    def get_config(self) -> dict[str, Any]:
        return {"id": self.codec_id, "level": self.level}

    def __repr__(self) -> str:
        return f"Sigmalang(level={self.level})"
