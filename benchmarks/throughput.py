"""Encode and decode throughput of ``sigmalang -T N`` on at least 50 MB of distinct real text.

Usage::

    python benchmarks/throughput.py                    # -T 1, 2, 4 at the default level
    python benchmarks/throughput.py --workers 1,2 --repeat 3 --level 6
    python benchmarks/throughput.py --input FILE       # time a file of your own instead

The input is real text that is never one file repeated (a repeated file would let Σ-bank
references make the later copies trivial): the corpus files (``$SIGMALANG_CORPUS``, else ``./corpus``: dickens.txt,
then the loghub logs), then this interpreter's standard-library ``.py`` sources, then the ``.py``
sources of its site-packages, then (for inputs larger than those, as ``scale.py``'s gigabyte) the
other text files of this machine under ``/usr/share``, ``/usr/include``, ``/usr/lib`` and the
site-packages (no NUL byte in the first 8 KiB; gzip files, such as manual pages, decompressed), each list sorted by
path, files with identical content taken once, whole files until the total reaches ``--mib`` MiB.
The script prints what went in and a digest of the result, so two runs can tell whether they
timed the same bytes.

Each measurement is one whole ``python -m sigmalang encode|decode -T N`` process, timed from start
to exit with a wall clock: interpreter start, worker start-up, reading and writing the files
included. Beside it, the CPU time of that process and of its whole tree (fork server and workers
too): on a busy machine the wall times suffer, and the CPU times show whether the work itself grew.
With ``--repeat``, the fastest run of each is kept. The encoded files must be
byte-identical for every worker count and decode to the input, or the script exits with 1.
MB/s means 10**6 bytes of original text per second, for encode and decode alike.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import os
import platform
import resource
import shlex
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import psutil

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SIGMALANG_CORPUS", "corpus"))
MiB = 1 << 20


def _text_sources(corpus: Path) -> Iterator[tuple[str, list[Path]]]:
    if corpus.is_dir():
        yield "corpus", sorted(corpus.glob("*.txt")) + sorted(corpus.glob("loghub/*.log"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    yield "stdlib .py", sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    site = Path(sysconfig.get_paths()["purelib"])
    yield "site-packages .py", sorted(site.rglob("*.py"))
    roots = [*OTHER_TEXT, sysconfig.get_paths()["purelib"]]
    other = (p for d in roots for p in Path(d).rglob("*") if p.is_file() and not p.is_symlink())
    yield "other text files", sorted(other)


OTHER_TEXT = ("/usr/share", "/usr/include", "/usr/lib")
TEXT_LIMIT = 64 * MiB  # larger files (none of them text, here) are skipped


def _read_text(file: Path) -> bytes:
    """The file's bytes (a gzip file's decompressed), or b"" where they do not look like text."""
    if file.stat().st_size > TEXT_LIMIT:
        return b""
    data = file.read_bytes()
    if file.suffix == ".gz":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as g:
                data = g.read(TEXT_LIMIT + 1)
        except (OSError, EOFError):
            return b""
    return b"" if len(data) > TEXT_LIMIT or b"\0" in data[:8192] else data


def build_input(path: Path, target: int, corpus: Path) -> list[tuple[str, int, int]]:
    """Write distinct real text files one after another to *path* until *target* bytes."""
    seen: set[bytes] = set()
    parts: list[tuple[str, int, int]] = []
    total = 0
    with path.open("wb") as out:
        for name, files in _text_sources(corpus):
            if total >= target:
                break
            count = size = 0
            for file in files:
                if total >= target:
                    break
                try:
                    data = _read_text(file)
                except OSError:
                    continue
                digest = hashlib.blake2b(data, digest_size=16).digest()
                if not data or digest in seen:
                    continue
                seen.add(digest)
                out.write(data)
                count, size, total = count + 1, size + len(data), total + len(data)
            parts.append((name, count, size))
    if total < target:
        raise SystemExit(f"only {total:,} bytes of text found, fewer than {target:,}")
    return parts


def file_digest(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while block := f.read(MiB):
            digest.update(block)
    return digest.hexdigest()


class Run(NamedTuple):
    wall: float  # seconds, start to exit
    main_cpu: float  # CPU seconds of the sigmalang process itself (exact, from the kernel)
    total_cpu: float  # the same plus its fork server and workers (sampled: may miss their last 50 ms)


def _cpu(times: Any) -> float:
    return float(times.user + times.system)


def timed_cli(args: list[str]) -> Run:
    """Run one ``sigmalang`` process; time it and count the CPU time of its whole process tree.

    The main process's CPU time comes from ``RUSAGE_CHILDREN`` (it is this script's waited child).
    Its workers are children of the fork server, which nobody here waits for, so their CPU time is
    sampled with psutil every 50 ms while they live; the last sample of each process is kept.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-m", "sigmalang", *args, "-q", "-f"])
    others: dict[int, float] = {}
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    others[child.pid] = _cpu(child.cpu_times())
        time.sleep(0.05)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"sigmalang {' '.join(args)} failed with status {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    main = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, main, main + sum(others.values()))


_SPIN = "n = 0\nfor i in range(6_000_000):\n    n += i"


