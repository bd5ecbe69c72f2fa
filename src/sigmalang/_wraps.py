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

import numpy as np

from ._wire import encode_varint

__all__ = ["WRAPS_VERSION", "WrapsError", "decode", "encode", "parse"]

WRAPS_VERSION = 1
FLAG_CRLF = 0x01  # the line ends taken out are CR LF (else LF)
FLAG_KEEP_SPACE = 0x02  # the line ends followed a space, which stays (else the line end becomes one)
MAX_WIDTH = 1 << 16  # W is 1 ... MAX_WIDTH
# The encoder's choice (decoders do not depend on these): a chunk is written this way only with
# at least MIN_BREAKS line ends taken out, and where at most one line in MISS_SHARE needs a
# number other than 0 per line end taken out (docs/cm.md, "Hard-wrapped text").
MIN_BREAKS = 64
MISS_SHARE = 2
# ... and where the text left has at least MIN_WORDS places a line end could stand for each one
# taken out (a line of about that many words or more): lines of one or two tokens, tables without
# spaces, are not prose, whatever their lengths.
MIN_WORDS = 4
# ... and where at least one line in LETTER_SHARE that a line end is taken out before begins with
# a letter (ASCII, or any byte of a UTF-8 sequence): a log's lines begin with a time or a level.
LETTER_SHARE = 2
BLOCK = 1 << 16  # candidates whose table rows a decoder works out at once
_OTHER = np.ones(256, dtype=bool)  # bytes that are none of space, CR and LF
_OTHER[[0x20, 0x0D, 0x0A]] = False
_LETTER = np.zeros(256, dtype=bool)
_LETTER[ord("A") : ord("Z") + 1] = _LETTER[ord("a") : ord("z") + 1] = _LETTER[0x80:] = True


class WrapsError(Exception):
    """A wrap code could not be decoded (damaged data); the caller adds the location."""


def encode(data: bytes, like: tuple[int, int] | None = None) -> bytes | None:
    """The wrap code of *data*, or None where the chunk has too few wrapped lines, or lines too
    irregular, for the code to be worth it (the chunk is then coded as it is). With *like* (the
    flags and width of another code), the code of *data* written the same way, whatever its lines:
    a sample of a chunk is judged as the chunk would be written.

    Every step is a whole-array operation: the line ends taken out are all of one kind (after a
    space, or between two other bytes), so the lines of the text left start at known places, and
    each line's number follows from where it starts and where it ends."""
    judged = like is None
    if judged and data.count(b"\n") < MIN_BREAKS:
        return None
    a = np.frombuffer(data, dtype=np.uint8)
    crlf = 2 * data.count(b"\r\n") > data.count(b"\n") if like is None else bool(like[0] & FLAG_CRLF)
    eol = 2 if crlf else 1
    feeds = np.flatnonzero(a == 0x0A)
    feeds = feeds[(feeds >= eol) & (feeds + 1 < len(a))]  # with a byte before the line end, and one after it
    if crlf:
        feeds = feeds[a[feeds - 1] == 0x0D]
    first = feeds - (eol - 1)  # each line end's first byte
    after = _other(a[feeds + 1])
    keep_at = first[after & (a[first - 1] == 0x20)]
    replace_at = first[after & _other(a[first - 1])]
    keep_space = len(keep_at) > len(replace_at) if like is None else bool(like[0] & FLAG_KEEP_SPACE)
    starts = keep_at if keep_space else replace_at
    if judged and len(starts) < MIN_BREAKS:
        return None
    if judged and LETTER_SHARE * np.count_nonzero(_LETTER[a[starts + eol]]) < len(starts):
        return None
    text, breaks = _unwrap(a, starts, eol, keep_space)
    cands = _candidates(text, keep_space)
    if judged and len(cands) < MIN_WORDS * len(breaks):
        return None
    line_feeds = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 0x0A)
    lines = _Lines(len(text), breaks, cands, line_feeds, keep_space)
    width = lines.width() if like is None else like[1]
    numbers = lines.numbers(width)
    if judged and MISS_SHARE * int(np.count_nonzero(numbers)) > len(breaks):
        return None
    flags = (FLAG_CRLF if crlf else 0) | (FLAG_KEEP_SPACE if keep_space else 0)
    head = bytes([WRAPS_VERSION, flags]) + encode_varint(width) + encode_varint(len(text))
    return head + text + _spelt(numbers)


