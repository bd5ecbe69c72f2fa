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

Both sides work on ~32 KiB segments (whole lines when encoding, glyph-aligned pieces of the body
when decoding), so their working memory is a few times the chunk, not ~50 bytes per input byte
as when the whole chunk is split into word lists; the code does not depend on the segment size.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from ..errors import SigmaFormatError
from ..glyph import decode_varint, encode_varint
from .codebook import CODE_BASE, CODE_BYTES, CODE_END, Codebook, build_codebook

__all__ = ["SemanticDecodeError", "decode", "encode", "read_header", "reference_pattern", "worth_trying"]

VERSION = 1
SEGMENT = 32 << 10  # bytes worked on at a time, so working memory is a few times the chunk (measured)
FLAG_ESCAPES = 0x01
FLAG_NUMBERS = 0x02
FLAG_BOOK = 0x10  # references index the stream's codebook, then the frame's own extension words
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


def encode(
    data: bytes,
    short: int = 96,
    min_count: int = 32,
    segment: int = SEGMENT,
    *,
    book: Codebook | None = None,
    extend: bool = True,
) -> bytes:
    """Encode one chunk into the glyph code (header, codebook, body).

    The chunk is worked on in segments of about *segment* bytes (whole lines, words cut nowhere),
    first to count the words and then to replace them; the code does not depend on *segment*.
    With a stream codebook *book*, the frame's references index it (flag ``FLAG_BOOK``) and the
    frame carries only an extension: with *extend*, its own frequent words missing from the book.
    """
    if segment < 1:
        raise ValueError(f"segment size must be positive, got {segment}")
    escape = not data.isascii()
    texts: list[bytes | None] = []  # stages 1-2 of each segment, None where they changed nothing
    cuts: list[tuple[int, int]] = []
    counts: Counter[bytes] = Counter()
    previous: list[bytes] = []
    numbered = False
    for start, end in _line_segments(data, segment):
        text = HIGH.sub(b"\xff\\1", data[start:end]) if escape else data[start:end]
        text, previous, changed = _encode_numbers(text, previous)
        numbered |= changed
        for piece in _word_segments(text, segment):
            counts.update(WORD.findall(piece))
        texts.append(text if escape or changed else None)
        cuts.append((start, end))
    flags = (FLAG_ESCAPES if escape else 0) | (FLAG_NUMBERS if numbered else 0)
    local = build_codebook(counts, short, min_count)
    del counts
    if book is None:
        written = book = local
    else:
        flags |= FLAG_BOOK
        known = set(book.words)
        extra = [w for w in local.words if w not in known] if extend else []
        written = Codebook(tuple(extra[: book.capacity - len(book.words)]), book.short)
        book = Codebook(book.words + written.words, book.short)
    glyphs = _word_glyphs(book)
    body = [bytes([VERSION, flags, book.short]) + encode_varint(len(written.words)), written.serialize()]
    for i, (start, end) in enumerate(cuts):
        stored, texts[i] = texts[i], None
        for piece in _word_segments(data[start:end] if stored is None else stored, segment):
            pieces = WORD.split(piece)
            words = pieces[1::2]
            pieces[1::2] = map(glyphs.get, words, words)
            body.append(b"".join(pieces))
            del pieces, words
        del stored
    return b"".join(body)


