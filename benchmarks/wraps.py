"""What transform 5 (wrapped lines) does to whole files: each file compressed at a level with the
transform and without it, the stream sizes, the change, and the CPU time of each.

    python benchmarks/wraps.py FILE[:LIMIT] ... [--level 6] [--chunk-size 4MiB]

"Without" is the same level with ``wraps`` switched off in its settings (``sigmalang._levels``),
so the difference is what the transform and its choice cost and save, nothing else; both streams
are decoded and compared with the input. Times are ``time.process_time`` of one ``compress`` each
(one process, one worker), loose on a shared machine. LIMIT keeps the first LIMIT bytes of a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import sigmalang
from sigmalang import _levels


def _size(text: str) -> int:
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "KB": 1000, "MB": 1000_000}
    for unit, scale in units.items():
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * scale)
    return int(text)


def coded(data: bytes, level: int, chunk_size: int | None, wraps: bool) -> tuple[int, float]:
    """The stream size of *data* at *level* with the transform on or off, and its CPU time."""
    saved = _levels.LEVELS[level]
    _levels.LEVELS[level] = dataclasses.replace(saved, wraps=wraps)
    try:
        start = time.process_time()
        stream = sigmalang.compress(data, level, chunk_size=chunk_size)
        spent = time.process_time() - start
    finally:
        _levels.LEVELS[level] = saved
    if sigmalang.decompress(stream) != data:
        raise SystemExit("round trip failed")
    return len(stream), spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="FILE or FILE:LIMIT (bytes, or with KiB/MiB/KB/MB)")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--chunk-size", type=_size, default=None)
    args = parser.parse_args()
    print(f"level {args.level}, chunk size {args.chunk_size or 'the level default'}")
    print("| file | bytes | without | with wrap codes | change | CPU s without | CPU s with |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    total = [0, 0]
    for spec in args.files:
        name, _, limit = spec.partition(":")
        data = Path(name).read_bytes()
        if limit:
            data = data[: _size(limit)]
        without, t_without = coded(data, args.level, args.chunk_size, False)
        with_wraps, t_with = coded(data, args.level, args.chunk_size, True)
        total[0] += without
        total[1] += with_wraps
        change = 100 * (with_wraps - without) / without
        print(
            f"| {Path(name).name} | {len(data):,} | {without:,} | {with_wraps:,} | {change:+.2f}% "
            f"| {t_without:.2f} | {t_with:.2f} |",
            flush=True,
        )
    print(f"| all | | {total[0]:,} | {total[1]:,} | {100 * (total[1] - total[0]) / total[0]:+.2f}% | | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
