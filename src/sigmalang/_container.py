"""The ΣLANG container: stream magic, header, frames, index and trailer (see docs/FORMAT.md).

::

    magic (8 bytes) | header record | frame record × N | index record | trailer record (14 bytes)

Everything here is pure: :class:`StreamAssembler` returns the bytes to write and
:class:`StreamParser` takes bytes in slices of any size and hands back headers, frames and the end
of the stream; the checks every reader runs on frames and indexes are here too. Each record's own
fields and CRC32C are :mod:`sigmalang._stream_records`. Neither decodes chunk contents (that is
:mod:`sigmalang._codec`) nor touches files.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import primitives as P
from ._errors import SigmaCodebookError, SigmaFormatError, SigmaTruncatedError
from ._stream_records import (
    CHECKSUM_SIZE,
    FRAME_OVERHEAD,
    INDEX_ENTRY_MAX,
    MAX_CHUNK_SIZE,
    MAX_HEADER_PAYLOAD,
    TRAILER_PAYLOAD,
    Frame,
    StreamHeader,
    StreamIndex,
    content_digest,
    decode_trailer,
    encode_trailer,
    filters_limit,
)
from ._wire import BoundaryHandler, Record
from .primitives import GlyphType

__all__ = [
    "MAGIC",
    "EndOfStream",
    "StreamAssembler",
    "StreamParser",
    "check_codebook",
    "check_frame",
    "check_frame_glyph",
    "check_frame_record",
    "check_index",
]

MAGIC = b"\xce\xa3LG\r\n\x1a\n"  # "ΣLG", then CR LF, ^Z, LF: damaged by text-mode transfers

MAX_PREFIX = 12  # a record's type byte(s) and payload length, at most


class StreamAssembler:
    """Produce the bytes of one stream, piece by piece, in order (no seeking back)."""

    def __init__(self, header: StreamHeader):
        self.header = header
        self.index = StreamIndex()
        self._digest = content_digest()
        self.started = False

    def start(self) -> bytes:
        """Magic and header record; call once, first."""
        if self.started:
            raise ValueError("stream already started")
        self.started = True
        out = MAGIC + self.header.encode()
        self.index.header_size = len(out)
        return out

    def frame(
        self,
        orig: bytes | memoryview,
        transform: int,
        backend: int,
        data: bytes,
        continues: bool = False,
    ) -> bytes:
        """The record of the next frame, holding *data* (the encoded form of *orig*)."""
        if not self.started:
            raise ValueError("start() must come first")
        if len(orig) > self.header.chunk_size:
            raise ValueError(f"chunk of {len(orig)} bytes exceeds the stream's chunk size")
        self._digest.update(orig)
        record = Frame(self.index.count, self.index.total_size, len(orig), transform, backend, data, continues).encode()
        self.index.add(len(record), len(orig))
        return record

    def finish(self) -> bytes:
        """Index and trailer records; the stream is complete after them."""
        self.index.checksum = self._digest.digest()
        index_record = self.index.encode()
        return index_record + encode_trailer(len(index_record))


@dataclass(frozen=True, slots=True)
class EndOfStream:
    """The stream's index (already checked against the frames seen) and its trailer were read."""

    index: StreamIndex
    size: int  # bytes of the stream, magic to trailer
    start: int = 0  # offset of the stream's magic in the input

    @property
    def end(self) -> int:
        return self.start + self.size


Event = StreamHeader | Frame | EndOfStream


def check_codebook(needed: bytes, given: bytes | None) -> None:
    """Raise :class:`SigmaCodebookError` unless a stream needing codebook *needed* can be decoded with *given*."""
    if not needed or given is None or needed == given:
        return
    if not given:
        raise SigmaCodebookError(f"the stream needs codebook {needed.hex()}, and none was given")
    raise SigmaCodebookError(f"the stream needs codebook {needed.hex()}, and codebook {given.hex()} was given")


def payload_limit(header: StreamHeader, frames: int, original_size: int | None = None) -> int:
    """The longest record payload a reader accepts after *frames* frames of a stream: a frame's
    (a stored chunk and its fields) or, once the frames are many, the index's. With
    *original_size* (the original bytes of those frames), the index may also carry its filter
    extension (§18)."""
    index_bound = 64 + INDEX_ENTRY_MAX * frames + CHECKSUM_SIZE
    if original_size is not None:
        index_bound += filters_limit(frames, original_size)
    return max(header.chunk_size + FRAME_OVERHEAD, index_bound)


