"""Coverage-guided fuzzing of the record-code decoder (transform 4, ``sigmalang._records``) with atheris.

    pip install -e '.[fuzz]'
    python fuzz/fuzz_records.py fuzz/corpus-records -max_total_time=600

Record codes reach the decoder through the CM in a stream, where almost every mutation becomes
noise; this target feeds them directly. The property: whatever the bytes and the size the frame
claims, ``decode`` returns exactly that many bytes or raises RecordsError; never another
exception, a hang or a crash; and it reads the same with no reader per short column (as it
reads a code of more than LEAN_COLUMNS columns). The first two input bytes are the size / 4. Seeds: record codes of
log lines (clocks, counters, escapes, CRLF, non-UTF-8 bytes, references between the fields of a
line).
"""

from __future__ import annotations

import os

import atheris
from fuzzlib import fuzz

with atheris.instrument_imports():
    from sigmalang import _records

LEAN_COLUMNS = _records.LEAN_COLUMNS

SEEDS = [
    b"hello 1 world\n",
    b"".join(
        b"2024-03-%02d 12:%02d:%02d.%03d INFO block_%d served to 10.0.0.%d\n" % (d, m, s, s * 7, d * m, m)
        for d in (1, 2)
        for m in range(0, 60, 7)
        for s in range(0, 60, 13)
    ),
    b"".join(
        b"Jun %2d 04:%02d:11 combo sshd[%d]: session 007 opened\r\n" % (d, m, 1000 + m)
        for d in (9, 10)
        for m in range(40)
    ),
    b'x "5 -3 +4 \x00\x01 9 \xff\xfe 12\n' * 9 + b"no line feed 42",
    b"".join(  # version 7: sizes shown again in KB, an address repeated in its line, values after byte 1
        b"[10.30 16:%02d] chrome.exe - %d bytes (%s KB) sent, src /10.0.%d.9:80 dst /10.0.%d.9:80 \x01v%d\n"
        % (i, n, _records._rescaled(n, i % 16), i % 3, i % 3, i)
        for i, n in enumerate(range(1100, 90000, 2917))
    ),
]


def test_one_input(raw: bytes) -> None:
    if len(raw) < 3:
        return
    size = int.from_bytes(raw[:2], "little") * 4
    outs = []
    for lean in (LEAN_COLUMNS, 0):  # as the reader reads every code, then with no reader per short column
        _records.LEAN_COLUMNS = lean
        try:
            outs.append(_records.decode(raw[2:], size))
        except _records.RecordsError:
            outs.append(None)
    _records.LEAN_COLUMNS = LEAN_COLUMNS
    if outs[0] != outs[1]:
        raise AssertionError("the lean reading (past LEAN_COLUMNS columns) reads the code otherwise")
    if outs[0] is not None and len(outs[0]) != size:
        raise AssertionError(f"decoded {len(outs[0])} bytes, not the {size} the frame claims")


def write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for n, text in enumerate(SEEDS):
        padded = text + b" " * (-len(text) % 4)  # the size field counts fours
        with open(os.path.join(directory, f"seed-{n}"), "wb") as f:
            f.write((len(padded) // 4).to_bytes(2, "little") + _records.encode(padded))


if __name__ == "__main__":
    fuzz(test_one_input, write_seeds)
