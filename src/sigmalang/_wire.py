"""One record on the wire, and the incremental parser that finds records in a byte stream.

A record (a *glyph record* in docs/FORMAT.md) is ``header | length | payload``:

* header, 1 byte: bits 7–6 glyph type, bit 5 flag, bits 4–0 primitive id; id 31 is an escape
  and the full id (31–255) follows in a second byte;
* length: the payload size as an LEB128 varint of at most 4 bytes (so at most 2**28 - 1);
* payload: *length* bytes.

Encodings are canonical (no escape for ids below 31, no padded varints) so that every record has
exactly one spelling; anything else is rejected. All functions here are pure, on bytes.

The header's fields keep FORMAT.md's names (glyph header, glyph type); elsewhere in the package
"glyph" means the semantic transform's glyph code. The former names of this module's record API
(``Glyph``, ``read_glyph``, ``encode_glyph``, ``BoundaryHandler.next_glyph``) still work.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ._errors import SigmaFormatError, SigmaTruncatedError
from .primitives import GlyphType

__all__ = [
    "MAX_PAYLOAD",
    "BoundaryHandler",
    "Glyph",
    "ParseState",
    "Record",
    "decode_varint",
    "encode_glyph",
    "encode_header",
    "encode_record",
    "encode_varint",
    "parse_prefix",
    "read_glyph",
    "read_record",
    "read_varint",
]

ESCAPE_ID = 31
MAX_LENGTH_BYTES = 4
MAX_PAYLOAD = (1 << (7 * MAX_LENGTH_BYTES)) - 1
MAX_VARINT_BYTES = 10  # enough for any unsigned 64-bit value


@dataclass(frozen=True, slots=True)
class Record:
    """A parsed record. *offset* is where its header starts in the input, *size* its whole length."""

    type: GlyphType
    primitive: int
    flag: bool
    payload: bytes
    offset: int = 0
    size: int = 0


Glyph = Record  # the former name: use Record


def encode_varint(value: int) -> bytes:
    """LEB128: 7 bits a byte, least significant first, high bit set on all but the last."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(
    buf: bytes | bytearray | memoryview, pos: int, max_bytes: int = MAX_VARINT_BYTES
) -> tuple[int, int] | None:
    """Decode a varint at *pos*; return ``(value, next_pos)``, or ``None`` if *buf* ends first.

    Raises :class:`SigmaFormatError` for a varint longer than *max_bytes* or a padded one.
    """
    value = 0
    for i in range(max_bytes):
        if pos + i >= len(buf):
            return None
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if byte == 0 and i > 0:
                raise SigmaFormatError("non-canonical varint (trailing zero byte)", offset=pos)
            if value >> 64:  # a 10th byte above 1: no field holds more than 64 bits
                raise SigmaFormatError("varint value above 2^64 - 1", offset=pos)
            return value, pos + i + 1
    raise SigmaFormatError(f"varint longer than {max_bytes} bytes", offset=pos)


def read_varint(
    buf: bytes | bytearray | memoryview,
    pos: int,
    max_bytes: int,
    fail: Callable[[SigmaFormatError | None], Exception],
) -> tuple[int, int]:
    """:func:`decode_varint` for a field that must be there: ``(value, next_pos)``, or raise.

    Each layer words its own error: *fail* gets the varint's format error, or ``None`` when *buf*
    ends inside it, and returns the exception to raise.
    """
    try:
        parsed = decode_varint(buf, pos, max_bytes)
    except SigmaFormatError as exc:
        raise fail(exc) from None
    if parsed is None:
        raise fail(None)
    return parsed


def encode_header(gtype: GlyphType, primitive: int, flag: bool = False) -> bytes:
    if not 0 <= primitive <= 255:
        raise ValueError(f"primitive id must be 0-255, got {primitive}")
    first = (int(gtype) << 6) | (0x20 if flag else 0)
    if primitive < ESCAPE_ID:
        return bytes([first | primitive])
    return bytes([first | ESCAPE_ID, primitive])


