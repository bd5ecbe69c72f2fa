"""Measure changes to the context-mixing model before one becomes a model version.

    python benchmarks/cm_variants.py FILES... [--only NAME[+NAME...],...] [--limit 1MB] [--bits 22] [--check]

Each variant is a copy of ``src/sigmalang`` with a few lines of the model changed (VARIANTS
below: exact text replaced, so a variant that no longer applies to today's source says so rather
than measuring something else). Each copy codes every file (its first --limit bytes) with the full
component set at 2^--bits slots, in a child process of its own (which compiles the copy's kernel
into the copy's cache the first time: about a minute), and the table shows how much larger or
smaller each file's payload gets than with the model as it is, and its encode CPU time (all files,
one run each, after the kernel is loaded) as a multiple of the model's. ``--check`` also decodes every
payload and compares it with the input. ``--only order5+column-apm`` measures two variants together
(patches that touch different lines), to see whether their gains add up.

The variants are the candidates of docs/cm.md, "Candidates for a next model version": none of
them is part of the model. The copies live in a temporary folder and are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from cm_ab import parse_size  # the same size syntax (10**3 for KB, 2**10 for KiB)

REPO = Path(__file__).resolve().parent.parent

Patch = tuple[str, str, str]  # (file under src/sigmalang, exact text, its replacement)

# The node probabilities (a 16-bit probability beside each bit-history state, in a second part of
# the slot table, three times its size, one more mixer input per hashed context).
_NODE_PROBABILITIES: list[Patch] = [
    ("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 20 "),
    ("_cm.py", "        _zeros_aligned(16 << hash_bits),", "        _zeros_aligned(48 << hash_bits),"),
    ("_cm_ops.py", "    slot_mask = (slots.shape[0] >> 4) - 1", "    slot_mask = (slots.shape[0] // 48) - 1"),
    (
        "_cm_ops.py",
        "            for j in range(16):\n                slots[_ix(at + j)] = 0\n",
        "            for j in range(16):\n                slots[_ix(at + j)] = 0\n"
        "            for j in range(32):\n                slots[_ix(slots.shape[0] // 3 + 2 * at + j)] = 0\n",
    ),
    (
        "_cm_kernel.py",
        "    slot_mask = (slots.shape[0] >> 4) - 1",
        "    slot_mask = (slots.shape[0] // 48) - 1\n    pbase = slots.shape[0] // 3",
    ),
    (
        "_cm_kernel.py",
        "                    _ix(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n                ]\n",
        "                    _ix(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n                ]\n"
        "                pa = pbase + 2 * at\n"
        "                pd = (np.int64(slots[_ix(pa)]) | (np.int64(slots[_ix(pa + 1)]) << 8)) ^ 0x8000\n"
        "                x[_ix(13 + k)] = stretch[_ix(pd >> 4)] if sk != 0 else 0\n",
    ),
    (
        "_cm_kernel.py",
        "                sm[_ix(e)] = _update(sm[_ix(e)], y, STATE_MAP_LIMIT, rate)\n",
        "                sm[_ix(e)] = _update(sm[_ix(e)], y, STATE_MAP_LIMIT, rate)\n"
        "                pa = pbase + 2 * at\n"
        "                pd = (np.int64(slots[_ix(pa)]) | (np.int64(slots[_ix(pa + 1)]) << 8)) ^ 0x8000\n"
        "                pd += ((y << 16) - pd) >> (1 + min(priority[_ix(s)], 4))\n"
        "                pd = min(max(pd, 64), 65535 - 64) ^ 0x8000\n"
        "                slots[_ix(pa)] = pd & 0xFF\n"
        "                slots[_ix(pa + 1)] = pd >> 8\n",
    ),
]


def _eighth_context(order: int) -> list[Patch]:
    """One more hashed context, of order 5 or 6, as the eighth (its mixer input after the others)."""
    mask = {5: "0xFF", 6: "0xFFFF"}[order]
    return [
        ("_cm.py", "N_HASHED = 7 ", "N_HASHED = 8 "),
        ("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 14 "),
        (
            "_cm_ops.py",
            "    ctx[6] = _hash(field, c1 | (above << 8), 10)\n",
            f"    ctx[6] = _hash(field, c1 | (above << 8), 10)\n    ctx[7] = _hash(c4, c8 & {mask}, 13)\n",
        ),
        (
            "_cm_kernel.py",
            "x[_ix(3 + k if full else x_at[k])]",
            "x[_ix((3 + k if k < 7 else 13) if full else x_at[k])]",
        ),
    ]


# A second match model: the last position of the last 12 bytes' hash (in a second half of the
# match table), verified over 12 bytes or more, as two more inputs like the first one's.
_SECOND_MATCH: list[Patch] = [
    ("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 15 "),
    ("_cm.py", "np.zeros(1 << (hash_bits - 2), dtype=np.int32)", "np.zeros(1 << (hash_bits - 1), dtype=np.int32)"),
    ("_cm.py", "np.full(256 + 64, 1 << 31, dtype=np.uint32)", "np.full(256 + 128, 1 << 31, dtype=np.uint32)"),
    (
        "_cm_kernel.py",
        "    match_mask = match_table.shape[0] - 1\n",
        "    half = match_table.shape[0] >> 1\n    match_mask = half - 1\n    match_sm2 = maps[320:384]\n"
        "    c12 = 0\n    match_ptr2 = 0\n    match_len2 = 0\n",
    ),
    (
        "_cm_kernel.py",
        "        if match_len > 65535:\n",
        """        h12 = half + (_hash(_hash(c4, c8, 21), c12, 22) & match_mask)
        if match_len2 > 0 and buf[_ix(match_ptr2)] == c1:
            match_len2 += 1
            match_ptr2 += 1
        else:
            match_len2 = 0
        if pos >= 12:
            if match_len2 == 0:
                cand = match_table[_ix(h12)]
                if cand > 0:
                    n = 0
                    while n < 48 and n < cand and buf[_ix(cand - 1 - n)] == buf[_ix(pos - 1 - n)]:
                        n += 1
                    if n >= 12:
                        match_len2 = n
                        match_ptr2 = cand
            match_table[_ix(h12)] = pos
        match_len2 = min(match_len2, 65535)
        predicted2 = (buf[_ix(match_ptr2)] | 256) if match_len2 > 0 else 0
        len_bucket2 = match_len2 if match_len2 < 16 else min(16 + ((match_len2 - 16) >> 3), 31)
        if match_len > 65535:
