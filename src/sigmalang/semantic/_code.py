"""The glyph code's shape, shared by its encoder and decoder: versions, header flags, marker bytes,
the code space of a codebook, the header reader and the pattern of one reference glyph.
"""

from __future__ import annotations

import re
from typing import Literal, overload

from .._errors import SigmaFormatError
from .._wire import read_varint
from .codebook import CODE_BASE, CODE_END, Codebook
from .lines import TEMPORAL_TOKEN

__all__ = [
    "CAPITAL",
    "CODED_LINE",
    "CODE_END_2",
    "ESCAPE",
    "FLAGS_2",
    "FLAG_BANK",
    "FLAG_BOOK",
    "FLAG_ESCAPES",
    "FLAG_NUMBERS",
    "FLAG_TEMPORAL",
    "LINE_FLAGS",
    "LINE_WITH_DIGITS",
    "MAX_DIGITS",
    "NUMBER",
    "RAW_LINE",
    "SEGMENT",
    "UPPER",
    "VERSION",
    "VERSION_2",
    "SemanticDecodeError",
    "capacity",
    "leads",
    "read_header",
    "reference_pattern",
]

VERSION = 1
VERSION_2 = 2  # adds Σ-bank line references and TEMPORAL glyphs (flags 0x04, 0x08)
SEGMENT = 32 << 10  # bytes worked on at a time, so working memory is a few times the chunk (measured)
FLAG_ESCAPES = 0x01
FLAG_NUMBERS = 0x02
FLAG_BANK = 0x04  # version 2: Σ-bank line references (F9 before the number stage, FA after it)
FLAG_TEMPORAL = 0x08  # version 2: TEMPORAL glyphs (FB)
FLAGS_2 = FLAG_ESCAPES | FLAG_NUMBERS | FLAG_BANK | FLAG_TEMPORAL
LINE_FLAGS = FLAG_NUMBERS | FLAG_BANK | FLAG_TEMPORAL  # stages that need whole lines
RAW_LINE, CODED_LINE = 0xF9, 0xFA  # version 2's Σ-bank markers
CODE_END_2 = RAW_LINE  # version 2: reference lead bytes end before the markers
FLAG_BOOK = 0x10  # references index the stream's codebook, then the frame's own extension words
NUMBER, CAPITAL, UPPER, ESCAPE = 0xFC, 0xFD, 0xFE, 0xFF
MAX_DIGITS = 18
LINE_WITH_DIGITS = re.compile(rb"^[^\n0-9]*[0-9][^\n]*", re.MULTILINE)


class SemanticDecodeError(Exception):
    """A glyph code could not be decoded (damaged or hostile payload)."""


def leads(version: int) -> int:
    """How many reference lead bytes glyph code *version* has."""
    return (CODE_END_2 if version == VERSION_2 else CODE_END) - CODE_BASE


def capacity(short: int, version: int) -> int:
    """How many words a codebook with *short* one-byte codes can hold in glyph code *version*."""
    return short + (leads(version) - short) * 256


@overload
def read_header(code: bytes, *, book: Codebook | None = None) -> tuple[int, Codebook, int]: ...
@overload
def read_header(
    code: bytes, versions: Literal[True], *, book: Codebook | None = None
) -> tuple[int, int, Codebook, int]: ...
def read_header(
    code: bytes, versions: bool = False, *, book: Codebook | None = None
) -> tuple[int, Codebook, int] | tuple[int, int, Codebook, int]:
    """Flags, codebook and where the body starts (with *versions*, the version first).

    With ``FLAG_BOOK`` the codebook is the stream's *book* followed by the frame's own words.
    """
    if len(code) < 4 or code[0] not in (VERSION, VERSION_2):
        raise SemanticDecodeError("glyph code has no valid header")
    version, flags, short = code[0], code[1], code[2]
    known = (FLAGS_2 if version == VERSION_2 else FLAG_ESCAPES | FLAG_NUMBERS) | FLAG_BOOK
    if flags & ~known or short > leads(version):
        raise SemanticDecodeError("glyph code header has unknown flags or codebook shape")
    base: tuple[bytes, ...] = ()
    if flags & FLAG_BOOK:
        if book is None:
            raise SemanticDecodeError("glyph code refers to the stream's codebook, and none was given")
        if short != book.short:
            raise SemanticDecodeError(f"glyph code has {short} one-byte codes, the codebook {book.short}")
        base = book.words
    count, pos = read_varint(code, 3, 3, _header_error)
    if len(base) + count > capacity(short, version):
        raise SemanticDecodeError(f"codebook of {len(base)} + {count} words does not fit its code space")
    words: list[bytes] = []
    for _ in range(count):
        end = code.find(b"\n", pos)
        if end < 0:
            raise SemanticDecodeError("glyph code ends inside its codebook")
        word = code[pos:end]
        if not word.isalpha() or not word.isascii():  # bytes.isalpha: ASCII letters, and not empty
            raise SemanticDecodeError(f"codebook word {len(base) + len(words)} is not ASCII letters")
        words.append(word)
        pos = end + 1
    if len(set(words).union(base)) != len(base) + len(words):
        raise SemanticDecodeError("glyph code's codebook holds a word twice")
    table = Codebook(base + tuple(words), short)
    return (version, flags, table, pos) if versions else (flags, table, pos)


def _header_error(exc: SigmaFormatError | None) -> SemanticDecodeError:
    if exc is None:
        return SemanticDecodeError("glyph code ends inside its header")
    return SemanticDecodeError(f"glyph code has a bad codebook size: {exc}")


def reference_pattern(short: int, end_lead: int = CODE_END) -> bytes:
    """A regex matching one escape or one (case-modified) reference, with *short* one-byte codes.

    With *end_lead* ``F9`` (version 2) it also matches line and TEMPORAL glyphs, whole.
    """
    codes = []
    if short:
        codes.append(rb"[\x%02x-\x%02x]" % (CODE_BASE, CODE_BASE + short - 1))
    if short < end_lead - CODE_BASE:
        codes.append(rb"[\x%02x-\x%02x][\x00-\xff]" % (CODE_BASE + short, end_lead - 1))
    tokens = rb"\xff[\x80-\xff]"
    if end_lead == CODE_END_2:
        tokens += rb"|[\xf9\xfa][\x80-\xff]|" + TEMPORAL_TOKEN
    return rb"(%s|[\xfd\xfe]?(?:%s))" % (tokens, b"|".join(codes))