def parallel_capacity(count: int = 2) -> float:
    """How much faster *count* CPU-bound processes get through the same work than one, right now.

    *count* on an idle machine with that many cores; less when others share the CPUs, which is
    what makes the speed-ups below smaller than the pipeline allows.
    """
    started = time.perf_counter()
    psutil.Popen([sys.executable, "-c", _SPIN]).wait()
    one = time.perf_counter() - started
    started = time.perf_counter()
    for proc in [psutil.Popen([sys.executable, "-c", _SPIN]) for _ in range(count)]:
        proc.wait()
    return count * one / (time.perf_counter() - started)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


Row = tuple[int, Run, Run, int, bool]  # workers, encode, decode, encoded size, round trip


def measure(source: Path, work: Path, workers: list[int], options: list[str], repeat: int) -> tuple[list[Row], bool]:
    """Time encode and decode for each worker count; say whether the encoded streams are identical.

    Repeats go round the worker counts (1, 2, 4, 1, 2, 4, ...) rather than one count at a time, so
    a busy spell on a shared machine does not fall on one worker count only.
    """
    best: dict[int, tuple[Run, Run]] = {}
    checks: dict[int, tuple[str, int, bool]] = {}
    reference = file_digest(source)
    for _ in range(repeat):
        for n in workers:
            encoded, decoded = work / f"T{n}.sgl", work / f"T{n}.out"
            enc = timed_cli(["encode", *options, "-T", str(n), str(source), "-o", str(encoded)])
            dec = timed_cli(["decode", "-T", str(n), str(encoded), "-o", str(decoded)])
            checks[n] = (file_digest(encoded), encoded.stat().st_size, file_digest(decoded) == reference)
            decoded.unlink()
            old = best.get(n, (enc, dec))
            best[n] = (min(old[0], enc), min(old[1], dec))
    rows = [(n, *best[n], checks[n][1], checks[n][2]) for n in workers]
    return rows, len({digest for digest, _, _ in checks.values()}) == 1


def print_table(rows: list[Row], size: int) -> None:
    base_enc, base_dec = rows[0][1].wall, rows[0][2].wall
    print(
        "| -T | encode s | encode MB/s | speed-up | CPU s main / all | decode s | decode MB/s | speed-up "
        "| CPU s main / all | round trip |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for n, enc, dec, _, round_trip in rows:
        print(
            f"| {n} | {enc.wall:.2f} | {size / enc.wall / 1e6:.2f} | {base_enc / enc.wall:.2f}× "
            f"| {enc.main_cpu:.2f} / {enc.total_cpu:.2f} "
            f"| {dec.wall:.2f} | {size / dec.wall / 1e6:.2f} | {base_dec / dec.wall:.2f}× "
            f"| {dec.main_cpu:.2f} / {dec.total_cpu:.2f} | {'ok' if round_trip else 'FAILED'} |"
        )


def main(argv: list[str] | None = None) -> int:
    from sigmalang import DEFAULT_CHUNK_SIZE, DEFAULT_LEVEL, __version__

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4", help="worker counts to time (default 1,2,4)")
    parser.add_argument("--level", type=int, default=DEFAULT_LEVEL, help=f"level (default {DEFAULT_LEVEL})")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="chunk size in bytes")
    parser.add_argument("--mib", type=int, default=50, help="input size to build, in MiB (default 50)")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"corpus folder (default {CORPUS})")
    parser.add_argument("--input", type=Path, help="time this file instead of building the input")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest is kept (default 1)")
    opts = parser.parse_args(argv)
    workers = [int(w) for w in opts.workers.split(",")]

    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"machine: {machine()}; sigmalang {__version__}; load average before: {load()}")
    print(
        f"CPU check before: 2 busy processes ran {parallel_capacity():.2f}× as fast as 1 (2.00 when 2 cores are idle)"
    )
    with tempfile.TemporaryDirectory(prefix="sigmalang-throughput-") as tmp:
        source = opts.input or Path(tmp) / "input.txt"
        if opts.input is None:
            for name, count, part in build_input(source, opts.mib * MiB, opts.corpus):
                print(f"input: {name}: {count:,} files, {part:,} bytes")
        size = source.stat().st_size
        print(f"input: {size:,} bytes, BLAKE2b-128 {file_digest(source)}")
        print(f"level {opts.level}, chunk size {opts.chunk_size:,} B; whole-process wall time, best of {opts.repeat}")
        options = ["--level", str(opts.level), "--chunk-size", str(opts.chunk_size)]
        rows, identical = measure(source, Path(tmp), workers, options, opts.repeat)
    print(f"load average after: {load()}")
    print(f"CPU check after: 2 busy processes ran {parallel_capacity():.2f}× as fast as 1")
    print()
    print_table(rows, size)
    print()
    print(f"encoded streams byte-identical for -T {opts.workers}: {'yes' if identical else 'NO'}")
    print(f"ratio (original / encoded): {size / rows[0][3]:.3f}; speed-up: against -T {workers[0]}")
    print("CPU s: of the sigmalang process itself / of it, its fork server and its workers together")
    return 0 if identical and all(row[4] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
