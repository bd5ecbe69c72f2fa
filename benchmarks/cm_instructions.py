"""Count the machine instructions the context-mixing model executes per byte, per component set.

    python benchmarks/cm_instructions.py FILE [--size 200000] [--offset 1MiB] [--records]
                                             [--sets all,ablation] [--bits 22]

Time measured on a shared machine moves by a factor of two between runs; the number of
instructions the kernel executes does not. Each row codes ``--size`` bytes of FILE (from
``--offset``; with ``--records``, of FILE's record code, the log transform's output) with the CM
backend alone, in a child process run under ``valgrind --tool=lackey``, which counts every
instruction executed; less what a child that codes one byte executes (process start-up, imports
and loading the compiled kernel: measured once for each compiled copy), divided by the bytes, is
the row's instructions per byte. The output size of each set, on the same bytes and on the first
1 MB from the same offset (no valgrind), shows what the instructions buy.

``--sets``: ``all`` (model version 4's full set, levels 5-6; and version 5's, levels 7-9),
``ablation`` (version 4's set without each component in turn), ``paragraphs`` (the set for
running text, ``0x9e7f``, and it without each of its components in turn, all on the copy for any
set; with ``--wraps``, FILE's wrap code is coded, as levels 5-8 write it), ``any`` (only the ablation's first
row: version 4's set on the copy for any set), ``fast`` (level 4's set, in model version 2 as
level 4 writes it, on its own copy and on the copy for any set), or component masks such as
``0x121f``. A full set has a compiled copy of the kernel of its own
(docs/cm.md, "Speed"); every other set runs on the copy for any set, which executes more
instructions for the same work, so the ablation's rows, and its first row (the full set), all run
on that copy. Needs valgrind; the kernel must already be compiled for this
machine (the script codes a sample first to make sure). A row takes a minute or two.

valgrind stops (SIGILL) at the first AVX-512 instruction, and numba compiles the kernel for the
host's processor: on a host with AVX-512 the script has the kernel compiled for ``haswell``
(AVX2) instead, unless ``NUMBA_CPU_NAME`` says otherwise (``NUMBA_CPU_NAME`` and
``NUMBA_CPU_FEATURES`` are part of the native kernel's cache key). Counts from such a copy compare
with each other, not with counts of the host's own code.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def _cpu_for_valgrind() -> str | None:
    """The processor numba is to compile the kernel for, set before numba is imported: ``haswell``
    on a Linux host with AVX-512, where no CPU is named already; else None (the host's)."""
    if "NUMBA_CPU_NAME" in os.environ:
        return None
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split("\n\n")[0]
    except OSError:
        return None
    return "haswell" if " avx512f" in flags else None


KERNEL_CPU = _cpu_for_valgrind()
if KERNEL_CPU:
    os.environ["NUMBA_CPU_NAME"] = KERNEL_CPU
    os.environ["NUMBA_CPU_FEATURES"] = ""  # the named processor's own features, not the host's

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from cm_ab import parse_size  # noqa: E402  (10**3 for KB, 2**10 for KiB)
from cm_grid import ALL, BITS, V4  # noqa: E402
from sigmalang import _cm, _records, _wraps  # noqa: E402
from sigmalang._backends import CmBackend  # noqa: E402

CHILD = r"""
import sys
sys.path.insert(0, sys.argv[1])
from sigmalang._backends import CmBackend
data = open(sys.argv[2], "rb").read()
components, bits, version = int(sys.argv[3], 0), int(sys.argv[4]), int(sys.argv[5])
if sys.argv[6] == "any":  # the compiled copy that takes any set, even for a full set
    from sigmalang import _cm
    _cm.full_copy = lambda components, version: 0
CmBackend(components, bits, version).encode(data)
"""
LEVEL4 = 0x121F
PARAGRAPHS = V4 & ~_cm.PARAGRAPH_OFF  # the set levels 5 and 6 code running text with


def instructions(path: Path, components: int, bits: int, version: int, copy: str) -> int:
    """Instructions executed by a child process that codes the file at *path* (with *copy* "any",
    on the kernel's compiled copy for any component set)."""
    command = ["valgrind", "--tool=lackey", "--smc-check=all", sys.executable, "-c", CHILD]
    command += [str(REPO / "src"), str(path), hex(components), str(bits), str(version), copy]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same Python work in every child
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    found = re.search(r"guest instrs:\s+([0-9,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _warm(backend: CmBackend, sample: bytes, copy: str) -> None:
    """Code *sample* on the compiled copy the child will run (*copy* "any": the copy for any set),
    so that its machine code is on disk: a child that had to compile it would do so under valgrind,
    for hours."""
    saved = _cm.full_copy
    if copy == "any":
        _cm.full_copy = lambda components, version: 0
    try:
        backend.decode(backend.encode(sample), len(sample))
    finally:
        _cm.full_copy = saved


def sets(spec: str) -> list[tuple[str, int, int, str]]:
    """(name, components, model version, compiled copy) for each row --sets asks for."""
    rows: list[tuple[str, int, int, str]] = []
    for part in spec.split(","):
        if part == "all":
            rows += [("all, version 4 (levels 5-6)", V4, 4, "own"), ("all, version 5 (levels 7-9)", ALL, 5, "own")]
        elif part == "fast":  # level 4's set in the version its writer uses (2), on its own copy and on the general one
            rows.append(("orders 1-6 + match (level 4)", LEVEL4, 2, "own"))
            rows.append(("orders 1-6 + match (level 4), on the copy for any set", LEVEL4, 2, "any"))
        elif part == "paragraphs":  # the set for running text, without each of its components, on the any-set copy
            rows.append(("running text (0x9e7f), on the copy for any set", PARAGRAPHS, 4, "any"))
            rows += [
                (f"without {name}", PARAGRAPHS & ~(1 << bit), 4, "any")
                for bit, name in BITS.items()
                if PARAGRAPHS >> bit & 1
            ]
        elif part in ("ablation", "any"):  # the copy for any set codes every row, the full set included
            rows.append(("all, version 4, on the copy for any set", V4, 4, "any"))
            if part == "ablation":
                rows += [(f"without {name}", V4 & ~(1 << bit), 4, "any") for bit, name in BITS.items() if bit != 17]
        else:
            rows.append((part, int(part, 0), 5 if int(part, 0) & (1 << 17) else 4, "own"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", type=Path)
    parser.add_argument("--size", type=parse_size, default=200_000)
    parser.add_argument("--offset", type=parse_size, default=1 << 20)
    parser.add_argument("--records", action="store_true", help="code FILE's record code instead of its bytes")
    parser.add_argument("--wraps", action="store_true", help="code FILE's wrap code instead of its bytes")
    parser.add_argument("--sets", default="all,ablation")
    parser.add_argument("--bits", type=int, default=22)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: install it with your system's package manager")
    data = args.file.read_bytes()
    if args.records:
        data = _records.encode(data)
    elif args.wraps:
        data = _wraps.encode(data) or data
    data = data[args.offset :]
    sample = data[: args.size]
    if len(sample) < args.size:
        raise SystemExit(f"{args.file}: fewer than {args.size} bytes from offset {args.offset}")
    work = tempfile.TemporaryDirectory()
    long_path, short_path = Path(work.name) / "long", Path(work.name) / "short"
    long_path.write_bytes(sample)
    short_path.write_bytes(sample[:1])
    base: dict[int, int] = {}  # a child that codes one byte, by compiled copy
    what = " (record code)" if args.records else " (wrap code)" if args.wraps else ""
    print(f"{args.file.name}{what}: {args.size} bytes from {args.offset}")
    if KERNEL_CPU:
        print(f"(the kernel compiled for {KERNEL_CPU}: valgrind cannot run this host's AVX-512 code)")
    print("| components | instructions per byte | per bit | bytes out | out on 1 MB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    try:
        for name, components, version, copy in sets(args.sets):
            backend = CmBackend(components, args.bits, version)
            _warm(backend, sample[:4096], copy)
            kind = 0 if copy == "any" else _cm.full_copy(components, version)
            if kind not in base:
                base[kind] = instructions(short_path, components, args.bits, version, copy)
            span = args.size - 1
            count = instructions(long_path, components, args.bits, version, copy) - base[kind]
            out = len(backend.encode(sample))
            megabyte = len(backend.encode(data[:1_000_000]))
            print(f"| {name} | {count / span:,.0f} | {count / span / 8:,.0f} | {out:,} | {megabyte:,} |", flush=True)
    finally:
        work.cleanup()


if __name__ == "__main__":
    main()
