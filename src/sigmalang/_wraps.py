"""Transform 5, wrapped lines: text whose paragraphs are cut into lines of about one width (books,
licences, mail, plain-text documentation) coded as the paragraphs' running text, and the places
of the line ends apart.

A line end inside a paragraph stands where a word would have had a space before it. Left in the
text, it splits the contexts a model predicts from: the words on either side of it are seen with
a line end between them instead of the space they have everywhere else. The wrap code holds the
text with those line ends taken out (or made spaces), then one small number for each line of it:
how far the line end is from where filling lines greedily up to the frame's width *W* would put
it (0 almost always). The decoder fills the lines again and puts the line ends back. Any bytes
round-trip: which line ends are taken out is the encoder's choice, and the decoder only follows
the numbers. The byte layout is docs/FORMAT.md §7.7; docs/cm.md, "Hard-wrapped text", has the
design and the measurements.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np

from ._wire import encode_varint

__all__ = ["WRAPS_VERSION", "WrapsError", "decode", "encode", "parse"]

WRAPS_VERSION = 2  # written; version 1 (one segment) is still read
FLAG_CRLF = 0x01  # the line ends taken out are CR LF (else LF)
FLAG_KEEP_SPACE = 0x02  # the line ends followed a space, which stays (else the line end becomes one)
MAX_WIDTH = 1 << 16  # W is 1 ... MAX_WIDTH
MAX_INDENT_READ = 255  # a segment's indent is 0 ... MAX_INDENT_READ
MAX_INDENT = 16  # the widest indent the encoder looks for
# The encoder's choice (decoders do not depend on these; docs/cm.md, "Hard-wrapped text"): the
# chunk is cut into sections of about SECTION bytes, and a section's line ends are taken out only
# where at least MIN_SECTION_BREAKS can be, and where the lines that need a number other than 0,
# times MISS_SHARE, are at most the line ends taken out; a chunk gets a wrap code only with at
# least MIN_BREAKS line ends taken out in all.
MIN_BREAKS = 64
MISS_SHARE = 1
SECTION = 16 << 10
MIN_SECTION_BREAKS = 16
EARLY = 2  # a line that ends this many options before its greedy one or more keeps its line end
MIN_SEGMENT = 4096  # every segment but the last has this much text or more (decoders check it)
# ... and where the text left has at least MIN_WORDS places a line end could stand for each one
# taken out (a line of about that many words or more): lines of one or two tokens, tables without
# spaces, are not prose, whatever their lengths.
MIN_WORDS = 4
# ... and where at least one line in LETTER_SHARE that a line end is taken out before begins with
# a letter (ASCII, or any byte of a UTF-8 sequence): a log's lines begin with a time or a level.
LETTER_SHARE = 2
BLOCK = 1 << 16  # places whose rows a decoder works out at once
SCAN = 1 << 20  # bytes of text searched for candidates and line feeds at once
_OTHER = np.ones(256, dtype=bool)  # bytes that are none of space, CR and LF
_OTHER[[0x20, 0x0D, 0x0A]] = False
_BLANK = np.zeros(256, dtype=bool)  # bytes before a tab that indents: line ends, spaces and tabs
_BLANK[[0x0A, 0x0D, 0x20, 0x09]] = True
_MARK = np.zeros(256, dtype=bool)  # bytes that begin a list item, a quotation or a rule, not a continued line
_MARK[list(b"*+#>|.=")] = True
_LETTER = np.zeros(256, dtype=bool)
_LETTER[ord("A") : ord("Z") + 1] = _LETTER[ord("a") : ord("z") + 1] = _LETTER[0x80:] = True


class WrapsError(Exception):
    """A wrap code could not be decoded (damaged data); the caller adds the location."""


def encode(data: bytes) -> bytes | None:
    """The wrap code of *data*, or None where no part of it has enough wrapped lines, regular
    enough, for the code to be worth it (the chunk is then coded as it is).

    The chunk is cut into sections of about SECTION bytes, each after a blank line: each section is
    written with its own kind of line end, width and indent, or left as it is, so books and
    documents of several shapes in one chunk each fit. Sections written the same way in a row make
    one segment."""
    if data.count(b"\n") < MIN_BREAKS:
        return None
    a = np.frombuffer(data, dtype=np.uint8)
    heads: list[tuple[int, int, int]] = []  # each segment's (flags, width, indent): width 0 for text left as it is
    texts: list[list[bytes]] = []
    numbers: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
    taken = 0
    last: tuple[int, int, int] | None = None  # the last wrapped section's (flags, width, indent)
    for lo, hi in _sections(a):
        found = _section(a[lo:hi], last)
        if found is None:
            head, text = (0, 0, 0), data[lo:hi]
        else:
            head, text, section_numbers, breaks = found
            numbers.append(section_numbers)
            taken += breaks
            last = head
        if heads and heads[-1] == head:
            texts[-1].append(text)
        else:
            heads.append(head)
            texts.append([text])
    if taken < MIN_BREAKS:
        return None
    if not heads:  # no bytes: one empty segment
        heads, texts = [(0, 0, 0)], [[b""]]
    table = bytearray([WRAPS_VERSION]) + encode_varint(len(heads))
    for (flags, width, indent), parts in zip(heads, texts, strict=True):
        table += bytes([flags]) + encode_varint(width) + encode_varint(indent)
        table += encode_varint(sum(len(part) for part in parts))
    return bytes(table) + b"".join(part for parts in texts for part in parts) + _spelt(np.concatenate(numbers))


def _sections(a: np.ndarray) -> list[tuple[int, int]]:
    """Where the encoder's sections begin and end: each from where the last ended to the first
    line feed at least SECTION bytes on that is followed by a CR or a line feed, which no line end
    taken out can be (or the end; a last section shorter than half that is part of the one before
    it)."""
    cuts = np.flatnonzero((a[:-1] == 0x0A) & ((a[1:] == 0x0A) | (a[1:] == 0x0D))) + 1
    found = []
    at = 0
    while at < len(a):
        k = int(np.searchsorted(cuts, at + SECTION))
        to = int(cuts[k]) if k < len(cuts) else len(a)
        found.append((at, to))
        at = to
    if len(found) > 1 and found[-1][1] - found[-1][0] < SECTION // 2:  # a short tail joins the section before it
        found[-2:] = [(found[-2][0], found[-1][1])]
    return found


def _tabbed_lines(a: np.ndarray, feeds: np.ndarray) -> int:
    """How many lines of *a* (line feeds at *feeds*) hold a tab after a byte of text: the fields of
    a table (TSV), not the indent of a paragraph. A section where they are more than half of its
    lines is not prose."""
    tabs = np.flatnonzero(a == 0x09)
    tabs = tabs[tabs > 0]
    tabs = tabs[~_BLANK[a[tabs - 1]]]
    return len(np.unique(np.searchsorted(feeds, tabs)))


def _section(
    a: np.ndarray, like: tuple[int, int, int] | None
) -> tuple[tuple[int, int, int], bytes, np.ndarray, int] | None:
    """A section's (flags, width, indent), text and numbers, and how many line ends it takes out;
    None where its lines are too few or too irregular. Its width is *like*'s, the last section's,
    where that has the same flags and indent and needs no more numbers other than 0: sections then
    make one segment.

    The line ends taken out are all of one kind and indent: after a space or between two other
    bytes, followed by the same number of spaces (the indent of an indented paragraph, gone with
    its line end), and not before a list or quote mark. Every step is a whole-array operation: the
    lines of the text left start at known places, and each line's number follows from where it
    starts and where it ends."""
    n = len(a)
    feeds = np.flatnonzero(a == 0x0A)
    if len(feeds) < MIN_SECTION_BREAKS or 2 * _tabbed_lines(a, feeds) > len(feeds) + 1:
        return None
    crlf = 2 * int(np.count_nonzero(a[feeds[feeds > 0] - 1] == 0x0D)) > len(feeds)
    eol = 2 if crlf else 1
    feeds = feeds[(feeds >= eol) & (feeds + 1 < n)]  # with a byte before the line end, and one after it
    if crlf:
        feeds = feeds[a[feeds - 1] == 0x0D]
    first = feeds - (eol - 1)  # each line end's first byte
    indents = np.zeros(len(feeds), dtype=np.int64)  # the spaces after each line feed, up to MAX_INDENT
    going = np.ones(len(feeds), dtype=bool)
    for k in range(1, MAX_INDENT + 1):
        going &= a[np.minimum(feeds + k, n - 1)] == 0x20
        going &= feeds + k < n - 1
        if not going.any():
            break
        indents += going
    head = feeds + 1 + indents  # each next line's first byte after its indent
    head_byte = a[np.minimum(head, n - 1)]
    after = (head < n) & _OTHER[head_byte] & ~_MARK[head_byte]
    after &= ~((head_byte == 0x2D) & (a[np.minimum(head + 1, n - 1)] == 0x20))  # "- " begins a list item
    kinds = [after & (a[first - 1] == 0x20), after & _other(a[first - 1])]  # keep, replace
    counts = [np.bincount(indents[kind], minlength=MAX_INDENT + 1) for kind in kinds]
    # The most frequent shape, and the most frequent without an indent where that is another one:
    # the one that takes out more line ends (those of lines that end early kept) is written.
    shapes = [_most(counts, MAX_INDENT + 1), _most(counts, 1)]
    found = None
    for keep_space, indent in shapes[: 1 if shapes[0] == shapes[1] else 2]:
        starts = first[kinds[0 if keep_space else 1] & (indents == indent)]
        shaped = _shaped(a, starts, eol, crlf, keep_space, indent, like)
        if shaped is not None and (found is None or shaped[3] > found[3]):
            found = shaped
    return found


def _most(counts: list[np.ndarray], indents: int) -> tuple[bool, int]:
    """(keep, indent) of the kind and indent below *indents* with the most line ends: after a
    space (keep) only where more than between two other bytes."""
    keep_space = int(counts[0][:indents].max()) > int(counts[1][:indents].max())
    return keep_space, int(np.argmax(counts[0 if keep_space else 1][:indents]))


def _shaped(
    a: np.ndarray,
    starts: np.ndarray,
    eol: int,
    crlf: bool,
    keep_space: bool,
    indent: int,
    like: tuple[int, int, int] | None,
) -> tuple[tuple[int, int, int], bytes, np.ndarray, int] | None:
    """A section written with the line ends at *starts* taken out: what :func:`_section` returns;
    None where the rules fail."""
    cut = eol + indent  # the bytes of each line end with its indent
    if len(starts) < MIN_SECTION_BREAKS or LETTER_SHARE * np.count_nonzero(_LETTER[a[starts + cut]]) < len(starts):
        return None
    text, lines = _lines_of(a, starts, cut, keep_space, indent)
    if len(lines.cands) < MIN_WORDS * len(starts):
        return None
    flags = (FLAG_CRLF if crlf else 0) | (FLAG_KEEP_SPACE if keep_space else 0)
    width = lines.width()
    theirs = like[1] if like is not None and (like[0], like[2]) == (flags, indent) else width
    if theirs != width and np.count_nonzero(lines.numbers(theirs)) <= np.count_nonzero(lines.numbers(width)):
        width = theirs
    # A line that ends well before its greedy option (a short line, the last of a list item) keeps
    # its line end: it then ends where greedy filling ends it, and the lines after it are unchanged.
    # (One option short is left a number: books often have such lines by the thousand, and their
    # line ends cost more in the text than their numbers do.)
    early = lines.early(width)
    if early.any():
        starts = starts[~early]
        text, lines = _lines_of(a, starts, cut, keep_space, indent)
    numbers = lines.numbers(width)
    misses = int(np.count_nonzero(numbers))
    if len(starts) < MIN_SECTION_BREAKS or MISS_SHARE * misses > len(starts):
        return None
    return (flags, width, indent), text, numbers, len(starts)


def _lines_of(a: np.ndarray, starts: np.ndarray, cut: int, keep_space: bool, indent: int) -> tuple[bytes, _Lines]:
    """The text of *a* with the line ends (*cut* bytes each, with their indent) at *starts* taken
    out, and its lines."""
    text, breaks = _unwrap(a, starts, cut, keep_space)
    cands = _candidates(text, keep_space)
    lengths = _lengths(text, cands, keep_space, True)
    return text, _Lines(len(text), breaks, cands, _line_feeds(text), keep_space, lengths, indent)


def decode(code: bytes, size: int) -> bytes:
    """Exactly *size* bytes from a wrap code, or :class:`WrapsError`: each segment's lines read one
    after another, each taking the option its number says (FORMAT.md §7.7). What a line may start
    after (0, a candidate or a line feed) decides its options and greedy option, so those are
    worked out for every such place at once first; the loop then only reads the numbers."""
    segments, text, at = parse(code, size)
    room = size - len(text)  # what the line ends put back add, in all
    out = bytearray()
    taken = start = 0
    for flags, width, indent, length in segments:
        piece = text[start : start + length]
        start += length
        if not width:
            out += piece
            continue
        keep_space = bool(flags & FLAG_KEEP_SPACE)
        eol = (b"\r\n" if flags & FLAG_CRLF else b"\n") + b" " * indent
        grows = len(eol) - (0 if keep_space else 1)  # what each line end put back adds
        if code[0] == 1 and ((grows == 0 and room != 0) or (grows and room % grows)):
            raise WrapsError(f"{len(text)} bytes of text cannot make {size} bytes")
        most = room // grows if grows else length  # line ends the size leaves room for
        places = _Places(piece, width, keep_space, code[0] > 1, indent)
        breaks, at = _breaks(code, at, size, most, places)  # the tables go before the join
        room -= grows * len(breaks)
        taken += len(breaks)
        out += _join(piece, breaks, eol, keep_space)
    if at != len(code):
        raise WrapsError(f"{len(code) - at} bytes after the last line number")
    if room:
        raise WrapsError(f"{taken} line ends do not make {size} bytes")
    return bytes(out)


def _breaks(code: bytes, at: int, size: int, most: int, places: _Places) -> tuple[array[int], int]:
    """The break positions the line numbers from *at* on choose, at most *most* of them, and where
    the numbers after them start."""
    cands, end = places.cands, len(code)
    breaks = array("i")
    # A line is known by where it starts: after candidate j (here = j >= 0), or at the text's
    # start or after a line feed (here = -1 - row; row 0 the start, row f + 1 after line feed f).
    # Its row: its first option lo, its end's option number hi, its greedy option, and the row of
    # the line after it where it ends at its line feed (0: it ends the text). Rows come a block at
    # a time, in order. A line with no choice (hi = lo) reads no number; after a line feed, a run
    # of such lines is passed over at once (each leads to the next row).
    c_first = c_count = f_first = f_count = 0
    c_hi = c_greedy = c_after = f_lo = f_hi = f_greedy = array("i")
    f_choices: list[int] = []
    here = -1
    while True:
        if here >= 0:
            k = here - c_first
            if not 0 <= k < c_count:
                c_first, (c_hi, c_greedy, c_after) = here, places.after_candidates(here)
                c_count, k = len(c_hi), 0
            lo, hi, greedy, after = here + 1, c_hi[k], c_greedy[k], c_after[k]
        else:
            k = -1 - here - f_first
            if not 0 <= k < f_count:
                f_first = -1 - here
                f_lo, f_hi, f_greedy, f_choices = places.after_feeds(f_first)
                f_count, k = len(f_lo), 0
            lo, hi = f_lo[k], f_hi[k]
            if hi == lo:  # no choice: on to the next row that has one, or past this block
                j = bisect_left(f_choices, k)
                if j < len(f_choices):
                    here = -1 - (f_first + f_choices[j])
                elif f_first + f_count > places.rows - 1:
                    break  # the last row ends the text
                else:
                    here = -1 - (f_first + f_count)
                continue
            greedy, after = f_greedy[k], -1  # its line feed, if it ends there: the next row
        if hi > lo:
            if at >= end:
                raise WrapsError("the line numbers end early")
            number = code[at]
            if number < 0x80:
                at += 1
            else:  # rare: the rest of a LEB128 varint
                number, at = _varint(code, at)
            chosen = greedy - ((number >> 1) ^ -(number & 1))
            if not lo <= chosen <= hi:
                raise WrapsError(f"a line number at offset {at} points outside its line")
            if chosen < hi:
                if len(breaks) >= most:
                    raise WrapsError(f"more line ends than {size} bytes can hold")
                breaks.append(cands[chosen])
                here = chosen
                continue
        if after < 0:  # a row after a line feed that ends at its own line feed: the next row
            after = -here
            if after >= places.rows:
                break
        elif not after:
            break
        here = -1 - after
    return breaks, at


def parse(code: bytes, size: int) -> tuple[list[tuple[int, int, int, int]], bytes, int]:
    """The wrap code's segments (flags, width, indent, length of text: width 0 for text left as it
    is), its text and where its line numbers start; checked against *size*. Version 1 is one
    segment."""
    if len(code) < 4:
        raise WrapsError("wrap code too short")
    if code[0] == 1:
        _flags(code[1])
        width, at = _varint(code, 2)
        if not 1 <= width <= MAX_WIDTH:
            raise WrapsError(f"width {width} outside 1..{MAX_WIDTH}")
        n, at = _varint(code, at)
        segments = [(code[1], width, 0, n)]
    elif code[0] == WRAPS_VERSION:
        count, at = _varint(code, 1)
        if not 1 <= count <= size // MIN_SEGMENT + 1:
            raise WrapsError(f"{count} segments for {size} bytes")
        segments, n = [], 0
        for k in range(count):
            if at >= len(code):
                raise WrapsError("wrap code ends inside its segments")
            flags = _flags(code[at])
            width, at = _varint(code, at + 1)
            indent, at = _varint(code, at)
            if width > MAX_WIDTH or indent > MAX_INDENT_READ or (not width and (flags or indent)):
                raise WrapsError(f"segment {k}: width {width} with flags 0x{flags:02x} and indent {indent}")
            length, at = _varint(code, at)
            if length < MIN_SEGMENT and k < count - 1:
                raise WrapsError(f"segment {k}: {length} bytes of text, fewer than {MIN_SEGMENT}")
            segments.append((flags, width, indent, length))
            n += length
    else:
        raise WrapsError(f"unsupported wrap code version {code[0]}")
    if n > size or n > len(code) - at:
        raise WrapsError(f"text of {n} bytes does not fit")
    return segments, code[at : at + n], at + n


def _flags(flags: int) -> int:
    if flags & ~(FLAG_CRLF | FLAG_KEEP_SPACE):
        raise WrapsError(f"unknown wrap code flags 0x{flags:02x}")
    return flags


def _varint(code: bytes, at: int) -> tuple[int, int]:
    """A LEB128 varint of at most 5 bytes at *at*: (value, where the next field starts)."""
    value = 0
    for k in range(5):
        if at + k >= len(code):
            raise WrapsError("wrap code ends inside a number")
        byte = code[at + k]
        value |= (byte & 0x7F) << (7 * k)
        if byte < 0x80:
            if byte == 0 and k:
                raise WrapsError(f"non-canonical number at offset {at}")
            return value, at + k + 1
    raise WrapsError(f"number longer than 5 bytes at offset {at}")


def _other(values: np.ndarray) -> np.ndarray:
    """Which of *values* (bytes) are **other**: none of space, CR and LF."""
    found: np.ndarray = _OTHER[values]
    return found


def _unwrap(a: np.ndarray, starts: np.ndarray, eol: int, keep_space: bool) -> tuple[bytes, np.ndarray]:
    """The bytes *a* with the line ends that begin at *starts* (each *eol* bytes long) taken out,
    or made one space each; and the **break** positions in the text left: where the next line
    begins (keep_space), or the space that took the line end's place."""
    keep = np.ones(len(a), dtype=bool)
    cut = eol if keep_space else eol - 1  # bytes each line end loses
    for k in range(cut):
        keep[starts + (eol - cut) + k] = False
    out = a[keep] if cut else a.copy()
    shift = np.arange(len(starts), dtype=np.int64) * cut
    breaks = starts - shift
    if not keep_space:
        out[breaks] = 0x20
    return out.tobytes(), breaks


