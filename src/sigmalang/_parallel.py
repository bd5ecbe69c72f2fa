"""Run chunk codecs on an executor, keep results in input order, bound the work in flight.

The default for ``workers > 1`` is a process pool (the glyph transform is Python code, so threads
would not scale under the GIL); any ``concurrent.futures.Executor`` can be passed instead, such as
a thread pool or a Dask client's executor. ``workers == 1`` with no executor runs inline.

Failures become one error: an exception about the data (:class:`SigmaError`) is re-raised as it
is, any other exception from the codec and a worker that dies become :class:`WorkerError`.
Worker processes ignore SIGINT (they start with it blocked, until they can ignore it): the
parent decides when they stop, and stops them all. A worker whose parent dies without stopping it
(SIGKILL, a crash) ends itself: a watchdog thread in each worker watches the process that made the
pool. (The workers' own parent is the forkserver, which lives as long as any worker does, so it
cannot be what they watch.)
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, Protocol, TypeVar, overload

from ._cluster import ClusterExecutor, is_client_executor
from ._errors import SigmaError, WorkerError

__all__ = [
    "Done",
    "Observer",
    "OrderedWindow",
    "executor_workers",
    "in_order_here",
    "ordered_map",
    "own_futures",
    "resolve_workers",
    "stop_pool",
    "worker_pool",
]

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


def executor_workers(executor: Executor) -> int | None:
    """How many items *executor* runs at once, when it can tell: a pool's size, or the threads of
    the workers a Dask client's executor (``client.get_executor()``) sees now."""
    size = getattr(executor, "_max_workers", None)
    if isinstance(size, int) and size > 0:
        return size
    nthreads = getattr(getattr(executor, "_client", None), "nthreads", None)
    if callable(nthreads):
        try:
            total = sum(nthreads().values())
        except Exception:  # a client that lost its scheduler: the caller's default applies
            return None
        return total if isinstance(total, int) and total > 0 else None
    return None


def in_order_here(executor: Executor | None) -> bool:
    """Whether *executor* runs its jobs one at a time, in the order given, in this process (a pool
    of one thread): a job may then use what the jobs before it left in memory."""
    return isinstance(executor, ThreadPoolExecutor) and executor_workers(executor) == 1


@overload
def own_futures(executor: Executor) -> Executor: ...


@overload
def own_futures(executor: None) -> None: ...


def own_futures(executor: Executor | None) -> Executor | None:
    """*executor* as the pipeline submits to it. A Dask client's executor (``client.get_executor()``)
    is replaced by a :class:`~sigmalang._cluster.ClusterExecutor` on the same client, whose futures
    always end, even when a finished task's result is lost with its worker and its rerun fails."""
    if executor is not None and is_client_executor(executor):
        return ClusterExecutor.like(executor)
    return executor


class Observer(Protocol):
    """What ``ordered_map`` reports as it goes (the metrics, when they are on)."""

    def in_flight(self, count: int) -> None: ...

    def item_seconds(self, seconds: float) -> None: ...


def timed(fn: Callable[[Any], R], item: Any) -> tuple[R, float]:
    """``fn(item)`` and the seconds it took, measured where it ran (a worker)."""
    start = time.perf_counter()
    result = fn(item)
    return result, time.perf_counter() - start


# glibc's mallopt parameter M_MMAP_THRESHOLD, and the value the processes sigmalang runs set it to.
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20


def return_freed_buffers() -> bool:
    """Make glibc's allocator hand buffers of MMAP_THRESHOLD bytes or more back to the system when
    they are freed; True if it was done.

    By default glibc raises its mmap threshold to the size of each mapped buffer freed (up to 32
    MiB), so after the first chunk-sized buffer is freed, the next ones come from the heap and stay
    there once freed: 10-16 MiB of a level-6 run's peak (docs/memory.md). A fixed threshold
    (setting one stops it from moving) keeps large buffers out of the heap. Called only in the
    processes sigmalang runs itself (the command line and its pool's workers): an application that
    uses the library decides its own allocator's settings (``MALLOC_MMAP_THRESHOLD_`` in the
    environment does the same). Nothing is changed where that variable is set, or off glibc."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _start_worker(warm_up: Callable[[], object] | None, owner: int | None = None) -> None:
    return_freed_buffers()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked since the forkserver started: now ignored instead
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
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
    if context.get_start_method() == "forkserver":
        _start_forkserver()
    return _Pool(max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(warm_up, os.getpid()))


class _Pool(ProcessPoolExecutor):
    """A process pool that finishes starting a worker before a Ctrl-C (or a SIGTERM that the
    program turns into an exception, as the command line does) is raised.

    ``submit`` starts a worker when the pool has fewer than it may have. An exception raised
    while it waits for the new worker's process id (the worker runs already) would leave the
    worker out of the pool's list of processes: stopping the pool would not stop it, and it would
    go on starting after the command has ended, print a traceback into the command's stderr (the
    semaphores of the queues it was sent are gone by then) and end only then."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        with _signals_held():
            return super().submit(fn, *args, **kwargs)


HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold a SIGINT or SIGTERM that comes while the body runs, and deliver it as soon as the body
    is done. Only the main thread runs signal handlers (and can change them): elsewhere, nothing is
    held; nor is a signal that is ignored, or whose handler was not set from Python."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {}
    for number in HELD_SIGNALS:
        handler = signal.getsignal(number)
        if handler is not None and handler != signal.SIG_IGN:  # None: cannot be put back
            previous[number] = signal.signal(number, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum in dict.fromkeys(held):
            signal.raise_signal(signum)  # its handler runs before raise_signal returns


def _start_forkserver() -> None:
    """Start the forkserver, if it is not running yet, with SIGINT blocked, so that a Ctrl-C (which
    a terminal sends to every process of the group) cannot reach a pool process before its
    initializer ignores it. A process interrupted while it starts or imports prints its own
    traceback into the stderr it shares with the command (the forkserver), or dies and breaks the
    pool (a worker). The forkserver's processes inherit its signal mask, so every worker starts
    with SIGINT blocked (those of any other pool of this process that uses the forkserver too);
    the forkserver itself ignores SIGINT once it runs. Only this thread's mask changes, for a
    moment: the command's own Ctrl-C is not lost, at most delivered a moment late. Python starts
    its resource tracker the same way (and unblocks SIGINT when it is done, so the tracker is
    started first, not inside the block)."""
    from multiprocessing import forkserver, resource_tracker

    if not hasattr(signal, "pthread_sigmask"):
        return
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


MANAGER_WAIT = 1.0  # seconds a killed pool's manager thread is given to end before it is fed
FEEDER_WAIT = 5.0  # seconds a killed pool's call queue feeder thread is given to end


def stop_pool(executor: Executor, *, kill: bool) -> None:
    """Shut *executor* down and wait for it; with *kill* (on error or interrupt), end its processes first."""
    if not kill:
        executor.shutdown(wait=True, cancel_futures=True)
        return
    manager = getattr(executor, "_executor_manager_thread", None)
    results = getattr(executor, "_result_queue", None)
    calls = getattr(executor, "_call_queue", None)
    _kill_workers(executor)
    executor.shutdown(wait=manager is None or results is None, cancel_futures=True)
    if manager is not None and results is not None:
        _join_manager(manager, results)
        results.close()
    # Looked up only now: the manager thread starts the call queue's feeder thread with the first
    # job it moves there, which may be after this function began (a pool stopped as it starts).
    feeder = getattr(calls, "_thread", None)
    if isinstance(feeder, threading.Thread):
        # Not joined by the pool (see _kill_workers), the feeder ends once its write fails. Were it
        # the last to hold the call queue, it would free the queue's semaphores as it ends: unlink
        # each, then tell the resource tracker; a command that exits in between (os._exit, after a
        # Ctrl-C) would leave the tracker to warn on stderr of a leaked semaphore no longer there.
        # This thread holds the queue until the feeder is done, so they are freed here instead.
        feeder.join(FEEDER_WAIT)


def _join_manager(manager: threading.Thread, results: Any) -> None:
    """Wait for a killed pool's manager thread. A worker killed while it was sending a result
    leaves part of that message in the result pipe, and the manager thread, reading it, waits
    for the rest forever: it is given zero bytes (through the pipe's writing end, which this
    process holds) until the message is whole. It cannot be unpickled, and the manager thread
    takes that for a broken pool: it fails what is pending and ends."""
    manager.join(MANAGER_WAIT)
    if not manager.is_alive():
        return
    fd = results._writer.fileno()
    os.set_blocking(fd, False)
    zeros = bytes(1 << 16)
    while manager.is_alive():
        try:
            os.write(fd, zeros)
        except BlockingIOError:  # the pipe is full: wait until the manager thread has read some
            select.select([], [fd], [], 0.05)
        except OSError:
            manager.join()
            return


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
    # blocked writing a job into the full pipe; shutdown() would join that thread, and wait
    # forever: it is not joined. The pool's manager thread sees the workers die and closes the
    # queue's reading end itself (the blocked write then fails and the feeder ends). It is not
    # closed here too: the two closes would race, both threads passing the connection's "still
    # open" check, and the second os.close() would fail with EBADF in the manager thread (which
    # then stops before it ends the feeder) or close whatever file had just been given that number.
    queue = getattr(executor, "_call_queue", None)
    if queue is not None:
        queue.cancel_join_thread()


def release_at_exit() -> None:
    """Before ``os._exit``: run what multiprocessing runs first at a normal exit (its finalizers of
    priority 0 and up), which unlinks the named semaphores of this process's pools. Without it a
    command ended by a signal, with a pool's feeder thread still holding its queue's locks, leaves
    them to the resource tracker, which prints a warning about leaked semaphores on stderr."""
    util = sys.modules.get("multiprocessing.util")
    if util is None:  # no pool was ever made
        return
    run = getattr(util, "_run_finalizers", None)
    if run is None:
        return
    # A finalizer that fails prints its traceback on stderr; the process is ending either way.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), contextlib.suppress(Exception):
        run(0)


def ordered_map(
    fn: Callable[[Any], R],
    items: Iterable[Any],
    *,
    executor: Executor | None = None,
    max_in_flight: int = 2,
    describe: Callable[[Any], str] = lambda item: "item",
    observer: Observer | None = None,
) -> Generator[tuple[Any, R], None, None]:
    """Yield ``(item, fn(item))`` in the order of *items*, with at most *max_in_flight* submitted.

    With no executor, ``fn`` runs inline. ``Done`` items are yielded as ``(item, item.value)``.
    *items* is not read further while the window is full: that is the backpressure. *describe*
    names an item in error messages (``"chunk 3"``). Closing the iterator cancels what is queued,
    except on a process pool (see below), whose owner cancels it by shutting the pool down.
    *observer* is told the items in flight and the seconds each call took where it ran.
    """
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    if observer is not None:
        yield from _observed(fn, items, executor, max_in_flight, describe, observer)
        return
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


class OrderedWindow(Generic[R]):
    """``ordered_map`` for a caller that pushes items as they come (an incremental compressor):
    at most *max_in_flight* items submitted to *executor* and not yet taken, results taken in order.

    :meth:`submit` sends an item and returns the results that had to be taken to make room for it
    (waiting for the oldest when the window is full: the backpressure); :meth:`ready` takes the
    leading results that are done, without waiting; :meth:`drain` waits for all of them. Errors
    are those of ``ordered_map``. :meth:`cancel` cancels what is not taken.
    """

    def __init__(
        self,
        fn: Callable[[Any], R],
        executor: Executor,
        max_in_flight: int,
        describe: Callable[[Any], str] = lambda item: "item",
    ):
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.fn = fn
        self.executor = executor
        self.max_in_flight = max_in_flight
        self.describe = describe
        self._window: deque[tuple[Any, Future[R]]] = deque()

    def __len__(self) -> int:
        return len(self._window)

    def submit(self, item: Any) -> list[tuple[Any, R]]:
        out = []
        while len(self._window) >= self.max_in_flight:
            out.append(self._take())
        self._window.append((item, _submit(self.executor, self.fn, item, self.describe)))
        return out

    def ready(self) -> list[tuple[Any, R]]:
        out = []
        while self._window and self._window[0][1].done():
            out.append(self._take())
        return out

    def drain(self) -> list[tuple[Any, R]]:
        return [self._take() for _ in range(len(self._window))]

    def cancel(self) -> None:
        window, self._window = self._window, deque()
        if not isinstance(self.executor, ProcessPoolExecutor):  # see ordered_map
            for _, future in window:
                future.cancel()

    def _take(self) -> tuple[Any, R]:
        return _result(*self._window.popleft(), self.describe)


def _observed(
    fn: Callable[[Any], R],
    items: Iterable[Any],
    executor: Executor | None,
    max_in_flight: int,
    describe: Callable[[Any], str],
    observer: Observer,
) -> Generator[tuple[Any, R], None, None]:
    """``ordered_map`` with each call timed where it runs, and the window's size reported."""
    pending = 0

    def counted(items: Iterable[Any]) -> Generator[Any, None, None]:
        nonlocal pending
        for item in items:
            if not isinstance(item, Done):
                pending += 1
                observer.in_flight(pending)
            yield item

    job: Callable[[Any], tuple[R, float]] = functools.partial(timed, fn)
    with contextlib.closing(
        ordered_map(job, counted(items), executor=executor, max_in_flight=max_in_flight, describe=describe)
    ) as results:
        for item, result in results:
            if isinstance(item, Done):
                yield item, result  # type: ignore[misc]
                continue
            value, seconds = result
            pending -= 1
            observer.in_flight(pending)
            observer.item_seconds(seconds)
            yield item, value


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
        if type(exc).__name__ == "KilledWorker":  # Dask: the task's workers died, as many times as it allows
            last = getattr(getattr(exc, "last_worker", None), "address", None)
            raise WorkerError(
                f"cluster workers died while coding {describe(item)}, more often than the cluster "
                f"runs a task again (killed, or out of memory?)" + (f"; the last one was {last}" if last else "")
            ) from exc
        raise _failed(exc, item, describe) from exc


def _failed(exc: BaseException, item: Any, describe: Callable[[Any], str]) -> WorkerError:
    return WorkerError(f"the codec failed on {describe(item)}: {type(exc).__name__}: {exc}")
