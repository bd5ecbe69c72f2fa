"""Parallel streaming: same bytes for any worker count, ordered results, bounded work, failures, async API.

Worker processes import this module to run its top-level functions, so everything a worker
calls here is defined at module level.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

import sigmalang
from conftest import SAMPLES, map_stream, mixed_bytes, read_text_file
from sigmalang import _stream
from sigmalang._backend_base import ZSTD
from sigmalang._chunking import Chunk
from sigmalang._codec import encode_chunk
from sigmalang._container import StreamAssembler
from sigmalang._errors import SigmaError, SigmaFormatError, WorkerError
from sigmalang._levels import DEFAULT_LEVEL
from sigmalang._parallel import Done, ordered_map, resolve_workers, stop_pool, worker_pool
from sigmalang._stats import StreamStats
from sigmalang._stream import StreamingDecoder, StreamingEncoder
from sigmalang._stream_records import StreamHeader
from sigmalang.cli import main

pytestmark = pytest.mark.slow  # process pools

WAIT = 60.0  # upper bound for anything that must not hang; never reached when the code is right


@functools.cache
def real_text() -> bytes:
    """About 770 KB of real text: English prose and server logs (from the bundled samples)."""
    prose = (SAMPLES / "dickens-sample.txt").read_bytes()[: 512 << 10]
    logs = (SAMPLES / "loghub-sample.log").read_bytes()[: 256 << 10]
    return prose + logs


def encode(data: bytes, **options: object) -> bytes:
    out = io.BytesIO()
    StreamingEncoder(**options).encode_stream(io.BytesIO(data), out)  # type: ignore[arg-type]
    return out.getvalue()


def decode(blob: bytes, **options: object) -> tuple[bytes, StreamStats]:
    out = io.BytesIO()
    stats = StreamingDecoder(**options).decode_stream(io.BytesIO(blob), out)  # type: ignore[arg-type]
    return out.getvalue(), stats


def worker_processes() -> list[psutil.Process]:
    """Pool workers of this process: children of its forkserver (or spawned children, for spawn)."""
    found = []
    for child in psutil.Process().children():
        try:
            grandchildren = child.children()
        except psutil.NoSuchProcess:
            continue
        found += grandchildren or ([child] if "spawn_main" in " ".join(child.cmdline()) else [])
    return found


def assert_no_workers_left() -> None:
    deadline = time.monotonic() + 10
    while (left := worker_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"worker processes left behind: {left}"


def within(seconds: float, fn):  # type: ignore[no-untyped-def]
    """Run *fn* in a thread and return its result, or fail if it has not finished in *seconds*."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a hang"
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]


class SwapExecutor(Executor):
    """Runs *fn* on *inner* in place of whatever function it is asked to run; counts submits."""

    def __init__(self, inner: Executor, fn=None):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.fn = fn
        self.submits = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.submits += 1
        return self.inner.submit(self.fn or fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait, cancel_futures=cancel_futures)


# -- functions run in worker processes (module level, so they pickle by name) ------------------

_STARTS = 0
_encode_job = _stream._encode_job  # the real one, also while a test replaces it in the parent


def _count_start() -> None:
    global _STARTS
    _STARTS += 1


def _whoami(_: object) -> tuple[int, int, bool]:
    return os.getpid(), _STARTS, signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def _raise_on_chunk_3(chunk: Chunk) -> tuple[int, int, bytes]:
    if chunk.number == 3:
        raise ValueError("boom in chunk 3")
    return _encode_job(chunk, 1)


def _die_on_chunk_2(chunk: Chunk, level: int) -> tuple[int, int, bytes]:
    if chunk.number == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return _encode_job(chunk, level)


def _slow_job(chunk: Chunk, level: int) -> tuple[int, int, bytes]:
    time.sleep(0.05)
    return _encode_job(chunk, level)


# -- same bytes for any worker count ---------------------------------------------------------


def test_same_bytes_for_any_worker_count_and_executor_on_real_text():
    data = real_text()
    options = {"level": DEFAULT_LEVEL, "chunk_size": 64 << 10}
    single = encode(data, workers=1, **options)
    assert len(map_stream(single).frames) >= 12  # enough chunks that workers finish out of order
    assert encode(data, workers=2, **options) == single
    assert encode(data, workers=8, max_in_flight=3, **options) == single
    with ThreadPoolExecutor(3) as threads:
        assert encode(data, executor=threads, max_in_flight=5, **options) == single
    with worker_pool(2) as pool:
        assert encode(data, executor=pool, **options) == single
    assert_no_workers_left()