""",
    ),
    (
        "_cm_kernel.py",
        "            wbase = ((mix_sel << 8) | c0) * N_INPUTS\n",
        """            expected2 = -1
            x[13] = 0
            x[14] = 0
            if predicted2 > 0 and (predicted2 >> (8 - bit)) == c0:
                expected2 = (predicted2 >> (7 - bit)) & 1
                x[13] = stretch[_ix(match_sm2[_ix(len_bucket2 * 2 + expected2)] >> 20)]
                x[14] = (expected2 * 2 - 1) * min(match_len2, MATCH_INPUT_MAX) * MATCH_INPUT
            wbase = ((mix_sel << 8) | c0) * N_INPUTS
""",
    ),
    (
        "_cm_kernel.py",
        "            c0 = (c0 << 1) | y\n",
        """            if expected2 >= 0:
                j = len_bucket2 * 2 + expected2
                match_sm2[_ix(j)] = _update(match_sm2[_ix(j)], y, STATE_MAP_LIMIT, rate)
                if y != expected2:
                    predicted2 = 0
            c0 = (c0 << 1) | y
""",
    ),
    (
        "_cm_kernel.py",
        "        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF\n",
        "        c12 = ((c12 << 8) | (c8 >> 24)) & 0xFFFFFFFF\n        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF\n",
    ),
]

_COLUMN_ROW = "((((min(col, 31) << 3) | min(field, 7)) << 8) | c0)"  # a row of 65,536: column and field
_ORDER2_ROW = "(((_hash(c4 & 0xFFFF, 0, 23) + c0 * 0x9E3779B1) & 0xFFFFFFFF) >> 16)"  # a hash of order 2
_APM_AT = "(np.int64(apm[_ix({0})]) * (128 - wt) + np.int64(apm[_ix({0} + 1)]) * wt) >> (apm_bits + 7 - p_bits)"
_FINAL_P = "            if v2:  # 16 bits\n                p = (p_mix * 16 + 7 * p_apm + 4) >> 3\n"


def _more_apms(rows: list[str], weights: str) -> list[Patch]:
    """APMs 2, 3, ... beside the first (each a table of 65,536 rows after the ones before it, its
    row chosen by the expression in *rows*), the final probability *weights* (in 16ths, as
    ``p = (p_mix * 32 + ... + 8) >> 4``), each trained as the first one is."""
    made = "".join(
        f"            a{k} = ({65536 * (k - 1)} + {row}) * 33 + (sv >> 7)\n"
        f"            p_apm{k} = {_APM_AT.format(f'a{k}')}\n"
        for k, row in enumerate(rows, 2)
    )
    trained = "".join(
        f"            b{k} = a{k} + (wt >> 6)\n"
        f"            apm[_ix(b{k})] += ((y << apm_bits) - np.int64(apm[_ix(b{k})])) >> APM_RATE\n"
        for k in range(2, len(rows) + 2)
    )
    return [
        ("_cm.py", "np.tile(_APM_ROWS[version], 65536)", f"np.tile(_APM_ROWS[version], {65536 * (len(rows) + 1)})"),
        ("_cm_kernel.py", _FINAL_P, made + f"            if v2:  # 16 bits\n                p = {weights}\n"),
        ("_cm_kernel.py", "            b = a + (wt >> 6)\n", trained + "            b = a + (wt >> 6)\n"),
    ]


# A second APM, chosen by the column (0-31) and field number (0-7) as the third weight set is, its
# output averaged with the first APM's.
_COLUMN_APM = _more_apms([_COLUMN_ROW], "(p_mix * 32 + 7 * p_apm + 7 * p_apm2 + 8) >> 4")

# A second APM chosen by a hash of the order-2 context (16 bits, with the partial byte), its output
# averaged with the first APM's as the column APM's is.
_ORDER2_APM = _more_apms([_ORDER2_ROW], "(p_mix * 32 + 7 * p_apm + 7 * p_apm2 + 8) >> 4")


def _every_candidate() -> list[Patch]:
    """The candidates that save bytes, together (their mixer inputs renumbered so that they do not
    clash): order 5 (input 13), the node probabilities of all eight hashed contexts (14-21), the
    second match model (22-23), and three APMs (order 1, column and field, order 2) weighted 5, 4
    and 5 sixteenths beside the mixer's two."""
    patches: list[Patch] = [("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 24 ")]
    patches += [p for p in _eighth_context(5) if p[1] != "N_INPUTS = 13 "]
    patches += [(f, o, n.replace("x[_ix(13 + k)]", "x[_ix(14 + k)]")) for f, o, n in _NODE_PROBABILITIES[1:]]
    patches += [(f, o, n.replace("x[13]", "x[22]").replace("x[14]", "x[23]")) for f, o, n in _SECOND_MATCH[1:]]
    patches += _more_apms([_COLUMN_ROW, _ORDER2_ROW], "(p_mix * 32 + 5 * p_apm + 4 * p_apm2 + 5 * p_apm3 + 8) >> 4")
    return patches


