"""A Dask cluster as the executor, and ΣLANG files as Dask bags, on a real LocalCluster:
two worker processes talking TCP on localhost. Same bytes as one process, bounded work in
flight, a lost worker's frame run again, and one clear error when it cannot be."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask
import fsspec
import psutil
import pytest
from distributed import Client, LocalCluster

import sigmalang
import sigmalang.dask as sgl_dask
from conftest import read_text_file
from sigmalang import SigmaFile, StreamingDecoder, StreamingEncoder
from sigmalang._index import SeekTable
from sigmalang.cli import main

pytestmark = pytest.mark.slow  # starting worker processes takes seconds

SMALL_CHUNK = 8 << 10  # many frames from a few hundred KiB


def _cluster(**kwargs: object) -> LocalCluster:
    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def client():
    with _cluster() as cluster, Client(cluster) as client:
        yield client


def _inline(data: bytes, level: int, chunk_size: int, **kwargs: object) -> bytes:
    out = io.BytesIO()
    StreamingEncoder(level, chunk_size, **kwargs).encode_stream(io.BytesIO(data), out)  # type: ignore[arg-type]
    return out.getvalue()


class InFlight:
    """Records the most jobs in flight that the pipeline reports."""

    def __init__(self) -> None:
        self.most = 0
        self.seconds: list[float] = []

    def watch(self, direction: str) -> InFlight:
        return self

    def in_flight(self, count: int) -> None:
        self.most = max(self.most, count)

    def item_seconds(self, seconds: float) -> None:
        self.seconds.append(seconds)

    def frame(self, bytes_in: int, bytes_out: int) -> None:
        pass

    def queue_depth(self, count: int) -> None:
        pass

    def error(self, exc: BaseException) -> None:
        pass


@pytest.mark.parametrize("level", [1, 3])
def test_cluster_encode_is_byte_identical_to_one_process_and_bounded(client, level):
    data = read_text_file("loghub-sample")[:300_000]
    watch = InFlight()
    encoder = StreamingEncoder(level, SMALL_CHUNK, executor=client.get_executor(), metrics=watch)
    assert encoder.max_in_flight == 4  # two per thread of the cluster's two workers
    out = io.BytesIO()
    stats = encoder.encode_stream(io.BytesIO(data), out)
    assert out.getvalue() == _inline(data, level, SMALL_CHUNK)
    assert stats.chunks > 20
    assert 2 <= watch.most <= 4
    assert len(watch.seconds) == stats.chunks

    back = io.BytesIO()
    StreamingDecoder(executor=client.get_executor()).decode_stream(io.BytesIO(out.getvalue()), back)
    assert back.getvalue() == data


def test_cluster_encode_at_the_default_level_is_byte_identical(client):
    data = read_text_file("dickens-64k")
    out = io.BytesIO()
    StreamingEncoder(chunk_size=16 << 10, executor=client.get_executor()).encode_stream(io.BytesIO(data), out)
    assert out.getvalue() == _inline(data, 6, 16 << 10)


def test_cluster_shared_context_is_byte_identical(client):
    data = read_text_file("loghub-sample")[:200_000]
    out = io.BytesIO()
    encoder = StreamingEncoder(1, 4 << 10, shared_context=True, executor=client.get_executor())
    encoder.encode_stream(io.BytesIO(data), out)
    assert out.getvalue() == _inline(data, 1, 4 << 10, shared_context=True)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("form", ["text", "logs"])
def test_cluster_encode_with_a_format_is_byte_identical(client, form, shared):
    data = read_text_file("loghub-sample")[:200_000]
    out = io.BytesIO()
    encoder = StreamingEncoder(4, SMALL_CHUNK, shared_context=shared, format=form, executor=client.get_executor())
    encoder.encode_stream(io.BytesIO(data), out)
    assert out.getvalue() == _inline(data, 4, SMALL_CHUNK, shared_context=shared, format=form)
    assert out.getvalue() == sigmalang.compress(data, 4, chunk_size=SMALL_CHUNK, shared_context=shared, format=form)
    assert sigmalang.decompress(out.getvalue()) == data


def test_cli_scheduler_address_gives_the_same_file_as_T1(client, tmp_path):
    src = tmp_path / "app.log"
    src.write_bytes(read_text_file("loghub-sample")[:200_000])
    address = client.scheduler.address
    assert address.startswith("tcp://127.0.0.1:")
    assert (
        main(["-3", "-q", "--chunk-size", "8KiB", "--scheduler", address, str(src), "-o", str(tmp_path / "d.sgl")]) == 0
    )
    assert main(["-3", "-q", "--chunk-size", "8KiB", "-T", "1", str(src), "-o", str(tmp_path / "t1.sgl")]) == 0
    assert (tmp_path / "d.sgl").read_bytes() == (tmp_path / "t1.sgl").read_bytes()
    assert main(["-d", "-q", "--scheduler", address, str(tmp_path / "d.sgl"), "-o", str(tmp_path / "back")]) == 0
    assert (tmp_path / "back").read_bytes() == src.read_bytes()


def test_cli_scheduler_local_starts_a_cluster_and_gives_the_same_file(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(read_text_file("dickens-64k"))
    assert main(["-1", "-q", "--chunk-size", "4KiB", "-T", "2", "--scheduler", "local", str(src)]) == 0
    expected = _inline(src.read_bytes(), 1, 4 << 10, filters=True)  # the CLI writes search filters
    assert (tmp_path / "a.txt.sgl").read_bytes() == expected


def test_cli_unreachable_scheduler_is_one_line_and_no_output(tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_bytes(b"hello\n" * 100)
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(["-1", "--scheduler", "tcp://127.0.0.1:9", str(src)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("sigmalang: ")
    assert not (tmp_path / "a.txt.sgl").exists()


def _worker_pids(client: Client) -> list[int]:
    return list(client.run(os.getpid).values())


def _kill_workers_after_first_frame(client: Client, count: int):
    pids = _worker_pids(client)[:count]
    done = threading.Event()

    def progress(n: int) -> None:
        if not done.is_set():
            done.set()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)

    return progress


def test_worker_killed_mid_run_its_frames_are_retried_and_bytes_are_the_same(tmp_path):
    data = read_text_file("loghub-sample")[:400_000]
    src, dst = tmp_path / "in.log", tmp_path / "out.sgl"
    src.write_bytes(data)
    with _cluster() as cluster, Client(cluster) as client:
        progress = _kill_workers_after_first_frame(client, 1)
        encoder = StreamingEncoder(3, SMALL_CHUNK, executor=client.get_executor(), progress=progress)
        encoder.encode_file(src, dst)
    assert dst.read_bytes() == _inline(data, 3, SMALL_CHUNK)


NO_RETRIES = """
import os, re, signal, sys, threading, time
import dask
from distributed import Client, LocalCluster
from sigmalang import StreamingEncoder, WorkerError