def _candidates(text: bytes, keep_space: bool) -> np.ndarray:
    """Every place in *text* a line end may have been taken out of, in order (int32): with
    *keep_space*, each other byte that follows a space; else each space between two other bytes.
    Found SCAN bytes at a time, so no temporary is larger than a few times that."""
    a = np.frombuffer(text, dtype=np.uint8)
    n = len(a)
    found = [np.zeros(0, dtype=np.int32)]
    for i in range(1, n, SCAN):
        if keep_space:
            j = min(i + SCAN, n)
            mask = (a[i - 1 : j - 1] == 0x20) & _OTHER[a[i:j]]
        else:
            j = min(i + SCAN, n - 1)
            if j <= i:
                break
            mask = (a[i:j] == 0x20) & _OTHER[a[i - 1 : j - 1]] & _OTHER[a[i + 1 : j + 1]]
        found.append((np.flatnonzero(mask) + i).astype(np.int32))
    return np.concatenate(found)


def _lengths(text: bytes, cands: np.ndarray, keep_space: bool, trimmed: bool) -> np.ndarray:
    """Where each candidate's line is measured to (int32): the candidate itself, or with
    *keep_space* and *trimmed* (wrap code version 2) the place after the last byte before it that
    is not a space, so that a line that ends with two spaces after a full stop is as long as its
    words. Worked out SCAN bytes at a time."""
    if not (keep_space and trimmed):
        return cands
    a = np.frombuffer(text, dtype=np.uint8)
    found = np.empty(len(cands), dtype=np.int32)
    last = -1  # the last byte that is not a space, before this block
    for i in range(0, len(a), SCAN):
        block = a[i : i + SCAN]
        seen = np.maximum.accumulate(np.where(block != 0x20, np.arange(i, i + len(block), dtype=np.int32), last))
        lo, hi = np.searchsorted(cands, [i + 1, i + len(block) + 1])
        found[lo:hi] = seen[cands[lo:hi] - 1 - i] + 1
        last = int(seen[-1])
    return found


