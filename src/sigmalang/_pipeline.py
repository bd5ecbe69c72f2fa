"""The threads of a streaming pipeline: a bounded queue between threads, a reader thread that
reads ahead, a writer thread behind a queue, the executor's lifecycle, and cancellation from
asyncio. Nothing here knows about chunks or frames: items are whatever the coder passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor
from typing import Generic, Protocol, TypeVar

from ._parallel import Observer, stop_pool, worker_pool

__all__ = [
    "READ_AHEAD",
    "Cancelled",
    "QueueWriter",
    "StreamBuffer",
    "Watch",
    "Watcher",
    "Writable",
    "check_stop",
    "in_thread",
    "pipeline",
    "read_ahead",
]

T = TypeVar("T")


class Writable(Protocol):
    """Where output goes: anything with ``write(bytes)`` and ``flush()``."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


class Watch(Observer, Protocol):
    """What one run of a pipeline reports as it goes (metrics, JSON progress): beside what
    :class:`~sigmalang._parallel.Observer` hears, each frame written and what went wrong."""

    def frame(self, bytes_in: int, bytes_out: int) -> None: ...

    def queue_depth(self, count: int) -> None: ...

    def error(self, exc: BaseException) -> None: ...


class Watcher(Protocol):
    """Something that watches pipelines: ``watch("encode")`` or ``watch("decode")`` starts one run's :class:`Watch`."""

    def watch(self, direction: str) -> Watch: ...


class StreamBuffer(Generic[T]):
    """A bounded blocking FIFO between threads, built on :class:`threading.Condition`.

    ``put()`` blocks while the buffer is full (backpressure) and ``get()`` while it is empty;
    both take a timeout (``TimeoutError``). ``close()`` says no more items will come: ``get()``
    drains what is left, then raises :class:`StreamBuffer.Closed`. ``cancel()`` drops everything
    and wakes every waiter with ``Closed``, for shutting down on error.
    """

    class Closed(Exception):
        """The buffer is closed (and, for ``get()``, empty)."""

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False
        self.high_water = 0
        self.full_waits = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def put(self, item: T, timeout: float | None = None) -> None:
        with self._cond:
            if len(self._items) >= self.maxsize and not self._closed:
                self.full_waits += 1
            if not self._cond.wait_for(lambda: self._closed or len(self._items) < self.maxsize, timeout):
                raise TimeoutError("StreamBuffer.put timed out")
            if self._closed:
                raise self.Closed("put() on a closed StreamBuffer")
            self._items.append(item)
            self.high_water = max(self.high_water, len(self._items))
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> T:
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                raise TimeoutError("StreamBuffer.get timed out")
            if not self._items:
                raise self.Closed("StreamBuffer closed and empty")
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def cancel(self) -> None:
        with self._cond:
            self._closed = self._cancelled = True
            self._items.clear()
            self._cond.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancelled


# Chunks the reader may cut ahead of the in-flight window. Reading is hundreds of times faster than
# coding, so one waiting chunk keeps the workers fed; each more would be a chunk held for nothing
# (docs/memory.md).
READ_AHEAD = 1


def read_ahead(items: Iterable[T], maxsize: int) -> Generator[T, None, None]:
    """Iterate *items* in a reader thread, at most *maxsize* ahead of the consumer."""
    buffer: StreamBuffer[T] = StreamBuffer(maxsize)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for item in items:
                buffer.put(item)
        except StreamBuffer.Closed:
            pass
        except BaseException as exc:  # handed to the consumer, which re-raises it
            errors.append(exc)
        finally:
            buffer.close()

    thread = threading.Thread(target=run, name="sigmalang-reader", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = buffer.get()
            except StreamBuffer.Closed:
                break
            yield item
        if errors:
            raise errors[0]
    finally:
        buffer.cancel()
        thread.join(timeout=1)  # a reader blocked on a silent pipe is a daemon and is left


STUCK_WRITER_S = 1.0  # how long an ending pipeline waits for its writer after an error


class QueueWriter:
    """Write byte strings to *dst* from a thread, behind a bounded StreamBuffer."""

    def __init__(self, dst: Writable, maxsize: int):
        self.dst = dst
        self.buffer: StreamBuffer[bytes] = StreamBuffer(maxsize)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="sigmalang-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while True:
                try:
                    data = self.buffer.get()
                except StreamBuffer.Closed:
                    return
                self.dst.write(data)
        except BaseException as exc:
            self.error = exc
            self.buffer.cancel()

    def write(self, data: bytes) -> None:
        try:
            self.buffer.put(data)
        except StreamBuffer.Closed:
            self._raise()
            raise

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self, ok: bool = True) -> None:
        if ok:
            self.buffer.close()
            self.thread.join()
            self._raise()
            self.dst.flush()
            return
        self.buffer.cancel()
        # After an error or an interrupt, a writer blocked on a pipe that no one reads would keep
        # the caller forever: it is a daemon, and is left (as the reader of read_ahead is).
        self.thread.join(timeout=STUCK_WRITER_S)


class Cancelled(Exception):
    """Raised in the pipeline's thread when its async caller was cancelled, so clean-up runs."""


def check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Cancelled("cancelled")


async def in_thread(run: Callable[[threading.Event], T]) -> T:
    """Run ``run(stop)`` in a thread; if the awaiting task is cancelled, set *stop* and wait for it.

    The pipeline checks *stop* between chunks, so a cancelled call still ends its workers and
    removes its temporary file before the ``CancelledError`` reaches the caller.
    """
    stop = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(run, stop))
    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "exception never retrieved"
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([task])
        raise


@contextlib.contextmanager
def pipeline(
    dst: Writable,
    workers: int,
    executor: Executor | None,
    queue: int,
    warm_up: Callable[[], object] | None = None,
) -> Iterator[tuple[Executor | None, QueueWriter]]:
    """The executor (a process pool of our own when none is given and *workers* > 1) and the writer.

    On success the writer drains and the pool shuts down; on any exception (an interrupt included)
    the pool's processes are ended first, then the writer's queue is dropped.
    """
    own = executor is None and workers > 1
    pool: Executor | None = worker_pool(workers, warm_up) if own else executor
    writer = QueueWriter(dst, queue)
    ok = False
    try:
        yield pool, writer
        ok = True
    finally:
        if own and pool is not None and not ok:
            stop_pool(pool, kill=True)
        try:
            writer.close(ok)
        finally:
            if own and pool is not None and ok:
                stop_pool(pool, kill=False)
