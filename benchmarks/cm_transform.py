"""Does the glyph transform help the context-mixing model? CM on each file's bytes against CM on
its glyph code, with and without the line stages (Σ-bank lines, TEMPORAL timestamps).

    python benchmarks/cm_transform.py FILES... [--limit 1000000] [--offset 0] [--book SHORT,MIN_COUNT]

Prints a markdown table of ratios (input bytes / CM payload bytes; the glyph code's own length
field is not counted) and the time of the transform and of the model (CPU seconds, this process).
Every glyph code is checked to decode back to the input. ``--book 120,64`` adds a variant without
the line stages and with a smaller codebook (at most SHORT one-byte codes, words seen at least
MIN_COUNT times); ``--offset`` starts each file there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import semantic  # noqa: E402
from sigmalang._backends import CmBackend  # noqa: E402

VARIANTS = [
    ("glyph code (all stages)", {}),
    ("glyph code, no line stages", {"bank": False, "temporal": False}),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--limit", type=int, default=1_000_000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--book", action="append", default=[], metavar="SHORT,MIN_COUNT")
    args = parser.parse_args(argv)
    variants = list(VARIANTS)
    for book in args.book:
        short, min_count = (int(v) for v in book.split(","))
        name = f"no line stages, book {short},{min_count}"
        variants.append((name, {"bank": False, "temporal": False, "short": short, "min_count": min_count}))
    backend = CmBackend()
    backend.encode(b"warm-up")
    print("| file | bytes | CM on bytes | " + " | ".join(name for name, _ in variants) + " | transform s | CM s |")
    print("| --- | ---: | ---: |" + " ---: |" * (len(variants) + 2))
    for path in args.files:
        data = path.read_bytes()[args.offset : args.offset + args.limit]
        start = time.process_time()
        raw = len(backend.encode(data))
        t_model = time.process_time() - start
        cells, t_transform = [], 0.0
        for _, options in variants:
            start = time.process_time()
            code = semantic.encode(data, **options)  # type: ignore[arg-type]
            t_transform += time.process_time() - start
            if semantic.decode(code, len(data)) != data:
                raise SystemExit(f"{path.name}: glyph code does not round-trip")
            cells.append(f"{len(data) / len(backend.encode(code)):.3f}")
        print(
            f"| {path.name} | {len(data):,} | {len(data) / raw:.3f} | " + " | ".join(cells),
            f"| {t_transform / len(variants):.2f} | {t_model:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
