"""The context-mixing model (backend 3): bitwise prediction, mixing and a binary arithmetic coder.

Everything here is integer arithmetic on fixed-size tables, so every machine writes the same bytes;
docs/FORMAT.md §7.2 specifies each step. This module holds the model's constants and tables and
:func:`code`, which allocates the tables and runs the compiled kernel
(:func:`sigmalang._cm_kernel._run`: one function both encodes and decodes, so the two sides cannot
drift apart). The kernel's machine code is loaded from an on-disk cache without importing numba
(:mod:`sigmalang._cm_native`); numba compiles it when the cache has none for this machine.

A byte is coded as the binary decisions down two trees, one for each nibble: its bits where the
trees are flat (every payload without trees of its own), fewer for most bytes where a payload
carries trees shaped by its input's byte counts (:func:`tree_depths`). Per decision, the model
predicts P(decision = 1) as a 16-bit probability (model versions 4 and 5; versions 1, with 12-bit
probabilities, 2 and 3 are still read):
- order 0 (the partial byte), orders 1 and 2 (direct tables), orders 3, 4 and 8 (6 before version
  3), two word contexts, a column context, a field context, from version 4 order 5 and the
  indirect context (the bytes that last followed the last two bytes and the last byte), and in
  version 5 the current word with the word before the previous one (hashed tables of nibble slots
  with check bytes), each a bit-history state mapped to a probability by an adaptive map;
- a match model: the byte that followed the last occurrence of the current 6-byte context, as two
  inputs (one learnt per match length, and from version 3 one that grows with the length);
- a gated mixer (one weight set per partial byte and match state, a second per previous byte and
  number of hashed contexts that have seen the bit before, a third per column and field number)
  over their stretched predictions, the sets' outputs combined by a small final mixer;
- an adaptive probability map (APM) refining the mixer's output by the order-1 context.
"""

from __future__ import annotations

import heapq
import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "COMPONENTS_ALL",
    "MODEL_VERSION",
    "MODEL_VERSIONS",
    "HASH_BITS_MAX",
    "HASH_BITS_MIN",
    "N_STATES",
    "STATE_NEXT",
    "Primed",
    "code",
    "model_memory",
    "prime",
]

# --- fixed tables -------------------------------------------------------------------------------

# squash(x) = 4096 / (1 + e^(-x/256)) at x = -2048, -1920, ..., 2048, rounded (33 points);
# squash between points is linear interpolation.
_SQUASH_POINTS = np.array(
    [1, 2, 3, 6, 10, 16, 27, 45, 73, 120, 194, 310, 488, 747, 1101, 1546, 2047,
     2549, 2994, 3348, 3607, 3785, 3901, 3975, 4024, 4050, 4068, 4079, 4085, 4089, 4092, 4093, 4094],
    dtype=np.int64,
)  # fmt: skip


def _squash_table() -> np.ndarray:
    out = np.zeros(4096, dtype=np.int32)
    for i in range(4096):
        x = i - 2048
        j = (x + 2048) >> 7
        w = (x + 2048) & 127
        hi = _SQUASH_POINTS[j + 1] if j < 32 else _SQUASH_POINTS[32]
        out[i] = (_SQUASH_POINTS[j] * (128 - w) + hi * w + 64) >> 7
    return out


SQUASH = _squash_table()  # SQUASH[x + 2048] for x in -2048..2047


def _stretch_table() -> np.ndarray:
    """stretch(p): the smallest x in -2047..2047 with squash(x) >= p (2047 if none)."""
    out = np.full(4096, 2047, dtype=np.int32)
    x = -2047
    for p in range(4096):
        while x < 2047 and SQUASH[x + 2048] < p:
            x += 1
        out[p] = x
    return out


STRETCH = _stretch_table()

# Bit histories: a state is a pair (n0, n1) of discounted counts of zeros and ones seen in a
# context. Allowed pairs: with m = min(n0, n1) and M = max(n0, n1), m <= 6 and M <= _LIMIT[m].
_LIMIT = (62, 30, 16, 10, 7, 6, 6)


def _allowed(n0: int, n1: int) -> bool:
    m, top = min(n0, n1), max(n0, n1)
    return m < len(_LIMIT) and top <= _LIMIT[m]


