"""Peak memory of streaming encode and decode, measured, beside ``estimate_memory_usage``.

Usage::

    python benchmarks/memory.py                       # 10 MB, 100 MB, 1 GB; -T 1, 2, 4
    python benchmarks/memory.py --quick               # 10 MB and 100 MB only
    python benchmarks/memory.py --sizes 10MB,1GB --workers 1,4 --chunk-size 64KiB --level 6

For each size, the input is *samples/dickens-sample.txt* repeated (written piece by piece to a
temporary file, never held in memory). Every encode and every decode runs in a fresh Python
process (this script with ``--child``) that uses ``StreamingEncoder``/``StreamingDecoder`` with
the same pipeline as ``sigmalang encode -T N``. Two measurements of that process tree:

* **peak RSS**: the parent polls the tree (the process, the multiprocessing fork server and the
  workers) with psutil every ~10 ms and keeps the largest sum of their RSS;
* **kernel HWM**: the kernel's own high-water mark (``VmHWM`` in ``/proc/<pid>/status``) of each
  process in the tree, read by the child just before it stops its workers, summed. With one
  process it is exact; with workers it is a sum of per-process peaks, so at least the peak RSS.

The table is printed as markdown, ready to paste. Decoded outputs are checked against the input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
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
    """``10MB`` = 10**7 bytes, ``10MiB`` = 10 * 2**20 (input sizes use decimal units, as in the issue)."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 10MB, 1GB, 64KiB)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def _size_list(text: str) -> list[int]:
    return [parse_size(part) for part in text.split(",") if part.strip()]


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def human(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} B"


def mib(n: float) -> str:
    return f"{n / MiB:.1f}"


# --- the child: one encode or decode in a fresh process -------------------------------------------


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


def _role(proc: psutil.Process) -> str:
    cmdline = " ".join(proc.cmdline())
    if "resource_tracker" in cmdline:
        return "resource tracker"
    if "forkserver" in cmdline and proc.ppid() == os.getpid():
        return "fork server"
    return "worker"


def _tree_hwm() -> dict[str, Any]:
    """VmHWM of this process and of each descendant (fork server, resource tracker, workers)."""
    me = psutil.Process()
    parts: dict[str, list[int]] = {"main": [_hwm(me.pid)]}
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            parts.setdefault(_role(child), []).append(_hwm(child.pid))
    return {"kernel_hwm": sum(sum(v) for v in parts.values()), "parts": parts}


def child_main(args: argparse.Namespace) -> int:
    from sigmalang.parallel import worker_pool
    from sigmalang.stream import StreamingDecoder, StreamingEncoder

    workers = args.workers[0]
    # The pool is made here (not inside the codec) so that its processes are still alive to have
    # their VmHWM read after the run; the pipeline is the one ``sigmalang encode -T N`` runs.
    pool = worker_pool(workers) if workers > 1 else None
    codec: Any
    if args.child == "encode":
        codec = StreamingEncoder(
            args.level, args.chunk_size, workers=workers, executor=pool, max_in_flight=args.max_in_flight
        )
        stats = codec.encode_file(args.src, args.dst, overwrite=True)
    else:
        codec = StreamingDecoder(workers=workers, executor=pool, max_in_flight=args.max_in_flight)
        stats = codec.decode_file(args.src, args.dst, overwrite=True)
    result = {"bytes_in": stats.bytes_in, "bytes_out": stats.bytes_out, "elapsed": stats.elapsed, **_tree_hwm()}
    if pool is not None:
        pool.shutdown()
    print(json.dumps(result), flush=True)
    return 0


def _reset_hwm() -> int:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); return that RSS."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _hwm(os.getpid())


