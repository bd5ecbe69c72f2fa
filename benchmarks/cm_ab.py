"""Compare the CM kernel's speed at two revisions of the source, in alternating runs.

    python benchmarks/cm_ab.py FILE [--rev HEAD~1] [--size 3MiB] [--rounds 3] [--components 0xFFFF]
                               [--rev-components 0x3FFF]

The source tree at ``--rev`` (exported with ``git archive`` into a temporary folder) and the working
tree each code the first ``--size`` bytes of FILE with the CM backend alone, in fresh processes,
alternating A, B, A, B, ... so that both see the same load on a shared machine. Each run reports
encode and decode CPU time (``time.process_time``) per input byte and the payload's SHA-256; the
table shows the fastest run of each side, and the script fails if the payloads differ (a change
meant to be byte-identical that is not) unless ``--allow-different`` is given.

The first run of each side compiles its kernel into that tree's cache (excluded from the times: a
warm-up call precedes the timed one). ``--rev-components`` gives the revision its own component set
(with ``--allow-different``): a new model version against the one it replaces, each with its
writers' set.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import hashlib, json, sys, time
sys.path.insert(0, sys.argv[1])
from sigmalang._backends import CmBackend
data = open(sys.argv[2], "rb").read()[: int(sys.argv[3])]
backend = CmBackend(int(sys.argv[4], 0), int(sys.argv[5]))
backend.decode(backend.encode(data[:4096]), len(data[:4096]))  # warm-up: load or compile the kernel
start = time.process_time()
payload = backend.encode(data)
encode_s = time.process_time() - start
start = time.process_time()
ok = backend.decode(payload, len(data)) == data
decode_s = time.process_time() - start
print(json.dumps({"size": len(payload), "sha": hashlib.sha256(payload).hexdigest(), "ok": ok,
                  "encode_ns": encode_s / len(data) * 1e9, "decode_ns": decode_s / len(data) * 1e9}))
"""


def export(rev: str, into: Path) -> Path:
    """The source tree of *rev* under *into*; returns its ``src`` folder."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "src"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def parse_size(text: str) -> int:
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "KB": 10**3, "MB": 10**6}
    for unit, factor in units.items():
        if text.endswith(unit):
            return int(text[: -len(unit)]) * factor
    return int(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--rev", default="HEAD", help="the revision to compare the working tree with (default HEAD)")
    parser.add_argument("--size", type=parse_size, default=3 << 20, help="bytes of FILE to code (default 3MiB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--components", default="0xFFFF", help="component set (default: all, as levels 5-9)")
    parser.add_argument("--rev-components", help="the revision's component set, where it differs")
    parser.add_argument("--hash-bits", type=int, default=22)
    parser.add_argument("--allow-different", action="store_true", help="the payloads may differ (a model change)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sides = {args.rev: export(args.rev, Path(tmp)), "working tree": REPO / "src"}
        runs: dict[str, list[dict[str, float | str | bool]]] = {name: [] for name in sides}
        for _ in range(args.rounds):
            for name, src in sides.items():
                command = [sys.executable, "-c", CHILD, str(src), str(args.file), str(args.size)]
                components = args.rev_components if name == args.rev and args.rev_components else args.components
                command += [components, str(args.hash_bits)]
                result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
                if not result["ok"]:
                    raise SystemExit(f"round trip FAILED at {name}")
                runs[name].append(result)
    sets = f"{args.components} ({args.rev_components} at {args.rev})" if args.rev_components else args.components
    coded = min(args.size, args.file.stat().st_size)
    print(
        f"{args.file.name}, first {coded:,} bytes, components {sets}, 2^{args.hash_bits} slots, "
        f"best of {args.rounds} alternating runs (CPU time)"
    )
    print("| source | payload bytes | encode ns/byte | decode ns/byte | encode MB/s | decode MB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, results in runs.items():
        enc = min(float(r["encode_ns"]) for r in results)
        dec = min(float(r["decode_ns"]) for r in results)
        print(f"| {name} | {results[0]['size']:,} | {enc:.0f} | {dec:.0f} | {1e3 / enc:.3f} | {1e3 / dec:.3f} |")
    shas = {r["sha"] for results in runs.values() for r in results}
    if len(shas) > 1 and not args.allow_different:
        print("payloads DIFFER between the two sources")
        return 1
    print("payloads identical" if len(shas) == 1 else "payloads differ (allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