def test_cli_same_bytes_for_T1_T2_T4_and_T2_decode_round_trips(tmp_path):
    source = tmp_path / "text.log"
    source.write_bytes(read_text_file("loghub-sample") + read_text_file("dickens-64k"))
    outputs = []
    for workers in ("1", "2", "4"):
        out = tmp_path / f"T{workers}.sgl"
        assert main(["encode", "-q", "-T", workers, "--chunk-size", "64KiB", "-o", str(out), str(source)]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    back = tmp_path / "back"
    assert main(["decode", "-q", "-T", "2", "-o", str(back), str(tmp_path / "T2.sgl")]) == 0
    assert back.read_bytes() == source.read_bytes()
    assert_no_workers_left()


@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_decode_round_trips_concatenated_streams(workers):
    data = real_text()
    blob = sigmalang.compress(data[:500_000], 1, chunk_size=32 << 10) + sigmalang.compress(data[500_000:], 2)
    out, stats = decode(blob, workers=workers)
    assert out == data
    assert stats.workers == workers and stats.bytes_in == len(blob)


def test_workers_zero_means_one_per_cpu():
    assert resolve_workers(0) == (os.cpu_count() or 1)
    assert StreamingEncoder(workers=0).workers == (os.cpu_count() or 1)
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError):
            resolve_workers(bad)  # type: ignore[arg-type]


# -- the executor: ordering, bounded work, start-up once per worker ------------------------


class GatedExecutor(Executor):
    """Futures complete only when the test says so, in any order it likes."""

    def __init__(self) -> None:
        self.pending: list[tuple[Future[object], object, object]] = []
        self.submitted = threading.Semaphore(0)
        self.lock = threading.Lock()
        self.open = False

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        future: Future[object] = Future()
        with self.lock:
            self.pending.append((future, fn, args[0]))
            if self.open:
                self.finish(len(self.pending) - 1)
        self.submitted.release()
        return future

    def release_all(self) -> None:
        """Finish everything pending, and from now on every submit at once."""
        with self.lock:
            self.open = True
            for index, (future, _, _) in enumerate(self.pending):
                if not future.done():
                    self.finish(index)

    def finish(self, index: int) -> None:
        future, fn, arg = self.pending[index]
        future.set_result(fn(arg))  # type: ignore[operator]


def test_ordered_map_yields_in_input_order_whatever_order_work_finishes_in():
    gate = GatedExecutor()
    items = [0, 1, Done(-2), 3]
    results = ordered_map(lambda x: x * 10, items, executor=gate, max_in_flight=4)
    finisher = threading.Thread(target=lambda: [gate.submitted.acquire() for _ in range(3)] and _finish_reversed(gate))
    finisher.start()
    assert within(WAIT, lambda: list(results)) == [(0, 0), (1, 10), (items[2], -2), (3, 30)]
    finisher.join()


def _finish_reversed(gate: GatedExecutor) -> None:
    for index in reversed(range(len(gate.pending))):
        gate.finish(index)


@pytest.mark.parametrize("max_in_flight", [1, 2, 5])
def test_ordered_map_never_has_more_than_max_in_flight_submitted(max_in_flight):
    pulled = 0

    def items():
        nonlocal pulled
        for i in range(30):
            pulled += 1
            yield i

    with ThreadPoolExecutor(4) as pool:
        for position, (item, result) in enumerate(
            ordered_map(abs, items(), executor=pool, max_in_flight=max_in_flight)
        ):
            assert item == result == position
            assert pulled - (position + 1) <= max_in_flight - 1  # the yielded one is no longer in flight


def test_reader_blocks_when_the_window_is_full():
    """Backpressure: with no work finishing, the encoder reads a bounded amount of its input."""
    chunk_size, in_flight = 4096, 3
    source = io.BytesIO(mixed_bytes(400 * chunk_size, seed=1))
    gate = GatedExecutor()
    encoder = StreamingEncoder(level=1, chunk_size=chunk_size, executor=gate, max_in_flight=in_flight)
    thread = threading.Thread(target=encoder.encode_stream, args=(source, io.BytesIO()), daemon=True)
    thread.start()
    for _ in range(in_flight):
        assert gate.submitted.acquire(timeout=WAIT)
    time.sleep(0.3)  # would be plenty for an unbounded reader to read all 1.6 MB
    # window + read-ahead queue + the chunk being put + the reader's buffer, each one chunk (+1 byte)
    assert source.tell() <= (2 * in_flight + 2) * (chunk_size + 1)
    assert len(gate.pending) == in_flight
    gate.release_all()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert source.tell() == 400 * chunk_size


