"""Encode and decode a text file with sigmalang, check the round trip, compare with ``gzip -9``,
``xz -9`` and ``zstd -19``.

Usage: ``python benchmarks/demo.py [FILE]`` (``make demo`` runs it on the bundled sample).

sigmalang runs through its real command line (``sigmalang.cli.main``, in this process, so the
interpreter's start-up is not counted); each other compressor runs as its program when there is
one, else as the Python module at the same level (``gzip``, ``lzma``, ``zstandard``; the table
says which). Every output goes to a temporary directory that is removed at the end. Exit status
1 if a decoded file differs.
"""

from __future__ import annotations

import argparse
import filecmp
import gzip
import lzma
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sigmalang import __version__
from sigmalang._levels import DEFAULT_LEVEL, chunk_size_for, level_spec
from sigmalang.cli import main as sigmalang_main

DEFAULT_SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "dickens-sample.txt"


@dataclass
class Result:
    name: str
    encoded_size: int
    encode_s: float
    decode_s: float
    identical: bool


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _cli(*args: str) -> None:
    status = sigmalang_main(list(args))
    if status != 0:
        raise SystemExit(f"sigmalang {' '.join(args)} failed with exit status {status}")


def run_sigmalang(src: Path, work: Path, level: int) -> Result:
    encoded, decoded = work / (src.name + ".sgl"), work / src.name
    encode_s = _timed(lambda: _cli("encode", "-q", "--level", str(level), str(src), "-o", str(encoded)))
    decode_s = _timed(lambda: _cli("decode", "-q", str(encoded), "-o", str(decoded)))
    return Result(
        f"sigmalang -{level}", encoded.stat().st_size, encode_s, decode_s, filecmp.cmp(src, decoded, shallow=False)
    )


@dataclass(frozen=True)
class Baseline:
    """A general-purpose compressor to compare with: its program and level flag, and the Python
    module that stands in (at the same level) where the program is not installed."""

    program: str
    level: str  # the program's flag, e.g. "-9"
    suffix: str
    compress: Callable[[bytes], bytes]
    decompress: Callable[[bytes], bytes]


def _zstd_compress(data: bytes) -> bytes:
    import zstandard  # a dependency of sigmalang

    return zstandard.ZstdCompressor(level=19).compress(data)


def _zstd_decompress(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdDecompressor().decompress(data)


BASELINES = [
    Baseline("gzip", "-9", ".gz", lambda d: gzip.compress(d, compresslevel=9), gzip.decompress),
    Baseline("xz", "-9", ".xz", lambda d: lzma.compress(d, preset=9), lzma.decompress),
    Baseline("zstd", "-19", ".zst", _zstd_compress, _zstd_decompress),
]


def _with_program(path: str, b: Baseline, src: Path, encoded: Path, decoded: Path) -> tuple[float, float]:
    with open(encoded, "wb") as out:
        encode_s = _timed(lambda: subprocess.run([path, b.level, "-c", str(src)], stdout=out, check=True))
    with open(decoded, "wb") as out:
        decode_s = _timed(lambda: subprocess.run([path, "-d", "-c", str(encoded)], stdout=out, check=True))
    return encode_s, decode_s


def _with_module(b: Baseline, src: Path, encoded: Path, decoded: Path) -> tuple[float, float]:
    def encode() -> None:
        encoded.write_bytes(b.compress(src.read_bytes()))

    def decode() -> None:
        decoded.write_bytes(b.decompress(encoded.read_bytes()))

    return _timed(encode), _timed(decode)


def run_baseline(b: Baseline, src: Path, work: Path) -> Result:
    encoded, decoded = work / (src.name + b.suffix), work / (src.name + b.suffix + ".out")
    path = shutil.which(b.program)
    name = f"{b.program} {b.level}"
    if path:
        encode_s, decode_s = _with_program(path, b, src, encoded, decoded)
    else:
        name += f" (Python module: no {b.program} program found)"
        encode_s, decode_s = _with_module(b, src, encoded, decoded)
    return Result(name, encoded.stat().st_size, encode_s, decode_s, filecmp.cmp(src, decoded, shallow=False))


def _table(size: int, results: list[Result]) -> str:
    rows = [
        "| codec | encoded bytes | ratio | encode s | decode s | encode MB/s | decode MB/s | round trip |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        rows.append(
            f"| {r.name} | {r.encoded_size:,} | {size / r.encoded_size:.3f} | {r.encode_s:.3f} | {r.decode_s:.3f} "
            f"| {size / 1e6 / r.encode_s:.1f} | {size / 1e6 / r.decode_s:.1f} "
            f"| {'identical' if r.identical else 'DIFFERENT'} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_SAMPLE, help="text file (default: the sample)")
    parser.add_argument("-l", "--level", type=int, default=DEFAULT_LEVEL, help=f"level (default {DEFAULT_LEVEL})")
    args = parser.parse_args(argv)
    src: Path = args.file
    if not src.is_file():
        parser.error(f"{src}: no such file")
    size = src.stat().st_size
    print(f"sigmalang {__version__} demo: Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(f"input: {src} ({size:,} bytes)")
    with tempfile.TemporaryDirectory(prefix="sigmalang-demo-") as tmp:
        results = [run_sigmalang(src, Path(tmp), args.level)] + [run_baseline(b, src, Path(tmp)) for b in BASELINES]
    print()
    print(_table(size, results))
    print()
    what = level_spec(args.level).describe()
    print(f"sigmalang -{args.level} is {what}, in chunks of {chunk_size_for(args.level, None) >> 10} KiB.")
    print("ratio = original size / encoded size (higher is smaller); times are wall-clock seconds.")
    bad = [r.name for r in results if not r.identical]
    if bad:
        print(f"FAILED: decoded output differs from the input for {', '.join(bad)}", file=sys.stderr)
        return 1
    print("OK: every decoded file is byte-identical to the input.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
