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

Version 2 of the code ends the reference leads at ``F8`` and adds, in :mod:`.lines`, ``F9 d``
and ``FA d`` (Σ-bank: a whole line equal to one up to 128 lines back, before or after the
number stage) and ``FB k digits`` (TEMPORAL: a timestamp as a delta from the last one of its
form). Chunks that use neither get version 1, which decoders keep reading as before.

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
from collections.abc import Callable, Iterator
from typing import Literal, overload

from ..errors import SigmaFormatError
from ..glyph import encode_varint, read_varint
from .codebook import CODE_BASE, CODE_END, Codebook, build_codebook
from .lines import TEMPORAL, TEMPORAL_TOKEN, Clock, LineBank, LineError

__all__ = ["SemanticDecodeError", "decode", "encode", "read_header", "reference_pattern", "worth_trying"]

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
MIN_SHARE = 0.01  # a line stage that replaces less of the chunk is left out (it measured slightly worse)
CODE_END_2 = RAW_LINE  # version 2: reference lead bytes end before the markers
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
    bank: bool = True,
    temporal: bool = True,
    coded_bank: bool = False,
    book: Codebook | None = None,
    extend: bool = True,
) -> bytes:
    """Encode one chunk into the glyph code (header, codebook, body).

    The chunk is worked on in segments of about *segment* bytes (whole lines, words cut nowhere),
    first to count the words and then to replace them; the code does not depend on *segment*.
    *bank* (line references before the number stage), *coded_bank* (after it; off by default: it
    measured worse on most logs) and *temporal* allow the version-2 line stages; a chunk where
    none is used gets a version-1 code. With a stream codebook *book*, the frame's references index
    it (flag ``FLAG_BOOK``) and the frame carries only an extension: with *extend*, its own frequent
    words missing from the book.
    """
    if segment < 1:
        raise ValueError(f"segment size must be positive, got {segment}")
    stages = (bank, coded_bank, temporal)
    if any(stages) and len(data) > 4 * PROBE:
        # Decide on a sample of lines which stages are worth a pass over the whole chunk: on prose
        # they replace nothing, and trying them on all of it cost as much as the rest of the
        # transform (docs/semantic.md). A stage kept here may still be dropped below.
        stages = _encode_with(_sample(data), short, min_count, segment, stages, book, extend)[1]
    return _encode_with(data, short, min_count, segment, stages, book, extend)[0]


PROBE = 256 << 10  # how much of a chunk the line stages are tried on first
PROBE_PIECES = 4


def _sample(data: bytes) -> bytes:
    """*PROBE_PIECES* runs of whole lines, *PROBE* bytes in all, spread evenly over *data*."""
    size, step = PROBE // PROBE_PIECES, len(data) // PROBE_PIECES
    pieces = []
    for k in range(PROBE_PIECES):
        start = data.rfind(b"\n", 0, k * step) + 1 if k else 0
        end = data.rfind(b"\n", start, start + size) + 1 or start + size
        pieces.append(data[start:end])
    return b"".join(pieces)


def _encode_with(
    data: bytes,
    short: int,
    min_count: int,
    segment: int,
    stages: tuple[bool, bool, bool],
    book: Codebook | None,
    extend: bool,
) -> tuple[bytes, tuple[bool, bool, bool]]:
    """The glyph code of *data*, and the line stages it ended up using."""
    while True:  # at most four passes: each retry turns at least one stage off
        try:
            return _encode(data, short, min_count, segment, stages, book, extend), stages
        except _Retry as retry:
            stages = retry.stages


class _Retry(Exception):
    """Encode again with fewer line stages: one would not round-trip, or replaced too little."""

    def __init__(self, stages: tuple[bool, bool, bool]):
        self.stages = stages


