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

import re
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable

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
_OTHER = rb"[^ \r\n]"  # a byte that is neither a space nor part of a line end


class WrapsError(Exception):
    """A wrap code could not be decoded (damaged data); the caller adds the location."""


def encode(data: bytes) -> bytes | None:
    """The wrap code of *data*, or None where the chunk has too few wrapped lines, or lines too
    irregular, for the code to be worth it (the chunk is then coded as it is)."""
    if data.count(b"\n") < MIN_BREAKS:
        return None
    crlf = 2 * data.count(b"\r\n") > data.count(b"\n")
    eol = b"\r\n" if crlf else b"\n"
    keep = re.compile(b" " + re.escape(eol) + b"(?=" + _OTHER + b")")
    replace = re.compile(b"(?<=" + _OTHER + b")" + re.escape(eol) + b"(?=" + _OTHER + b")")
    kept, replaced = len(keep.findall(data)), len(replace.findall(data))
    if max(kept, replaced) < MIN_BREAKS:
        return None
    keep_space = kept > replaced
    text, breaks = _unwrap(data, keep if keep_space else replace, eol, keep_space)
    cands = _candidates(text, keep_space)
    if len(cands) < MIN_WORDS * len(breaks):
        return None
    width = _width(text, breaks, cands, keep_space)
    numbers, misses = _numbers(text, breaks, cands, width, keep_space)
    if MISS_SHARE * misses > len(breaks):
        return None
    flags = (FLAG_CRLF if crlf else 0) | (FLAG_KEEP_SPACE if keep_space else 0)
    head = bytes([WRAPS_VERSION, flags]) + encode_varint(width) + encode_varint(len(text))
    return head + text + numbers


def decode(code: bytes, size: int) -> bytes:
    """Exactly *size* bytes from a wrap code, or :class:`WrapsError`."""
    flags, width, text, at = parse(code, size)
    keep_space = bool(flags & FLAG_KEEP_SPACE)
    eol = b"\r\n" if flags & FLAG_CRLF else b"\n"
    grows = len(eol) - (0 if keep_space else 1)  # what each line end put back adds
    room = size - len(text)
    if (grows == 0 and room != 0) or (grows and room % grows):
        raise WrapsError(f"{len(text)} bytes of text cannot make {size} bytes")
    most = room // grows if grows else len(text)  # line ends the size leaves room for
    end = len(code)
    taken = 0

    def choose(greedy: int, lo: int, hi: int, line_end: int) -> int:
        nonlocal at, taken
        if at >= end:
            raise WrapsError("the line numbers end early")
        number = code[at]
        if number < 0x80:
            at += 1
        else:  # rare: the rest of a LEB128 varint
            number, at = _varint(code, at)
        chosen = greedy - ((number >> 1) ^ -(number & 1))
        if not 0 <= chosen <= hi - lo:
            raise WrapsError(f"a line number at offset {at} points outside its line")
        if chosen < hi - lo:
            taken += 1
            if taken > most:
                raise WrapsError(f"more line ends than {size} bytes can hold")
        return chosen

    breaks = _walk(text, _candidates(text, keep_space), width, keep_space, choose)
    if at != end:
        raise WrapsError(f"{end - at} bytes after the last line number")
    if grows and len(breaks) != most:
        raise WrapsError(f"{len(breaks)} line ends do not make {size} bytes")
    return _join(text, breaks, eol, keep_space)


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


def _unwrap(data: bytes, pattern: re.Pattern[bytes], eol: bytes, keep_space: bool) -> tuple[bytes, array[int]]:
    """*data* with the line ends *pattern* finds taken out (the space before each kept, or the line
    end made a space), and where each was in the text that is left: the **break** positions, the
    first byte of the next line (keep_space), or the space that took the line end's place."""
    pieces: list[bytes] = []
    breaks = array("i")
    last = 0
    shrink = 0  # bytes taken out so far
    cut = len(eol) if keep_space else len(eol) - 1
    for found in pattern.finditer(data):
        at = found.start()
        if keep_space:
            pieces.append(data[last : at + 1])  # up to and with the space
            breaks.append(at + 1 - shrink)
        else:
            pieces += (data[last:at], b" ")
            breaks.append(at - shrink)
        shrink += cut
        last = found.end()
    pieces.append(data[last:])
    return b"".join(pieces), breaks


