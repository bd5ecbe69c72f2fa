"""Random access through a stream's index: find the streams of a seekable file from its end,
list every frame's place in the file and in the original content, and decode only what is asked.

A file may hold several concatenated streams; each one's trailer says how long its index record
is, and the index gives the header size and every frame's record and original size, so the start
of each stream follows and the walk goes on backwards to the previous stream's trailer.
"""

from __future__ import annotations

import bisect
import io
from array import array
from dataclasses import dataclass, field
from typing import IO

from ._container import MAGIC, MAX_PREFIX, check_codebook, check_frame, check_frame_record, check_index, payload_limit
from ._errors import SigmaFormatError
from ._filters import FrameFilter, decode_filters
from ._frames import FrameContext, decode_frame
from ._stream_records import (
    MAX_HEADER_PAYLOAD,
    TRAILER_SIZE,
    FormerOriginalNames,
    Frame,
    StreamHeader,
    StreamIndex,
    content_digest,
    decode_trailer,
)
from ._wire import parse_prefix, read_record
from .semantic.codebook import Codebook

__all__ = ["FrameLocation", "SeekTable"]


@dataclass(frozen=True, slots=True)
class FrameLocation(FormerOriginalNames):
    """Where frame *number* (of stream *stream*) lies: in the file, and in the original content."""

    stream: int
    number: int
    offset: int
    record_size: int
    original_offset: int
    original_size: int


@dataclass
class SeekTable:
    """Every frame of every stream in a seekable file, in order (columns of unsigned 64-bit ints)."""

    offsets: array[int] = field(default_factory=lambda: array("Q"))
    record_sizes: array[int] = field(default_factory=lambda: array("Q"))
    original_offsets: array[int] = field(default_factory=lambda: array("Q"))
    original_sizes: array[int] = field(default_factory=lambda: array("Q"))
    streams: array[int] = field(default_factory=lambda: array("Q"))  # stream number of each frame
    numbers: array[int] = field(default_factory=lambda: array("Q"))  # frame number within its stream
    total_size: int = 0
    checksums: list[bytes] = field(default_factory=list)  # per stream, in order
    codebook_ids: list[bytes] = field(default_factory=list)  # per stream: the codebook it needs (b"": none)
    shared: list[bool] = field(default_factory=list)  # per stream: whether its frames share context
    # Per frame: its search filter (docs/FORMAT.md §18); None where the stream has none or it is damaged.
    filters: list[FrameFilter | None] = field(default_factory=list)
    headers: list[StreamHeader] = field(default_factory=list)  # per stream
    origins: list[int] = field(default_factory=list)  # per stream: the original offset it starts at
    ends: list[int] = field(default_factory=list)  # per stream: the file offset just past its trailer
    # The last frame decoded in a shared-context stream and the context after it, so that reading
    # on from there decodes one frame, not everything from the last reset point again.
    _context: tuple[int, FrameContext] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.offsets)

    # The names these columns had before (read-only): use ``original_offsets`` and ``original_sizes``.
    @property
    def orig_offsets(self) -> array[int]:
        """The former name of :attr:`original_offsets`; use that."""
        return self.original_offsets

    @property
    def orig_sizes(self) -> array[int]:
        """The former name of :attr:`original_sizes`; use that."""
        return self.original_sizes

    def location(self, i: int) -> FrameLocation:
        columns = (
            self.streams,
            self.numbers,
            self.offsets,
            self.record_sizes,
            self.original_offsets,
            self.original_sizes,
        )
        return FrameLocation(*(column[i] for column in columns))

    def find(self, position: int) -> int:
        """Index of the frame holding original byte *position* (``len(self)`` past the end)."""
        if position >= self.total_size:
            return len(self)
        return bisect.bisect_right(self.original_offsets, position) - 1

    @classmethod
    def from_file(cls, fp: IO[bytes]) -> SeekTable:
        """Read the table of a seekable file from its trailers and indexes.

        Raises :class:`SigmaFormatError` when the end of the file is not an intact trailer and
        index (a truncated or pipe-written damaged stream), so the caller can scan instead.
        """
        end = fp.seek(0, io.SEEK_END)
        if end == 0:
            raise SigmaFormatError("empty input: no ΣLANG stream", offset=0)
        spans: list[tuple[int, StreamIndex, StreamHeader, int]] = []
        while end > 0:
            start, index, header = _stream_before(fp, end)
            spans.append((start, index, header, end))
            end = start
        table = cls()
        for number, (start, index, header, end) in enumerate(reversed(spans)):
            table._add_stream(number, start, index)
            table.codebook_ids.append(header.codebook_id)
            table.shared.append(header.shared_context)
            table.headers.append(header)
            table.ends.append(end)
        return table

    def _add_stream(self, stream: int, start: int, index: StreamIndex) -> None:
        offset = start + index.header_size
        self.filters.extend(decode_filters(index.extension, index.count) or [None] * index.count)
        self.origins.append(self.total_size)
        for number, (record_size, original_size) in enumerate(index.sizes()):
            self.offsets.append(offset)
            self.record_sizes.append(record_size)
            self.original_offsets.append(self.total_size)
            self.original_sizes.append(original_size)
            self.streams.append(stream)
            self.numbers.append(number)
            offset += record_size
            self.total_size += original_size
        self.checksums.append(index.checksum)

    def read_frame(self, fp: IO[bytes], i: int, codebook: Codebook | None = None) -> bytes:
        """Read and decode frame *i*; every check of the frame record applies.

        A frame of a stream that names a codebook needs that one as *codebook*
        (:class:`~sigmalang._errors.SigmaCodebookError` otherwise); other streams ignore it. In a
        shared-context stream, the frames from the last reset point (the last frame at or before
        *i* that does not continue) up to *i* are decoded, unless *i* follows the frame read last:
        their records are read back to the reset point and again forwards, one at a time, so that
        memory does not grow with the run (writers make runs of 16 frames, but any length is valid).
        """
        loc = self.location(i)
        needed = self.codebook_ids[loc.stream] if loc.stream < len(self.codebook_ids) else b""
        check_codebook(needed, codebook.id if codebook is not None else b"")
        book = codebook if needed else None
        frame = self._read_record(fp, i)
        if not (loc.stream < len(self.shared) and self.shared[loc.stream]):
            return _sized(decode_frame(frame, book), loc)
        cached = self._context
        self._context = None
        first = i  # the frame decoding starts from
        if cached is not None and cached[0] == i - 1 and self.streams[i - 1] == loc.stream and loc.number > 0:
            context = cached[1]
        else:  # back to the reset point, one record at a time: a writer may make runs of any length
            context = FrameContext()
            back = frame
            while back.continues and back.number > 0:
                first -= 1
                back = self._read_record(fp, first)
            del back
        for k in range(first, i):
            decode_frame(self._read_record(fp, k), book, context)
        data = decode_frame(frame, book, context)
        self._context = (i, context)
        return _sized(data, loc)

    def check_empty_streams(self) -> None:
        """Raise unless every stream without frames records the checksum of empty content."""
        empty = content_digest().digest()
        with_frames = set(self.streams)
        for stream, checksum in enumerate(self.checksums):
            if stream not in with_frames and checksum != empty:
                raise SigmaFormatError("content checksum (BLAKE2b) mismatch", offset=self.ends[stream])

    def _read_record(self, fp: IO[bytes], i: int) -> Frame:
        """Frame *i*'s record, with every check the forward parser makes (its size was bounded by
        :func:`~sigmalang._container.check_index` when the table was read)."""
        loc = self.location(i)
        fp.seek(loc.offset)
        record = fp.read(loc.record_size)
        parsed = read_record(record, base_offset=loc.offset)
        prefix = parse_prefix(record, 0) if parsed is None else None
        header = self.headers[loc.stream] if loc.stream < len(self.headers) else None
        if prefix is not None and header is not None and prefix[3] <= payload_limit(header, loc.number):
            # Another record than the index says (a longer one): read it whole, to say what it is.
            fp.seek(loc.offset)
            parsed = read_record(fp.read(prefix[4] + prefix[3]), base_offset=loc.offset)
        if parsed is None:
            raise SigmaFormatError("frame record does not match the index", frame=loc.number, offset=loc.offset)
        check_frame_record(parsed[0], loc.number)
        frame = Frame.decode(parsed[0], loc.number)
        check_frame(frame, header, loc.number, loc.original_offset - self.origins[loc.stream])
        if parsed[1] != loc.record_size or frame.original_size != loc.original_size:
            raise SigmaFormatError("frame does not match the index", frame=loc.number, offset=loc.offset)
        return frame