def check_frame_record(record: Record, number: int) -> None:
    """Raise unless *record*, found where frame *number* belongs, is a frame record."""
    if record.primitive != P.FRAME or record.type != GlyphType.COMPOSITE:
        raise SigmaFormatError(
            f"unexpected record {P.by_id(record.primitive)} in the frame sequence", frame=number, offset=record.offset
        )


check_frame_glyph = check_frame_record  # the former name: use check_frame_record


def check_frame(frame: Frame, header: StreamHeader | None, number: int | None, original_offset: int | None) -> None:
    """The checks every reader runs on a frame record before decoding it (docs/FORMAT.md §11, step 4).

    The forward parser, the random-access reader and the recovery scan all call this, so that a
    frame one of them rejects, every one rejects. *number* and *original_offset* are where the
    frame must be (``None``: not known, as after lost frames); without *header* (it is lost)
    only the format's largest chunk size bounds the frame.
    """
    where = {"frame": number if number is not None else frame.number, "offset": frame.offset}
    if number is not None and frame.number != number:
        raise SigmaFormatError(f"frame numbered {frame.number} where frame {number} was expected", **where)
    if original_offset is not None and frame.original_offset != original_offset:
        raise SigmaFormatError(
            f"frame claims original offset {frame.original_offset}, expected {original_offset}", **where
        )
    chunk_size = header.chunk_size if header is not None else MAX_CHUNK_SIZE
    if frame.original_size > chunk_size:
        raise SigmaFormatError(
            f"frame original size {frame.original_size} exceeds the chunk size {chunk_size}", **where
        )
    if frame.continues and header is not None and not header.shared_context:
        raise SigmaFormatError("frame depends on context in a stream of independent frames", **where)


def check_index(index: StreamIndex, header: StreamHeader, at: int) -> None:
    """Every size an index lists within the bounds its stream's header sets, before a reader that
    trusts the index (random access) reads or allocates anything by it."""
    for number, (record_size, original_size) in enumerate(index.sizes()):
        if original_size > header.chunk_size:
            raise SigmaFormatError(
                f"index gives frame {number} {original_size} original bytes, more than the chunk size"
                f" {header.chunk_size}",
                offset=at,
            )
        if record_size > payload_limit(header, number) + MAX_PREFIX:
            raise SigmaFormatError(f"index gives frame {number} a record of {record_size} bytes, too long", offset=at)


