"""Measure a model of another shape: each byte first coded as one event, "the guessed byte is right".

    python benchmarks/cm_guess.py FILES... [--limit 2MB] [--plain]

The CM model codes eight binary decisions for every byte. Most bytes of text and of record codes
are the byte that followed the same context the last time, so a model that guesses that byte and
codes one event ("the guess is right"), and the byte's eight bits only when it is wrong, makes
about half the decisions. This script is such a model, written to measure the idea, not part of
the product (no decoder; it only encodes and counts):

- six guessing contexts (orders 1, 2, 3, 4 and 6 and the current word) in one hashed table of
  32-bit entries: a check byte, the context's guess, a bit history of its guesses' hits and
  misses, and a vote count; the guess is the byte that won the context's vote (a miss lowers the
  count, and the byte seen replaces the guess when it reaches zero; ``--plain``: the last byte
  seen instead), taken from the highest order that has one, or from the match model inside a
  match of 16 bytes or more;
- the event is mixed from each context's bit history mapped to a probability (separately where
  the context's own guess agrees with the chosen one or not, and by its vote count), the match
  model's agreement and length, by weight sets chosen by the guess's order and how many contexts
  agree, then an APM by the guessing context's history;
- on a miss, the eight bits are coded as the CM model codes them, with fewer components: orders 0
  and 1 in direct tables, orders 2, 3, 4 and 6 and the word in hashed nibble slots, the guessed
  byte's bit while the bits so far match it, two weight sets (by the partial byte and by the
  guess's order and bit position), an order-1 APM; the last bit is not coded where the seven
  before match the guess (the byte cannot be the guess).

It uses the CM model's own tables (state machine, state maps' rates, stretch and squash) and
coder. For each file it prints the output size and encode speed beside the CM model's with every
component (level 6's settings) and with level 4's set, in the same run, and then where the bytes
go: the bytes the guess got right and those it got wrong, what each model spends on them (the CM
model's per-byte costs, as ``sigmalang inspect`` shows them). docs/cm.md, "A guessed byte coded
as one event", has the results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from numba import njit

from cm_proto import adapt, after_byte, apm_at, apm_train, code_bit, find_slot, flush, hash2, mix2, squash, train2
from sigmalang import _cm
from sigmalang._backends import CmBackend
from sigmalang._cm import _STATE_MAP_INIT, _STATE_PRIORITY, STATE_NEXT, STRETCH

N_GUESS = 6  # orders 1, 2, 3, 4, 6 and the word
N_BITS = 7  # orders 0 and 1 direct, then the hashed ones
N_HASHED = 5  # orders 2, 3, 4, 6 and the word, for the bits
VOTE_MAX = 3
MATCH_TRUSTED = 16  # from this match length on, the match model's byte is the guess
GUESS_ORDER = (4, 3, 5, 2, 1, 0)  # guessing contexts by priority: orders 6, 4, the word, 3, 2, 1
LEARNING_RATE = 6


@njit(cache=True)
def _encode(data: np.ndarray, bits: int, vote: bool) -> tuple[int, int, np.ndarray, np.ndarray]:  # noqa: C901
    """Encode *data*; returns the output size, the number of right guesses, each byte's cost in
    bits and each byte's kind (0 no guess, 1 guess wrong, 2 guess right)."""
    n = data.shape[0]
    out = np.zeros(n + n // 2 + 1024, dtype=np.uint8)
    size, x1, x2 = 0, 0, 0xFFFFFFFF
    mask = (1 << bits) - 1
    guesses = np.zeros(1 << bits, dtype=np.uint32)  # check << 24 | guess << 16 | history << 8 | votes
    slots = np.zeros((1 << bits) * 16, dtype=np.uint8)
    order0 = np.zeros(256, dtype=np.uint8)
    order1 = np.zeros(65536, dtype=np.uint8)
    guess_maps = np.zeros(N_GUESS * 2 * 4 * 256, dtype=np.int64)
    for i in range(guess_maps.shape[0]):
        guess_maps[i] = _STATE_MAP_INIT[i & 255]
    bit_maps = np.zeros(N_BITS * 256, dtype=np.int64)
    for i in range(bit_maps.shape[0]):
        bit_maps[i] = _STATE_MAP_INIT[i & 255]
    half = (1 << 21) << 10
    guess_bit_maps = np.full(8 * 8, half, dtype=np.int64)
    match_maps = np.full(32 * 2, half, dtype=np.int64)
    n_event = N_GUESS + 3
    n_bit = N_BITS + 2
    event_weights = np.full(64 * n_event, 65536 * 3 // 10, dtype=np.int64)
    bit_weights = np.full(512 * n_bit, 65536 * 3 // 10, dtype=np.int64)
    bit_weights2 = np.full(64 * n_bit, 65536 * 3 // 10, dtype=np.int64)
    event_apm = np.zeros(8 * 256 * 33, dtype=np.int64)
    bit_apm = np.zeros(65536 * 33, dtype=np.int64)
    for i in range(33):
        v = squash((i - 16) * 128) * 16
        event_apm[i::33] = v
        bit_apm[i::33] = v
    match_table = np.zeros(1 << 20, dtype=np.int32)
    match_at, match_len = 0, 0
    x = np.zeros(16, dtype=np.int64)
    ctx = np.zeros(N_GUESS, dtype=np.int64)
    at = np.zeros(N_GUESS, dtype=np.int64)
    their = np.zeros(N_GUESS, dtype=np.int64)
    nibble_at = np.zeros(N_HASHED, dtype=np.int64)
    states = np.zeros(N_BITS, dtype=np.int64)
    cost = np.zeros(n)
    kind = np.zeros(n, dtype=np.uint8)
    c4, c8, word, right = 0, 0, 0, 0
    for pos in range(n):
        c = int(data[pos])
        ctx[0] = hash2(c4 & 0xFF, 1)
        ctx[1] = hash2(c4 & 0xFFFF, 2)
        ctx[2] = hash2(c4 & 0xFFFFFF, 3)
        ctx[3] = hash2(c4, 4)
        ctx[4] = hash2(c4, (c8 & 0xFFFF) + 5 * 65536)
        ctx[5] = hash2(word, 6)
        for k in range(N_GUESS):  # find each context's entry (two ways), or the one to replace
            check = ctx[k] >> 24
            i = (ctx[k] * 7 + k) & mask
            e, e2 = guesses[i], guesses[i ^ 1]
            if (e >> 24) == check and (e & 255) != 0:
                at[k] = i
            elif (e2 >> 24) == check and (e2 & 255) != 0:
                at[k] = i ^ 1
            else:
                older = i if _STATE_PRIORITY[(e >> 8) & 255] <= _STATE_PRIORITY[(e2 >> 8) & 255] else i ^ 1
                at[k] = -1 - older
            their[k] = (guesses[at[k]] >> 16) & 255 if at[k] >= 0 else -1
        guess, order = -1, 0
        for k in GUESS_ORDER:
            if their[k] >= 0:
                guess, order = their[k], k + 1
                break
        match_byte = int(data[match_at]) if match_len > 0 else -1
        if match_len >= MATCH_TRUSTED:
            guess, order = match_byte, 7
        y = 0
        if guess >= 0:
            agree = 0
            for k in range(N_GUESS):
                if their[k] >= 0:
                    a = 1 if their[k] == guess else 0
                    agree += a
                    e = guesses[at[k]]
                    x[k] = STRETCH[guess_maps[((k * 2 + a) * 4 + (e & 3)) * 256 + ((e >> 8) & 255)] >> 20]
                else:
                    x[k] = 0
            length = min(match_len, 31)
            same = 1 if match_byte == guess else 0
            x[N_GUESS] = STRETCH[match_maps[length * 2 + same] >> 20] if match_byte >= 0 else 0
            x[N_GUESS + 1] = 256
            x[N_GUESS + 2] = length * 32 if same else -length * 16
            base = (order * 8 + agree) * n_event
            dot = 0
            for i in range(n_event):
                dot += x[i] * event_weights[base + i]
            dot = min(max(dot >> 16, -2047), 2047)
            p_mix = squash(dot)
            history = (guesses[at[order - 1]] >> 8) & 255 if order <= N_GUESS else 0
            p_apm, lo, w = apm_at(event_apm, order * 256 + history, dot)
            p = min(max((p_mix + 3 * p_apm) >> 2, 1), 4095)
            y = 1 if c == guess else 0
            size, x1, x2, spent = code_bit(out, size, x1, x2, p, y)
            cost[pos] += spent
            kind[pos] = 1 + y
            right += y
            err = ((y << 12) - p_mix) * LEARNING_RATE
            for i in range(n_event):
                event_weights[base + i] += (x[i] * err) >> 10
            apm_train(event_apm, lo, w, y)
            for k in range(N_GUESS):
                if their[k] >= 0:
                    e = guesses[at[k]]
                    j = (((k * 2 + (1 if their[k] == guess else 0)) * 4 + (e & 3)) * 256) + ((e >> 8) & 255)
                    guess_maps[j] = adapt(guess_maps[j], 1 if their[k] == c else 0, 255)
            if match_byte >= 0:
                j = length * 2 + same
                match_maps[j] = adapt(match_maps[j], 1 if match_byte == c else 0, 255)
        if y == 0:  # the byte's eight bits
            c0 = 1
            for b in range(8):
                if b == 0 or b == 4:
                    for j in range(N_HASHED):
                        nibble_at[j] = find_slot(slots, hash2(ctx[j + 1], c0 + 0x100 * j), mask)
                node = c0 if b < 4 else (c0 & ((1 << (b - 4)) - 1)) | (1 << (b - 4))
                states[0] = order0[c0]
                states[1] = order1[(c4 & 255) * 256 + c0]
                for j in range(N_HASHED):
                    states[j + 2] = slots[nibble_at[j] + node]
                for j in range(N_BITS):
                    x[j] = STRETCH[bit_maps[j * 256 + states[j]] >> 20]
                guess_bit = -1
                if guess >= 0 and ((guess | 256) >> (8 - b)) == c0:
                    guess_bit = (guess >> (7 - b)) & 1
                    if b == 7:  # the byte is not the guess: its last bit is known
                        c0 = c0 * 2 + 1 - guess_bit
                        continue
                    stretched = STRETCH[guess_bit_maps[b * 8 + order] >> 20]
                    x[N_BITS] = stretched if guess_bit else -stretched
                else:
                    x[N_BITS] = 0
                x[N_BITS + 1] = 256
                base = (c0 + (256 if guess_bit >= 0 else 0)) * n_bit
                base2 = (order * 8 + b) * n_bit
                dot, dot2 = mix2(x, n_bit, bit_weights, base, bit_weights2, base2)
                p1, p2 = squash(dot), squash(dot2)
                mixed = (dot + dot2) >> 1
                p_apm, lo, w = apm_at(bit_apm, (c4 & 255) * 256 + c0, mixed)
                p = min(max((squash(mixed) + 3 * p_apm) >> 2, 1), 4095)
                bit = (c >> (7 - b)) & 1
                size, x1, x2, spent = code_bit(out, size, x1, x2, p, bit)
                cost[pos] += spent
                err, err2 = ((bit << 12) - p1) * LEARNING_RATE, ((bit << 12) - p2) * LEARNING_RATE
                train2(x, n_bit, bit_weights, base, err, bit_weights2, base2, err2)
                apm_train(bit_apm, lo, w, bit)
                for j in range(N_BITS):
                    bit_maps[j * 256 + states[j]] = adapt(bit_maps[j * 256 + states[j]], bit, 1023)
                order0[c0] = STATE_NEXT[order0[c0], bit]
                order1[(c4 & 255) * 256 + c0] = STATE_NEXT[states[1], bit]
                for j in range(N_HASHED):
                    slots[nibble_at[j] + node] = STATE_NEXT[states[j + 2], bit]
                if guess_bit >= 0:
                    gi = b * 8 + order
                    guess_bit_maps[gi] = adapt(guess_bit_maps[gi], 1 if bit == guess_bit else 0, 255)
                c0 = c0 * 2 + bit
        for k in range(N_GUESS):  # each context learns the byte
            if at[k] >= 0:
                e = guesses[at[k]]
                mine, votes = (e >> 16) & 255, e & 255
                history = STATE_NEXT[(e >> 8) & 255, 1 if mine == c else 0]
                if not vote:
                    mine, votes = c, 1
                elif mine == c:
                    votes = min(votes + 1, VOTE_MAX)
                else:
                    votes -= 1
                    if votes == 0:
                        mine, votes = c, 1
                guesses[at[k]] = (e & 0xFF000000) | (mine << 16) | (history << 8) | votes
            else:
                guesses[-1 - at[k]] = ((ctx[k] >> 24) << 24) | (c << 16) | 1
        c4, c8, word, match_len, match_at = after_byte(data, pos, c4, c8, word, match_len, match_at, match_table)
    size = flush(out, size, x1)
    return size, right, cost, kind


def _cm_size(data: bytes, components: int, bits: int) -> tuple[int, float]:
    backend = CmBackend(components, bits)
    backend.encode(data[:4096])
    start = time.process_time()
    size = len(backend.encode(data))
    return size, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--limit", default="2MB", help="bytes of each file (default 2MB)")
    parser.add_argument("--plain", action="store_true", help="guess the last byte seen, not the vote's winner")
    args = parser.parse_args()
    limit = int(float(args.limit.rstrip("MB")) * 1_000_000) if args.limit.endswith("MB") else int(args.limit)
    _encode(np.frombuffer(bytes(5000), dtype=np.uint8), 22, not args.plain)  # compile or load (read-only arrays)
    for path in args.files:
        data = path.read_bytes()[:limit]
        array = np.frombuffer(data, dtype=np.uint8)
        start = time.process_time()
        size, right, cost, kind = _encode(array, 22, not args.plain)
        seconds = time.process_time() - start
        costs = np.zeros(len(data), dtype=np.int32)
        scratch = np.zeros(len(data) + 1024, dtype=np.uint8)
        _cm.code(array.copy(), 0, False, np.zeros(0, np.uint8), scratch, 0xFFFF, 22, version=4, costs=costs)
        full_size, full_s = _cm_size(data, 0xFFFF, 22)
        fast_size, fast_s = _cm_size(data, 0x121F, 20)
        mb = len(data) / 1e6
        print(f"{path.name}: {len(data):,} bytes, the guess right for {right / len(data):.1%} of them")
        print("| model | output | ratio | encode MB/s |\n| --- | ---: | ---: | ---: |")
        for name, out, s in (
            ("CM, every component (level 6)", full_size, full_s),
            ("CM, level 4's set", fast_size, fast_s),
            ("one event for the guess", size, seconds),
        ):
            print(f"| {name} | {out:,} | {len(data) / out:.3f} | {mb / s:.2f} |")
        print("| bytes | count | CM (every component) bits a byte | guess model bits a byte |")
        print("| --- | ---: | ---: | ---: |")
        full = costs / _cm.COST_SCALE
        for value, name in ((2, "guessed right"), (1, "guessed wrong")):
            where = kind == value
            count = int(where.sum())
            print(f"| {name} | {count:,} | {full[where].mean():.3f} | {cost[where].mean():.3f} |")
        print()


if __name__ == "__main__":
    main()
