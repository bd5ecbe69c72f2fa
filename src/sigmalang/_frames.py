"""The frames layer: chunks → the records of a stream, and concatenated streams → frames → chunks.

Writing, :class:`FrameWriter`: the stream header, one frame record per chunk, the index and the
trailer. In a shared-context stream (docs/FORMAT.md §6.3 and §7.5) each frame's body is
``varint(L) | ...``, its backend primed with the last L bytes of the :class:`FrameContext`, and
may start with long-range references (:mod:`sigmalang._longrange`); both are decided here, the
chunk codec (:mod:`sigmalang._codec`) codes what it is given.

Reading, :class:`FrameReader`: the records of one or more concatenated streams fed in slices of
any size, each frame with where it lies, and the chunks decoded in order (:class:`StreamDecoding`
keeps one stream's codebook, context and content checksum).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from ._backend_base import STORE
from ._chunking import DEFAULT_CHUNK_SIZE, Chunk
from ._codec import (
    Body,
    ChunkDecodeError,
    EncodedChunk,
    decode_body,
    encode_body,
    encode_chunk,
    frame_book,
    history_input,
)
from ._container import EndOfStream, Event, StreamAssembler, StreamParser
from ._errors import SigmaFormatError
from ._filters import FilterBuilder
from ._levels import (
    AUTO,
    DEFAULT_LEVEL,
    LOGS,
    LONG_TRANSFORMS,
    TEXT,
    TRANSFORM_LITERAL,
    TRANSFORM_LONG_SEMANTIC,
    TRANSFORM_SEMANTIC,
    TRANSFORM_UTF16,
    LevelSpec,
    check_format,
    level_spec,
)
from ._longrange import Matcher, cut, encode_list
from ._stream_records import Frame, StreamHeader, content_digest
from ._wire import encode_varint, read_varint
from .semantic import SemanticDecodeError
from .semantic.codebook import Codebook

__all__ = [
    "CONTEXT_WINDOW",
    "MAX_CONTEXT",
    "RESET_INTERVAL",
    "Coded",
    "FrameContext",
    "FrameReader",
    "FrameWriter",
    "StreamDecoding",
    "decode_frame",
    "decode_frame_code",
    "code_frames",
    "encode_frame",
]

# A continuing frame's body is ``varint(L) | the body of an independent frame``, whose backend was
# primed with the last L bytes of the history: the backend inputs (glyph code or literal bytes) of
# the frames since the last frame that does not continue, in order. A writer resets (writes a frame
# that does not continue) every RESET_INTERVAL frames, so damage costs at most that many frames.
RESET_INTERVAL = 16
CONTEXT_WINDOW = 256 << 10  # L at most this, for the writer (measured: docs/semantic.md)
# From this chunk size on, a frame after one that ended the history with a template table (a
# records frame, docs/FORMAT.md §7.6) is primed with that table alone (measured: docs/logs.md).
TABLE_PRIMER = 1536 << 10
MAX_CONTEXT = 4 << 20  # L at most this, for any stream; a decoder keeps this much history

# Long-range references are tried when they cover at least 1/LONG_TRY of a chunk; from 1/LONG_SURE
# on they are kept without coding the chunk without them too (measured: docs/semantic.md).
LONG_TRY = 256
LONG_SURE = 128

# A chunk as a worker coded it: transform, backend, frame body (and whether it continues a context).
Coded = tuple[int, int, bytes] | tuple[int, int, bytes, bool]


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
    long-range references when *long_range* is set. *table* is how many of the history's last
    bytes are the template table of the frame that added them (a records frame), else 0.
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
    table: int = 0

    def prime(self, size: int = 0) -> bytes:
        """What the writer primes the next frame's backend with (empty: the frame is a reset), for
        a chunk of *size* bytes: the last *window* bytes of the history, or, for a chunk of at
        least TABLE_PRIMER bytes after a frame that ended the history with a template table, that
        table alone (measured: docs/logs.md, "Shared context")."""
        if self.frames % self.reset_interval == 0 or not self.window:
            return b""
        if size >= TABLE_PRIMER and self.table:
            return self.history[-min(self.table, self.window) :]
        return self.history[-self.window :]

    def advance(
        self,
        coded: bytes,
        continues: bool,
        book: Codebook | None = None,
        original: bytes | bytearray = b"",
        table: int = 0,
    ) -> None:
        """Take in the backend input of a frame just written or decoded (and its codebook, for a
        semantic frame in a stream without a stream codebook, and its original bytes); *table*:
        how many of *coded*'s last bytes are a template table."""
        keep = max(self.window, MAX_CONTEXT)
        self.history = (self.history + coded if continues else bytes(coded))[-keep:]
        self.table = table
        self.long.advance(original, continues)
        self.frames += 1
        self.book = book if book is not None or not continues else self.book
        self.broken = False

    def lose(self) -> None:
        """A frame could not be decoded: frames that continue from it cannot be either."""
        self.history, self.book, self.broken, self.table = b"", None, True, 0
        self.long.source.clear()