# An indirect context: the byte that followed the current order-2 context the last time (kept in
# the order-2 table's unused entry 0 of the context's row), hashed with the previous byte, as an
# eighth hashed context.
_INDIRECT: list[Patch] = [
    ("_cm.py", "N_HASHED = 7 ", "N_HASHED = 8 "),
    ("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 14 "),
    (
        "_cm_ops.py",
        "field: int, v3: bool, ctx: np.ndarray\n) -> None:",
        "field: int, v3: bool, ctx: np.ndarray, ind: int\n) -> None:",
    ),
    (
        "_cm_ops.py",
        "    ctx[6] = _hash(field, c1 | (above << 8), 10)\n",
        "    ctx[6] = _hash(field, c1 | (above << 8), 10)\n    ctx[7] = _hash(ind | (c1 << 8), 0, 13)\n",
    ),
    (
        "_cm_ops.py",
        "        _contexts(n4, n8, word, word_prev, above, col, field, v3, ctx)\n",
        "        _contexts(n4, n8, word, word_prev, above, col, field, v3, ctx, t2[_ix((n4 & 0xFFFF) << 8)])\n",
    ),
    (
        "_cm_kernel.py",
        "            _contexts(c4, c8, word, word_prev, above, col, field, v3, ctx)\n",
        "            _contexts(c4, c8, word, word_prev, above, col, field, v3, ctx, t2[_ix((c4 & 0xFFFF) << 8)])\n",
    ),
    (
        "_cm_kernel.py",
        "x[_ix(3 + k if full else x_at[k])]",
        "x[_ix((3 + k if k < 7 else 13) if full else x_at[k])]",
    ),
    (
        "_cm_kernel.py",
        "        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF\n",
        "        t2[_ix((c4 & 0xFFFF) << 8)] = byte\n        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF\n",
    ),
]