def test_worker_start_up_is_paid_once_per_worker_and_workers_ignore_sigint():
    with worker_pool(2, warm_up=_count_start) as pool:
        results = [result for _, result in ordered_map(_whoami, range(24), executor=pool, max_in_flight=4)]
    pids = {pid for pid, _, _ in results}
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids  # 24 items, at most 2 processes
    assert all(starts == 1 for _, starts, _ in results)  # each warmed up once, not per item
    assert all(ignores_sigint for _, _, ignores_sigint in results)
    assert_no_workers_left()


# -- a Ctrl-C while a worker starts: the terminal sends it to every process of the group --------

STARTING_WORKERS = """
import os, signal, sys, threading, time
from sigmalang._parallel import stop_pool, worker_pool

def starting(name):
    # Say which process this is (in a file the parent waits for), then take a second to start,
    # long enough for the parent's SIGINT to land in the middle of it.
    with open(name + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(name + ".tmp", name)
    time.sleep(1.0)

def slow_to_start():
    starting("worker")
    return SlowToStart()

class SlowToStart:
    # A warm-up that a new worker unpickles, with the pool's other start-up arguments, before
    # its initializer runs: the last moment a worker could be interrupted.
    def __reduce__(self):
        return slow_to_start, ()
    def __call__(self):
        pass

if __name__ == "__mp_main__":  # the forkserver imports this module (its preload) as it starts
    starting("forkserver")

def interrupt(names, done):
    for name in names:
        deadline = time.monotonic() + 30
        while not os.path.exists(name) and time.monotonic() < deadline:
            time.sleep(0.005)
        if os.path.exists(name):
            os.kill(int(open(name).read()), signal.SIGINT)
            done.append(name)

if __name__ == "__main__":
    done = []
    thread = threading.Thread(target=interrupt, args=(["forkserver", "worker"], done))
    thread.start()
    pool = worker_pool(1, SlowToStart())
    try:
        print("worker ran:", pool.submit(os.getpid).result(timeout=60) != os.getpid())
    finally:
        thread.join()
        print("interrupted:", *done)
        stop_pool(pool, kill=False)
    try:  # the parent's own Ctrl-C is handled as before
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        print("parent interrupted")
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signal masks")
def test_a_worker_interrupted_while_it_starts_neither_stops_nor_prints(tmp_path):
    """SIGINT reaches a pool's processes before their initializer ignores it: the forkserver
    while it starts (and imports the program's main module), a worker while it unpickles what it
    was sent. Neither may die of it nor print a KeyboardInterrupt traceback into the stderr the
    command shares with them."""
    (tmp_path / "starting_workers.py").write_text(STARTING_WORKERS)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "starting_workers.py")],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        cwd=tmp_path,
    )
    assert result.stdout.splitlines() == [
        "worker ran: True",
        "interrupted: forkserver worker",
        "parent interrupted",
    ], result.stdout + result.stderr[-3000:]
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]


UNKNOWN_WORKER = """
import os, signal, sys, time
from multiprocessing import forkserver
import psutil
from sigmalang._parallel import stop_pool, worker_pool

SIGNAL = getattr(signal, sys.argv[1])

class Terminated(Exception):
    pass

def terminated(signum, frame):  # as the command line turns a SIGTERM into an exception
    raise Terminated

def slow_to_start():
    time.sleep(3)
    return SlowToStart()

class SlowToStart:  # keeps a new worker starting for a while (see STARTING_WORKERS)
    def __reduce__(self):
        return slow_to_start, ()
    def __call__(self):
        pass

read_signed = forkserver.read_signed

def interrupted(fd):
    # The pool waits here for the forkserver to tell it a new worker's process id: the worker
    # runs already, and the pool does not know it yet. A Ctrl-C comes at this very moment.
    os.kill(os.getpid(), SIGNAL)
    return read_signed(fd)

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, terminated)
    first = worker_pool(1)  # the forkserver up and serving, so that it forks the next worker at once
    first.submit(os.getpid).result()
    stop_pool(first, kill=False)
    pool = worker_pool(1, SlowToStart())
    forkserver.read_signed = interrupted
    try:
        pool.submit(os.getpid)
    except (KeyboardInterrupt, Terminated):
        print("interrupted")
    forkserver.read_signed = read_signed
    stop_pool(pool, kill=True)
    server = psutil.Process(forkserver._forkserver._forkserver_pid)
    left = 0
    for _ in range(20):
        left = max(left, len([p for p in server.children() if p.status() != psutil.STATUS_ZOMBIE]))
        time.sleep(0.05)
    print("workers left:", left)
