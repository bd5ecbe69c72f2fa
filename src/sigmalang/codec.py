"""One chunk in, one encoded frame body out, and back: transform ∘ backend, chosen by level.

This layer is pure (no threads, no files): ``encode_chunk(data, level)`` and
``decode_chunk(transform, backend, payload, size)``. A chunk that does not shrink is stored, so
no chunk grows by more than the frame's fixed overhead.

With the semantic transform the frame body is ``varint(code length) | backend payload``, the
backend payload decoding to the glyph code of :mod:`sigmalang.semantic` (docs/semantic.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from . import semantic
from .backends import CM, PPMD, STORE, ZSTD, BackendError, get_backend
from .container import Frame
from .errors import SigmaFormatError
from .glyph import decode_varint, encode_varint
from .longrange import LongRangeError, Matcher, cut, encode_list, parse_list, splice
from .semantic.codebook import Codebook
from .semantic.transform import read_header

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "LONG_TRANSFORMS",
    "TRANSFORM_LITERAL",
    "TRANSFORM_LONG_LITERAL",
    "TRANSFORM_LONG_SEMANTIC",
    "TRANSFORM_SEMANTIC",
    "Chunk",
    "ChunkDecodeError",
    "CONTEXT_WINDOW",
    "EncodedChunk",
    "FrameContext",
    "MAX_CONTEXT",
    "RESET_INTERVAL",
    "chunk_end",
    "decode_frame",
    "LevelSpec",
    "decode_chunk",
    "decode_job",
    "encode_chunk",
    "encode_job",
    "encode_run_job",
    "install_codebook",
    "level_spec",
    "warm_up",
]

TRANSFORM_LITERAL = 0  # the frame's content is the chunk's bytes: one literal glyph run
TRANSFORM_SEMANTIC = 1  # the frame's content is a glyph code (words, quantities, structure)
# Shared-context streams only: long-range references (a match list), then transform 0 or 1 of the
# rest of the chunk (sigmalang.longrange; FORMAT.md §7). The inner transform is the id minus 2.
TRANSFORM_LONG_LITERAL = 2
TRANSFORM_LONG_SEMANTIC = 3
LONG_TRANSFORMS = (TRANSFORM_LONG_LITERAL, TRANSFORM_LONG_SEMANTIC)
TRANSFORMS = {
    TRANSFORM_LITERAL: "literal",
    TRANSFORM_SEMANTIC: "semantic",
    TRANSFORM_LONG_LITERAL: "long+literal",
    TRANSFORM_LONG_SEMANTIC: "long+semantic",
}


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """What a level means: the glyph transform, the backend and the backend's own level.

    For PPMd, *backend_level* is the model order and *memory_mib* the model size; *verify*
    checks every PPMd frame before it is written (see LEVELS). None of these is needed to decode:
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
        elif self.backend == CM:
            text += f" components {self.backend_level:#x}, 2^{self.memory_mib} slots"
        elif self.backend != STORE:
            text += f" {self.backend_level}"
        return text + (", verified" if self.verify else "")


# Levels 1-3 are the fast end (zstd, and PPMd over the glyph code, the default before the
# context-mixing model); 4-9 use the context-mixing model (backend 3) on the chunk's bytes: the
# glyph code does not help it (docs/cm.md, "Does the glyph transform earn its bytes?"). For CM,
# *backend_level* is the component set and *memory_mib* the hash table's size as a power of two.
# Every PPMd encoding is checked before it is written (verify=True): pyppmd 1.3.1 can lose output
# bytes, and a lossless codec must not trust it (backends.PPMD_BLOCK; docs/semantic.md has the cost).
CM_FAST = 0x21F  # orders 1-6 and the match model
CM_ALL = 0x7FF
LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(TRANSFORM_LITERAL, STORE, 0),
    1: LevelSpec(TRANSFORM_LITERAL, ZSTD, 3),
    2: LevelSpec(TRANSFORM_LITERAL, ZSTD, 19),
    3: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 6, 64, verify=True),
    4: LevelSpec(TRANSFORM_LITERAL, CM, CM_FAST, 20),
    5: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 20),
    6: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 22),
    7: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 23),
    8: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 24),
    9: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 24),
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
    continues: bool = False  # the frame needs the context of the frames before it
    coded: bytes = b""  # with a context: what the backend coded (the frame's part of the history)
    book: Codebook | None = None  # with a context: the codebook a semantic frame's code used
    original: bytes = b""  # with a context: the chunk (the frame's part of the long-range source)

    def advance(self, context: FrameContext | None) -> None:
        """Take this frame into *context* (the writer's side of :meth:`FrameContext.advance`)."""
        if context is not None:
            context.advance(self.coded, self.continues, self.book, self.original)


