"""What checking PPMd's output costs, three ways, in one process (docs/semantic.md, "pyppmd caveat").

::

    python benchmarks/verify_cost.py [FILES...] [--level 6] [--chunk-size 4MiB] [--repeat 2]

Each file is cut into chunks and each chunk encoded with ``codec.encode_chunk`` at the level, with
the level's PPMd backend set three ways: ``none`` (no check), ``lengths`` (what the levels do: each
encode() call's output length proves nothing was lost, and only an encoding it cannot clear is
decoded again) and ``decode`` (every encoding decoded again, as sigmalang 0.x did). Every frame is
decoded and compared after timing. Prints seconds per mode (best of --repeat), encode MB/s, and how
many encodings each check had to decode. Without FILES: the corpus's dickens and its logs
concatenated. Times compare modes within one run; they are not for comparing machines.
"""

from __future__ import annotations

import argparse
import glob
import os
import time
from pathlib import Path

from sigmalang import _backend_ppmd, _backends
from sigmalang._codec import decode_chunk, encode_chunk
from sigmalang._levels import level_spec
from sigmalang.cli import parse_size

CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))
MODES = ("none", "lengths", "decode")


def inputs(files: list[str]) -> list[tuple[str, bytes]]:
    if files:
        return [(Path(f).name, Path(f).read_bytes()) for f in files]
    logs = b"".join(Path(p).read_bytes() for p in sorted(glob.glob(str(CORPUS / "loghub" / "*.log"))))
    return [("dickens", (CORPUS / "dickens.txt").read_bytes()), ("loghub concatenated", logs)]


def encode_all(data: bytes, level: int, chunk: int, mode: str) -> tuple[float, list[tuple[int, int, bytes]], int]:
    spec = level_spec(level)
    backend = _backends.get_backend(spec.backend, spec.backend_level, spec.memory_mib, verify=spec.verify)
    assert isinstance(backend, _backend_ppmd.PpmdBackend), "the level must use PPMd"
    backend.verify = mode != "none"
    block = _backend_ppmd.PPMD_BLOCK
    _backend_ppmd.PPMD_BLOCK = 0 if mode == "decode" else block  # 0: no length clears an encoding
    checks = backend.full_checks
    try:
        started = time.perf_counter()
        frames = []
        for start in range(0, len(data), chunk):
            encoded = encode_chunk(data[start : start + chunk], level)
            frames.append((encoded.transform, encoded.backend, encoded.data))
        seconds = time.perf_counter() - started
    finally:
        _backend_ppmd.PPMD_BLOCK = block
        backend.verify = spec.verify
    return seconds, frames, backend.full_checks - checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*")
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--chunk-size", default="4MiB")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    chunk = parse_size(args.chunk_size)
    print(f"level {args.level} ({level_spec(args.level).describe()}), {args.chunk_size} chunks, best of {args.repeat}")
    print()
    print("| input | MB | check | encode s | encode MB/s | vs no check | encodings decoded by the check |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name, data in inputs(args.files):
        base = 0.0
        for mode in MODES:
            runs = [encode_all(data, args.level, chunk, mode) for _ in range(args.repeat)]
            best, frames, decoded = min(runs, key=lambda run: run[0])
            for i, (transform, backend, payload) in enumerate(frames):
                size = min(chunk, len(data) - i * chunk)
                assert decode_chunk(transform, backend, payload, size) == data[i * chunk : i * chunk + size]
            base = base or best
            total = -(-len(data) // chunk)
            print(
                f"| {name} | {len(data) / 1e6:.1f} | {mode} | {best:.2f} | {len(data) / 1e6 / best:.2f} "
                f"| {best / base:.2f}× | {decoded} of {total} |"
            )
    print()
    print("every frame decoded and compared: ok")


if __name__ == "__main__":
    main()
