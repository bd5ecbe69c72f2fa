"""Peak memory of streaming encode and decode, measured, beside ``estimate_memory_usage``.

Usage::

    python benchmarks/memory.py                       # 10 MB, 100 MB, 1 GB; -T 1, 2, 4; 1 MiB chunks
    python benchmarks/memory.py --quick               # 10 MB and 100 MB only
    python benchmarks/memory.py --sizes 100MB --workers 1,4 --chunk-size 64KiB,4MiB --level 6
    python benchmarks/memory.py --shared-context      # shared-context streams (frames decode in order)
    python benchmarks/memory.py --filters             # with search filters in the index, as the CLI writes
    python benchmarks/memory.py --codec               # each level's codec working memory, alone
    python benchmarks/memory.py --buffer-pool         # would reusing chunk buffers help?

For each size, the input is *samples/dickens-sample.txt* (or ``--sample``) repeated (written piece by piece to a
temporary file, never held in memory). Every encode and every decode runs in a fresh Python
process that runs ``StreamingEncoder``/``StreamingDecoder``, the pipeline of ``sigmalang encode
-T N``. Two measurements of that process tree:

* **peak RSS**: this script polls the tree (the process, the multiprocessing fork server and
  resource tracker, the workers) with psutil every ~10 ms and keeps the largest sum of their RSS
  (and of their PSS, which counts a page shared by several processes once in all);
* **kernel HWM**: the kernel's own high-water mark (``VmHWM`` in ``/proc/<pid>/status``) of each
  process in the tree, summed: the child reports its own as it ends, the others' are the last
  values read while polling. With one process it is exact; with workers it is a sum of
  per-process peaks that need not coincide, so it is at least the peak RSS.

Tables are printed as markdown, ready to paste. Decoded outputs are compared with the input; the
exit status is 1 if a check fails (a round trip, flat memory, the estimate within 25%).
"""

from __future__ import annotations

import argparse
import contextlib
import filecmp
import inspect
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "dickens-sample.txt"
MiB = 1 << 20
POLL_S = 0.01
TOLERANCE = 0.25  # the estimate must be within 25% of the measurement
FLAT = 1.25  # peak at the largest size within 1.25x of the smallest
_UNITS = {"": 1, "k": 1000, "kb": 1000, "kib": 1 << 10, "m": 10**6, "mb": 10**6, "mib": MiB, "g": 10**9}
_UNITS |= {"gb": 10**9, "gib": 1 << 30}


def parse_size(text: str) -> int:
    """``10MB`` = 10**7 bytes, ``10MiB`` = 10 * 2**20 (decimal units, as disks and transfer rates use)."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 10MB, 1GB, 64KiB)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _size_list(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _chunk_sizes(text: str) -> list[int]:
    """Chunk sizes as the CLI reads them (``64KiB``, ``1MiB``: K and M are binary), comma-separated."""
    from sigmalang.cli import parse_size as parse_chunk_size

    return [int(part) if part.isdigit() else parse_chunk_size(part) for part in text.split(",") if part.strip()]


def human(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("GiB", 1 << 30), ("MiB", MiB), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} B"


def mib(n: float) -> str:
    return f"{n / MiB:.1f}"


# --- children: each measurement in a fresh process --------------------------------------------------


def _hwm(pid: int) -> int:
    """The kernel's peak resident set of *pid* (VmHWM), in bytes; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_hwm() -> int:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); return that RSS."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _hwm(os.getpid())


