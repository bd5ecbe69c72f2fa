"""How well the default level chooses between records and bytes for each chunk of log files.

    python benchmarks/records_choice.py FILES... [--level 6] [--chunk-size 4MiB]

For each chunk of each file that the level would judge on samples (one that looks like log lines
and is longer than twice ``RECORDS_PROBE``), one row: records' size over bytes' size on the four
pieces the encoder takes first, coded apart (the sample of a chunk of at most twice ``LOOK``) and
joined into one piece (the sample of a longer chunk), on the longer piece it codes where the
sample leaves the choice open,
and on the whole chunk (both ways in full, as level 9 does); the choice the encoder makes, and what
it costs against the better of the two (0 when it chose right). Sizes are the CM's output for each
coding, the same calls the encoder makes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import _codec, _records  # noqa: E402
from sigmalang._levels import TRANSFORM_RECORDS, level_spec  # noqa: E402


def ratio(sizes: tuple[int, int] | None) -> str:
    """Records' size over bytes' size, or why there is none."""
    return "no record code" if sizes is None else f"{sizes[0] / sizes[1]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--chunk-size", default="4MiB")
    args = parser.parse_args()
    spec = level_spec(args.level)
    chunk_size = int(args.chunk_size.removesuffix("MiB")) << 20
    print(f"level {args.level}, chunks of {chunk_size:,} bytes; ratios are records' size over bytes' size")
    print()
    columns = ["file, chunk", "bytes", "4 pieces apart", "4 pieces joined", "longer piece", "whole chunk", "chosen"]
    print("| " + " | ".join([*columns, "cost of the choice"]) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for path in args.files:
        data = path.read_bytes()
        for at in range(0, len(data), chunk_size):
            chunk = data[at : at + chunk_size]
            if len(chunk) <= 2 * _codec.RECORDS_PROBE or not _records.looks_like_logs(chunk):
                continue
            apart = _codec._coded_sizes(_codec._probes(chunk), spec)
            joined = _codec._coded_sizes([b"".join(_codec._probes(chunk))], spec)
            sample = joined if len(chunk) > 2 * _codec.LOOK else apart
            unsure = sample is not None and not _codec.settled(*sample)
            longer = "-"
            if unsure and len(chunk) > 2 * _codec.LOOK:
                longer = ratio(_codec._coded_sizes([_codec._look(chunk)], spec))
            whole = _codec._coded_sizes([chunk], spec)
            assert whole is not None, "a chunk whose record code cannot be written"
            body = _codec.encode_body(chunk, spec)
            kind = "records" if body.transform == TRANSFORM_RECORDS else "bytes"
            cost = (whole[0] if kind == "records" else whole[1]) / min(whole) - 1
            cells = [f"{path.name} #{at // chunk_size}", f"{len(chunk):,}", ratio(apart), ratio(joined), longer]
            cells += [f"{whole[0] / whole[1]:.3f}", kind, f"{cost:+.1%}"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