def _candidates(text: bytes, keep_space: bool) -> array[int]:
    """Every place in *text* a line end may have been taken out of, in order: with *keep_space*,
    each byte other than a space, CR or LF that follows a space; else each space between two such
    bytes."""
    if len(text) < 3:
        return array("i")
    a = np.frombuffer(text, dtype=np.uint8)
    other = (a != 0x20) & (a != 0x0D) & (a != 0x0A)
    if keep_space:
        found = np.flatnonzero((a[:-1] == 0x20) & other[1:]) + 1
    else:
        found = np.flatnonzero((a[1:-1] == 0x20) & other[:-2] & other[2:]) + 1
    out = array("i")
    out.frombytes(found.astype(np.int32).tobytes())
    return out


Choose = Callable[[int, int, int, int], int]


def _walk(text: bytes, cands: array[int], width: int, keep_space: bool, choose: Choose) -> array[int]:
    """The break positions of *text*, line by line, as *choose* picks them: the rule both
    directions follow (FORMAT.md §7.7).

    A line starts at the text's start, after an LF, or after a break. Its **options** are the
    candidates after its start and before the next LF (or the text's end), then that LF (no
    break: the line ends there). A line with no candidate needs no choice. Otherwise the
    **greedy** option is the last one at most *width* bytes after the line's start (the first
    one if none is), and ``choose(greedy, lo, hi, end)`` returns the option taken, 0 to hi - lo,
    where the candidates are ``cands[lo:hi]`` and *end* is where the line's LF is."""
    n = len(text)
    step = 0 if keep_space else 1  # a replaced space is not part of the next line
    breaks = array("i")
    start = 0
    lo = 0
    while True:
        end = text.find(b"\n", start)
        if end < 0:
            end = n
        lo = bisect_right(cands, start, lo)
        hi = bisect_left(cands, end, lo)
        if hi > lo:
            greedy = hi - lo  # the line's end, where the whole line fits
            if end - start > width:
                greedy = max(bisect_right(cands, start + width, lo, hi) - 1 - lo, 0)
            chosen = choose(greedy, lo, hi, end)
            if chosen < hi - lo:
                at = cands[lo + chosen]
                breaks.append(at)
                start = at + step
                continue
        if end >= n:
            return breaks
        start = end + 1


def _width(text: bytes, breaks: array[int], cands: array[int], keep_space: bool) -> int:
    """The width at which filling lines greedily puts the most of *breaks* where they are: a
    break at *p* in a line from *s* is put there by the widths from p - s up to, not with, the
    distance from *s* to the line's next option after *p*."""
    step = 0 if keep_space else 1
    shortest = np.zeros(MAX_WIDTH + 2, dtype=np.int64)  # + at a line's length, - past its reach
    previous = -1
    for p in breaks:
        line_feed = text.rfind(b"\n", 0, p)
        start = max(line_feed + 1, previous + step if previous >= 0 else 0)
        following = bisect_right(cands, p)
        reach = cands[following] if following < len(cands) else len(text)
        end = text.find(b"\n", p)
        if 0 <= end < reach:
            reach = end
        length, beyond = p - start, reach - start
        if length < beyond:
            shortest[min(max(length, 1), MAX_WIDTH + 1)] += 1
            shortest[min(beyond, MAX_WIDTH + 1)] -= 1
        previous = p
    hits = np.cumsum(shortest)[1 : MAX_WIDTH + 1]
    return int(np.argmax(hits)) + 1


def _numbers(text: bytes, breaks: array[int], cands: array[int], width: int, keep_space: bool) -> tuple[bytes, int]:
    """The wrap code's line numbers for *breaks* (each the greedy option minus the one taken,
    zigzag LEB128), and how many are not 0."""
    out = bytearray()
    misses = 0
    next_break = 0

    def choose(greedy: int, lo: int, hi: int, line_end: int) -> int:
        nonlocal next_break, misses
        chosen = hi - lo
        if next_break < len(breaks) and breaks[next_break] < line_end:
            chosen = bisect_left(cands, breaks[next_break], lo, hi) - lo
            next_break += 1
        k = greedy - chosen
        if k:
            misses += 1
            out.extend(encode_varint(2 * k if k > 0 else -2 * k - 1))
        else:
            out.append(0)
        return chosen

    taken = _walk(text, cands, width, keep_space, choose)
    if taken != breaks:
        raise AssertionError("the wrap code's walk lost a line end")  # pragma: no cover
    return bytes(out), misses


def _join(text: bytes, breaks: array[int], eol: bytes, keep_space: bool) -> bytes:
    """*text* with a line end put back at each break."""
    pieces: list[bytes] = []
    last = 0
    skip = 0 if keep_space else 1
    for at in breaks:
        pieces += (text[last:at], eol)
        last = at + skip
    pieces.append(text[last:])
    return b"".join(pieces)
