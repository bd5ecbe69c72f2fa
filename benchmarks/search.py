"""Search filters: their size, and ``sigmalang grep`` against ``sigmalang decode | grep``.

Usage::

    python benchmarks/search.py                       # Loghub sizes at -6, a 200 MiB log at -1
    python benchmarks/search.py --mib 50 --level 1    # a smaller generated log
    python benchmarks/search.py --skip-loghub
    python benchmarks/search.py --versions big.sgl big.log   # filters of version 1 and 2 for a stream
    python benchmarks/search.py --skip-loghub --mib 256 --level 6 --workers 2 --skip-plain \
        --query 'rare word=xylophone' --query 'common=INFO' --repeat 1

1. Filter size: each Loghub sample (``$SIGMALANG_CORPUS/loghub``, else ``./corpus/loghub``)
   encoded at ``--loghub-level`` (default 6) with and without filters; the filters' bytes (the
   index extension, as ``sigmalang info`` reports it) as a share of the filtered stream.
2. A large log generated from real lines: the Loghub samples' lines, shuffled with a fixed seed
   and repeated with a counter in front of every line (so no two lines are equal) until the log
   has ``--mib`` MiB; three copies of a rare line are planted at fixed places. It is encoded at
   ``--level`` with ``--chunk-size`` chunks (default 4 MiB), with filters and (unless
   ``--skip-plain``) without.
3. Queries on that stream, each timed as one whole process (wall clock and CPU time of the
   process tree, the fastest of ``--repeat``): ``sigmalang grep -c PATTERN`` against
   ``sigmalang decode -c FILE | grep -c PATTERN`` (``LC_ALL=C``), both with ``-T --workers``.
   The counts must agree, or the script exits with 1. CPU time counts every process of the
   command, worker processes included (Linux: the script adopts orphans as a subreaper). The
   default queries are a rare word of the planted line, a phrase of common words from it, and a
   word on many lines; ``--query LABEL=PATTERN`` replaces them.

``--versions STREAM LOG``: for a stream of LOG (with filters, one stream), the filters each
version of the writer builds for the same frames (version 1: each frame's words and trigrams;
version 2: the items every one of the first 8 frames holds in one shared filter, each frame's
other items in its own), their size as a share of the stream, and how many frames each query's
literal items leave as candidates. Nothing is decoded: the frames' record sizes come from the
stream's index, and the written version's extension must come out byte for byte.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sigmalang
from sigmalang._filters import FilterBuilder, decode_filters
from sigmalang._index import SeekTable
from sigmalang._info import read_info
from sigmalang._plan import plan_patterns

RARE = b"tenant xylophone-7 quota exceeded while flushing the journal"
QUERIES = [("rare word", "xylophone"), ("phrase of common words", "quota exceeded while flushing"), ("common", "INFO")]


def corpus() -> Path:
    return Path(os.environ.get("SIGMALANG_CORPUS", "corpus")) / "loghub"


def filter_share(path: Path) -> tuple[int, int]:
    with path.open("rb") as fp:
        infos = read_info(fp)
    return sum(i.filter_size for i in infos), sum(i.encoded_size for i in infos)


def loghub_sizes(level: int) -> None:
    print(f"## Filter size on the Loghub samples, level {level}\n")
    print("| sample | original | stream without filters | filters | share of the stream |")
    print("| --- | ---: | ---: | ---: | ---: |")
    total = [0, 0, 0]
    for sample in sorted(corpus().glob("*.log")):
        data = sample.read_bytes()
        plain = len(sigmalang.compress(data, level))
        filtered = sigmalang.compress(data, level, filters=True)
        with tempfile.NamedTemporaryFile(suffix=".sgl") as tmp:
            tmp.write(filtered)
            tmp.flush()
            size, stream = filter_share(Path(tmp.name))
        total = [total[0] + len(data), total[1] + plain, total[2] + size]
        print(f"| {sample.stem} | {len(data):,} | {plain:,} | {size:,} | {100 * size / stream:.2f}% |")
    print(f"| all | {total[0]:,} | {total[1]:,} | {total[2]:,} | {100 * total[2] / (total[1] + total[2]):.2f}% |\n")


def generate(path: Path, mib: int) -> int:
    lines = [line for sample in sorted(corpus().glob("*.log")) for line in sample.read_bytes().splitlines() if line]
    rng = random.Random(20240601)
    target, written, n = mib << 20, 0, 0
    plant = {target // 5, target // 2, target * 4 // 5}
    with path.open("wb") as out:
        while written < target:
            rng.shuffle(lines)
            for line in lines:
                row = b"%d %s\n" % (n, line)
                if any(written <= p < written + len(row) for p in plant):
                    row = b"%d %s\n" % (n, RARE)
                out.write(row)
                written += len(row)
                n += 1
                if written >= target:
                    break
    return written


def adopt_orphans() -> None:
    """Become a subreaper (Linux), so worker processes that outlive their parent are reaped here
    and their CPU time counts in RUSAGE_CHILDREN."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap() -> None:
    while True:
        try:
            os.wait()
        except ChildProcessError:
            return


def run(cmd: str, repeat: int) -> tuple[float, float, bytes, str]:
    best = (float("inf"), float("inf"), b"", "")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        out = subprocess.run(cmd, shell=True, capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=False)
        wall = time.perf_counter() - start
        reap()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        if out.returncode not in (0, 1):
            sys.exit(f"failed: {cmd}: {out.stderr.decode(errors='replace')}")
        best = min(best, (wall, cpu, out.stdout, out.stderr.decode(errors="replace")))
    return best


