"""Measure the context-mixing model's components and sizes: the ablation table and the level grid.

    python benchmarks/cm_grid.py FILES... [--limit 1MB] [--ablation] [--grid]

Each file (its first --limit bytes) is coded by the CM backend alone, in one process, one core:

* ``--ablation``: the full component set, then the full set without each component in turn; the
  table shows how much larger the output gets without it (what the component earns) and the
  encode time;
* ``--grid``: the component sets and table sizes the levels are chosen from, with ratio and
  encode speed (MB/s of input, 10**6 bytes, CPU time of this process);
* ``--chunks 4,16``: each whole file (no --limit) cut into chunks of that many MiB, each coded
  alone as a frame is, with all components at 2^22 and 2^24 slots: what independent frames cost;
* ``--versions``: each file coded by every model version (all the components it has, 2^22
  slots), with encode time; files are coded in turn by each version, twice, and the faster run
  kept.

Every output is decoded and compared with its input. Speeds on a shared machine are noisy: compare
rows of the same run, never across runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang._backends import CM_VERSION, CM_VERSIONS, CmBackend  # noqa: E402
from sigmalang._cm import COMPONENTS_OF  # noqa: E402

NAMES = ["order 1", "order 2", "order 3", "order 4", "order 6/8", "word", "word pair", "column", "field", "match"]
NAMES += ["2nd weight set", "seen-count sets", "rate schedule", "3rd weight set", "indirect", "order 5"]
BITS = {**dict(enumerate(NAMES)), 17: "word skip"}  # component bit -> name (bit 16 is the codebook primer's)
ALL = sum(1 << bit for bit in BITS)  # model version 5's full set (levels 7-9)
V4 = ALL & ~(1 << 17)  # version 4's (levels 5 and 6)
GRID = [
    ("orders 1-6 + match", 0x121F, 20),
    ("orders 1-6 + match", 0x121F, 22),
    ("all", ALL, 18),
    ("all", ALL, 20),
    ("all", ALL, 22),
    ("all", ALL, 24),
    ("all but word skip (version 4)", V4, 22),
    ("all but word skip (version 4)", V4, 24),
]


def code(data: bytes, components: int, bits: int, version: int = CM_VERSION) -> tuple[int, float]:
    backend = CmBackend(components, bits, version)
    start = time.process_time()
    payload = backend.encode(data)
    elapsed = time.process_time() - start
    if backend.decode(payload, len(data)) != data:
        raise SystemExit(f"round trip FAILED for components {components:#x}, {bits} bits")
    return len(payload), elapsed


def ablation(files: dict[str, bytes]) -> None:
    names = list(files)
    print("| without | " + " | ".join(names) + " | all files | encode s |")
    print("| --- |" + " ---: |" * (len(names) + 2))
    full = {n: code(d, ALL, 22) for n, d in files.items()}
    total_full = sum(s for s, _ in full.values())
    print("| (nothing: all, bytes) | " + " | ".join(f"{full[n][0]:,}" for n in names), end="")
    print(f" | {total_full:,} | {sum(t for _, t in full.values()):.1f} |", flush=True)
    for bit, name in BITS.items():
        rows = {n: code(d, ALL & ~(1 << bit), 22) for n, d in files.items()}
        cells = [f"{100 * (rows[n][0] / full[n][0] - 1):+.2f}%" for n in names]
        total = sum(s for s, _ in rows.values())
        print(f"| {name} | " + " | ".join(cells), end="")
        print(f" | {100 * (total / total_full - 1):+.2f}% | {sum(t for _, t in rows.values()):.1f} |", flush=True)


def grid(files: dict[str, bytes]) -> None:
    names = list(files)
    print("| components | table | " + " | ".join(names) + " | MB/s |")
    print("| --- | ---: |" + " ---: |" * (len(names) + 1))
    size = sum(len(d) for d in files.values())
    for label, components, bits in GRID:
        rows = {n: code(d, components, bits) for n, d in files.items()}
        cells = [f"{len(files[n]) / rows[n][0]:.3f}" for n in names]
        mbs = size / sum(t for _, t in rows.values()) / 1e6
        print(f"| {label} | 2^{bits} | " + " | ".join(cells) + f" | {mbs:.2f} |", flush=True)


def versions(files: dict[str, bytes]) -> None:
    names = list(files)
    print("| model version | " + " | ".join(names) + " | all files | encode s |")
    print("| --- |" + " ---: |" * (len(names) + 2))
    results: dict[int, dict[str, tuple[int, float]]] = {v: {} for v in CM_VERSIONS}
    for _ in range(2):
        for name, data in files.items():
            for version in CM_VERSIONS:
                size, seconds = code(data, COMPONENTS_OF[version], 22, version)
                best = results[version].get(name, (size, seconds))[1]
                results[version][name] = (size, min(seconds, best))
    first = results[CM_VERSIONS[0]]
    for version in CM_VERSIONS:
        rows = results[version]
        total = sum(s for s, _ in rows.values())
        change = (
            "" if version == CM_VERSIONS[0] else f" ({100 * (total / sum(s for s, _ in first.values()) - 1):+.2f}%)"
        )
        cells = [f"{rows[n][0]:,}" for n in names]
        print(
            f"| {version} | " + " | ".join(cells) + f" | {total:,}{change} | {sum(t for _, t in rows.values()):.1f} |"
        )


def chunks(paths: list[Path], sizes_mib: list[int]) -> None:
    print("| file | chunk | 2^22 slots | 2^24 slots |")
    print("| --- | ---: | ---: | ---: |")
    for path in paths:
        data = path.read_bytes()
        for mib in sizes_mib:
            step = mib << 20
            cells = []
            for bits in (22, 24):
                total = sum(code(data[i : i + step], ALL, bits)[0] for i in range(0, len(data), step))
                cells.append(f"{len(data) / total:.3f}")
            print(f"| {path.name} | {mib} MiB | " + " | ".join(cells) + " |", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=1_000_000, help="bytes of each file (default 1,000,000)")
    parser.add_argument("--ablation", action="store_true")
    parser.add_argument("--grid", action="store_true")
    parser.add_argument("--chunks", help="chunk sizes in MiB, comma-separated, e.g. 4,16")
    parser.add_argument("--versions", action="store_true")
    args = parser.parse_args(argv)
    files = {f.name: f.read_bytes()[: args.limit] for f in args.files}
    code(b"warm-up: compile or load the kernel", ALL, 12)
    if args.ablation:
        ablation(files)
    if args.grid:
        grid(files)
    if args.chunks:
        chunks(args.files, [int(x) for x in args.chunks.split(",")])
    if args.versions:
        versions(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
