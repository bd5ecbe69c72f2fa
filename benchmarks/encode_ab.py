"""Compare the whole encoder (or decoder) at two revisions of the source: the same streams, and how long each takes.

    python benchmarks/encode_ab.py FILES... [--rev HEAD] [--levels 3,6,9] [--rounds 2] [--size 4MiB] [--decode]

The source tree at ``--rev`` (exported with ``git archive``) and the working tree each compress
every FILE (its first ``--size`` bytes) at every level with ``sigmalang.compress``, in fresh
processes, the two sides alternating round by round so that both see the same load on a shared
machine. A row per file and level: each side's output size, whether the two streams are the same
bytes (SHA-256), and each side's best encode CPU time (``time.process_time``, after an untimed
call on the same input, which loads or compiles every copy of the model the file needs: a small
warm-up would leave a first compile inside a timed run, and it also leaves the first use of the
model's tables out of the times). The last rows add the times up per level. The script fails if
any stream differs, unless ``--allow-different`` is given (a change meant to choose otherwise).
With ``--decode`` the times are of ``sigmalang.decompress`` on each side's own stream (after an
untimed call), each checked to give the input back.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from cm_ab import export, parse_size

CHILD = r"""
import hashlib, json, sys, time
sys.path.insert(0, sys.argv[1])
import sigmalang
size, levels, decode = int(sys.argv[2]), [int(x) for x in sys.argv[3].split(",")], sys.argv[4] == "decode"
rows = []
for name in sys.argv[5:]:
    data = open(name, "rb").read()[:size]
    for level in levels:
        stream = sigmalang.compress(data, level=level)  # warm-up: load or compile every copy of the model it uses
        if decode:
            assert sigmalang.decompress(stream) == data
            start = time.process_time()
            back = sigmalang.decompress(stream)
            seconds = time.process_time() - start
            assert back == data
        else:
            start = time.process_time()
            stream = sigmalang.compress(data, level=level)
            seconds = time.process_time() - start
        rows.append({"file": name, "level": level, "size": len(stream), "seconds": seconds,
                     "sha": hashlib.sha256(stream).hexdigest()})
print(json.dumps(rows))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--rev", default="HEAD", help="the revision to compare the working tree with (default HEAD)")
    parser.add_argument("--levels", default="3,6,9")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", type=parse_size, default=4 << 20, help="bytes of each file to code (default 4MiB)")
    parser.add_argument("--allow-different", action="store_true", help="the streams may differ")
    parser.add_argument("--decode", action="store_true", help="time decoding instead of encoding")
    args = parser.parse_args()
    results: dict[str, list[list[dict[str, float | int | str]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sides = {args.rev: export(args.rev, Path(tmp)), "working tree": Path(__file__).resolve().parent.parent / "src"}
        for _ in range(args.rounds):
            for name, src in sides.items():
                mode = "decode" if args.decode else "encode"
                command = [sys.executable, "-c", CHILD, str(src), str(args.size), args.levels, mode]
                run = subprocess.run(command + [str(f) for f in args.files], capture_output=True, text=True, check=True)
                results.setdefault(name, []).append(json.loads(run.stdout))
    before, after = (results[name] for name in sides)
    what = "decode" if args.decode else "encode"
    print(f"best of {args.rounds} alternating runs, {what} CPU seconds; first {args.size:,} bytes of each file")
    print(f"| file | level | {args.rev} bytes | working tree bytes | same | {args.rev} s | working tree s | speed-up |")
    print("| --- | ---: | ---: | ---: | :---: | ---: | ---: | ---: |")
    totals: dict[int, list[float]] = {}
    differ = False
    for k, row in enumerate(before[0]):
        old = min(float(run[k]["seconds"]) for run in before)
        new = min(float(run[k]["seconds"]) for run in after)
        same = {run[k]["sha"] for run in before + after}
        differ |= len(same) > 1
        total = totals.setdefault(int(row["level"]), [0.0, 0.0])
        total[0], total[1] = total[0] + old, total[1] + new
        name = Path(str(row["file"])).name
        print(
            f"| {name} | {row['level']} | {row['size']:,} | {after[0][k]['size']:,} | "
            f"{'yes' if len(same) == 1 else 'NO'} | {old:.3f} | {new:.3f} | {old / new:.2f}x |"
        )
    for level, (old, new) in totals.items():
        print(f"| all files | {level} | | | | {old:.2f} | {new:.2f} | {old / new:.2f}x |")
    if differ and not args.allow_different:
        print("streams DIFFER between the two sources")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