"""


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals")
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_a_ctrl_c_while_the_pool_starts_a_worker_leaves_no_worker_it_does_not_know(tmp_path, signal_name):
    """A Ctrl-C (or a SIGTERM turned into an exception) while the pool waits for a new worker's
    process id left that worker out of the pool's list, so stopping the pool did not stop it: it
    went on starting after the command had ended, and printed a traceback (its queues' semaphores
    were gone) into the command's stderr."""
    (tmp_path / "unknown_worker.py").write_text(UNKNOWN_WORKER)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "unknown_worker.py"), signal_name],
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=tmp_path,
    )
    assert result.stdout.splitlines() == ["interrupted", "workers left: 0"], result.stdout + result.stderr[-3000:]
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]


# -- failures -------------------------------------------------------------------------------


def test_worker_exception_becomes_one_worker_error_naming_the_chunk():
    data = mixed_bytes(20 * 4096, seed=2)
    with worker_pool(2) as pool:
        executor = SwapExecutor(pool, _raise_on_chunk_3)
        with pytest.raises(WorkerError, match=r"chunk 3 .*ValueError: boom in chunk 3") as info:
            within(WAIT, lambda: encode(data, level=1, chunk_size=4096, executor=executor))
    assert isinstance(info.value, SigmaError)
    assert isinstance(info.value.__cause__, ValueError)


def test_codec_exception_is_the_same_error_inline(monkeypatch):
    monkeypatch.setattr(_stream, "_encode_job", lambda chunk, level: _raise_on_chunk_3(chunk))
    with pytest.raises(WorkerError, match=r"chunk 3 .*ValueError: boom in chunk 3"):
        encode(mixed_bytes(20 * 4096, seed=2), level=1, chunk_size=4096, workers=1)


def test_worker_killed_gives_worker_error_without_hanging_and_leaves_no_workers(monkeypatch, tmp_path):
    monkeypatch.setattr(_stream, "_encode_job", _die_on_chunk_2)
    source, target = tmp_path / "in", tmp_path / "out.sgl"
    source.write_bytes(mixed_bytes(30 * 4096, seed=3))
    encoder = StreamingEncoder(level=1, chunk_size=4096, workers=2)
    with pytest.raises(WorkerError, match="worker process died"):
        within(WAIT, lambda: encoder.encode_file(source, target))
    assert sorted(os.listdir(tmp_path)) == ["in"]  # no output, no temporary file
    assert_no_workers_left()


def test_data_errors_from_workers_keep_their_type_and_location():
    """A frame with valid CRCs whose body cannot be decoded fails on a worker: same error as inline."""
    assembler = StreamAssembler(StreamHeader(chunk_size=4096, level=1))
    blob = assembler.start()
    for n in range(6):
        orig = b"line %d\n" % n * 100
        if n == 4:
            blob += assembler.frame(orig, 0, ZSTD, b"not zstd at all")
        else:
            encoded = encode_chunk(orig, 1)
            blob += assembler.frame(orig, encoded.transform, encoded.backend, encoded.data)
    blob += assembler.finish()
    offset = map_stream(blob).frames[4].offset
    for workers in (1, 2):
        with pytest.raises(SigmaFormatError) as info:
            within(WAIT, lambda workers=workers: decode(blob, workers=workers))
        assert (info.value.frame, info.value.offset) == (4, offset)
        assert "frame 4" in str(info.value)


# -- shared-context streams fall back to in-order decoding -----------------------------------


def shared_context_stream(data: bytes, chunk_size: int) -> bytes:
    blob = sigmalang.compress(data, 1, chunk_size=chunk_size, shared_context=True)
    assert any(blob[span.offset] & 0x20 for span in map_stream(blob).frames)  # the *continues* flag
    return blob