def decode(code: bytes, size: int) -> bytes:
    """Exactly *size* bytes from a wrap code, or :class:`WrapsError`: the lines read one after
    another, each taking the option its number says (FORMAT.md §7.7). What a line may start
    after (0, a candidate or a line feed) decides its options and greedy option, so those are
    worked out for every such place at once first; the loop then only reads the numbers."""
    flags, width, text, at = parse(code, size)
    keep_space = bool(flags & FLAG_KEEP_SPACE)
    eol = b"\r\n" if flags & FLAG_CRLF else b"\n"
    grows = len(eol) - (0 if keep_space else 1)  # what each line end put back adds
    room = size - len(text)
    if (grows == 0 and room != 0) or (grows and room % grows):
        raise WrapsError(f"{len(text)} bytes of text cannot make {size} bytes")
    most = room // grows if grows else len(text)  # line ends the size leaves room for
    breaks = _breaks(code, at, size, most, _Places(text, width, keep_space))  # the tables go before the join
    if grows and len(breaks) != most:
        raise WrapsError(f"{len(breaks)} line ends do not make {size} bytes")
    return _join(text, breaks, eol, keep_space)


def _breaks(code: bytes, at: int, size: int, most: int, places: _Places) -> list[int]:
    """The break positions the line numbers from *at* on choose, at most *most* of them."""
    cands, cand_hi, cand_greedy, cand_feed = places.cands, places.hi, places.greedy, places.feed
    after_feed, n_feeds, end = places.after_feed, places.feeds, len(code)
    breaks: list[int] = []
    # A line is known by where it starts: after candidate j (j >= 0), or after line feed f (as
    # -2 - f; -1: the text's start). Its row: first option, its end's option number, greedy option,
    # the line feed that ends it (n_feeds: the text's end).
    here = -1
    while True:
        if here >= 0:
            lo, hi, greedy, feed = here + 1, cand_hi[here], cand_greedy[here], cand_feed[here]
        else:
            lo, hi, greedy, feed = after_feed[-1 - here]
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
        if feed >= n_feeds:
            break
        here = -2 - feed
    if at != end:
        raise WrapsError(f"{end - at} bytes after the last line number")
    return breaks


def parse(code: bytes, size: int) -> tuple[int, int, bytes, int]:
    """The wrap code's flags, width, text and where its line numbers start; checked against *size*."""
    if len(code) < 4:
        raise WrapsError("wrap code too short")
    if code[0] != WRAPS_VERSION:
        raise WrapsError(f"unsupported wrap code version {code[0]}")
    flags = code[1]
    if flags & ~(FLAG_CRLF | FLAG_KEEP_SPACE):
        raise WrapsError(f"unknown wrap code flags 0x{flags:02x}")
    width, at = _varint(code, 2)
    if not 1 <= width <= MAX_WIDTH:
        raise WrapsError(f"width {width} outside 1..{MAX_WIDTH}")
    n, at = _varint(code, at)
    if n > size or n > len(code) - at:
        raise WrapsError(f"text of {n} bytes does not fit")
    return flags, width, code[at : at + n], at + n


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
    """Every place in *text* a line end may have been taken out of, in order: with *keep_space*,
    each other byte that follows a space; else each space between two other bytes."""
    if len(text) < 3:
        return np.zeros(0, dtype=np.int64)
    a = np.frombuffer(text, dtype=np.uint8)
    other = _other(a)
    if keep_space:
        other[1:] &= a[:-1] == 0x20  # other, after a space
        found: np.ndarray = np.flatnonzero(other[1:])
    else:
        space = a[1:-1] == 0x20
        space &= other[:-2]
        space &= other[2:]
        found = np.flatnonzero(space)
    found += 1
    return found


def _greedy(
    starts: np.ndarray, lo: np.ndarray, hi: np.ndarray, ends: np.ndarray, cands: np.ndarray, width: int
) -> np.ndarray:
    """The greedy option of lines from *starts* (as a candidate's index; *hi*, the line's end):
    the last option at most *width* bytes from the start, or the first if none is."""
    fit = np.searchsorted(cands, starts + width, side="right") - 1
    found: np.ndarray = np.where(ends - starts <= width, hi, np.maximum(fit, lo))
    return found