# Shared context (docs/semantic.md, "Shared context"). A continuing frame's body is
# ``varint(L) | the body of an independent frame``, whose backend was primed with the last L bytes
# of the history: the backend inputs (glyph code or literal bytes) of the frames since the last
# frame that does not continue, in order. A writer resets (writes a frame that does not continue)
# every RESET_INTERVAL frames, so damage costs at most that many frames.
RESET_INTERVAL = 16
CONTEXT_WINDOW = 256 << 10  # L at most this, for the writer (measured: docs/semantic.md)
MAX_CONTEXT = 4 << 20  # L at most this, for any stream; a decoder keeps this much history


@dataclass(slots=True)
class FrameContext:
    """The context carried from frame to frame in a shared-context stream, on either side.

    *history* holds the last bytes of the backend inputs since the last reset point; *frames*
    counts the frames seen (the writer makes every frame whose number is a multiple of
    *reset_interval* a reset point, so the stream splits into runs of frames that could be coded
    apart).
    *book* is the codebook of the last semantic frame (in a stream without a stream codebook): a
    continuing semantic frame may reference it (glyph-code flag ``FLAG_BOOK``) and extend it,
    instead of carrying its own (the writer does so when *carry_book* is set).
    *broken* is set when a frame was lost, so that continuing frames fail until the next reset.
    *long* keeps the original bytes since the last reset point (the source of long-range
    references, transforms 2 and 3) and, on the writer's side, their index; the writer looks for
    long-range references when *long_range* is set.
    """

    window: int = CONTEXT_WINDOW
    reset_interval: int = RESET_INTERVAL
    carry_book: bool = True
    history: bytes = b""
    frames: int = 0
    book: Codebook | None = None
    broken: bool = False
    long_range: bool = True
    long: Matcher = field(default_factory=Matcher)

    def prime(self) -> bytes:
        """What the writer primes the next frame's backend with (empty: the frame is a reset)."""
        if self.frames % self.reset_interval == 0:
            return b""
        return self.history[-self.window :] if self.window else b""

    def advance(
        self, coded: bytes, continues: bool, book: Codebook | None = None, original: bytes | bytearray = b""
    ) -> None:
        """Take in the backend input of a frame just written or decoded (and its codebook, for a
        semantic frame in a stream without a stream codebook, and its original bytes)."""
        keep = max(self.window, MAX_CONTEXT)
        self.history = (self.history + coded if continues else bytes(coded))[-keep:]
        self.long.advance(original, continues)
        self.frames += 1
        self.book = book if book is not None or not continues else self.book
        self.broken = False

    def lose(self) -> None:
        """A frame could not be decoded: frames that continue from it cannot be either."""
        self.history, self.book, self.broken = b"", None, True
        self.long.source.clear()


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


def encode_run_job(
    chunks: list[Chunk], level: int, book: BookRef = None, context: FrameContext | None = None
) -> list[tuple[int, int, bytes, bool]]:
    """What a worker process runs per run of a shared-context stream: chunks from one reset point
    (a frame number that is a multiple of RESET_INTERVAL) to the next, coded in order with a
    context of their own. The result is what a writer coding every chunk in order would write.
    Inline, *context* carries on from the previous call instead (runs of any length)."""
    if context is None:
        context = FrameContext()
        context.frames = chunks[0].number if chunks else 0
    out = []
    for chunk in chunks:
        encoded = encode_chunk(chunk.data, level, _resolve(book), context)
        encoded.advance(context)
        out.append((encoded.transform, encoded.backend, encoded.data, encoded.continues))
    return out


def decode_job(frame: Frame, book: BookRef = None) -> bytes:
    """What a worker process runs per frame (see :func:`encode_job`)."""
    return decode_frame(frame, _resolve(book))


class ChunkDecodeError(Exception):
    """A frame body could not be decoded; the caller knows which frame and adds that."""


def encode_chunk(
    data: bytes, level: int = DEFAULT_LEVEL, book: Codebook | None = None, context: FrameContext | None = None
) -> EncodedChunk:
    """Encode one chunk at *level*; falls back to storing when encoding does not shrink it.

    The semantic transform is skipped for chunks that look binary or mostly non-ASCII
    (:func:`sigmalang.semantic.worth_trying`); they get the level's backend alone. With *book*
    (the stream's codebook), semantic frames reference it instead of carrying their own. With
    *context* (a shared-context stream), the backend is primed with the history and the frame
    continues it; the caller advances the context with the result.
    """
    spec = level_spec(level)
    data = bytes(data)
    prime = context.prime() if context is not None else b""
    if context is not None and context.long_range and spec.backend != STORE and data:
        if context.frames % context.reset_interval == 0:
            context.long.reset()  # a reset point references only its own chunk
        matches = context.long.find(data)
        covered = sum(m[2] for m in matches)
        if covered * LONG_TRY >= len(data):
            long = _encode_long(data, matches, spec, book, context, prime)
            if covered * LONG_SURE >= len(data) and len(long.data) < len(data):
                return long
            plain = _encode_plain(data, spec, book, context, prime)
            return long if len(long.data) < len(plain.data) else plain
    return _encode_plain(data, spec, book, context, prime)


