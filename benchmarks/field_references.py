"""What references between the fields of a line (record code version 7) save, file by file.

    python benchmarks/field_references.py FILES... [--level 6] [--grid]

Each file is compressed whole with ``sigmalang.compress`` at ``--level`` (its own chunk size, one
process) three ways: without references (the writer's REFER_TRIES set to 0, so that it writes
version 6 as before version 7 existed, unless a chunk holds a 0x01 byte), with them as the writer
writes them, and with references to equal values only (no sizes in larger units). Every output is
checked to decompress to the file. ``--grid`` adds the writer's two settings swept: how many lines
of a template in a row without a reference stop it being looked at (REFER_TRIES), and how long a
value must be to refer to an equal one before it (REFER_MIN). Prints a Markdown table; sizes in
bytes, changes against "without".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sigmalang
from sigmalang import _records


@contextmanager
def settings(tries: int, least: int, sizes: bool = True) -> Iterator[None]:
    saved = (_records.REFER_TRIES, _records.REFER_MIN, _records._rescale_letter)
    _records.REFER_TRIES, _records.REFER_MIN = tries, least
    if not sizes:
        _records._rescale_letter = lambda count, value: -1
    try:
        yield
    finally:
        _records.REFER_TRIES, _records.REFER_MIN, _records._rescale_letter = saved


def size(data: bytes, level: int) -> int:
    encoded = sigmalang.compress(data, level=level)
    if sigmalang.decompress(encoded) != data:
        raise SystemExit("round trip failed")
    return len(encoded)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--grid", action="store_true", help="also sweep REFER_TRIES and REFER_MIN")
    args = parser.parse_args()
    tries, least = _records.REFER_TRIES, _records.REFER_MIN
    ways = [
        ("without", 0, least, True),
        ("with (the writer)", tries, least, True),
        ("equal values only", tries, least, False),
    ]
    if args.grid:
        ways += [
            (f"tries {t}, from {m} bytes", t, m, True)
            for t in (4, 16, 10**9)
            for m in (2, 4, 8, 16)
            if (t, m) != (tries, least)
        ]
        ways += [(f"tries {tries}, from {m} bytes", tries, m, True) for m in (2, 4, 16)]
    print(f"level {args.level}; the writer: REFER_TRIES {tries}, REFER_MIN {least}")
    print("| file | bytes | " + " | ".join(name for name, *_ in ways) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in ways) + " |")
    totals = [0] * len(ways)
    for path in args.files:
        data = path.read_bytes()
        sizes = []
        for k, (_, t, m, rescaled) in enumerate(ways):
            with settings(t, m, rescaled):
                sizes.append(size(data, args.level))
            totals[k] += sizes[-1]
        cells = [f"{sizes[0]:,}"] + [f"{s:,} ({(s - sizes[0]) / sizes[0]:+.2%})" for s in sizes[1:]]
        print(f"| {path.name} | {len(data):,} | " + " | ".join(cells) + " |", flush=True)
    cells = [f"{totals[0]:,}"] + [f"{s:,} ({(s - totals[0]) / totals[0]:+.2%})" for s in totals[1:]]
    print("| all | | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
