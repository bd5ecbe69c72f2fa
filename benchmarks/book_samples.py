"""Small files with a trained book: words only, words and sample lines, against zstd's dictionaries
(docs/semantic.md, "Sample lines").

    python benchmarks/book_samples.py FILE... [--sizes 4KiB,16KiB,64KiB] [--pieces 8] [--level 6]
    python benchmarks/book_samples.py FILE... --sweep 0,16KiB,32KiB,64KiB,128KiB,256KiB [--sizes 4KiB]

Each FILE stands for a source of many small files: its first half is what books and dictionaries
are trained on, and *pieces* pieces of whole lines of each size, evenly spread over its second
half, are compressed one by one, as separate files (sizes include each tool's container). Books:
``words`` is ``sigmalang train --sample-size 0`` (the words alone), ``sample`` the default (the
words and 64 KiB of sample lines), ``other`` the default trained on the first halves of all the
*other* FILEs (a book of the wrong sources). zstd's dictionary is trained by ``zstandard`` on the
same first half cut into 4 KiB pieces of whole lines, 64 KiB like the sample (where zstd finds
too little to train on, the first half's last 64 KiB as a raw dictionary). The last table is the
CPU time of compressing and decompressing every piece of one size (a book's words and sample are
read by the model before every file: the price of the ratio). ``--sweep`` instead trains books with
each sample size given and prints, per piece size, the bytes of all files and the CPU time.
"""

from __future__ import annotations

import argparse
import lzma
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import zstandard

import sigmalang
from sigmalang.cli import parse_size
from sigmalang.semantic.codebook import SAMPLE_DEFAULT, Codebook, train_codebook

TOOLS = ("none", "words", "sample", "other", "xz -9", "zstd -19", "zstd -19 dict")


def lines_at(data: bytes, at: int, size: int) -> bytes:
    start = data.find(b"\n", at - 1) + 1 if at else 0
    return data[start : data.rfind(b"\n", start, start + size) + 1 or start + size]


