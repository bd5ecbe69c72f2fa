"""Per-frame search filters, kept in the index (docs/FORMAT.md §18): a Bloom filter of the words
and byte trigrams of the lines each frame begins, and the frame's line count.

Version 2 (written today) adds one **shared** filter per stream: the items every one of the first
frames holds (a log's fixed vocabulary). A frame's own filter leaves those out, so its bits go to
the items that tell frames apart; a search treats an item the shared filter may hold as present
in every frame. Version 1 streams (no shared filter) are read as before.

Pure functions on bytes. A writer feeds every chunk in order to a :class:`FilterBuilder` and asks
it for the index extension at the end; a reader decodes the extension with :func:`decode_filters`
(a damaged filter becomes ``None``: its frame is always a candidate) and tests a frame with
:meth:`FrameFilter.may_contain`. Items are ASCII-lowercased, so one filter serves searches with
and without ``-i``.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from crc32c import crc32c

from ._filter_items import KIND_TRIGRAM, KIND_WORD, _Items, _set_bits, fnv1a64
from ._wire import MAX_VARINT_BYTES, encode_varint, read_varint

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FILTER_VERSION",
    "FilterBuilder",
    "FrameFilter",
    "Probe",
    "decode_filters",
    "literal_items",
]

FILTER_VERSION = 2  # written; 1 (no shared filter) is read too
SHARED_FRAMES = 8  # the shared items are those every one of the first 8 filtered frames holds
KINDS = KIND_WORD | KIND_TRIGRAM  # the kinds byte of the extension: which items the filters hold
FLAG_ENDS_LINE = 0x01  # the frame's last byte is a line feed
FLAG_NO_FILTER = 0x02  # no bit array: the frame is a candidate for every search
BITS_PER_ITEM = 10  # about 1% false positives with 7 hashes
MAX_HASHES = 16
MAX_LINE_TAIL = 1 << 20  # a line longer than this that crosses a frame end leaves its frame unfiltered
BUDGET_SHARE = 64  # a filter's bit array is at most 1/64 of its frame record (at least MIN_BYTES) ...
SMALL_SHARE, SMALL_OVERHEAD = 50, 24  # ... and at most 1/50 of it less 24 bytes of fields (small frames)
MIN_BYTES = 16
BLOOM_BLOCK = 1 << 16  # hashes whose bit positions are computed at once

_WORD = re.compile(rb"[a-z0-9_]+")
_LF = 0x0A


def _positions(hashes: np.ndarray, j: int, m: int) -> np.ndarray:
    """Bit positions ``(h1 + j·h2) mod m`` of each 64-bit hash (h1 low, h2 high half | 1)."""
    import numpy as np  # not at import: worker processes need no numpy

    h1 = hashes & np.uint64(0xFFFFFFFF)
    h2 = (hashes >> np.uint64(32)) | np.uint64(1)
    return (h1 + np.uint64(j) * h2) % np.uint64(m)


def _cap(record_size: int) -> int:
    """The most bytes a frame's bit array may take: 1/64 of its record, and 1/50 of it less the
    bytes of a filter's fields (which count where a record is small), but at least 16."""
    return max(MIN_BYTES, min(record_size // BUDGET_SHARE, record_size // SMALL_SHARE - SMALL_OVERHEAD))


def _wanted(n: int) -> int:
    """The bytes of a bit array for *n* items at ~1% false positives."""
    return math.ceil(n * BITS_PER_ITEM / 8)


def _bloom(hashes: np.ndarray, cap: int) -> tuple[int, bytes]:
    """The hash count and bit array for the item *hashes*, ~1% false positives within *cap* bytes.
    The bits are set a block of hashes and one hash function at a time, to bound the memory."""
    import numpy as np  # not at import: worker processes need no numpy

    n = len(hashes)
    if n == 0 or cap <= 0:
        return 0, b""
    size = min(_wanted(n), cap)
    m = size * 8
    k = max(1, min(MAX_HASHES, round(m / n * math.log(2))))
    bits = np.zeros(size, dtype=np.uint8)
    for start in range(0, n, BLOOM_BLOCK):
        block = hashes[start : start + BLOOM_BLOCK]
        for j in range(k):
            _set_bits(bits, _positions(block, j, m))
    return k, bits.tobytes()


@dataclass(frozen=True, slots=True)
class FrameFilter:
    """One frame's filter: its line feeds, whether it ends with one, and its Bloom filter.

    *bits* ``None``: the frame has no filter and is a candidate for every search. *shared*: the
    stream's shared filter (version 2), whose items the frame's own filter leaves out.
    """

    lines: int
    ends_line: bool
    hashes: int = 0
    bits: bytes | None = b""
    shared: FrameFilter | None = None

    def encode(self) -> bytes:
        flags = (FLAG_ENDS_LINE if self.ends_line else 0) | (FLAG_NO_FILTER if self.bits is None else 0)
        body = encode_varint(self.lines) + bytes([flags, self.hashes]) + (self.bits or b"")
        return body + struct.pack("<I", crc32c(body))

    @classmethod
    def decode(cls, record: bytes) -> FrameFilter | None:
        """The filter in *record*, or ``None`` when it is damaged."""
        if len(record) < 7 or crc32c(record[:-4]) != struct.unpack("<I", record[-4:])[0]:
            return None
        body = record[:-4]
        try:
            lines, pos = read_varint(body, 0, MAX_VARINT_BYTES, lambda _: ValueError())
        except ValueError:
            return None
        if pos + 2 > len(body):
            return None
        flags, hashes, bits = body[pos], body[pos + 1], body[pos + 2 :]
        if flags & ~(FLAG_ENDS_LINE | FLAG_NO_FILTER) or hashes > MAX_HASHES or (hashes == 0) != (not bits):
            return None
        if flags & FLAG_NO_FILTER:
            return cls(lines, bool(flags & FLAG_ENDS_LINE), 0, None) if not bits else None
        return cls(lines, bool(flags & FLAG_ENDS_LINE), hashes, bytes(bits))

    def may_contain(self, probe: Probe) -> bool:
        """False only if no line this frame begins can contain every item of *probe*."""
        if self.bits is None:
            return True
        shared = self.shared
        return all((shared is not None and shared.holds(h)) or self.holds(h) for h in probe.hashes)

    def holds(self, h: int) -> bool:
        """Whether the bit array may hold the item of hash *h* (all its *k* bits set)."""
        bits = self.bits
        if not bits:
            return bits is None
        m = len(bits) * 8
        h1, h2 = h & 0xFFFFFFFF, (h >> 32) | 1
        for j in range(self.hashes):
            p = (h1 + j * h2) % m
            if not bits[p >> 3] >> (p & 7) & 1:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Probe:
    """The hashed items a literal fragment implies (empty: the fragment tells nothing)."""

    hashes: tuple[int, ...]
    fragment: bytes = b""


def literal_items(fragment: bytes) -> Probe:
    """The items every line containing *fragment* holds: its trigrams without a line feed or a
    digit, and the words inside it (word characters with a non-word byte on both sides within
    *fragment*) that are not all digits."""
    lowered = fragment.lower()
    hashes = {fnv1a64(b"\x02" + tri) for i in range(len(lowered) - 2) if _usable(tri := lowered[i : i + 3])}
    for match in _WORD.finditer(lowered):
        if match.start() > 0 and match.end() < len(lowered) and not match.group().isdigit():
            hashes.add(fnv1a64(b"\x01" + match.group()))
    return Probe(tuple(sorted(hashes)), fragment)


def _usable(trigram: bytes) -> bool:
    return not any(byte == _LF or 0x30 <= byte <= 0x39 for byte in trigram)


@dataclass(slots=True)
class _Pending:
    number: int
    items: _Items
    lines: int
    ends_line: bool
    record_size: int


class FilterBuilder:
    """The filters of one stream's frames: :meth:`add` each chunk in order, then :meth:`encode`.

    A frame's filter holds the items of its chunk and of the rest of the last line it begins,
    which may end in a later frame (so it is finished when that line feed arrives).
    """

    def __init__(self, version: int = FILTER_VERSION) -> None:
        if version not in (1, 2):
            raise ValueError(f"filter version must be 1 or 2, not {version}")
        self.version = version
        self._done: list[FrameFilter | None] = []
        self._held: list[tuple[_Pending, np.ndarray]] = []  # the first frames, until the shared set is chosen
        self._shared: np.ndarray | None = None  # the shared items' hashes, once chosen (version 2)
        self._shared_filter = FrameFilter(0, False)
        self._pending: _Pending | None = None
        self._tail = 0  # the bytes of the open line the pending frame begins, so far
        self._ends_line = True  # the last chunk ended with a line feed (or none came yet)
        self._unsized: _Pending | None = None  # the frame fed last, until its record size comes
        self._sorted: np.ndarray | None = None  # its items, where it is finished once that size comes

    def add(self, chunk: bytes | memoryview, record_size: int) -> None:
        """The next frame: its chunk and the size of its record."""
        self.feed(chunk)
        self.size(record_size)

    def feed(self, chunk: bytes | memoryview) -> None:
        """The next frame's chunk, before its record is made: the items are gathered (the costly
        part, which can run while the frame is coded) and :meth:`size` gives the record's size
        after. Every frame before it must have its size."""
        if self._unsized is not None:
            raise ValueError("the frame before this one has no record size yet")
        chunk = bytes(chunk)
        number = len(self._done)
        self._done.append(None)
        first = chunk.find(b"\n")
        if self._pending is not None:
            rest = chunk if first < 0 else memoryview(chunk)[: first + 1]
            self._tail += len(rest)
            if first >= 0:
                self._pending.items.feed(rest)
                self._finish_pending()
            elif self._tail > MAX_LINE_TAIL:
                pending = self._pending
                self._done[pending.number] = FrameFilter(pending.lines, pending.ends_line, 0, None)
                self._pending = None
            else:
                self._pending.items.feed(rest)
        ends_line = chunk.endswith(b"\n")
        items = _Items()
        items.feed(chunk)
        entry = _Pending(number, items, chunk.count(b"\n"), ends_line, -1)
        self._unsized = entry
        begins_line = first >= 0 or self._ends_line
        self._ends_line = ends_line
        if ends_line or not begins_line:
            self._sorted = items.sorted()  # finished once its size is known
        else:
            # The frame's filter holds its chunk's items, the last word as cut there included,
            # and those of the whole line it ends in: the next chunks continue the same items.
            items.end_word()
            self._pending = entry
            self._tail = len(chunk) - chunk.rfind(b"\n") - 1

    def size(self, record_size: int) -> None:
        """The size of the record of the frame :meth:`feed` was last given."""
        entry = self._unsized
        if entry is None:
            raise ValueError("no frame is waiting for its record size")
        entry.record_size = record_size
        self._unsized = None
        if self._sorted is not None:
            hashes, self._sorted = self._sorted, None
            self._finish(entry, hashes)

    def _finish_pending(self) -> None:
        assert self._pending is not None
        self._finish(self._pending)
        self._pending = None

    def _finish(self, entry: _Pending, hashes: np.ndarray | None = None) -> None:
        if hashes is None:
            hashes = entry.items.sorted()
        if self.version == 1:
            self._build(entry, hashes, _cap(entry.record_size))
        elif self._shared is None:
            self._held.append((entry, hashes))
            if len(self._held) == SHARED_FRAMES:
                self._choose_shared()
        else:
            self._build(entry, self._own(hashes), _cap(entry.record_size))

    def _own(self, hashes: np.ndarray) -> np.ndarray:
        import numpy as np  # not at import: worker processes need no numpy

        assert self._shared is not None
        return np.setdiff1d(hashes, self._shared, assume_unique=True)

    def _build(self, entry: _Pending, hashes: np.ndarray, cap: int) -> None:
        k, bits = _bloom(hashes, cap)
        self._done[entry.number] = FrameFilter(entry.lines, entry.ends_line, k, bits)

    def _choose_shared(self) -> None:
        """The shared items: those every held frame holds (none when fewer than two frames are
        held). The held frames' own filters get at most half their budget, and the shared filter
        what they leave of it, so the filters together stay within 1/64 of the records."""
        import numpy as np  # not at import: worker processes need no numpy

        held, self._held = self._held, []
        shared = np.zeros(0, dtype=np.uint64)
        if len(held) >= 2:
            shared = held[0][1]
            for _, hashes in held[1:]:
                shared = np.intersect1d(shared, hashes, assume_unique=True)
        self._shared = shared
        own = [self._own(hashes) for _, hashes in held]
        caps = [_cap(entry.record_size) // (2 if len(shared) else 1) for entry, _ in held]
        spent = sum(min(_wanted(len(o)), cap) if len(o) else 0 for o, cap in zip(own, caps, strict=True))
        k, bits = _bloom(shared, sum(_cap(entry.record_size) for entry, _ in held) - spent)
        self._shared_filter = FrameFilter(0, False, k, bits)
        for (entry, _), hashes, cap in zip(held, own, caps, strict=True):
            self._build(entry, hashes, cap)

    def encode(self) -> bytes:
        """The index extension (§18) holding every frame's filter; call after the last chunk."""
        if self._unsized is not None:
            raise ValueError("the last frame has no record size")
        if self._pending is not None:
            self._finish_pending()
        if self.version == 2 and self._shared is None:
            self._choose_shared()
        records = [f.encode() for f in self._done if f is not None]
        if self.version == 1 or not self._shared_filter.bits:
            return encode_extension(records)  # no shared items: version 1 says the same in fewer bytes
        return encode_extension(records, self._shared_filter.encode())


def encode_extension(records: Iterable[bytes], shared: bytes | None = None) -> bytes:
    """The extension: its header (version, kinds, count, record sizes, the shared record's size
    in version 2, CRC32C), then the shared record (version 2) and the frames' records. Version 1
    without *shared*, version 2 with it."""
    records = list(records)
    head = bytearray([1 if shared is None else 2, KINDS])
    head += encode_varint(len(records))
    for record in records:
        head += encode_varint(len(record))
    if shared is not None:
        head += encode_varint(len(shared))
    return bytes(head) + struct.pack("<I", crc32c(head)) + (shared or b"") + b"".join(records)


def decode_filters(extension: bytes, frames: int) -> list[FrameFilter | None] | None:
    """Each frame's filter from an index extension (``None`` for a damaged one); ``None`` when the
    extension is absent, of an unknown version or kind, or its header is damaged."""
    if not extension:
        return None
    try:
        return _decode_filters(extension, frames)
    except ValueError:
        return None


def _decode_filters(extension: bytes, frames: int) -> list[FrameFilter | None] | None:
    def fail(_: object) -> ValueError:
        return ValueError()

    if len(extension) < 2 or extension[0] not in (1, 2) or extension[1] != KINDS:
        return None
    version = extension[0]
    count, pos = read_varint(extension, 2, MAX_VARINT_BYTES, fail)
    if count != frames or count > len(extension):
        return None
    sizes = []
    for _ in range(count):
        size, pos = read_varint(extension, pos, MAX_VARINT_BYTES, fail)
        sizes.append(size)
    shared_size = 0
    if version == 2:
        shared_size, pos = read_varint(extension, pos, MAX_VARINT_BYTES, fail)
    if pos + 4 > len(extension) or crc32c(extension[:pos]) != struct.unpack("<I", extension[pos : pos + 4])[0]:
        return None
    pos += 4
    if pos + shared_size + sum(sizes) != len(extension):
        return None
    shared = None
    if version == 2:
        shared = FrameFilter.decode(extension[pos : pos + shared_size])
        if shared is None or shared.lines or shared.ends_line or shared.bits is None:
            return None  # the frames' filters leave out items only the shared one knows
        pos += shared_size
    out: list[FrameFilter | None] = []
    for size in sizes:
        f = FrameFilter.decode(extension[pos : pos + size])
        out.append(f if f is None or shared is None else replace(f, shared=shared))
        pos += size
    return out
