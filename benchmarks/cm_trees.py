"""The CM model with and without byte trees (docs/FORMAT.md §7.2), on the same inputs, in one process.

    python benchmarks/cm_trees.py FILES... [--size 4MiB] [--rounds 3] [--components 0xFFFF] [--records]

For each file's first ``--size`` bytes (with ``--records``, their record code, the log
transform's output, with the trees the encoder gives record codes), the CM backend alone encodes
and decodes them with the trees the encoder would give them (however short the input) and with
the flat trees (the bits),
alternating, ``--rounds`` times each; prints the payloads' sizes, the decisions a byte takes down
the trees, and the best CPU times (``time.process_time``) as ns a byte and as the trees' speed-up.
Every payload is decoded and compared with its input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from cm_ab import parse_size  # noqa: E402
from sigmalang import _backends, _cm, _records  # noqa: E402
from sigmalang._backends import CmBackend  # noqa: E402


def timed(backend: CmBackend, data: bytes) -> tuple[int, float, float]:
    start = time.process_time()
    payload = backend.encode(data)
    encode = time.process_time() - start
    start = time.process_time()
    if backend.decode(payload, len(data)) != data:
        raise SystemExit("a payload did not decode to its input")
    return len(payload), encode, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--size", type=parse_size, default=4 << 20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--components", type=lambda t: int(t, 0), default=0xFFFF)
    parser.add_argument("--records", action="store_true", help="code each file's record code")
    args = parser.parse_args()
    _backends.CM_TREES_MIN = _backends.CM_RECORD_TREES_MIN = 1  # the encoder's trees, whatever the input's length
    print(f"components {args.components:#x}, 2^22 slots, best of {args.rounds} alternating rounds (CPU time)")
    print("| input | bytes | flat trees | with trees | decisions a byte | encode ns a byte | decode ns a byte |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.files:
        data = path.read_bytes()[: args.size]
        if args.records:
            data = _records.encode(data)
        counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=256).tolist()
        version = _backends.cm_writer_version(args.components)
        given = _backends.given_trees(data, args.components, version, args.records)
        decisions = _cm.tree_decisions(given[0], counts) / len(data) if given else 8.0
        with_trees = CmBackend(args.components, 22, record_code=args.records)
        sides = {"flat": with_trees.without_trees(), "trees": with_trees}
        best: dict[str, list[float]] = {name: [0, float("inf"), float("inf")] for name in sides}
        for backend in sides.values():
            backend.decode(backend.encode(data[:4096]), len(data[:4096]))  # load the kernel
        for _ in range(args.rounds):
            for name, backend in sides.items():
                size, encode, decode = timed(backend, data)
                best[name] = [size, min(best[name][1], encode), min(best[name][2], decode)]
        flat, trees = best["flat"], best["trees"]
        name = f"{path.name} (record code)" if args.records else path.name
        ns = [1e9 * t / len(data) for t in (flat[1], trees[1], flat[2], trees[2])]
        print(
            f"| {name} | {len(data):,} | {flat[0]:,.0f} | {trees[0]:,.0f} ({trees[0] / flat[0] - 1:+.2%}) |"
            f" {decisions:.2f} | {ns[0]:,.0f} → {ns[1]:,.0f} ({ns[0] / ns[1]:.2f}x) |"
            f" {ns[2]:,.0f} → {ns[3]:,.0f} ({ns[2] / ns[3]:.2f}x) |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