def _indirect(context: str, with_order1: bool) -> list[Patch]:
    """The indirect context with *context* (an expression of c1, c4 and ind, the order-2 context's
    last follower) in place of its hash; *with_order1*: the byte that last followed the previous
    byte alone (kept in the order-1 table's unused entry 0 of its row) as ``ind1`` too."""
    patches = [
        (f, o, n.replace("_hash(ind | (c1 << 8), 0, 13)", context))
        if "ctx[7]" in n
        else (f, o, n.replace("ind: int\n", "ind: int, ind1: int\n") if with_order1 else n)
        for f, o, n in _INDIRECT
    ]
    if not with_order1:
        return patches
    one = [
        ("t2[_ix((n4 & 0xFFFF) << 8)])\n", "t2[_ix((n4 & 0xFFFF) << 8)], t1[_ix((n4 & 0xFF) << 8)])\n"),
        ("t2[_ix((c4 & 0xFFFF) << 8)])\n", "t2[_ix((c4 & 0xFFFF) << 8)], t1[_ix((c4 & 0xFF) << 8)])\n"),
        (
            "        t2[_ix((c4 & 0xFFFF) << 8)] = byte\n",
            "        t2[_ix((c4 & 0xFFFF) << 8)] = byte\n        t1[_ix((c4 & 0xFF) << 8)] = byte\n",
        ),
    ]
    for old, new in one:
        patches = [(f, o, n.replace(old, new)) for f, o, n in patches]
    return patches + [
        (
            "_cm_ops.py",
            "    t2: np.ndarray,\n    use2: int,\n) -> None:",
            "    t2: np.ndarray,\n    use2: int,\n    t1: np.ndarray,\n) -> None:",
        ),
        ("_cm_kernel.py", "slots, match_table, t2, use2\n", "slots, match_table, t2, use2, t1\n"),
    ]


# Bit histories that also keep the last bit seen where both counts are above zero (the state
# table's rule otherwise as it is), with smaller count limits so that the states fit in a byte.
_LAST_BIT_TABLES = """def _state_tables() -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    def key(n0: int, n1: int, y: int) -> tuple[int, int, int]:
        return (n0, n1, y) if n0 > 0 and n1 > 0 else ((0, n1, 1) if n1 > 0 else (n0, 0, 0))

    states = sorted(
        {key(n0, n1, y) for n0 in range(63) for n1 in range(63) if _allowed(n0, n1) for y in (0, 1)},
        key=lambda s: (s[0] + s[1], s[1], s[2]),
    )
    assert states[0] == (0, 0, 0) and len(states) <= 256
    ids = {s: i for i, s in enumerate(states)}
    nxt = np.zeros((256, 2), dtype=np.uint8)
    for (n0, n1, _), s in ids.items():
        for y in (0, 1):
            counts = [n0, n1]
            counts[y] += 1
            if counts[1 - y] > 2:
                counts[1 - y] = (counts[1 - y] + 2) // 2
            while not _allowed(counts[0], counts[1]):
                counts[y] -= 1
            nxt[s, y] = ids[key(counts[0], counts[1], y)]
    priority = np.array([n0 + n1 for n0, n1, _ in states] + [0] * (256 - len(states)), dtype=np.int32)
    return nxt, priority, [(n0, n1) for n0, n1, _ in states]


STATE_NEXT, _STATE_PRIORITY, STATE_PAIRS ="""
_LIMITS = "_LIMIT = (62, 30, 16, 10, 7, 6, 6)"
_SMALLER_LIMITS = "_LIMIT = (48, 20, 12, 8, 6, 5)"