def codec_child_main(args: argparse.Namespace) -> int:
    """Working memory of the chunk codec alone: how far VmHWM rises while chunks are coded.

    ``codec-encode`` encodes chunks of the repeated sample (and saves the frames to *dst*, if
    given); ``codec-decode`` decodes the frames saved in *src*, so that no encoding ran before.
    """
    import gc
    import pickle

    from sigmalang.codec import decode_chunk, encode_chunk

    if args.child == "codec-decode":
        with open(args.src, "rb") as saved:
            frames = pickle.load(saved)
        gc.collect()
        start = _reset_hwm()
        for transform, backend, data, size in frames:
            decode_chunk(transform, backend, data, size)
    else:
        sample = SAMPLE.read_bytes()
        chunks = [_repeated(sample, i * args.chunk_size, args.chunk_size) for i in range(args.chunks)]
        gc.collect()
        start = _reset_hwm()
        frames = []
        for chunk in chunks:
            encoded = encode_chunk(chunk, args.level)
            frames.append((encoded.transform, encoded.backend, encoded.data, len(chunk)))
            del encoded
        if args.dst:
            with open(args.dst, "wb") as out:
                pickle.dump(frames, out)
    print(json.dumps({"working": _hwm(os.getpid()) - start}), flush=True)
    return 0


def _repeated(sample: bytes, offset: int, size: int) -> bytes:
    """*size* bytes of *sample* repeated, from *offset* in the repetition."""
    offset %= len(sample)
    out = bytearray()
    while len(out) < size:
        out += sample[offset : offset + size - len(out)]
        offset = 0
    return bytes(out)


# The child runs as ``python -c``: with a script as ``__main__``, the fork server and every
# worker would import that script again, which ``python -m sigmalang`` does not make them do.
CHILD = f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); import memory; memory.main()"
BASELINE = (
    "import sigmalang, json; "
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
    "print(json.dumps({'kernel_hwm': int(hwm) * 1024, 'parts': {'main': [int(hwm) * 1024]}}))"
)


# --- the parent: generate inputs, run children, poll their memory ---------------------------------


@dataclass
class Measured:
    peak_rss: int  # largest sum of RSS over the process tree, polled
    peak_pss: int  # largest sum of PSS (shared pages divided among the processes sharing them)
    kernel_hwm: int  # sum of the kernel's per-process high-water marks
    parts: dict[str, list[int]]  # VmHWM of each process in the tree, by role
    elapsed: float


def _tree_memory(proc: psutil.Process) -> tuple[int, int]:
    """RSS and PSS of *proc* and its descendants, summed."""
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            info = p.memory_full_info()
            rss += info.rss
            pss += info.pss
    return rss, pss


