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
between chunks. See ``docs/FORMAT.md`` §7.4 for the byte layout of the whole payload.

Both sides work on ~32 KiB segments (whole lines when encoding, glyph-aligned pieces of the body
when decoding), so their working memory is a few times the chunk, not ~50 bytes per input byte
as when the whole chunk is split into word lists; the code does not depend on the segment size.

This module is the encoder; the format's constants and header reader are in :mod:`._code`, the
decoder in :mod:`._decode` (both importable from here).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from .._wire import encode_varint
from ._code import (
    CAPITAL,
    CODE_END_2,
    CODED_LINE,
    ESCAPE,
    FLAG_BANK,
    FLAG_BOOK,
    FLAG_ESCAPES,
    FLAG_NUMBERS,
    FLAG_TEMPORAL,
    FLAGS_2,
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
    capacity,
    leads,
    read_header,
    reference_pattern,
)
from ._decode import decode
from .codebook import CODE_BASE, Codebook, build_codebook
from .lines import Clock, LineBank, LineError

# The format's constants, the header reader and the decoder are imported from here too.
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
    "MAX_DIGITS",
    "NUMBER",
    "PROBE",
    "RAW_LINE",
    "SEGMENT",
    "UPPER",
    "VERSION",
    "VERSION_2",
    "SemanticDecodeError",
    "decode",
    "encode",
    "read_header",
    "reference_pattern",
    "worth_trying",
]

MIN_SHARE = 0.01  # a line stage that replaces less of the chunk is left out (it measured slightly worse)
MAX_DELTA = 1000  # larger differences stay literal: they model worse than the digits themselves

HIGH_BYTES = bytes(range(0x80, 0x100))
WORD = re.compile(rb"([A-Za-z]+)")
DIGITS = re.compile(rb"([0-9]+)")
HIGH = re.compile(rb"([\x80-\xff])")


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
            book = Codebook(book.words[: capacity(book.short, version)], book.short)
        written = book
    else:
        if len(stream_book.words) > capacity(stream_book.short, version) or stream_book.short > leads(version):
            if version == VERSION:
                raise ValueError(f"a codebook of {len(stream_book.words)} words does not fit the glyph code")
            raise _Retry((False, False, False))  # the book needs version 1's code space
        flags |= FLAG_BOOK
        known = set(stream_book.words)
        extra = [w for w in book.words if w not in known] if extend else []
        room = capacity(stream_book.short, version) - len(stream_book.words)
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
