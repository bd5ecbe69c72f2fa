"""Run chunk codecs on an executor, keep results in input order, bound the work in flight.

The default for ``workers > 1`` is a process pool (the glyph transform is Python code, so threads
would not scale under the GIL); any ``concurrent.futures.Executor`` can be passed instead, such as
a thread pool or a Dask client's executor. ``workers == 1`` with no executor runs inline.

Failures become one error: an exception about the data (:class:`SigmaError`) is re-raised as it
is, any other exception from the codec and a worker that dies become :class:`WorkerError`.
Worker processes ignore SIGINT: the parent decides when they stop, and stops them all. A worker
whose parent dies without stopping it (SIGKILL, a crash) ends itself: a watchdog thread in each
worker watches the process that made the pool. (The workers' own parent is the forkserver, which
lives as long as any worker does, so it cannot be what they watch.)
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

from .errors import SigmaError, WorkerError

__all__ = ["Done", "WorkerError", "ordered_map", "resolve_workers", "stop_pool", "worker_pool"]

T = TypeVar("T")
R = TypeVar("R")


class Done(Generic[T]):
    """An item that needs no work: ``ordered_map`` yields its value in its place in the order."""

    __slots__ = ("value",)

    def __init__(self, value: T):
        self.value = value


def resolve_workers(workers: int) -> int:
    """``0`` means one worker per CPU, as in ``zstd -T0``."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 0:
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    return workers or (os.cpu_count() or 1)


WATCH_INTERVAL = 0.25  # seconds between a worker's checks that the pool's owner still runs


def _start_worker(warm_up: Callable[[], object] | None, owner: int | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if owner is not None:
        die_with(owner)
    if warm_up is not None:
        warm_up()


def die_with(owner: int) -> None:
    """End this process (from a daemon thread) as soon as process *owner* has ended, so that no
    worker outlives a command killed outright."""
    import psutil

    try:
        process = psutil.Process(owner)
    except psutil.NoSuchProcess:
        os._exit(1)
    threading.Thread(target=_watch, args=(process,), name="sigmalang-watchdog", daemon=True).start()


def _watch(owner: Any) -> None:
    # is_running() also compares the start time, so a reused process id is not mistaken for the
    # owner; a killed owner that its own parent has not reaped yet is a zombie, and over too. The
    # thread runs whenever the worker's codec releases the GIL (between chunks at the latest).
    import psutil

    while True:
        time.sleep(WATCH_INTERVAL)
        try:
            if not owner.is_running() or owner.status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.Error:
            break
    os._exit(1)


def worker_pool(workers: int, warm_up: Callable[[], object] | None = None) -> ProcessPoolExecutor:
    """A pool of *workers* processes, each running *warm_up* once when it starts.

    The processes start clean (forkserver, else spawn: the parent has threads, so fork is unsafe)
    and stay for the whole pool, so imports, codec contexts and codebooks are paid once per worker.
    *warm_up* must be picklable (a module-level function or a ``functools.partial`` of one).
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(warm_up, os.getpid())
    )


def stop_pool(executor: Executor, *, kill: bool) -> None:
    """Shut *executor* down and wait for it; with *kill* (on error or interrupt), end its processes first."""
    if kill:
        _kill_workers(executor)
    executor.shutdown(wait=True, cancel_futures=True)


def _kill_workers(executor: Executor) -> None:
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    # With the workers gone nothing reads the pool's call queue, and its feeder thread may be
    # blocked writing a job into the full pipe; shutdown() joins that thread, so it would wait
    # forever. Close the reading end (the write then fails) and do not join the feeder.
    queue = getattr(executor, "_call_queue", None)
    if queue is not None:
        queue.cancel_join_thread()
        with contextlib.suppress(OSError, AttributeError):
            queue._reader.close()


def ordered_map(
    fn: Callable[[Any], R],
    items: Iterable[Any],
    *,
    executor: Executor | None = None,
    max_in_flight: int = 2,
    describe: Callable[[Any], str] = lambda item: "item",
) -> Generator[tuple[Any, R], None, None]:
    """Yield ``(item, fn(item))`` in the order of *items*, with at most *max_in_flight* submitted.

    With no executor, ``fn`` runs inline. ``Done`` items are yielded as ``(item, item.value)``.
    *items* is not read further while the window is full: that is the backpressure. *describe*
    names an item in error messages (``"chunk 3"``). Closing the iterator cancels what is queued,
    except on a process pool (see below), whose owner cancels it by shutting the pool down.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if executor is None:
        for item in items:
            yield (item, item.value) if isinstance(item, Done) else (item, _call(fn, item, describe))
        return
    window: deque[tuple[Any, Future[R] | None]] = deque()
    try:
        for item in items:
            window.append((item, None if isinstance(item, Done) else _submit(executor, fn, item, describe)))
            if len(window) >= max_in_flight:  # the next item is not read until this one is out
                yield _result(*window.popleft(), describe)
        while window:
            yield _result(*window.popleft(), describe)
    finally:
        # A process pool cancels its own queue in shutdown(cancel_futures=True). Cancelling its
        # futures from here can crash its manager thread if the pool then breaks (CPython gh-107219,
        # still in 3.11.7), and shutdown() would then wait for that thread forever.
        if not isinstance(executor, ProcessPoolExecutor):
            for _, future in window:
                if future is not None:
                    future.cancel()


def _call(fn: Callable[[Any], R], item: Any, describe: Callable[[Any], str]) -> R:
    try:
        return fn(item)
    except SigmaError:
        raise
    except Exception as exc:
        raise _failed(exc, item, describe) from exc


def _died(item: Any, describe: Callable[[Any], str]) -> WorkerError:
    return WorkerError(f"a worker process died before finishing {describe(item)} (killed, or out of memory?)")


def _submit(executor: Executor, fn: Callable[[Any], R], item: Any, describe: Callable[[Any], str]) -> Future[R]:
    try:
        return executor.submit(fn, item)
    except BrokenProcessPool:  # a worker died while earlier items were running
        raise _died(item, describe) from None


def _result(item: Any, future: Future[R] | None, describe: Callable[[Any], str]) -> tuple[Any, R]:
    if future is None:
        return item, item.value
    try:
        return item, future.result()
    except BrokenProcessPool:
        raise _died(item, describe) from None
    except SigmaError:
        raise
    except Exception as exc:
        raise _failed(exc, item, describe) from exc


def _failed(exc: BaseException, item: Any, describe: Callable[[Any], str]) -> WorkerError:
    return WorkerError(f"the codec failed on {describe(item)}: {type(exc).__name__}: {exc}")
