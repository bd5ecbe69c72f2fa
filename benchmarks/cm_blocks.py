"""Which of the CM kernel's machine instructions run how often: instructions per decision, by basic block.

    python benchmarks/cm_blocks.py FILE [--size 100KB] [--components 0x9e7f] [--bits 22] [--top 25] [--decode]

The same child as ``cm_profile.py`` (the CM backend alone encodes the first ``--size`` bytes of
FILE after a warm-up call) runs under ``valgrind --tool=callgrind --dump-instr=yes``, which counts
every execution of every instruction; a second child that codes one byte is counted too, and its
counts, instruction by instruction, are taken away (the warm-up, the tables' set-up). Counts do not
move with the machine's load, so two versions of the kernel compare exactly, block by block, where
times move by a quarter. Prints the kernel's instructions per byte and per decision (the decisions
down the byte trees the encoder gives the input, eight a byte where it gives none), then the blocks
of consecutive instructions that run equally often, most instructions first: how often each runs
per decision, and its disassembly. valgrind cannot run AVX-512 code: on such a host the kernel is
compiled for ``haswell`` (as ``cm_instructions.py`` does), so the counts are of that copy.

With ``--decode``, the counts are the decoder's: the child encodes and then decodes the bytes, and a
second child that only encodes them is taken away instead.

Needs valgrind and objdump (binutils), Linux on x86-64. Each child takes a few seconds to a minute.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cm_instructions  # noqa: F401  (first: on an AVX-512 host it names the processor numba compiles for)
from cm_profile import CHILD as PROFILE_CHILD
from cm_profile import REPO, _disassembly, _sections, kernel_arguments

# cm_profile.py's child, its warm-up always on the file's first 4 KiB: the same in both children,
# so that it cancels out.
WARM_UP = "backend.decode(backend.encode(data[:4096]), len(data[:4096]))"
# With a seventh argument "decode", the child decodes what it encoded.
CODE = "backend.encode(data)\n"
CHILD = PROFILE_CHILD.replace(
    WARM_UP, "warm = open(sys.argv[2], 'rb').read(4096); backend.decode(backend.encode(warm), len(warm))"
).replace(CODE, "payload = " + CODE + "if sys.argv[7:] == ['decode']:\n    backend.decode(payload, len(data))\n")
assert CHILD.count("payload = ") == 1 and WARM_UP not in CHILD, "cm_profile.py's child changed: its code is not found"


def _counts(callgrind_out: Path, start: int, size: int) -> collections.Counter[int]:
    """Executions of each instruction from *start* to *start* + *size* (by offset from *start*) in
    a callgrind output written with ``--dump-instr=yes`` (positions "instr line")."""
    counts: collections.Counter[int] = collections.Counter()
    at = 0
    call_cost_next = False  # the line after "calls=" is the call's inclusive cost, not the caller's own
    for line in callgrind_out.read_text().splitlines():
        if not line or line[0] not in "0123456789+-*":
            call_cost_next = line.startswith("calls=")
            continue
        fields = line.split()
        where = fields[0]
        if where.startswith("0x"):
            at = int(where, 16)
        elif where[0] in "+-":
            at += int(where, 0)
        elif where != "*":
            at = int(where)
        if call_cost_next:
            call_cost_next = False
        elif len(fields) > 2 and start <= at < start + size:
            counts[at - start] += int(fields[2])
    return counts


def _run(command: list[str], out: Path) -> dict[str, float]:
    valgrind = ["valgrind", "--tool=callgrind", "--dump-instr=yes", "--smc-check=all", f"--callgrind-out-file={out}"]
    done = subprocess.run([*valgrind, *command], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "valgrind failed")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _decisions(data: bytes, components: int) -> int:
    """The decisions *data* takes down the byte trees the encoder gives it with *components*
    (eight a byte where it gives none)."""
    sys.path.insert(0, str(REPO / "src"))
    import numpy as np

    from sigmalang import _backends, _cm

    given = _backends.given_trees(data, components, _backends.cm_writer_version(components))
    if given is None:
        return 8 * len(data)
    return _cm.tree_decisions(given[0], np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).tolist())


def main() -> None:
    args = kernel_arguments(__doc__ or "", 10**5, "0x9e7f", 25, ("valgrind", "objdump"), decode=True)
    data = args.file.read_bytes()[: args.size]
    with tempfile.TemporaryDirectory() as tmp:
        obj = Path(tmp) / "kernel.o"
        child = [sys.executable, "-c", CHILD, str(REPO / "src"), str(args.file)]
        rest = [args.components, str(args.bits), str(obj)]
        subprocess.run([*child, "4096", *rest], capture_output=True, check=True)  # compiles the copy, outside valgrind
        # Counted: the bytes coded (and, with --decode, decoded); taken away: a child that codes
        # one byte (or, with --decode, that only encodes the bytes).
        counted = [str(args.size), *rest, *(["decode"] if args.decode else [])]
        taken_away = [str(args.size if args.decode else 1), *rest]
        runs = []
        for k, arguments in enumerate((counted, taken_away)):
            out = Path(tmp) / f"callgrind.{k}"
            runs.append((_run([*child, *arguments], out), out))
        decisions = _decisions(data, int(args.components, 0))
        cpu = f" (the kernel compiled for {cm_instructions.KERNEL_CPU})" if cm_instructions.KERNEL_CPU else ""
        coder = "the decoder, " if args.decode else ""
        print(f"{args.file.name}, first {len(data):,} bytes, {coder}components {args.components}, ", end="")
        print(f"2^{args.bits} slots{cpu}:")
        for name, offset, size in _sections(obj.read_bytes()):
            long, short = (_counts(out, int(report["base"]) + offset, size) for report, out in runs)
            counts = collections.Counter({at: long[at] - short.get(at, 0) for at in long})
            total = sum(counts.values())
            code = _disassembly(obj, name)
            print(f"\n{name}: {total / len(data):,.0f} instructions a byte, {total / decisions:,.0f} a decision")
            print(f"({decisions / len(data):.2f} decisions a byte)\n")
            blocks: list[tuple[int, list[int]]] = []  # (executions, offsets)
            for at in sorted(code):
                n = counts.get(at, 0)
                if blocks and blocks[-1][0] == n and n:
                    blocks[-1][1].append(at)
                elif n:
                    blocks.append((n, [at]))
            blocks.sort(key=lambda block: -block[0] * len(block[1]))
            print("| share | per decision | instructions | offset | first instructions |")
            print("| ---: | ---: | ---: | ---: | --- |")
            for n, offsets in blocks[: args.top]:
                head = "; ".join(code[at] for at in offsets[:3])
                share = n * len(offsets) / total
                print(f"| {share:.1%} | {n / decisions:.2f} | {len(offsets)} | {offsets[0]:#x} | `{head}` |")


if __name__ == "__main__":
    main()