def _line_feeds(text: bytes) -> np.ndarray:
    """The positions of the line feeds in *text* (int32), found SCAN bytes at a time."""
    a = np.frombuffer(text, dtype=np.uint8)
    found = np.empty(text.count(b"\n"), dtype=np.int32)
    filled = 0
    for i in range(0, len(a), SCAN):
        here = np.flatnonzero(a[i : i + SCAN] == 0x0A)
        found[filled : filled + len(here)] = here + i
        filled += len(here)
    return found


def _greedy(
    starts: np.ndarray, lo: np.ndarray, hi: np.ndarray, ends: np.ndarray, lengths: np.ndarray, width: int | np.ndarray
) -> np.ndarray:
    """The greedy option of lines from *starts* (as a candidate's index; *hi*, the line's end):
    the last option at most *width* (one, or one per line) bytes from the start, or the first if
    none is."""
    fit = _search(lengths, starts + width, "right") - 1
    found: np.ndarray = np.where(ends - starts <= width, hi, np.maximum(fit, lo))
    return found


class _Places:
    """For each place a line can start in a wrap code's text (the text's start, after each line
    feed, after each candidate): its options (candidates lo to hi - 1, then hi for its end), its
    greedy option at the code's width, and where the line after it starts if it ends at its line
    feed. Worked out BLOCK places at a time, as the decoder reaches them: what it holds is the
    candidates and the line feeds' positions (4 bytes each) and one block of rows of each kind."""

    def __init__(self, text: bytes, width: int, keep_space: bool, trimmed: bool, indent: int):
        self.n = len(text)
        self.cands = _candidates(text, keep_space)
        self.lengths = _lengths(text, self.cands, keep_space, trimmed)
        self.feeds = _line_feeds(text)
        self.rows = len(self.feeds) + 1  # rows of lines after a line feed, and the text's start
        self.width = width
        self.indent = indent  # a line after a line end put back is this much longer than its text
        self.step = 0 if keep_space else 1

    def _options(self, starts: np.ndarray, lo: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For lines from *starts* whose first options are *lo*: their end's option number, their
        greedy option at *width* and the line feed that ends them (len(feeds) where none does)."""
        feed = _search(self.feeds, starts)
        ends = np.where(feed < len(self.feeds), self.feeds.take(feed, mode="clip") if len(self.feeds) else 0, self.n)
        hi = _search(self.cands, ends)
        return hi, _greedy(starts, lo, hi, ends, self.lengths, width), feed

    def after_candidates(self, first: int) -> tuple[array[int], array[int], array[int]]:
        """hi, greedy and the next row (0: none) of the lines after candidates *first*, *first* +
        1, ...: a block (the next candidate is each line's first option)."""
        starts = self.cands[first : first + BLOCK].astype(np.int64) + self.step
        lo = np.arange(first + 1, first + len(starts) + 1)
        hi, greedy, feed = self._options(starts, lo, self.width - self.indent)
        after = np.where(feed < len(self.feeds), feed + 1, 0)
        return _int32s(hi), _int32s(greedy), _int32s(after)

    def after_feeds(self, first: int) -> tuple[array[int], array[int], array[int], list[int]]:
        """lo, hi and greedy of rows *first*, *first* + 1, ... (0 the text's start, f + 1 the line
        after line feed f), a block, and which of them (from 0) have a choice (hi > lo)."""
        rows = np.arange(first, min(first + BLOCK, self.rows))
        starts = np.zeros(len(rows), dtype=np.int64)
        starts[rows > 0] = self.feeds[rows[rows > 0] - 1].astype(np.int64) + 1
        lo = _search(self.cands, starts, "right")
        hi, greedy, _ = self._options(starts, lo, self.width)
        return _int32s(lo), _int32s(hi), _int32s(greedy), np.flatnonzero(hi > lo).tolist()


def _search(positions: np.ndarray, values: np.ndarray, side: str = "left") -> np.ndarray:
    """np.searchsorted of *values* in the int32 *positions*, the values cast to int32 first (all
    are below 2^31): searching with wider values would copy all the positions, every call."""
    found: np.ndarray = np.searchsorted(positions, values.astype(np.int32, copy=False), side=side)  # type: ignore[call-overload]
    return found


def _int32s(values: np.ndarray) -> array[int]:
    out = array("i")
    out.frombytes(values.astype(np.int32).tobytes())
    return out


class _Lines:
    """The lines of a text whose breaks the encoder knows: where each starts and ends, its
    options, and which one it takes (FORMAT.md §7.7, computed for all lines at once)."""

    def __init__(
        self,
        n: int,
        breaks: np.ndarray,
        cands: np.ndarray,
        feeds: np.ndarray,
        keep_space: bool,
        lengths: np.ndarray,
        indent: int = 0,
    ):
        step = 0 if keep_space else 1
        after_break = breaks + step
        after_feed = feeds + 1
        starts = np.concatenate(([0], after_break, after_feed))
        by_break = np.concatenate(([False], np.ones(len(breaks), dtype=bool), np.zeros(len(feeds), dtype=bool)))
        order = np.argsort(starts, kind="stable")
        self.starts = starts[order]
        self.shift = np.where(by_break[order], indent, 0)  # a line after a break: its indent more
        # where the line ends: its break (the next line starts after one) or its line feed
        next_by_break = np.append(by_break[order][1:], False)
        next_start = np.append(self.starts[1:], n + 1)
        self.ends = np.append(feeds, n)[_search(feeds, self.starts)]
        self.lo = _search(cands, self.starts, "right")
        self.hi = _search(cands, self.ends)
        taken = _search(cands, next_start - step) - self.lo
        self.chosen = np.where(next_by_break, taken, self.hi - self.lo)
        self.broken = next_by_break  # the lines that end at a break, one per break, in order
        self.cands = cands
        self.lengths = lengths
        self.n = n

    def greedy(self, width: int) -> np.ndarray:
        """Each line's greedy option at *width*, counted from its first option."""
        widths = width - self.shift
        found: np.ndarray = _greedy(self.starts, self.lo, self.hi, self.ends, self.lengths, widths) - self.lo
        return found

    def width(self) -> int:
        """The width at which the greedy option is the one taken on the most lines that end at a
        break: for a line from *s* whose break is at *p*, the widths from p - s up to, not with, the
        distance from *s* to its next option."""
        broken = self.chosen < self.hi - self.lo
        lo, chosen, starts = self.lo[broken], self.chosen[broken], self.starts[broken]
        at = self.lengths[lo + chosen]
        following = lo + chosen + 1
        reach = np.where(
            following < self.hi[broken], self.lengths[np.minimum(following, len(self.cands) - 1)], self.ends[broken]
        )
        shift = self.shift[broken]
        length = np.clip(at - starts + shift, 1, MAX_WIDTH + 1)
        beyond = np.clip(reach - starts + shift, 1, MAX_WIDTH + 1)
        hits = np.cumsum(np.bincount(length, minlength=MAX_WIDTH + 2) - np.bincount(beyond, minlength=MAX_WIDTH + 2))
        return int(np.argmax(hits[1 : MAX_WIDTH + 1])) + 1

    def early(self, width: int) -> np.ndarray:
        """For each break, whether its line takes an option EARLY or more before its greedy one at
        *width*."""
        found: np.ndarray = (self.greedy(width) - self.chosen >= EARLY)[self.broken]
        return found

    def numbers(self, width: int) -> np.ndarray:
        """Each line's number (greedy option minus the one taken), for the lines with a choice."""
        choice = self.hi > self.lo
        found: np.ndarray = (self.greedy(width) - self.chosen)[choice]
        return found


def _spelt(numbers: np.ndarray) -> bytes:
    """The numbers zigzagged, as LEB128 varints."""
    zig = np.where(numbers >= 0, 2 * numbers, -2 * numbers - 1)
    if not len(zig) or int(zig.max()) < 0x80:
        return zig.astype(np.uint8).tobytes()
    return b"".join(encode_varint(int(z)) for z in zig)


def _join(text: bytes, breaks: array[int], eol: bytes, keep_space: bool) -> bytes:
    """*text* with a line end put back at each break (built in place: no object per line)."""
    out = bytearray()
    view = memoryview(text)
    last = 0
    skip = 0 if keep_space else 1
    for at in breaks:
        out += view[last:at]
        out += eol
        last = at + skip
    out += view[last:]
    return bytes(out)