def run_child(mode: str, src: Path | None = None, dst: Path | None = None, **opts: int) -> Measured:
    """Run one encode or decode (or, for ``baseline``, just ``import sigmalang``) in a fresh process."""
    if mode == "baseline":
        cmd = [sys.executable, "-c", BASELINE]
    else:
        cmd = [sys.executable, "-c", CHILD, "--child", mode, "--src", str(src), "--dst", str(dst)]
        for key, value in opts.items():
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak_rss = peak_pss = 0
    while child.poll() is None:
        with contextlib.suppress(psutil.Error):
            rss, pss = _tree_memory(proc)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(POLL_S)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd[:1] + cmd[3:])} failed with exit status {child.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    return Measured(peak_rss, peak_pss, result["kernel_hwm"], result["parts"], result.get("elapsed", 0.0))


def write_input(path: Path, size: int, sample: bytes) -> None:
    """*size* bytes of *sample* repeated, written a piece at a time (never all in memory)."""
    with open(path, "wb") as out:
        left = size
        while left > 0:
            piece = sample[:left]
            out.write(piece)
            left -= len(piece)


def same_file(a: Path, b: Path, block: int = 4 * MiB) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(block), fb.read(block)
            if x != y:
                return False
            if not x:
                return True


@dataclass
class Row:
    size: int
    workers: int
    encode: Measured
    decode: Measured
    estimate: int
    decode_estimate: int


def measure(size: int, args: argparse.Namespace, work: Path, sample: bytes) -> list[Row]:
    """Encode then decode *size* bytes of text once for each worker count; check the round trip."""
    from sigmalang.memory import estimate_memory_usage

    src, enc, dec = work / "input.txt", work / "input.sgl", work / "output.txt"
    write_input(src, size, sample)
    flight = {"max_in_flight": args.max_in_flight} if args.max_in_flight else {}
    rows = []
    try:
        for n in args.workers:
            e = run_child("encode", src, enc, workers=n, chunk_size=args.chunk_size, level=args.level, **flight)
            d = run_child("decode", enc, dec, workers=n, **flight)
            if not same_file(src, dec):
                raise SystemExit(f"decoded output differs from the input ({human(size)}, -T {n})")
            dec.unlink()
            settings = dict(chunk_size=args.chunk_size, workers=n, level=args.level, max_in_flight=args.max_in_flight)
            est = estimate_memory_usage(**settings).total
            dec_est = estimate_memory_usage(**settings, mode="decode").total
            rows.append(Row(size, n, e, d, est, dec_est))
            print(
                f"  {human(size)} -T {n}: encode {mib(e.peak_rss)} MiB in {e.elapsed:.1f} s, "
                f"decode {mib(d.peak_rss)} MiB in {d.elapsed:.1f} s",
                file=sys.stderr,
            )
    finally:
        for path in (src, enc, dec):
            path.unlink(missing_ok=True)
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| input | -T | encode peak RSS | encode kernel HWM | decode peak RSS | decode kernel HWM "
        "| estimate | estimate / encode | estimate / decode |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {human(r.size)} | {r.workers} | {mib(r.encode.peak_rss)} MiB | {mib(r.encode.kernel_hwm)} MiB "
            f"| {mib(r.decode.peak_rss)} MiB | {mib(r.decode.kernel_hwm)} MiB | {mib(r.estimate)} MiB "
            f"| {r.estimate / r.encode.peak_rss:.2f} | {r.decode_estimate / r.decode.peak_rss:.2f} |"
        )
    return "\n".join(lines)


