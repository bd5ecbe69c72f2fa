"""The records of a ΣLANG stream: header, frame, index and trailer (see docs/FORMAT.md §6).

Each record type encodes itself into one record (:func:`sigmalang._wire.encode_record`) with a
CRC32C over its fields, and decodes one back, raising :class:`SigmaFormatError` with the record's
offset for anything damaged or malformed. Pure: :mod:`sigmalang._container` puts the records in
order (:class:`~sigmalang._container.StreamAssembler`) and checks their sequence
(:class:`~sigmalang._container.StreamParser`).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field

from crc32c import crc32c

from . import primitives as P
from ._errors import SigmaFormatError
from ._wire import MAX_VARINT_BYTES, Record, encode_record, encode_varint, read_varint
from .primitives import GlyphType

__all__ = [
    "CHECKSUM_SIZE",
    "FLAG_SHARED_CONTEXT",
    "FORMAT_VERSION",
    "FRAME_OVERHEAD",
    "INDEX_ENTRY_MAX",
    "MAX_CHUNK_SIZE",
    "MAX_HEADER_PAYLOAD",
    "TRAILER_PAYLOAD",
    "TRAILER_SIZE",
    "Frame",
    "StreamHeader",
    "StreamIndex",
    "content_digest",
    "decode_trailer",
    "encode_trailer",
    "filters_limit",
]

FORMAT_VERSION = 1
MAX_CHUNK_SIZE = 64 << 20
MAX_HEADER_PAYLOAD = 1024
FRAME_OVERHEAD = 31  # frame payload bytes besides the encoded data, at most
INDEX_ENTRY_MAX = 20  # two 10-byte varints
CHECKSUM_SIZE = 16  # BLAKE2b-128 of the whole original content
TRAILER_PAYLOAD = 12
TRAILER_SIZE = 2 + TRAILER_PAYLOAD
FLAG_SHARED_CONTEXT = 0x01


def content_digest() -> hashlib.blake2b:
    """The checksum of a stream's whole original content (BLAKE2b, 16-byte digest)."""
    return hashlib.blake2b(digest_size=CHECKSUM_SIZE)


def _with_crc(body: bytes | bytearray) -> bytes:
    return bytes(body) + struct.pack("<I", crc32c(body))


def _check_crc(payload: bytes, what: str, frame: int | None, offset: int) -> bytes:
    if len(payload) < 4:
        raise SigmaFormatError(f"{what} too short for its CRC32C", frame=frame, offset=offset)
    body, (stored,) = payload[:-4], struct.unpack("<I", payload[-4:])
    if crc32c(body) != stored:
        raise SigmaFormatError(f"{what} CRC32C mismatch", frame=frame, offset=offset)
    return body


