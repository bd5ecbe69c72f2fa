"""Run chunk codecs on an executor, keep results in input order, bound the work in flight.

The default for ``workers > 1`` is a process pool (the glyph transform is Python code, so threads
would not scale under the GIL); any ``concurrent.futures.Executor`` can be passed instead, such as
a thread pool or a Dask client's executor. ``workers == 1`` with no executor runs inline.
Worker processes ignore SIGINT: the parent decides when they stop, and stops them all.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Generic, TypeVar

from .errors import SigmaError

__all__ = ["Done", "WorkerError", "ordered_map", "resolve_workers", "worker_pool"]

T = TypeVar("T")
R = TypeVar("R")


class WorkerError(SigmaError):
    """A worker process died or failed in a way that is not about the data."""


class Done(Generic[T]):
    """An item that needs no work: ``ordered_map`` yields its value in its place in the order."""

    __slots__ = ("value",)

    def __init__(self, value: T):
        self.value = value


def resolve_workers(workers: int) -> int:
    """``0`` means one worker per CPU, as in ``zstd -T0``."""
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    return workers or (os.cpu_count() or 1)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers start clean (forkserver/spawn: the parent has threads)."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint)


def stop_pool(executor: Executor, *, kill: bool) -> None:
    """Shut *executor* down; with *kill*, terminate its processes first (on error or interrupt)."""
    if kill:
        processes = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            if process.is_alive():
                process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)


def ordered_map(
    fn: Callable[[Any], R],
    items: Iterable[Any],
    *,
    executor: Executor | None = None,
    max_in_flight: int = 2,
) -> Iterator[tuple[Any, R]]:
    """Yield ``(item, fn(item))`` in the order of *items*, with at most *max_in_flight* running.

    With no executor, ``fn`` runs inline. ``Done`` items are yielded as ``(item, item.value)``.
    A worker that dies raises :class:`WorkerError`; an exception raised by ``fn`` is re-raised.
    """
    if executor is None:
        for item in items:
            yield (item, item.value) if isinstance(item, Done) else (item, fn(item))
        return
    window: deque[tuple[Any, Future[R] | None]] = deque()
    try:
        for item in items:
            while len(window) >= max_in_flight:
                yield _result(*window.popleft())
            window.append((item, None if isinstance(item, Done) else executor.submit(fn, item)))
        while window:
            yield _result(*window.popleft())
    finally:
        for _, future in window:
            if future is not None:
                future.cancel()


def _result(item: Any, future: Future[R] | None) -> tuple[Any, R]:
    if future is None:
        return item, item.value
    try:
        return item, future.result()
    except BrokenProcessPool:
        raise WorkerError("a worker process died unexpectedly (killed, or out of memory?)") from None
