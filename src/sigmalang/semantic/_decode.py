"""Glyph code → chunk: the decoder, which undoes the encoder's stages in reverse
(:mod:`sigmalang.semantic.transform` has the format and the encoder).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from ._code import (
    CAPITAL,
    CODE_END_2,
    CODED_LINE,
    ESCAPE,
    FLAG_BANK,
    FLAG_ESCAPES,
    FLAG_NUMBERS,
    FLAG_TEMPORAL,
    LINE_FLAGS,
    LINE_WITH_DIGITS,
    MAX_DIGITS,
    NUMBER,
    RAW_LINE,
    SEGMENT,
    UPPER,
    VERSION,
    VERSION_2,
    SemanticDecodeError,
    read_header,
    reference_pattern,
)
from .codebook import CODE_BASE, CODE_END, Codebook
from .lines import TEMPORAL, Clock, LineBank, LineError

__all__ = ["decode"]

ESCAPED = re.compile(rb"\xff([\x80-\xff])")
NUMBER_TOKEN = re.compile(rb"(\xff[\x80-\xff]|\xfc?[0-9]+)")


def decode(
    code: bytes,
    size: int | None = None,
    segment: int = SEGMENT,
    *,
    timestamps: list[int] | None = None,
    book: Codebook | None = None,
) -> bytes:
    """Decode a glyph code back to the chunk; raises :class:`SemanticDecodeError` if damaged.

    With *size* (the chunk's length, known from the frame), decoding stops with an error as soon
    as the output would outgrow it, before anything larger is allocated. The body is worked on in
    pieces of about *segment* bytes, cut where a glyph is sure to start. With *timestamps*, the
    length of the timestamp of each TEMPORAL glyph is appended to it (for ``sigmalang inspect``).
    *book* is the stream's codebook, needed by a code with ``FLAG_BOOK``.
    """
    if segment < 1:
        raise ValueError(f"segment size must be positive, got {segment}")
    try:
        version, flags, book, pos = read_header(code, versions=True, book=book)
        table = _reference_table(book)
        end_lead = CODE_END_2 if version == VERSION_2 else CODE_END
        split = re.compile(reference_pattern(book.short, end_lead)).split
        look_up = table.__getitem__ if version == VERSION else _line_tokens(table)
        out: list[bytes] = []
        pending: list[bytes] = []  # the decoded start of a line the line stages have not seen whole
        previous: list[bytes] = []
        raw_bank, coded_bank, clock = LineBank(RAW_LINE), LineBank(CODED_LINE), Clock(rendered=timestamps)
        produced = expanded = 0
        for start, end in _glyph_segments(code, pos, book.short, segment, end_lead):
            pieces = split(code[start:end])
            try:
                pieces[1::2] = map(look_up, pieces[1::2])
            except KeyError as exc:
                raise SemanticDecodeError(f"reference {exc} is not in the codebook") from None
            expanded += sum(map(len, pieces))
            if size is not None and expanded > 2 * size:  # escapes and deltas at most halve a text
                raise SemanticDecodeError(f"glyph code expands past twice its {size} bytes")
            text = b"".join(pieces)
            del pieces
            if flags & LINE_FLAGS:  # needs whole lines: the rest waits for the next segment
                last = end == len(code)
                cut = len(text) if last else text.rfind(b"\n") + 1
                if not cut and not last:
                    pending.append(text)
                    continue
                pending.append(text[:cut])
                text, pending = b"".join(pending), [text[cut:]]
                limit = None if size is None else 2 * (size - produced)
                if flags & FLAG_BANK:
                    text = coded_bank.decode(text, _BIG if limit is None else limit)
                if flags & FLAG_NUMBERS:
                    text, previous = _decode_numbers(text, previous, limit)
                if flags & FLAG_TEMPORAL:
                    text = clock.decode(text, _BIG if limit is None else limit)
                if flags & FLAG_BANK:
                    text = raw_bank.decode(text, _BIG if limit is None else limit)
            text = _unescape(text, flags)
            produced += len(text)
            if size is not None and produced > size:
                raise SemanticDecodeError(f"glyph code decodes past its {size} bytes")
            out.append(text)
    except SemanticDecodeError:
        raise
    except LineError as exc:
        raise SemanticDecodeError(str(exc)) from None
    except (ValueError, KeyError, IndexError, OverflowError) as exc:
        raise SemanticDecodeError(f"damaged glyph code: {exc}") from None
    return b"".join(out)


_BIG = 1 << 62  # no limit


def _line_tokens(table: dict[bytes, bytes]) -> Callable[[bytes], bytes]:
    """Stage 1 of version 2: references as in version 1; line and TEMPORAL glyphs kept for later."""
    get = table.__getitem__

    def look_up(token: bytes) -> bytes:
        return token if token[0] in _LINE_MARKERS else get(token)

    return look_up


_LINE_MARKERS = frozenset((RAW_LINE, CODED_LINE, TEMPORAL))


def _unescape(text: bytes, flags: int) -> bytes:
    """Stage 3: ``FF b`` pairs become *b*; any other byte above ``7F`` is an error."""
    if flags & FLAG_ESCAPES:
        if not ESCAPED.sub(b"", text).isascii():
            raise SemanticDecodeError("glyph code has a stray marker or reference byte")
        return ESCAPED.sub(rb"\1", text)
    if not text.isascii():
        raise SemanticDecodeError("glyph code has a stray marker or reference byte")
    return text


def _glyph_segments(
    code: bytes, start: int, short: int, size: int, end_lead: int = CODE_END
) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of body pieces of about *size* bytes, each ending where a glyph ends.

    A byte below ``80`` is a glyph of its own unless it is the second byte of a two-byte reference,
    so the position after such a byte that follows anything but a two-byte lead is a glyph boundary.
    """
    lead = CODE_BASE + short
    sync = re.compile(rb"[^\x%02x-\x%02x][\x00-\x7f]" % (lead, end_lead - 1) if lead < end_lead else rb"[\x00-\x7f]")
    total = len(code)
    while start < total:
        found = sync.search(code, start + size - 2) if start + size < total else None
        end = found.end() if found else total
        yield start, end
        start = end


def _reference_table(book: Codebook) -> dict[bytes, bytes]:
    """Every reference glyph (with and without case modifier) → its word; escapes → themselves."""
    table: dict[bytes, bytes] = {}
    for word, code in book.codes().items():
        table[code] = word
        table[bytes([CAPITAL]) + code] = word[:1].upper() + word[1:]
        table[bytes([UPPER]) + code] = word.upper()
    for byte in range(0x80, 0x100):
        escape = bytes([ESCAPE, byte])
        table[escape] = escape  # kept for the last stage
    return table


def _decode_numbers(text: bytes, previous: list[bytes], limit: int | None) -> tuple[bytes, list[bytes]]:
    """Undo :func:`_encode_numbers` on whole lines; returns them and the numbers of the last one.

    The result may not be longer than *limit* bytes (checked line by line, before joining).
    """
    out = []
    start = 0
    grown = 0
    for match in LINE_WITH_DIGITS.finditer(text):
        parts = NUMBER_TOKEN.split(match.group())
        numbers: list[bytes] = []
        for j in range(1, len(parts), 2):
            token = parts[j]
            if token[0] == ESCAPE:
                continue
            if token[0] == NUMBER:
                if len(token) > 2 and token[1] == 0x30:  # "0" itself is the only delta with a 0 first
                    raise SemanticDecodeError("number delta with a leading zero")
                if len(numbers) >= len(previous):
                    raise SemanticDecodeError("number delta has no number to add to in the line before")
                before = previous[len(numbers)]
                if len(before) > MAX_DIGITS or len(token) > MAX_DIGITS + 1:
                    raise SemanticDecodeError("number delta is longer than a quantity may be")
                value = b"%d" % (int(token[1:]) + int(before))
                if len(value) > len(before):
                    raise SemanticDecodeError("number delta overflows its width")
                grown += len(before) - len(token)
                token = parts[j] = value.rjust(len(before), b"0")
            numbers.append(token)
        previous = numbers
        if limit is not None and match.end() + grown > limit:
            raise SemanticDecodeError(f"number deltas expand the text past {limit} bytes")
        out.append(text[start : match.start()])
        out.append(b"".join(parts))
        start = match.end()
    if not out:
        return text, previous
    out.append(text[start:])
    return b"".join(out), previous