# -- writing ----------------------------------------------------------------------------------


def encode_frame(
    data: bytes,
    level: int = DEFAULT_LEVEL,
    book: Codebook | None = None,
    context: FrameContext | None = None,
    *,
    form: str = AUTO,
) -> EncodedChunk:
    """Encode one chunk as the body of the next frame; without *context*, :func:`encode_chunk`.

    With *context* (a shared-context stream), the backend is primed with the history and the frame
    continues it, and long-range references are looked for; the caller advances the context with
    the result (:meth:`EncodedChunk.advance`). *form* is what the chunk is taken for
    (:func:`~sigmalang._codec.encode_body`); with ``logs``, no long-range references are looked for,
    since the rest of a long-range frame is never coded as records (docs/FORMAT.md §7.6).
    """
    if context is None:
        return encode_chunk(data, level, book, form=form)
    spec = level_spec(level)
    data = bytes(data)
    prime = context.prime(len(data))
    if context.long_range and form != LOGS and spec.backend != STORE and data:
        if context.frames % context.reset_interval == 0:
            context.long.reset()  # a reset point references only its own chunk
        matches = context.long.find(data)
        covered = sum(m[2] for m in matches)
        if covered * LONG_TRY >= len(data):
            long = _encode_long(data, matches, spec, book, context, prime)
            if covered * LONG_SURE >= len(data) and len(long.data) < len(data):
                return long
            plain = _encode_plain(data, spec, book, context, prime, form)
            return long if len(long.data) < len(plain.data) else plain
    return _encode_plain(data, spec, book, context, prime, form)


def code_frames(
    chunks: Iterable[bytes],
    level: int,
    book: Codebook | None = None,
    context: FrameContext | None = None,
    *,
    form: str = AUTO,
) -> Iterator[tuple[bytes, EncodedChunk]]:
    """*chunks* coded in order as the frames of one stream, each taken into *context* in turn."""
    for chunk in chunks:
        encoded = encode_frame(chunk, level, book, context, form=form)
        encoded.advance(context)
        yield chunk, encoded


def _prefix(continues: bool, length: int) -> bytes:
    """The start of a frame body in a shared-context stream: the context length, if it continues."""
    return encode_varint(length) if continues else b""


def _encode_body(
    data: bytes,
    spec: LevelSpec,
    book: Codebook | None,
    context: FrameContext,
    prime: bytes,
    continues: bool,
    form: str,
) -> Body:
    used = book  # the codebook the glyph code references: the stream's, or the previous frame's
    if continues and book is None and context.carry_book:
        used = context.book
    return encode_body(data, spec, used, prime, keep_book=book is None, form=form)


def _encode_plain(
    data: bytes, spec: LevelSpec, book: Codebook | None, context: FrameContext, prime: bytes, form: str
) -> EncodedChunk:
    if spec.backend != STORE and data:
        body = _encode_body(data, spec, book, context, prime, bool(prime), form)
        encoded = _prefix(body.primed, len(prime)) + body.data
        if len(encoded) < len(data):
            return EncodedChunk(body.transform, body.backend, encoded, body.primed, body.coded, body.book, data)
    return EncodedChunk(TRANSFORM_LITERAL, STORE, data, False, data, None, data)


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
    body = Body(TRANSFORM_LITERAL, STORE, rest, False, rest, None)
    if rest:
        # The rest of a long-range frame is transform 0 or 1 (its id is theirs plus 2).
        inner = replace(spec, wraps=False)
        coded = _encode_body(rest, inner, book, context, prime if continues else b"", continues, TEXT)
        if len(coded.data) < len(rest):
            body = coded
    encoded = _prefix(continues, len(prime) if body.primed else 0) + encode_list(matches) + body.data
    return EncodedChunk(body.transform + 2, body.backend, encoded, continues, body.coded, body.book, data)


