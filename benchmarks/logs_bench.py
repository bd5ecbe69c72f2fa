"""Log files at the default level against xz -9: ratio, and encode/decode CPU time.

    python benchmarks/logs_bench.py FILES... [--concat NAME] [--level 6] [--rounds 1] [--repeat-min N]

One row per file (and, with --concat, one for all files joined, as NAME): input bytes, sigmalang's
ratio, xz -9's ratio, their quotient, the frames coded as records, and CPU seconds (this process)
of sigmalang's encode and decode and of xz -9's encode, each the best of ``--rounds`` runs in
turn, and sigmalang's encode time over xz -9's. Every stream is checked to decode back.
``--repeat-min N`` makes the record code's writer leave out repeated entries of N bytes or more
instead of its own choice (a large N: none), to measure that choice.
"""

from __future__ import annotations

import argparse
import lzma
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import sigmalang  # noqa: E402
from sigmalang import _records  # noqa: E402
from sigmalang._container import StreamParser  # noqa: E402
from sigmalang._stream_records import Frame  # noqa: E402


def records_frames(encoded: bytes) -> str:
    parser = StreamParser()
    parser.feed(encoded)
    frames = []
    while (event := parser.next_event()) is not None:
        if isinstance(event, Frame):
            frames.append(event)
    return f"{sum(1 for f in frames if f.transform == 4)}/{len(frames)}"


def row(name: str, data: bytes, level: int, rounds: int) -> str:
    t_enc = t_dec = t_xz = float("inf")
    for _ in range(rounds):
        t = time.process_time()
        enc = sigmalang.compress(data, level)
        t_enc = min(t_enc, time.process_time() - t)
        t = time.process_time()
        if sigmalang.decompress(enc) != data:
            raise SystemExit(f"{name}: does not round-trip")
        t_dec = min(t_dec, time.process_time() - t)
        t = time.process_time()
        xz = len(lzma.compress(data, preset=9))
        t_xz = min(t_xz, time.process_time() - t)
    ratio, xz_ratio = len(data) / len(enc), len(data) / xz
    return (
        f"| {name} | {len(data):,} | {ratio:.2f} | {xz_ratio:.2f} | {ratio / xz_ratio:.2f} | {records_frames(enc)} "
        f"| {t_enc:.3f} | {t_dec:.3f} | {t_xz:.3f} | {t_enc / t_xz:.2f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--concat", default="")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1, help="best of this many runs of each (default 1)")
    parser.add_argument("--repeat-min", type=int, default=_records.REPEAT_MIN)
    args = parser.parse_args(argv)
    _records.REPEAT_MIN = args.repeat_min
    sigmalang.compress(b"warm-up\n" * 100, args.level)
    columns = "records frames | enc s | dec s | xz enc s | enc / xz enc"
    print(f"| file | bytes | sigmalang -{args.level} | xz -9 | × xz | {columns} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    blobs = []
    for path in args.files:
        data = path.read_bytes()
        blobs.append(data)
        print(row(path.name, data, args.level, args.rounds), flush=True)
    if args.concat:
        print(row(args.concat, b"".join(blobs), args.level, args.rounds), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