def detail_table(rows: list[Row]) -> str:
    """Per-process kernel high-water marks, in MiB: where the memory of each run is."""
    lines = [
        "| input | -T | run | main | fork server | resource tracker | each worker |",
        "| ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        for what in ("encode", "decode"):
            parts = getattr(r, what).parts

            def cell(role: str, parts: dict[str, list[int]] = parts) -> str:
                return " ".join(mib(v) for v in parts.get(role, [])) or "-"

            lines.append(
                f"| {human(r.size)} | {r.workers} | {what} | {cell('main')} | {cell('fork server')} "
                f"| {cell('resource tracker')} | {cell('worker')} |"
            )
    return "\n".join(lines)


def checks(rows: list[Row]) -> list[tuple[bool, str]]:
    out: list[tuple[bool, str]] = []
    sizes = sorted({r.size for r in rows})
    by = {(r.size, r.workers): r for r in rows}
    for n in sorted({r.workers for r in rows}):
        small, large = by.get((sizes[0], n)), by.get((sizes[-1], n))
        if small and large and small is not large:
            for what in ("encode", "decode"):
                a, b = getattr(small, what).peak_rss, getattr(large, what).peak_rss
                out.append(
                    (b <= FLAT * a, f"-T {n} {what}: peak at {human(large.size)} / {human(small.size)} = {b / a:.2f}")
                )
    worst = max(rows, key=lambda r: abs(r.estimate / r.encode.peak_rss - 1))
    out.append(
        (
            abs(worst.estimate / worst.encode.peak_rss - 1) <= TOLERANCE,
            f"encode estimate / measured: worst {worst.estimate / worst.encode.peak_rss:.2f} "
            f"({human(worst.size)}, -T {worst.workers})",
        )
    )
    worst = max(rows, key=lambda r: abs(r.decode_estimate / r.decode.peak_rss - 1))
    out.append(
        (
            abs(worst.decode_estimate / worst.decode.peak_rss - 1) <= TOLERANCE,
            f"decode estimate / measured: worst {worst.decode_estimate / worst.decode.peak_rss:.2f} "
            f"({human(worst.size)}, -T {worst.workers})",
        )
    )
    for size in sizes:
        one, four = by.get((size, 1)), by.get((size, 4))
        if one and four:
            ratio = four.encode.peak_rss / one.encode.peak_rss
            out.append((ratio < 4, f"{human(size)} encode: -T 4 peak / -T 1 peak = {ratio:.2f} (must be < 4)"))
            bound = max(four.estimate, four.decode_estimate) * (1 + TOLERANCE)
            worst_peak = max(four.encode.peak_rss, four.decode.peak_rss)
            out.append(
                (
                    worst_peak <= bound,
                    f"{human(size)} -T 4: peak {mib(worst_peak)} MiB within the bound "
                    f"(estimate + 25% = {mib(bound)} MiB)",
                )
            )
    return out


def parent_main(args: argparse.Namespace) -> int:
    sizes = [10**7, 10**8] if args.quick else args.sizes
    sample = SAMPLE.read_bytes()
    print(f"command: {shlex.join([os.path.relpath(sys.executable), *sys.argv])}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), {platform.system()}"
    )
    print(f"settings: chunk size {args.chunk_size:,} bytes, level {args.level}, input = {SAMPLE.name} repeated")
    baseline = run_child("baseline")
    print(
        f"baseline (a process that only imports sigmalang): peak RSS {mib(baseline.peak_rss)} MiB, "
        f"kernel HWM {mib(baseline.kernel_hwm)} MiB"
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sigmalang-memory-", dir=args.tmpdir) as tmp:
        for size in sizes:
            rows += measure(size, args, Path(tmp), sample)
    print()
    print(table(rows))
    print()
    if args.detail:
        print("Kernel high-water mark (VmHWM) of each process, MiB:")
        print()
        print(detail_table(rows))
        print()
    results = checks(rows)
    for ok, line in results:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")
    return 0 if all(ok for ok, _ in results) else 1


def _chunk_size(text: str) -> int:
    if text.isdigit():  # how the parent passes it to a child, which then need not import the CLI
        return int(text)
    from sigmalang.cli import parse_size as parse_chunk_size  # as the CLI reads it: 1MiB, 64KiB, ...

    return parse_chunk_size(text)


def main(argv: list[str] | None = None) -> int:
    from sigmalang.codec import DEFAULT_LEVEL
    from sigmalang.compressor import DEFAULT_CHUNK_SIZE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=_size_list, default=[10**7, 10**8, 10**9], help="default 10MB,100MB,1GB")
    parser.add_argument("--workers", type=_int_list, default=[1, 2, 4], help="worker counts (default 1,2,4)")
    parser.add_argument("--chunk-size", type=_chunk_size, default=DEFAULT_CHUNK_SIZE, help="default 1MiB")
    parser.add_argument("--level", type=int, default=DEFAULT_LEVEL, help=f"default {DEFAULT_LEVEL}")
    parser.add_argument("--max-in-flight", type=int, help="chunks in flight (default: the codec's, 2 per worker)")
    parser.add_argument("--quick", action="store_true", help="10 MB and 100 MB only")
    parser.add_argument("--detail", action="store_true", help="also print each process's high-water mark")
    parser.add_argument("--tmpdir", help="where to write the generated inputs (default: the system's)")
    parser.add_argument("--child", choices=["encode", "decode", "codec-encode", "codec-decode"], help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=int, default=4, help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child in ("codec-encode", "codec-decode"):
        return codec_child_main(args)
    return child_main(args) if args.child else parent_main(args)


if __name__ == "__main__":
    sys.exit(main())