class FrameWriter:
    """The records of one stream, in order: :meth:`start`, one record per chunk, :meth:`finish`.

    A chunk is coded here (:meth:`frame`, :meth:`frames`), continuing :attr:`context` in a
    shared-context stream, or was coded by a worker (:meth:`record`, :meth:`records`). With
    *filters*, the index carries each frame's search filter (docs/FORMAT.md §18). *form* is what
    the chunks coded here are taken for (``auto``, ``text`` or ``logs``; :data:`~sigmalang._levels.FORMATS`).
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        codebook: Codebook | None = None,
        shared_context: bool = False,
        filters: bool = False,
        form: str = AUTO,
    ):
        self.form = check_format(form, level)
        self.filters = FilterBuilder() if filters else None
        self._fed = -1  # the frame whose chunk the filters were given before it was coded (feed_ahead)
        self.level = level
        self.codebook = codebook
        self.context = FrameContext() if shared_context else None
        book_id = codebook.id if codebook is not None else b""
        header = StreamHeader(chunk_size=chunk_size, level=level, shared_context=shared_context, codebook_id=book_id)
        self._assembler = StreamAssembler(header)

    @property
    def header(self) -> StreamHeader:
        return self._assembler.header

    def start(self) -> bytes:
        """Magic and header record."""
        return self._assembler.start()

    def frames(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The frame records of *chunks*, each coded here, in order."""
        for chunk, encoded in code_frames(chunks, self.level, self.codebook, self.context, form=self.form):
            yield self.record(chunk, encoded.transform, encoded.backend, encoded.data, encoded.continues)

    def stream(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """The whole stream of *chunks*, record by record: :meth:`start`, :meth:`frames`, :meth:`finish`."""
        yield self.start()
        yield from self.frames(chunks)
        yield self.finish()

    def feed_ahead(self, number: int, chunk: bytes) -> None:
        """Give the search filters chunk *number* while it is being coded elsewhere, when it is the
        next frame to be recorded (else nothing): their work on it (most of it) then runs beside
        the coding, not after it, and :meth:`record` adds only the record's size."""
        if self.filters is not None and number == self._assembler.index.count and self._fed < number:
            self.filters.feed(chunk)
            self._fed = number

    def record(self, chunk: bytes, transform: int, backend: int, data: bytes, continues: bool = False) -> bytes:
        """The frame record of *chunk*, coded elsewhere as *data* (the frame body)."""
        number = self._assembler.index.count
        record = self._assembler.frame(chunk, transform, backend, data, continues)
        if self.filters is not None:
            if self._fed == number:
                self.filters.size(len(record))
            else:
                self.filters.add(chunk, len(record))
        return record

    def records(self, coded: Iterable[tuple[Chunk, Coded]]) -> Iterator[tuple[Chunk, bytes]]:
        """Each chunk a worker coded, with its frame record, in order."""
        for chunk, body in coded:
            yield chunk, self.record(chunk.data, *body)

    def finish(self) -> bytes:
        """Index and trailer records: the stream is complete after them."""
        if self.filters is not None and self._assembler.index.count:
            self._assembler.index.extension = self.filters.encode()
        return self._assembler.finish()


# -- reading ----------------------------------------------------------------------------------


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
        if context is not None and frame.transform == TRANSFORM_UTF16:
            raise ChunkDecodeError("transform 6 (utf16) in a shared-context stream")
        prime, payload = _context_prime(frame, context)
        used = book if book is not None or not frame.continues or context is None else context.book
        source = context.long.source if context is not None and frame.continues else b""
        data, coded = decode_body(frame.transform, frame.backend, payload, frame.original_size, used, prime, source)
        book_after = None
        if context is not None and frame.transform in (TRANSFORM_SEMANTIC, TRANSFORM_LONG_SEMANTIC) and book is None:
            book_after = frame_book(coded, used)
    except (ChunkDecodeError, SemanticDecodeError) as exc:
        if context is not None:
            context.lose()
        raise SigmaFormatError(f"frame cannot be decoded: {exc}", frame=frame.number, offset=frame.offset) from None
    if context is not None:
        added, table = history_input(frame.transform, coded)
        context.advance(added, frame.continues, book_after, data, table)
    return data, coded


def _context_prime(frame: Frame, context: FrameContext | None) -> tuple[bytes, bytes]:
    """What a frame's backend was primed with, and the frame's body after its context length."""
    long = frame.transform in LONG_TRANSFORMS
    if long and context is None:
        raise ChunkDecodeError("long-range references in a stream of independent frames")
    if not frame.continues:
        return b"", frame.data
    if context is None or context.broken:
        raise ChunkDecodeError("the frame continues a context that is not available (decode from a reset)")
    fail = "continuing frame has no valid context length"
    length, start = read_varint(frame.data, 0, 5, lambda _: ChunkDecodeError(fail))
    if not (0 if long else 1) <= length <= min(len(context.history), MAX_CONTEXT):
        raise ChunkDecodeError(f"context of {length} bytes asked for, {len(context.history)} available")
    return (context.history[-length:] if length else b""), frame.data[start:]


class StreamDecoding:
    """One stream's frames decoded in order here: its codebook, its shared context, and the size
    and checksum of its content, checked against its index at the end."""

    def __init__(self, header: StreamHeader, codebook: Codebook | None = None):
        self.book = codebook if header.codebook_id else None
        self.context = FrameContext() if header.shared_context else None
        self._digest = content_digest()
        self.size = 0

    def decode(self, frame: Frame) -> bytes:
        data = decode_frame(frame, self.book, self.context)
        self.add(data)
        return data

    def add(self, data: bytes) -> None:
        """Count a frame's content, decoded here or by a worker, in frame order."""
        self._digest.update(data)
        self.size += len(data)

    def check(self, end: EndOfStream) -> None:
        StreamParser.check_content(end.index, self.size, self._digest.digest(), end.end)


class FrameReader:
    """One or more concatenated streams, fed in slices of any size: their records, and their chunks.

    :meth:`next_event` gives each stream header, frame (with its number and byte offset in the
    whole input) and stream end, checking the container as it goes; :meth:`next_chunk` gives each
    frame with its decoded bytes, checking every stream's content. Use one or the other.
    *codebook* decodes the streams that name it (a stream that names another is an error);
    with *check_codebook* false, no stream's codebook is checked (for readers that decode nothing).
    """

    def __init__(self, codebook: Codebook | None = None, *, offset: int = 0, check_codebook: bool = True):
        self.codebook = codebook
        self._book_id = (codebook.id if codebook is not None else b"") if check_codebook else None
        self._parser = StreamParser(offset=offset, codebook_id=self._book_id)
        self._fed = False  # the current stream was fed bytes
        self._any = False  # any bytes were fed
        self._ended = 0  # streams read to their end
        self._decoding: StreamDecoding | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if data:
            self._fed = self._any = True
        self._parser.feed(data)

    def next_event(self) -> Event | None:
        """The next header, frame or stream end the bytes fed so far complete, or ``None``."""
        event = self._parser.next_event()
        if isinstance(event, EndOfStream):  # the next stream starts where this one ends
            self._parser = self._parser.next_stream()
            self._fed = self._parser.buffered > 0
            self._ended += 1
        return event

    def events(self) -> Iterator[Event]:
        while (event := self.next_event()) is not None:
            yield event

    def next_chunk(self, check: Callable[[Frame], object] | None = None) -> tuple[Frame, bytes] | None:
        """The next frame and its decoded bytes, or ``None`` until more bytes are fed. *check* is
        called with each frame before it is decoded (and may raise to stop there)."""
        while (event := self.next_event()) is not None:
            if isinstance(event, StreamHeader):
                self._decoding = StreamDecoding(event, self.codebook)
            elif isinstance(event, Frame):
                assert self._decoding is not None
                if check is not None:
                    check(event)
                return event, self._decoding.decode(event)
            else:
                assert self._decoding is not None
                self._decoding.check(event)
        return None

    def chunks(self, check: Callable[[Frame], object] | None = None) -> Iterator[tuple[Frame, bytes]]:
        while (chunk := self.next_chunk(check)) is not None:
            yield chunk

    def close(self, *, strict: bool = True) -> None:
        """The input ended: raise unless it held a stream and every stream fed was complete.

        Without *strict* (for readers that only report on streams), a few bytes after the last
        whole stream that are the start of a stream magic are let pass.
        """
        if strict:
            needed = self._fed or not self._any
        else:
            needed = not self._ended or self._parser.offset > self._parser.start or self._parser.header is not None
        if needed:
            self._parser.close()
