"""The lossless ΣLANG text transform: one chunk of bytes ⇄ one glyph code (a byte string).

The glyph code is a byte string made for a context-model backend. Each glyph is one to three
bytes, chosen so that the bytes of the input that stay literal keep their own value:

======================  =================================================================
bytes                   glyph
======================  =================================================================
``00``–``7F``           LITERAL / STRUCTURE: the ASCII byte itself (letters of words not in
                        the codebook, digits, whitespace, punctuation, line ends)
``80``–``FB`` [xx]      REFERENCE: a codebook word (one byte, or a lead byte and any byte)
``FC`` digits           QUANTITY delta: the number at the same position in the previous line
                        with a number, plus the decimal value that follows, same width
``FD`` ref              CASE modifier, Capitalized: the reference's word with a capital
``FE`` ref              CASE modifier, UPPER: the reference's word in capitals
``FF`` byte             LITERAL escape: one input byte ``80``–``FF`` (UTF-8, binary)
======================  =================================================================

The encoder applies three stages — escape high bytes, number deltas per line, words to
references — and the decoder undoes them in reverse. A chunk is one frame: nothing is carried
between chunks. See ``docs/semantic.md`` for the byte layout of the whole payload.
"""

from __future__ import annotations

import re
from collections import Counter

from ..glyph import decode_varint, encode_varint
from .codebook import CODE_BASE, CODE_BYTES, CODE_END, Codebook, build_codebook

__all__ = ["SemanticDecodeError", "decode", "encode", "worth_trying"]

VERSION = 1
FLAG_ESCAPES = 0x01
FLAG_NUMBERS = 0x02
NUMBER, CAPITAL, UPPER, ESCAPE = 0xFC, 0xFD, 0xFE, 0xFF
MAX_DELTA = 1000  # larger differences stay literal: they model worse than the digits themselves
MAX_DIGITS = 18

HIGH_BYTES = bytes(range(0x80, 0x100))
WORD = re.compile(rb"([A-Za-z]+)")
DIGITS = re.compile(rb"([0-9]+)")
LINE_WITH_DIGITS = re.compile(rb"^[^\n0-9]*[0-9][^\n]*", re.MULTILINE)
HIGH = re.compile(rb"([\x80-\xff])")
ESCAPED = re.compile(rb"\xff([\x80-\xff])")
NUMBER_TOKEN = re.compile(rb"(\xff[\x80-\xff]|\xfc?[0-9]+)")


class SemanticDecodeError(Exception):
    """A glyph code could not be decoded (damaged or hostile payload)."""


def worth_trying(data: bytes, max_high_share: float = 0.02) -> bool:
    """Cheap check: is *data* text the transform can help, not binary or mostly non-ASCII?"""
    if not data:
        return False
    if data.isascii():
        return True
    high = len(data) - len(data.translate(None, HIGH_BYTES))
    return high <= max_high_share * len(data) and b"\0" not in data


def encode(data: bytes, short: int = 96, min_count: int = 32) -> bytes:
    """Encode one chunk into the glyph code (header, codebook, body)."""
    flags = 0
    text = data
    if not text.isascii():
        text = HIGH.sub(b"\xff\\1", text)
        flags |= FLAG_ESCAPES
    numbered = _encode_numbers(text)
    if numbered is not None:
        text = numbered
        flags |= FLAG_NUMBERS
    pieces = WORD.split(text)
    words = pieces[1::2]
    counts = Counter(words)
    book = build_codebook(counts, short, min_count)
    glyphs = _word_glyphs(counts, book)
    pieces[1::2] = map(glyphs.__getitem__, words)
    header = bytes([VERSION, flags, book.short]) + encode_varint(len(book.words))
    return header + book.serialize() + b"".join(pieces)


def _word_glyphs(counts: Counter[bytes], book: Codebook) -> dict[bytes, bytes]:
    """Exact spelling → its glyph bytes (a reference, with a case modifier, or the word itself)."""
    codes = book.codes()
    glyphs = {}
    for word in counts:
        code = codes.get(word)
        if code is not None:
            glyphs[word] = code
            continue
        lower = word.lower()
        code = codes.get(lower) if lower != word else None
        if code is not None and len(word) > 1 and word.isupper():
            glyphs[word] = bytes([UPPER]) + code
        elif code is not None and word[1:].islower():
            glyphs[word] = bytes([CAPITAL]) + code
        else:
            glyphs[word] = word
    return glyphs