def _state_tables() -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    pairs = sorted(
        ((n0, n1) for n0 in range(63) for n1 in range(63) if _allowed(n0, n1)),
        key=lambda pair: (pair[0] + pair[1], pair[1]),
    )
    ids = {pair: i for i, pair in enumerate(pairs)}
    nxt = np.zeros((256, 2), dtype=np.uint8)  # rows past the last state are never reached
    for (n0, n1), s in ids.items():
        for y in (0, 1):
            counts = [n0, n1]
            counts[y] += 1
            if counts[1 - y] > 2:  # the other bit's evidence ages: halve its excess over one
                counts[1 - y] = (counts[1 - y] + 2) // 2
            while not _allowed(counts[0], counts[1]):
                counts[y] -= 1
            nxt[s, y] = ids[(counts[0], counts[1])]
    priority = np.array([n0 + n1 for n0, n1 in pairs] + [0] * (256 - len(pairs)), dtype=np.int32)
    return nxt, priority, pairs


STATE_NEXT, _STATE_PRIORITY, STATE_PAIRS = _state_tables()
N_STATES = len(STATE_PAIRS)


def _state_map_init() -> np.ndarray:
    """Initial probability of each state, (n1 + 1) / (n0 + n1 + 2), as 22 bits above a 10-bit count."""
    out = np.zeros(256, dtype=np.int64)
    for s, (n0, n1) in enumerate(STATE_PAIRS):
        out[s] = (((n1 * 2 + 1) << 22) // (n0 * 2 + n1 * 2 + 2)) << 10
    for s in range(N_STATES, 256):
        out[s] = (1 << 21) << 10
    return out


_STATE_MAP_INIT = _state_map_init()

# Adaptation rate of a map entry seen n times: 1 / (n + 1.5), as 2^17 / (2n + 3).
_RATE = np.array([(1 << 17) // (2 * n + 3) for n in range(1024)], dtype=np.int32)

# --- components ---------------------------------------------------------------------------------

# Inputs of the mixer, in order. Bit k of a frame's component set enables component k; bit 10
# adds the second weight set, bit 11 selects it by how many hashed contexts have seen this bit
# before as well as by the previous byte, bit 12 makes the mixer learn faster at the start of
# a frame (a learning rate falling from LR_START to LR_END, one step per 2^LR_STEP bytes), and
# bit 13 (model version 2 and later) adds a third weight set, chosen by the column and field
# numbers; bits 14 and 15 (model version 4) are two more hashed contexts: the indirect context (the
# bytes that followed the last two bytes and the last byte the last time they were seen) and order 5;
# bit 17 (model version 5) one more, the current word with the word before the previous one. Bit 16
# of a payload's set is not a component (the codebook primer: sigmalang._backends.CM_BOOK).
C_ORDER1, C_ORDER2, C_ORDER3, C_ORDER4, C_ORDER6, C_WORD, C_WORD2, C_COLUMN, C_FIELD, C_MATCH, C_MIXER2 = range(11)
C_KNOWN, C_RATE, C_MIXER3, C_INDIRECT, C_ORDER5, C_WORD_SKIP = 11, 12, 13, 14, 15, 17
# Orders 3, 4, 8 (6 before version 3), word, word pair, column, field (component bits 2-8), from
# version 4 indirect and order 5 (bits 14 and 15), and in version 5 word skip (bit 17): one hashed
# slot each. Hashed context i is enabled by component bit HASHED_BIT[i] and is mixer input HASHED_INPUT[i].
N_HASHED = 10
HASHED_BIT = (2, 3, 4, 5, 6, 7, 8, 14, 15, 17)
HASHED_INPUT = (3, 4, 5, 6, 7, 8, 9, 13, 14, 15)
# Mixer inputs: order 0, orders 1 and 2, the first seven hashed contexts, the match model, a bias,
# (version 3) the match length, (version 4) the next two hashed contexts and (version 5) the last.
N_INPUTS = 16
COMPONENTS_V1 = (1 << 13) - 1  # the components model version 1 knows
COMPONENTS_V3 = (1 << 14) - 1  # the components model versions 2 and 3 know
COMPONENTS_V4 = (1 << 16) - 1  # the components model version 4 knows
COMPONENTS_ALL = COMPONENTS_V4 | 1 << C_WORD_SKIP  # every component of the newest model version (5)
COMPONENTS_OF = {1: COMPONENTS_V1, 2: COMPONENTS_V3, 3: COMPONENTS_V3, 4: COMPONENTS_V4, 5: COMPONENTS_ALL}
HASH_BITS_MIN, HASH_BITS_MAX = 12, 24  # hashed table: 2^bits slots of 16 bytes
MATCH_MIN = 6  # bytes of context the match model looks up
STATE_SIZE = 12  # the kernel's state between two calls: a flag, the position, ten histories
MIXER_SETS = 256 * 4  # first weight set: partial byte x match state
# where the third weight set starts: after the second, 256 sets per count of hashed contexts that
# have seen the bit (0-10)
THIRD_SETS = MIXER_SETS + 256 * (N_HASHED + 1)
LR_START = 40  # with bit 12: the mixer's rate in 16ths of err * x / 2^12 at a frame's start,
LR_END = 12  # falling by one every 2^LR_STEP bytes down to this (without bit 12: always 16)
LR_STEP = 14
MIXER_SKIP = 8  # errors this small do not train the mixer
WEIGHT_LIMIT = (1 << 23) - 1  # weights are 16.16 fixed point, clamped to about +-128
APM_RATE = 7
# Model versions: 2 adds the third weight set (bit 13), a final mixer in place of the average of
# the weight sets, and finer probabilities at the end (the APM's entries 22 bits instead of 16, the
# coder's 16 bits instead of 12); 3 (written) makes the order-6 context order 8 and gives the mixer
# a 13th input, the match length with the sign of the expected bit (MATCH_INPUT per byte of
# length, up to MATCH_INPUT_MAX bytes); 4 (written) adds two hashed contexts (components 14 and
# 15); 5 (written at levels 7-9) adds one more (component 17); 1-4 are still read. FINAL_RATE: the
# final mixer's learning rate, as a shift.
MODEL_VERSION = 5
MODEL_VERSIONS = (1, 2, 3, 4, 5)
MATCH_INPUT = 64
MATCH_INPUT_MAX = 32
FINAL_RATE = 14
FINAL_WEIGHTS = 768  # three per partial byte (one per weight set), after the weight sets
STATE_MAP_LIMIT = 255  # a state map's adaptation rate stops slowing after this many updates


# Byte trees (docs/FORMAT.md §7.2, "Byte trees"): a byte is coded as its high nibble, then its low
# nibble, each as the decisions down a binary tree whose 16 leaves are the nibble's values in
# order; tree 0 is the high nibble's, tree 1 + h the low nibble's after high nibble h. A tree is
# given by its leaves' depths (1-15). In the flat tree every depth is 4: each decision is a bit of
# the byte, as before trees existed. The kernel reads them from one int32 table: at
# ((t << 4 | node) << 1 | y) the child of internal node *node* (1-15, numbered level by level) of
# tree *t* on decision *y*, an internal node's number or 16 + the nibble at a leaf, and above them
# (<< 5) an internal node's place in the tables the byte's decisions share (the partial byte's
# value where the trees are flat); at TREE_PATHS + (t << 4 | v) the decisions down to v, (bits <<
# 4) | their count.
N_TREES = 17
TREE_PATHS = N_TREES << 5
TREE_SIZE = TREE_PATHS + (N_TREES << 4)
FLAT_DEPTHS = (4,) * 16
UPPER_SHARE = 64  # tree 0 keeps the top bit first where bytes from 0x80 up are 1/UPPER_SHARE or more


def tree_depths(counts: Sequence[int], canonical: bool = False) -> list[tuple[int, ...]]:
    """The byte trees the encoder gives an input whose bytes are counted *counts* (256 counts).
    Tree 1 + h, for h below 8, is cut by the counts of the bytes h0-hF, and tree 0 by the counts
    of each high nibble (:func:`_cut_depths`), except where bytes of 0x80 and up are at least
    1/UPPER_SHARE of the input (UTF-8 text in most scripts): tree 0's first decision is then the
    top bit, its upper half stays flat, and only the lower half is cut by the counts. Trees 9-16
    (bytes of 0x80 and up) are flat: the top bits tell a UTF-8 sequence's lead byte from the
    bytes that follow it (docs/cm.md, "Byte trees"). With *canonical* (running text; not where
    the UTF-8 rule holds, which :func:`canonical_trees` tells), trees 0-8 are Huffman codes of
    the same counts instead (:func:`_huffman_depths`), to be read in canonical order."""
    rows = [sum(counts[h << 4 : (h + 1) << 4]) for h in range(16)]
    if canonical:
        if not canonical_trees(counts):
            raise ValueError("no canonical trees where bytes from 0x80 up are 1/UPPER_SHARE or more")
        rest = [_huffman_depths(counts[h << 4 : (h + 1) << 4]) for h in range(8)]
        return [_huffman_depths(rows)] + rest + [FLAT_DEPTHS] * 8
    if sum(rows[8:]) * UPPER_SHARE >= sum(rows):
        lower = _cut_depths(rows[:8], 1)
        first = lower[:8] + FLAT_DEPTHS[8:]
    else:
        first = _cut_depths(rows)
    return [first] + [_cut_depths(counts[h << 4 : (h + 1) << 4]) for h in range(8)] + [FLAT_DEPTHS] * 8


def canonical_trees(counts: Sequence[int]) -> bool:
    """Whether an input whose bytes are counted *counts* may be given trees in canonical order:
    where bytes from 0x80 up are under 1/UPPER_SHARE of it (tree 0 keeps the top bit first
    otherwise, which a Huffman code of the rows would not)."""
    upper = sum(counts[0x80:])
    return upper * UPPER_SHARE < sum(counts)


def _huffman_depths(weights: Sequence[int]) -> tuple[int, ...]:
    """The depths of a Huffman code of 16 *weights*: the two lightest subtrees joined until one is
    left, ties to the subtree made first (the leaves first, by value), so the code is the same on
    every machine. A value not counted still gets a leaf; 16 leaves are at most 15 deep."""
    heap: list[tuple[int, int, tuple[int, ...]]] = [(w, k, (k,)) for k, w in enumerate(weights)]
    heapq.heapify(heap)
    depths = [0] * len(weights)
    made = len(weights)
    while len(heap) > 1:
        w1, _, leaves1 = heapq.heappop(heap)
        w2, _, leaves2 = heapq.heappop(heap)
        for v in leaves1 + leaves2:
            depths[v] += 1
        heapq.heappush(heap, (w1 + w2, made, leaves1 + leaves2))
        made += 1
    return tuple(depths)


def tree_decisions(trees: Sequence[Sequence[int]], counts: Sequence[int]) -> int:
    """The decisions the bytes counted *counts* take down *trees* (17 trees' leaf depths)."""
    return sum(n * (trees[0][b >> 4] + trees[1 + (b >> 4)][b & 15]) for b, n in enumerate(counts))


def _cut_depths(weights: Sequence[int], depth: int = 0) -> tuple[int, ...]:
    """The depths of a tree over len(*weights*) leaves below a root at *depth*, each range cut where
    its two sides' counts are nearest equal (of the cuts as near equal as that, the one that leaves
    the heavier side fewest values, then the one nearest the middle of the range), never inside a
    run of values not counted unless the range holds nothing else (so such a run costs the values
    beside it one decision at most); 16 leaves at depth 0 make a tree, 8 at depth 1 half of one."""
    depths = [0] * len(weights)

    def cut(lo: int, hi: int, depth: int) -> None:
        if hi - lo == 1:
            depths[lo] = depth
            return
        total = sum(weights[lo:hi])
        left, best, at = 0, None, lo + 1
        for c in range(lo + 1, hi):
            left += weights[c - 1]
            if total and not (weights[c - 1] or weights[c]):
                continue
            heavier = 0 if not total else (hi - c if 2 * left < total else c - lo)
            key = (abs(2 * left - total), heavier, abs(2 * c - lo - hi))
            if best is None or key < best:
                best, at = key, c
        cut(lo, at, depth + 1)
        cut(at, hi, depth + 1)

    cut(0, len(weights), depth)
    return tuple(depths)


def tree_table(trees: Sequence[Sequence[int]] | None = None, canonical: bool = False) -> np.ndarray:
    """The kernel's tree table for 17 trees given by their leaves' depths (None: every tree flat),
    their leaves in value order or, with *canonical*, in canonical order (:func:`_tree_of`).
    Raises ValueError, naming the tree, for depths that make no tree."""
    out = np.zeros(TREE_SIZE, dtype=np.int32)
    for t, depths in enumerate(trees if trees is not None else [FLAT_DEPTHS] * N_TREES):
        try:
            root = _tree_of(depths, canonical)
        except ValueError as exc:
            raise ValueError(f"byte tree {t}: {exc}") from None
        number: dict[int, int] = {}  # id() of each internal node -> its number, level by level
        level: list[Any] = [root]
        while level:
            below = []
            for node in level:
                number[id(node)] = len(number) + 1
                below += [child for child in node if isinstance(child, list)]
            level = below
        stack: list[tuple[Any, int, int]] = [(root, 0, 0)]
        while stack:
            node, bits, count = stack.pop()
            for y, child in enumerate(node):
                at = ((t << 4 | number[id(node)]) << 1) | y
                if isinstance(child, list):
                    n = number[id(child)]
                    k = n.bit_length() - 1
                    place = n if t == 0 else ((16 | (t - 1)) << k) | (n - (1 << k))
                    out[at] = place << 5 | n
                    stack.append((child, bits << 1 | y, count + 1))
                else:
                    out[at] = 16 + child
                    out[TREE_PATHS + (t << 4 | child)] = ((bits << 1 | y) << 4) | (count + 1)
    return out


def _tree_of(depths: Sequence[int], canonical: bool = False) -> list[Any]:
    """The tree whose leaves 0-15 are at *depths*, from left to right in value order, or with
    *canonical* by depth and then by value: an internal node is [left, right], a leaf its value."""
    if len(depths) != 16 or not all(1 <= d <= 15 for d in depths):
        raise ValueError("a byte tree has 16 leaves at depths 1-15")
    order = sorted(range(16), key=lambda v: (depths[v], v)) if canonical else list(range(16))
    at = 0

    def build(depth: int) -> Any:
        nonlocal at
        if at == 16 or depths[order[at]] < depth:
            raise ValueError(f"leaf depths {list(depths)} make no tree")
        if depths[order[at]] == depth:
            at += 1
            return order[at - 1]
        return [build(depth + 1), build(depth + 1)]

    root = [build(1), build(1)]
    if at != 16:
        raise ValueError(f"leaf depths {list(depths)} make no tree")
    return root


FLAT_TREE = tree_table()


def model_memory(hash_bits: int) -> int:
    """Bytes of tables one coder allocates (besides the data it codes)."""
    return (
        (16 << hash_bits)  # hashed slots
        + (256 << 16)  # order 2
        + (256 << 8)  # order 1
        + (4 << (hash_bits - 2))  # match positions
        + ((THIRD_SETS + 256) * N_INPUTS + FINAL_WEIGHTS) * 4
        + 65536 * 33 * 4  # APM
        + (3 + N_HASHED) * 256 * 8  # state maps
    )


def _apm_row(bits: int) -> np.ndarray:
    """An APM row's initial entries: squash at the 33 bin centres, as *bits*-bit probabilities."""
    return np.array([SQUASH[min((j - 16) * 128 + 2048, 4095)] << (bits - 12) for j in range(33)], dtype=np.uint32)


_APM_ROWS = {v: _apm_row(16 if v == 1 else 22) for v in MODEL_VERSIONS}  # by model version

# What coding a bit costs, for inspection only (never for coding): -log2(p) in 256ths of a bit for
# the probability p = (i + 1/2) / 4096 the model gave the bit's actual value, i = 0..4095. The
# kernel adds these up per byte when asked (:func:`code`'s *costs*).
COST_SCALE = 256
COST_OF = np.array([round(-math.log2((i + 0.5) / 4096) * COST_SCALE) for i in range(4096)], dtype=np.int32)


def _zeros_aligned(size: int) -> np.ndarray:
    """Zeroed bytes starting on a 64-byte boundary: a group of four 16-byte slots (the three a
    lookup probes lie in one) is then a single cache line."""
    raw = np.zeros(size + 64, dtype=np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip : skip + size]


# The kernel's parameters after the first six (buf, start, decoding, payload, out, components): each
# array's dtype, in order. The native entry point takes each array as (pointer, length).
KERNEL_ARRAYS: tuple[tuple[str, Any], ...] = (
    ("slots", np.uint8),
    ("t1", np.uint8),
    ("t2", np.uint8),
    ("match_table", np.int32),
    ("apm", np.uint32),
    ("sm", np.uint32),
    ("weights", np.int32),
    ("squash", np.int32),
    ("stretch", np.int32),
    ("state_next", np.uint8),
    ("priority", np.int32),
    ("rate", np.int32),
    ("scratch", np.int64),
    ("maps", np.uint32),
    ("x", np.int32),
    ("cost_of", np.int32),
    ("costs", np.int32),
    ("state", np.int64),
    ("tree", np.int32),
)

Kernel = Callable[..., int]
_NUMBA_SWITCHES = ("NUMBA_BOUNDSCHECK", "NUMBA_DISABLE_JIT")
_kernels: dict[str, Kernel] = {}


def kernel(kind: str | None = None) -> Kernel:
    """The compiled kernel: ``"native"`` (machine code from the on-disk cache, no numba import once
    the cache exists) or ``"numba"`` (numba's dispatcher). The default is native, except when
    ``NUMBA_BOUNDSCHECK`` or ``NUMBA_DISABLE_JIT`` asks numba for checked or interpreted code;
    if the native code cannot be loaded, numba's dispatcher is used."""
    if kind is None:
        numba_asked = any(os.environ.get(name, "0") not in ("", "0") for name in _NUMBA_SWITCHES)
        kind = "numba" if numba_asked else "native"
    if kind not in _kernels:
        if kind == "native":
            _kernels[kind] = _native()
        elif kind == "numba":
            from . import _cm_kernel

            _kernels[kind] = _cm_kernel._run
        else:
            raise ValueError(f"unknown kernel {kind!r}")
    return _kernels[kind]


# The kernel's compiled copies (sigmalang._cm_kernel._run), each named by the number of hashed
# contexts of the full component set it was compiled for: version 5's (10, levels 7-9), version 4's
# (9, levels 5 and 6), versions 2-3's (7), and 0 for the copy that takes any set; with
# COPY_PARAGRAPHS added, the set levels 5-8 write for running text whose lines are paragraphs:
# version 5's or 4's full set without the column, field and indirect contexts and the third weight
# set (PARAGRAPH_OFF; docs/cm.md, "Running text"). On the copy for any set, such a set would execute
# more instructions than the full set on its own copy.
# COPY_FAST (3: orders 3, 4 and 6) is the copy for level 4's set in model version 2, COMPONENTS_FAST:
# orders 1-6, the match model and the learning-rate schedule, one weight set.
ANY, FULL, PARAGRAPHS, FAST = 0, 1, 2, 3  # the kind of set a copy is compiled for (sigmalang._cm_kernel._model)
PARAGRAPH_OFF = 1 << C_COLUMN | 1 << C_FIELD | 1 << C_MIXER3 | 1 << C_INDIRECT
COMPONENTS_FAST = (
    1 << C_ORDER1 | 1 << C_ORDER2 | 1 << C_ORDER3 | 1 << C_ORDER4 | 1 << C_ORDER6 | 1 << C_MATCH | 1 << C_RATE
)
COPY_PARAGRAPHS = 64
COPY_FAST = 3
COPIES = (N_HASHED, 9, 7, 0, COPY_PARAGRAPHS | N_HASHED, COPY_PARAGRAPHS | 9, COPY_FAST)
FULL_SETS = {  # each full copy's set
    N_HASHED: COMPONENTS_ALL,
    9: COMPONENTS_V4,
    7: COMPONENTS_V3,
    COPY_PARAGRAPHS | N_HASHED: COMPONENTS_ALL & ~PARAGRAPH_OFF,
    COPY_PARAGRAPHS | 9: COMPONENTS_V4 & ~PARAGRAPH_OFF,
    COPY_FAST: COMPONENTS_FAST,
}
FULL_VERSIONS = {
    N_HASHED: MODEL_VERSION,
    9: 4,
    7: 3,
    COPY_PARAGRAPHS | N_HASHED: MODEL_VERSION,
    COPY_PARAGRAPHS | 9: 4,
    COPY_FAST: 2,
}


def full_copy(components: int, version: int) -> int:
    """The compiled copy of the model that codes a payload of *components* in model *version*: the
    full set of version 5 (N_HASHED), of version 4 (9; also a version-5 payload without component
    17, coded as version 4 codes it) or of versions 2 and 3 (7; streams written before version 4),
    the first two also without PARAGRAPH_OFF (COPY_PARAGRAPHS added), level 4's set in version 2
    (COPY_FAST), else 0 (any set). :func:`sigmalang._cm_kernel._run` makes the same choice for the
    first three."""
    for copy, full in ((N_HASHED, COMPONENTS_ALL), (9, COMPONENTS_V4)):
        if version >= FULL_VERSIONS[copy] and components in (full, full & ~PARAGRAPH_OFF):
            return copy | (0 if components == full else COPY_PARAGRAPHS)
    if version in (2, 3) and components == COMPONENTS_V3:
        return 7
    if version == 2 and components == COMPONENTS_FAST:
        return COPY_FAST
    return 0


def _native() -> Kernel:
    """The native kernel: each of the model's compiled copies (COPIES) loaded the first time a
    frame needs it, numba's dispatcher where one cannot be."""
    from . import _cm_native

    copies: dict[int, Kernel] = {}

    def run(*args: Any) -> int:  # the kernel's arguments, the component set and version sixth and seventh
        copy = full_copy(args[5], args[6]) if len(args) > 6 else 0  # too few: the kernel's own check says so
        if copy not in copies:
            copies[copy] = _cm_native.load(copy) or kernel("numba")
        return copies[copy](*args)

    return run


class Primed:
    """The model after it has read a primer, with nothing coded yet (:func:`prime`): its tables and
    its state between bytes. :func:`code` starts each call from a copy, so the primer is read once
    for any number of frames that begin with it. The copy goes into working tables kept with it
    (copying into memory already in use is several times faster than into new memory); a call made
    while another one uses them copies into new tables."""

    __slots__ = ("primer", "components", "hash_bits", "version", "tables", "state", "work", "busy")

    def __init__(self, primer: bytes, components: int, hash_bits: int, version: int, tables: list[np.ndarray]):
        self.primer = primer
        self.components = components
        self.hash_bits = hash_bits
        self.version = version
        self.tables = tables
        self.state = np.zeros(STATE_SIZE, dtype=np.int64)
        self.work: list[np.ndarray] = []
        self.busy = threading.Lock()


def _check(components: int, hash_bits: int, version: int) -> None:
    known = COMPONENTS_OF.get(version, 0)
    if not HASH_BITS_MIN <= hash_bits <= HASH_BITS_MAX or components & ~known or version not in MODEL_VERSIONS:
        raise ValueError(f"bad CM parameters: version {version}, components {components:#x}, hash bits {hash_bits}")


def _fresh_tables(components: int, hash_bits: int, version: int) -> list[np.ndarray]:
    """The tables the kernel updates, as a frame starts: slots, t1, t2, match_table, apm, sm,
    weights (KERNEL_ARRAYS' order), then scratch, maps and x."""
    sm = np.tile(_STATE_MAP_INIT.astype(np.uint32), 3 + N_HASHED)  # state map i: sm[256 i : 256 i + 256]
    weights = np.full((THIRD_SETS + 256) * N_INPUTS + FINAL_WEIGHTS, 1 << 14, dtype=np.int32)
    if version >= 4:  # the inputs of versions 4 and 5 start unweighted: the mixer starts as version 3's
        weights[:-FINAL_WEIGHTS].reshape(-1, N_INPUTS)[:, 13:] = 0
    sets = 1 + (components >> C_MIXER2 & 1) + (components >> C_MIXER3 & 1)
    weights[-FINAL_WEIGHTS:] = 65536 // sets  # the final mixer starts as the average of the sets
    return [
        _zeros_aligned(16 << hash_bits),
        np.zeros(256 << 8, dtype=np.uint8),
        _zeros_aligned(256 << 16),
        np.zeros(1 << (hash_bits - 2), dtype=np.int32),
        np.tile(_APM_ROWS[version], 65536),
        sm,
        weights,
        np.zeros(8 * N_HASHED, dtype=np.int64),
        np.full(256 + 64, 1 << 31, dtype=np.uint32),
        np.zeros(N_INPUTS, dtype=np.int32),
    ]


def _copy(table: np.ndarray) -> np.ndarray:
    out = _zeros_aligned(table.nbytes).view(table.dtype) if table.dtype == np.uint8 else np.empty_like(table)
    np.copyto(out, table)
    return out


def prime(
    primer: bytes, components: int, hash_bits: int, version: int = MODEL_VERSION, kind: str | None = None
) -> Primed:
    """The model after reading *primer* (at least one byte), for frames coded with these
    parameters whose input starts with it: ``code(..., primed=...)`` then writes the same bytes as
    a call that reads the primer itself."""
    _check(components, hash_bits, version)
    if not primer:
        raise ValueError("an empty primer")
    buf = np.frombuffer(primer, dtype=np.uint8).copy()
    primed = Primed(primer, components, hash_bits, version, _fresh_tables(components, hash_bits, version))
    # Nothing to code: the kernel models the primer in primed's own tables and stores its state.
    empty, out = np.zeros(0, np.uint8), np.zeros(8, np.uint8)
    code(buf, len(buf), False, empty, out, components, hash_bits, kind=kind, version=version, primed=primed)
    return primed


def code(
    buf: np.ndarray,
    start: int,
    decoding: bool,
    payload: np.ndarray,
    out: np.ndarray,
    components: int,
    hash_bits: int,
    kind: str | None = None,
    version: int = MODEL_VERSION,
    costs: np.ndarray | None = None,
    primed: Primed | None = None,
    tree: np.ndarray | None = None,
) -> int:
    """Run the kernel (:func:`sigmalang._cm_kernel._run`) for model *version* with fresh tables
    (allocated here, by numpy, so that large ones get transparent huge pages where the system
    offers them), or with a copy of *primed*'s, which must be for the same parameters and a
    primer that *buf* starts with (the kernel then starts after it). With *costs* (an int32 array
    as long as *buf*, zeroed), the kernel also adds to ``costs[i]`` what coding byte i cost, in
    ``COST_SCALE``-ths of a bit: what ``sigmalang inspect`` shows; it changes no output byte.
    *tree* is the byte trees' table (:func:`tree_table`; None: the flat trees), for every byte the
    model reads; a primed model's primer was read with the flat trees."""
    for name, array in (("buf", buf), ("payload", payload), ("out", out)):
        if array.dtype != np.uint8 or array.ndim != 1 or not array.flags.c_contiguous:
            raise TypeError(f"{name} must be a contiguous 1-D uint8 array")
    if costs is not None and (costs.dtype != np.int32 or costs.shape != buf.shape or not costs.flags.c_contiguous):
        raise TypeError("costs must be a contiguous int32 array as long as buf")
    if not 0 <= start <= buf.shape[0]:
        raise ValueError(f"start {start} outside 0..{buf.shape[0]}")
    _check(components, hash_bits, version)
    if tree is None:
        tree = FLAT_TREE
    elif tree.dtype != np.int32 or tree.shape != (TREE_SIZE,):
        raise TypeError(f"tree must be an int32 array of {TREE_SIZE}")
    if primed is not None:
        if tree is not FLAT_TREE:
            raise ValueError("a primed model reads its primer with the flat trees")
        n = len(primed.primer)
        if (primed.components, primed.hash_bits, primed.version) != (components, hash_bits, version):
            raise ValueError("the primed model was made with other parameters")
        if n > start or buf[:n].tobytes() != primed.primer:
            raise ValueError("buf does not start with the primed model's primer")
    # Fresh tables; or a copy of primed's, the kernel going on from its state; or, while prime()
    # makes it (state[1] still 0), primed's own tables, the kernel storing its state at the end.
    state = np.zeros(0, dtype=np.int64)
    held = False
    if primed is None:
        tables = _fresh_tables(components, hash_bits, version)
    elif primed.state[1] == 0:  # making it
        tables, state = primed.tables, primed.state
    else:
        held = primed.busy.acquire(blocking=False)
        if held and primed.work:
            for work, table in zip(primed.work, primed.tables, strict=True):
                np.copyto(work, table)
            tables = primed.work
        else:
            tables = [_copy(t) for t in primed.tables]
            if held:
                primed.work = tables
        state = primed.state.copy()
        state[0] = 1
    slots, t1, t2, match_table, apm, sm, weights, scratch, maps, x = tables
    try:
        result = kernel(kind)(
            buf,
            start,
            decoding,
            payload,
            out,
            components,
            version,
            slots,
            t1,
            t2,
            match_table,
            apm,
            sm,
            weights,
            SQUASH,
            STRETCH,
            STATE_NEXT.ravel(),  # row s, column y at 2 s + y
            _STATE_PRIORITY,
            _RATE,
            scratch,
            maps,
            x,
            COST_OF,
            np.zeros(0, dtype=np.int32) if costs is None else costs,
            state,
            tree,
        )
    finally:
        if held:
            primed.busy.release()  # type: ignore[union-attr]
    if result == -3:
        raise ValueError("the primed model's state does not fit the buffer")
    return int(result)