src, dst = sys.argv[1], sys.argv[2]
with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
    client = Client(cluster)
    pids = list(client.run(os.getpid).values())
    killed = []

    def progress(n):
        # After the first frame, both workers are killed while the scheduler has chunks running
        # on them (each takes a fair fraction of a second at this chunk size): with no failures
        # allowed, those chunks cannot be run again.
        if not killed:
            deadline = time.monotonic() + 10
            while not any(client.processing().values()) and time.monotonic() < deadline:
                time.sleep(0.005)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.append(time.monotonic())

    encoder = StreamingEncoder(3, 256 << 10, executor=client.get_executor(), progress=progress)
    try:
        encoder.encode_file(src, dst)
        print("no error", flush=True)
    except WorkerError as exc:
        matched = re.search(r"^cluster workers died while coding chunk \\d+[^\\n]*$", str(exc))
        print("one error" if matched else f"another error: {exc!r}", flush=True)
        print(f"{time.monotonic() - killed[0]:.1f} seconds after the kill", flush=True)
# Closing a cluster whose workers are restarting can take long on a loaded machine; the result
# is already printed, so the process ends after a bounded wait.
closer = threading.Thread(target=lambda: (client.close(), cluster.close()), daemon=True)
closer.start()
closer.join(60)
os._exit(0)
"""


def test_every_worker_killed_with_no_retries_allowed_is_one_error_and_no_output(tmp_path):
    """Chunks running on the killed workers fail at once (no retries allowed); a finished chunk
    whose result is lost with its worker is run again, and when that run fails too, its error
    reaches the pipeline as well (``ClusterExecutor``). Either way the run ends: with one error
    and no output, or (when no chunk was running at the kill) with the whole stream. Run in a
    process group of its own, with a time limit, so that nothing here can hold the suite."""
    data = read_text_file("loghub-sample") * 4  # 7 chunks of 256 KiB
    src, dst = tmp_path / "in.log", tmp_path / "out.sgl"
    src.write_bytes(data)
    command = [sys.executable, "-c", NO_RETRIES, str(src), str(dst)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = child.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the script and its cluster's processes
        out, err = child.communicate()
        pytest.fail("the encode was still waiting 4 minutes after its workers were killed\n" + err[-3000:])
    lines = out.splitlines()
    if lines[:1] == ["no error"]:
        # The kill can land when no chunk is running on the killed workers (the scheduler's view
        # lags): every lost result is then computed again on the restarted workers, as allowed,
        # and the stream must be whole.
        assert sigmalang.decompress(dst.read_bytes()) == data
        assert sorted(os.listdir(tmp_path)) == ["in.log", "out.sgl"]
        return
    assert lines[:1] == ["one error"], out + err[-3000:]
    assert float(lines[1].split()[0]) < 60, out  # Dask reports a dead worker within seconds
    assert os.listdir(tmp_path) == ["in.log"]  # no output, no temporary file


def test_cli_every_worker_killed_with_no_retries_is_one_line_and_no_output(tmp_path):
    """The command line on a local cluster: both worker processes are killed once the run has
    started writing; stderr is our one line (none of Dask's own log lines), exit status 1."""
    src = tmp_path / "big.log"
    src.write_bytes(read_text_file("loghub-sample") * 16)  # 26 chunks of 256 KiB: seconds of work
    env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    command = [sys.executable, "-m", "sigmalang", "-3", "--chunk-size", "256KiB", "-T", "2"]
    child = subprocess.Popen(
        [*command, "--scheduler", "local", str(src)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        killed = None
        deadline = time.monotonic() + 180
        workers: list[psutil.Process] = []
        busy = 0.0
        while killed is None and child.poll() is None and time.monotonic() < deadline:
            if not workers and any(name.startswith(".big.log.sgl") for name in os.listdir(tmp_path)):
                found = [p for p in psutil.Process(child.pid).children() if "spawn_main" in " ".join(p.cmdline())]
                if len(found) == 2:  # the run has started: the CPU time its workers have used so far
                    workers, busy = found, sum(w.cpu_times().user for w in found) + 0.1
            elif workers and sum(w.cpu_times().user for w in workers) > busy:  # coding chunks now
                for worker in workers:
                    worker.kill()
                killed = time.monotonic()
            time.sleep(0.01)
        _, err = child.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        err = "still running 2 minutes after its workers were killed"
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    assert killed is not None, err
    assert child.returncode == 1, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert re.match(r"sigmalang: .*big\.log: cluster workers died while coding chunk \d+ ", lines[0]), err
    assert time.monotonic() - killed < 60
    assert os.listdir(tmp_path) == ["big.log"]


LOST_AND_RERUN_FAILS = """
import os, signal, sys, threading, time
import dask
from distributed import Client, LocalCluster
from sigmalang._cluster import ClusterExecutor


def slow(data):
    time.sleep(1.5)
    return data


def until(condition, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            print(f"timed out waiting for {what}", flush=True)
            os._exit(1)
        time.sleep(0.01)


def kill_workers(client):
    for pid in client.run(os.getpid, on_error="return").values():
        if isinstance(pid, int):
            os.kill(pid, signal.SIGKILL)


with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
    client = Client(cluster)
    gate, holding = threading.Event(), threading.Event()
    # Dask runs done-callbacks in one thread: hold it, so that no result is fetched for a while.
    client.submit(len, b"").add_done_callback(lambda f: (holding.set(), gate.wait(120)))
    until(holding.is_set, "the callback thread")
    executor = ClusterExecutor(client, pure=False)
    future = executor.submit(slow, b"frame")
    (task,) = executor._tasks
    until(lambda: any(task.key in keys for keys in client.has_what().values()), "the first run to finish")
    kill_workers(client)  # its result is lost with its worker, and the task is run again...
    # ...on a worker that dies too: one killed now, or one not yet known to be dead.
    until(lambda: task.status == "error" or any(task.key in k for k in client.processing().values()), "a rerun")
    if task.status != "error":
        kill_workers(client)
    until(lambda: task.status == "error", "the task to fail")
    gate.set()
    try:
        print("result", future.result(timeout=60), flush=True)
    except Exception as exc:
        print("error", type(exc).__name__, flush=True)
closer = threading.Thread(target=lambda: (client.close(), cluster.close()), daemon=True)
closer.start()
closer.join(60)
os._exit(0)
"""


def test_cluster_executor_a_lost_result_whose_rerun_fails_is_the_future_s_error(tmp_path):
    """On a real cluster, step by step: a task finishes, its worker dies before the result is
    fetched, the rerun's worker dies too; the future then ends with ``KilledWorker``."""
    command = [sys.executable, "-c", LOST_AND_RERUN_FAILS]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = child.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
    assert out.splitlines()[:1] == ["error KilledWorker"], out + err[-3000:]


def test_cluster_executor_lets_go_of_a_task_once_its_result_is_fetched(client):
    """Once a task's result has been fetched, the Dask future is released at once, even while the
    pipeline keeps the executor's future in its ordered window, waiting for earlier ones: a key
    still held stays in the cluster's memory and, if the worker holding it dies, is computed
    again for nothing."""
    from sigmalang._cluster import ClusterExecutor

    executor = ClusterExecutor(client, pure=False)  # a key of its own, held by nothing else
    future = executor.submit(len, b"abc")
    (key,) = [task.key for task in executor._tasks]
    assert future.result(timeout=60) == 3
    deadline = time.monotonic() + 20  # the client releases a key in its event loop's thread,
    while (key in client.refcount or executor._tasks) and time.monotonic() < deadline:
        time.sleep(0.01)  # where the last reference to the Dask future may also be dropped a little later
    assert key not in client.refcount and key not in client.futures
    assert not executor._tasks
    assert future.result() == 3


class _Task:
    """A Dask future as ClusterExecutor sees it: finished, but fetching its result raises, as when
    the worker holding the result died and the task's rerun failed."""

    def __init__(self, outcome: BaseException | bytes, status: str = "finished") -> None:
        self.outcome = outcome
        self.status = status
        self.callbacks: list = []
        self.cancelled = False

    def add_done_callback(self, fn) -> None:
        self.callbacks.append(fn)

    def result(self) -> bytes:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def cancel(self) -> None:
        self.cancelled = True

    def finish(self) -> None:
        for fn in self.callbacks:
            fn(self)


class _Client:
    def __init__(self, *tasks: _Task) -> None:
        self.tasks = list(tasks)
        self.submitted: list[tuple] = []

    def submit(self, fn, *args, **kwargs) -> _Task:
        self.submitted.append((fn, args, kwargs))
        return self.tasks.pop(0)


class KilledWorker(Exception):
    pass


def test_cluster_executor_future_gets_whatever_fetching_the_result_raises():
    from sigmalang._cluster import ClusterExecutor

    lost, fine = _Task(KilledWorker("workers died while running it")), _Task(b"frame")
    executor = ClusterExecutor(_Client(lost, fine), retries=0)
    failed, ok = executor.submit(len, b"a"), executor.submit(len, b"b")
    assert not failed.done() and not ok.done()
    lost.finish()
    fine.finish()
    with pytest.raises(KilledWorker, match="workers died"):
        failed.result(timeout=5)
    assert ok.result(timeout=5) == b"frame"
    assert executor._client.submitted == [(len, (b"a",), {"retries": 0}), (len, (b"b",), {"retries": 0})]


def test_cluster_executor_cancel_cancels_the_task_and_a_cancelled_task_cancels_the_future():
    from sigmalang._cluster import ClusterExecutor

    waiting, dropped = _Task(b"x"), _Task(b"y", status="cancelled")
    executor = ClusterExecutor(_Client(waiting, dropped))
    first, second = executor.submit(len, b"a"), executor.submit(len, b"b")
    assert first.cancel() and waiting.cancelled
    waiting.finish()  # a task that ends after its future was cancelled changes nothing
    assert first.cancelled()
    dropped.finish()
    assert second.cancelled()


def test_client_executor_is_used_through_a_cluster_executor(client):
    from sigmalang._cluster import ClusterExecutor

    encoder = StreamingEncoder(1, executor=client.get_executor(retries=1))
    assert isinstance(encoder.executor, ClusterExecutor)
    assert encoder.executor._client is client and encoder.executor._kwargs == {"retries": 1}
    assert encoder.max_in_flight == 4
    executor = ClusterExecutor(client)
    assert executor.submit(len, b"abc").result(timeout=60) == 3
    assert list(executor.map(len, [b"a", b"bb"], timeout=60)) == [1, 2]
    with pytest.raises(ZeroDivisionError):
        executor.submit(divmod, 1, 0).result(timeout=60)
    executor.shutdown(wait=True)
    with pytest.raises(RuntimeError, match="after shutdown"):
        executor.submit(len, b"")


# -- sigmalang.dask: bags ------------------------------------------------------------------------


def _put(fs: fsspec.AbstractFileSystem, path: str, data: bytes, level: int, chunk_size: int, **kw: object) -> None:
    fs.pipe(path, _inline(data, level, chunk_size, **kw))


def test_read_text_has_one_partition_per_frame_and_the_lines_of_the_file(client):
    fs = fsspec.filesystem("memory")
    data = read_text_file("loghub-sample")[:200_000]
    _put(fs, "/bags/a.log.sgl", data, 1, SMALL_CHUNK)
    _put(fs, "/bags/b.log.sgl", data[:50_000], 1, SMALL_CHUNK)
    frames = sum(len(SeekTable.from_file(fs.open(p, "rb"))) for p in ("/bags/a.log.sgl", "/bags/b.log.sgl"))
    bag = sgl_dask.read_text("memory://bags/*.sgl")
    assert bag.npartitions == frames
    with dask.config.set(scheduler="sync"):  # a memory filesystem lives in this process
        lines = bag.compute()
    # Lines never run from one file into the next (the first file ends inside a line).
    assert lines == data.decode().splitlines(keepends=True) + data[:50_000].decode().splitlines(keepends=True)


def test_read_text_on_the_cluster_from_local_files(client, tmp_path):
    data = read_text_file("dickens-64k")
    (tmp_path / "d.sgl").write_bytes(_inline(data, 1, 4 << 10))
    bag = sgl_dask.read_text(str(tmp_path / "d.sgl"))
    with open(tmp_path / "d.sgl", "rb") as f:
        assert bag.npartitions == len(SeekTable.from_file(f))
    assert client.compute(bag).result() == data.decode().splitlines(keepends=True)


@pytest.mark.parametrize("align_lines", [True, False])
def test_read_text_keeps_lines_longer_than_a_frame_whole(align_lines):
    fs = fsspec.filesystem("memory")
    data = b"A" * 20_000 + b"\n" + b"short line\n" * 900 + b"B" * 9_000 + b"\n" + b"tail without end"
    _put(fs, "/long/x.sgl", data, 1, 4 << 10, align_lines=align_lines)
    bag = sgl_dask.read_text("memory://long/x.sgl")
    with dask.config.set(scheduler="sync"):
        parts = [part.compute() for part in bag.to_delayed()]
        whole = bag.compute()
    assert whole == data.decode().splitlines(keepends=True)
    assert sum(len(p) for p in parts) == len(whole)


def test_read_text_falls_back_to_one_partition_without_an_index():
    fs = fsspec.filesystem("memory")
    data = b"one\ntwo\n" * 2000
    stream = _inline(data, 1, 4 << 10)
    fs.pipe("/noindex/x.sgl", stream[:-1])  # the trailer cut short: no index to read
    bag = sgl_dask.read_text("memory://noindex/x.sgl")
    assert bag.npartitions == 1
    with dask.config.set(scheduler="sync"), pytest.raises(Exception, match="trailer|truncated|ends"):
        bag.compute()


def test_to_sgl_writes_one_stream_per_partition_and_reads_back(client, tmp_path):
    lines = [f"{i} GET /item/{i % 17} 200\n" for i in range(3000)]
    bag = dask.bag.from_sequence(lines, npartitions=3)
    written = sgl_dask.to_sgl(bag, str(tmp_path / "part-*.sgl"), level=1)
    assert [os.path.basename(p) for p in written] == ["part-0.sgl", "part-1.sgl", "part-2.sgl"]
    with SigmaFile(written[0], "rb") as f:
        assert f.read().decode() == "".join(lines[:1000])
    assert client.compute(sgl_dask.read_text(str(tmp_path / "part-*.sgl"))).result() == lines


def test_to_sgl_encodes_text_files_on_the_cluster(client, tmp_path):
    sources = []
    for name in ("a.log", "b.log"):
        (tmp_path / name).write_bytes(read_text_file("loghub-small"))
        sources.append(str(tmp_path / name))
    written = sgl_dask.to_sgl(sources, level=1)
    assert written == [s + ".sgl" for s in sources]
    for path in written:
        with SigmaFile(path, "rb") as f:
            assert f.read() == read_text_file("loghub-small")


def test_to_sgl_with_a_format(client, tmp_path):
    lines = [f"{i} GET /item/{i % 17} 200\n" for i in range(3000)]
    bag = dask.bag.from_sequence(lines, npartitions=2)
    written = sgl_dask.to_sgl(bag, str(tmp_path / "part-*.sgl"), level=1, format="logs")
    first = "".join(lines[:1500]).encode()
    assert Path(written[0]).read_bytes() == sigmalang.compress(first, 1, format="logs")
    with pytest.raises(ValueError, match="level of 1 to 9"):
        sgl_dask.to_sgl(bag, str(tmp_path / "part-*.sgl"), level=0, format="logs")