def _last_bit() -> list[Patch]:
    source = (REPO / "src" / "sigmalang" / "_cm.py").read_text(encoding="utf-8")
    start = source.index("def _state_tables()")
    end = source.index("STATE_NEXT, _STATE_PRIORITY, STATE_PAIRS =")
    end += len("STATE_NEXT, _STATE_PRIORITY, STATE_PAIRS =")
    return [("_cm.py", _LIMITS, _SMALLER_LIMITS), ("_cm.py", source[start:end], _LAST_BIT_TABLES)]


# Each hashed context's and orders 1-2's probability also as a linear input, p - 1/2 (9 more).
_LINEAR_INPUTS: list[Patch] = [
    ("_cm.py", "N_INPUTS = 13 ", "N_INPUTS = 22 "),
    (
        "_cm_kernel.py",
        "                x[1] = stretch[_ix(sm[_ix(256 + t1[_ix(st1)])] >> 20)]\n",
        "                q = np.int64(sm[_ix(256 + t1[_ix(st1)])] >> 20)\n"
        "                x[1] = stretch[_ix(q)]\n                x[13] = (q - 2048) >> 2\n",
    ),
    (
        "_cm_kernel.py",
        "                x[2] = stretch[_ix(sm[_ix(512 + t2[_ix(st2)])] >> 20)]\n",
        "                q = np.int64(sm[_ix(512 + t2[_ix(st2)])] >> 20)\n"
        "                x[2] = stretch[_ix(q)]\n                x[14] = (q - 2048) >> 2\n",
    ),
    (
        "_cm_kernel.py",
        "                x[_ix(3 + k if full else x_at[k])] = stretch[\n"
        "                    _ix(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n                ]\n",
        "                q = np.int64(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n"
        "                x[_ix(3 + k if full else x_at[k])] = stretch[_ix(q)]\n"
        "                x[_ix(15 + k)] = ((q - 2048) >> 2) if sk != 0 else 0\n",
    ),
]

VARIANTS: dict[str, tuple[str, Callable[[], list[Patch]]]] = {
    "order5": ("an eighth hashed context, order 5", lambda: _eighth_context(5)),
    "order6": ("an eighth hashed context, order 6", lambda: _eighth_context(6)),
    "node-p": ("a probability per context node beside its bit history", lambda: _NODE_PROBABILITIES),
    "match12": ("a second match model on the last 12 bytes", lambda: _SECOND_MATCH),
    "column-apm": ("a second APM by column and field", lambda: _COLUMN_APM),
    "order2-apm": ("a second APM by a hash of the order-2 context", lambda: _ORDER2_APM),
    "last-bit": ("bit histories with the last bit (counts up to 48, 20, 12, 8, 6, 5)", _last_bit),
    "smaller-counts": (
        "those count limits without the last bit (control)",
        lambda: [("_cm.py", _LIMITS, _SMALLER_LIMITS)],
    ),
    "linear": ("probabilities also as linear inputs", lambda: _LINEAR_INPUTS),
    "lr-end-8": (
        "the mixer's final learning rate 8/16 instead of 12/16",
        lambda: [("_cm.py", "LR_END = 12 ", "LR_END = 8 ")],
    ),
    "rate-1023": (
        "the state maps' rate floor at 1023 updates",
        lambda: [("_cm.py", "STATE_MAP_LIMIT = 255 ", "STATE_MAP_LIMIT = 1023 ")],
    ),
    "indirect": ("an eighth hashed context: the byte that last followed the order-2 context", lambda: _INDIRECT),
    "indirect-o2": (
        "the same, hashed with the order-2 context instead of the previous byte",
        lambda: _indirect("_hash(ind | ((c4 & 0xFFFF) << 8), 0, 13)", False),
    ),
    "indirect-both": (
        "the same, with the byte that last followed the previous byte alone as well",
        lambda: _indirect("_hash(ind | (ind1 << 8) | (c1 << 16), 0, 13)", True),
    ),
    "all": ("every candidate that saves bytes, together", _every_candidate),
}

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from sigmalang._backends import CmBackend
from sigmalang._cm import COMPONENTS_ALL
CmBackend(COMPONENTS_ALL, 12).encode(b"load or compile the kernel first " * 40)
sizes = []
seconds = 0.0
for path in sys.argv[5:]:
    data = open(path, "rb").read()[: int(sys.argv[2])]
    backend = CmBackend(COMPONENTS_ALL, int(sys.argv[3]))
    start = time.process_time()
    payload = backend.encode(data)
    seconds += time.process_time() - start
    if sys.argv[4] == "1" and backend.decode(payload, len(data)) != data:
        raise SystemExit(f"round trip FAILED on {path}")
    sizes.append(len(payload))