def test_shared_context_stream_is_decoded_in_order_in_the_parent(dickens_64k, loghub_small):
    blob = shared_context_stream(dickens_64k, 4096) + sigmalang.compress(loghub_small, 1, chunk_size=4096)
    with ThreadPoolExecutor(2) as threads:
        executor = SwapExecutor(threads)
        out, stats = decode(blob, executor=executor, workers=2)
    assert out == dickens_64k + loghub_small
    assert executor.submits == len(map_stream(sigmalang.compress(loghub_small, 1, chunk_size=4096)).frames)
    assert len(stats.notes) == 1 and "stream 1 has shared context" in stats.notes[0]


def test_verbose_cli_notes_the_in_order_fallback(tmp_path, dickens_64k, capsys):
    sgl = tmp_path / "shared.sgl"
    sgl.write_bytes(shared_context_stream(dickens_64k, 8192))
    assert main(["decode", "-v", "-T", "2", "-o", str(tmp_path / "out"), str(sgl)]) == 0
    assert (tmp_path / "out").read_bytes() == dickens_64k
    assert "shared context" in capsys.readouterr().err
    assert main(["decode", "-T", "2", "-o", str(tmp_path / "quiet"), str(sgl)]) == 0
    assert "shared context" not in capsys.readouterr().err


# -- async API --------------------------------------------------------------------------------


def test_async_encode_with_workers_per_call_does_not_block_the_event_loop(tmp_path):
    data = real_text()
    source, target, back = tmp_path / "in.txt", tmp_path / "out.sgl", tmp_path / "back.txt"
    source.write_bytes(data)
    encoder = StreamingEncoder(level=1, chunk_size=64 << 10)

    async def run() -> tuple[int, StreamStats]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        stats = await encoder.encode_file_async(source, target, workers=2)
        during = ticks - before
        await StreamingDecoder().decode_file_async(target, back, workers=2)
        task.cancel()
        return during, stats

    during, stats = asyncio.run(run())
    assert stats.workers == 2 and encoder.workers == 1  # per call, the encoder is unchanged
    assert target.read_bytes() == sigmalang.compress(data, 1, chunk_size=64 << 10)
    assert back.read_bytes() == data
    assert during >= 3  # starting two worker processes alone takes longer than three ticks
    assert_no_workers_left()


def test_cancelled_async_encode_stops_workers_and_leaves_no_output(tmp_path, monkeypatch):
    monkeypatch.setattr(_stream, "_encode_job", _slow_job)  # 50 ms a chunk: plenty of time to cancel
    source, target = tmp_path / "in", tmp_path / "out.sgl"
    source.write_bytes(mixed_bytes(200 * 4096, seed=4))

    async def run() -> None:
        loop = asyncio.get_running_loop()
        started = asyncio.Event()
        encoder = StreamingEncoder(level=1, chunk_size=4096, progress=lambda n: loop.call_soon_threadsafe(started.set))
        task = asyncio.create_task(encoder.encode_file_async(source, target, workers=2))
        await asyncio.wait_for(started.wait(), WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(run(), WAIT))
    assert sorted(os.listdir(tmp_path)) == ["in"]
    assert_no_workers_left()


def test_async_errors_propagate(tmp_path):
    target = tmp_path / "out"
    (tmp_path / "bad.sgl").write_bytes(b"not a stream at all")
    with pytest.raises(SigmaFormatError):
        asyncio.run(StreamingDecoder().decode_file_async(tmp_path / "bad.sgl", target, workers=2))
    assert not target.exists()
    assert not Path(str(target) + ".sgl").exists()


# -- stopping a pool on error: its call queue's pipe is the pool's to close ---------------------