def large(args: argparse.Namespace, workdir: Path) -> int:
    level, repeat, chunk, workers = args.level, args.repeat, args.chunk_size, args.workers
    log = workdir / "big.log"
    size = generate(log, args.mib)
    exe = f"{sys.executable} -m sigmalang"
    print(f"## A {size / 2**20:.0f} MiB log from shuffled Loghub lines, level {level}, {chunk} chunks, -T {workers}\n")
    encodings = (("", "filtered.sgl"),) if args.skip_plain else (("", "filtered.sgl"), ("--no-filter ", "plain.sgl"))
    for flag, name in encodings:
        wall, cpu, *_ = run(f"{exe} -q -{level} -T {workers} --chunk-size {chunk} {flag}-o {workdir / name} {log}", 1)
        print(f"- encode {flag or 'with filters '}: {wall:.1f} s wall, {cpu:.1f} s CPU")
    filters, stream = filter_share(workdir / "filtered.sgl")
    plain = "" if args.skip_plain else f", {(workdir / 'plain.sgl').stat().st_size:,} without"
    print(f"- stream {stream:,} bytes with filters{plain}; filters {filters:,} bytes")
    print(f"  = {100 * filters / stream:.2f}% of the stream\n")
    print("| query | sigmalang grep -c | decode \\| grep -c | speed-up (wall) | frames decoded |")
    print("| --- | ---: | ---: | ---: | ---: |")
    status = 0
    sgl = workdir / "filtered.sgl"
    queries = [tuple(q.split("=", 1)) for q in args.query] if args.query else QUERIES
    for label, pattern in queries:
        mine = run(f"{exe} grep --verbose -T {workers} -c '{pattern}' {sgl}", repeat)
        ref = run(f"{exe} decode -T {workers} -c {sgl} | grep -c '{pattern}'", repeat)
        decoded = mine[3].split("decoded ")[-1].split(";")[0].strip()
        if mine[2] != ref[2]:
            print(f"count mismatch for {pattern!r}: {mine[2]!r} vs {ref[2]!r}")
            status = 1
        print(
            f"| {label} `{pattern}` ({int(mine[2] or 0):,} lines) | {mine[0]:.2f} s ({mine[1]:.2f} s CPU) "
            f"| {ref[0]:.2f} s ({ref[1]:.2f} s CPU) | {ref[0] / mine[0]:.1f}× | {decoded} |"
        )
    return status


def versions(stream: Path, log: Path, queries: list[tuple[str, str]]) -> int:
    with stream.open("rb") as fp:
        table = SeekTable.from_file(fp)
    filters, total = filter_share(stream)
    records = total - filters
    data = log.read_bytes()
    plans = [(label, pattern, plan_patterns([pattern.encode()], fixed=False, flags=0)) for label, pattern in queries]
    print(f"## Filters of version 1 and 2 for {stream.name}: {len(table)} frames, {total:,} bytes\n")
    head = " | ".join(f"{label} `{pattern}`" for label, pattern, _ in plans)
    print(f"| version | filters | share of the stream | frames left by: {head} |")
    print("| --- | ---: | ---: |" + " ---: |" * len(plans))
    status = 1
    for version in (1, 2):
        builder = FilterBuilder(version)
        for i in range(len(table)):
            start = table.original_offsets[i]
            builder.add(data[start : start + table.original_sizes[i]], table.record_sizes[i])
        extension = builder.encode()
        size = len(extension)  # as `info` counts it
        frames = decode_filters(extension, len(table))
        assert frames is not None and all(frames)
        if size == filters and frames == table.filters:
            status = 0  # the writer's own version, filter for filter
        left = [sum(plan.may_match(f) for f in frames if f is not None) for _, _, plan in plans]
        cells = " | ".join(f"{n} of {len(table)}" for n in left)
        print(f"| {version} | {size:,} | {100 * size / (records + size):.2f}% | {cells} |")
    if status:
        print("neither version reproduces the stream's filters")
    return status


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mib", type=int, default=200, help="size of the generated log (MiB)")
    p.add_argument("--level", type=int, default=1, help="level of the generated log's stream")
    p.add_argument("--loghub-level", type=int, default=6)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--chunk-size", default="4MiB", help="chunk size of the generated log's stream")
    p.add_argument("--skip-loghub", action="store_true")
    p.add_argument("--skip-large", action="store_true")
    p.add_argument("--skip-plain", action="store_true", help="do not encode the log without filters too")
    p.add_argument("-T", "--workers", type=int, default=0, help="worker processes of every command (0: one per CPU)")
    p.add_argument("--query", action="append", metavar="LABEL=PATTERN", help="a query (repeatable; default: three)")
    p.add_argument("--versions", nargs=2, type=Path, metavar=("STREAM", "LOG"), help="compare filter versions")
    args = p.parse_args()
    queries = [tuple(q.split("=", 1)) for q in args.query] if args.query else QUERIES
    if args.versions:
        return versions(*args.versions, queries)
    adopt_orphans()
    if not args.skip_loghub:
        loghub_sizes(args.loghub_level)
    if args.skip_large:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        return large(args, Path(tmp))


if __name__ == "__main__":
    raise SystemExit(main())
