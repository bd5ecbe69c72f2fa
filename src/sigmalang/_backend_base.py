"""What every entropy backend (:mod:`sigmalang._backends`) shares: the one-byte ids that frames
store, :class:`BackendError` and the :class:`Backend` interface."""

from __future__ import annotations

from typing import Protocol

STORE = 0
ZSTD = 1
PPMD = 2
CM = 3


class BackendError(Exception):
    """A backend could not decode its input (damaged data); the caller adds the location."""


class Backend(Protocol):
    id: int
    name: str

    def encode(self, data: bytes, prime: bytes = b"") -> bytes: ...

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes: ...
