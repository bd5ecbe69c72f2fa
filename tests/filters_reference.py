"""The filter builder as first written (docs/FORMAT.md §18): whole chunks at a time, every item in
memory at once. It is the plain reading the product's bounded-memory `sigmalang._filters` is
checked against: same chunks in, same extension bytes out."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sigmalang._filters import (
    BITS_PER_ITEM,
    FILTER_VERSION,
    KIND_TRIGRAM,
    MAX_HASHES,
    MAX_LINE_TAIL,
    SHARED_FRAMES,
    FrameFilter,
    _cap,
    encode_extension,
    fnv1a64,
)

_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_"
_NON_WORD_TO_SPACE = bytes(b if b in _WORD_BYTES else 0x20 for b in range(256))
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK64 = (1 << 64) - 1
_LF = 0x0A


def _trigram_hashes(codes: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = np.full(codes.shape, (_FNV_OFFSET ^ KIND_TRIGRAM) * _FNV_PRIME & _MASK64, dtype=np.uint64)
        prime = np.uint64(_FNV_PRIME)
        for shift in (16, 8, 0):
            h = (h ^ ((codes >> shift) & 0xFF).astype(np.uint64)) * prime
    return h


def _trigram_codes(lowered: bytes) -> np.ndarray:
    a = np.frombuffer(lowered, dtype=np.uint8)
    if len(a) < 3:
        return np.zeros(0, dtype=np.int64)
    usable = (a != _LF) & ((a < 0x30) | (a > 0x39))
    b0, b1, b2 = a[:-2], a[1:-1], a[2:]
    keep = usable[:-2] & usable[1:-1] & usable[2:]
    codes = (b0.astype(np.int64) << 16 | b1.astype(np.int64) << 8 | b2.astype(np.int64))[keep]
    seen = np.zeros(1 << 24, dtype=np.bool_)
    seen[codes] = True
    return np.flatnonzero(seen)


@dataclass(slots=True)
class _Items:
    words: set[int]
    trigrams: np.ndarray

    @classmethod
    def of(cls, text: bytes) -> _Items:
        lowered = text.lower()
        distinct = set(lowered.translate(_NON_WORD_TO_SPACE).split())
        words = {fnv1a64(b"\x01" + w) for w in distinct if not w.isdigit()}
        return cls(words, _trigram_codes(lowered))

    def update(self, other: _Items) -> None:
        self.words |= other.words
        self.trigrams = np.union1d(self.trigrams, other.trigrams)

    def hashes(self) -> np.ndarray:
        words = np.fromiter(self.words, dtype=np.uint64, count=len(self.words))
        return np.unique(np.concatenate([words, _trigram_hashes(self.trigrams)]))


def _positions(hashes: np.ndarray, k: int, m: int) -> np.ndarray:
    h1 = hashes & np.uint64(0xFFFFFFFF)
    h2 = (hashes >> np.uint64(32)) | np.uint64(1)
    j = np.arange(k, dtype=np.uint64)[:, None]
    return ((h1[None, :] + j * h2[None, :]) % np.uint64(m)).ravel()


def _wanted(n: int) -> int:
    return math.ceil(n * BITS_PER_ITEM / 8)


def _bloom(hashes: np.ndarray, cap: int) -> tuple[int, bytes]:
    n = len(hashes)
    if n == 0 or cap <= 0:
        return 0, b""
    size = min(_wanted(n), cap)
    m = size * 8
    k = max(1, min(MAX_HASHES, round(m / n * math.log(2))))
    bits = np.zeros(m, dtype=np.uint8)
    bits[_positions(hashes, k, m).astype(np.int64)] = 1
    return k, np.packbits(bits, bitorder="little").tobytes()


@dataclass(slots=True)
class _Pending:
    number: int
    items: _Items
    lines: int
    ends_line: bool
    record_size: int


class ReferenceFilterBuilder:
    """:class:`sigmalang._filters.FilterBuilder` as first written."""

    def __init__(self, version: int = FILTER_VERSION) -> None:
        self.version = version
        self._done: list[FrameFilter | None] = []
        self._held: list[tuple[_Pending, np.ndarray]] = []
        self._shared: np.ndarray | None = None
        self._shared_filter = FrameFilter(0, False)
        self._pending: _Pending | None = None
        self._tail = bytearray()
        self._ends_line = True

    def add(self, chunk: bytes | memoryview, record_size: int) -> None:
        chunk = bytes(chunk)
        number = len(self._done)
        self._done.append(None)
        first = chunk.find(b"\n")
        if self._pending is not None:
            self._tail += chunk if first < 0 else chunk[: first + 1]
            if first >= 0:
                self._finish_pending()
            elif len(self._tail) > MAX_LINE_TAIL:
                pending = self._pending
                self._done[pending.number] = FrameFilter(pending.lines, pending.ends_line, 0, None)
                self._pending, self._tail = None, bytearray()
        ends_line = chunk.endswith(b"\n")
        entry = _Pending(number, _Items.of(chunk), chunk.count(b"\n"), ends_line, record_size)
        begins_line = first >= 0 or self._ends_line
        self._ends_line = ends_line
        if ends_line or not begins_line:
            self._finish(entry)
        else:
            self._pending = entry
            self._tail = bytearray(chunk[chunk.rfind(b"\n") + 1 :])

    def _finish_pending(self) -> None:
        assert self._pending is not None
        self._pending.items.update(_Items.of(bytes(self._tail)))
        self._finish(self._pending)
        self._pending, self._tail = None, bytearray()

    def _finish(self, entry: _Pending) -> None:
        hashes = entry.items.hashes()
        if self.version == 1:
            self._build(entry, hashes, _cap(entry.record_size))
        elif self._shared is None:
            self._held.append((entry, hashes))
            if len(self._held) == SHARED_FRAMES:
                self._choose_shared()
        else:
            self._build(entry, self._own(hashes), _cap(entry.record_size))

    def _own(self, hashes: np.ndarray) -> np.ndarray:
        assert self._shared is not None
        return np.setdiff1d(hashes, self._shared, assume_unique=True)

    def _build(self, entry: _Pending, hashes: np.ndarray, cap: int) -> None:
        k, bits = _bloom(hashes, cap)
        self._done[entry.number] = FrameFilter(entry.lines, entry.ends_line, k, bits)

    def _choose_shared(self) -> None:
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
        if self._pending is not None:
            self._finish_pending()
        if self.version == 2 and self._shared is None:
            self._choose_shared()
        records = [f.encode() for f in self._done if f is not None]
        if self.version == 1 or not self._shared_filter.bits:
            return encode_extension(records)
        return encode_extension(records, self._shared_filter.encode())
