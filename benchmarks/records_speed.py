"""Speed of the log-records transform alone: ``_records.encode`` and ``_records.decode`` on files.

Usage::

    python benchmarks/records_speed.py FILE...                      # each file, best of 3
    python benchmarks/records_speed.py --concat CORPUS/loghub/*.log  # the files joined, one row
    python benchmarks/records_speed.py FILE... --repeat 5

Each file (or, with ``--concat``, the files joined in the order given) is encoded as one record
code and the code decoded; the times are those of the two calls alone (no backend, no framing),
the best of ``--repeat`` runs. MB/s means 10**6 bytes of original text per second, for encode
and decode alike. The table is markdown, ready to paste; the exit status is 1 if a round trip
fails.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import _records  # noqa: E402


def _best(repeat: int, call: Callable[..., object], *args: object) -> float:
    """The fastest of *repeat* timed calls of *call* with *args*."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--concat", action="store_true", help="time the files joined, as one input")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each call; the fastest is kept")
    args = parser.parse_args(argv)
    if args.concat:
        inputs = [(f"{len(args.files)} files joined", b"".join(f.read_bytes() for f in args.files))]
    else:
        inputs = [(f.name, f.read_bytes()) for f in args.files]
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"# {python}, {platform.machine()}, best of {args.repeat}")
    print("| input | bytes | code bytes | encode s | encode MB/s | decode s | decode MB/s | round trip |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    failed = False
    for name, data in inputs:
        code = _records.encode(data)
        same = _records.decode(code, len(data)) == data
        failed |= not same
        encode_s = _best(args.repeat, _records.encode, data)
        decode_s = _best(args.repeat, _records.decode, code, len(data))
        print(
            f"| {name} | {len(data):,} | {len(code):,} | {encode_s:.3f} | {len(data) / encode_s / 1e6:.2f} "
            f"| {decode_s:.3f} | {len(data) / decode_s / 1e6:.2f} | {'ok' if same else 'FAILED'} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
