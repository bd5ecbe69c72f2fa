"""Hard stops: the command killed outright (SIGKILL) leaves no process behind and its temporary
file is removed by the next run; Ctrl-C at any moment of a parallel run exits 130 and says so,
in one line: the pool's processes, which get the terminal's Ctrl-C too, add nothing to it.

The random-moment test takes SIGMALANG_SIGINT_TRIALS interrupts (default 20); the full check is
``SIGMALANG_SIGINT_TRIALS=100 .venv/bin/python -m pytest -q -s tests/test_hard_stops.py -k random``.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from conftest import SAMPLES
from sigmalang._output import atomic_output, remove_stale

WAIT = 60.0


def test_stale_temporary_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.sgl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.sgl.sigmalang-{int(dead.stdout)}-0123abcd.tmp"
    live = tmp_path / f".out.sgl.sigmalang-{os.getppid()}-0123abcd.tmp"  # a running process's
    other = tmp_path / f".other.sigmalang-{int(dead.stdout)}-0123abcd.tmp"  # another target's
    for path in (stale, live, other):
        path.write_bytes(b"partial")
    with atomic_output(target) as out:
        out.write(b"done")
    assert target.read_bytes() == b"done"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, live.name, other.name])
    assert remove_stale(str(tmp_path), "other") == [str(other)]


@pytest.fixture(scope="module")
def big_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = (SAMPLES / "dickens-sample.txt").read_bytes()
    path = tmp_path_factory.mktemp("big") / "big.txt"
    with path.open("wb") as out:
        for n in range((24 << 20) // len(text) + 1):
            out.write(b"copy %d\n" % n + text)
    return path


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "sigmalang", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _workers(proc: subprocess.Popen[bytes], count: int = 2) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the command ended before it could be stopped"
        tree = parent.children(recursive=True)
        if sum(_below(p, proc.pid) for p in tree) >= count:
            return tree
        time.sleep(0.02)
    raise AssertionError("worker processes never started")


def _below(process: psutil.Process, pid: int) -> bool:
    """Whether *process* is not a child of *pid* but further down (one that has ended since the
    listing, such as a pool's short-lived starter, is not counted)."""
    try:
        return process.ppid() != pid
    except psutil.NoSuchProcess:
        return False


def _kill_and_check(proc: subprocess.Popen[bytes], count: int, after: float) -> None:
    """SIGKILL the command alone (as the OOM killer would: not its process group) once *count* of
    its descendants run and *after* seconds more, and check that all of them end within 10 s."""
    try:
        tree = _workers(proc, count)
        time.sleep(after)
        proc.kill()
        proc.wait(timeout=WAIT)
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert not alive, f"processes outlived their parent: {alive}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX signals")
def test_sigkill_of_the_command_leaves_no_process(big_text: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.sgl"
    _kill_and_check(_start("encode", "-T", "2", "-1", str(big_text), "-o", str(out)), 2, 0.3)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".out.sgl.sigmalang-"), left  # the killed run's
    done = subprocess.run(
        [sys.executable, "-m", "sigmalang", "encode", "-1", str(SAMPLES / "dickens-sample.txt"), "-o", str(out)],
        capture_output=True,
        timeout=WAIT,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.sgl"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX signals, PPMd decoder processes")
def test_sigkill_of_a_parallel_ppmd_decode_leaves_no_process(tmp_path: Path) -> None:
    """Decoding level-3 frames, each worker has started a PPMd helper (sigmalang._ppmd_guard); with
    the command killed, the workers end, and their helpers with them."""
    text = (SAMPLES / "dickens-sample.txt").read_bytes()
    source = tmp_path / "in.txt"
    source.write_bytes(b"".join(b"copy %d\n" % n + text for n in range((6 << 20) // len(text) + 1)))
    stream = tmp_path / "in.sgl"
    made = subprocess.run(
        [sys.executable, "-m", "sigmalang", "encode", "-3", "--chunk-size", "64KiB", str(source), "-o", str(stream)],
        capture_output=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    # the two workers and their two helpers
    _kill_and_check(_start("decode", "-T", "2", str(stream), "-o", str(tmp_path / "out.txt")), 4, 0.0)


def _before_the_program(stderr: str) -> bool:
    """Whether the interrupt came before any of the command line's code ran: while the interpreter
    starts (site-packages, runpy) or imports the package itself, Python handles it its own way
    (a traceback, death by SIGINT, or exit 1), out of the program's reach."""
    located = re.findall(r'File "([^"]+)", line \d+, in (\S+)', stderr)
    frames = [f for f, _ in located]
    ours = [f for f in frames if f"{os.sep}sigmalang{os.sep}" in f and not f.endswith("__init__.py")]
    # A module still being imported when the interrupt lands (the innermost frame is the import
    # machinery's, or a module's own top-level code) counts as start-up too: the command has not
    # begun its work. So does anything under runpy's import of the package itself, before it
    # looks for sigmalang.__main__ (a class body of a module imported there, for one).
    importing = bool(located) and (
        frames[-1].startswith("<frozen importlib")
        or located[-1][1] == "<module>"
        or any(name == "_get_module_details" for _, name in located)
    )
    return "sigmalang: interrupted" not in stderr and (not ours or importing)


def _trials() -> int:
    return int(os.environ.get("SIGMALANG_SIGINT_TRIALS", "20"))


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX signals")
def test_ctrl_c_at_random_moments_exits_130(tmp_path: Path) -> None:
    text = (SAMPLES / "dickens-sample.txt").read_bytes() * 8
    source = tmp_path / "in.txt"
    source.write_bytes(text)
    encoded = tmp_path / "in.sgl"
    command = ["encode", "-1", "--chunk-size", "64K", str(source), "-o", str(encoded)]
    subprocess.run([sys.executable, "-m", "sigmalang", *command], check=True)
    rng = random.Random(int(os.environ.get("SIGMALANG_SIGINT_SEED", "1")))
    failures: list[str] = []
    early: list[int] = []
    finished = 0
    for trial in range(_trials()):
        command = ["encode", str(source)] if trial % 2 == 0 else ["decode", str(encoded)]
        out = tmp_path / f"out{trial}"
        proc = _start(*command, "-T", "2", "-f", "-o", str(out))
        time.sleep(rng.uniform(0.0, 1.5))  # before, during and after the pool starts
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            _, err = proc.communicate()
            os.killpg(proc.pid, signal.SIGKILL)
            failures.append(f"trial {trial} {command[0]}: hung: {err.decode()[-3000:]}")
            continue
        if proc.returncode == 0:
            out.unlink()  # it finished before the interrupt came: nothing to check
            finished += 1
            continue
        text = err.decode()
        if _before_the_program(text):
            early.append(trial)
            continue
        # The one line and nothing else: a pool process (the forkserver, a worker) interrupted
        # while it starts would print its own traceback into the stderr it shares with us.
        if proc.returncode != 130 or text.splitlines() != ["sigmalang: interrupted"]:
            failures.append(f"trial {trial} {command[0]}: exit {proc.returncode}: {text[-3000:]!r}")
        elif out.exists():
            failures.append(f"trial {trial} {command[0]}: output left")
    print(
        f"{_trials()} interrupts: {len(failures)} failed, {len(early)} before the program started,"
        f" {finished} after it ended"
    )
    assert not failures, "\n".join(failures)
    assert len(early) <= _trials() // 4, f"interrupted before the program started in trials {early}"
