"""A floor under any lossless coding of logs full of random hex: digests, content-addressed paths.

    python benchmarks/random_hex.py FILES...

For each file: its size, xz -9's output, the distinct runs of at least 16 lowercase hex digits in
it (sha256 digests, the hashed directories of package URLs, block and request ids) and the bytes
they need at least if their digits are random (4 bits each, log2(10) in a run of decimal digits
only; every distinct run written once),
against a goal of 1.5 times xz -9's ratio. Whatever the model, a file's output cannot be smaller
than the information in such runs, so where the floor passes the goal's budget the goal is out of
reach for that file. (A run that is not random, such as ``deadbeefdeadbeef``, makes the floor an
overestimate; the runs' ends, which separators mark, are not counted, which makes it an
underestimate.)
"""

from __future__ import annotations

import lzma
import math
import re
import sys
from pathlib import Path

DECIMAL = math.log2(10)
HEX = re.compile(rb"(?<![0-9a-f])[0-9a-f]{16,}(?![0-9a-f])")


def main() -> None:
    print("| file | bytes | xz -9 | budget for 1.5 × xz | hex runs | distinct | their floor | floor / budget |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in sys.argv[1:]:
        data = Path(name).read_bytes()
        xz = len(lzma.compress(data, preset=9))
        runs = HEX.findall(data)
        distinct = set(runs)
        bits = sum(len(run) * (DECIMAL if run.isdigit() else 4) for run in distinct)
        floor = int(bits / 8)
        budget = xz / 1.5
        print(
            f"| {Path(name).name} | {len(data):,} | {xz:,} | {budget:,.0f} | {len(runs):,} | {len(distinct):,} "
            f"| {floor:,} | {floor / budget:.2f} |"
        )


if __name__ == "__main__":
    main()
