"""Measure changes to the context-mixing model before one becomes a model version.

    python benchmarks/cm_variants.py FILES... [--only NAME[+NAME...],...] [--limit 1MB] [--bits 22] [--check]

Each variant is a copy of ``src/sigmalang`` with a few lines of the model changed (VARIANTS
below: exact text replaced, so a variant that no longer applies to today's source says so rather
than measuring something else). Each copy codes every file (its first --limit bytes) with the full
component set at 2^--bits slots, in a child process of its own (which compiles the copy's kernel
into the copy's cache the first time: a few minutes; the model and every variant run on numba's
dispatcher, so that their times compare), and the table shows how much larger or
smaller each file's payload gets than with the model as it is, and its encode CPU time (all files,
one run each, after the kernel is loaded) as a multiple of the model's. ``--check`` also decodes every
payload and compares it with the input. ``--only node-p+column-apm`` measures two variants together
(each part applied to the copy as the parts before it left it: new inputs and contexts are numbered
after those already there), to see whether their gains add up.

The variants are the candidates of docs/cm.md, "Candidates for a next model version": none of
them is part of the model (the ones that became part of it, order 5 and the indirect context in
model version 4 and the word-skip context in version 5, are no longer listed). The copies live in
a temporary folder and are deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from cm_ab import parse_size  # the same size syntax (10**3 for KB, 2**10 for KiB)

REPO = Path(__file__).resolve().parent.parent

Patch = tuple[str, str, str]  # (file under src/sigmalang, exact text, its replacement)


def _source(pkg: Path) -> str:
    return (pkg / "_cm.py").read_text(encoding="utf-8")


def _constant(pkg: Path, name: str) -> int:
    """A constant of the copy's ``_cm.py`` as the variant's earlier parts left it (``NAME = 15``):
    the variants add inputs and contexts after those already there, whatever their number."""
    match = re.search(rf"^{name} = (\d+)\n", _source(pkg), re.MULTILINE)
    if match is None:
        raise SystemExit(f"no {name} in today's _cm.py")
    return int(match.group(1))


def _more_inputs(pkg: Path, count: int) -> list[Patch]:
    """N_INPUTS raised by *count* (the new inputs are numbered from the old N_INPUTS on); new
    inputs start with weight 0, as those of model versions 4 and 5 do (every input from 13 on: a
    frame starts as the model without them would)."""
    n = _constant(pkg, "N_INPUTS")
    if "[:, 13:] = 0" not in _source(pkg):
        raise SystemExit("today's _cm.py no longer starts inputs 13 and up at weight 0")
    return [("_cm.py", f"N_INPUTS = {n}\n", f"N_INPUTS = {n + count}\n")]


def _node_probabilities(pkg: Path) -> list[Patch]:
    """A 16-bit probability beside each bit-history state (in a second part of the slot table, three
    times its size), adapting by a shift of 1 + min(n0 + n1, 4): one more mixer input per hashed
    context, numbered after today's inputs."""
    first = _constant(pkg, "N_INPUTS")
    return [
        *_more_inputs(pkg, _constant(pkg, "N_HASHED")),
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
            f"                x[_ix({first} + k)] = stretch[_ix(pd >> 4)] if sk != 0 else 0\n",
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


def _more_context(pkg: Path, expression: str) -> list[Patch]:
    """One more hashed context after today's (*expression*: its hash, of c1, c4, c8, word,
    word_prev, word_prev2, above, col and field), its mixer input after today's inputs. The full component set
    turns on every hashed context, whatever its component bit (the variant reuses the last one)."""
    n, first = _constant(pkg, "N_HASHED"), _constant(pkg, "N_INPUTS")
    bits = re.search(r"^HASHED_BIT = \(([^)]*)\)\n", _source(pkg), re.MULTILINE)
    inputs = re.search(r"^HASHED_INPUT = \(([^)]*)\)\n", _source(pkg), re.MULTILINE)
    if bits is None or inputs is None:
        raise SystemExit("no HASHED_BIT or HASHED_INPUT in today's _cm.py")
    last_bit = bits.group(1).split(", ")[-1]
    return [
        ("_cm.py", f"N_HASHED = {n}\n", f"N_HASHED = {n + 1}\n"),
        *_more_inputs(pkg, 1),
        ("_cm.py", bits.group(0), f"HASHED_BIT = ({bits.group(1)}, {last_bit})\n"),
        ("_cm.py", inputs.group(0), f"HASHED_INPUT = ({inputs.group(1)}, {first})\n"),
        (
            "_cm_ops.py",
            "    ctx[8] = _hash(c4, c8 & 0xFF, 14)\n",
            f"    ctx[8] = _hash(c4, c8 & 0xFF, 14)\n    ctx[{n}] = {expression}\n",
        ),
        (
            "_cm_ops.py",
            "    return k + 3 if k < 7 else k + 6\n",
            f"    if k == {n}:\n        return {first}\n    return k + 3 if k < 7 else k + 6\n",
        ),
    ]


def _second_match(pkg: Path) -> list[Patch]:
    """A second match model: the last position of the last 12 bytes' hash (in a second half of the
    match table), verified over 12 bytes or more, as two more inputs like the first one's."""
    first = _constant(pkg, "N_INPUTS")
    return [
        *_more_inputs(pkg, 2),
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
            f"""            expected2 = -1
            x[{first}] = 0
            x[{first + 1}] = 0
            if predicted2 > 0 and (predicted2 >> (8 - bit)) == c0:
                expected2 = (predicted2 >> (7 - bit)) & 1
                x[{first}] = stretch[_ix(match_sm2[_ix(len_bucket2 * 2 + expected2)] >> 20)]
                x[{first + 1}] = (expected2 * 2 - 1) * min(match_len2, MATCH_INPUT_MAX) * MATCH_INPUT
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
            "        c12 = ((c12 << 8) | (c8 >> 24)) & 0xFFFFFFFF\n"
            "        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF\n",
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


# A second APM, chosen by the column (0-31) and field number (0-7) as the third weight set is, or by
# a hash of the order-2 context (16 bits, with the partial byte), its output averaged with the
# first APM's; or both, weighted 5, 4 and 5 sixteenths beside the mixer's two.
_COLUMN_APM = _more_apms([_COLUMN_ROW], "(p_mix * 32 + 7 * p_apm + 7 * p_apm2 + 8) >> 4")
_ORDER2_APM = _more_apms([_ORDER2_ROW], "(p_mix * 32 + 7 * p_apm + 7 * p_apm2 + 8) >> 4")
_BOTH_APMS = _more_apms([_COLUMN_ROW, _ORDER2_ROW], "(p_mix * 32 + 5 * p_apm + 4 * p_apm2 + 5 * p_apm3 + 8) >> 4")


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


def _linear_inputs(pkg: Path) -> list[Patch]:
    """Each hashed context's and orders 1-2's probability also as a linear input, p - 1/2."""
    first = _constant(pkg, "N_INPUTS")
    return [
        *_more_inputs(pkg, 2 + _constant(pkg, "N_HASHED")),
        (
            "_cm_kernel.py",
            "                x[1] = stretch[_ix(sm[_ix(256 + t1[_ix(st1)])] >> 20)]\n",
            "                q = np.int64(sm[_ix(256 + t1[_ix(st1)])] >> 20)\n"
            f"                x[1] = stretch[_ix(q)]\n                x[{first}] = (q - 2048) >> 2\n",
        ),
        (
            "_cm_kernel.py",
            "                x[2] = stretch[_ix(sm[_ix(512 + t2[_ix(st2)])] >> 20)]\n",
            "                q = np.int64(sm[_ix(512 + t2[_ix(st2)])] >> 20)\n"
            f"                x[2] = stretch[_ix(q)]\n                x[{first + 1}] = (q - 2048) >> 2\n",
        ),
        (
            "_cm_kernel.py",
            "                x[_ix(_hashed_input(k) if full else x_at[k])] = stretch[\n"
            "                    _ix(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n                ]\n",
            "                q = np.int64(sm[_ix(((3 + k) << 8 if full else sm_at[k]) + sk)] >> 20)\n"
            "                x[_ix(_hashed_input(k) if full else x_at[k])] = stretch[_ix(q)]\n"
            f"                x[_ix({first + 2} + k)] = ((q - 2048) >> 2) if sk != 0 else 0\n",
        ),
    ]


def _constant_patch(name: str, old: int, new: int) -> Callable[[Path], list[Patch]]:
    return lambda pkg: [("_cm.py", f"{name} = {old} ", f"{name} = {new} ")]


VARIANTS: dict[str, tuple[str, Callable[[Path], list[Patch]]]] = {
    "node-p": ("a probability per context node beside its bit history", _node_probabilities),
    "match12": ("a second match model on the last 12 bytes", _second_match),
    "column-apm": ("a second APM by column and field", lambda pkg: _COLUMN_APM),
    "order2-apm": ("a second APM by a hash of the order-2 context", lambda pkg: _ORDER2_APM),
    "apms": ("both: three APMs", lambda pkg: _BOTH_APMS),
    "order6": ("one more hashed context, order 6", lambda pkg: _more_context(pkg, "_hash(c4, c8 & 0xFFFF, 16)")),
    "sparse": (
        "one more hashed context, bytes 2-4 back (skipping the last)",
        lambda pkg: _more_context(pkg, "_hash(c4 & 0xFFFFFF00, 0, 17)"),
    ),
    "word-above": (
        "one more hashed context, the current word with the byte above",
        lambda pkg: _more_context(pkg, "_hash(word, above | (c1 << 8), 18)"),
    ),
    "word-three": (
        "one more hashed context, the current word with the two before it",
        lambda pkg: _more_context(pkg, "_hash(_hash(word, word_prev, 20), word_prev2, 19)"),
    ),
    "last-bit": ("bit histories with the last bit (counts up to 48, 20, 12, 8, 6, 5)", lambda pkg: _last_bit()),
    "smaller-counts": (
        "those count limits without the last bit (control)",
        lambda pkg: [("_cm.py", _LIMITS, _SMALLER_LIMITS)],
    ),
    "linear": ("probabilities also as linear inputs", _linear_inputs),
    "lr-end-8": ("the mixer's final learning rate 8/16 instead of 12/16", _constant_patch("LR_END", 12, 8)),
    "rate-1023": ("the state maps' rate floor at 1023 updates", _constant_patch("STATE_MAP_LIMIT", 255, 1023)),
}

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from sigmalang._backends import CmBackend
from sigmalang import _cm
from sigmalang._cm import COMPONENTS_ALL
# numba's dispatcher for the model and every variant alike: a variant's output fails the check of
# the native cache files (their sample digest), so it would run on the dispatcher anyway.
_cm._kernels["native"] = _cm.kernel("numba")
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


def make_copy(name: str, into: Path) -> Path:
    """src/sigmalang copied under *into* with the variant's patches applied; the copy's src folder."""
    src = into / name / "src"
    shutil.copytree(REPO / "src" / "sigmalang", src / "sigmalang", ignore=shutil.ignore_patterns("__pycache__"))
    pkg = src / "sigmalang"
    for part in name.split("+") if name != "model" else []:
        for file, old, new in VARIANTS[part][1](pkg):  # each part reads the copy as the parts before left it
            path = pkg / file
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
