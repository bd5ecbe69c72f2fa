"""CPU time of many concatenated empty streams, the decoder's peak memory on a long-range match
list of one-byte matches, and the record reader's on codes of very many columns
(docs/robustness.md).

Usage::

    python benchmarks/hostile.py                 # 2,000 to 100,000 streams; 256 KiB chunk
    python benchmarks/hostile.py --quick         # up to 32,000 streams; 64 KiB chunk

Times are ``time.process_time`` of ``sigmalang.decompress`` (best of three), so other load on
the machine does not count. The memory figure is the Python heap peak (tracemalloc) of one
``decompress`` call in a fresh process, divided by the chunk size; it is printed beside what a
list of one tuple per match would take alone. The record codes are made by hand: one line of F
one-digit values between empty pieces (one template of F columns, as no writer writes now, and
as the longest a code of that size can hold), the same table with its template used by no line
(refused), and F templates of one field each, one line each (writers keep at most 65,536); each
is read by ``_records.decode`` in a fresh process, timed (CPU), then read again for its Python
heap peak (tracemalloc).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import sigmalang

_MEMORY = """
import sys, tracemalloc
import sigmalang
from sigmalang._frames import FrameWriter
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_LONG_LITERAL
from sigmalang._backend_base import STORE
from sigmalang._wire import encode_varint
from sigmalang._longrange import encode_list, parse_list

chunk = int(sys.argv[1])
first = bytes(range(256)) * (chunk // 256)
size = (chunk - 32) // 3
matches = [(i, 1, 1) for i in range(1, size)]
listed = encode_list(matches)
del matches
writer = FrameWriter(0, chunk, shared_context=True)
stream = b"".join([
    writer.start(),
    writer.record(first, TRANSFORM_LITERAL, STORE, first),
    writer.record(b"x" * size, TRANSFORM_LONG_LITERAL, STORE, encode_varint(0) + listed + b"x", True),
    writer.finish(),
])
tracemalloc.start()
out = sigmalang.decompress(stream)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
assert out == first + b"x" * size
tracemalloc.start()
tuples, _ = parse_list(listed, size, chunk)
tuple_peak = tracemalloc.get_traced_memory()[1]
print(len(tuples), len(stream), len(out), peak, tuple_peak)
"""


_COLUMNS = """
import sys, time, tracemalloc
from sigmalang import _records
from sigmalang._wire import encode_varint

fields, kind = int(sys.argv[1]), sys.argv[2]
lines, expected = 1, b"1" * fields
if kind == "used":
    table, ids, values = b"\\x00" * fields + b"\\n", b"\\x00", b"1\\n" * fields
elif kind == "unused":
    table, ids, values = b"\\x00" * fields + b"\\nx\\n", b"\\x01", b""
else:  # as many templates of one field, a line each
    width = _records.id_width(fields)
    ids = b"".join(k.to_bytes(width, "big") for k in range(fields))
    table, values = b"\\x00\\n" * fields, b"1\\n" * fields
    lines, expected = fields, b"\\n".join([b"1"] * fields)
code = b"\\x06" + encode_varint(lines) + encode_varint(len(table)) + encode_varint(len(ids)) + table + ids + values
size = len(code) // 4 if kind == "unused" else len(expected)  # unused: the least the length check lets through
def read():
    try:
        assert _records.decode(code, size) == expected
    except _records.RecordsError:
        assert kind == "unused"

start = time.process_time()
read()  # timed without tracemalloc, which slows every allocation
seconds = time.process_time() - start
tracemalloc.start()
read()
print(len(code), size, tracemalloc.get_traced_memory()[1], seconds)
"""


def many_columns(counts: list[int]) -> None:
    print("\n| record code | F | code bytes | size S | peak MiB | × S | bytes per F | CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    kinds = {
        "used": "one line of F fields",
        "unused": "one template of F fields that no line uses (refused)",
        "templates": "F templates of one field, a line each",
    }
    for kind, what in kinds.items():
        for fields in counts:
            done = subprocess.run(
                [sys.executable, "-c", _COLUMNS, str(fields), kind], capture_output=True, text=True, check=True
            )
            code, size, peak, seconds = done.stdout.split()
            print(
                f"| {what} | {fields:,} | {int(code):,} | {int(size):,} | {int(peak) / 2**20:.1f} "
                f"| {int(peak) / int(size):.0f} | {int(peak) / fields:.0f} | {float(seconds):.2f} |"
            )


def concatenated(counts: list[int]) -> None:
    one = sigmalang.compress(b"", 0)
    print("| empty streams | input bytes | CPU s | µs per stream |")
    print("| ---: | ---: | ---: | ---: |")
    for n in counts:
        data = one * n
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            sigmalang.decompress(data)
            best = min(best, time.process_time() - start)
        print(f"| {n:,} | {len(data):,} | {best:.2f} | {best / n * 1e6:.0f} |")


def long_range(chunk: int) -> None:
    done = subprocess.run([sys.executable, "-c", _MEMORY, str(chunk)], capture_output=True, text=True, check=True)
    matches, stream, out, peak, tuples = map(int, done.stdout.split())
    print(f"\n{matches:,} one-byte matches, chunk size {chunk:,} bytes:")
    print("| what | peak, × chunk size |")
    print("| --- | ---: |")
    print(
        f"| decompress(), whole call (input {stream / chunk:.2f} ×, output {out / chunk:.2f} ×) | {peak / chunk:.2f} |"
    )
    print(f"| the list as one tuple per match, alone | {tuples / chunk:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    concatenated([2000, 8000, 32000] if args.quick else [2000, 8000, 32000, 100_000])
    long_range((64 << 10) if args.quick else (256 << 10))
    many_columns([10_000, 100_000] if args.quick else [10_000, 100_000, 300_000])


if __name__ == "__main__":
    main()