def _encode(
    data: bytes,
    short: int,
    min_count: int,
    segment: int,
    stages: tuple[bool, bool, bool],
    stream_book: Codebook | None,
    extend: bool,
) -> bytes:
    bank, coded_bank, temporal = stages
    escape = not data.isascii()
    texts: list[bytes | None] = []  # stages 1-2 of each segment, None where they changed nothing
    cuts: list[tuple[int, int]] = []
    counts: Counter[bytes] = Counter()
    previous: list[bytes] = []
    numbered = banked = timed = False
    raw_bank, coded_lines, clock = LineBank(RAW_LINE), LineBank(CODED_LINE), Clock()
    for start, end in _line_segments(data, segment):
        text = HIGH.sub(b"\xff\\1", data[start:end]) if escape else data[start:end]
        changed = False
        if bank:
            text, changed = raw_bank.encode(text)
            banked |= changed
        if temporal:
            before = clock.copy()
            coded, used = clock.encode(text)
            try:
                same = not used or before.decode(coded, len(text)) == text
            except LineError:
                same = False
            if not same:
                raise _Retry((bank, coded_bank, False))
            text, timed, changed = coded, timed or used, changed or used
        text, previous, numbers = _encode_numbers(text, previous)
        numbered |= numbers
        changed |= numbers
        if coded_bank:
            text, used = coded_lines.encode(text)
            banked |= used
            changed |= used
        for piece in _word_segments(text, segment):
            counts.update(WORD.findall(piece))
        texts.append(text if escape or changed else None)
        cuts.append((start, end))
    least = MIN_SHARE * len(data)
    if 0 < raw_bank.replaced < least or 0 < coded_lines.replaced < least or 0 < clock.replaced < least:
        raise _Retry(
            (
                bank and raw_bank.replaced >= least,
                coded_bank and coded_lines.replaced >= least,
                temporal and clock.replaced >= least,
            )
        )
    version = VERSION_2 if banked or timed else VERSION
    flags = (FLAG_ESCAPES if escape else 0) | (FLAG_NUMBERS if numbered else 0)
    flags |= (FLAG_BANK if banked else 0) | (FLAG_TEMPORAL if timed else 0)
    book = build_codebook(counts, short, min_count)
    del counts
    if stream_book is None:
        if version == VERSION_2:  # fewer lead bytes: F9-FB are markers
            book = Codebook(book.words, min(book.short, CODE_END_2 - CODE_BASE))
            book = Codebook(book.words[: _capacity(book.short, version)], book.short)
        written = book
    else:
        if len(stream_book.words) > _capacity(stream_book.short, version) or stream_book.short > _leads(version):
            if version == VERSION:
                raise ValueError(f"a codebook of {len(stream_book.words)} words does not fit the glyph code")
            raise _Retry((False, False, False))  # the book needs version 1's code space
        flags |= FLAG_BOOK
        known = set(stream_book.words)
        extra = [w for w in book.words if w not in known] if extend else []
        room = _capacity(stream_book.short, version) - len(stream_book.words)
        written = Codebook(tuple(extra[:room]), stream_book.short)
        book = Codebook(stream_book.words + written.words, stream_book.short)
    glyphs = _word_glyphs(book)
    body = [bytes([version, flags, book.short]) + encode_varint(len(written.words)), written.serialize()]
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


def _leads(version: int) -> int:
    """How many reference lead bytes glyph code *version* has."""
    return (CODE_END_2 if version == VERSION_2 else CODE_END) - CODE_BASE


def _capacity(short: int, version: int) -> int:
    """How many words a codebook with *short* one-byte codes can hold in glyph code *version*."""
    return short + (_leads(version) - short) * 256


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
    if flags & ~known or short > _leads(version):
        raise SemanticDecodeError("glyph code header has unknown flags or codebook shape")
    base: tuple[bytes, ...] = ()
    if flags & FLAG_BOOK:
        if book is None:
            raise SemanticDecodeError("glyph code refers to the stream's codebook, and none was given")
        if short != book.short:
            raise SemanticDecodeError(f"glyph code has {short} one-byte codes, the codebook {book.short}")
        base = book.words
    count, pos = read_varint(code, 3, 3, _header_error)
    if len(base) + count > _capacity(short, version):
        raise SemanticDecodeError(f"codebook of {len(base)} + {count} words does not fit its code space")
    words = []
    for _ in range(count):
        end = code.find(b"\n", pos)
        if end < 0:
            raise SemanticDecodeError("glyph code ends inside its codebook")
        words.append(code[pos:end])
        pos = end + 1
    table = Codebook(base + tuple(words), short)
    return (version, flags, table, pos) if versions else (flags, table, pos)


def _header_error(exc: SigmaFormatError | None) -> SemanticDecodeError:
    if exc is None:
        return SemanticDecodeError("glyph code ends inside its header")
    return SemanticDecodeError(f"glyph code has a bad codebook size: {exc}")


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