def halves(path: Path) -> tuple[bytes, bytes]:
    data = path.read_bytes()
    half = data.rfind(b"\n", 0, len(data) // 2) + 1
    return data[:half], data[half:]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--sizes", default="4KiB,16KiB,64KiB")
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--sweep", help="sample sizes to compare (0 is a book of words alone)")
    args = ap.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    if args.sweep:
        sweep(args, sizes, [0 if s == "0" else parse_size(s) for s in args.sweep.split(",")])
        return
    totals: dict[tuple[int, str], int] = {}
    seconds: dict[tuple[int, str], list[float]] = {}
    print(f"level {args.level}; {args.pieces} pieces of each size from each file's second half; bytes")
    print()
    print("| file | piece | bytes | " + " | ".join(TOOLS) + " |")
    print("| --- | ---: | ---: |" + " ---: |" * len(TOOLS))
    with tempfile.TemporaryDirectory() as tmp:
        firsts = []
        for n, path in enumerate(args.files):
            first = Path(tmp, f"{n}-{path.name}")
            first.write_bytes(halves(path)[0])
            firsts.append(first)
        for n, path in enumerate(args.files):
            train, test = halves(path)
            mine = os.fspath(firsts[n])
            books: dict[str, Codebook] = {
                "words": train_codebook([mine], sample_size=0),
                "sample": train_codebook([mine]),
                "other": train_codebook([os.fspath(p) for i, p in enumerate(firsts) if i != n]),
            }
            training = [lines_at(train, at, 4096) for at in range(0, len(train), 4096)]
            try:
                zdict = zstandard.train_dictionary(SAMPLE_DEFAULT, [t for t in training if t])
            except zstandard.ZstdError:  # too little to train on: its last 64 KiB as a raw dictionary
                zdict = zstandard.ZstdCompressionDict(train[-SAMPLE_DEFAULT:], dict_type=zstandard.DICT_TYPE_RAWCONTENT)
            zc = zstandard.ZstdCompressor(level=19, dict_data=zdict)
            zd = zstandard.ZstdDecompressor(dict_data=zdict)
            plain_z = zstandard.ZstdCompressor(level=19)
            coders: dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]] = {
                "none": (lambda d: sigmalang.compress(d, args.level), sigmalang.decompress),
                "xz -9": (lambda d: lzma.compress(d, preset=9), lzma.decompress),
                "zstd -19": (plain_z.compress, zstandard.ZstdDecompressor().decompress),
                "zstd -19 dict": (zc.compress, zd.decompress),
            }
            for name, book in books.items():
                coders[name] = (
                    lambda d, b=book: sigmalang.compress(d, args.level, codebook=b),
                    lambda d, b=book: sigmalang.decompress(d, codebook=b),
                )
            for size in sizes:
                pieces = [lines_at(test, len(test) * k // args.pieces, size) for k in range(args.pieces)]
                row = []
                for tool in TOOLS:
                    enc, dec = coders[tool]
                    t0 = time.process_time()
                    blobs = [enc(p) for p in pieces]
                    t1 = time.process_time()
                    back = [dec(b) for b in blobs]
                    t2 = time.process_time()
                    assert back == pieces, (path, tool, size)
                    total = sum(map(len, blobs))
                    row.append(total)
                    totals[size, tool] = totals.get((size, tool), 0) + total
                    spent = seconds.setdefault((size, tool), [0.0, 0.0])
                    spent[0] += t1 - t0
                    spent[1] += t2 - t1
                cells = " | ".join(f"{v:,}" for v in row)
                print(f"| {path.name} | {size >> 10} KiB | {sum(map(len, pieces)):,} | {cells} |", flush=True)
    print()
    print("| all files | piece | " + " | ".join(TOOLS) + " |")
    print("| --- | ---: |" + " ---: |" * len(TOOLS))
    for size in sizes:
        base = totals[size, "words"]
        cells = " | ".join(f"{totals[size, t]:,} ({totals[size, t] / base:.2f})" for t in TOOLS)
        print(f"| sum (vs words) | {size >> 10} KiB | {cells} |")
    print()
    print("| CPU s, encode / decode | piece | " + " | ".join(TOOLS) + " |")
    print("| --- | ---: |" + " ---: |" * len(TOOLS))
    for size in sizes:
        cells = " | ".join(f"{seconds[size, t][0]:.2f} / {seconds[size, t][1]:.2f}" for t in TOOLS)
        print(f"| all files | {size >> 10} KiB | {cells} |")


def sweep(args: argparse.Namespace, sizes: list[int], samples: list[int]) -> None:
    bytes_of: dict[tuple[int, int], int] = {}
    cpu: dict[tuple[int, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n, path in enumerate(args.files):
            train, test = halves(path)
            first = Path(tmp, f"{n}-{path.name}")
            first.write_bytes(train)
            for sample in samples:
                book = train_codebook([os.fspath(first)], sample_size=sample)
                for size in sizes:
                    pieces = [lines_at(test, len(test) * k // args.pieces, size) for k in range(args.pieces)]
                    t0 = time.process_time()
                    blobs = [sigmalang.compress(p, args.level, codebook=book) for p in pieces]
                    t1 = time.process_time()
                    assert [sigmalang.decompress(b, codebook=book) for b in blobs] == pieces
                    t2 = time.process_time()
                    bytes_of[size, sample] = bytes_of.get((size, sample), 0) + sum(map(len, blobs))
                    spent = cpu.setdefault((size, sample), [0.0, 0.0])
                    spent[0] += t1 - t0
                    spent[1] += t2 - t1
            print(f"  {path.name}: done", flush=True)
    print(f"level {args.level}; {len(args.files)} files, {args.pieces} pieces of each size from each one's second half")
    print()
    print("| sample size | piece | bytes, all files | against no sample | encode CPU s | decode CPU s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in sizes:
        for sample in samples:
            total = bytes_of[size, sample]
            enc, dec = cpu[size, sample]
            against = total / bytes_of[size, samples[0]]
            print(f"| {sample >> 10} KiB | {size >> 10} KiB | {total:,} | {against:.3f} | {enc:.2f} | {dec:.2f} |")


if __name__ == "__main__":
    main()
