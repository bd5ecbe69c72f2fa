"""Would QUANTITY glyphs with a binary payload beat the ASCII digits the glyph code keeps?

::

    python benchmarks/numbers_experiment.py [CORPUS_DIR]      (default: $SIGMALANG_CORPUS, else ./corpus)

For dickens (first 4 MiB), the Loghub samples concatenated and each Loghub sample alone: the
glyph code of ``sigmalang.semantic.encode`` is coded with PPMd order 6 / 64 MiB (level 6's
backend) as it is, and again with every run of at least N ASCII digits that is not a QUANTITY
delta replaced by ``1B width value`` (one byte of digit count, then the value in big-endian
binary, as few bytes as it needs). The rewritten code is not made decodable: it pays no escape for
a literal ``1B``, so it is a bound in binary's favour. Printed: the PPMd output of the code as
it is, and how much larger (+) or smaller (−) the binary variant's output is.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from sigmalang import semantic
from sigmalang._backend_ppmd import PpmdBackend

CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))
RUNS = (1, 3, 5)


def binary_numbers(code: bytes, shortest: int) -> bytes:
    def payload(match: re.Match[bytes]) -> bytes:
        digits = match.group(1)
        value = int(digits)
        return b"\x1b" + bytes([min(len(digits), 255)]) + value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")

    return re.sub(rb"(?<![\xfc0-9])([0-9]{%d,})" % shortest, payload, code)


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    logs = sorted((root / "loghub").glob("*.log"))
    inputs = [("dickens, first 4 MiB", (root / "dickens.txt").read_bytes()[: 4 << 20])]
    inputs.append(("loghub, concatenated", b"".join(p.read_bytes() for p in logs)))
    inputs += [(p.name, p.read_bytes()) for p in logs]
    ppmd = PpmdBackend(6, 64)
    print("| input | PPMd bytes, ASCII digits | " + " | ".join(f"binary, runs ≥ {n}" for n in RUNS) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in RUNS) + " |")
    for name, data in inputs:
        code = semantic.encode(data)
        base = len(ppmd.encode(code))
        cells = [f"{len(ppmd.encode(binary_numbers(code, n))) / base - 1:+.2%}" for n in RUNS]
        print(f"| {name} | {base:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
