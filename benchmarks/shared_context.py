"""Ratio and time of independent vs shared-context frames (docs/semantic.md, "Shared context").

::

    python benchmarks/shared_context.py CORPORA LEVELS CHUNKS_KIB WINDOWS_KIB [--no-book] [--long MIB,...]

    python benchmarks/shared_context.py loghub,dickens 6,1 64,256,1024,4096 indep,256
    python benchmarks/shared_context.py loghub,dickens 6 64,256,1024 64,256,1024 --no-book
    python benchmarks/shared_context.py /tmp/html.bin,dickens,loghub 6 4096 indep,256 --long 0,32

CORPORA: ``dickens`` (CORPUS/dickens.txt; CORPUS is $SIGMALANG_CORPUS, else ./corpus) and
``loghub`` (the corpus's logs concatenated in name order); any other name is a file path (e.g. all
of ``/usr/share/doc/**/*.html`` concatenated). A window of ``indep`` means independent frames; a
number K (KiB) shared context with the writer's history window set to K. ``--no-book`` primes the
backend only (continuing frames do not reference the previous frame's codebook). ``--long`` lists
long-range windows in MiB for the shared-context runs, 0 = no long-range references (``long_MiB``
column; FORMAT.md §7, transforms 2 and 3); the ``long_frames`` column counts the frames that use
them. Every stream is decoded again and compared. One process, no workers: times are for comparing
within one run."""

from __future__ import annotations

import argparse
import glob
import os
import time
from pathlib import Path

import sigmalang
from sigmalang._compressor import SigmaCompressor
from sigmalang._container import StreamParser
from sigmalang._frames import FrameContext
from sigmalang._levels import LONG_TRANSFORMS
from sigmalang._longrange import MIN_MATCH, Matcher
from sigmalang._stream_records import Frame

CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))


def corpus(name: str, root: Path) -> bytes:
    if name == "dickens":
        return (root / "dickens.txt").read_bytes()
    if name != "loghub":
        return Path(name).read_bytes()
    return b"".join(Path(p).read_bytes() for p in sorted(glob.glob(str(root / "loghub" / "*.log"))))


def long_frames(blob: bytes) -> int:
    parser = StreamParser(codebook_id=None)
    parser.feed(blob)
    count = 0
    while (event := parser.next_event()) is not None:
        count += isinstance(event, Frame) and event.transform in LONG_TRANSFORMS
    return count


def run(
    data: bytes, level: int, chunk: int, window: int | None, book: bool, long: int, min_match: int = MIN_MATCH
) -> tuple[int, int, float, float]:
    started = time.perf_counter()
    comp = SigmaCompressor(level, chunk_size=chunk, shared_context=window is not None)
    if window is not None:
        comp.context = FrameContext(window=window, carry_book=book, long_range=long > 0)
        if long:
            comp.context.long = Matcher(window=long, min_match=min_match)
    blob = comp.compress(data) + comp.flush()
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    assert sigmalang.decompress(blob) == data
    return len(blob), long_frames(blob), encoded, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora")
    parser.add_argument("levels")
    parser.add_argument("chunks", help="chunk sizes in KiB, comma-separated")
    parser.add_argument("windows", help="history windows in KiB, indep for independent frames")
    parser.add_argument("--no-book", action="store_true", help="do not carry the codebook")
    parser.add_argument("--long", default="0", help="long-range windows in MiB, comma-separated (0: none)")
    parser.add_argument("--min-match", type=int, default=MIN_MATCH, help="shortest long-range match")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    print("corpus level chunk_KiB K_KiB long_MiB bytes ratio long_frames enc_s dec_s", flush=True)
    for name in args.corpora.split(","):
        data = corpus(name, args.corpus)
        for level in map(int, args.levels.split(",")):
            for chunk in (int(x) << 10 for x in args.chunks.split(",")):
                for item in args.windows.split(","):
                    window = None if item == "indep" else int(item) << 10
                    for long in [0] if window is None else [int(x) << 20 for x in args.long.split(",")]:
                        size, count, enc, dec = run(data, level, chunk, window, not args.no_book, long, args.min_match)
                        k = "indep" if window is None else str(window >> 10)
                        row = [name, level, chunk >> 10, k, long >> 20, size, f"{len(data) / size:.3f}"]
                        print(*row, count, f"{enc:.1f}", f"{dec:.1f}", flush=True)


if __name__ == "__main__":
    main()
