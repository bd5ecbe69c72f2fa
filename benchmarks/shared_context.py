"""Ratio and time of independent vs shared-context frames (docs/semantic.md, "Shared context").

::

    python benchmarks/shared_context.py CORPORA LEVELS CHUNKS_KIB WINDOWS_KIB [--no-book]

    python benchmarks/shared_context.py loghub,dickens 6,1 64,256,1024,4096 indep,256
    python benchmarks/shared_context.py loghub,dickens 6 64,256,1024 64,256,1024 --no-book

CORPORA: ``dickens`` (../shared/corpus/dickens.txt) and ``loghub`` (the corpus's logs concatenated
in name order). A window of ``indep`` means independent frames; a number K (KiB) shared context with
the writer's history window set to K. ``--no-book`` primes the backend only (continuing frames do
not reference the previous frame's codebook). Every stream is decoded again and compared.
One process, no workers: times are for comparing within one run.
"""

from __future__ import annotations

import argparse
import glob
import time
from pathlib import Path

import sigmalang
from sigmalang.codec import FrameContext
from sigmalang.compressor import SigmaCompressor

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def corpus(name: str, root: Path) -> bytes:
    if name == "dickens":
        return (root / "dickens.txt").read_bytes()
    return b"".join(Path(p).read_bytes() for p in sorted(glob.glob(str(root / "loghub" / "*.log"))))


def run(data: bytes, level: int, chunk: int, window: int | None, book: bool) -> tuple[int, float, float]:
    started = time.perf_counter()
    comp = SigmaCompressor(level, chunk_size=chunk, shared_context=window is not None)
    if window is not None:
        comp.context = FrameContext(window=window, carry_book=book)
    blob = comp.compress(data) + comp.flush()
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    assert sigmalang.decompress(blob) == data
    return len(blob), encoded, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora")
    parser.add_argument("levels")
    parser.add_argument("chunks", help="chunk sizes in KiB, comma-separated")
    parser.add_argument("windows", help="history windows in KiB, indep for independent frames")
    parser.add_argument("--no-book", action="store_true", help="do not carry the codebook")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    print("corpus level chunk_KiB K_KiB bytes ratio enc_s dec_s", flush=True)
    for name in args.corpora.split(","):
        data = corpus(name, args.corpus)
        for level in map(int, args.levels.split(",")):
            for chunk in (int(x) << 10 for x in args.chunks.split(",")):
                for item in args.windows.split(","):
                    window = None if item == "indep" else int(item) << 10
                    size, enc, dec = run(data, level, chunk, window, not args.no_book)
                    k = "indep" if window is None else str(window >> 10)
                    row = [name, level, chunk >> 10, k, size, f"{len(data) / size:.3f}", f"{enc:.1f}", f"{dec:.1f}"]
                    print(*row, flush=True)


if __name__ == "__main__":
    main()