def _encode_numbers(text: bytes) -> bytes | None:
    """Replace numbers by deltas from the previous line with numbers; ``None`` if none would be."""
    out = []
    start = 0
    previous: list[bytes] = []
    changed = False
    for match in LINE_WITH_DIGITS.finditer(text):
        parts = DIGITS.split(match.group())
        numbers = parts[1::2]
        for i, number in enumerate(numbers[: len(previous)]):
            before = previous[i]
            if len(before) == len(number) <= MAX_DIGITS:
                delta = int(number) - int(before)
                if 0 <= delta < MAX_DELTA:
                    parts[2 * i + 1] = b"\xfc%d" % delta
                    changed = True
        previous = numbers
        out.append(text[start : match.start()])
        out.append(b"".join(parts))
        start = match.end()
    out.append(text[start:])
    return b"".join(out) if changed else None


def decode(code: bytes) -> bytes:
    """Decode a glyph code back to the chunk; raises :class:`SemanticDecodeError` if damaged."""
    try:
        flags, book, pos = _read_header(code)
        text = _decode_words(memoryview(code)[pos:].tobytes(), book)
        if flags & FLAG_NUMBERS:
            text = _decode_numbers(text)
        if flags & FLAG_ESCAPES:
            if not ESCAPED.sub(b"", text).isascii():
                raise SemanticDecodeError("glyph code has a stray marker or reference byte")
            text = ESCAPED.sub(rb"\1", text)
        elif not text.isascii():
            raise SemanticDecodeError("glyph code has a stray marker or reference byte")
    except SemanticDecodeError:
        raise
    except (ValueError, KeyError, IndexError, OverflowError) as exc:
        raise SemanticDecodeError(f"damaged glyph code: {exc}") from None
    return text


def _read_header(code: bytes) -> tuple[int, Codebook, int]:
    if len(code) < 4 or code[0] != VERSION:
        raise SemanticDecodeError("glyph code has no valid header")
    flags, short = code[1], code[2]
    if flags & ~(FLAG_ESCAPES | FLAG_NUMBERS) or short > CODE_BYTES:
        raise SemanticDecodeError("glyph code header has unknown flags or codebook shape")
    parsed = decode_varint(code, 3, 3)
    if parsed is None:
        raise SemanticDecodeError("glyph code ends inside its header")
    count, pos = parsed
    if count > Codebook((), short).capacity:
        raise SemanticDecodeError(f"codebook of {count} words does not fit its code space")
    words = []
    for _ in range(count):
        end = code.find(b"\n", pos)
        if end < 0:
            raise SemanticDecodeError("glyph code ends inside its codebook")
        words.append(code[pos:end])
        pos = end + 1
    return flags, Codebook(tuple(words), short), pos


def _decode_words(body: bytes, book: Codebook) -> bytes:
    table: dict[bytes, bytes] = {}
    for word, code in book.codes().items():
        table[code] = word
        table[bytes([CAPITAL]) + code] = word[:1].upper() + word[1:]
        table[bytes([UPPER]) + code] = word.upper()
    for byte in range(0x80, 0x100):
        escape = bytes([ESCAPE, byte])
        table[escape] = escape  # kept for the last stage
    pieces = re.split(_reference_pattern(book.short), body)
    try:
        pieces[1::2] = map(table.__getitem__, pieces[1::2])
    except KeyError as exc:
        raise SemanticDecodeError(f"reference {exc} is not in the codebook") from None
    return b"".join(pieces)


def _reference_pattern(short: int) -> bytes:
    """A regex matching one escape or one (case-modified) reference, with *short* one-byte codes."""
    codes = []
    if short:
        codes.append(rb"[\x%02x-\x%02x]" % (CODE_BASE, CODE_BASE + short - 1))
    if short < CODE_BYTES:
        codes.append(rb"[\x%02x-\x%02x][\x00-\xff]" % (CODE_BASE + short, CODE_END - 1))
    return rb"(\xff[\x80-\xff]|[\xfd\xfe]?(?:%s))" % b"|".join(codes)


def _decode_numbers(text: bytes) -> bytes:
    out = []
    start = 0
    previous: list[bytes] = []
    for match in LINE_WITH_DIGITS.finditer(text):
        parts = NUMBER_TOKEN.split(match.group())
        numbers: list[bytes] = []
        for j in range(1, len(parts), 2):
            token = parts[j]
            if token[0] == ESCAPE:
                continue
            if token[0] == NUMBER:
                before = previous[len(numbers)]
                value = b"%d" % (int(token[1:]) + int(before))
                if len(value) > len(before):
                    raise SemanticDecodeError("number delta overflows its width")
                token = parts[j] = value.rjust(len(before), b"0")
            numbers.append(token)
        previous = numbers
        out.append(text[start : match.start()])
        out.append(b"".join(parts))
        start = match.end()
    out.append(text[start:])
    return b"".join(out)
