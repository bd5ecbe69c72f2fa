"""What the PPMd backend's decode costs next to pyppmd's decoder alone (docs/ppmd.md).

Usage::

    SIGMALANG_CORPUS=/path/to/corpus python benchmarks/ppmd_decode_speed.py [--repeat 3] [--size 1MiB]

For 1 MiB of dickens.txt and of loghub's logs concatenated (after a 256 KiB context), at level 3's
model (order 6, 64 MiB), prints the CPU time (``time.process_time``: every thread of the process,
pyppmd's decoding thread included; best of --repeat) of

* ``pyppmd alone``: one ``Ppmd7Decoder.decode`` of the payload's stream, nothing checked;
* ``backend``: ``PpmdBackend.decode`` of an independent frame's payload, with its one-spelling
  check (docs/FORMAT.md §7.3);
* ``backend, primed``: ``PpmdBackend.decode`` of a frame that continues a 256 KiB context (the
  writer's window, §7.5), the context's priming included;

and the decoded megabytes per CPU second of each. Uses only the backend's public methods and
pyppmd, so the same script measures any version of the backend. Times compare rows within one run
on one machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pyppmd

from sigmalang._backend_ppmd import PpmdBackend
from sigmalang.cli import parse_size

CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))
ORDER, MEMORY_MIB = 6, 64
CONTEXT = 256 << 10


def best(repeat: int, function: object, *args: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function(*args)  # type: ignore[operator]
        times.append(time.process_time() - start)
    return min(times)


def pyppmd_alone(stream: bytes, size: int) -> bytes:
    decoder = pyppmd.Ppmd7Decoder(ORDER, MEMORY_MIB << 20)
    out = decoder.decode(stream + bytes(1 << 16), size)
    assert len(out) == size
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=1 << 20)
    args = parser.parse_args(argv)
    columns = "pyppmd alone (s CPU) | backend (s CPU) | ratio | backend, primed (s CPU) | MB/s: alone, backend, primed"
    print(f"| input | {columns} |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    logs = b"".join(p.read_bytes() for p in sorted((CORPUS / "loghub").glob("*.log")))
    for name, whole in (("dickens.txt", (CORPUS / "dickens.txt").read_bytes()), ("loghub/*.log", logs)):
        data = whole[CONTEXT : CONTEXT + args.size]
        prime = whole[:CONTEXT]
        backend = PpmdBackend(ORDER, MEMORY_MIB)
        payload = backend.encode(data)
        primed = backend.encode(data, prime)
        assert backend.decode(payload, len(data)) == data and backend.decode(primed, len(data), prime) == data
        alone = best(args.repeat, pyppmd_alone, payload[2:], len(data))
        full = best(args.repeat, backend.decode, payload, len(data))
        continued = best(args.repeat, backend.decode, primed, len(data), prime)
        rates = ", ".join(f"{len(data) / t / 1e6:.2f}" for t in (alone, full, continued))
        print(
            f"| {name}, {len(data) >> 10} KiB | {alone:.3f} | {full:.3f} | {full / alone:.2f} "
            f"| {continued:.3f} | {rates} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
