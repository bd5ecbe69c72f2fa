"""Ctrl-C around the moment a command finishes: what the caller sees (docs/robustness.md).

    python benchmarks/interrupt_at_end.py [--trials 60] [--seed 12] [--before 0.1] [--after 0.35]

Writes an 8 MB level-1 stream of the bundled sample (eight copies), times one ``decode -T 2`` of
it, then runs that command --trials times, each sent SIGINT (to its process group, as a terminal
does) at its usual duration plus a random offset from -BEFORE to +AFTER seconds. Each outcome is
one of: exit 0 with the complete output; exit 130 with one line on standard error and no output
(nor temporary file); anything else, printed in full. Prints the counts.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "dickens-sample.txt"


def _start(stream: Path, out: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sigmalang", "decode", "-T", "2", "-f", str(stream), "-o", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--before", type=float, default=0.1)
    ap.add_argument("--after", type=float, default=0.35)
    args = ap.parse_args()
    text = SAMPLE.read_bytes() * 8
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source, stream = folder / "in.txt", folder / "in.sgl"
        source.write_bytes(text)
        encode = ["encode", "-q", "-1", "--chunk-size", "64K", str(source), "-o", str(stream)]
        subprocess.run([sys.executable, "-m", "sigmalang", *encode], check=True)
        start = time.monotonic()
        _start(stream, folder / "timed").communicate()
        usual = time.monotonic() - start
        rng = random.Random(args.seed)
        counts = {"exit 0, complete output": 0, "exit 130, no output": 0, "other": 0}
        for trial in range(args.trials):
            out = folder / f"out{trial}"
            proc = _start(stream, out)
            time.sleep(max(0.0, usual + rng.uniform(-args.before, args.after)))
            os.killpg(proc.pid, signal.SIGINT)
            _, err = proc.communicate(timeout=120)
            left = [p.name for p in folder.iterdir() if p.name.startswith(".")]
            if proc.returncode == 0 and out.read_bytes() == text and not left:
                counts["exit 0, complete output"] += 1
            elif proc.returncode == 130 and not out.exists() and not left and err == b"sigmalang: interrupted\n":
                counts["exit 130, no output"] += 1
            else:
                counts["other"] += 1
                print(f"trial {trial}: exit {proc.returncode}, output {out.exists()}, left {left}, stderr {err!r}")
            if out.exists():
                out.unlink()
    print(f"decode -T 2 of 8 MB takes {usual:.2f} s; {args.trials} interrupts from {args.before} s before to")
    print(f"{args.after} s after that (seed {args.seed}): " + ", ".join(f"{n} {k}" for k, n in counts.items()))


if __name__ == "__main__":
    main()
