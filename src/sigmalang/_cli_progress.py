"""Progress on a terminal for the command line: the bar, in original bytes, and what feeds it.

:func:`terminal_bar` draws a bar on standard error (only when it is a terminal and the run is long
enough to need one) and hands back a :class:`Meter`, which moves between the completions it is told
of; :class:`_CountingReader` and :class:`_CountingWriter` tell it of bytes read and written;
:func:`original_size` gives a stream's total from its index.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from .errors import SigmaError
from .index import SeekTable

__all__ = ["PROGRESS_MIN_BYTES", "Meter", "Progress", "original_size", "terminal_bar"]

PROGRESS_MIN_BYTES = 8 << 20  # original bytes: a shorter run needs no progress bar

Progress = Callable[[int], None]


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Meter:
    """Progress in original bytes that moves between the completions it is told of.

    Chunks are coded in parallel and completed in order, a chunk at a time: *done* is told of each,
    *read* (when known) of the input handed to the workers. Between completions, the count shown
    advances at the rate measured so far, never past what was read (or the total), never backwards.
    """

    TICK = 0.2  # seconds between redraws

    def __init__(self, bar: Any, clock: Callable[[], float] = time.monotonic):
        self._bar = bar
        self._clock = clock
        self._lock = threading.Lock()
        self._started = self._last_done = clock()
        self._read: int | None = None
        self._done = 0
        self._shown = 0

    def read(self, n: int) -> None:
        with self._lock:
            self._read = (self._read or 0) + n

    def done(self, n: int) -> None:
        with self._lock:
            self._done += n
            self._last_done = self._clock()
            self._show(self._done)

    def tick(self) -> None:
        """Redraw, with the estimate of what the workers have done since the last completion."""
        with self._lock:
            estimate = self._done
            if self._done and self._last_done > self._started:
                rate = self._done / (self._last_done - self._started)
                estimate += int(rate * (self._clock() - self._last_done))
            limit = self._bar.total if self._read is None else min(self._read, self._bar.total)
            self._show(min(estimate, limit))
            self._bar.refresh()  # the elapsed time moves even before the first completion

    def _show(self, count: int) -> None:
        if count > self._shown:
            self._bar.update(count - self._shown)
            self._shown = count


@contextlib.contextmanager
def terminal_bar(source: str, total: int | None) -> Iterator[Meter | None]:
    """The bar for *total* original bytes of *source*: None when there is no total, when it is too
    short to need one, or when standard error is not a terminal."""
    if not total or total < PROGRESS_MIN_BYTES or not _isatty(sys.stderr):
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1000,  # kB, MB, GB, as the rate: one unit system on the line
        desc=os.path.basename(source) if source != "-" else "stdin",
        file=sys.stderr,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}]",
    )
    meter = Meter(bar)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(Meter.TICK):
            meter.tick()

    ticker = threading.Thread(target=tick, name="sigmalang-progress", daemon=True)
    ticker.start()
    try:
        yield meter
    finally:
        stop.set()
        ticker.join()
        bar.close()  # leave=False: the line is cleared, on success, error or Ctrl-C alike


def original_size(source: str) -> int | None:
    """The original size a stream holds, from its index (None when it cannot be read cheaply)."""
    if source == "-" or not os.path.isfile(source):
        return None
    try:
        with open(source, "rb") as fin:
            return SeekTable.from_file(fin).total_size
    except (SigmaError, OSError, ValueError):
        return None


class _CountingReader:
    """An input that reports how many bytes were read from it."""

    def __init__(self, fp: IO[bytes], progress: Progress):
        self._fp = fp
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._fp.read(size)
        self._progress(len(data))
        return data


class _CountingWriter:
    """An output that reports how many bytes were written to it."""

    def __init__(self, fp: Any, progress: Progress | None):
        self._fp = fp
        self._progress = progress

    def write(self, data: bytes) -> int:
        if self._fp is not None:
            self._fp.write(data)
        if self._progress is not None:
            self._progress(len(data))
        return len(data)

    def flush(self) -> None:
        if self._fp is not None:
            self._fp.flush()
