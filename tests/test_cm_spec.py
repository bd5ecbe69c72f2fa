"""A second, plain-Python coder for backend 3 (docs/FORMAT.md §7.2), checked against `CmBackend`.

The classes below follow the text of §7.2 step by step; they are slow (a few hundred bytes a second
is plenty here) and use integer arithmetic only. The tests compare them with the real backend
through its public interface: same payload bytes, and each side decodes the other's payload.
"""

from __future__ import annotations

import hashlib
import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang._backend_base import BackendError
from sigmalang._backends import CmBackend

M32 = 0xFFFFFFFF
HASH_BITS = 12  # small tables keep the Python model quick

# --- Arithmetic and tables ---------------------------------------------------------------------

# fmt: off
_Q = [
    1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047,
    2549, 2994, 3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094,
]
# fmt: on


def _squash_formula(x: int) -> int:
    j, w = (x + 2048) >> 7, (x + 2048) & 127
    upper = _Q[j + 1] if j < 32 else _Q[32]
    return (_Q[j] * (128 - w) + upper * w + 64) >> 7


SQUASH = [_squash_formula(x) for x in range(-2048, 2048)]  # SQUASH[x + 2048]


def squash(x: int) -> int:
    return SQUASH[x + 2048]


def _stretch_table() -> list[int]:
    """stretch(p): the smallest x in -2047 ... 2047 with squash(x) >= p, or 2047. squash never falls,
    so each p's x is found by going on from the previous p's."""
    table = []
    x = -2047
    for p in range(4096):
        while x < 2047 and squash(x) < p:
            x += 1
        table.append(x)
    return table


STRETCH = _stretch_table()


def mix32(v: int) -> int:
    v = (v * 0x2C1B3C6D) & M32
    v ^= v >> 15
    v = (v * 0x297A2D39) & M32
    v ^= v >> 13
    return v


def chash(a: int, b: int, k: int) -> int:
    return mix32((mix32((a + k * 0x3C6EF372) & M32) + b) & M32)


# Bit-history states: the allowed (n0, n1) pairs, ordered by n0 + n1, then by n1.
LIMIT = (62, 30, 16, 10, 7, 6, 6)


def _allowed(n0: int, n1: int) -> bool:
    m = min(n0, n1)
    return m <= 6 and max(n0, n1) <= LIMIT[m]


STATES = sorted(
    ((n0, n1) for n0 in range(63) for n1 in range(63) if _allowed(n0, n1)), key=lambda s: (s[0] + s[1], s[1])
)
STATE_NUMBER = {pair: s for s, pair in enumerate(STATES)}


def _next_state(s: int, y: int) -> int:
    n = list(STATES[s])
    n[y] += 1
    if n[1 - y] > 2:
        n[1 - y] = (n[1 - y] + 2) >> 1
    while not _allowed(n[0], n[1]):
        n[y] -= 1
    return STATE_NUMBER[(n[0], n[1])]


NEXT = [[_next_state(s, y) for y in (0, 1)] for s in range(len(STATES))]
PRIORITY = [n0 + n1 for n0, n1 in STATES] + [0] * (256 - len(STATES))

