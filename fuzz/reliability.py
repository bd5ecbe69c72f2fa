"""Mutation fuzzing of every decoder entry point, in subprocess batches that survive an abort.

    python fuzz/reliability.py --cases 1000000 --jobs 2 --out fuzz/findings

Each case mutates one of a set of seed streams (all levels, shared context and long-range
references, concatenated streams, empty ones; bit flips, byte edits, insertions, deletions,
copied and swapped ranges, truncation, edited frame and index fields), recomputing every record's
CRC32C for half of them so that the damage gets past the checksums, and then reads the result
through ``decompress``, ``SigmaDecompressor`` fed in small pieces, ``open().read()`` (the
random-access reader), a seek and read, ``verify``'s scan and ``recover``'s scan.

A case passes when every entry point either gives the same bytes as the others or raises a
``SigmaError``, and the scans report the stream intact exactly when the decoders accept it. Any
other exception, disagreeing output, a case that takes more than ``--case-timeout`` seconds of CPU,
a worker that makes no progress (for three times that of CPU, or ``--wait-limit`` seconds) or one that dies
(a native abort, the ``--rss-mb`` address-space cap) is a finding: its input is written to
``--out`` with a line in ``findings.jsonl``. Cases are numbered; case *k* of a run with ``--seed
s`` is the same input on every machine, so ``--replay k`` runs one again in this process.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from fuzzlib import fix_crcs, mutate

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


# -- seeds and mutations --------------------------------------------------------------------------


def seeds() -> list[bytes]:
    import sigmalang

    text = (FIXTURES / "dickens-64k.txt").read_bytes()
    log = (FIXTURES / "loghub-small.log").read_bytes()
    out = [
        sigmalang.compress(b"", 0),
        sigmalang.compress(b"hello\n", 0),
        sigmalang.compress(text[:3000], 0, chunk_size=1024),
        sigmalang.compress(text[:6000], 1, chunk_size=2048),
        sigmalang.compress(text[:6000], 3, chunk_size=4096),
        sigmalang.compress(log[:8000], 6, chunk_size=4096),
        sigmalang.compress(text[:5000], 6, chunk_size=4096, shared_context=True),
        sigmalang.compress((log[:1500] * 4)[:6000], 1, chunk_size=1024, shared_context=True),
        sigmalang.compress(text[:2000], 1) + sigmalang.compress(b"", 0) + sigmalang.compress(log[:2000], 0),
        sigmalang.compress(b"", 0) * 20,
    ]
    return out


def case_input(seed_list: list[bytes], run_seed: int, number: int) -> bytes:
    rng = random.Random(run_seed * 1_000_003 + number)
    data = mutate(rng.choice(seed_list), rng)
    return fix_crcs(data) if rng.random() < 0.5 else data


# -- the entry points -----------------------------------------------------------------------------


def _pieces(data: bytes, size: int) -> bytes:
    import sigmalang

    out = bytearray()
    decomp = sigmalang.SigmaDecompressor()
    start = fed = streams = 0
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        while piece:
            out += decomp.decompress(piece)
            fed += len(piece)
            piece = b""
            if decomp.eof:
                streams += 1
                piece = decomp.unused_data
                start += fed - len(piece)
                decomp, fed = sigmalang.SigmaDecompressor(offset=start), 0
    if fed or not streams:
        decomp.close()
    return bytes(out)


def _indexed(data: bytes) -> bytes:
    import sigmalang

    with sigmalang.open(io.BytesIO(data)) as f:
        return f.read()


def _seek_read(data: bytes, rng: random.Random) -> tuple[int, bytes]:
    import sigmalang

    with sigmalang.open(io.BytesIO(data)) as f:
        size = f.seek(0, io.SEEK_END)
        pos = rng.randrange(size + 1)
        f.seek(pos)
        return pos, f.read(rng.choice((1, 100, 5000, -1)))


def _scan(data: bytes, sink: bool) -> tuple[bool, bytes]:
    from sigmalang._recover import scan

    out = bytearray()
    result = scan(io.BytesIO(data), out.extend if sink else None)
    return result.ok, bytes(out)


def check_case(data: bytes, rng: random.Random) -> list[str]:
    """The problems one input shows (empty: it passed)."""
    from sigmalang._errors import SigmaError

    problems: list[str] = []
    results: dict[str, bytes | None] = {}

    def run(name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SigmaError as exc:
            if "decoder process" in str(exc):  # contained, but a payload that ends pyppmd is worth a vector
                problems.append(f"{name}: a PPMd decoder process died: {exc}"[:600])
            return None
        except Exception as exc:
            tb = traceback.format_exc().strip().splitlines()[-3:]
            problems.append(f"{name}: {type(exc).__name__}: {exc} | {' / '.join(tb)}"[:600])
            return None

    import sigmalang

    results["decompress"] = run("decompress", lambda: sigmalang.decompress(data))
    results["pieces"] = run("SigmaDecompressor", lambda: _pieces(data, rng.choice((1, 3, 7, 64, 4096))))
    results["indexed"] = run("open().read()", lambda: _indexed(data))
    accepted = {k: v for k, v in results.items() if v is not None}
    if accepted and len(accepted) != len(results) and not problems:
        problems.append(f"decoders disagree on accepting: {sorted(accepted)} of {sorted(results)}")
    if len({v for v in accepted.values()}) > 1:
        problems.append("decoders give different bytes")
    good = results["decompress"]
    seek = run("seek+read", lambda: _seek_read(data, rng))
    if seek is not None and good is not None:
        pos, piece = seek
        if piece != good[pos : pos + len(piece)] or (not piece and pos < len(good)):
            problems.append(f"seek+read at {pos} gives other bytes")
    verify = run("verify scan", lambda: _scan(data, False))
    recover = run("recover scan", lambda: _scan(data, True))
    if good is not None:
        if verify is not None and not verify[0]:
            problems.append("verify reports damage in a stream the decoders accept")
        if recover is not None and (not recover[0] or recover[1] != good):
            problems.append("recover does not give the decoded bytes of an intact stream")
    elif recover is not None and recover[0] and verify is not None and verify[0]:
        problems.append("the scans call intact a stream the decoders reject")
    return problems


# -- one batch, in a worker process ---------------------------------------------------------------


class CaseTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise CaseTimeout()


def worker(run_seed: int, first: int, last: int, progress: Path, findings: Path, case_timeout: float) -> None:
    seed_list = seeds()
    # To check the driver: a case that aborts the worker, spins, or waits forever.
    abort_at, spin_at, sleep_at = (
        int(os.environ.get(f"SIGMALANG_FUZZ_{k}_AT", "-1")) for k in ("ABORT", "SPIN", "SLEEP")
    )
    # The limit is CPU time (ITIMER_PROF): a case that spins uses it up, while a worker kept waiting
    # by other processes (a loaded machine, or a run under nice) does not count as slow.
    signal.signal(signal.SIGPROF, _alarm)
    with progress.open("w") as prog, findings.open("a") as out:
        for number in range(first, last):
            prog.seek(0)
            prog.write(f"{number:020d}")
            prog.flush()
            data = case_input(seed_list, run_seed, number)
            if number == abort_at:
                os.abort()  # to check that the driver records a native abort and goes on
            rng = random.Random(number)
            signal.setitimer(signal.ITIMER_PROF, case_timeout)
            try:
                while number == spin_at:
                    pass
                if number == sleep_at:
                    time.sleep(1e6)
                problems = check_case(data, rng)
            except CaseTimeout:
                problems = [f"timeout: over {case_timeout} s of CPU"]
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            if problems:
                out.write(json.dumps({"case": number, "problems": problems, "input": data.hex()}) + "\n")
                out.flush()


# -- the driver ------------------------------------------------------------------------------------


def _limit(rss_mb: int) -> Callable[[], None]:
    def apply() -> None:
        limit = rss_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def drive(args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    findings_file = out / "findings.jsonl"
    batches = [(s, min(s + args.batch, args.cases)) for s in range(0, args.cases, args.batch)]
    running: list[tuple[subprocess.Popen[bytes], int, int, Path, Path, _Watch]] = []
    aborts = 0
    started = time.monotonic()
    done_cases = 0
    while batches or running:
        while batches and len(running) < args.jobs:
            first, last = batches.pop(0)
            tag = f"{first}-{last}"
            progress, partial = out / f".progress-{tag}", out / f".findings-{tag}.jsonl"
            command = [sys.executable, __file__, "--worker", str(args.seed), str(first), str(last)]
            command += [str(progress), str(partial), str(args.case_timeout)]
            proc = subprocess.Popen(command, preexec_fn=_limit(args.rss_mb), stderr=subprocess.PIPE)
            watch = _Watch(proc, progress, args.case_timeout * 3, args.wait_limit)
            running.append((proc, first, last, progress, partial, watch))
        time.sleep(0.2)
        for item in list(running):
            proc, first, last, progress, partial, watch = item
            stuck = proc.poll() is None and watch.stuck()
            if proc.poll() is None and not stuck:
                continue
            if stuck:
                proc.kill()
            _, err = proc.communicate()
            running.remove(item)
            with findings_file.open("a") as sink:
                if partial.exists():
                    sink.write(partial.read_text())
                    partial.unlink()
                reached = int(progress.read_text() or first) if progress.exists() else first
                if progress.exists():
                    progress.unlink()
                if proc.returncode == 0:
                    done_cases += last - first
                    continue
                aborts += 1
                data = case_input(seeds(), args.seed, reached)
                why = "hang" if stuck else f"worker died (exit {proc.returncode}): {err.decode()[-400:]}"
                sink.write(json.dumps({"case": reached, "problems": [why], "input": data.hex()}) + "\n")
                done_cases += reached + 1 - first
                if reached + 1 < last:
                    batches.insert(0, (reached + 1, last))
        if args.max_seconds and time.monotonic() - started > args.max_seconds:
            for proc, *_ in running:
                proc.kill()
            break
    findings = [json.loads(line) for line in findings_file.read_text().splitlines()] if findings_file.exists() else []
    summary = {
        "cases": done_cases,
        "seconds": round(time.monotonic() - started, 1),
        "findings": len(findings),
        "aborts": aborts,
        "seed": args.seed,
        # the largest resident set of any worker (seeds, models and every decoder's buffers)
        "peak_worker_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


class _Watch:
    """Whether a worker is stuck: no new case for *cpu_limit* seconds of its CPU time (it spins), or
    for *wait_limit* seconds of wall time (it waits on something). CPU time rather than wall time
    for the first, so that a worker that other processes keep from running is not taken for a hung
    one."""

    def __init__(self, proc: subprocess.Popen[bytes], progress: Path, cpu_limit: float, wait_limit: float):
        self.proc, self.progress = proc, progress
        self.cpu_limit, self.wait_limit = cpu_limit, wait_limit
        self.mark: tuple[float, float, float] | None = None  # progress mtime, CPU and wall time then

    def stuck(self) -> bool:
        try:
            mtime = self.progress.stat().st_mtime
            times = psutil.Process(self.proc.pid).cpu_times()
        except (FileNotFoundError, psutil.Error):
            return False  # not started its cases yet, or already ended
        cpu, now = times.user + times.system, time.monotonic()
        if self.mark is None or self.mark[0] != mtime:
            self.mark = (mtime, cpu, now)
            return False
        return cpu - self.mark[1] > self.cpu_limit or now - self.mark[2] > self.wait_limit


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        seed, first, last, progress, findings, timeout = argv[1:]
        sys.path.insert(0, str(ROOT / "src"))
        worker(int(seed), int(first), int(last), Path(progress), Path(findings), float(timeout))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=2_000, help="cases per worker process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("fuzz/findings"))
    parser.add_argument("--case-timeout", type=float, default=20.0, help="seconds of CPU for one case")
    parser.add_argument(
        "--wait-limit", type=float, default=600.0, help="seconds a worker may go without a new case while not running"
    )
    parser.add_argument("--rss-mb", type=int, default=3072, help="address-space cap of a worker")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop after this long (0: run every case)")
    parser.add_argument("--replay", type=int, metavar="CASE", help="run one case here and print its problems")
    args = parser.parse_args(argv)
    if args.replay is not None:
        data = case_input(seeds(), args.seed, args.replay)
        print(
            json.dumps(
                {"case": args.replay, "size": len(data), "problems": check_case(data, random.Random(args.replay))}
            )
        )
        return 0
    summary = drive(args)
    print(json.dumps(summary))
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