def pipeline_child(args: argparse.Namespace) -> dict[str, Any]:
    """One streaming encode or decode, as ``sigmalang encode|decode -T N`` runs it (workers included)."""
    from sigmalang._stream import StreamingDecoder, StreamingEncoder

    workers, flight = args.workers[0], args.max_in_flight
    # -T 1 codes on a thread of its own, as the command line does (sigmalang._cli_services).
    thread = ThreadPoolExecutor(1, thread_name_prefix="sigmalang-coder") if workers == 1 else None
    codec: Any
    if args.child == "encode":
        codec = StreamingEncoder(
            args.level[0],
            args.chunk_size[0],
            workers=workers,
            max_in_flight=flight,
            shared_context=args.shared_context,
            filters=args.filters,
            executor=thread,
        )
        stats = codec.encode_file(args.src, args.dst, overwrite=True)
    else:
        codec = StreamingDecoder(workers=workers, max_in_flight=flight, executor=thread)
        stats = codec.decode_file(args.src, args.dst, overwrite=True)
    return {"elapsed": stats.elapsed, "hwm": _hwm(os.getpid()), "chunks": stats.chunks}


def codec_child(args: argparse.Namespace) -> dict[str, Any]:
    """Working memory of the chunk codec alone: how far VmHWM rises while chunks are coded.

    ``codec-encode`` encodes chunks of the repeated sample (and saves the frames to *dst*);
    ``codec-decode`` decodes the frames saved in *src*, in a process that encoded nothing.
    """
    import gc
    import pickle

    from sigmalang._codec import decode_chunk, encode_chunk

    if args.child == "codec-decode":
        with open(args.src, "rb") as saved:
            frames = pickle.load(saved)
        gc.collect()
        start = _reset_hwm()
        for transform, backend, data, size in frames:
            decode_chunk(transform, backend, data, size)
    else:
        size = args.chunk_size[0]
        chunks = [_repeated(SAMPLE.read_bytes(), i * size, size) for i in range(args.chunks)]
        gc.collect()
        start = _reset_hwm()
        frames = []
        for chunk in chunks:
            encoded = encode_chunk(chunk, args.level[0])
            frames.append((encoded.transform, encoded.backend, encoded.data, len(chunk)))
            del encoded
        with open(args.dst, "wb") as out:
            pickle.dump(frames, out)
    return {"working": _hwm(os.getpid()) - start}


def buffers_child(args: argparse.Namespace) -> dict[str, Any]:
    """Cut *src* into chunks with the pipeline's reader (new buffers each time) or with a pool.

    The pool variant reads into two reused buffers, which is what a GlyphBufferPool would do. The
    consumer only touches each chunk, so the difference is the cost of the reader's buffers. For
    scale, the same process then times ``encode_chunk`` on one chunk at *level*.
    """
    from sigmalang._chunking import ChunkedReader
    from sigmalang._codec import encode_chunk

    size = args.chunk_size[0]
    touched = chunks = 0
    with open(args.src, "rb", buffering=0) as source:
        start = _reset_hwm()
        began = time.perf_counter()
        if args.child == "buffers-new":
            for chunk in ChunkedReader(source, size, align_lines=False):
                touched += chunk.data[-1]
                chunks += 1
        else:
            pool = [bytearray(size) for _ in range(2)]
            while n := source.readinto(pool[chunks % 2]):
                with memoryview(pool[chunks % 2])[:n] as view:
                    touched += view[-1]
                chunks += 1
        elapsed = time.perf_counter() - began
        working = _hwm(os.getpid()) - start
    sample = _repeated(SAMPLE.read_bytes(), 0, size)
    began = time.perf_counter()
    encode_chunk(sample, args.level[0])
    encode = time.perf_counter() - began
    return {"chunks": chunks, "elapsed": elapsed, "working": working, "encode": encode, "touched": touched}


def _repeated(sample: bytes, offset: int, size: int) -> bytes:
    """*size* bytes of *sample* repeated, from *offset* in the repetition."""
    offset %= len(sample)
    out = bytearray()
    while len(out) < size:
        out += sample[offset : offset + size - len(out)]
        offset = 0
    return bytes(out)


