"""Long-range references for shared-context streams (docs/FORMAT.md §7, transforms 2 and 3).

A frame with a long-range transform says which spans of its chunk repeat bytes seen earlier: in
the original content of the frames since the last reset point (at most :data:`LONG_WINDOW` bytes
of it) or earlier in the chunk itself. Its data is a **match list** followed by what the inner
transform (0 or 1) makes of the **rest**: the chunk with those spans cut out.

The match list is ``varint(n) | n × (varint(gap) | varint(distance) | varint(length))``, n ≥ 1:
each span starts *gap* bytes after the end of the previous one (after the chunk start for the
first), is *length* bytes long, and copies the bytes that lie *distance* bytes before it in the
**source**: the last LONG_WINDOW bytes of the original content since the reset point, followed
by the chunk as decoded so far. 1 ≤ length ≤ distance (the copied bytes lie wholly before the span).

The writer's side (:class:`Matcher`) indexes anchors, the line starts of everything it has seen,
by a CRC32 of their first :data:`KEY` bytes, and looks up every line start of a new chunk; a hit
is checked and extended both ways with slice comparisons (C speed, no per-byte Python loop).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ._wire import encode_varint, read_varint

__all__ = [
    "KEY",
    "LONG_WINDOW",
    "MIN_MATCH",
    "LongRangeError",
    "Matcher",
    "check_list",
    "cut",
    "encode_list",
    "iter_matches",
    "parse_list",
    "splice",
]

LONG_WINDOW = 16 << 20  # how far back a reference may reach; a decoder keeps this much original content
MIN_MATCH = 256  # the writer's shortest span (measured: docs/semantic.md, "Long-range references")
KEY = 32  # bytes hashed at an anchor
ANCHOR_GAP = 64  # an anchor is a line start at least this far after the previous anchor
TABLE_BITS = 19  # the anchor table has 2**TABLE_BITS slots of 8 bytes

Match = tuple[int, int, int]  # (position in the chunk, distance, length)


class LongRangeError(ValueError):
    """A match list that does not fit its chunk or its source."""


def encode_list(matches: list[Match]) -> bytes:
    out = bytearray(encode_varint(len(matches)))
    end = 0
    for pos, distance, length in matches:
        out += encode_varint(pos - end) + encode_varint(distance) + encode_varint(length)
        end = pos + length
    return bytes(out)


def _varint(payload: bytes, pos: int) -> tuple[int, int]:
    return read_varint(payload, pos, 10, lambda _: LongRangeError("match list truncated or not a valid varint"))


def check_list(payload: bytes, size: int, available: int) -> tuple[int, int]:
    """Check every rule of the match list at the start of *payload*, for a chunk of *size* bytes
    whose source has *available* bytes before it; return the bytes the matches cover and where
    the list ends. Nothing is kept per match: a list of many short matches costs no memory
    beyond its own bytes (docs/FORMAT.md §12)."""
    count, pos = _varint(payload, 0)
    if not 0 < count <= size:
        raise LongRangeError(f"match list of {count} entries for a {size}-byte chunk")
    end = covered = 0
    for _ in range(count):
        gap, pos = _varint(payload, pos)
        distance, pos = _varint(payload, pos)
        length, pos = _varint(payload, pos)
        start = end + gap
        if length < 1:
            raise LongRangeError(f"empty match at {start}")
        if start + length > size:
            raise LongRangeError(f"match of {length} bytes at {start} runs past the {size}-byte chunk")
        if distance < length:
            raise LongRangeError(f"match at {start} overlaps its source (distance {distance}, length {length})")
        if distance > available + start:
            raise LongRangeError(f"match at {start} reaches {distance} bytes back, {available + start} available")
        end = start + length
        covered += length
    return covered, pos


def iter_matches(payload: bytes) -> Iterator[Match]:
    """The matches of a list that :func:`check_list` accepted, one at a time."""
    count, pos = _varint(payload, 0)
    end = 0
    for _ in range(count):
        gap, pos = _varint(payload, pos)
        distance, pos = _varint(payload, pos)
        length, pos = _varint(payload, pos)
        yield end + gap, distance, length
        end += gap + length


def parse_list(payload: bytes, size: int, available: int) -> tuple[list[Match], int]:
    """The matches of a chunk (see :func:`check_list`) as a list, and where the list ends."""
    _, end = check_list(payload, size, available)
    return list(iter_matches(payload)), end


def cut(data: bytes, matches: list[Match]) -> bytes:
    """The rest of *data*: the bytes no match covers, in order."""
    pieces, end = [], 0
    for pos, _, length in matches:
        pieces.append(data[end:pos])
        end = pos + length
    pieces.append(data[end:])
    return b"".join(pieces)


def splice(rest: bytes, matches: Iterable[Match], source: bytes | bytearray, size: int) -> bytes:
    """The chunk again, from its rest and its (checked) matches; *source* is what precedes it."""
    out = bytearray()
    taken = 0
    base = len(source)
    for pos, distance, length in matches:
        gap = pos - len(out)
        if taken + gap > len(rest):
            break
        out += rest[taken : taken + gap]
        taken += gap
        start = base + pos - distance  # in source + out
        if start + length <= base:
            out += source[start : start + length]
        elif start >= base:
            out += out[start - base : start - base + length]
        else:
            out += source[start:] + out[: start + length - base]
    out += rest[taken:]
    if len(out) != size:
        raise LongRangeError(f"rest of {len(rest)} bytes does not fit the matches of a {size}-byte chunk")
    return bytes(out)


def _agree(buf: bytearray, q: int, t: int, limit: int, backward: bool = False) -> int:
    """How many bytes from *q* and *t* on (with *backward*: just before them) are equal, at most
    *limit*: block compares of doubling size, then halving once they differ."""
    n, step = 0, KEY
    while n < limit:
        k = min(step, limit - n)
        if backward:
            same = buf[q - n - k : q - n] == buf[t - n - k : t - n]
        else:
            same = buf[q + n : q + n + k] == buf[t + n : t + n + k]
        if same:
            n += k
            step <<= 1
        elif k > 1:
            step = k >> 1
        else:
            break
    return n


@dataclass(slots=True)
class Matcher:
    """The writer's index of what it has seen since the last reset point, and its original bytes.

    *source* holds the last *window* original bytes; *end* counts every original byte taken in.
    *anchors* is a direct-mapped table: slot ``crc32(key) % 2**bits`` holds the count of the last
    anchor whose key fell there (no key is kept: a hit is checked against the bytes anyway).
    Entries that fell out of the window or lie before a reset are recognised as stale by their
    count, so the table is never cleared, and its size is fixed: 8 × 2**bits bytes.
    """

    window: int = LONG_WINDOW
    min_match: int = MIN_MATCH
    source: bytearray = field(default_factory=bytearray)
    end: int = 0
    bits: int = TABLE_BITS
    anchors: array[int] = field(default_factory=lambda: array("q"))
    gap: int = ANCHOR_GAP

    def __post_init__(self) -> None:
        if not 0 < self.window <= LONG_WINDOW:
            raise ValueError(f"long-range window must be 1 .. {LONG_WINDOW} bytes, got {self.window}")

    def reset(self) -> None:
        """Forget everything (a reset point): every anchor is now stale."""
        self.source.clear()

    def find(self, data: bytes) -> list[Match]:
        """Spans of *data* that repeat earlier bytes; indexes *data*'s anchors as it goes."""
        source = self.source
        hist = len(source)
        first = self.end - hist  # the count of source[0]
        source += data
        if not self.anchors:  # allocated on first use: a decoder's context never needs it
            self.anchors = array("q", [-1]) * (1 << self.bits)
        anchors, mask = self.anchors, (1 << self.bits) - 1
        matches: list[Match] = []
        covered = 0  # the end of the last match, in data
        size = len(data)
        last = size - KEY
        p = 0
        next_anchor = 0  # line starts before this are looked up, not indexed
        crc32, find, base, gap = zlib.crc32, data.find, self.end, self.gap
        try:
            while p <= last:
                slot = crc32(data[p : p + KEY]) & mask
                q_count = anchors[slot]
                if p >= next_anchor:
                    anchors[slot] = base + p
                    next_anchor = p + gap
                if q_count >= first and p >= covered:
                    q, t = q_count - first, hist + p
                    n = _agree(source, q, t, min(hist + size - t, t - q))
                    if n >= KEY:
                        b = _agree(source, q, t, min(q, p - covered, t - q - n), backward=True)
                        if n + b >= self.min_match:
                            matches.append((p - b, t - q, n + b))
                            covered = p + n
                p = find(b"\n", p) + 1
                if not p:
                    break
        finally:
            del source[hist:]
        return matches

    def advance(self, data: bytes | bytearray, continues: bool) -> None:
        """Take in a frame's original bytes (after a frame that does not continue: start again)."""
        if not continues:
            self.source.clear()
        self.source += data
        self.end += len(data)
        if len(self.source) > self.window:
            del self.source[: len(self.source) - self.window]
