"""One chunk in, one encoded frame body out, and back: transform ∘ backend, chosen by level.

This layer is pure (no threads, no files): ``encode_chunk(data, level)`` and
``decode_chunk(transform, backend, payload, size)``. A chunk that does not shrink is stored, so
no chunk grows by more than the frame's fixed overhead.

With the semantic transform the frame body is ``varint(code length) | backend payload``, the
backend payload decoding to the glyph code of :mod:`sigmalang.semantic` (docs/semantic.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from . import semantic
from .backends import PPMD, STORE, ZSTD, BackendError, get_backend
from .container import Frame
from .errors import SigmaFormatError
from .glyph import decode_varint, encode_varint
from .semantic.codebook import Codebook

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "TRANSFORM_LITERAL",
    "TRANSFORM_SEMANTIC",
    "Chunk",
    "ChunkDecodeError",
    "EncodedChunk",
    "chunk_end",
    "decode_frame",
    "LevelSpec",
    "decode_chunk",
    "decode_job",
    "encode_chunk",
    "encode_job",
    "install_codebook",
    "level_spec",
    "warm_up",
]

TRANSFORM_LITERAL = 0  # the frame's content is the chunk's bytes: one literal glyph run
TRANSFORM_SEMANTIC = 1  # the frame's content is a glyph code (words, quantities, structure)
TRANSFORMS = {TRANSFORM_LITERAL: "literal", TRANSFORM_SEMANTIC: "semantic"}


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """What a level means: the glyph transform, the backend and the backend's own level.

    For PPMd, *backend_level* is the model order and *memory_mib* the model size; *verify*
    decodes every PPMd frame again before it is written. None of these is needed to decode:
    frames carry their own parameters.
    """

    transform: int
    backend: int
    backend_level: int
    memory_mib: int = 0
    verify: bool = False

    def describe(self) -> str:
        from .backends import BACKENDS

        text = f"{TRANSFORMS[self.transform]} + {BACKENDS[self.backend]}"
        if self.backend == PPMD:
            text += f" order {self.backend_level}, {self.memory_mib} MiB"
        elif self.backend != STORE:
            text += f" {self.backend_level}"
        return text + (", verified" if self.verify else "")


# Every PPMd encoding is decoded again before it is written (verify=True): pyppmd 1.3.1 has been
# seen to lose output bytes, and a lossless codec must not trust it (docs/semantic.md has the cost).
LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(TRANSFORM_LITERAL, STORE, 0),
    1: LevelSpec(TRANSFORM_LITERAL, ZSTD, 3),
    2: LevelSpec(TRANSFORM_LITERAL, PPMD, 4, 16, verify=True),
    3: LevelSpec(TRANSFORM_LITERAL, PPMD, 6, 16, verify=True),
    4: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 4, 16, verify=True),
    5: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 5, 32, verify=True),
    6: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 6, 64, verify=True),
    7: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 8, 128, verify=True),
    8: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 12, 256, verify=True),
    9: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 16, 256, verify=True),
}
DEFAULT_LEVEL = 6


def level_spec(level: int) -> LevelSpec:
    if type(level) is not int or level not in LEVELS:  # bool and float are not levels
        raise ValueError(f"level must be an integer 0-9, got {level!r}")
    return LEVELS[level]


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    transform: int
    backend: int
    data: bytes


class Chunk(NamedTuple):
    """A piece of the input as the reader cut it: its number, where it starts, its bytes."""

    number: int
    offset: int
    data: bytes
    is_final: bool


# A stream codebook is sent to each worker process once, by the pool's warm-up (install_codebook),
# and jobs then name it by its id, so that it is not pickled with every chunk.
_installed: dict[bytes, Codebook] = {}
BookRef = Codebook | bytes | None  # a book, or the id of one installed in this process


def install_codebook(book: Codebook) -> bytes:
    """Keep *book* in this process, so that jobs can name it by its id; returns the id."""
    book_id = book.id
    _installed[book_id] = book
    return book_id


def _resolve(book: BookRef) -> Codebook | None:
    if book is None or isinstance(book, Codebook):
        return book
    try:
        return _installed[book]
    except KeyError:
        raise RuntimeError(f"codebook {book.hex()} was not installed in this worker") from None


def warm_up(text: bytes, level: int, book: Codebook | None = None) -> None:
    """A new worker's initializer: install the stream's codebook and encode *text* once."""
    if book is not None:
        install_codebook(book)
    encode_chunk(text, level, book)


def encode_job(chunk: Chunk, level: int, book: BookRef = None) -> tuple[int, int, bytes]:
    """What a worker process runs per chunk. It lives here, beside the codec, so that a worker
    imports only the codec's modules (the package's ``__init__`` is lazy)."""
    encoded = encode_chunk(chunk.data, level, _resolve(book))
    return encoded.transform, encoded.backend, encoded.data


def decode_job(frame: Frame, book: BookRef = None) -> bytes:
    """What a worker process runs per frame (see :func:`encode_job`)."""
    return decode_frame(frame, _resolve(book))


class ChunkDecodeError(Exception):
    """A frame body could not be decoded; the caller knows which frame and adds that."""


def encode_chunk(data: bytes, level: int = DEFAULT_LEVEL, book: Codebook | None = None) -> EncodedChunk:
    """Encode one chunk at *level*; falls back to storing when encoding does not shrink it.

    The semantic transform is skipped for chunks that look binary or mostly non-ASCII
    (:func:`sigmalang.semantic.worth_trying`); they get the level's backend alone. With *book*
    (the stream's codebook), semantic frames reference it instead of carrying their own.
    """
    spec = level_spec(level)
    data = bytes(data)
    if spec.backend != STORE and data:
        backend = get_backend(spec.backend, spec.backend_level, spec.memory_mib, verify=spec.verify)
        semantic_ok = spec.transform == TRANSFORM_SEMANTIC and semantic.worth_trying(data)
        code = semantic.encode(data, book=book) if semantic_ok else b""
        try:
            if code and len(code) <= max_code_size(len(data)):
                encoded = encode_varint(len(code)) + backend.encode(code)
                transform = TRANSFORM_SEMANTIC
            else:
                encoded = backend.encode(data)
                transform = TRANSFORM_LITERAL
            backend_id = spec.backend
        except BackendError:  # a verified backend refused its own output: use zstd for this chunk
            encoded, transform, backend_id = get_backend(ZSTD, 19).encode(data), TRANSFORM_LITERAL, ZSTD
        if len(encoded) < len(data):
            return EncodedChunk(transform, backend_id, encoded)
    return EncodedChunk(TRANSFORM_LITERAL, STORE, data)


def max_code_size(size: int) -> int:
    """The longest glyph code a decoder accepts for a chunk of *size* bytes (a generous bound)."""
    return 4 * size + 64


def decode_chunk(transform: int, backend: int, payload: bytes, size: int, book: Codebook | None = None) -> bytes:
    """Decode one frame body to exactly *size* bytes, or raise :class:`ChunkDecodeError`.

    *book* is the stream's codebook, when its header names one.
    """
    if transform not in TRANSFORMS:
        raise ChunkDecodeError(f"unknown transform {transform}")
    try:
        decoder = get_backend(backend)
    except KeyError:
        raise ChunkDecodeError(f"unknown backend {backend}") from None
    try:
        if transform == TRANSFORM_LITERAL:
            return decoder.decode(payload, size)
        return _decode_semantic(decoder.decode, payload, size, book)
    except (BackendError, semantic.SemanticDecodeError) as exc:
        raise ChunkDecodeError(str(exc)) from None


def _decode_semantic(decode: Callable[[bytes, int], bytes], payload: bytes, size: int, book: Codebook | None) -> bytes:
    try:
        parsed = decode_varint(payload, 0, 5)
    except SigmaFormatError:
        parsed = None
    if parsed is None:
        raise ChunkDecodeError("semantic frame has no valid glyph-code length")
    code_size, start = parsed
    if code_size > max_code_size(size):
        raise ChunkDecodeError(f"glyph code of {code_size} bytes is too long for a {size}-byte chunk")
    data = semantic.decode(decode(payload[start:], code_size), size, book=book)
    if len(data) != size:
        raise ChunkDecodeError(f"glyph code decoded to {len(data)} bytes, expected {size}")
    return data


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


def decode_frame(frame: Frame, book: Codebook | None = None) -> bytes:
    """Decode a parsed frame to its original bytes; damage becomes a located SigmaFormatError.

    *book* is the stream's codebook, when its header names one (and only then).
    """
    try:
        return decode_chunk(frame.transform, frame.backend, frame.data, frame.orig_size, book)
    except ChunkDecodeError as exc:
        raise SigmaFormatError(f"frame cannot be decoded: {exc}", frame=frame.number, offset=frame.offset) from None
