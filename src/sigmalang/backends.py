"""Entropy backends behind one small interface: ``encode(bytes) -> bytes`` and
``decode(bytes, size) -> bytes``, where *size* is the exact decoded length.

Backends know nothing of glyphs or frames. Each has a one-byte id that frames store.
"""

from __future__ import annotations

import threading
from typing import Protocol

import zstandard

__all__ = [
    "BACKENDS",
    "STORE",
    "ZSTD",
    "Backend",
    "BackendError",
    "StoreBackend",
    "ZstdBackend",
    "get_backend",
]

STORE = 0
ZSTD = 1


class BackendError(Exception):
    """A backend could not decode its input (damaged data); the caller adds the location."""


class Backend(Protocol):
    id: int
    name: str

    def encode(self, data: bytes) -> bytes: ...

    def decode(self, data: bytes, size: int) -> bytes: ...


class StoreBackend:
    id = STORE
    name = "store"

    def encode(self, data: bytes) -> bytes:
        return bytes(data)

    def decode(self, data: bytes, size: int) -> bytes:
        if len(data) != size:
            raise BackendError(f"stored data is {len(data)} bytes, expected {size}")
        return bytes(data)


class ZstdBackend:
    """Zstandard via the ``zstandard`` package, single-threaded so output is deterministic."""

    id = ZSTD
    name = "zstd"

    def __init__(self, level: int = 3):
        self.level = level
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False)
        # A frame never holds more than its chunk, so the window never needs to exceed 64 MiB.
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=1 << 26)

    def encode(self, data: bytes) -> bytes:
        return bytes(self._compressor.compress(data))

    def decode(self, data: bytes, size: int) -> bytes:
        if size == 0:
            if data:
                raise BackendError("zstd data present for an empty chunk")
            return b""
        try:
            params = zstandard.get_frame_parameters(data)
            if params.content_size != size:
                raise BackendError(f"zstd frame declares {params.content_size} bytes, expected {size}")
            out = self._decompressor.decompress(data, max_output_size=size)
        except zstandard.ZstdError as exc:
            raise BackendError(f"zstd: {exc}") from None
        if len(out) != size:
            raise BackendError(f"zstd decoded {len(out)} bytes, expected {size}")
        return bytes(out)

    def memory_usage(self) -> int:
        """Bytes of native memory the compression context uses, as zstd estimates it."""
        params = zstandard.ZstdCompressionParameters.from_level(self.level)
        return int(params.estimated_compression_context_size())


BACKENDS = {STORE: "store", ZSTD: "zstd"}


_local = threading.local()


def get_backend(backend_id: int, level: int = 0) -> Backend:
    """A backend instance, cached per thread (codec contexts are not thread-safe).

    Raises ``KeyError`` for an unknown id.
    """
    cache: dict[tuple[int, int], Backend] = _local.__dict__.setdefault("backends", {})
    key = (backend_id, level)
    backend = cache.get(key)
    if backend is None:
        if backend_id == STORE:
            backend = StoreBackend()
        elif backend_id == ZSTD:
            backend = ZstdBackend(level or 3)
        else:
            raise KeyError(backend_id)
        cache[key] = backend
    return backend