class _Reader:
    """Sequential field reader over one payload body; every short read is a format error."""

    def __init__(self, body: bytes, what: str, frame: int | None, offset: int):
        self.body, self.pos, self.what, self.frame, self.offset = body, 0, what, frame, offset

    def fail(self, reason: str) -> SigmaFormatError:
        return SigmaFormatError(f"{self.what}: {reason}", frame=self.frame, offset=self.offset)

    def varint(self) -> int:
        value, self.pos = read_varint(
            self.body, self.pos, MAX_VARINT_BYTES, lambda exc: self.fail(exc.reason if exc else "truncated field")
        )
        return value

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.body):
            raise self.fail("truncated field")
        out = self.body[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def rest(self) -> bytes:
        out = self.body[self.pos :]
        self.pos = len(self.body)
        return out

    def end(self) -> None:
        if self.pos != len(self.body):
            raise self.fail(f"{len(self.body) - self.pos} unexpected bytes at the end")


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """Codec parameters every frame of the stream was written with."""

    chunk_size: int
    level: int
    shared_context: bool = False
    codebook_id: bytes = b""
    version: int = FORMAT_VERSION

    def encode(self) -> bytes:
        body = bytearray([self.version, FLAG_SHARED_CONTEXT if self.shared_context else 0])
        body.append(self.level)
        body += encode_varint(self.chunk_size)
        body.append(len(self.codebook_id))
        body += self.codebook_id
        return encode_record(GlyphType.COMPOSITE, P.STREAM_HEADER, _with_crc(body))

    @classmethod
    def decode(cls, record: Record) -> StreamHeader:
        if record.type != GlyphType.COMPOSITE or record.primitive != P.STREAM_HEADER or record.flag:
            raise SigmaFormatError("expected a stream header record", offset=record.offset)
        r = _Reader(
            _check_crc(record.payload, "stream header", None, record.offset),
            "stream header",
            None,
            record.offset,
        )
        version, flags, level = r.byte(), r.byte(), r.byte()
        if version != FORMAT_VERSION:
            raise r.fail(f"unsupported format version {version} (this reader knows {FORMAT_VERSION})")
        if flags & ~FLAG_SHARED_CONTEXT:
            raise r.fail(f"unknown flags 0x{flags:02x}")
        chunk_size = r.varint()
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise r.fail(f"chunk size {chunk_size} outside 1..{MAX_CHUNK_SIZE}")
        codebook_id = r.take(r.byte())
        r.end()
        return cls(chunk_size, level, bool(flags & FLAG_SHARED_CONTEXT), codebook_id, version)


class FormerOriginalNames:
    """The names ``original_offset`` and ``original_size`` had before, read-only: ``original_*`` is
    the package's word (for :class:`Frame` and :class:`sigmalang._index.FrameLocation`)."""

    __slots__ = ()
    original_offset: int
    original_size: int

    @property
    def orig_offset(self) -> int:
        """The former name of :attr:`original_offset`; use that."""
        return self.original_offset

    @property
    def orig_size(self) -> int:
        """The former name of :attr:`original_size`; use that."""
        return self.original_size


@dataclass(frozen=True, slots=True)
class Frame(FormerOriginalNames):
    """One chunk as stored: *data* is the backend's output for the transformed chunk.

    *offset* (where the record starts in the stream) is known after parsing; it is not stored.
    """

    number: int
    original_offset: int
    original_size: int
    transform: int
    backend: int
    data: bytes
    continues: bool = False
    offset: int = 0

    def encode(self) -> bytes:
        body = bytearray(encode_varint(self.number))
        body += encode_varint(self.original_offset)
        body += encode_varint(self.original_size)
        body.append(self.transform)
        body.append(self.backend)
        body += self.data
        return encode_record(GlyphType.COMPOSITE, P.FRAME, _with_crc(body), flag=self.continues)

    @classmethod
    def decode(cls, record: Record, expected_number: int) -> Frame:
        body = _check_crc(record.payload, "frame", expected_number, record.offset)
        r = _Reader(body, "frame", expected_number, record.offset)
        number, original_offset, original_size = r.varint(), r.varint(), r.varint()
        transform, backend = r.byte(), r.byte()
        return cls(number, original_offset, original_size, transform, backend, r.rest(), record.flag, record.offset)


@dataclass(slots=True)
class StreamIndex:
    """Where each frame is and how much it holds, plus the whole content's size and checksum.

    *entries* is the index's compact encoding (record size, original size as varint pairs), so a
    writer and a reader that saw the same frames hold byte-identical entries.
    """

    header_size: int = 0
    count: int = 0
    entries: bytearray = field(default_factory=bytearray)
    total_size: int = 0
    checksum: bytes = b""
    extension: bytes = b""  # per-frame search filters (§18), after the CRC32C of the fields above

    def add(self, record_size: int, original_size: int) -> None:
        self.entries += encode_varint(record_size)
        self.entries += encode_varint(original_size)
        self.count += 1
        self.total_size += original_size

    def sizes(self) -> list[tuple[int, int]]:
        """``(record_size, original_size)`` for every frame, in order."""
        r = _Reader(bytes(self.entries), "index", None, 0)
        return [(r.varint(), r.varint()) for _ in range(self.count)]

    def encode(self) -> bytes:
        body = bytearray(encode_varint(self.count))
        body += encode_varint(self.header_size)
        body += self.entries
        body += encode_varint(self.total_size)
        body += self.checksum
        payload = _with_crc(body) + self.extension
        return encode_record(GlyphType.COMPOSITE, P.INDEX, payload, flag=bool(self.extension))

    @classmethod
    def decode(cls, record: Record) -> StreamIndex:
        if record.type != GlyphType.COMPOSITE or record.primitive != P.INDEX:
            raise SigmaFormatError("expected an index record", offset=record.offset)
        payload, extension = record.payload, b""
        if record.flag:  # an extension follows the CRC32C: find where the fields end
            end = _index_fields_end(payload)
            payload, extension = payload[: end + 4], payload[end + 4 :]
        r = _Reader(_check_crc(payload, "index", None, record.offset), "index", None, record.offset)
        count, header_size = r.varint(), r.varint()
        if count * 2 > len(r.body):
            raise r.fail(f"frame count {count} larger than the index can hold")
        start = r.pos
        total = 0
        for _ in range(count):
            r.varint()
            total += r.varint()
        index = cls(header_size, count, bytearray(r.body[start : r.pos]))
        index.total_size = r.varint()
        if index.total_size != total:
            raise r.fail(f"total size {index.total_size} is not the sum of frame sizes {total}")
        index.checksum = r.take(CHECKSUM_SIZE)
        r.end()
        index.extension = extension
        return index


def _index_fields_end(payload: bytes) -> int:
    """Where an index's fields end in *payload* (before their CRC32C); on damage, where the CRC32C
    of the whole payload would start, so that the CRC check reports it."""
    r = _Reader(payload, "index", None, 0)
    try:
        count, _ = r.varint(), r.varint()
        for _ in range(min(count, len(payload))):
            r.varint()
            r.varint()
        r.varint()
        r.take(CHECKSUM_SIZE)
    except SigmaFormatError:
        return max(0, len(payload) - 4)
    return r.pos if r.pos + 4 <= len(payload) else max(0, len(payload) - 4)


def filters_limit(frames: int, original_size: int) -> int:
    """The most bytes an index's filter extension (§18) may take for *frames* frames holding
    *original_size* bytes: a header of at most 16 + 10 bytes a frame, and per frame at most 24
    bytes of fields and a bit array of at most 64 + (its original size) / 8 bytes."""
    return 16 + frames * (10 + 24 + 64) + original_size // 8


def encode_trailer(index_record_size: int) -> bytes:
    body = struct.pack("<Q", index_record_size)
    return encode_record(GlyphType.PRIMITIVE, P.TRAILER, _with_crc(body))


def decode_trailer(record: Record) -> int:
    """Return the index record size that a trailer record holds."""
    if record.type != GlyphType.PRIMITIVE or record.primitive != P.TRAILER or record.flag:
        raise SigmaFormatError("expected a trailer record", offset=record.offset)
    if len(record.payload) != TRAILER_PAYLOAD:
        raise SigmaFormatError("trailer has the wrong size", offset=record.offset)
    body = _check_crc(record.payload, "trailer", None, record.offset)
    return int(struct.unpack("<Q", body)[0])
