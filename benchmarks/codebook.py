"""Ratio with and without a trained codebook (docs/semantic.md, "Trained codebooks").

    python benchmarks/codebook.py CORPUS_DIR [--level 6] [--chunks 64KiB,256KiB,1MiB] [--words 4096]

The book is always trained on other data than what is encoded: the first half of dickens.txt
for its second half, six loghub logs for the other six, and all twelve logs for dickens's second
half (a book from the wrong domain). Sizes include the container; a stream with a book does not
include the book's own bytes (a decoder has it already). A second table gives the CPU seconds of
encoding and decoding without and with the book (at levels 4-9 each frame's model first reads the
book's words: the cost of that, which small chunks feel most). Books here hold words only
(``--sample-size 0``); ``benchmarks/book_samples.py`` measures books with sample lines.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

import sigmalang
from sigmalang import semantic
from sigmalang.cli import parse_size
from sigmalang.semantic.codebook import train_codebook


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--chunks", default="64KiB,256KiB,1MiB")
    ap.add_argument("--words", type=int, default=4096)
    args = ap.parse_args()
    dickens = (args.corpus / "dickens.txt").read_bytes()
    logs = sorted((args.corpus / "loghub").glob("*.log"))
    half = dickens.rfind(b"\n", 0, len(dickens) // 2) + 1
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp, "dickens-first-half.txt")
        first.write_bytes(dickens[:half])
        cases = [
            ("dickens 2nd half", "dickens 1st half", dickens[half:], [first]),
            ("loghub, 6 logs", "the other 6 logs", b"".join(p.read_bytes() for p in logs[6:]), logs[:6]),
            ("dickens 2nd half", "all 12 logs", dickens[half:], logs),
        ]
        print(f"level {args.level}, books of at most {args.words} words; test logs: {[p.name for p in logs[6:]]}")
        print("| input | book trained on | words | chunk | no book | book | book, no extension |")
        print("| --- | --- | ---: | --- | ---: | ---: | ---: |")
        plain = semantic.encode
        times: list[tuple[str, str, str, str, float, float]] = []
        for name, trained, data, samples in cases:
            book = train_codebook([os.fspath(p) for p in samples], words=args.words, sample_size=0)
            for chunk in args.chunks.split(","):
                size = parse_size(chunk)
                ratios = []
                for variant in ("none", "book", "no-ext"):
                    semantic.encode = functools.partial(plain, extend=variant != "no-ext")  # type: ignore[assignment]
                    start = time.process_time()
                    blob = sigmalang.compress(
                        data, args.level, chunk_size=size, codebook=None if variant == "none" else book
                    )
                    encoded = time.process_time()
                    semantic.encode = plain  # type: ignore[assignment]
                    assert sigmalang.decompress(blob, codebook=book) == data
                    if variant != "no-ext":
                        times.append((name, trained, chunk, variant, encoded - start, time.process_time() - encoded))
                    ratios.append(len(data) / len(blob))
                cells = " | ".join(f"{r:.3f}" for r in ratios)
                print(f"| {name} ({len(data):,} B) | {trained} | {len(book.words)} | {chunk} | {cells} |", flush=True)
    print("\nCPU seconds, encode and decode (one process, one run):\n")
    print("| input | book trained on | chunk | encode, no book | encode, book | decode, no book | decode, book |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for without, with_book in zip(times[0::2], times[1::2], strict=True):
        name, trained, chunk, _, enc, dec = without
        print(f"| {name} | {trained} | {chunk} | {enc:.2f} | {with_book[4]:.2f} | {dec:.2f} | {with_book[5]:.2f} |")


if __name__ == "__main__":
    main()
