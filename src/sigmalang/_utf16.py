"""Transform 6, UTF-16 text: a chunk of text in UTF-16 (two bytes a character, as Windows writes
text files, exports and logs) coded as the same text in UTF-8, and that coded as any chunk is.

In UTF-16 every character of Latin text has a zero byte beside it: the model spends a context on
each zero, its word and line contexts see half the bytes they would, and it codes twice as many
bytes. The frame keeps the text's code units as UTF-8 instead, which the other transforms and the
backends then code (records for logs, wrap codes for books), and the decoder writes the code units
back. Any code units round-trip, lone surrogates included, so the only choice is the encoder's:
which byte the code units start at (a chunk cut after a line feed's first byte starts one byte
into a unit) and whether the chunk is text in UTF-16 at all. The byte layout is docs/FORMAT.md
§7.8; docs/cm.md, "Text in UTF-16", has the measurements.
"""

from __future__ import annotations

import re

import numpy as np

from ._levels import TRANSFORM_LITERAL, TRANSFORM_RECORDS, TRANSFORM_SEMANTIC, TRANSFORM_WRAPS
from ._wire import encode_varint, read_varint

__all__ = ["INNER", "Utf16Error", "decode", "encode_header", "from_utf8", "parse", "split", "to_utf8"]

INNER = (TRANSFORM_LITERAL, TRANSFORM_SEMANTIC, TRANSFORM_RECORDS, TRANSFORM_WRAPS)  # what may code the UTF-8
FLAG_LEAD = 0x01  # one byte stands before the first code unit
FLAG_TAIL = 0x02  # one byte stands after the last code unit
FLAGS = FLAG_LEAD | FLAG_TAIL
# The encoder's choice (decoders do not depend on these): a chunk is taken for UTF-16 text when it
# has at least MIN_SIZE bytes, at least half of its code units have a zero high byte and at most one
# unit has a zero low byte for every ZERO_LOW_SHARE with a zero high byte (characters below U+0100,
# as Latin text has, rather than binary data), its UTF-8 is at most UTF8_SHARE_NUM / UTF8_SHARE_DEN
# of its code units' bytes, and at most one byte in CONTROL_SHARE of that UTF-8 is a control
# character other than tab, line feed, form feed, carriage return and escape.
MIN_SIZE = 256
ZERO_LOW_SHARE = 8
UTF8_SHARE_NUM, UTF8_SHARE_DEN = 3, 4
CONTROL_SHARE = 100
_CONTROL = np.zeros(256, dtype=bool)
_CONTROL[:32] = True
_CONTROL[[9, 10, 12, 13, 27]] = False
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")  # a surrogate pair written as two code points


class Utf16Error(ValueError):
    """Frame data of transform 6 that no encoder writes."""


def to_utf8(units: bytes) -> bytes:
    """Little-endian UTF-16 code units (an even number of bytes) as UTF-8: a high surrogate followed
    by a low one is one character; any other unit is a code point of its own, a lone surrogate
    written as the three bytes UTF-8 would give its number."""
    return units.decode("utf-16-le", "surrogatepass").encode("utf-8", "surrogatepass")


def from_utf8(text: bytes) -> bytes:
    """:func:`to_utf8` backwards; raises :class:`Utf16Error` for bytes it never writes: UTF-8 that
    is not in its shortest form, or names a code point past U+10FFFF, or a high surrogate followed
    by a low one (to_utf8 writes such a pair as the one character it stands for)."""
    try:
        chars = text.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise Utf16Error(f"bad UTF-8 at byte {exc.start}") from None
    pair = _PAIR.search(chars)
    if pair is not None:
        raise Utf16Error(f"a surrogate pair written as two code points at character {pair.start()}")
    return chars.encode("utf-16-le", "surrogatepass")


def split(data: bytes) -> tuple[int, bytes] | None:
    """Where *data* is text in UTF-16 worth coding as UTF-8: (flags, UTF-8 of its code units), the
    code units starting at byte 0 or 1 (FLAG_LEAD) of *data* and leaving one byte after them or
    none (FLAG_TAIL); else None. Big-endian text is read as little-endian units one byte in."""
    if len(data) < MIN_SIZE:
        return None
    array = np.frombuffer(data, dtype=np.uint8)
    zero = array == 0
    even, odd = int(np.count_nonzero(zero[0::2])), int(np.count_nonzero(zero[1::2]))
    high, low = max(even, odd), min(even, odd)
    if 4 * high < len(data) or low * ZERO_LOW_SHARE > high:
        return None
    lead = 1 if even > odd else 0  # the zero high bytes at even places: the units start one byte in
    units = (len(data) - lead) // 2 * 2
    text = to_utf8(data[lead : lead + units])
    if len(text) * UTF8_SHARE_DEN > units * UTF8_SHARE_NUM:
        return None
    if int(np.count_nonzero(_CONTROL[np.frombuffer(text, dtype=np.uint8)])) * CONTROL_SHARE > len(text):
        return None
    flags = (FLAG_LEAD if lead else 0) | (FLAG_TAIL if lead + units < len(data) else 0)
    return flags, text


def encode_header(data: bytes, flags: int, inner: int, size: int) -> bytes:
    """The start of a transform-6 frame's data for the chunk *data* split with *flags*: the inner
    transform, the flags, the bytes around the code units and the UTF-8's length *size*."""
    lead = data[:1] if flags & FLAG_LEAD else b""
    tail = data[-1:] if flags & FLAG_TAIL else b""
    return bytes([inner, flags]) + lead + tail + encode_varint(size)


def parse(data: bytes, size: int) -> tuple[int, bytes, bytes, int, int]:
    """The header of transform-6 frame *data* for a chunk of *size* bytes: (inner transform, lead,
    tail, the UTF-8's length, where the inner data starts), each field checked."""
    if len(data) < 2:
        raise Utf16Error("frame data ends in its header")
    inner, flags = data[0], data[1]
    if inner not in INNER:
        raise Utf16Error(f"inner transform {inner} is not one of {', '.join(map(str, INNER))}")
    if flags & ~FLAGS:
        raise Utf16Error(f"unknown flags {flags:#04x}")
    at = 2 + (flags & FLAG_LEAD) + (flags & FLAG_TAIL) // FLAG_TAIL  # past the lead and tail bytes
    if len(data) < at:
        raise Utf16Error("frame data ends in its header")
    lead = data[2:3] if flags & FLAG_LEAD else b""
    tail = data[at - 1 : at] if flags & FLAG_TAIL else b""
    units = size - len(lead) - len(tail)
    if units < 0 or units % 2:
        raise Utf16Error(f"{units} bytes of code units in a chunk of {size}")

    def bad(_: object) -> Utf16Error:
        return Utf16Error("no valid UTF-8 length")

    text_size, at = read_varint(data, at, 5, bad)
    if not units // 2 <= text_size <= units // 2 * 3:
        raise Utf16Error(f"UTF-8 of {text_size} bytes for {units // 2} code units")
    return inner, lead, tail, text_size, at


def decode(text: bytes, lead: bytes, tail: bytes, size: int) -> bytes:
    """The chunk of *size* bytes: *lead*, the code units of the UTF-8 *text*, *tail*."""
    units = from_utf8(text)
    if len(lead) + len(units) + len(tail) != size:
        raise Utf16Error(f"UTF-8 decoded to {len(units)} bytes of code units, expected {size - len(lead) - len(tail)}")
    return lead + units + tail
