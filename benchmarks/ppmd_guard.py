"""What decoding PPMd payloads in a fresh process costs: level-3 decode time, in a decoder process
per payload (what ``sigmalang`` does on POSIX) against in this process, alternated in one run.

Usage::

    python benchmarks/ppmd_guard.py                      # the bundled fixtures
    python benchmarks/ppmd_guard.py FILE ... --rounds 5

Each input is encoded once at level 3 with its chunk size (the level's, and 4 KiB to show the
cost per frame), then decoded with ``sigmalang.decompress`` in alternating rounds, guarded and
in-process, so that both see the same machine load; the median of the rounds is printed. The
first guarded decode starts the helper process and is timed apart. Both ways must give
the input back, or the exit status is 1. Time is wall time of one thread.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import sigmalang
from sigmalang import _ppmd_guard

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = [ROOT / "tests" / "fixtures" / "dickens-64k.txt", ROOT / "tests" / "fixtures" / "loghub-small.log"]


def _timed(stream: bytes, data: bytes, guarded: bool) -> float:
    real = _ppmd_guard.decode
    if not guarded:
        _ppmd_guard.decode = lambda *args: None  # type: ignore[assignment]  # the backend decodes here
    try:
        started = time.perf_counter()
        out = sigmalang.decompress(stream)
        elapsed = time.perf_counter() - started
    finally:
        _ppmd_guard.decode = real  # type: ignore[assignment]
    if out != data:
        raise SystemExit("decoded bytes differ from the input")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="inputs (default: the bundled fixtures)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    args = parser.parse_args(argv)
    print(f"command: python benchmarks/ppmd_guard.py {shlex.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    _ppmd_guard._close_all()
    print("| input | bytes | chunk size | stream bytes | first decode s | in-process s | decoder process s | ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.files or FIXTURES:
        data = path.read_bytes()
        for chunk in (None, 4096):
            stream = sigmalang.compress(data, 3, chunk_size=chunk)
            _ppmd_guard._close_all()
            start = _timed(stream, data, True)
            here, there = [], []
            for _ in range(args.rounds):
                here.append(_timed(stream, data, False))
                there.append(_timed(stream, data, True))
            a, b = statistics.median(here), statistics.median(there)
            print(
                f"| {path.name} | {len(data):,} | {chunk or 'level default'} | {len(stream):,} | {start:.3f} | "
                f"{a:.3f} | {b:.3f} | {b / a:.2f}× |"
            )
    import psutil

    for helper in _ppmd_guard._idle:
        rss = psutil.Process(helper.proc.pid).memory_info().rss
        print(f"\nthe helper process: {rss / (1 << 20):.1f} MiB resident (its decoder processes are forked from it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