def encode_record(gtype: GlyphType, primitive: int, payload: bytes, flag: bool = False) -> bytes:
    """Return the full record: header, payload length, *payload*."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return encode_header(gtype, primitive, flag) + encode_varint(len(payload)) + payload


def parse_prefix(buf: bytes | bytearray, pos: int) -> tuple[GlyphType, int, bool, int, int] | None:
    """Parse header and length at *pos*: ``(type, id, flag, payload_length, payload_pos)``."""
    if pos >= len(buf):
        return None
    first = buf[pos]
    gtype = GlyphType(first >> 6)
    flag = bool(first & 0x20)
    primitive = first & 0x1F
    at = pos + 1
    if primitive == ESCAPE_ID:
        if at >= len(buf):
            return None
        primitive = buf[at]
        if primitive < ESCAPE_ID:
            raise SigmaFormatError("non-canonical glyph header (escaped small id)", offset=pos)
        at += 1
    parsed = decode_varint(buf, at, MAX_LENGTH_BYTES)
    if parsed is None:
        return None
    length, at = parsed
    return gtype, primitive, flag, length, at


def read_record(buf: bytes | bytearray, pos: int = 0, *, base_offset: int = 0) -> tuple[Record, int] | None:
    """Read one complete record at *pos*; return ``(record, end)`` or ``None`` if incomplete."""
    try:
        prefix = parse_prefix(buf, pos)
    except SigmaFormatError as exc:
        raise type(exc)(exc.reason, offset=base_offset + pos) from None
    if prefix is None:
        return None
    gtype, primitive, flag, length, at = prefix
    if at + length > len(buf):
        return None
    payload = bytes(buf[at : at + length])
    record = Record(gtype, primitive, flag, payload, base_offset + pos, at + length - pos)
    return record, at + length


# The former names: use encode_record and read_record.
encode_glyph = encode_record
read_glyph = read_record


class ParseState(enum.Enum):
    IDLE = "idle"
    PARTIAL_HEADER = "partial_header"
    PARTIAL_PAYLOAD = "partial_payload"


class BoundaryHandler:
    """Extract complete records from byte slices cut anywhere.

    ``feed()`` any slices, then take records with ``next_record()`` until it returns ``None``.
    Total work is linear in the bytes fed: each byte is copied into the buffer once and out of it
    once. A record whose declared payload is longer than *max_payload* (which may be changed
    between records) is rejected as soon as its length is read, before waiting for or allocating
    its payload.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD, *, offset: int = 0):
        self.max_payload = max_payload
        self._buf = bytearray()
        self._pos = 0
        self._base = offset  # stream offset of _buf[0]
        self._need: int | None = None  # bytes a pending record needs, once its length is known
        self.state = ParseState.IDLE

    @property
    def offset(self) -> int:
        """Stream offset of the next byte not yet returned in a record."""
        return self._base + self._pos

    @property
    def buffered(self) -> int:
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._pos and self._pos * 2 >= len(self._buf):
            del self._buf[: self._pos]
            self._base += self._pos
            self._pos = 0
        self._buf += data

    def next_record(self) -> Record | None:
        """Return the next complete record, or ``None`` until more bytes are fed."""
        if self._need is not None and len(self._buf) - self._pos < self._need:
            return None
        try:
            prefix = parse_prefix(self._buf, self._pos)
        except SigmaFormatError as exc:
            raise type(exc)(exc.reason, offset=self.offset) from None
        if prefix is None:
            self.state = ParseState.PARTIAL_HEADER if self.buffered else ParseState.IDLE
            return None
        gtype, primitive, flag, length, at = prefix
        if length > self.max_payload:
            raise SigmaFormatError(
                f"record payload length {length} exceeds the limit of {self.max_payload}",
                offset=self.offset,
            )
        end = at + length
        if end > len(self._buf):
            self._need = end - self._pos
            self.state = ParseState.PARTIAL_PAYLOAD
            return None
        record = Record(gtype, primitive, flag, bytes(self._buf[at:end]), self.offset, end - self._pos)
        self._pos = end
        self._need = None
        self.state = ParseState.IDLE if self._pos == len(self._buf) else ParseState.PARTIAL_HEADER
        return record

    def next_glyph(self) -> Record | None:
        """The former name of :meth:`next_record`; use that."""
        return self.next_record()

    def take_bytes(self, n: int) -> bytes | None:
        """Take *n* raw bytes (a stream magic, which is not a record), or ``None`` if not all here."""
        if self.buffered < n:
            return None
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    def peek_bytes(self, n: int) -> bytes:
        return bytes(self._buf[self._pos : self._pos + n])

    def drain(self) -> bytes:
        """Return and forget every byte not yet taken."""
        out = bytes(self._buf[self._pos :])
        self._base += len(self._buf)
        self._buf.clear()
        self._pos = 0
        self._need = None
        self.state = ParseState.IDLE
        return out

    def check_complete(self) -> None:
        """Raise :class:`SigmaTruncatedError` if a record was started but not finished."""
        if self.buffered:
            raise SigmaTruncatedError(
                f"stream ends inside a record ({self.buffered} bytes of it present)",
                offset=self.offset,
            )
