"""Measure a model that codes each byte as the path to its leaf in a tree built from the bytes' counts.

    python benchmarks/cm_tree.py FILES... [--limit 2MB] [--depth 12] [--rounds 2]

The CM model codes eight binary decisions for every byte, one per bit, whatever the byte. A byte
can be coded as any path of decisions down a binary tree whose leaves are the byte values: with a
tree shaped by the bytes' counts, a byte of text takes about as many decisions as its order-0
entropy in bits (4.5-5 on text), so the per-decision work, most of the model's time, falls by a
third or more, and every context still weighs each decision. This script is such a model, written
to measure the idea, not part of the product (no decoder; it only encodes and counts). It runs
the same model three times on each input, so that the differences are the trees' alone: with the
flat tree (every byte eight decisions, its bits: what the CM model does), with a Huffman code of
the input's bytes (shortest paths, the leaves by length), and with a tree that keeps the bytes in
their order (each range of bytes cut where the two sides' counts are nearest equal, so that digits
or letters stay together), both at most ``--depth`` decisions deep, with leaves for the bytes the
input holds only. The model:

- order 0 (by node) and order 1 (previous byte and node) in direct tables; orders 2, 3, 4 and 6
  and the current word in hashed slots of 16 bytes, a check byte and the states of the 15 nodes of
  four levels of the tree (a slot per context at every fourth level: at the byte's start, then
  at depth 4, 8; with the flat tree these are the CM model's nibble slots), two neighbours
  searched, the less used replaced;
- the match model (the last place of the current 6-byte context, up to 32 bytes of length): while
  the path so far is the path of the byte the match predicts, its next decision, as a learnt
  probability per length, signed;
- two weight sets (by node and match state, by the previous byte), averaged in the logistic
  domain; an APM by the previous byte and the node.

It uses the CM model's own tables (state machine, state maps' rates, stretch and squash) and
coder, and counts a tree's cost in the output: the depths of the 256 byte values, four bits each
(128 bytes; a frame would store them). For each file it prints the output size, the decisions a
byte and the encode speed with each tree, best of ``--rounds`` alternating runs, beside the CM
model with every component (level 6's settings) in the same run.
docs/cm.md, "Bytes as paths down a tree of their counts", has the results.
"""

from __future__ import annotations

import argparse
import heapq
import time
from pathlib import Path

import numpy as np
from numba import njit

from cm_proto import adapt, after_byte, apm_at, apm_train, code_bit, find_slot, flush, hash2, mix2, squash, train2
from sigmalang._backends import CmBackend
from sigmalang._cm import _STATE_MAP_INIT, STATE_NEXT, STRETCH

N_HASHED = 5  # orders 2, 3, 4, 6 and the word
N_INPUTS = 2 + N_HASHED + 2  # orders 0 and 1, the hashed ones, the match model, a bias
NODES = 1 << 13  # node numbers of a tree at most 12 deep: a 1 then the path so far
LEARNING_RATE = 6
APM_ROWS = 1 << 18