def _sized(data: bytes, loc: FrameLocation) -> bytes:
    """A decoded frame, which must hold what the index says (a reader would otherwise read short)."""
    if len(data) != loc.original_size:
        raise SigmaFormatError(
            f"frame decoded to {len(data)} bytes, the index records {loc.original_size}",
            frame=loc.number,
            offset=loc.offset,
        )
    return data


def _stream_before(fp: IO[bytes], end: int) -> tuple[int, StreamIndex, StreamHeader]:
    """The start and index of the stream that ends at file offset *end*."""
    if end < len(MAGIC) + TRAILER_SIZE:
        raise SigmaFormatError("no trailer: file too short", offset=0)
    fp.seek(end - TRAILER_SIZE)
    parsed = read_record(fp.read(TRAILER_SIZE), base_offset=end - TRAILER_SIZE)
    if parsed is None or parsed[1] != TRAILER_SIZE:
        raise SigmaFormatError("no trailer at the end of the file", offset=end - TRAILER_SIZE)
    index_size = decode_trailer(parsed[0])
    index_at = end - TRAILER_SIZE - index_size
    if index_size < 4 or index_at < len(MAGIC):
        raise SigmaFormatError("trailer points outside the file", offset=end - TRAILER_SIZE)
    fp.seek(index_at)
    parsed = read_record(fp.read(index_size), base_offset=index_at)
    if parsed is None or parsed[1] != index_size:
        raise SigmaFormatError("index record does not have the size the trailer gives", offset=index_at)
    index = StreamIndex.decode(parsed[0])
    start = index_at - sum(size for size, _ in index.sizes()) - index.header_size
    if start < 0:
        raise SigmaFormatError("index describes more bytes than the file holds", offset=index_at)
    if index.header_size > len(MAGIC) + MAX_HEADER_PAYLOAD + MAX_PREFIX:
        raise SigmaFormatError(f"index gives a header of {index.header_size} bytes, too long", offset=index_at)
    fp.seek(start)
    head = fp.read(index.header_size)
    if not head.startswith(MAGIC):
        raise SigmaFormatError("index does not lead back to a stream start", offset=start)
    parsed = read_record(head, len(MAGIC), base_offset=start)
    if parsed is None or parsed[1] != index.header_size:
        raise SigmaFormatError("stream header does not match the index", offset=start + len(MAGIC))
    header = StreamHeader.decode(parsed[0])
    check_index(index, header, index_at)
    return start, index, header
