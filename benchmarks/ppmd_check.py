"""What PPMd's one-spelling check costs, and whether damaged PPMd streams still abort a process.

Usage::

    SIGMALANG_CORPUS=/path/to/corpus python benchmarks/ppmd_check.py

1. CPU time (time.process_time, all threads) of decoding 1 MiB of dickens.txt and of the first
   loghub sample at order 6, 64 MiB (level 3's model), with the backend's full decode (decode and
   the one-spelling check: docs/FORMAT.md §7.3) against pyppmd's decoder alone
   (benchmarks/ppmd_decode_speed.py also times primed frames).
2. Damaged streams: child processes each decode 3,000 damaged PPMd payloads (cut short, one bit
   flipped, or a random tail) of tests/fixtures/loghub-small.log; printed is how many children
   glibc aborted, with the zero-byte runway after the stream (_backend_ppmd.PPMD_RUNWAY) and without.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pyppmd

from sigmalang._backend_ppmd import PpmdBackend

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))

CHILD = """
import random, sys
from sigmalang import _backend_ppmd
from sigmalang._backend_base import BackendError
from sigmalang._backend_ppmd import PpmdBackend
if sys.argv[3] == "off":
    _backend_ppmd._RUNWAY, _backend_ppmd.PPMD_RUNWAY = b"", 0
data = open(sys.argv[1], "rb").read()
rng = random.Random(int(sys.argv[2]))
for i in range(3000):
    order = rng.choice((2, 3, 4, 6, 8, 16, 32, 64))
    size = rng.randrange(1, 1500)
    start = rng.randrange(0, len(data) - size)
    backend = PpmdBackend(order, 1)
    stream = backend.encode(data[start : start + size])
    kind = rng.randrange(3)
    if kind == 0:
        damaged = stream[: rng.randrange(3, len(stream))]
    elif kind == 1:
        pos = rng.randrange(2, len(stream))
        damaged = stream[:pos] + bytes([stream[pos] ^ (1 << rng.randrange(8))]) + stream[pos + 1 :]
    else:
        pos = rng.randrange(2, len(stream))
        damaged = stream[:pos] + rng.randbytes(len(stream) - pos)
    try:
        backend.decode(damaged, size)
    except BackendError:
        pass
"""


def decode_alone(stream: bytes, size: int) -> bytes:
    """pyppmd's decoder on the stream, nothing checked."""
    return pyppmd.Ppmd7Decoder(6, 64 << 20).decode(stream + bytes(1 << 16), size)


def cpu(function: object, *args: object) -> float:
    start = time.process_time()
    function(*args)  # type: ignore[operator]
    return time.process_time() - start


def main() -> int:
    logs = sorted((CORPUS / "loghub").glob("*.log"))
    print("| input | decode alone (s CPU) | decode + check (s CPU) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for path in [CORPUS / "dickens.txt", *logs[:1]]:
        data = path.read_bytes()[: 1 << 20]
        backend = PpmdBackend(6, 64)
        payload = backend.encode(data)
        alone = cpu(decode_alone, payload[2:], len(data))
        full = cpu(backend.decode, payload, len(data))
        print(f"| {path.name}, 1 MiB | {alone:.3f} | {full:.3f} | {full / alone:.2f} |")
    fixture = ROOT / "tests" / "fixtures" / "loghub-small.log"
    runs = 6
    print()
    print("| runway | children aborted | damaged decodes |")
    print("| --- | ---: | ---: |")
    for mode in ("on", "off"):
        aborted = 0
        for seed in range(runs):
            child = subprocess.run([sys.executable, "-c", CHILD, str(fixture), str(seed), mode], capture_output=True)
            aborted += child.returncode != 0
        print(f"| {mode} | {aborted} of {runs} | {runs * 3000:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