RATE = [(1 << 17) // (2 * n + 3) for n in range(1024)]


class AdaptiveMap:
    """Entries of 32 bits: a 22-bit probability q above a 10-bit count n."""

    def __init__(self, initial_q: list[int]) -> None:
        self.q = list(initial_q)
        self.n = [0] * len(initial_q)

    def p(self, i: int) -> int:
        return self.q[i] >> 10

    def update(self, i: int, y: int) -> None:
        n = self.n[i]
        self.q[i] += ((y << 22) - self.q[i]) * RATE[n] >> 17
        if n < 255:
            self.n[i] = n + 1


def state_map() -> AdaptiveMap:
    initial = [((2 * n1 + 1) << 22) // (2 * n0 + 2 * n1 + 2) for n0, n1 in STATES]
    return AdaptiveMap(initial + [1 << 21] * (256 - len(STATES)))


# --- The model ----------------------------------------------------------------------------------

ORDER1, ORDER2, MATCH, SECOND_SET, SEEN_SETS, RATE_SCHEDULE, THIRD_SET = 0, 1, 9, 10, 11, 12, 13
HASHED = 10  # hashed components i = 0 ... 6 are component bits 2 ... 8, 7 and 8 (V4+) bits 14 and 15, 9 (V5) bit 17
HASHED_BIT = (2, 3, 4, 5, 6, 7, 8, 14, 15, 17)
TREES = 1 << 18  # in S: byte trees follow (§7.2, "Byte trees")
CANONICAL = 1 << 17  # in the byte trees field's M: the given trees' leaves are in canonical order
KNOWN = {1: 0x1FFF, 2: 0x3FFF, 3: 0x3FFF, 4: 0xFFFF, 5: 0x2FFFF}  # the components each version knows
SEPARATORS = (32, 9, 44, 59, 124)


FLAT = (4,) * 16


class Tree:
    """A byte tree of §7.2 ("Byte trees") from its 16 leaf depths, its leaves from left to right in
    value order or, *canonical*, by depth and then value: for each internal node (numbered level by
    level from 1) its two children, each ("node", number) or ("leaf", value), and for each value
    its path of decisions."""

    def __init__(self, depths: tuple[int, ...], canonical: bool = False) -> None:
        order = sorted(range(16), key=lambda v: (depths[v], v)) if canonical else range(16)
        leaves = iter([(v, depths[v]) for v in order])
        pending = [next(leaves)]

        def build(depth: int) -> object:  # nested lists: [left, right]; a leaf is its value
            value, at = pending[-1]
            if at < depth:
                raise SpecError("CM byte trees out of range")
            if at == depth:
                pending[-1] = next(leaves, (None, 0))
                return value
            return [build(depth + 1), build(depth + 1)]

        root = [build(1), build(1)]
        if pending[-1][0] is not None:
            raise SpecError("CM byte trees out of range")
        order, level = [], [root]
        while level:
            order += level
            level = [c for node in level for c in node if isinstance(c, list)]
        number = {id(node): k + 1 for k, node in enumerate(order)}
        self.children = {
            number[id(node)]: [("node", number[id(c)]) if isinstance(c, list) else ("leaf", c) for c in node]
            for node in order
        }
        self.paths: dict[int, list[int]] = {}
        stack: list[tuple[list[object], list[int]]] = [(root, [])]
        while stack:
            node, path = stack.pop()
            for y, c in enumerate(node):
                if isinstance(c, list):
                    stack.append((c, path + [y]))
                else:
                    self.paths[c] = path + [y]


class CmModel:
    """The predictor of §7.2: `begin_byte`, then per decision `predict` and `update` until
    `update` says the byte is known, then `end_byte`."""

    def __init__(
        self,
        components: int,
        hash_bits: int,
        version: int,
        trees: list[tuple[int, ...]] | None = None,
        canonical: bool = False,
    ) -> None:
        self.trees = [Tree(depths, canonical) for depths in (trees or [FLAT] * 17)]
        self.on = [bool(components >> k & 1) for k in range(18)]
        self.hash_bits = hash_bits
        self.v2 = version >= 2
        self.v3 = version >= 3
        self.v4 = version >= 4
        self.v5 = version >= 5
        # N: the mixer's inputs, and the values of a weight set
        self.n = 16 if self.v5 else 15 if self.v4 else 13 if self.v3 else 12
        self.third = 3840 if self.v5 else 3584  # T: where the third weight set starts
        self.apm_bits = 22 if self.v2 else 16  # A
        self.t1 = bytearray(1 << 16)
        self.t2 = bytearray(1 << 24)
        self.h = bytearray(16 << hash_bits)
        self.mt = [0] * (1 << (hash_bits - 2))
        self.t0 = AdaptiveMap([1 << 21] * 256)
        self.sm = [state_map() for _ in range(13)]
        self.msm = AdaptiveMap([1 << 21] * 64)
        row = [
            squash(min((j - 16) * 128, 2047)) << (self.apm_bits - 12) for j in range(33)
        ]  # squash(2048) read as squash(2047)
        self.apm = row * 65536
        self.w = [0 if k >= 13 else 16384 for _ in range(self.third + 256) for k in range(self.n)]  # V4+: 13-15 at 0
        self.fw = [65536 // (1 + self.on[SECOND_SET] + self.on[THIRD_SET])] * 768  # version 2's final mixer
        # Per-byte histories.
        self.buf = bytearray()
        self.pos = 0
        self.c4 = self.c8 = 0
        self.word = self.word_prev = self.word_prev2 = 0
        self.line_start = self.prev_line_start = 0
        self.field = 0
        self.match_ptr = self.match_len = 0

    # Per byte: contexts and the match model, before the byte's bits.
    def begin_byte(self) -> None:
        pos, buf, c4, c8 = self.pos, self.buf, self.c4, self.c8
        c1, c2 = c4 & 255, (c4 >> 8) & 255
        col = self.col = pos - self.line_start
        above_at = self.prev_line_start + col
        above = buf[above_at] if above_at < self.line_start else 0
        self.c1, self.c2 = c1, c2
        self.contexts = [
            chash(c4 & 0xFFFFFF, 0, 3),
            chash(c4, 0, 4),
            chash(c4, c8 if self.v3 else c8 & 0xFFFF, 6),
            chash(self.word, c1 if self.word == 0 else 0, 7),
            chash(self.word, self.word_prev, 8),
            chash(above | c1 << 8, min(col, 255), 9),
            chash(self.field, c1 | above << 8, 10),
        ]
        if self.v4:
            f2, f1 = self.t2[(c2 * 256 + c1) * 256], self.t1[c1 * 256]
            self.contexts += [chash(f2 | f1 << 8 | c1 << 16, 0, 13), chash(c4, c8 & 0xFF, 14)]
        if self.v5:
            self.contexts.append(chash(self.word, self.word_prev2, 15))
        # Match model.
        if self.match_len > 0 and buf[self.match_ptr] == c1:
            self.match_len += 1
            self.match_ptr += 1
        else:
            self.match_len = 0
        if pos >= 6:
            h = chash(c4, c8 & 0xFFFF, 11) & (len(self.mt) - 1)
            c = self.mt[h]
            if self.match_len == 0 and c > 0:
                n = 0
                while n < 32 and n < c and buf[c - 1 - n] == buf[pos - 1 - n]:
                    n += 1
                if n >= 6:
                    self.match_len, self.match_ptr = n, c
            self.mt[h] = pos
        self.match_len = min(self.match_len, 65535)
        ml = self.match_len
        self.predicted = buf[self.match_ptr] | 256 if ml > 0 and self.on[MATCH] else 0
        self.bucket = ml if ml < 16 else min(16 + ((ml - 16) >> 3), 31)
        self.match_state = 0 if ml == 0 else 1 if ml < 16 else 2 if ml < 32 else 3
        self.c0, self.tree, self.node, self.depth, self.high = 1, 0, 1, 0, None
        self.slots = [0] * HASHED

    # Per bit, step 1: slots of the hashed components.
    def find_slots(self) -> None:
        mask = (1 << self.hash_bits) - 1
        for i in range(HASHED):
            if not self.on[HASHED_BIT[i]]:
                continue
            h = mix32((self.contexts[i] + self.c0 * 0x9E3779B1) & M32)
            check, b = h >> 24, h & mask
            candidates = (b, b ^ 1, b ^ 2)
            slot = next((s for s in candidates if self.h[16 * s] == check), None)
            if slot is None:
                slot = min(candidates, key=lambda s: PRIORITY[self.h[16 * s + 1]])
                self.h[16 * slot : 16 * slot + 16] = bytes(16)
                self.h[16 * slot] = check
            self.slots[i] = slot

    def path(self, byte: int) -> list[int]:
        """The decisions of *byte*'s nibble in the tree of this decision."""
        return self.trees[self.tree].paths[byte & 15 if self.high is not None else byte >> 4]

    # Per decision, steps 2-4: inputs, mixer, APM; returns p = P(decision = 1) in 1 ... 2^K - 1.
    def predict(self) -> int:
        if self.depth == 0:
            self.find_slots()
        c0, c1, c2, on = self.c0, self.c1, self.c2, self.on
        # Step 2: inputs, 0 where the component is off.
        x = [0] * self.n
        self.where: list[tuple[int, bytearray, int] | None] = [None] * 13  # (state map, table, index)
        inputs = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15)  # state map k's input: hashed i at 3 + i, or 6 + i from 7
        x[0] = STRETCH[self.t0.p(c0)]
        if on[ORDER1]:
            self.where[1] = (1, self.t1, c1 * 256 + c0)
        if on[ORDER2]:
            self.where[2] = (2, self.t2, (c2 * 256 + c1) * 256 + c0)
        node = self.node
        for i in range(HASHED):
            if on[HASHED_BIT[i]]:
                self.where[3 + i] = (3 + i, self.h, 16 * self.slots[i] + node)
        self.states = [None if wh is None else wh[1][wh[2]] for wh in self.where]  # read after all of step 1
        for k in range(1, 13):
            if self.where[k] is not None:
                x[inputs[k]] = STRETCH[self.sm[k].p(self.states[k])]
        seen = sum(1 for k in range(3, 13) if self.where[k] is not None and self.states[k] != 0)
        p_ = self.predicted
        self.expected = None
        if p_ != 0:
            self.expected = self.path(p_ & 255)[self.depth]
            x[10] = STRETCH[self.msm.p(2 * self.bucket + self.expected)]
            if self.v3:
                x[12] = (2 * self.expected - 1) * min(self.match_len, 32) * 64
        x[11] = 256
        self.x = x
        # Step 3: mixer.
        self.set_a = (self.match_state * 256 + c0) * self.n
        d1, self.p1 = self.mix(self.set_a)
        d2 = d3 = 0
        if on[SECOND_SET]:
            self.set_b = (1024 + (seen * 256 if on[SEEN_SETS] else 0) + c1) * self.n
            d2, self.p2 = self.mix(self.set_b)
        if on[THIRD_SET]:
            self.set_c = (self.third + (min(self.col, 31) << 3 | min(self.field, 7))) * self.n
            d3, self.p3 = self.mix(self.set_c)
        self.d1, self.d2, self.d3 = d1, d2, d3
        if self.v2 and (on[SECOND_SET] or on[THIRD_SET]):
            f = 3 * c0  # terms of sets not in use are 0
            d = min(max((d1 * self.fw[f] + d2 * self.fw[f + 1] + d3 * self.fw[f + 2]) >> 16, -2047), 2047)
        elif on[SECOND_SET]:
            d = (d1 + d2) >> 1
        else:
            d = d1
        p_mix = self.p_mix = squash(d)
        # Step 4: APM.
        s = d + 2048
        j, w = s >> 7, s & 127
        r = (c1 * 256 + c0) * 33 + j
        self.apm_index = r + (w >> 6)
        if self.v2:
            p_apm = (self.apm[r] * (128 - w) + self.apm[r + 1] * w) >> 13
            self.p = min(max((16 * p_mix + 7 * p_apm + 4) >> 3, 1), 65535)
        else:
            p_apm = (self.apm[r] * (128 - w) + self.apm[r + 1] * w) >> 11
            self.p = min(max((p_mix + 3 * p_apm + 2) >> 2, 1), 4095)
        return self.p

    def mix(self, base: int) -> tuple[int, int]:
        dot = sum(self.x[k] * self.w[base + k] for k in range(self.n))
        d = min(max(dot >> 16, -2047), 2047)
        return d, squash(d)

    def train(self, base: int, err: int) -> None:
        if abs(err) <= 8:
            return
        limit = (1 << 23) - 1
        rate = max(12, 40 - (self.pos >> 14)) if self.on[RATE_SCHEDULE] else 16
        for k in range(self.n):
            self.w[base + k] = min(max(self.w[base + k] + ((self.x[k] * err * rate) >> 16), -limit), limit)

    # Per decision, step 6: updates, in the order the text gives; then down the tree. Returns the
    # byte once its last decision is made, else None.
    def update(self, y: int) -> int | None:
        self.train(self.set_a, (y << 12) - self.p1)
        if self.on[SECOND_SET]:
            self.train(self.set_b, (y << 12) - self.p2)
        if self.on[THIRD_SET]:
            self.train(self.set_c, (y << 12) - self.p3)
        if self.v2 and (self.on[SECOND_SET] or self.on[THIRD_SET]):
            e, limit, f = (y << 12) - self.p_mix, (1 << 23) - 1, 3 * self.c0
            for k, d, used in ((0, self.d1, True), (1, self.d2, self.on[SECOND_SET]), (2, self.d3, self.on[THIRD_SET])):
                if used:
                    self.fw[f + k] = min(max(self.fw[f + k] + ((d * e) >> 14), -limit), limit)
        a = self.apm_index
        self.apm[a] += ((y << self.apm_bits) - self.apm[a]) >> 7
        self.t0.update(self.c0, y)
        for k in range(1, 13):
            wh = self.where[k]
            if wh is not None:
                # The state is read again here, not taken from step 2: when two hashed components share a
                # slot (one cleared the other's at this bit), the later one sees the earlier one's update.
                s = wh[1][wh[2]]
                self.sm[wh[0]].update(s, y)
                wh[1][wh[2]] = NEXT[s][y]
        if self.expected is not None:
            self.msm.update(2 * self.bucket + self.expected, y)
            if y != self.expected:
                self.predicted = 0
        kind, value = self.trees[self.tree].children[self.node][y]
        if kind == "node":
            self.node, self.depth = value, self.depth + 1
            if self.high is None:
                self.c0 = value
            else:
                level = value.bit_length() - 1
                self.c0 = (16 + self.high) << level | (value - (1 << level))
            return None
        if self.high is None:  # the high nibble is known: the low nibble's tree
            self.high, self.tree, self.node, self.depth, self.c0 = value, 1 + value, 1, 0, 16 + value
            return None
        return self.high << 4 | value

    def decisions(self, byte: int) -> list[int]:
        """The byte's decisions, high nibble's then low nibble's (only its own trees' paths)."""
        high = self.trees[0].paths[byte >> 4]
        return high + self.trees[1 + (byte >> 4)].paths[byte & 15]

    # After the byte: histories.
    def end_byte(self, byte: int) -> None:
        self.buf.append(byte)
        if self.v4:  # the followers of the last two bytes and of the last byte
            self.t2[(self.c2 * 256 + self.c1) * 256] = byte
            self.t1[self.c1 * 256] = byte
        self.c8 = (self.c8 << 8 | self.c4 >> 24) & M32
        self.c4 = (self.c4 << 8 | byte) & M32
        low = byte | 32
        if 97 <= low <= 122 or byte >= 128:
            self.word = chash(self.word, low, 12)
        elif self.word != 0:
            self.word_prev2, self.word_prev, self.word = self.word_prev, self.word, 0
        if byte == 10:
            self.prev_line_start, self.line_start, self.field = self.line_start, self.pos + 1, 0
        elif byte in SEPARATORS:
            self.field += 1
        self.pos += 1

    def model_byte(self, byte: int) -> None:
        """Priming: every table learns the byte, nothing is coded."""
        self.begin_byte()
        for y in self.decisions(byte):
            self.predict()
            self.update(y)
        self.end_byte(byte)


# --- Coder and payload --------------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class SpecError(ValueError):
    pass


def _split(x1: int, x2: int, p: int, k: int) -> int:
    """Step 5: the point that divides [x1, x2] for P(bit = 1) = p / 2^k."""
    return x1 + ((x2 - x1) >> k) * p + (((x2 - x1) & ((1 << k) - 1)) * p >> k)


def writer_version(components: int) -> int:
    """The version these tests code *components* in unless told: 5 with component 17, else 4."""
    return 5 if components >> 17 & 1 else 4


def in_value_order(depths: tuple[int, ...]) -> bool:
    """Whether a tree's depths never fall from one value to the next: its leaves are in the same
    order read either way."""
    return all(depths[v] <= depths[v + 1] for v in range(len(depths) - 1))


def tree_field(trees: list[tuple[int, ...]], canonical: bool = False) -> bytes:
    """§7.2's byte trees field: the mask of trees given (and, *canonical*, bit 17), then each one's
    depths, two to a byte."""
    mask = sum(1 << t for t, depths in enumerate(trees) if depths != FLAT) | (CANONICAL if canonical else 0)
    body = b"".join(bytes(d[j] | d[j + 1] << 4 for j in range(0, 16, 2)) for d in trees if d != FLAT)
    return varint(mask) + body


def spec_encode(
    data: bytes,
    components: int,
    hash_bits: int = HASH_BITS,
    prime: bytes = b"",
    version: int | None = None,
    trees: list[tuple[int, ...]] | None = None,
    canonical: bool = False,
) -> bytes:
    version = writer_version(components) if version is None else version
    model = CmModel(components, hash_bits, version, trees, canonical)
    k = 12 if version == 1 else 16
    for byte in prime:
        model.model_byte(byte)
    out = bytearray([version, hash_bits]) + varint(components | (TREES if trees else 0))
    if trees:
        out += tree_field(trees, canonical)
    x1, x2 = 0, M32
    for byte in data:
        model.begin_byte()
        for y in model.decisions(byte):  # step 5, encoder side
            xmid = _split(x1, x2, model.predict(), k)
            if y:
                x2 = xmid
            else:
                x1 = xmid + 1
            model.update(y)
            while (x1 ^ x2) & 0xFF000000 == 0:
                out.append(x2 >> 24)
                x1, x2 = (x1 << 8) & M32, (x2 << 8) & M32 | 255
        model.end_byte(byte)
    out += x1.to_bytes(4, "big")  # End: x1's four bytes
    return bytes(out)


def _read_varint(payload: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    for k in range(3):
        if at + k >= len(payload):
            break
        byte = payload[at + k]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if k > 0 and byte == 0:
                break
            return value, at + k + 1
    raise SpecError("CM parameters out of range")


def spec_decode(payload: bytes, size: int, prime: bytes = b"") -> bytes:
    if len(payload) < 2:
        raise SpecError("CM parameters out of range")
    version = payload[0]
    if version not in KNOWN:
        raise SpecError(f"unknown CM model version {version}")
    k = 12 if version == 1 else 16
    hash_bits = payload[1]
    components, at = _read_varint(payload, 2)
    if not 12 <= hash_bits <= 24 or components & ~(KNOWN[version] | TREES):
        raise SpecError("CM parameters out of range")
    trees, canonical = None, False
    if components & TREES:
        components &= ~TREES
        mask, at = _read_varint(payload, at)
        canonical = bool(mask & CANONICAL)
        mask &= ~CANONICAL
        if not 0 < mask < 1 << 17:
            raise SpecError("CM byte trees out of range")
        trees = []
        for t in range(17):
            if not mask >> t & 1:
                trees.append(FLAT)
                continue
            if at + 8 > len(payload):
                raise SpecError("CM payload ends inside its byte trees")
            depths = tuple(d for byte in payload[at : at + 8] for d in (byte & 15, byte >> 4))
            if depths == FLAT or not all(depths):
                raise SpecError("CM byte trees out of range")
            trees.append(depths)
            at += 8
        if canonical and all(in_value_order(depths) for depths in trees):
            raise SpecError("CM byte trees out of range")
    coded = payload[at:]
    if len(coded) < 4:
        raise SpecError("CM stream does not end where expected")
    model = CmModel(components, hash_bits, version, trees, canonical)
    for byte in prime:
        model.model_byte(byte)
    x1, x2 = 0, M32
    xv, used = int.from_bytes(coded[:4], "big"), 4
    out = bytearray()
    for _ in range(size):
        model.begin_byte()
        byte = None
        while byte is None:
            xmid = _split(x1, x2, model.predict(), k)
            y = 1 if xv <= xmid else 0  # step 5, decoder side
            if y:
                x2 = xmid
            else:
                x1 = xmid + 1
            byte = model.update(y)
            while (x1 ^ x2) & 0xFF000000 == 0:
                if used >= len(coded):
                    raise SpecError("CM stream does not end where expected")
                xv = (xv << 8) & M32 | coded[used]
                used += 1
                x1, x2 = (x1 << 8) & M32, (x2 << 8) & M32 | 255
        model.end_byte(byte)
        out.append(byte)
    if used != len(coded) or xv != x1:
        raise SpecError("CM stream does not end where expected")
    return bytes(out)


# --- Inputs -------------------------------------------------------------------------------------

ENGLISH = (
    b"It was the best of times, it was the worst of times, it was the age of wisdom,\n"
    b"it was the age of foolishness, it was the epoch of belief, it was the epoch of\n"
    b"incredulity, it was the season of Light, it was the season of Darkness, it was\n"
    b"the spring of hope, it was the winter of despair, we had everything before us.\n"
)[:300]
LOG = b"".join(
    b"2024-03-%02d 12:%02d:%02d INFO worker=%d handled %d requests in %d ms\n"
    % (d, d * 7 % 60, d * 13 % 60, d % 4, 100 + d * 37, 20 + d * 3)
    for d in range(1, 10)
)[:300]
RANDOM = random.Random(1234).randbytes(200)
PRIME = b"the season of Light, the season of Darkness; worker=2 handled 133 requests in 23 ms\nIt was the "

# Runs of one byte: the byte that follows the last two bytes is recorded in the entry the next byte's
# indirect context reads (version 4), and that of the last byte where the byte repeats.
RUNS = (b"aaaaaaaabbbbbbbb\n\n\n\n" + b"ab" * 12 + b"  x  x  xx\n") * 3

INPUTS = {"empty": b"", "one": b"A", "english": ENGLISH, "log": LOG, "random": RANDOM, "runs": RUNS}
COMPONENT_SETS = [
    0x2FFFF,
    0xFFFF,
    0x29E7F,  # the sets of running text (their own compiled copies)
    0x9E7F,
    0x3FFF,
    0x1FFF,
    0x121F,
    0x7FF,
    0x21F,
    0x0,
    0x400,
    0x200,
    0xC00,
    0x2000,
    0x2203,
    0x4000,
    0x8000,
    0xC403,
    0x20000,
    0x20060,
]


def real_encode(data: bytes, components: int, prime: bytes = b"", version: int | None = None) -> bytes:
    version = writer_version(components) if version is None else version
    return CmBackend(components, HASH_BITS, version).encode(data, prime)


def real_decode(payload: bytes, size: int, components: int, prime: bytes = b"") -> bytes:
    return CmBackend(components, HASH_BITS).decode(payload, size, prime)


# --- Tests --------------------------------------------------------------------------------------


def test_tables_match_published_digests():
    def digest(values: list[int]) -> str:
        return hashlib.sha256(struct.pack(f"<{len(values)}i", *values)).hexdigest()

    assert len(STATES) == 239 and STATES[0] == (0, 0)
    assert digest(STRETCH).startswith("c8247385cdfdb18c")
    assert digest(SQUASH).startswith("abb44de9f7c32d2f")
    rows = [pair for row in NEXT for pair in row] + [0] * 2 * (256 - len(NEXT))
    assert hashlib.sha256(bytes(rows)).hexdigest().startswith("7604a1c47e6b32f2")


def test_inputs_have_the_intended_shape():
    assert len(ENGLISH) == 300 and ENGLISH.count(b"\n") >= 3
    assert len(LOG) == 300 and LOG.count(b"\n") >= 4
    assert len(RANDOM) == 200 and 90 <= len(PRIME) <= 110


def _combinations() -> list[object]:
    """Every input with every component set; the fast suite runs every set on the log lines and
    every input with all components (the Python model codes a few hundred bytes a second)."""
    out: list[object] = []
    for name in INPUTS:
        for components in COMPONENT_SETS:
            full = name in ("empty", "one", "log") or components in (0x2FFFF, 0xFFFF)
            marks = () if full else (pytest.mark.slow,)
            out.append(pytest.param(name, components, marks=marks, id=f"{name}-{components:#x}"))
    return out


@pytest.mark.parametrize(("name", "components"), _combinations())
def test_encoders_agree_and_decoders_invert(name, components):
    data = INPUTS[name]
    payload = real_encode(data, components)
    assert spec_encode(data, components) == payload
    assert spec_decode(payload, len(data)) == data


def _version_1_combinations() -> list[object]:
    """Every input with every component set; the fast suite runs every set on the log lines and
    every input with all of version 1's components."""
    out: list[object] = []
    for name in ("english", "log", "random"):
        for components in (0x1FFF, 0x7FF, 0x21F, 0x0):
            marks = () if name == "log" or components == 0x1FFF else (pytest.mark.slow,)
            out.append(pytest.param(name, components, marks=marks, id=f"{name}-{components}"))
    return out


def _older_version_agrees(data: bytes, components: int, version: int) -> bytes:
    """*data* coded in an older model *version* by the kernel: its payload, after checking that it
    names the version, that this reading of the text writes the same bytes, and that both decode it."""
    payload = real_encode(data, components, version=version)
    assert payload[0] == version
    assert spec_encode(data, components, version=version) == payload
    assert spec_decode(payload, len(data)) == data
    assert real_decode(payload, len(data), components) == data
    return payload


@pytest.mark.parametrize(("name", "components"), _version_1_combinations())
def test_version_1_agrees(name, components):
    """Model version 1 (no final mixer, 12-bit coding) is still read: the kernel and this reading
    of its text agree on it, and it differs from version 2 where the two weight sets are mixed."""
    data = INPUTS[name]
    payload = _older_version_agrees(data, components, 1)
    assert payload[3:] != real_encode(data, components)[3:]


@pytest.mark.parametrize(
    ("name", "components"),
    [
        ("log", 0x3FFF),
        ("log", 0x121F),
        ("english", 0x3FFF),
        pytest.param("random", 0x3FFF, marks=pytest.mark.slow),
        pytest.param("english", 0x10, marks=pytest.mark.slow),
    ],
)
def test_version_2_agrees(name, components):
    """Model version 2 (the order-6 context, twelve mixer inputs) is still read: the kernel and this
    reading of its text agree on it, and version 3 codes the same input differently wherever its
    order-8 context or its match length input is in use."""
    data = INPUTS[name]
    payload = _older_version_agrees(data, components, 2)
    assert payload[1:] != real_encode(data, components)[1:]


@pytest.mark.parametrize(
    ("name", "components"),
    [("log", 0x3FFF), ("english", 0x3FFF), ("runs", 0x3FFF), pytest.param("random", 0x3FFF, marks=pytest.mark.slow)],
)
def test_version_3_agrees(name, components):
    """Model version 3 is still read; version 4 without its two contexts (components 14 and 15)
    codes every input as version 3 does, and with either of them differently."""
    data = INPUTS[name]
    payload = _older_version_agrees(data, components, 3)
    assert payload[1:] == real_encode(data, components)[1:]
    assert payload[1:] != real_encode(data, components | 0x4000)[1:]
    assert payload[1:] != real_encode(data, components | 0x8000)[1:]


@pytest.mark.parametrize(
    ("name", "components"),
    [("log", 0xFFFF), ("english", 0xFFFF), ("runs", 0x3FFF), pytest.param("random", 0xFFFF, marks=pytest.mark.slow)],
)
def test_version_4_agrees(name, components):
    """Model version 4 is still written (levels 5 and 6) and read; version 5 without its context
    (component 17) codes every input as version 4 does, and with it differently (the sets' varints
    are both three bytes long: the coded bytes start at 5)."""
    data = INPUTS[name]
    payload = _older_version_agrees(data, components, 4)
    assert payload[1:] == real_encode(data, components, version=5)[1:]
    with_it = real_encode(data, components | 0x20000)
    assert with_it[0] == 5 and with_it[5:] != payload[5:]


def test_version_3_match_input_counts():
    """Version 3's 13th input alone (the order-8 context off, the match model on): a repeated text
    codes differently from version 2, and a text the match model never predicts codes the same."""
    components = 0x3FFF & ~(1 << 4)
    repeated = ENGLISH[:120] * 2
    assert real_encode(repeated, components, version=2)[1:] != real_encode(repeated, components)[1:]
    assert spec_encode(repeated, components) == real_encode(repeated, components)
    unpredicted = bytes(range(200))
    assert real_encode(unpredicted, components, version=2)[1:] == real_encode(unpredicted, components)[1:]


@pytest.mark.parametrize("components", [0x2FFFF, 0xFFFF, 0x3FFF, 0x121F, 0x7FF])
@pytest.mark.parametrize("name", ["english", "log"])
def test_priming_agrees(name, components):
    data = INPUTS[name][:150]
    payload = real_encode(data, components, PRIME)
    assert spec_encode(data, components, prime=PRIME) == payload
    assert spec_decode(payload, len(data), PRIME) == data
    assert real_decode(payload, len(data), components, PRIME) == data
    assert payload != real_encode(data, components)


@settings(max_examples=15, deadline=None)
@given(
    data=st.binary(max_size=200),
    components=st.sampled_from(
        [0x2FFFF, 0xFFFF, 0x3FFF, 0x1FFF, 0x7FF, 0x121F, 0x0, 0x400, 0x200, 0x1E0, 0x5A3, 0x1800, 0xDA3, 0x2C00]
        + [0x4C03, 0x8E20, 0x20C23]
    ),
    version=st.sampled_from([1, 2, 3, 4, 5]),
)
def test_encoders_agree_on_any_input(data, components, version):
    components &= KNOWN[version]
    payload = real_encode(data, components, version=version)
    assert spec_encode(data, components, version=version) == payload
    assert spec_decode(payload, len(data)) == data


def test_other_hash_bits_agree():
    data = (ENGLISH * 8)[:2100]  # the encoder sizes its tables to the input: 2,100 bytes get 2^16 slots
    payload = CmBackend(0xFFFF, 16).encode(data)
    assert payload[:2] == b"\x04\x10"
    assert spec_encode(data, 0xFFFF, hash_bits=16) == payload
    assert spec_decode(payload, len(data)) == data


@pytest.mark.parametrize("repeats", [28, pytest.param(55, marks=pytest.mark.slow)])
def test_learning_rate_schedule_agrees(repeats):
    """Component 12's rate falls one step per 2^14 positions (primer included): a 16,800-byte primer
    takes the mixer through one step before the coded bytes, a 33,000-byte one through two."""
    prime = (LOG + ENGLISH) * repeats
    data = LOG[:100]
    components = 0x1C04  # order 3, both weight sets, seen-count sets, the rate schedule
    payload = real_encode(data, components, prime)
    assert spec_encode(data, components, prime=prime) == payload
    assert payload != real_encode(data, components & ~0x1000, prime)


HEADER = 4  # version, hash bits, and the two varint bytes of 0x7ff


def _damaged(payload: bytes) -> dict[str, bytes]:
    return {
        "appended": payload + b"\x00",
        "first removed": payload[:HEADER] + payload[HEADER + 1 :],
        "last removed": payload[:-1],
        "last changed": payload[:-1] + bytes([payload[-1] ^ 1]),
    }


@pytest.mark.parametrize("kind", ["appended", "first removed", "last removed", "last changed"])
def test_damage_is_rejected(kind):
    data, components = LOG[:120], 0x7FF
    payload = real_encode(data, components)
    damaged = _damaged(payload)[kind]
    with pytest.raises(SpecError):
        spec_decode(damaged, len(data))
    with pytest.raises(BackendError):
        real_decode(damaged, len(data), components)


def test_bad_parameters_are_rejected():
    good = spec_encode(b"", 0x7FF)
    for bad in (
        b"\x06" + good[1:],
        b"\x00" + good[1:],
        b"\x01\x0b" + good[2:],
        b"\x01\x19" + good[2:],
        b"\x01\x0c\x80\x40" + good[4:],  # component 13 in version 1
        b"\x02\x0c\x80\x80\x01" + good[4:],  # component 14 in version 2
        b"\x03\x0c\x80\x80\x02" + good[4:],  # component 15 in version 3
        b"\x04\x0c\x80\x80\x08" + good[4:],  # component 17 in version 4
        b"\x05\x0c\x80\x80\x10" + good[4:],  # bit 18
    ):
        with pytest.raises(SpecError):
            spec_decode(bad, 0)
        with pytest.raises(BackendError):
            real_decode(bad, 0, 0x7FF)
    with pytest.raises(SpecError):
        spec_decode(good[:-1], 0)


# --- Byte trees ---------------------------------------------------------------------------------


def _random_trees(rng: random.Random) -> tuple[list[tuple[int, ...]], bool]:
    """17 trees, most of them cut at random points, at least one not flat, and whether they are
    read in canonical order (then with their depths shuffled, one of them at least out of order)."""
    canonical = rng.random() < 0.5

    def tree() -> tuple[int, ...]:
        depths = [0] * 16

        def cut(lo: int, hi: int, depth: int) -> None:
            if hi - lo == 1:
                depths[lo] = depth
                return
            at = rng.randrange(lo + 1, hi)
            cut(lo, at, depth + 1)
            cut(at, hi, depth + 1)

        cut(0, 16, 0)
        if canonical:  # the same depths in any order: a tree when read in canonical order
            rng.shuffle(depths)
        return tuple(depths)

    trees = [tree() if rng.random() < 0.6 else FLAT for _ in range(17)]
    trees = trees if any(t != FLAT for t in trees) else [tree()] + trees[1:]
    if canonical and all(in_value_order(t) for t in trees):  # one spelling: such trees go without the bit
        canonical = False
    return trees, canonical


@pytest.mark.parametrize("components", [0x2FFFF, 0xFFFF, 0x9E7F, 0x121F, 0x0])
@pytest.mark.parametrize("name", ["english", "log", "runs"])
def test_writers_byte_trees_agree(monkeypatch: pytest.MonkeyPatch, name: str, components: int) -> None:
    """The encoder's own trees: the same payload from both, each decodes the other's."""
    from sigmalang import _backends

    monkeypatch.setattr(_backends, "CM_TREES_MIN", 1)
    data = INPUTS[name]
    real = real_encode(data, components)
    assert real[2] & 0x80 and _read_varint(real, 2)[0] & TREES  # the writer gave it trees
    trees, canonical = _backends.read_trees(real, _read_varint(real, 2)[1])[:2]
    # Running text (the paragraphs' sets) gets Huffman-shaped trees in canonical order, other sets cut trees.
    if components != 0x9E7F:
        assert not canonical
    elif name == "english":
        assert canonical
    assert spec_encode(data, components, trees=trees, canonical=canonical) == real
    assert spec_decode(real, len(data)) == data


@settings(max_examples=12, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["english", "log", "random", "runs"]), st.booleans())
def test_any_byte_trees_decode(seed: int, name: str, primed: bool) -> None:
    """Trees no writer chooses, the primer read with them too: the real decoder decodes the spec's
    payload, and the spec's decoder its own."""
    rng = random.Random(seed)
    components = rng.choice([0x2FFFF, 0xFFFF, 0x9E7F, 0x121F, 0x3FFF])
    version = writer_version(components) if components > 0x3FFF else rng.choice([2, 3])
    data, prime = INPUTS[name][:120], PRIME if primed else b""
    trees, canonical = _random_trees(rng)
    payload = spec_encode(data, components, prime=prime, version=version, trees=trees, canonical=canonical)
    assert spec_decode(payload, len(data), prime) == data
    assert real_decode(payload, len(data), components, prime) == data