class StreamParser:
    """Incremental reader of one stream: ``feed()`` bytes, then ``next_event()`` until ``None``.

    It checks the container (magic, record order, CRC32Cs, frame numbering, index against the
    frames seen, trailer) and every size against its limit before anything is allocated. The
    whole-content checksum is for the caller to check on the decoded bytes, with
    :meth:`check_content`. After :class:`EndOfStream`, ``unused_data`` holds bytes past the stream.

    *codebook_id* is the id of the codebook the caller can decode with (``b""``: none); a stream
    whose header names another raises :class:`SigmaCodebookError`. ``None`` skips that check, for
    callers that decode no frame.
    """

    def __init__(self, *, offset: int = 0, codebook_id: bytes | None = b""):
        self.codebook_id = codebook_id
        self._records = BoundaryHandler(MAX_HEADER_PAYLOAD, offset=offset)
        self.start = offset
        self.header: StreamHeader | None = None
        self._magic_seen = False
        self._seen = StreamIndex()
        self._index: StreamIndex | None = None
        self._index_size = 0
        self.eof = False

    @property
    def frames_seen(self) -> int:
        return self._seen.count

    @property
    def original_seen(self) -> int:
        return self._seen.total_size

    @property
    def orig_seen(self) -> int:
        """The former name of :attr:`original_seen`; use that."""
        return self.original_seen

    @property
    def offset(self) -> int:
        return self._records.offset

    @property
    def buffered(self) -> int:
        """Bytes fed and not yet taken in a record."""
        return self._records.buffered

    @property
    def unused_data(self) -> bytes:
        """The bytes fed past the end of the stream (empty until it ends)."""
        return self._records.peek_bytes(self._records.buffered) if self.eof else b""

    def next_stream(self) -> StreamParser:
        """After the end of this stream, a parser of the next one, which takes over the bytes fed
        past it without copying them (many short concatenated streams stay linear)."""
        if not self.eof:
            raise ValueError("the stream has not ended")
        parser = StreamParser(offset=self._records.offset, codebook_id=self.codebook_id)
        parser._records = self._records
        return parser

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._records.feed(data)

    def next_event(self) -> Event | None:
        if self.eof:
            return None
        if not self._magic_seen:
            return self._read_magic()
        if self._index is not None:
            return self._read_trailer()
        if self.header is None:
            self._records.max_payload = MAX_HEADER_PAYLOAD
        else:
            self._records.max_payload = payload_limit(self.header, self._seen.count, self._seen.total_size)
        record = self._records.next_record()
        if record is None:
            return None
        if self.header is None:
            self.header = StreamHeader.decode(record)
            check_codebook(self.header.codebook_id, self.codebook_id)
            self._seen.header_size = self._records.offset - self.start
            return self.header
        if record.primitive == P.FRAME and record.type == GlyphType.COMPOSITE:
            return self._check_frame(Frame.decode(record, self._seen.count), record.size)
        if record.primitive == P.INDEX:
            self._index = self._check_index(StreamIndex.decode(record), record.offset)
            self._index_size = record.size
            return self._read_trailer()
        check_frame_record(record, self._seen.count)
        raise AssertionError("not reached: check_frame_record raises for anything but a frame")

    def _read_magic(self) -> Event | None:
        head = self._records.peek_bytes(len(MAGIC))
        if head != MAGIC[: len(head)]:
            raise SigmaFormatError("not a ΣLANG stream (bad magic)", offset=self._records.offset)
        if self._records.take_bytes(len(MAGIC)) is None:
            return None
        self._magic_seen = True
        return self.next_event()

    def _check_frame(self, frame: Frame, record_size: int) -> Frame:
        assert self.header is not None
        check_frame(frame, self.header, self._seen.count, self._seen.total_size)
        self._seen.add(record_size, frame.original_size)
        return frame

    def _check_index(self, index: StreamIndex, at: int) -> StreamIndex:
        if index.count != self._seen.count or index.entries != self._seen.entries:
            raise SigmaFormatError(
                f"index lists {index.count} frames that do not match the {self._seen.count} read",
                offset=at,
            )
        if index.header_size != self._seen.header_size:
            raise SigmaFormatError("index disagrees on the header size", offset=at)
        return index

    def _read_trailer(self) -> Event | None:
        assert self._index is not None
        self._records.max_payload = TRAILER_PAYLOAD
        record = self._records.next_record()
        if record is None:
            return None
        index_size = decode_trailer(record)
        if index_size != self._index_size:
            raise SigmaFormatError(
                f"trailer gives an index of {index_size} bytes, the index record has {self._index_size}",
                offset=record.offset,
            )
        self.eof = True
        return EndOfStream(self._index, record.offset + record.size - self.start, self.start)

    def close(self) -> None:
        """Declare the input finished; raise if the stream is incomplete."""
        if self.eof:
            return
        offset = self._records.offset
        if not self._magic_seen:
            if self._records.buffered == 0:
                raise SigmaTruncatedError("empty input: no ΣLANG stream", offset=offset)
            raise SigmaTruncatedError("input too short for a ΣLANG stream", offset=offset)
        raise SigmaTruncatedError(
            f"stream truncated after {self._seen.count} complete frames"
            f" ({self._seen.total_size} original bytes intact)",
            frame=self._seen.count,
            offset=offset,
        )

    @staticmethod
    def check_content(index: StreamIndex, size: int, digest: bytes, offset: int | None = None) -> None:
        """Raise unless the decoded content has the size and checksum the index records."""
        if size != index.total_size:
            raise SigmaFormatError(f"decoded {size} bytes, index records {index.total_size}", offset=offset)
        if digest != index.checksum:
            raise SigmaFormatError("content checksum (BLAKE2b) mismatch", offset=offset)
