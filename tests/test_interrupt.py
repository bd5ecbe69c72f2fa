"""Ctrl-C, SIGTERM and a killed worker, against the real command in a subprocess.

Each test starts ``python -m sigmalang ... -T 2`` in its own session (so its process group holds
it, its forkserver and its workers and nothing else), waits until the workers are busy, then
interrupts it. It must exit with 130 (SIGINT), 143 (SIGTERM) or 1 (a dead worker) and one line
on stderr, leave no output and no temporary file, and leave no process behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import sigmalang
from conftest import SAMPLES

WAIT = 60.0  # upper bound for anything that must not hang; never reached when the code is right
BIG = 48 << 20  # far more than can be encoded before the test interrupts it

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX signals and process groups"),
    pytest.mark.slow,  # subprocesses with process pools
]


@pytest.fixture(scope="module")
def big_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (SAMPLES / "dickens-sample.txt").read_bytes() + (SAMPLES / "loghub-sample.log").read_bytes()
    path = tmp_path_factory.mktemp("big") / "big.txt"
    with path.open("wb") as out:
        for n in range(BIG // len(text) + 1):
            out.write(b"copy %d\n" % n + text)
    return path


_started: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _leave_nothing_running() -> Iterator[None]:
    """Whatever a test asserts, its command's process group does not outlive it."""
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start(*args: str, stdin: int | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sigmalang", *args],
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    _started.append(proc)
    return proc


def wait_for_workers(proc: subprocess.Popen[bytes], count: int = 2) -> list[psutil.Process]:
    """Every process under *proc* once *count* pool workers exist, after they have had work."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + WAIT
    while True:
        assert proc.poll() is None, "the command ended before it could be interrupted"
        assert time.monotonic() < deadline, "worker processes never started"
        tree = parent.children(recursive=True)
        workers = [p for p in tree if p.ppid() != proc.pid]  # the forkserver's children
        if len(workers) >= count:
            time.sleep(0.5)  # let them get well into their chunks
            return parent.children(recursive=True)
        time.sleep(0.02)


def finish(proc: subprocess.Popen[bytes], tree: list[psutil.Process]) -> list[str]:
    """Wait for *proc*; check that every process it started is gone; return its stderr lines."""
    _, err = proc.communicate(timeout=WAIT)
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"processes left behind: {alive}"
    text = err.decode()
    assert "Traceback" not in text, text
    return text.strip().splitlines()


@pytest.mark.parametrize(
    ("signum", "to_group", "code", "message"),
    [
        (signal.SIGINT, True, 130, "interrupted"),  # Ctrl-C: the terminal signals the whole group
        (signal.SIGTERM, False, 143, "terminated"),  # kill PID
        (signal.SIGTERM, True, 143, "terminated"),  # kill -- -PGID (e.g. a service manager)
    ],
)
def test_signal_during_parallel_encode(big_text, tmp_path, signum, to_group, code, message):
    out = tmp_path / "out.sgl"
    proc = start("encode", "-T", "2", str(big_text), "-o", str(out))
    tree = wait_for_workers(proc)
    if to_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    lines = finish(proc, tree)
    assert proc.returncode == code
    assert lines == [f"sigmalang: {message}"]
    assert os.listdir(tmp_path) == []  # no output and no temporary file


def test_ctrl_c_during_parallel_decode_from_a_pipe(tmp_path):
    """The decoder waits on its input (all but the end of a stream so far) when Ctrl-C comes."""
    text = (SAMPLES / "dickens-sample.txt").read_bytes()
    blob = sigmalang.compress(text, 1, chunk_size=16 << 10)
    out = tmp_path / "out.txt"
    proc = start("decode", "-T", "2", "-o", str(out), "-", stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(blob[:-100])
    proc.stdin.flush()
    tree = wait_for_workers(proc, count=1)  # fast frames: one worker may do them all
    os.killpg(proc.pid, signal.SIGINT)
    closer = threading.Timer(WAIT, proc.stdin.close)  # only if it hangs, so the test can fail
    closer.start()
    try:
        lines = finish(proc, tree)
    finally:
        closer.cancel()
    assert proc.returncode == 130
    assert lines == ["sigmalang: interrupted"]
    assert os.listdir(tmp_path) == []


def test_killed_worker_is_one_error_line_and_no_output(big_text, tmp_path):
    out = tmp_path / "out.sgl"
    proc = start("encode", "-T", "2", str(big_text), "-o", str(out))
    tree = wait_for_workers(proc)
    worker = next(p for p in tree if p.ppid() != proc.pid)
    worker.kill()
    lines = finish(proc, tree)
    assert proc.returncode == 1
    assert len(lines) == 1 and "worker process died" in lines[0], lines
    assert os.listdir(tmp_path) == []