CHILDREN = {
    "encode": pipeline_child,
    "decode": pipeline_child,
    "codec-encode": codec_child,
    "codec-decode": codec_child,
    "buffers-new": buffers_child,
    "buffers-pool": buffers_child,
}
# Children run as ``python -c``: with a script as ``__main__``, the fork server and every worker
# would import that script again, which ``python -m sigmalang`` does not make them do.
CHILD = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import memory; memory.main()"
BASELINE = (
    "import sys, importlib, json; importlib.import_module(sys.argv[1]); "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
    "print(json.dumps({'hwm': int(hwm) * 1024}))"
)


# --- the parent: generate inputs, run children, poll their memory -----------------------------------


@dataclass
class Measured:
    peak_rss: int  # largest sum of RSS over the process tree, polled
    peak_pss: int  # largest sum of PSS (a page shared by n processes counts 1/n in each)
    kernel_hwm: int  # sum of the kernel's per-process high-water marks
    parts: dict[str, list[int]]  # VmHWM of each process in the tree, by role
    elapsed: float


def _role(proc: psutil.Process, main: int) -> str | None:
    """What *proc* is in the tree under *main*; ``None`` while that cannot be told (it is exiting)."""
    if proc.pid == main:
        return "main"
    cmdline = " ".join(proc.cmdline())
    if not cmdline:
        return None
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline and proc.ppid() == main:
        return "fork server"
    return "worker"