@njit(cache=True)
def _encode(data: np.ndarray, codes: np.ndarray, lengths: np.ndarray, bits: int) -> tuple[int, int]:  # noqa: C901
    """Encode *data* with byte c the path ``codes[c]`` of ``lengths[c]`` decisions (first decision
    in the highest bit); returns the output size and the number of decisions."""
    n = data.shape[0]
    out = np.zeros(n + n // 2 + 1024, dtype=np.uint8)
    size, x1, x2 = 0, 0, 0xFFFFFFFF
    mask = (1 << bits) - 1
    slots = np.zeros((1 << bits) * 16, dtype=np.uint8)
    order0 = np.zeros(NODES, dtype=np.uint8)
    order1 = np.zeros(256 * NODES, dtype=np.uint8)
    maps = np.zeros((2 + N_HASHED) * 256, dtype=np.int64)
    for i in range(maps.shape[0]):
        maps[i] = _STATE_MAP_INIT[i & 255]
    half = (1 << 21) << 10
    match_maps = np.full(33, half, dtype=np.int64)
    weights = np.full(NODES * 2 * N_INPUTS, 65536 * 3 // 10, dtype=np.int64)
    weights2 = np.full(256 * N_INPUTS, 65536 * 3 // 10, dtype=np.int64)
    apm = np.zeros(APM_ROWS * 33, dtype=np.int32)
    for i in range(33):
        apm[i::33] = squash((i - 16) * 128) * 16
    match_table = np.zeros(1 << 20, dtype=np.int32)
    match_at, match_len = 0, 0
    x = np.zeros(N_INPUTS, dtype=np.int64)
    ctx = np.zeros(N_HASHED, dtype=np.int64)
    slot_at = np.zeros(N_HASHED, dtype=np.int64)
    states = np.zeros(2 + N_HASHED, dtype=np.int64)
    c4, c8, word, decisions = 0, 0, 0, 0
    for pos in range(n):
        c = int(data[pos])
        code, length = int(codes[c]), int(lengths[c])
        prev = c4 & 255
        ctx[0] = hash2(c4 & 0xFFFF, 2)
        ctx[1] = hash2(c4 & 0xFFFFFF, 3)
        ctx[2] = hash2(c4, 4)
        ctx[3] = hash2(c4, (c8 & 0xFFFF) + 5 * 65536)
        ctx[4] = hash2(word, 6)
        expected = int(data[match_at]) if match_len > 0 else -1
        e_code = int(codes[expected]) if expected >= 0 else 0
        e_length = int(lengths[expected]) if expected >= 0 else 0
        on_path = expected >= 0
        c0 = 1
        for d in range(length):
            if d & 3 == 0:  # a slot per hashed context for the next four levels
                for j in range(N_HASHED):
                    slot_at[j] = find_slot(slots, hash2(ctx[j], c0 + 0x2000 * j), mask)
            level = d & 3
            node = (1 << level) | (c0 & ((1 << level) - 1))
            states[0] = order0[c0]
            states[1] = order1[prev * NODES + c0]
            for j in range(N_HASHED):
                states[j + 2] = slots[slot_at[j] + node]
            for j in range(2 + N_HASHED):
                x[j] = STRETCH[maps[j * 256 + states[j]] >> 20]
            e_bit = -1
            if on_path and d < e_length:
                e_bit = (e_code >> (e_length - 1 - d)) & 1
                ml = min(match_len, 32)
                st = STRETCH[match_maps[ml] >> 20]
                x[2 + N_HASHED] = st if e_bit else -st
            else:
                x[2 + N_HASHED] = 0
            x[N_INPUTS - 1] = 256
            base = (c0 * 2 + (1 if e_bit >= 0 else 0)) * N_INPUTS
            base2 = prev * N_INPUTS
            dot, dot2 = mix2(x, N_INPUTS, weights, base, weights2, base2)
            p1, p2 = squash(dot), squash(dot2)
            mixed = (dot + dot2) >> 1
            p_apm, lo, w = apm_at(apm, (c0 * 256 + prev) & (APM_ROWS - 1), mixed)
            p = min(max((squash(mixed) + 3 * p_apm) >> 2, 1), 4095)
            bit = (code >> (length - 1 - d)) & 1
            size, x1, x2, _ = code_bit(out, size, x1, x2, p, bit)
            err, err2 = ((bit << 12) - p1) * LEARNING_RATE, ((bit << 12) - p2) * LEARNING_RATE
            train2(x, N_INPUTS, weights, base, err, weights2, base2, err2)
            apm_train(apm, lo, w, bit)
            for j in range(2 + N_HASHED):
                maps[j * 256 + states[j]] = adapt(maps[j * 256 + states[j]], bit, 1023)
            order0[c0] = STATE_NEXT[states[0], bit]
            order1[prev * NODES + c0] = STATE_NEXT[states[1], bit]
            for j in range(N_HASHED):
                slots[slot_at[j] + node] = STATE_NEXT[states[j + 2], bit]
            if e_bit >= 0:
                ml = min(match_len, 32)
                match_maps[ml] = adapt(match_maps[ml], 1 if bit == e_bit else 0, 255)
                on_path = bit == e_bit
            c0 = c0 * 2 + bit
        decisions += length
        c4, c8, word, match_len, match_at = after_byte(data, pos, c4, c8, word, match_len, match_at, match_table)
    size = flush(out, size, x1)
    return size, decisions


def flat_tree() -> tuple[np.ndarray, np.ndarray]:
    """Every byte its eight bits: the CM model's decisions."""
    return np.arange(256, dtype=np.int64), np.full(256, 8, dtype=np.int64)


def counted_tree(data: bytes, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """A canonical Huffman code of *data*'s bytes at most *depth* deep (counts halved, the present
    ones kept at least 1, until it fits); bytes *data* does not hold get no leaf."""
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.int64)
    present = [c for c in range(256) if counts[c]]
    while True:
        lengths = _huffman_lengths({c: int(counts[c]) for c in present})
        if max(lengths.values()) <= depth:
            break
        counts = np.where(counts > 0, np.maximum(counts >> 1, 1), 0)
    codes, lens = np.zeros(256, dtype=np.int64), np.zeros(256, dtype=np.int64)
    code, last = 0, 0
    for c in sorted(present, key=lambda c: (lengths[c], c)):  # canonical: by length, then value
        code <<= lengths[c] - last
        codes[c], lens[c], last = code, lengths[c], lengths[c]
        code += 1
    return codes, lens


def ordered_tree(data: bytes, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """A tree with *data*'s bytes as leaves in byte order, at most *depth* deep: each range cut
    where the two sides' counts are nearest equal (the leftmost such place), each side no more
    bytes than its depth leaves room for."""
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).astype(np.int64)
    present = [c for c in range(256) if counts[c]]
    codes, lens = np.zeros(256, dtype=np.int64), np.zeros(256, dtype=np.int64)
    todo = [(present, 0, 0)]
    while todo:
        bytes_, code, level = todo.pop()
        if len(bytes_) == 1:
            codes[bytes_[0]], lens[bytes_[0]] = code, level
            continue
        room = 1 << (depth - level - 1)
        total = np.cumsum(counts[bytes_])
        cuts = [k for k in range(1, len(bytes_)) if k <= room and len(bytes_) - k <= room]
        cut = min(cuts, key=lambda k: abs(2 * int(total[k - 1]) - int(total[-1])))
        todo += [(bytes_[:cut], code * 2, level + 1), (bytes_[cut:], code * 2 + 1, level + 1)]
    return codes, lens


def _huffman_lengths(counts: dict[int, int]) -> dict[int, int]:
    if len(counts) == 1:
        return dict.fromkeys(counts, 1)
    heap = [(n, c, (c,)) for c, n in counts.items()]
    heapq.heapify(heap)
    lengths = dict.fromkeys(counts, 0)
    while len(heap) > 1:
        n1, k1, a = heapq.heappop(heap)
        n2, k2, b = heapq.heappop(heap)
        for c in a + b:
            lengths[c] += 1
        heapq.heappush(heap, (n1 + n2, min(k1, k2), a + b))
    return lengths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--limit", default="2MB", help="bytes of each file (default 2MB)")
    parser.add_argument("--depth", type=int, default=12, choices=range(8, 13), help="the deepest leaf (default 12)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each, the best kept (default 2)")
    args = parser.parse_args()
    limit = int(float(args.limit.rstrip("MB")) * 1_000_000) if args.limit.endswith("MB") else int(args.limit)
    _encode(np.frombuffer(bytes(5000), dtype=np.uint8), *flat_tree(), 22)  # compile or load
    print("| input | model | output | ratio | decisions a byte | encode MB/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for path in args.files:
        data = path.read_bytes()[:limit]
        array = np.frombuffer(data, dtype=np.uint8)
        trees = {
            "flat tree (8 decisions)": flat_tree(),
            "Huffman tree": counted_tree(data, args.depth),
            "tree in byte order": ordered_tree(data, args.depth),
        }
        best: dict[str, tuple[int, int, float]] = {}
        for _ in range(args.rounds):
            for name, (codes, lengths) in trees.items():
                start = time.process_time()
                size, decisions = _encode(array, codes, lengths, 22)
                seconds = time.process_time() - start
                extra = 0 if name.startswith("flat") else 128
                if name not in best or seconds < best[name][2]:
                    best[name] = (size + extra, decisions, seconds)
        backend = CmBackend(0xFFFF, 22)
        backend.encode(data[:4096])
        start = time.process_time()
        full = len(backend.encode(data))
        full_s = time.process_time() - start
        mb = len(data) / 1e6
        ratio = len(data) / full
        print(f"| {path.name} | CM, every component (level 6) | {full:,} | {ratio:.3f} | 8 | {mb / full_s:.2f} |")
        for name, (size, decisions, seconds) in best.items():
            print(
                f"| {path.name} | {name} | {size:,} | {len(data) / size:.3f} | {decisions / len(data):.2f} "
                f"| {mb / seconds:.2f} |"
            )


if __name__ == "__main__":
    main()