# Long-range references are tried when they cover at least 1/LONG_TRY of a chunk; from 1/LONG_SURE
# on they are kept without coding the chunk without them too (measured: docs/semantic.md).
LONG_TRY = 256
LONG_SURE = 128


class _Inner(NamedTuple):
    transform: int
    backend: int
    body: bytes  # the transform's frame body (a semantic one starts with the code's length), no context length
    primed: bool
    coded: bytes
    book: Codebook | None


def _encode_inner(
    data: bytes, spec: LevelSpec, book: Codebook | None, context: FrameContext | None, prime: bytes, continues: bool
) -> _Inner:
    """Transform 0 or 1 and the level's backend, primed with *prime*; a frame's data if the body
    is short enough (the caller checks)."""
    backend = get_backend(spec.backend, spec.backend_level, spec.memory_mib, verify=spec.verify)
    semantic_ok = spec.transform == TRANSFORM_SEMANTIC and semantic.worth_trying(data)
    used = book  # the codebook the glyph code references: the stream's, or the previous frame's
    if continues and book is None and context is not None and context.carry_book:
        used = context.book
    code = semantic.encode(data, book=used) if semantic_ok else b""
    try:
        if code and len(code) <= max_code_size(len(data)):
            frame_book = _frame_book(code, used) if context is not None and book is None else None
            body = encode_varint(len(code)) + backend.encode(code, prime)
            return _Inner(TRANSFORM_SEMANTIC, spec.backend, body, bool(prime), code, frame_book)
        return _Inner(TRANSFORM_LITERAL, spec.backend, backend.encode(data, prime), bool(prime), data, None)
    except BackendError:  # a verified backend refused its own output: use zstd for this chunk
        return _Inner(TRANSFORM_LITERAL, ZSTD, get_backend(ZSTD, 19).encode(data), False, data, None)


def _encode_plain(
    data: bytes, spec: LevelSpec, book: Codebook | None, context: FrameContext | None, prime: bytes
) -> EncodedChunk:
    original = data if context is not None else b""
    if spec.backend != STORE and data:
        inner = _encode_inner(data, spec, book, context, prime, bool(prime))
        encoded = inner.body
        if inner.primed:
            encoded = encode_varint(len(prime)) + encoded
        if len(encoded) < len(data):
            if context is None:
                return EncodedChunk(inner.transform, inner.backend, encoded)
            return EncodedChunk(
                inner.transform, inner.backend, encoded, inner.primed, inner.coded, inner.book, original
            )
    return EncodedChunk(TRANSFORM_LITERAL, STORE, data, False, original, None, original)


def _encode_long(
    data: bytes,
    matches: list[tuple[int, int, int]],
    spec: LevelSpec,
    book: Codebook | None,
    context: FrameContext,
    prime: bytes,
) -> EncodedChunk:
    """A long-range frame: the match list, then the rest of the chunk coded as a frame would be
    (stored when coding does not shrink it). It continues unless it is a reset point; its context
    length is then 0 when the rest's backend was not primed."""
    rest = cut(data, matches)
    continues = context.frames % context.reset_interval != 0
    inner = _Inner(TRANSFORM_LITERAL, STORE, rest, False, rest, None)
    if rest:
        coded = _encode_inner(rest, spec, book, context, prime if continues else b"", continues)
        if len(coded.body) < len(rest):
            inner = coded
    head = encode_varint(len(prime) if inner.primed else 0) if continues else b""
    encoded = head + encode_list(matches) + inner.body
    return EncodedChunk(inner.transform + 2, inner.backend, encoded, continues, inner.coded, inner.book, data)


def _frame_book(code: bytes, used: Codebook | None) -> Codebook:
    """The codebook a glyph code's references index: *used* (with FLAG_BOOK) plus its own words."""
    return read_header(code, book=used)[1]


def max_code_size(size: int) -> int:
    """The longest glyph code a decoder accepts for a chunk of *size* bytes (a generous bound)."""
    return 4 * size + 64


def decode_chunk(
    transform: int,
    backend: int,
    payload: bytes,
    size: int,
    book: Codebook | None = None,
    prime: bytes = b"",
) -> bytes:
    """Decode one frame body to exactly *size* bytes, or raise :class:`ChunkDecodeError`.

    *book* is the stream's codebook, when its header names one; *prime* the context a
    continuing frame's backend was primed with (the body then no longer starts with its length).
    """
    return _decode_body(transform, backend, payload, size, book, prime)[0]


