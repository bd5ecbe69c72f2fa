"""One chunk in, one encoded frame body out, and back: transform ∘ backend, chosen by level.

This layer is pure (no threads, no files): ``encode_chunk(data, level)`` and
``decode_chunk(transform, backend, payload, size)``. A chunk that does not shrink is stored, so
no chunk grows by more than the frame's fixed overhead.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends import STORE, ZSTD, BackendError, get_backend
from .container import Frame
from .errors import SigmaFormatError

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "TRANSFORM_LITERAL",
    "ChunkDecodeError",
    "EncodedChunk",
    "chunk_end",
    "decode_frame",
    "LevelSpec",
    "decode_chunk",
    "encode_chunk",
    "level_spec",
]

TRANSFORM_LITERAL = 0  # the frame's content is the chunk's bytes: one literal glyph run
TRANSFORMS = {TRANSFORM_LITERAL: "literal"}


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """What a level means: the glyph transform, the backend and the backend's own level."""

    transform: int
    backend: int
    backend_level: int

    def describe(self) -> str:
        from .backends import BACKENDS

        return f"{TRANSFORMS[self.transform]} + {BACKENDS[self.backend]} {self.backend_level}"


LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(TRANSFORM_LITERAL, STORE, 0),
    1: LevelSpec(TRANSFORM_LITERAL, ZSTD, 1),
    2: LevelSpec(TRANSFORM_LITERAL, ZSTD, 3),
    3: LevelSpec(TRANSFORM_LITERAL, ZSTD, 5),
    4: LevelSpec(TRANSFORM_LITERAL, ZSTD, 7),
    5: LevelSpec(TRANSFORM_LITERAL, ZSTD, 9),
    6: LevelSpec(TRANSFORM_LITERAL, ZSTD, 12),
    7: LevelSpec(TRANSFORM_LITERAL, ZSTD, 15),
    8: LevelSpec(TRANSFORM_LITERAL, ZSTD, 17),
    9: LevelSpec(TRANSFORM_LITERAL, ZSTD, 19),
}
DEFAULT_LEVEL = 6


def level_spec(level: int) -> LevelSpec:
    try:
        return LEVELS[level]
    except (KeyError, TypeError):
        raise ValueError(f"level must be an integer 0-9, got {level!r}") from None


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    transform: int
    backend: int
    data: bytes


class ChunkDecodeError(Exception):
    """A frame body could not be decoded; the caller knows which frame and adds that."""


def encode_chunk(data: bytes, level: int = DEFAULT_LEVEL) -> EncodedChunk:
    """Encode one chunk at *level*; falls back to storing when encoding does not shrink it."""
    spec = level_spec(level)
    data = bytes(data)
    if spec.backend != STORE and data:
        encoded = get_backend(spec.backend, spec.backend_level).encode(data)
        if len(encoded) < len(data):
            return EncodedChunk(spec.transform, spec.backend, encoded)
    return EncodedChunk(TRANSFORM_LITERAL, STORE, data)


def decode_chunk(transform: int, backend: int, payload: bytes, size: int) -> bytes:
    """Decode one frame body to exactly *size* bytes, or raise :class:`ChunkDecodeError`."""
    if transform not in TRANSFORMS:
        raise ChunkDecodeError(f"unknown transform {transform}")
    try:
        return get_backend(backend).decode(payload, size)
    except KeyError:
        raise ChunkDecodeError(f"unknown backend {backend}") from None
    except BackendError as exc:
        raise ChunkDecodeError(str(exc)) from None


def line_window(chunk_size: int) -> int:
    """How far back from a chunk's end a line end is looked for (an eighth, at most 64 KiB)."""
    return min(chunk_size // 8, 64 << 10)


def chunk_end(buf: bytes | bytearray | memoryview, chunk_size: int, final: bool) -> int:
    """Where the next chunk of *buf* ends, or 0 if more input is needed to decide.

    Without *final*, a decision needs more than *chunk_size* bytes, so it never depends on how
    the input was sliced into reads. The chunk then ends after the last line feed in its last
    ``line_window(chunk_size)`` bytes, so no line is split between frames; with none there, it
    ends at *chunk_size*.
    """
    size = len(buf)
    if size <= chunk_size:
        return size if final else 0
    window = line_window(chunk_size)
    if window:
        cut = bytes(buf[chunk_size - window : chunk_size]).rfind(b"\n")
        if cut >= 0:
            return chunk_size - window + cut + 1
    return chunk_size


def decode_frame(frame: Frame) -> bytes:
    """Decode a parsed frame to its original bytes; damage becomes a located SigmaFormatError."""
    try:
        return decode_chunk(frame.transform, frame.backend, frame.data, frame.orig_size)
    except ChunkDecodeError as exc:
        raise SigmaFormatError(f"frame cannot be decoded: {exc}", frame=frame.number, offset=frame.offset) from None