class TreePoller:
    """Poll a process tree: the largest sums of RSS and PSS, and each process's last VmHWM."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak_rss = self.peak_pss = 0
        self.hwm: dict[int, tuple[str, int]] = {}  # pid -> (role, VmHWM), the last value read

    def poll(self) -> None:
        rss = pss = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                info = proc.memory_full_info()
                rss, pss = rss + info.rss, pss + info.pss
                # Read the role each time: a new process shows its parent's command line until it execs.
                last_role, last_hwm = self.hwm.get(proc.pid, ("worker", 0))
                role = _role(proc, self.root.pid) or last_role
                self.hwm[proc.pid] = (role, max(_hwm(proc.pid), last_hwm))
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)


def run_child(
    mode: str, src: Path | None = None, dst: Path | None = None, module: str = "sigmalang._stream", **opts: int | bool
) -> tuple[Measured, dict]:
    """Run one child (or, for ``baseline``, just an import of *module*) and poll its memory.

    The kernel HWM of the child itself is what it reports as it ends; that of the fork server,
    the resource tracker and the workers is the last value read while polling them (they end
    before the child does), so it may miss the last ~10 ms of their lives.
    """
    if mode == "baseline":
        cmd = [sys.executable, "-c", BASELINE, module]
    else:
        cmd = [sys.executable, "-c", CHILD, "--child", mode, "--src", str(src), "--dst", str(dst)]
        for key, value in opts.items():
            if value is True:
                cmd.append(f"--{key.replace('_', '-')}")
            elif value is not False:
                cmd += [f"--{key.replace('_', '-')}", str(value)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    poller = TreePoller(child.pid)
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            poller.poll()
        time.sleep(POLL_S)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd[:1] + cmd[3:])} failed with exit status {child.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    parts: dict[str, list[int]] = {"main": [result.get("hwm", 0)]}
    for pid, (role, hwm) in sorted(poller.hwm.items()):
        if pid != child.pid:
            parts.setdefault(role, []).append(hwm)
    kernel = sum(sum(v) for v in parts.values())
    return Measured(poller.peak_rss, poller.peak_pss, kernel, parts, result.get("elapsed", 0.0)), result


def write_input(path: Path, size: int, sample: bytes, vary: bool = False) -> None:
    """*size* bytes of *sample* repeated, written a piece at a time (never all in memory).

    With *vary*, copy *k* has its letters rotated by *k* mod 26 places: text as alike for the coder,
    but a copy repeats only 26 copies later, out of reach of shared context's long-range
    references (16 MiB), which would otherwise code every copy after the first as a few references.
    """
    lower, upper = bytes(range(97, 123)), bytes(range(65, 91))
    with open(path, "wb") as out:
        left = size
        copy = 0
        while left > 0:
            piece = sample[:left]
            if vary and copy % 26:
                k = copy % 26
                table = bytes.maketrans(lower + upper, lower[k:] + lower[:k] + upper[k:] + upper[:k])
                piece = piece.translate(table)
            out.write(piece)
            left -= len(piece)
            copy += 1


@dataclass
class Row:
    size: int
    chunk: int
    workers: int
    encode: Measured
    decode: Measured
    encode_estimate: int
    decode_estimate: int
    frames: int = 0
    index_bytes: int = 0


def index_record_size(path: Path) -> int:
    """The size of a stream's index record, which its trailer (the file's last bytes) states."""
    from sigmalang._stream_records import TRAILER_SIZE, decode_trailer
    from sigmalang._wire import read_record

    with open(path, "rb") as f:
        f.seek(-TRAILER_SIZE, os.SEEK_END)
        parsed = read_record(f.read())
    if parsed is None:
        raise SystemExit(f"{path}: no trailer")
    return decode_trailer(parsed[0])


def measure(size: int, args: argparse.Namespace, work: Path) -> list[Row]:
    """Encode, then decode, *size* bytes of text for each chunk size and worker count."""
    from sigmalang._memory import estimate_memory_usage

    src, enc, dec = work / "input.txt", work / "input.sgl", work / "output.txt"
    write_input(src, size, args.sample.read_bytes(), vary=args.shared_context)
    flight = {"max_in_flight": args.max_in_flight} if args.max_in_flight else {}
    level = args.level[0]
    rows = []
    try:
        for chunk in args.chunk_size:
            for n in args.workers:
                shared = args.shared_context
                e, info = run_child(
                    "encode",
                    src,
                    enc,
                    workers=n,
                    chunk_size=chunk,
                    level=level,
                    shared_context=shared,
                    filters=args.filters,
                    **flight,
                )
                index_bytes = index_record_size(enc)
                d, _ = run_child("decode", enc, dec, workers=n, **flight)
                if not filecmp.cmp(src, dec, shallow=False):
                    raise SystemExit(f"decoded output differs from the input ({human(size)}, -T {n})")
                dec.unlink()
                settings: dict[str, Any] = dict(
                    chunk_size=chunk,
                    workers=n,
                    level=level,
                    max_in_flight=args.max_in_flight,
                    input_size=size,
                    shared_context=shared,
                )
                if args.filters and "filters" in inspect.signature(estimate_memory_usage).parameters:
                    settings["filters"] = True  # (earlier versions, measured for comparison, had no such part)
                est = estimate_memory_usage(**settings).total
                dec_est = estimate_memory_usage(**settings, mode="decode").total
                rows.append(Row(size, chunk, n, e, d, est, dec_est, info.get("chunks", 0), index_bytes))
                print(
                    f"  {human(size)}, {human(chunk)} chunks, -T {n}: encode {mib(e.peak_rss)} MiB in "
                    f"{e.elapsed:.1f} s, decode {mib(d.peak_rss)} MiB in {d.elapsed:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        for path in (src, enc, dec):
            path.unlink(missing_ok=True)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| input | chunk | -T | encode peak RSS | kernel HWM | estimate | est / peak "
        "| decode peak RSS | kernel HWM | estimate | est / peak |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        e, d = r.encode, r.decode
        lines.append(
            f"| {human(r.size)} | {human(r.chunk)} | {r.workers} "
            f"| {mib(e.peak_rss)} MiB | {mib(e.kernel_hwm)} MiB | {mib(r.encode_estimate)} MiB "
            f"| {r.encode_estimate / e.peak_rss:.2f} "
            f"| {mib(d.peak_rss)} MiB | {mib(d.kernel_hwm)} MiB | {mib(r.decode_estimate)} MiB "
            f"| {r.decode_estimate / d.peak_rss:.2f} |"
        )
    return "\n".join(lines)


def scaling_table(rows: list[Row]) -> str:
    """Peaks with N workers against one worker, as RSS and as PSS, for the largest input."""
    largest = max(r.size for r in rows)
    by = {(r.chunk, r.workers): r for r in rows if r.size == largest}
    lines = [
        "| input | chunk | -T | encode peak RSS | / -T 1 | encode peak PSS | / -T 1 "
        "| decode peak RSS | / -T 1 | decode peak PSS | / -T 1 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (chunk, n), r in by.items():
        one = by.get((chunk, 1))
        if one is None:
            continue
        cells = []
        for what in ("encode", "decode"):
            m, m1 = getattr(r, what), getattr(one, what)
            cells += [f"{mib(m.peak_rss)} MiB", f"{m.peak_rss / m1.peak_rss:.2f}"]
            cells += [f"{mib(m.peak_pss)} MiB", f"{m.peak_pss / m1.peak_pss:.2f}"]
        lines.append(f"| {human(largest)} | {human(chunk)} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def detail_table(rows: list[Row]) -> str:
    """Per-process kernel high-water marks, in MiB: where the memory of each run is."""
    lines = [
        "| input | chunk | -T | run | main | fork server | resource tracker | each worker |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        for what in ("encode", "decode"):
            parts = getattr(r, what).parts

            def cell(role: str, parts: dict[str, list[int]] = parts) -> str:
                return " ".join(mib(v) for v in parts.get(role, [])) or "-"

            lines.append(
                f"| {human(r.size)} | {human(r.chunk)} | {r.workers} | {what} | {cell('main')} "
                f"| {cell('fork server')} | {cell('resource tracker')} | {cell('worker')} |"
            )
    return "\n".join(lines)


def index_table(rows: list[Row]) -> str:
    """Frames and the size of the index record: the only memory that grows with the input."""
    lines = ["| input | chunk | frames | index record | bytes per frame |", "| ---: | ---: | ---: | ---: | ---: |"]
    seen = set()
    for r in rows:
        if (r.size, r.chunk) in seen or not r.frames:
            continue
        seen.add((r.size, r.chunk))
        lines.append(
            f"| {human(r.size)} | {human(r.chunk)} | {r.frames:,} | {r.index_bytes:,} B "
            f"| {r.index_bytes / r.frames:.1f} |"
        )
    return "\n".join(lines)


def checks(rows: list[Row]) -> list[tuple[str, str]]:
    """``(PASS|FAIL|INFO, text)`` for the issues' criteria; INFO lines are not criteria."""
    out: list[tuple[str, str]] = []

    def check(ok: bool, text: str) -> None:
        out.append(("PASS" if ok else "FAIL", text))

    sizes = sorted({r.size for r in rows})
    by = {(r.size, r.chunk, r.workers): r for r in rows}
    for chunk in sorted({r.chunk for r in rows}):
        for n in sorted({r.workers for r in rows}):
            small, large = by.get((sizes[0], chunk, n)), by.get((sizes[-1], chunk, n))
            if small is None or large is None or small is large:
                continue
            middle = by.get((sizes[-2], chunk, n)) if len(sizes) > 2 else None
            for what in ("encode", "decode"):
                a, b = getattr(small, what).peak_rss, getattr(large, what).peak_rss
                label = f"{human(chunk)} chunks, -T {n}, {what}"
                check(b <= FLAT * a, f"{label}: peak at {human(large.size)} / at {human(small.size)} = {b / a:.2f}")
                if middle is not None:  # the smallest input may be too short to fill the pipeline
                    m = getattr(middle, what).peak_rss
                    out.append(
                        ("INFO", f"{label}: peak at {human(large.size)} / at {human(middle.size)} = {b / m:.2f}")
                    )
    for what in ("encode", "decode"):

        def error(r: Row, what: str = what) -> float:
            return float(getattr(r, f"{what}_estimate") / getattr(r, what).peak_rss)

        worst = max(rows, key=lambda r: abs(error(r) - 1))
        where = f"{human(worst.size)}, {human(worst.chunk)} chunks, -T {worst.workers}"
        check(
            abs(error(worst) - 1) <= TOLERANCE,
            f"{what} estimate / peak, worst of all rows: {error(worst):.2f} ({where})",
        )
    for (size, chunk, n), r in sorted(by.items()):
        one = by.get((size, chunk, 1))
        if n != 4 or one is None:
            continue
        for what in ("encode", "decode"):
            peak, peak1 = getattr(r, what).peak_rss, getattr(one, what).peak_rss
            bound = getattr(r, f"{what}_estimate") * (1 + TOLERANCE)
            label = f"{human(size)}, {human(chunk)} chunks, {what} -T 4"
            check(peak < 4 * peak1, f"{label}: peak RSS / -T 1 peak RSS = {peak / peak1:.2f} (< 4)")
            check(peak <= bound, f"{label}: peak {mib(peak)} MiB <= documented bound {mib(bound)} MiB")
    return out


