"""Scaling out: encode speed on a Dask LocalCluster of 1 and 2 worker processes beside ``-T 1``.

Usage::

    python benchmarks/scale.py                         # 32 MiB of distinct real text, default level
    python benchmarks/scale.py --mib 24 --level 3 --workers 1,2,4 --repeat 2

The input is built as ``throughput.py`` builds it (corpus files, then Python sources: distinct
real text, never one file repeated). Each engine encodes the same file with
``StreamingEncoder.encode_file``: ``-T 1`` in this process, then, for each cluster size, a
``distributed.LocalCluster`` of that many worker processes (one thread each, TCP on localhost)
through ``client.get_executor()``. The cluster is started and warmed up (imports, the numba kernel
from its on-disk cache) before the clock starts: what is timed is the encode. Beside the wall
time: the CPU seconds of this process and of the cluster's worker processes (psutil), and the
load average, since on a shared machine the wall times are what the other processes leave; and
the largest resident memory each worker process reached during the encode (sampled four times a
second with psutil, so a peak shorter than that may be missed). Every encoded file must be
byte-identical to ``-T 1``, and ``-T 1``'s must decode (with 2 workers, untimed) to the input, or
the exit status is 1.
MB/s is 10**6 bytes of original text per second.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import psutil

from sigmalang import StreamingDecoder, StreamingEncoder
from throughput import CORPUS, MiB, build_input, file_digest, load, machine, parallel_capacity

WARM_UP = b"2024-01-01T00:00:00Z INFO warm-up line for the cluster's workers 12345\n" * 2000


class Timing(NamedTuple):
    engine: str
    workers: int
    wall: float
    main_cpu: float
    worker_cpu: float | None
    digest: str
    worker_peak_mib: float | None = None  # the largest of the workers' sampled peaks


class PeakRss:
    """The largest resident set each of *procs* reaches while the block runs, sampled every 0.25 s."""

    def __init__(self, procs: list[psutil.Process]):
        self.procs = procs
        self.peaks = [0] * len(procs)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            for i, proc in enumerate(self.procs):
                with contextlib.suppress(psutil.Error):
                    self.peaks[i] = max(self.peaks[i], proc.memory_info().rss)
            if self._stop.wait(0.25):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _encode(
    source: Path, target: Path, level: int, chunk_size: int | None, executor: Any = None
) -> tuple[float, float]:
    target.unlink(missing_ok=True)
    encoder = StreamingEncoder(level, chunk_size, executor=executor)
    cpu, started = time.process_time(), time.perf_counter()
    encoder.encode_file(source, target)
    return time.perf_counter() - started, time.process_time() - cpu


def inline(source: Path, work: Path, level: int, chunk_size: int | None) -> Timing:
    target = work / "t1.sgl"
    wall, cpu = _encode(source, target, level, chunk_size)
    return Timing("-T 1 (this process)", 1, wall, cpu, None, file_digest(target))


def cluster(source: Path, work: Path, level: int, chunk_size: int | None, workers: int) -> Timing:
    from distributed import Client, LocalCluster

    target = work / f"cluster{workers}.sgl"
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as local,
        Client(local) as client,
    ):
        executor = client.get_executor()
        (work / "warm.txt").write_bytes(WARM_UP)
        _encode(work / "warm.txt", work / "warm.sgl", level, 16 << 10, executor)  # every worker gets jobs
        pids = list(client.run(os.getpid).values())
        procs = [psutil.Process(pid) for pid in pids]
        before = sum(_cpu(p) for p in procs)
        with PeakRss(procs) as peak:
            wall, cpu = _encode(source, target, level, chunk_size, executor)
        worker_cpu = sum(_cpu(p) for p in procs) - before
    return Timing("LocalCluster", workers, wall, cpu, worker_cpu, file_digest(target), max(peak.peaks) / MiB)


def best(runs: list[Timing]) -> Timing:
    return min(runs, key=lambda t: t.wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=32, help="input size in MiB (default 32)")
    parser.add_argument("--level", type=int, default=6, help="level (default 6, the default level)")
    parser.add_argument("--chunk-size", type=int, default=None, help="chunk size in bytes (default: the level's)")
    parser.add_argument("--workers", default="1,2", help="cluster sizes (default 1,2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the fastest kept (default 1)")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.workers.split(",")]

    print(f"command: python benchmarks/scale.py {shlex.join(sys.argv[1:] if argv is None else argv)}".rstrip())
    print(f"machine: {machine()}; load average before: {load()}")
    print(
        f"CPU check before: 2 busy processes ran {parallel_capacity():.2f}× as fast as 1 (2.00 when 2 cores are idle)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = work / "input.txt"
        for name, count, size in build_input(source, args.mib * MiB, CORPUS):
            print(f"input: {name}: {count:,} files, {size:,} bytes")
        total = source.stat().st_size
        print(f"input: {total:,} bytes, BLAKE2b-128 {file_digest(source)}; level {args.level}, chunk size ", end="")
        print(f"{args.chunk_size or 'the level default'}; encode only, cluster started and warmed up before")
        timings = [best([inline(source, work, args.level, args.chunk_size) for _ in range(args.repeat)])]
        for n in sizes:
            timings.append(best([cluster(source, work, args.level, args.chunk_size, n) for _ in range(args.repeat)]))
        with contextlib.suppress(OSError):
            (work / "back.txt").unlink()
        StreamingDecoder(workers=2).decode_file(work / "t1.sgl", work / "back.txt")  # untimed
        round_trip = file_digest(work / "back.txt") == file_digest(source)
    print(f"load average after: {load()}")
    print(f"CPU check after: 2 busy processes ran {parallel_capacity():.2f}× as fast as 1")
    print()
    one = next((t for t in timings if t.engine == "LocalCluster" and t.workers == 1), None)
    print(
        "| engine | workers | encode s | MB/s | vs 1-worker cluster | CPU s here / workers "
        "| peak RSS per worker, MiB | same bytes as -T 1 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    identical = True
    for t in timings:
        same = t.digest == timings[0].digest
        identical &= same
        ratio = f"{one.wall / t.wall:.2f}×" if one is not None else "n/a"
        workers_cpu = "—" if t.worker_cpu is None else f"{t.worker_cpu:.2f}"
        peak = "—" if t.worker_peak_mib is None else f"{t.worker_peak_mib:.0f}"
        print(
            f"| {t.engine} | {t.workers} | {t.wall:.2f} | {total / t.wall / 1e6:.2f} | {ratio} | "
            f"{t.main_cpu:.2f} / {workers_cpu} | {peak} | {'yes' if same else 'NO'} |"
        )
    print()
    print(f"decoded -T 1 output equals the input: {'yes' if round_trip else 'NO'}")
    return 0 if identical and round_trip else 1


if __name__ == "__main__":
    sys.exit(main())
