"""Round-trip every corpus file through the CLI and the API, at the default settings and at
--chunk-size 4KiB (the smallest the command line takes), and print a table of results: whether
each gives the file back, and whether the command line (``--no-filter``) writes the same stream
as ``sigmalang.compress``. Exit status 1 if any of these fails.

    .venv/bin/python benchmarks/roundtrip_corpus.py [DIR_OR_FILES...] [--levels 0-9]

Default: $SIGMALANG_CORPUS (else ./corpus), level 6 (the default level). With --levels (a list like
1,6,9 or a range like 0-9), every file goes through every level listed, each at both chunk sizes.
With --chunks (default ``default,4KiB``), other chunk sizes: below 4 KiB, through the API only.

    .venv/bin/python benchmarks/roundtrip_corpus.py CORPUS/loghub --levels 0-9 --chunks 1KiB
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sigmalang

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))


CLI_MIN_CHUNK = 4096  # the command line's smallest chunk size


def parse_size(text: str) -> int:
    """``1KiB``, ``4KiB``, ``1024`` → bytes."""
    units = {"kib": 1 << 10, "mib": 1 << 20, "": 1}
    number = text.rstrip("KiBMkmb")
    return int(number) * units[text[len(number) :].lower()]


def parse_levels(text: str) -> list[int]:
    """``6``, ``1,6,9`` or ``0-9`` → the levels, in order."""
    levels: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        levels += range(int(first), int(last or first) + 1)
    return levels


def files_in(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths or [str(DEFAULT_CORPUS)]):
        found += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix != ".md") if p.is_dir() else [p]
    return found


def cli_roundtrip(path: Path, chunk: str | None, level: int, tmp: Path) -> tuple[bool, bytes]:
    """Whether the command line's encode and decode give *path* back; the stream's digest (written
    without search filters, so that it can equal compress()'s)."""
    enc, dec = tmp / "x.sgl", tmp / "x.out"
    extra = ["--chunk-size", chunk] if chunk else []
    extra += ["--level", str(level), "--no-filter"]
    cmd = [sys.executable, "-m", "sigmalang"]
    subprocess.run([*cmd, "encode", "-q", "-f", *extra, str(path), "-o", str(enc)], check=True)
    subprocess.run([*cmd, "decode", "-q", "-f", str(enc), "-o", str(dec)], check=True)
    same = hashlib.blake2b(dec.read_bytes()).digest() == hashlib.blake2b(path.read_bytes()).digest()
    return same, hashlib.blake2b(enc.read_bytes()).digest()


def api_roundtrip(path: Path, chunk: int | None, level: int) -> tuple[bool, bytes, int]:
    data = path.read_bytes()
    blob = sigmalang.compress(data, level, chunk_size=chunk) if chunk else sigmalang.compress(data, level)
    return sigmalang.decompress(blob) == data, hashlib.blake2b(blob).digest(), len(blob)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--levels", default=str(sigmalang.DEFAULT_LEVEL), help="e.g. 6, 1,6,9 or 0-9")
    parser.add_argument("--chunks", default="default,4KiB", help="chunk sizes, e.g. default,4KiB,1KiB")
    args = parser.parse_args()
    chunks = [(None, None) if c == "default" else (c, parse_size(c)) for c in args.chunks.split(",")]
    levels = parse_levels(args.levels)
    failures = 0
    version = f"sigmalang {sigmalang.__version__}, levels {args.levels}"
    print(f"# round-trip, {version}, python {sys.version.split()[0]}")
    print("| file | size | level | chunk | CLI | API | same stream | encoded | seconds |")
    print("| --- | ---: | ---: | --- | --- | --- | :---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as d:
        for path, level, (chunk_text, chunk) in itertools.product(files_in(args.paths), levels, chunks):
            start = time.perf_counter()
            api_ok, api_digest, size = api_roundtrip(path, chunk, level)
            failures += not api_ok
            verdict = ("-", "identical" if api_ok else "DIFFERS", "-")
            if chunk is None or chunk >= CLI_MIN_CHUNK:
                cli_ok, cli_digest = cli_roundtrip(path, chunk_text, level, Path(d))
                failures += (not cli_ok) + (cli_digest != api_digest)
                verdict = (
                    "identical" if cli_ok else "DIFFERS",
                    verdict[1],
                    "yes" if cli_digest == api_digest else "NO",
                )
            label = chunk_text or "default"
            name = os.path.relpath(path, DEFAULT_CORPUS) if path.is_relative_to(DEFAULT_CORPUS) else str(path)
            elapsed = time.perf_counter() - start
            cells = [name, f"{path.stat().st_size:,}", str(level), label, *verdict, f"{size:,}", f"{elapsed:.1f}"]
            print("| " + " | ".join(cells) + " |")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
