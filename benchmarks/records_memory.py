"""Peak memory of chunks coded as log records, on the lines that are hardest on the record code,
beside ``estimate_memory_usage``.

Usage::

    python benchmarks/records_memory.py                         # 4 MiB chunks, level 6
    python benchmarks/records_memory.py --chunk-size 4MiB,16MiB --level 6

Each input is one chunk of generated lines (the same bytes on every run): lines of one digit,
counting lines, lines of four random letters (each a shape of its own, no field), lines of twelve
random letters and spaces, lines of one random hex id, log-like lines of eight numbers, and lines
of about 900 KB of one-digit fields. Each is encoded with ``sigmalang -LEVEL -T 1 --format logs``
(every chunk as records, whatever it holds) and the result decoded, each in a fresh process; the
peak is that process's maximum resident set (``os.wait4``). The table is markdown, ready to
paste; the exit status is 1 if a round trip fails or a peak exceeds the estimate by more than 25%.

A last row codes the long lines of digits as a writer without the bound on a chunk's template
fields (``_records.SHAPE_FIELDS``) does, one column a field, as streams written before that bound
hold them, and decodes them with this reader. It is not held to the estimate, which counts what
today's writer writes.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import sigmalang

MiB = 1 << 20
TOLERANCE = 1.25
LETTERS = string.ascii_lowercase + " "


def _lines(make: Callable[[random.Random, int], bytes], size: int) -> bytes:
    """Lines from *make* (a generator and the line number) until *size* bytes, cut to *size*."""
    r = random.Random(7)
    out = bytearray()
    i = 0
    while len(out) < size:
        out += make(r, i) + b"\n"
        i += 1
    return bytes(out[:size])


INPUTS: dict[str, Callable[[random.Random, int], bytes]] = {
    "one digit": lambda r, i: b"%d" % r.randrange(10),
    "counting": lambda r, i: b"%d" % i,
    "four letters": lambda r, i: "".join(r.choice(string.ascii_lowercase) for _ in range(4)).encode(),
    "twelve letters and spaces": lambda r, i: "".join(r.choice(LETTERS) for _ in range(12)).encode(),
    "one hex id": lambda r, i: b"%010x" % r.getrandbits(40),
    "eight numbers": lambda r, i: (
        b"12:%02d:%02d.%03d INFO a=%d b=%d c=%d d=%d e=%d"
        % (i // 60000 % 60, i // 1000 % 60, i % 1000, *(r.randrange(10**6) for _ in range(5)))
    ),
    # lines of about 900 KB, a field every two bytes: the block cutter's arrays at their largest
    "long lines of digits": lambda r, i: b" ".join(b"%d" % r.randrange(10) for _ in range(450_000)),
}


# ``python -m sigmalang`` with the writer's bound on template fields lifted
UNBOUNDED = "import sys; from sigmalang import _records, cli; _records.SHAPE_FIELDS = 1 << 62; sys.exit(cli.main())"
OLD_STREAM = "long lines of digits"  # the input also coded without the bound


def _peak(args: list[str], stdin: Path, stdout: Path, unbounded: bool = False) -> float:
    """Run ``python -m sigmalang ARGS`` (*unbounded*: with the bound on template fields lifted) from
    *stdin* to *stdout*; its peak RSS in MiB."""
    command = [sys.executable, "-c", UNBOUNDED] if unbounded else [sys.executable, "-m", "sigmalang"]
    with stdin.open("rb") as source, stdout.open("wb") as sink:
        child = subprocess.Popen([*command, *args], stdin=source, stdout=sink)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"sigmalang {' '.join(args)} exited with {child.returncode}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def _size(text: str) -> int:
    number = text.lower().removesuffix("mib")
    return int(number) * MiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk-size", default="4MiB", help="chunk sizes, comma-separated (default 4MiB)")
    parser.add_argument("--level", type=int, default=6, help="level (default 6)")
    options = parser.parse_args()
    failed = False
    print("| input | chunk | lines | output bytes | encode peak MiB | estimate | × | decode peak MiB | estimate | × |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for chunk in (_size(text) for text in options.chunk_size.split(",")):
            estimates = {
                mode: sigmalang.estimate_memory_usage(chunk, 1, options.level, mode=mode, input_size=chunk).total / MiB
                for mode in ("encode", "decode")
            }
            rows = [(name, make, False) for name, make in INPUTS.items()]
            for name, make, unbounded in [*rows, (OLD_STREAM, INPUTS[OLD_STREAM], True)]:
                data = _lines(make, chunk)
                source, coded, back = folder / "in", folder / "in.sg", folder / "out"
                source.write_bytes(data)
                args = [f"-{options.level}", "-T1", "--format", "logs", "--chunk-size", str(chunk), "-c"]
                encode = _peak(args, source, coded, unbounded)
                decode = _peak(["-d", "-c"], coded, back)
                same = back.read_bytes() == data
                lines = data.count(b"\n") + 1
                ratios = [encode / estimates["encode"], decode / estimates["decode"]]
                failed |= not same or (not unbounded and max(ratios) > TOLERANCE)
                label = f"{name}, a column a field (not held to the estimate)" if unbounded else name
                print(
                    f"| {label}{'' if same else ' (ROUND TRIP FAILED)'} | {chunk // MiB} MiB | {lines:,} "
                    f"| {coded.stat().st_size:,} | {encode:.0f} | {estimates['encode']:.0f} | {ratios[0]:.2f} "
                    f"| {decode:.0f} | {estimates['decode']:.0f} | {ratios[1]:.2f} |",
                    flush=True,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