class _Places:
    """For each place a line can start in a wrap code's text (the text's start, after each line
    feed, after each candidate): its options (candidates lo to hi - 1, then hi for its end), its
    greedy option at the code's width and which line feed ends it. The rows after candidates are
    three arrays of 4-byte numbers (lo is the candidate's own index plus one), 16 bytes a
    candidate with the candidates themselves."""

    def __init__(self, text: bytes, width: int, keep_space: bool):
        n = len(text)
        a = np.frombuffer(text, dtype=np.uint8)
        cands = _candidates(text, keep_space).astype(np.int32)
        feeds = np.flatnonzero(a == 0x0A)
        ends = np.append(feeds, n)
        hi_of_feed = np.searchsorted(cands, ends, side="left")  # the options end at the line feed
        starts = np.append(0, feeds + 1)  # the text's start, then after each line feed
        feed = np.searchsorted(feeds, starts)
        lo = np.searchsorted(cands, starts, side="right")
        greedy = _greedy(starts, lo, hi_of_feed[feed], ends[feed], cands, width)
        self.after_feed = list(zip(lo.tolist(), hi_of_feed[feed].tolist(), greedy.tolist(), feed.tolist(), strict=True))
        self.cands, self.hi, self.greedy, self.feed = array("i"), array("i"), array("i"), array("i")
        for first in range(0, len(cands), BLOCK):  # a block at a time: the temporaries stay small
            starts = cands[first : first + BLOCK] + (0 if keep_space else 1)  # the next candidate is the first option
            feed = np.searchsorted(feeds, starts)
            lo = np.arange(first + 1, first + len(starts) + 1)
            greedy = _greedy(starts, lo, hi_of_feed[feed], ends[feed], cands, width)
            self.cands.frombytes(cands[first : first + BLOCK].tobytes())
            self.hi.frombytes(hi_of_feed[feed].astype(np.int32).tobytes())
            self.greedy.frombytes(greedy.astype(np.int32).tobytes())
            self.feed.frombytes(feed.astype(np.int32).tobytes())
        self.feeds = len(feeds)


class _Lines:
    """The lines of a text whose breaks the encoder knows: where each starts and ends, its
    options, and which one it takes (FORMAT.md §7.7, computed for all lines at once)."""

    def __init__(self, n: int, breaks: np.ndarray, cands: np.ndarray, feeds: np.ndarray, keep_space: bool):
        step = 0 if keep_space else 1
        after_break = breaks + step
        after_feed = feeds + 1
        starts = np.concatenate(([0], after_break, after_feed))
        by_break = np.concatenate(([False], np.ones(len(breaks), dtype=bool), np.zeros(len(feeds), dtype=bool)))
        order = np.argsort(starts, kind="stable")
        self.starts = starts[order]
        # where the line ends: its break (the next line starts after one) or its line feed
        next_by_break = np.append(by_break[order][1:], False)
        next_start = np.append(self.starts[1:], n + 1)
        self.ends = np.append(feeds, n)[np.searchsorted(feeds, self.starts)]
        self.lo = np.searchsorted(cands, self.starts, side="right")
        self.hi = np.searchsorted(cands, self.ends, side="left")
        taken = np.searchsorted(cands, next_start - step, side="left") - self.lo
        self.chosen = np.where(next_by_break, taken, self.hi - self.lo)
        self.cands = cands
        self.n = n

    def greedy(self, width: int) -> np.ndarray:
        """Each line's greedy option at *width*, counted from its first option."""
        found: np.ndarray = _greedy(self.starts, self.lo, self.hi, self.ends, self.cands, width) - self.lo
        return found

    def width(self) -> int:
        """The width at which the greedy option is the one taken on the most lines that end at a
        break: for a line from *s* whose break is at *p*, the widths from p - s up to, not with, the
        distance from *s* to its next option."""
        broken = self.chosen < self.hi - self.lo
        lo, chosen, starts = self.lo[broken], self.chosen[broken], self.starts[broken]
        at = self.cands[lo + chosen]
        following = lo + chosen + 1
        reach = np.where(
            following < self.hi[broken], self.cands[np.minimum(following, len(self.cands) - 1)], self.ends[broken]
        )
        length = np.clip(at - starts, 1, MAX_WIDTH + 1)
        beyond = np.clip(reach - starts, 1, MAX_WIDTH + 1)
        hits = np.cumsum(np.bincount(length, minlength=MAX_WIDTH + 2) - np.bincount(beyond, minlength=MAX_WIDTH + 2))
        return int(np.argmax(hits[1 : MAX_WIDTH + 1])) + 1

    def numbers(self, width: int) -> np.ndarray:
        """Each line's number (greedy option minus the one taken), for the lines with a choice."""
        choice = self.hi > self.lo
        return (self.greedy(width) - self.chosen)[choice]


def _spelt(numbers: np.ndarray) -> bytes:
    """The numbers zigzagged, as LEB128 varints."""
    zig = np.where(numbers >= 0, 2 * numbers, -2 * numbers - 1)
    if not len(zig) or int(zig.max()) < 0x80:
        return zig.astype(np.uint8).tobytes()
    return b"".join(encode_varint(int(z)) for z in zig)


def _join(text: bytes, breaks: list[int], eol: bytes, keep_space: bool) -> bytes:
    """*text* with a line end put back at each break."""
    pieces: list[bytes] = []
    last = 0
    skip = 0 if keep_space else 1
    for at in breaks:
        pieces += (text[last:at], eol)
        last = at + skip
    pieces.append(text[last:])
    return b"".join(pieces)
