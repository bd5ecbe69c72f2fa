"""A Dask cluster as the pipeline's executor: ``--scheduler tcp://HOST:PORT`` or ``--scheduler local``.

``client.get_executor()`` is a ``concurrent.futures.Executor``, so the streaming pipeline sends
chunks to the cluster's workers as it sends them to its own process pool: the same ordered window
of jobs in flight, the same bytes. A worker lost mid-run is Dask's to handle: its tasks are run
again on another worker, and a task whose workers keep dying ends the run with one error.

The pipeline does not use the futures of ``client.get_executor()`` as they are: it submits to the
same client through :class:`ClusterExecutor`, whose futures end with the task's outcome whatever
happens to the task's result on the way (see there).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, InvalidStateError
from typing import Any

from ._extras import require

__all__ = ["LOCAL", "ClusterExecutor", "cluster_executor", "is_client_executor"]

_log = logging.getLogger("sigmalang")

LOCAL = "local"


def is_client_executor(executor: object) -> bool:
    """Whether *executor* is a Dask client's own executor (``client.get_executor()``)."""
    kind = type(executor)
    return kind.__name__ == "ClientExecutor" and kind.__module__.startswith("distributed.")


class ClusterExecutor(Executor):
    """An executor on a Dask client, as ``client.get_executor()``, whose futures always end.

    ``client.get_executor()`` hands a finished task's result to its future by fetching it from the
    worker that holds it. When that worker dies first, Dask runs the task again; if the new run
    fails as well (its worker dies too, and ``distributed.scheduler.allowed-failures`` allows no
    more), the fetch raises, the error is logged, and the future is left pending: whoever waits on
    it waits forever. Here each future gets whatever ``result()`` of the Dask future returns or
    raises, in Dask's callback thread, so such a task ends the wait with its ``KilledWorker``.
    Cancelling a future that has not ended cancels its task. *kwargs* go to every
    ``client.submit`` (``pure``, ``workers``, ``resources``, ``retries``...).

    A task's Dask future is let go as soon as its result is fetched, while the pipeline may keep
    the executor's future for a while (in order, it waits for earlier ones): a key still held
    would keep its result in a worker's memory and, were that worker lost, have it computed again.
    """

    def __init__(self, client: Any, **kwargs: Any):
        self._client = client
        self._kwargs = kwargs
        self._tasks: weakref.WeakSet[Any] = weakref.WeakSet()
        self._shutdown = False

    @classmethod
    def like(cls, executor: Executor) -> ClusterExecutor:
        """One on the client of *executor* (``client.get_executor(**kwargs)``), with its options."""
        return cls(executor._client, **getattr(executor, "_kwargs", {}))  # type: ignore[attr-defined]

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        task = self._client.submit(fn, *args, **{**self._kwargs, **kwargs})
        self._tasks.add(task)
        future: Future[Any] = Future()
        link = _Link(task)
        future.add_done_callback(link.cancel_task)
        task.add_done_callback(functools.partial(_settle, future, link))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True
        tasks = list(self._tasks)
        if cancel_futures and tasks:
            self._client.cancel(tasks)
        if wait and tasks:
            require("distributed", "a Dask cluster").wait(tasks)


class _Link:
    """The Dask future behind an executor's future, until its outcome is fetched. The executor's
    future holds this (in its done-callback) for as long as the future lives, not the Dask future."""

    __slots__ = ("task",)

    def __init__(self, task: Any):
        self.task: Any = task

    def cancel_task(self, future: Future[Any]) -> None:
        task = self.task
        if task is not None and future.cancelled() and task.status != "cancelled":
            task.cancel()


def _settle(future: Future[Any], link: _Link, task: Any) -> None:
    """End *future* with the outcome of the Dask future *task*, which has finished, erred or been
    cancelled; then let the task go (its key is released when this callback returns). Until then
    it stays cancellable through *future*: fetching the result waits for a rerun when the worker
    holding it was lost."""
    try:
        _end(future, task)
    finally:
        link.task = None


def _end(future: Future[Any], task: Any) -> None:
    if future.done():  # cancelled here
        return
    if task.status == "cancelled":  # on the cluster (the client closed, another client cancelled it)
        future.cancel()
        return
    try:
        value = task.result()
    except BaseException as exc:  # the task's own error, KilledWorker, a lost connection...
        with contextlib.suppress(InvalidStateError):
            future.set_exception(exc)
    else:
        with contextlib.suppress(InvalidStateError):
            future.set_result(value)


@contextlib.contextmanager
def cluster_executor(scheduler: str, workers: int = 1, *, verbose: bool = False) -> Iterator[Executor]:
    """An executor on the cluster at *scheduler* (an address), or on a new local cluster of
    *workers* processes, one thread each, for ``"local"`` (closed at the end).

    Unless *verbose*, Dask's own log lines are kept off stderr while it runs: a failure reaches
    the command as one error (lost workers, for instance, are also logged by the scheduler, the
    workers and the client, several lines each)."""
    distributed = require("distributed", "--scheduler")
    level = logging.ERROR if verbose else logging.CRITICAL
    with contextlib.ExitStack() as stack:
        if not verbose:
            dask_log = logging.getLogger("distributed")
            stack.callback(dask_log.setLevel, dask_log.level)
            dask_log.setLevel(level)
        if scheduler == LOCAL:
            local = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                silence_logs=level,
            )
            stack.enter_context(local)
            address = local.scheduler_address
        else:
            address = scheduler
        client = stack.enter_context(distributed.Client(address, set_as_default=False, timeout=30))
        _log.info("Dask scheduler %s: %d worker threads", address, sum(client.nthreads().values()))
        yield ClusterExecutor(client)