def _decode_body(
    transform: int,
    backend: int,
    payload: bytes,
    size: int,
    book: Codebook | None,
    prime: bytes,
    source: bytes | bytearray = b"",
) -> tuple[bytes, bytes]:
    """The chunk and the backend input it was coded from (glyph code or the chunk itself; of the
    rest, for a long-range frame, whose references reach into *source*)."""
    if transform not in TRANSFORMS:
        raise ChunkDecodeError(f"unknown transform {transform}")
    if transform in LONG_TRANSFORMS:
        try:
            matches, start = parse_list(payload, size, len(source))
            rest_size = size - sum(m[2] for m in matches)
            rest, coded = _decode_body(transform - 2, backend, payload[start:], rest_size, book, prime)
            return splice(rest, matches, source, size), coded
        except LongRangeError as exc:
            raise ChunkDecodeError(f"long-range frame: {exc}") from None
    try:
        decoder = get_backend(backend)
    except KeyError:
        raise ChunkDecodeError(f"unknown backend {backend}") from None
    try:
        if transform == TRANSFORM_LITERAL:
            data = decoder.decode(payload, size, prime)
            return data, data
        return _decode_semantic(decoder.decode, payload, size, book, prime)
    except (BackendError, semantic.SemanticDecodeError) as exc:
        raise ChunkDecodeError(str(exc)) from None


def _decode_semantic(
    decode: Callable[[bytes, int, bytes], bytes], payload: bytes, size: int, book: Codebook | None, prime: bytes
) -> tuple[bytes, bytes]:
    code_size, start = _varint(payload, 0, "semantic frame has no valid glyph-code length")
    if code_size > max_code_size(size):
        raise ChunkDecodeError(f"glyph code of {code_size} bytes is too long for a {size}-byte chunk")
    code = decode(payload[start:], code_size, prime)
    data = semantic.decode(code, size, book=book)
    if len(data) != size:
        raise ChunkDecodeError(f"glyph code decoded to {len(data)} bytes, expected {size}")
    return data, code


def _varint(payload: bytes, pos: int, error: str) -> tuple[int, int]:
    try:
        parsed = decode_varint(payload, pos, 5)
    except SigmaFormatError:
        parsed = None
    if parsed is None:
        raise ChunkDecodeError(error)
    return parsed


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


def decode_frame(frame: Frame, book: Codebook | None = None, context: FrameContext | None = None) -> bytes:
    """Decode a parsed frame to its original bytes; damage becomes a located SigmaFormatError.

    *book* is the stream's codebook, when its header names one (and only then). *context* is the
    stream's :class:`FrameContext` in a shared-context stream: a continuing frame is decoded with
    it, and every frame advances it (a frame that fails marks it lost).
    """
    return decode_frame_code(frame, book, context)[0]


def decode_frame_code(
    frame: Frame, book: Codebook | None = None, context: FrameContext | None = None
) -> tuple[bytes, bytes]:
    """:func:`decode_frame`, and the backend input the frame was coded from: its glyph code (of the
    rest, for a long-range frame) or its literal bytes (for ``sigmalang inspect``)."""
    try:
        prime = b""
        payload = frame.data
        long = frame.transform in LONG_TRANSFORMS
        if long and context is None:
            raise ChunkDecodeError("long-range references in a stream of independent frames")
        if frame.continues:
            if context is None or context.broken:
                raise ChunkDecodeError("the frame continues a context that is not available (decode from a reset)")
            length, start = _varint(payload, 0, "continuing frame has no valid context length")
            if not (0 if long else 1) <= length <= min(len(context.history), MAX_CONTEXT):
                raise ChunkDecodeError(f"context of {length} bytes asked for, {len(context.history)} available")
            prime, payload = (context.history[-length:] if length else b""), payload[start:]
        used = book if book is not None or not frame.continues or context is None else context.book
        source = context.long.source if context is not None and frame.continues else b""
        data, coded = _decode_body(frame.transform, frame.backend, payload, frame.orig_size, used, prime, source)
        frame_book = None
        if context is not None and frame.transform in (TRANSFORM_SEMANTIC, TRANSFORM_LONG_SEMANTIC) and book is None:
            frame_book = _frame_book(coded, used)
    except (ChunkDecodeError, semantic.SemanticDecodeError) as exc:
        if context is not None:
            context.lose()
        raise SigmaFormatError(f"frame cannot be decoded: {exc}", frame=frame.number, offset=frame.offset) from None
    if context is not None:
        context.advance(coded, frame.continues, frame_book, data)
    return data, coded