def _line_segments(data: bytes, size: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of whole lines, about *size* bytes at a time (a longer line is one segment)."""
    start, total = 0, len(data)
    while start < total:
        end = start + size
        if end >= total:
            end = total
        else:
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut >= 0 else data.find(b"\n", end) + 1 or total
        yield start, end
        start = end


def _word_segments(text: bytes, size: int) -> Iterator[bytes]:
    """*text* in pieces of about *size* bytes, never cut inside a run of letters."""
    if len(text) <= size:
        yield text
        return
    start = 0
    while start < len(text):
        end = start + size
        run = WORD.match(text, end - 1) if end < len(text) else None
        if run:
            end = run.end()
        yield text[start:end]
        start = end


def _word_glyphs(book: Codebook) -> dict[bytes, bytes]:
    """Spelling → its glyph bytes, for the spellings that become references (others stay literal).

    A lower-case entry also codes its Capitalized and UPPER spellings with a case modifier; a
    mixed-case entry codes only itself (see :func:`~sigmalang.semantic.codebook.build_codebook`).
    """
    glyphs = {}
    for word, code in book.codes().items():
        glyphs[word] = code
        if word.islower():
            glyphs[word.upper()] = bytes([UPPER]) + code
            glyphs[word[:1].upper() + word[1:]] = bytes([CAPITAL]) + code
    return glyphs


def _encode_numbers(text: bytes, previous: list[bytes]) -> tuple[bytes, list[bytes], bool]:
    """Replace numbers by deltas from the previous line with numbers (*previous*: its numbers).

    Returns the text (*text* itself if no number changed), the numbers of its last line with
    numbers, and whether any number changed.
    """
    out = []
    start = 0
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
    if not changed:
        return text, previous, False
    out.append(text[start:])
    return b"".join(out), previous, True


def decode(code: bytes, size: int | None = None, segment: int = SEGMENT, *, book: Codebook | None = None) -> bytes:
    """Decode a glyph code back to the chunk; raises :class:`SemanticDecodeError` if damaged.

    With *size* (the chunk's length, known from the frame), decoding stops with an error as soon
    as the output would outgrow it, before anything larger is allocated. The body is worked on in
    pieces of about *segment* bytes, cut where a glyph is sure to start. *book* is the stream's
    codebook, needed by a code with ``FLAG_BOOK``.
    """
    if segment < 1:
        raise ValueError(f"segment size must be positive, got {segment}")
    try:
        flags, book, pos = read_header(code, book)
        table = _reference_table(book)
        split = re.compile(reference_pattern(book.short)).split
        out: list[bytes] = []
        pending: list[bytes] = []  # the decoded start of a line the number stage has not seen whole
        previous: list[bytes] = []
        produced = expanded = 0
        for start, end in _glyph_segments(code, pos, book.short, segment):
            pieces = split(code[start:end])
            try:
                pieces[1::2] = map(table.__getitem__, pieces[1::2])
            except KeyError as exc:
                raise SemanticDecodeError(f"reference {exc} is not in the codebook") from None
            expanded += sum(map(len, pieces))
            if size is not None and expanded > 2 * size:  # escapes and deltas at most halve a text
                raise SemanticDecodeError(f"glyph code expands past twice its {size} bytes")
            text = b"".join(pieces)
            del pieces
            if flags & FLAG_NUMBERS:  # needs whole lines: the rest waits for the next segment
                last = end == len(code)
                cut = len(text) if last else text.rfind(b"\n") + 1
                if not cut and not last:
                    pending.append(text)
                    continue
                pending.append(text[:cut])
                text, pending = b"".join(pending), [text[cut:]]
                limit = None if size is None else 2 * (size - produced)
                text, previous = _decode_numbers(text, previous, limit)
            text = _unescape(text, flags)
            produced += len(text)
            if size is not None and produced > size:
                raise SemanticDecodeError(f"glyph code decodes past its {size} bytes")
            out.append(text)
    except SemanticDecodeError:
        raise
    except (ValueError, KeyError, IndexError, OverflowError) as exc:
        raise SemanticDecodeError(f"damaged glyph code: {exc}") from None
    return b"".join(out)


def _unescape(text: bytes, flags: int) -> bytes:
    """Stage 3: ``FF b`` pairs become *b*; any other byte above ``7F`` is an error."""
    if flags & FLAG_ESCAPES:
        if not ESCAPED.sub(b"", text).isascii():
            raise SemanticDecodeError("glyph code has a stray marker or reference byte")
        return ESCAPED.sub(rb"\1", text)
    if not text.isascii():
        raise SemanticDecodeError("glyph code has a stray marker or reference byte")
    return text


def read_header(code: bytes, stream_book: Codebook | None = None) -> tuple[int, Codebook, int]:
    """Flags, codebook (with ``FLAG_BOOK``: *stream_book*'s words, then the frame's) and where the body starts."""
    if len(code) < 4 or code[0] != VERSION:
        raise SemanticDecodeError("glyph code has no valid header")
    flags, short = code[1], code[2]
    if flags & ~(FLAG_ESCAPES | FLAG_NUMBERS | FLAG_BOOK) or short > CODE_BYTES:
        raise SemanticDecodeError("glyph code header has unknown flags or codebook shape")
    base: tuple[bytes, ...] = ()
    if flags & FLAG_BOOK:
        if stream_book is None:
            raise SemanticDecodeError("glyph code refers to the stream's codebook, and none was given")
        if short != stream_book.short:
            raise SemanticDecodeError(f"glyph code has {short} one-byte codes, the codebook {stream_book.short}")
        base = stream_book.words
    try:
        parsed = decode_varint(code, 3, 3)
    except SigmaFormatError as exc:
        raise SemanticDecodeError(f"glyph code has a bad codebook size: {exc}") from None
    if parsed is None:
        raise SemanticDecodeError("glyph code ends inside its header")
    count, pos = parsed
    if len(base) + count > Codebook((), short).capacity:
        raise SemanticDecodeError(f"codebook of {len(base)} + {count} words does not fit its code space")
    words = []
    for _ in range(count):
        end = code.find(b"\n", pos)
        if end < 0:
            raise SemanticDecodeError("glyph code ends inside its codebook")
        words.append(code[pos:end])
        pos = end + 1
    return flags, Codebook(base + tuple(words), short), pos


def _glyph_segments(code: bytes, start: int, short: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of body pieces of about *size* bytes, each ending where a glyph ends.

    A byte below ``80`` is a glyph of its own unless it is the second byte of a two-byte reference,
    so the position after such a byte that follows anything but a two-byte lead is a glyph boundary.
    """
    lead = CODE_BASE + short
    sync = re.compile(rb"[^\x%02x-\xfb][\x00-\x7f]" % lead if lead < CODE_END else rb"[\x00-\x7f]")
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


def reference_pattern(short: int) -> bytes:
    """A regex matching one escape or one (case-modified) reference, with *short* one-byte codes."""
    codes = []
    if short:
        codes.append(rb"[\x%02x-\x%02x]" % (CODE_BASE, CODE_BASE + short - 1))
    if short < CODE_BYTES:
        codes.append(rb"[\x%02x-\x%02x][\x00-\xff]" % (CODE_BASE + short, CODE_END - 1))
    return rb"(\xff[\x80-\xff]|[\xfd\xfe]?(?:%s))" % b"|".join(codes)


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
