"""Parts shared by the prototype models of ``cm_guess.py`` and ``cm_tree.py``: the CM model's
squash, state-map update and hash as those scripts use them, two weight sets' mixing and
training, an APM, the coder, a hashed slot's search, the histories and match model after each
byte, and the coder's flush. Not part of the product."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sigmalang._cm import _RATE, _STATE_PRIORITY, SQUASH


@njit(cache=True, inline="always")
def squash(x: int) -> int:
    return SQUASH[min(max(x, -2047), 2047) + 2048]


@njit(cache=True, inline="always")
def adapt(entry: int, y: int, limit: int) -> int:
    """A state map's entry (probability << 10 | count) moved towards bit *y*."""
    n = entry & 1023
    step = (((((y << 32) | 1023) - entry) >> 10) * _RATE[n]) >> 17
    return entry + (step << 10) + (1 if n < limit else 0)


@njit(cache=True, inline="always")
def hash2(a: int, b: int) -> int:
    h = (a * 0x2F0B4A13 + b * 0x5BD1E995 + 0x3C6EF372) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
    return h ^ (h >> 12)


@njit(cache=True, inline="always")
def find_slot(slots: np.ndarray, h: int, mask: int) -> int:
    """The offset of hash *h*'s 16-byte slot (a check byte, then 15 states): of slots i and i ^ 1,
    the one whose check byte matches, else the less used, emptied and given the check byte."""
    i, check = h & mask, (h >> 24) & 255
    if slots[i * 16] == check:
        return i * 16
    if slots[(i ^ 1) * 16] == check:
        return (i ^ 1) * 16
    first, second = _STATE_PRIORITY[slots[i * 16 + 1]], _STATE_PRIORITY[slots[(i ^ 1) * 16 + 1]]
    ii = i if first <= second else i ^ 1
    slots[ii * 16 : ii * 16 + 16] = 0
    slots[ii * 16] = check
    return ii * 16


@njit(cache=True, inline="always")
def after_byte(
    data: np.ndarray, pos: int, c4: int, c8: int, word: int, match_len: int, match_at: int, match_table: np.ndarray
) -> tuple[int, int, int, int, int]:
    """After byte data[pos]: the last eight bytes (c4, c8), the current word's hash, and the match
    model (the last place of the current 6-byte context, followed while it keeps agreeing)."""
    c = int(data[pos])
    if match_len > 0:
        if data[match_at] == c:
            match_len, match_at = match_len + 1, match_at + 1
        else:
            match_len = 0
    c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF
    c4 = ((c4 << 8) | c) & 0xFFFFFFFF
    word = hash2(word, c | 32) if (97 <= c <= 122 or 65 <= c <= 90) else 0
    if pos >= 5:
        mh = hash2(c4, c8 & 0xFFFF) >> 12
        if match_len == 0 and match_table[mh] > 0:
            match_at = match_table[mh]
            while match_len < 32 and match_at - 1 - match_len >= 0:
                if data[match_at - 1 - match_len] != data[pos - match_len]:
                    break
                match_len += 1
        match_table[mh] = pos + 1
    return c4, c8, word, match_len, match_at


@njit(cache=True, inline="always")
def apm_at(table: np.ndarray, row: int, x: int) -> tuple[int, int, int]:
    """An APM's probability (12 bits) for stretched *x* in *row* (33 bins), and the bin and weight
    its training takes."""
    xx = min(max(x, -2047), 2047) + 2048
    lo, w = row * 33 + (xx >> 7), xx & 127
    return (table[lo] * (128 - w) + table[lo + 1] * w) >> 11, lo, w


@njit(cache=True, inline="always")
def apm_train(table: np.ndarray, lo: int, w: int, y: int) -> None:
    table[lo] += (((y << 16) - table[lo]) * (128 - w)) >> 14
    table[lo + 1] += (((y << 16) - table[lo + 1]) * w) >> 14


@njit(cache=True, inline="always")
def code_bit(out: np.ndarray, size: int, x1: int, x2: int, p: int, y: int) -> tuple[int, int, int, float]:
    """Bit *y* coded with probability *p* (of a 1, 12 bits) by the CM model's coder: the new output
    size, the coder's range, and what the bit cost in bits."""
    mid = x1 + ((x2 - x1) >> 12) * p
    if y:
        x2 = mid
    else:
        x1 = mid + 1
    while ((x1 ^ x2) & 0xFF000000) == 0:
        out[size] = x2 >> 24
        size += 1
        x1, x2 = (x1 << 8) & 0xFFFFFFFF, ((x2 << 8) & 0xFFFFFFFF) | 255
    return size, x1, x2, -math.log2((p if y else 4096 - p) / 4096)


@njit(cache=True, inline="always")
def mix2(x: np.ndarray, n: int, w1: np.ndarray, base1: int, w2: np.ndarray, base2: int) -> tuple[int, int]:
    """The first *n* inputs *x* mixed by two weight sets (16.16 fixed point), each clamped to the
    stretched range."""
    dot, dot2 = 0, 0
    for i in range(n):
        dot += x[i] * w1[base1 + i]
        dot2 += x[i] * w2[base2 + i]
    return min(max(dot >> 16, -2047), 2047), min(max(dot2 >> 16, -2047), 2047)


@njit(cache=True, inline="always")
def train2(x: np.ndarray, n: int, w1: np.ndarray, base1: int, err1: int, w2: np.ndarray, base2: int, err2: int) -> None:
    """Both weight sets of :func:`mix2` moved along their errors (scaled by the learning rate)."""
    for i in range(n):
        w1[base1 + i] += (x[i] * err1) >> 10
        w2[base2 + i] += (x[i] * err2) >> 10


@njit(cache=True, inline="always")
def flush(out: np.ndarray, size: int, x1: int) -> int:
    """The coder's last four bytes; the output's size."""
    for _ in range(4):
        out[size] = x1 >> 24
        size += 1
        x1 = (x1 << 8) & 0xFFFFFFFF
    return size