def machine_lines(args: argparse.Namespace) -> list[str]:
    return [
        f"command: {shlex.join([os.path.relpath(sys.executable), *sys.argv])}",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
    ]


def pipeline_main(args: argparse.Namespace) -> int:
    if len(args.level) != 1:
        raise SystemExit("give one --level (several are for --codec)")
    sizes = [10**7, 10**8] if args.quick else args.sizes
    print("\n".join(machine_lines(args)))
    print(
        f"settings: level {args.level[0]}, input = {args.sample.name} repeated, "
        f"chunks in flight: {args.max_in_flight or 'the default (2 per worker)'}"
        + (", shared context (runs of 16 chunks per job; copies letter-rotated)" if args.shared_context else "")
        + (", search filters in the index" if args.filters else ", no search filters")
    )
    baseline, _ = run_child("baseline")
    worker, _ = run_child("baseline", module="sigmalang._codec")
    print(
        f"baseline: a process that imports sigmalang._stream {mib(baseline.kernel_hwm)} MiB, "
        f"a worker's imports (sigmalang._codec) {mib(worker.kernel_hwm)} MiB",
        flush=True,
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sigmalang-memory-", dir=args.tmpdir) as tmp:
        for size in sizes:
            rows += measure(size, args, Path(tmp))
    print()
    print(table(rows))
    if 1 in args.workers and len(args.workers) > 1:
        print()
        print(scaling_table(rows))
    if args.detail:
        print()
        print(detail_table(rows))
        print()
        print(index_table(rows))
    print()
    results = checks(rows)
    for status, line in results:
        print(f"{status}: {line}")
    return 1 if any(status == "FAIL" for status, _ in results) else 0


def codec_main(args: argparse.Namespace) -> int:
    """Each level's codec working memory, measured alone, beside the model's ``codec`` part."""
    from sigmalang._levels import LEVELS, level_spec
    from sigmalang._memory import _codec_memory

    levels = args.level if args.level_given else sorted(LEVELS)
    print("\n".join(machine_lines(args)))
    print(f"working memory: rise of VmHWM while {args.chunks} chunks of {SAMPLE.name} (repeated) are coded")
    print()
    print("| level | what | chunk | encode | model | decode | model |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="sigmalang-memory-", dir=args.tmpdir) as tmp:
        frames = Path(tmp) / "frames.pickle"
        for level in levels:
            for chunk in args.chunk_size:
                _, e = run_child("codec-encode", Path(tmp), frames, level=level, chunk_size=chunk, chunks=args.chunks)
                _, d = run_child("codec-decode", frames, Path(tmp))
                cells = [f"{mib(e['working'])} MiB", f"{mib(_codec_memory(level, chunk, 'encode'))} MiB"]
                cells += [f"{mib(d['working'])} MiB", f"{mib(_codec_memory(level, chunk, 'decode'))} MiB"]
                print(f"| {level} | {level_spec(level).describe()} | {human(chunk)} | " + " | ".join(cells) + " |")
    return 0


def buffer_pool_main(args: argparse.Namespace) -> int:
    """The GlyphBufferPool question: does reading into reused buffers save time or memory?"""
    print("\n".join(machine_lines(args)))
    size = args.sizes[0] if args.sizes_given else 200 * 10**6
    print(f"input: {human(size)} of {SAMPLE.name} repeated, cut into chunks; encode_chunk at level {args.level[0]}")
    print()
    print(
        "| chunk | reader (new buffers) | pooled buffers | saved per chunk | encode_chunk | saved / encode "
        "| reader memory | pooled memory |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="sigmalang-memory-", dir=args.tmpdir) as tmp:
        src = Path(tmp) / "input.txt"
        write_input(src, size, SAMPLE.read_bytes(), vary=args.shared_context)
        for chunk in args.chunk_size:
            best: dict[str, dict[str, Any]] = {}
            for _ in range(3):  # the fastest of three, for each
                for how in ("buffers-new", "buffers-pool"):
                    _, r = run_child(how, src, src, chunk_size=chunk, level=args.level[0])
                    if how not in best or r["elapsed"] < best[how]["elapsed"]:
                        best[how] = r
            new, pool = best["buffers-new"], best["buffers-pool"]
            per_new, per_pool = new["elapsed"] / new["chunks"], pool["elapsed"] / pool["chunks"]
            encode = min(best[h]["encode"] for h in best)
            print(
                f"| {human(chunk)} | {per_new * 1e6:.0f} µs | {per_pool * 1e6:.0f} µs "
                f"| {(per_new - per_pool) * 1e6:.0f} µs "
                f"| {encode * 1e3:.1f} ms | {(per_new - per_pool) / encode:.2%} "
                f"| {mib(new['working'])} MiB | {mib(pool['working'])} MiB |"
            )
    return 0


def main(argv: list[str] | None = None) -> int:
    from sigmalang._chunking import DEFAULT_CHUNK_SIZE
    from sigmalang._levels import DEFAULT_LEVEL

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_size_list, help="input sizes (default 10MB,100MB,1GB)")
    parser.add_argument("--workers", type=_int_list, default=[1, 2, 4], help="worker counts (default 1,2,4)")
    parser.add_argument("--chunk-size", type=_chunk_sizes, help="chunk sizes (default 1MiB; 64KiB,1MiB,4MiB for modes)")
    parser.add_argument("--level", type=_int_list, help=f"level (default {DEFAULT_LEVEL}; --codec: all levels)")
    parser.add_argument("--max-in-flight", type=int, help="chunks in flight (default: the codec's, 2 per worker)")
    parser.add_argument("--quick", action="store_true", help="10 MB and 100 MB only")
    parser.add_argument("--shared-context", action="store_true", help="encode shared-context streams")
    parser.add_argument("--detail", action="store_true", help="also print each process's high-water mark")
    parser.add_argument("--filters", action="store_true", help="write search filters, as the command line does")
    parser.add_argument("--sample", type=Path, default=SAMPLE, help=f"the text to repeat (default {SAMPLE.name})")
    parser.add_argument("--codec", action="store_true", help="measure each level's codec working memory alone")
    parser.add_argument("--buffer-pool", action="store_true", help="measure whether pooled chunk buffers would help")
    parser.add_argument("--tmpdir", help="where to write the generated inputs (default: the system's)")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.level_given, args.sizes_given = args.level is not None, args.sizes is not None
    args.level = args.level or [DEFAULT_LEVEL]
    args.sizes = args.sizes or [10**7, 10**8, 10**9]
    modes = args.codec or args.buffer_pool
    args.chunk_size = args.chunk_size or ([64 << 10, 1 << 20, 4 << 20] if modes else [DEFAULT_CHUNK_SIZE])
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)), flush=True)
        return 0
    if args.codec:
        return codec_main(args)
    if args.buffer_pool:
        return buffer_pool_main(args)
    return pipeline_main(args)


if __name__ == "__main__":
    sys.exit(main())