STOP_POOLS = """
import sys, threading, time
from multiprocessing import connection
from sigmalang._parallel import stop_pool, worker_pool

# A pause between a connection's "still open" check and its os.close(), so that two threads
# closing the same pipe end at once (a race of a few microseconds otherwise) meet every time.
def _close(self, _close=__import__("os").close):
    handle = self._handle
    time.sleep(0.002)
    _close(handle)
connection.Connection._close = _close

errors = []
threading.excepthook = lambda args: errors.append(f"{args.thread.name}: {args.exc_value!r}")

def slow(data):
    time.sleep(5)
    return len(data)

if __name__ == "__main__":
    slowest = 0.0
    for i in range(int(sys.argv[1])):
        pool = worker_pool(2)
        pool.submit(len, b"").result()
        blocked = i % 4 == 0  # jobs too big for the pipe: the queue's feeder thread waits to write
        futures = [pool.submit(slow, bytes((4 << 20) if blocked else 1)) for _ in range(6)]
        time.sleep(0.2 if blocked else 0.01)
        feeder = pool._call_queue._thread
        start = time.monotonic()
        stop_pool(pool, kill=True)
        slowest = max(slowest, time.monotonic() - start)
        feeder.join(10)
        if feeder.is_alive():
            errors.append("the call queue's feeder thread is still running")
    time.sleep(0.5)
    print(f"slowest {slowest:.2f}")
    for error in errors:
        print(error)
"""


@pytest.mark.slow
def test_killing_a_pool_closes_each_pipe_once_and_frees_a_blocked_feeder(tmp_path):
    """The call queue's reading end is closed by the pool's manager thread when it sees its
    workers die, and by nothing else: a second close at the same moment would raise EBADF in
    one of the two threads (or close another file given the same descriptor in between)."""
    (tmp_path / "stop_pools.py").write_text(STOP_POOLS)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "stop_pools.py"), "24"],
        capture_output=True,
        text=True,
        timeout=WAIT * 4,
        cwd=tmp_path,
    )
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[:1] and lines[0].startswith("slowest "), result.stdout + result.stderr
    assert lines[1:] == [], result.stdout + result.stderr[-2000:]
    assert float(lines[0].split()[1]) < 10


LATE_FEEDER = """
import time
from concurrent.futures import process
from multiprocessing import connection
from sigmalang._parallel import stop_pool, worker_pool

# The pool's manager thread sees its workers die a moment late, and the call queue's feeder
# thread, whose write into the pipe no worker reads fails then, ends a while later still.
terminate_broken = process._ExecutorManagerThread.terminate_broken
def late_manager(self, cause):
    time.sleep(0.5)
    terminate_broken(self, cause)
process._ExecutorManagerThread.terminate_broken = late_manager

send = connection.Connection._send
def late_feeder(self, buf):
    try:
        return send(self, buf)
    except OSError:
        time.sleep(2)
        raise
connection.Connection._send = late_feeder

def slow(data):
    time.sleep(5)
    return len(data)

if __name__ == "__main__":
    pool = worker_pool(2)
    pool.submit(len, b"").result()
    futures = [pool.submit(slow, bytes(4 << 20)) for _ in range(4)]  # too big for the pipe: a write waits
    time.sleep(0.5)
    feeder = pool._call_queue._thread
    stop_pool(pool, kill=True)
    print("feeder running:", feeder.is_alive())
"""


@pytest.mark.slow
def test_stopping_a_killed_pool_waits_for_its_call_queue_s_feeder_thread(tmp_path):
    """When the feeder thread ends last, it frees the call queue's semaphores: it unlinks each and
    then tells the resource tracker. A command that exits in between (os._exit, after a Ctrl-C)
    leaves the tracker to warn on stderr of a leaked semaphore that is no longer there."""
    (tmp_path / "late_feeder.py").write_text(LATE_FEEDER)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "late_feeder.py")], capture_output=True, text=True, timeout=WAIT, cwd=tmp_path
    )
    assert result.stdout.splitlines() == ["feeder running: False"], result.stdout + result.stderr[-3000:]


FEEDER_STARTED_LATE = """
import threading, time, weakref
from sigmalang._parallel import stop_pool, worker_pool

if __name__ == "__main__":
    pool = worker_pool(1)
    calls = weakref.ref(pool._call_queue)
    stopping = threading.Event()

    # The manager thread moves the first job into the call queue, and so starts the queue's feeder
    # thread, only once stop_pool has begun (a pool stopped as it starts); the feeder is slow.
    def late_put(*args, **kwargs):
        stopping.wait(10)
        time.sleep(0.2)
        return type(calls()).put(calls(), *args, **kwargs)

    send = pool._call_queue._send_bytes
    def slow_send(data):
        time.sleep(2)
        return send(data)

    pool._call_queue.put = late_put
    pool._call_queue._send_bytes = slow_send
    pool.submit(len, b"x")
    threading.Timer(0.05, stopping.set).start()
    stop_pool(pool, kill=True)
    feeders = [t for t in threading.enumerate() if t.name == "QueueFeederThread"]
    print("feeder running:", any(t.is_alive() for t in feeders), "queue freed:", calls() is None)
"""