print(json.dumps([sizes, seconds]))
"""


def patches(name: str) -> list[Patch]:
    """The variant's patches; for NAME+NAME..., each part's in turn (they must not touch the same text)."""
    return [patch for part in name.split("+") for patch in VARIANTS[part][1]()]


def make_copy(name: str, into: Path) -> Path:
    """src/sigmalang copied under *into* with the variant's patches applied; the copy's src folder."""
    src = into / name / "src"
    shutil.copytree(REPO / "src" / "sigmalang", src / "sigmalang", ignore=shutil.ignore_patterns("__pycache__"))
    for file, old, new in patches(name) if name != "model" else []:
        path = src / "sigmalang" / file
        text = path.read_text(encoding="utf-8")
        if text.count(old) != 1:
            clash = " (or two of its parts change the same text)" if "+" in name else ""
            raise SystemExit(f"variant {name} does not apply to today's {file}{clash}: {old.splitlines()[0]!r}")
        path.write_text(text.replace(old, new), encoding="utf-8")
    return src


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument(
        "--only",
        help="comma-separated variants (NAME, or NAME+NAME for several at once; default: each): " + ", ".join(VARIANTS),
    )
    parser.add_argument("--limit", default="1MB", help="bytes of each file to code (default 1MB)")
    parser.add_argument("--bits", type=int, default=22, help="slot table size as a power of two (default 22)")
    parser.add_argument("--check", action="store_true", help="decode every payload and compare it with the input")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    unknown = [part for name in names for part in name.split("+") if part not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")
    limit = parse_size(args.limit)
    results: dict[str, list[int]] = {}
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ["model", *names]:
            src = make_copy(name, Path(tmp))
            command = [sys.executable, "-c", CHILD, str(src), str(limit), str(args.bits), str(int(args.check))]
            run = subprocess.run([*command, *map(str, args.files)], capture_output=True, text=True)
            if run.returncode != 0:
                raise SystemExit(f"variant {name} failed:\n{run.stderr[-2000:]}")
            results[name], seconds[name] = json.loads(run.stdout)
            print(f"  {name}: done", file=sys.stderr)
    base = results["model"]
    print(
        f"each file's first {limit:,} bytes, all components at 2^{args.bits} slots; "
        f"the model as it is: {sum(base):,} bytes"
    )
    print("| change | all files | " + " | ".join(path.name for path in args.files) + " | encode CPU time |")
    print("| --- | ---: | " + " | ".join("---:" for _ in args.files) + " | ---: |")
    for name in names:
        sizes = results[name]
        cells = [f"{(new - old) / old:+.2%}" for new, old in zip(sizes, base, strict=True)]
        total = f"{(sum(sizes) - sum(base)) / sum(base):+.2%}"
        label = " + ".join(VARIANTS[part][0] for part in name.split("+"))
        time = f"{seconds[name] / seconds['model']:.2f}x"  # one run each: loose on a shared machine
        print(f"| {label} | {total} | " + " | ".join(cells) + f" | {time} |")


if __name__ == "__main__":
    main()
