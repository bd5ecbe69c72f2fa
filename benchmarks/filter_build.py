"""CPU time of building the search filters alone (``FilterBuilder``), chunk by chunk.

    python benchmarks/filter_build.py FILE:CHUNK... [--src DIR]

Each argument is a file and the chunk size to cut it into (``dickens.txt:4MiB``); one row per
argument: the seconds of CPU the builder took for the whole file, and a digest of the index
extension it wrote, so two revisions (``--src`` points at another checkout's ``src``) can be
compared on the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("inputs", nargs="+", help="FILE:CHUNK, the chunk size as 4096, 64KiB or 4MiB")
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the sigmalang sources to time")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.src))
    from sigmalang._filters import FilterBuilder

    sizes = {"KiB": 1 << 10, "MiB": 1 << 20}
    print("| input | chunk | CPU s | extension sha256 |")
    print("| --- | ---: | ---: | --- |")
    for spec in args.inputs:
        path, _, chunk_text = spec.rpartition(":")
        unit = chunk_text[-3:]
        chunk = int(chunk_text[:-3]) * sizes[unit] if unit in sizes else int(chunk_text)
        data = Path(path).read_bytes()
        began = time.process_time()
        builder = FilterBuilder()
        for at in range(0, len(data), chunk):
            builder.add(data[at : at + chunk], chunk // 4)
        extension = builder.encode()
        spent = time.process_time() - began
        print(f"| {Path(path).name} | {chunk_text} | {spent:.2f} | {hashlib.sha256(extension).hexdigest()[:12]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