@pytest.mark.slow
def test_stopping_a_pool_as_it_starts_waits_for_a_feeder_thread_started_meanwhile(tmp_path):
    """The manager thread starts the call queue's feeder with the first job it moves there, which
    can be after stop_pool began: that feeder is waited for too, and the queue (its semaphores)
    freed by the thread that stops the pool, not by one that may be cut off at exit."""
    (tmp_path / "feeder_started_late.py").write_text(FEEDER_STARTED_LATE)
    result = subprocess.run(
        [sys.executable, str(tmp_path / "feeder_started_late.py")],
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=tmp_path,
    )
    assert result.stdout.splitlines() == ["feeder running: False queue freed: True"], (
        result.stdout + result.stderr[-3000:]
    )


def _big_result(size: int) -> bytes:
    return bytes(size)


def _reading_a_result(manager: threading.Thread) -> bool:
    frame = sys._current_frames().get(manager.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "_recv_bytes":
            return True
        frame = frame.f_back
    return False


@pytest.mark.slow
def test_killing_a_pool_while_a_worker_sends_its_result_does_not_hang():
    """A worker killed halfway through sending a result leaves part of a message in the result
    pipe; the pool's manager thread, reading it, would wait for the rest forever."""
    for _ in range(3):
        pool = worker_pool(1)
        pool.submit(len, b"").result()
        manager = pool._executor_manager_thread  # type: ignore[attr-defined]
        pool.submit(_big_result, 256 << 20)
        deadline = time.monotonic() + WAIT
        while not _reading_a_result(manager) and time.monotonic() < deadline:
            time.sleep(0.0005)
        assert _reading_a_result(manager), "the result was never seen on its way"
        within(WAIT, lambda pool=pool: stop_pool(pool, kill=True))
        assert not manager.is_alive()
    assert_no_workers_left()


# Larger than any block an import may have freed (which raises glibc's threshold to its size), and
# below the 32 MiB that glibc's threshold never rises past.
_PROBE_BUFFER = 24 << 20


def _kept_after_freeing() -> int:
    """Bytes of resident memory a buffer of _PROBE_BUFFER bytes leaves behind when freed after
    another one was."""
    process = psutil.Process()
    first = bytearray(_PROBE_BUFFER)
    del first  # glibc's default: its mmap threshold rises to this buffer's size
    before = process.memory_info().rss
    second = bytearray(_PROBE_BUFFER)
    del second
    return int(process.memory_info().rss - before)


_FREED_BUFFER_PROBE = f"""
import sys, psutil
from sigmalang._parallel import return_freed_buffers
applied = return_freed_buffers() if sys.argv[1] == "call" else None
_PROBE_BUFFER = {_PROBE_BUFFER}
{inspect.getsource(_kept_after_freeing)}
print(applied, _kept_after_freeing())
"""


def _freed_buffer_probe(how: str, threshold: str | None = None) -> tuple[str, int]:
    # glibc's defaults: none of its allocator's variables (a Dask LocalCluster started by an earlier
    # test leaves MALLOC_TRIM_THRESHOLD_ in this process's environment, which fixes the threshold too)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    if threshold is not None:
        env["MALLOC_MMAP_THRESHOLD_"] = threshold
    out = subprocess.run(
        [sys.executable, "-c", _FREED_BUFFER_PROBE, how], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_processes_sigmalang_runs_give_freed_chunk_buffers_back_to_the_system() -> None:
    """After return_freed_buffers (the command line and every pool worker call it), a freed 24 MiB
    buffer leaves the process; without it, glibc keeps it once a buffer that size was freed."""
    kept_without = _freed_buffer_probe("no call")[1]
    if kept_without < _PROBE_BUFFER // 2:
        pytest.skip(f"this C library gives such buffers back anyway ({kept_without} bytes kept)")
    applied, kept = _freed_buffer_probe("call")
    assert (applied, kept < _PROBE_BUFFER // 8) == ("True", True), kept
    # Where the environment already chooses a threshold, the call leaves it alone.
    assert _freed_buffer_probe("call", threshold="1048576")[0] == "False"
    with worker_pool(1) as pool:  # as a pool worker starts
        assert pool.submit(_kept_after_freeing).result() < _PROBE_BUFFER // 8
