"""The glyph code taken apart glyph by glyph, with the decoder's own rules (for ``sigmalang inspect``).

:func:`glyphs` reads the header and codebook with :func:`~sigmalang.semantic.transform.read_header`
and splits the body with the decoder's :func:`~sigmalang.semantic.transform.reference_pattern`,
so a glyph is found exactly where the decoder would read one; number deltas are followed through
the lines as the decoder's number stage follows them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .codebook import CODE_BASE, CODE_END, Codebook
from .lines import TEMPORAL
from .transform import (
    CAPITAL,
    CODE_END_2,
    CODED_LINE,
    ESCAPE,
    FLAG_BANK,
    FLAG_ESCAPES,
    FLAG_NUMBERS,
    FLAG_TEMPORAL,
    RAW_LINE,
    UPPER,
    VERSION_2,
    SemanticDecodeError,
    decode,
    read_header,
    reference_pattern,
)

__all__ = ["Token", "glyphs"]

Token = tuple[str, bytes, int]  # (kind, the glyph's bytes, a value that depends on the kind)


def glyphs(
    code: bytes, size: int | None = None, stream_book: Codebook | None = None
) -> tuple[Codebook, int, Iterator[Token]]:
    """The codebook, where the body starts, and the body's glyphs as ``(kind, bytes, value)``.

    *value* is the codebook rank of a reference, the width of the number a delta becomes, the
    length of the line a Σ-bank reference and of the timestamp a TEMPORAL glyph stand for.
    Literal bytes come as runs of kind ``"literal"`` (between the other glyphs) or ``"digits"``.
    *size*, the frame's original size, bounds that decoding. *stream_book* is the stream's
    codebook, for codes that reference it.
    """
    try:
        version, flags, book, pos = read_header(code, versions=True, book=stream_book)
    except SemanticDecodeError as exc:
        raise ValueError(str(exc)) from None
    end_lead = CODE_END_2 if version == VERSION_2 else CODE_END
    pattern = re.compile(reference_pattern(book.short, end_lead) + rb"|(\xfc[0-9]+)|([0-9]+)|([^\x80-\xff0-9]+)")
    lines: list[int] = []
    timestamps: list[int] = []
    if flags & (FLAG_BANK | FLAG_TEMPORAL):  # what these stand for is known only by decoding
        try:
            decoded = decode(code, size, timestamps=timestamps, book=stream_book)
            lines = [len(line) for line in decoded.split(b"\n")]
        except SemanticDecodeError as exc:
            raise ValueError(str(exc)) from None
    return book, pos, _scan(code, pos, book, flags, pattern, lines, iter(timestamps))


def _scan(
    code: bytes,
    pos: int,
    book: Codebook,
    flags: int,
    pattern: re.Pattern[bytes],
    lines: list[int],
    timestamps: Iterator[int],
) -> Iterator[tuple[str, bytes, int]]:
    previous: list[int] = []  # widths of the numbers of the last line with numbers
    current: list[int] = []
    coded: list[list[int]] = []  # widths of the numbers of each line so far (for FA references)
    line = 0  # the line the scan is in
    end = len(code)
    while pos < end:
        match = pattern.match(code, pos)
        if match is None:
            raise ValueError(f"stray marker byte 0x{code[pos]:02x} at glyph-code offset {pos}")
        token, group = match.group(), match.lastindex
        pos = match.end()
        if group == 1 and token[0] == ESCAPE:
            if not flags & FLAG_ESCAPES:
                raise ValueError("escape in a glyph code without escapes")
            yield "escape", token, 0
        elif group == 1 and token[0] in (RAW_LINE, CODED_LINE):
            if token[0] == CODED_LINE:  # the number stage sees the numbers of the line it stands for
                back = token[1] - 0x7F
                current = list(coded[-back]) if back <= len(coded) else []
            yield ("line" if token[0] == RAW_LINE else "line-coded"), token, lines[line]
        elif group == 1 and token[0] == TEMPORAL:
            yield "temporal", token, next(timestamps)
        elif group == 1:
            case = token[0] in (CAPITAL, UPPER)
            ref = token[1:] if case else token
            rank = ref[0] - CODE_BASE
            if len(ref) == 2:
                rank = book.short + (rank - book.short) * 256 + ref[1]
            if rank >= len(book.words):
                raise ValueError(f"reference to rank {rank}, past the codebook's {len(book.words)} words")
            kind = ("capitalized" if token[0] == CAPITAL else "upper") if case else f"reference-{len(ref)}"
            yield kind, token, rank
        elif group == 2:  # the decoder's stage 2: the i-th number of the previous line with numbers
            if not flags & FLAG_NUMBERS or len(current) >= len(previous):
                raise ValueError("number delta without a number to add it to")
            current.append(previous[len(current)])
            yield "delta", token, current[-1]
        elif group == 3:
            current.append(len(token))
            yield "digits", token, len(token)
        else:
            if b"\n" in token:
                coded.append(current)
                coded.extend([] for _ in range(token.count(b"\n") - 1))
                del coded[:-128]
                line += token.count(b"\n")
                if current:
                    previous, current = current, []
            yield "literal", token, 0
