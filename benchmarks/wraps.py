"""What transform 5 (wrapped lines) does to whole files: each file compressed at a level with the
transform and without it, the stream sizes, the change, and the CPU time of each.

    python benchmarks/wraps.py FILE[:LIMIT] ... [--level 6] [--chunk-size 4MiB]
    python benchmarks/wraps.py --hostile     # the decoder on hostile wrap codes: time, peak heap

"Without" is the same level with ``wraps`` switched off in its settings (``sigmalang._levels``),
so the difference is what the transform and its choice cost and save, nothing else; both streams
are decoded and compared with the input. Times are ``time.process_time`` of one ``compress`` each
(one process, one worker), loose on a shared machine. LIMIT keeps the first LIMIT bytes of a file.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import tracemalloc
from pathlib import Path

import sigmalang
from sigmalang import _levels, _wraps
from sigmalang._wire import encode_varint


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


def _segmented(text: bytes, flags: int, width: int, numbers: int, size: int) -> bytes:
    """A version-2 wrap code of as many segments as *size* allows, each with *text* and *numbers*
    numbers, all 0."""
    count = size // _wraps.MIN_SEGMENT + 1
    table = (bytes([flags]) + encode_varint(width) + b"\x00" + encode_varint(len(text))) * count
    return bytes([2]) + encode_varint(count) + table + text * count + bytes(numbers) * count


def hostile() -> None:
    """The decoder's CPU time and peak Python heap on wrap codes made to cost it the most."""
    mib = 1 << 20
    a_b = b"a b " * 1024  # 4,096 bytes: a space between two letters every other byte
    cases = {
        "v1, 8 MiB of line feeds": (b"\x01\x00\x01" + encode_varint(8 * mib) + b"\n" * 8 * mib, 8 * mib),
        "v2, 4 MiB: 1,025 segments of plain text": (
            b"\x02" + encode_varint(1025) + b"\x00\x00\x00\x80\x20" * 1025 + b"x" * 4096 * 1025,
            4096 * 1025,
        ),
    }
    # `a b ` repeated: 2,047 candidates a segment (the last space has nothing after it); at width 1
    # every line takes its first, so every candidate is a line end (in place of a space: same size;
    # after a space, with keep: one byte more each).
    for label, flags, grows in (
        ("v2, 4 MiB: 1,025 segments of `a b `, width 1, every space made a line end", 0, 0),
        ("v2, 4 MiB: 1,025 segments of `a b `, keep, width 1, a line end after every space", 2, 1),
    ):
        code = _segmented(a_b, flags, 1, 2047, 4 * mib)
        cases[label] = (code, (4096 + grows * 2047) * (4 * mib // 4096 + 1))
    long = a_b * 1025  # the same text as one segment: 2,099,199 line ends
    one = b"\x02\x01\x00\x01\x00" + encode_varint(len(long)) + long + bytes(len(long) // 2 - 1)
    cases["v2, one segment of the same 4 MiB, width 1, every space made a line end"] = (one, len(long))
    wide = a_b * 16  # 64 KiB, 32,767 line ends, each put back with 255 spaces
    indented = b"\x02\x01\x00\x01\xff\x01" + encode_varint(len(wide)) + wide + bytes(len(wide) // 2 - 1)
    cases["v2, 64 KiB of `a b `, indent 255, every space made a line end"] = (indented, len(wide) + 255 * 32767)
    print("| wrap code | bytes out | CPU s | peak heap MiB |")
    print("| --- | ---: | ---: | ---: |")
    for label, (code, size) in cases.items():
        start = time.process_time()
        out = len(_wraps.decode(code, size))
        spent = time.process_time() - start
        tracemalloc.start()  # a second run for the memory: tracing slows every allocation
        _wraps.decode(code, size)
        peak = tracemalloc.get_traced_memory()[1] / mib
        tracemalloc.stop()
        print(f"| {label} | {out:,} | {spent:.2f} | {peak:.1f} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="FILE or FILE:LIMIT (bytes, or with KiB/MiB/KB/MB)")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--chunk-size", type=_size, default=None)
    parser.add_argument("--hostile", action="store_true", help="time the decoder on hostile wrap codes")
    args = parser.parse_args()
    if args.hostile:
        hostile()
        return 0
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
