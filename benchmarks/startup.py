"""Start-up cost of the CM levels: a fresh process compressing a small input, with the kernel's
machine-code cache and with numba's dispatcher.

    python benchmarks/startup.py [--runs 3] [--size 12000]

Each run is a fresh Python process that imports sigmalang and compresses --size bytes of text at
level 6 (one CM frame), then reports its CPU time since the process started (interpreter start-up
included), its peak memory (``ru_maxrss``) and whether numba was imported. "numba" runs install
numba's dispatcher as the kernel first, as a process without the machine-code cache would use.
"jit" runs link the cache file with llvmlite's JIT linker, as where sigmalang's own ELF loader does
not apply (machines other than x86-64 Linux). The last rows time the command line, ``sigmalang
encode -c`` on the same text, wall and CPU: as it runs, and with numpy's BLAS given one thread per
CPU (``OPENBLAS_NUM_THREADS``), as the command line ran before it set one thread for itself.
Both caches are warmed by one untimed run first. Prints a markdown table (best of --runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import sigmalang
from sigmalang import _cm, _elf
if sys.argv[2] == "numba":
    _cm._kernels["native"] = _cm.kernel("numba")
elif sys.argv[2] == "jit":  # the cache file linked by llvmlite, as where the ELF loader does not apply
    _elf.load = lambda obj, symbol, external: None
data = (b"The quick brown fox jumps over the lazy dog; 12 dogs, 7 foxes.\n" * 1000)[: int(sys.argv[3])]
assert sigmalang.decompress(sigmalang.compress(data, level=6)) == data
print(json.dumps({"cpu": time.process_time(), "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "numba": "numba" in sys.modules, "llvm": "llvmlite.binding" in sys.modules}))
"""


def child(kind: str, size: int) -> dict[str, float]:
    command = [sys.executable, "-c", CHILD, str(REPO / "src"), kind, str(size)]
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)  # type: ignore[no-any-return]


def cli(path: Path, blas_threads: int | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of ``sigmalang encode -c PATH`` (CPU: the process and its threads),
    with OPENBLAS_NUM_THREADS set to *blas_threads* if given."""
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if blas_threads is not None:
        env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    command = [sys.executable, "-m", "sigmalang", "encode", "-c", str(path)]
    subprocess.run(command, capture_output=True, check=True, cwd=REPO / "src", env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, default=12000)
    args = parser.parse_args()
    for kind in ("native", "numba"):
        child(kind, args.size)  # warm both caches
    print(f"a fresh process compressing {args.size:,} bytes at level 6, best of {args.runs}")
    print("| kernel | CPU s (whole process) | peak memory MiB | numba imported | LLVM loaded |")
    print("| --- | ---: | ---: | :---: | :---: |")
    kinds = (
        ("native", "machine-code cache"),
        ("jit", "machine-code cache, llvmlite's linker"),
        ("numba", "numba's dispatcher"),
    )
    for kind, label in kinds:
        runs = [child(kind, args.size) for _ in range(args.runs)]
        cpu = min(r["cpu"] for r in runs)
        rss = min(r["rss_mib"] for r in runs)
        yes = {True: "yes", False: "no"}
        print(f"| {label} | {cpu:.2f} | {rss:.0f} | {yes[runs[0]['numba']]} | {yes[runs[0]['llvm']]} |")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "small.txt"
        path.write_bytes((b"The quick brown fox jumps over the lazy dog.\n" * 1000)[: args.size])
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        runs = {None: [], cpus: []}
        for _ in range(args.runs):  # alternating, so that both see the same load
            for threads, timings in runs.items():
                timings.append(cli(path, threads))
    print(f"\n`sigmalang encode -c` ({args.size:,} bytes), best of {args.runs}:")
    for threads, timings in runs.items():
        how = "as it runs" if threads is None else f"OPENBLAS_NUM_THREADS={threads} (one per CPU)"
        print(f"- {how}: wall {min(w for w, _ in timings):.2f} s, CPU {min(c for _, c in timings):.2f} s")


if __name__ == "__main__":
    main()
