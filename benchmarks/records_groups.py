"""What word groups earn: each log's record code with and without them, coded by the CM.

    python benchmarks/records_groups.py FILES... [--size 4MiB] [--level 6]

A group is at least ``GROUP_MIN`` templates that differ only in one word and have at most
``GROUP_USES`` lines each on average; the writer makes the word a field (docs/logs.md, "Words as
fields"). For each file's first ``--size`` bytes, one row: lines and templates, the CM payload of
the record code without groups and with them (the level's component set and table size, as the
encoder calls it), and the transform's time each way (best of three, this process). Every code
with groups is decoded and checked against the input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import _records  # noqa: E402
from sigmalang._backends import get_backend  # noqa: E402
from sigmalang._levels import level_spec  # noqa: E402


def coded(code: bytes, level: int) -> int:
    """The CM payload's size for *code* at *level*'s settings."""
    spec = level_spec(level)
    return len(get_backend(spec.backend, spec.backend_level, spec.memory_mib).encode(code, b""))


def timed(data: bytes) -> tuple[bytes, float]:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        code = _records.encode(data)
        best = min(best, time.perf_counter() - start)
    return code, best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--size", default="4MiB")
    parser.add_argument("--level", type=int, default=6)
    args = parser.parse_args()
    size = int(args.size.removesuffix("MiB")) << 20
    groups = _records._groups
    print(f"level {args.level}, each file's first {size:,} bytes; payload bytes of the record code")
    print()
    print("| log | lines | templates without | with | payload without | with | change | transform s without | with |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals = [0, 0]
    for path in args.files:
        data = path.read_bytes()[:size]
        _records._groups = lambda shapes, uses: {}
        plain, plain_s = timed(data)
        _records._groups = groups
        code, code_s = timed(data)
        if _records.decode(code, len(data)) != data:
            raise SystemExit(f"{path}: the record code with groups does not decode to the input")
        sizes = coded(plain, args.level), coded(code, args.level)
        totals[0] += sizes[0]
        totals[1] += sizes[1]
        templates = len(_records.parse(plain)[1]), len(_records.parse(code)[1])
        lines = data.count(b"\n") + 1
        print(
            f"| {path.name} | {lines:,} | {templates[0]:,} | {templates[1]:,} | {sizes[0]:,} "
            f"| {sizes[1]:,} | {(sizes[1] / sizes[0] - 1) * 100:+.2f}% | {plain_s:.3f} | {code_s:.3f} |",
            flush=True,
        )
    print(f"| all | | | | {totals[0]:,} | {totals[1]:,} | {(totals[1] / totals[0] - 1) * 100:+.2f}% | | |")


if __name__ == "__main__":
    main()
