"""What a command-line run sets up around its inputs: a Dask cluster (``--scheduler``) or, for one
worker, a coding thread; metrics (``--metrics-port``, ``--metrics-textfile``) and machine-readable
progress (``--progress json``).

Each is started once for the whole run and handed to the encoder and decoder of every input as
their executor and their *metrics* watcher; each is stopped when the run ends, error or not.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from ._parallel import resolve_workers
from ._pipeline import Watch, Watcher

__all__ = ["JsonProgress", "Tee", "services"]

_log = logging.getLogger("sigmalang")
CODERS = ("encode", "decode", "verify", "recover", "inspect")  # the commands that run the model on every chunk


class _Tee:
    def __init__(self, watches: list[Watch]):
        self._watches = watches

    def in_flight(self, count: int) -> None:
        for w in self._watches:
            w.in_flight(count)

    def item_seconds(self, seconds: float) -> None:
        for w in self._watches:
            w.item_seconds(seconds)

    def frame(self, bytes_in: int, bytes_out: int) -> None:
        for w in self._watches:
            w.frame(bytes_in, bytes_out)

    def queue_depth(self, count: int) -> None:
        for w in self._watches:
            w.queue_depth(count)

    def error(self, exc: BaseException) -> None:
        for w in self._watches:
            w.error(exc)


class Tee:
    """Several watchers as one: each run is reported to all of them."""

    def __init__(self, watchers: list[Watcher]):
        self.watchers = watchers

    def watch(self, direction: str) -> Watch:
        return _Tee([w.watch(direction) for w in self.watchers])


class _Run:
    """The counts of the run in progress, read by the ticker thread."""

    def __init__(self, direction: str):
        self.direction = direction
        self.started = time.monotonic()
        self.bytes_in = self.bytes_out = self.frames = self.in_flight_count = 0
        self.error_kind: str | None = None

    def in_flight(self, count: int) -> None:
        self.in_flight_count = count

    def item_seconds(self, seconds: float) -> None:
        pass

    def frame(self, bytes_in: int, bytes_out: int) -> None:
        self.bytes_in += bytes_in
        self.bytes_out += bytes_out
        self.frames += 1

    def queue_depth(self, count: int) -> None:
        pass

    def error(self, exc: BaseException) -> None:
        self.error_kind = type(exc).__name__


class JsonProgress:
    """``--progress json``: one JSON object per line on *out*, every *interval* seconds while a run
    goes on, with the bytes in and out so far, frames, rate and jobs in flight."""

    def __init__(self, out: IO[str], interval: float = 1.0):
        self._out = out
        self._interval = interval
        self._run: _Run | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="sigmalang-progress-json", daemon=True)
        self._thread.start()

    def watch(self, direction: str) -> Watch:
        self._run = _Run(direction)
        return self._run

    def _line(self, run: _Run) -> str:
        elapsed = time.monotonic() - run.started
        rate = run.bytes_in / elapsed / 1e6 if elapsed > 0 else 0.0
        record: dict[str, Any] = {
            "direction": run.direction,
            "elapsed_s": round(elapsed, 3),
            "bytes_in": run.bytes_in,
            "bytes_out": run.bytes_out,
            "frames": run.frames,
            "in_flight": run.in_flight_count,
            "mb_per_s": round(rate, 3),
        }
        return json.dumps(record)

    def _tick(self) -> None:
        last: tuple[int, int] | None = None
        while not self._stop.wait(self._interval):
            run = self._run
            if run is None:
                continue
            state = (run.frames, run.in_flight_count)
            if state == last and not run.in_flight_count:  # the run is over: nothing more to say
                continue
            last = state
            with contextlib.suppress(OSError, ValueError):
                print(self._line(run), file=self._out, flush=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def services(opts: Any) -> Iterator[None]:
    """Start what *opts* asks for, set ``opts.executor`` and ``opts.metrics``, stop it all at the end."""
    with contextlib.ExitStack() as stack:
        watchers: list[Watcher] = []
        metrics = None
        if opts.metrics_port is not None or opts.metrics_textfile is not None:
            from .metrics import Metrics

            metrics = Metrics()
            watchers.append(metrics)
            if opts.metrics_port is not None:
                port = metrics.serve(opts.metrics_port)
                stack.callback(metrics.stop)
                _log.info("metrics on http://127.0.0.1:%d/metrics", port)
            if opts.metrics_textfile is not None:
                stack.callback(metrics.write_textfile, opts.metrics_textfile)
        if opts.progress == "json":
            progress = JsonProgress(sys.stderr)
            stack.callback(progress.close)
            watchers.append(progress)
        if opts.scheduler is not None:
            from ._cluster import cluster_executor

            size = resolve_workers(1 if opts.workers is None else opts.workers)
            opts.executor = stack.enter_context(cluster_executor(opts.scheduler, size, verbose=bool(opts.verbose)))
        # Without -T, the coding thread below codes what is not worth workers (_cli_files.coders);
        # inspect codes here, whatever -T.
        single = opts.workers is None or resolve_workers(opts.workers) == 1 or opts.command == "inspect"
        one = opts.executor is None and single and opts.command in CODERS
        if one:
            # One worker codes in a thread of its own rather than in the main thread: a chunk can
            # take seconds in the model's compiled code, and only the main thread acts on Ctrl-C
            # and SIGTERM, which it can do at once while it waits. An interrupted run does not wait
            # for the chunk (the process ends with os._exit): nothing is left to join. A
            # shared-context encode codes its chunks there one by one, in order (in_order_here).
            opts.executor = ThreadPoolExecutor(1, thread_name_prefix="sigmalang-coder")
            stack.callback(opts.executor.shutdown, wait=False, cancel_futures=True)
        opts.metrics = None if not watchers else watchers[0] if len(watchers) == 1 else Tee(watchers)
        opts.registry = metrics
        yield
