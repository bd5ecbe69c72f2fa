"""Progress on a terminal for the command line: the bar, in original bytes, and what feeds it.

:func:`terminal_bar` draws a bar on standard error (only when it is a terminal and the run is long
enough to need one; a counter without a total when the size is unknown, as for standard input) and
hands back a :class:`Meter`, which moves between the completions it is told of;
:class:`_CountingReader` and :class:`_CountingWriter` tell it of bytes read and written;
:func:`original_size` gives a stream's total from its index.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

from ._errors import SigmaError
from ._index import SeekTable

__all__ = ["PROGRESS_MIN_BYTES", "Meter", "Progress", "original_size", "seek_table", "terminal_bar"]

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
    advances at the rate measured so far, never past what was read (or the total), never backwards;
    with no limit known (a decode of standard input), it shows what was done. What was read is
    shown too (the bar's ``read``): with many workers, nothing is done until the first chunks are
    coded, and what was read is the only thing that moves meanwhile.
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
        self._closed = False

    def close(self) -> None:
        """Clear the bar for good. After Ctrl-C the coder thread is not waited for and may still
        report a chunk: under the same lock as every redraw, so that nothing is drawn after the
        line is cleared."""
        with self._lock:
            self._closed = True
            self._bar.close()

    def read(self, n: int) -> None:
        with self._lock:
            self._read = (self._read or 0) + n

    def done(self, n: int) -> None:
        with self._lock:
            if self._closed:
                return
            self._done += n
            self._last_done = self._clock()
            self._show(self._done)

    def tick(self) -> None:
        """Redraw, with the estimate of what the workers have done since the last completion."""
        with self._lock:
            if self._closed:
                return
            estimate = self._done
            if self._done and self._last_done > self._started:
                rate = self._done / (self._last_done - self._started)
                estimate += int(rate * (self._clock() - self._last_done))
            limits = [n for n in (self._read, self._bar.total) if n is not None]
            self._show(min(estimate, *limits) if limits else self._done)
            self._bar.read = self._read or 0
            self._bar.refresh()  # the elapsed time moves even before the first completion

    def _show(self, count: int) -> None:
        if count > self._shown:
            self._bar.update(count - self._shown)
            self._shown = count


@contextlib.contextmanager
def terminal_bar(source: str, total: int | None) -> Iterator[Meter | None]:
    """The bar for *total* original bytes of *source*, or a counter when *total* is None (unknown,
    as for standard input): None when standard error is not a terminal or the run is too short to
    need one (a counter appears only once that many bytes have gone by)."""
    if (total is not None and total < PROGRESS_MIN_BYTES) or not _isatty(sys.stderr):
        yield None
        return
    # Nothing is drawn before the try below: a Ctrl-C in between leaves no line to clear.
    bar = make_bar(source, total, sys.stderr, drawn=False)
    meter = Meter(bar)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(Meter.TICK):
            meter.tick()

    ticker = threading.Thread(target=tick, name="sigmalang-progress", daemon=True)
    try:
        bar.drawn = True
        meter.tick()
        ticker.start()
        yield meter
    finally:
        stop.set()
        if ticker.ident is not None:
            ticker.join()
        meter.close()  # leave=False: the line is cleared, on success, error or Ctrl-C alike


BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B/{total_fmt}B [{elapsed}<{remaining}, {rate_fmt}]"
COUNTER_FORMAT = "{desc}: {n_fmt}B{read_fmt} [{elapsed}, {rate_fmt}]"


def make_bar(source: str, total: int | None, file: Any, *, drawn: bool = True) -> Any:
    """The tqdm bar (a counter without *total*), drawn on *file* in original bytes; with *drawn*
    false, nothing is drawn until its ``drawn`` is set."""
    return _bar_type()(
        drawn=drawn,
        total=total,
        unit="B",
        unit_scale=True,
        unit_divisor=1000,  # kB, MB, GB, as the rate: one unit system on the line
        desc=os.path.basename(source) if source != "-" else "stdin",
        file=file,
        leave=False,
        bar_format=BAR_FORMAT if total is not None else COUNTER_FORMAT,
        hidden_below=PROGRESS_MIN_BYTES if total is None else 0,
    )


@functools.cache
def _bar_type() -> type:
    from tqdm import tqdm  # here: importing tqdm costs every command its time, bar or not

    class Bar(tqdm):  # type: ignore[misc]
        """tqdm's bar, with the input read (handed to the workers, not yet coded) drawn past the
        coded part in a lighter shade (the counter: as a count), and nothing drawn while fewer than
        *hidden_below* bytes have gone by (a counter's threshold, its total being unknown)."""

        def __init__(self, *args: Any, hidden_below: int = 0, drawn: bool = True, **kwargs: Any):
            self.read = 0
            self.hidden_below = hidden_below
            self.drawn = drawn
            super().__init__(*args, **kwargs)

        def display(self, msg: str | None = None, pos: int | None = None) -> Any:
            if not self.drawn or max(self.n, self.read) < self.hidden_below:
                return None  # tqdm's close() then clears nothing, as nothing was drawn
            return super().display(msg, pos)

        @property
        def format_dict(self) -> dict[str, Any]:
            read = self.read
            read_fmt = f", {tqdm.format_sizeof(read, divisor=1000)}B read" if read > self.n else ""
            return {**super().format_dict, "read": read, "read_fmt": read_fmt}

        @staticmethod
        def format_meter(n: float, total: float | None, elapsed: float, read: int = 0, **kwargs: Any) -> str:
            line: str = tqdm.format_meter(n, total, elapsed, **kwargs)
            return _shade(line, kwargs, read / total) if total and read > n else line

    return Bar


def _shade(line: str, fields: dict[str, Any], read: float) -> str:
    """*line* (drawn with :data:`BAR_FORMAT`) with the blank cells of its bar up to the fraction
    *read* shaded: the input the workers hold and have not coded yet."""
    start = len(f"{fields.get('prefix') or ''}: ") + len("100%|")
    end = line.find("|", start)
    if end < 0:  # trimmed to a narrow terminal: no bar to shade
        return line
    cells = int(read * (end - start))
    shade = "." if fields.get("ascii") else "░"
    return line[:start] + line[start : start + cells].replace(" ", shade) + line[start + cells :]


def original_size(source: str) -> int | None:
    """The original size a stream holds, from its index (None when it cannot be read cheaply)."""
    table = seek_table(source)
    return None if table is None else table.total_size


def seek_table(source: str) -> SeekTable | None:
    """The index of the stream in the file *source* (None: standard input, or no intact index)."""
    if source == "-" or not os.path.isfile(source):
        return None
    try:
        with open(source, "rb") as fin:
            return SeekTable.from_file(fin)
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
