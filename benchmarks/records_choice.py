"""How well the default level chooses between records and bytes for each chunk of log files.

    python benchmarks/records_choice.py FILES... [--level 6] [--chunk-size 4MiB] [--short]

For each chunk of each file that the level would judge on samples (one that looks like log lines
and is longer than twice ``RECORDS_PROBE``; with ``--short``, shorter ones too, which are coded both
ways in full), one row: the record code's length over the chunk's, the share of the chunk's
first ``LOOK`` bytes in lines that repeat an earlier line whole, then records' size over bytes' size on the four
pieces the encoder takes first, coded apart (the sample of a chunk of at most twice ``LOOK``) and
joined into one piece (the sample of a longer chunk), on the longer piece it codes where the
sample leaves the choice open,
and on the whole chunk (both ways in full, as level 9 does); the choice the encoder makes, and what
it costs against the better of the two (0 when it chose right). Sizes are the CM's output for each
coding, the same calls the encoder makes; "not weighed" where the record code is as long as the
text, nearly, and the encoder does not code it (``_codec._hopeless``). "sample code / text" is the
record code of a long chunk's sample (its pieces joined) over the sample; "records, unweighed"
where the chunk's record code is short enough, and its lines repeat each other little enough, for
the encoder to choose records without coding the bytes (``_codec._sure``, ``_codec._code_first``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import _codec, _records  # noqa: E402
from sigmalang._cli_args import parse_size  # noqa: E402
from sigmalang._levels import TRANSFORM_RECORDS, LevelSpec, level_spec  # noqa: E402


def ratio(sizes: tuple[int, int] | None, pieces: list[bytes], spec: LevelSpec) -> str:
    """Records' size over bytes' size on *pieces*, or why there is none."""
    if sizes is not None:
        return f"{sizes[0] / sizes[1]:.3f}"
    codes = sum(len(_records.encode(piece)) for piece in pieces)
    return "not weighed" if _codec._hopeless(codes, sum(map(len, pieces)), spec) else "no record code"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--chunk-size", type=parse_size, default="4MiB", help="such as 64KiB or 4MiB")
    parser.add_argument("--short", action="store_true", help="also chunks short enough to be coded both ways")
    args = parser.parse_args()
    spec = level_spec(args.level)
    chunk_size = args.chunk_size
    print(f"level {args.level}, chunks of {chunk_size:,} bytes; ratios are records' size over bytes' size")
    print()
    columns = ["file, chunk", "bytes", "code / text", "repeated lines", "sample code / text", "4 pieces apart"]
    columns.append("4 pieces joined")
    print("| " + " | ".join([*columns, "longer piece", "whole chunk", "chosen", "cost of the choice"]) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for path in args.files:
        data = path.read_bytes()
        for at in range(0, len(data), chunk_size):
            chunk = data[at : at + chunk_size]
            short = len(chunk) <= 2 * _codec.RECORDS_PROBE
            if short and not args.short or not _records.looks_like_logs(chunk):
                continue
            apart = joined = longer = sample_code = "-"
            chunk_code = _records.encode(chunk)
            code_size = len(chunk_code)
            sure = _codec._sure(chunk_code, chunk, spec, None)
            if not short:
                pieces = _codec._probes(chunk)
                joined_sample = b"".join(pieces)
                sample_code = f"{len(_records.encode(joined_sample)) / len(joined_sample):.3f}"
                sure = sure and _codec._code_first(chunk, spec) is not None
                apart_sizes = _codec._coded_sizes(pieces, spec)
                joined_sizes = _codec._coded_sizes([joined_sample], spec)
                sample = joined_sizes if len(chunk) > 2 * _codec.LOOK else apart_sizes
                apart, joined = ratio(apart_sizes, pieces, spec), ratio(joined_sizes, pieces, spec)
                if sample is not None and not _codec.settled(*sample) and len(chunk) > 2 * _codec.LOOK:
                    look = _codec._look(chunk)
                    longer = ratio(_codec._coded_sizes([look], spec), [look], spec)
            as_records = _codec._records_body(chunk, spec, b"", None)  # weighed or not
            assert as_records is not None, "a chunk whose record code cannot be written"
            as_bytes = _codec._body_at_most(chunk, spec, None, b"", False, 1 << 62)
            assert as_bytes is not None
            whole = (len(as_records.data), len(as_bytes.data))
            body = _codec.encode_body(chunk, spec)
            kind = "records" if body.transform == TRANSFORM_RECORDS else "bytes"
            cost = (whole[0] if kind == "records" else whole[1]) / min(whole) - 1
            code = f"{code_size / len(chunk):.3f}"
            judged = _codec._lines_judged(chunk)
            repeated = f"{_codec.repeated_bytes(judged) / len(judged):.3f}"
            cells = [f"{path.name} #{at // chunk_size}", f"{len(chunk):,}", code, repeated, sample_code, apart, joined]
            cells.append(longer)
            cells += [f"{whole[0] / whole[1]:.3f}", kind + (", unweighed" if sure else ""), f"{cost:+.1%}"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
