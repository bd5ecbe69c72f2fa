"""One-shot and incremental compression, shaped like the standard library's ``lzma`` and ``bz2``.

* ``compress(data, level=6)`` and ``decompress(data)``;
* ``SigmaCompressor().compress(data)`` / ``.flush()``;
* ``SigmaDecompressor().decompress(data, max_length=-1)`` with ``eof``, ``unused_data`` and
  ``needs_input``.

Both produce and accept exactly the streams that :mod:`sigmalang._stream` writes: the same input
and options give the same bytes through any API.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from typing import Any

from ._chunking import Chunk, check_chunk_size, check_int, chunk_end
from ._container import EndOfStream, StreamParser
from ._errors import SigmaError
from ._frames import RESET_INTERVAL, FrameContext, FrameReader, FrameWriter, StreamDecoding
from ._levels import AUTO, DEFAULT_LEVEL, check_format, chunk_size_for
from ._stream_records import Frame, StreamHeader
from .semantic.codebook import Codebook, as_codebook

CodebookArg = Codebook | str | os.PathLike[str] | None

__all__ = ["SigmaCompressor", "SigmaDecompressor", "compress", "decompress"]


def check_data(data: object) -> None:
    """A ``TypeError`` that names bytes for text, as ``lzma`` and ``zstandard`` do."""
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str' (encode text first, e.g. text.encode())")


class SigmaCompressor:
    """Compress data incrementally into one ΣLANG stream.

    ``compress()`` returns whatever whole frames are ready (often ``b""``); ``flush()`` returns
    the rest and ends the stream, after which the object cannot be used. With *codebook* (a
    :class:`~sigmalang.semantic.Codebook` or the path of a codebook file), the stream names it
    and needs it to be decoded. With *shared_context*, each frame's backend is primed with what
    the frames before it coded (a better ratio at small chunk sizes; frames then decode in order
    from the last reset point, see docs/FORMAT.md §6.3). With *filters*, the index carries search
    filters for :func:`sigmalang.search` (docs/FORMAT.md §18). *format* is what the data is taken
    for, as in :func:`compress`.

    *workers* processes code the chunks in parallel (``0``: one per CPU), or *executor* does (any
    ``concurrent.futures.Executor``, as for :class:`~sigmalang.StreamingEncoder`); the bytes are the
    same for every worker count. ``compress()`` then sends each whole chunk out and returns the
    frames that are back, waiting only when two chunks per worker are out already; ``flush()``
    waits for the rest and ends the worker processes (so does an error, or the object's end).
    A shared-context stream is coded in runs of 16 chunks, from one reset point to the next.
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        *,
        chunk_size: int | None = None,
        codebook: CodebookArg = None,
        shared_context: bool = False,
        filters: bool = False,
        workers: int = 1,
        executor: Executor | None = None,
        format: str = AUTO,
    ):
        check_int("level", level)
        self.format = check_format(format, level)
        self.level = level
        self.chunk_size = check_chunk_size(chunk_size_for(level, chunk_size))
        self.codebook = as_codebook(codebook)
        self._frames = FrameWriter(
            level,
            self.chunk_size,
            codebook=self.codebook,
            shared_context=shared_context,
            filters=filters,
            form=self.format,
        )
        self._coder: _WorkerCoder | None = None
        if workers != 1 or executor is not None:
            from ._parallel import resolve_workers  # not at import: a worker process needs only the codec

            count = resolve_workers(workers)
            if count > 1 or executor is not None:
                self._coder = _WorkerCoder(self._frames, count, executor, shared_context)
        self._buffer = bytearray()
        self._out = bytearray(self._frames.start())
        self._finished = False

    @property
    def context(self) -> FrameContext | None:
        """The shared context the next frame continues (``None``: frames are independent)."""
        return self._frames.context

    @context.setter
    def context(self, context: FrameContext | None) -> None:
        if self._coder is not None:
            raise ValueError("a context is set for coding in this process; with workers, runs start at reset points")
        self._frames.context = context

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        if self._finished:
            raise ValueError("Compressor has been flushed")
        check_data(data)
        self._buffer += data
        self._emit(final=False)
        return self._take()

    def flush(self) -> bytes:
        if self._finished:
            raise ValueError("Repeated call to flush()")
        self._finished = True
        self._emit(final=True)
        self._out += self._frames.finish()
        return self._take()

    def _emit(self, final: bool) -> None:
        if self._coder is None:
            for record in self._frames.frames(self._chunks(final)):
                self._out += record
            return
        try:
            for record in self._coder.records(self._chunks(final), final):
                self._out += record
        except BaseException:
            self._finished = True
            self._coder.stop(kill=True)
            raise

    def _chunks(self, final: bool) -> Iterator[bytes]:
        """The whole chunks the buffer holds (with *final*, its last one too), taken out of it.
        No view of the buffer is held while a chunk is out, so the buffer can always grow. Each
        view is released by its ``with``, not left to be freed: one handed to a function lives on
        in that function's frame for as long as anything keeps the frame (a sampling profiler, as
        in every Dask worker; a traceback), and the buffer could not be resized meanwhile."""
        start = 0
        try:
            while True:
                with memoryview(self._buffer) as view, view[start:] as rest:
                    end = chunk_end(rest, self.chunk_size, final)
                    chunk = bytes(rest[:end])
                if not end:
                    return
                start += end
                yield chunk
        finally:
            del self._buffer[:start]

    def _take(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out


class _WorkerCoder:
    """A compressor's chunks coded on worker processes of its own, or on an executor given,
    and written in order by *frames* (as :class:`~sigmalang.StreamingEncoder` does)."""

    def __init__(self, frames: FrameWriter, workers: int, executor: Executor | None, shared_context: bool):
        from . import _parallel
        from ._jobs import encode_job, encode_options, encode_run_job

        self.frames = frames
        self.workers = workers
        self.given = _parallel.own_futures(executor)
        width = (_parallel.executor_workers(executor) if executor is not None else None) or workers
        book = frames.codebook
        # Our own pool's warm-up installs the book in each worker; jobs then name it by its id.
        ref: Codebook | bytes | None = book.id if book is not None and executor is None else book
        self.runs = shared_context
        options = encode_options(frames.level, ref, frames.form)
        self.job = functools.partial(encode_run_job if shared_context else encode_job, **options)
        self.max_in_flight = width if shared_context else 2 * width
        self._window: Any = None  # _parallel.OrderedWindow, made with the pool at the first chunk
        self._stop: weakref.finalize[Any, Any] | None = None
        self._run: list[Chunk] = []
        self._next = Chunk(0, 0, b"", False)

    def records(self, chunks: Iterable[bytes], final: bool) -> Iterator[bytes]:
        """The frame records of the chunks that are back: with *final*, of every chunk."""
        for data in chunks:
            chunk = self._next._replace(data=data)
            self._next = Chunk(chunk.number + 1, chunk.offset + len(data), b"", False)
            if self.runs:
                self._run.append(chunk)
                if len(self._run) < RESET_INTERVAL:
                    continue
                item: Any = self._run
                self._run = []
            else:
                item = chunk
            yield from self._records(self._started().submit(item))
        if not final:
            if self._window is not None:
                yield from self._records(self._window.ready())
            return
        if self._run:
            yield from self._records(self._started().submit(self._run))
            self._run = []
        if self._window is not None:
            yield from self._records(self._window.drain())
        self.stop(kill=False)

    def _records(self, results: list[tuple[Any, Any]]) -> Iterator[bytes]:
        for item, coded in results:
            pairs = zip(item, coded, strict=True) if self.runs else [(item, coded)]
            for _, record in self.frames.records(pairs):
                yield record

    def _started(self) -> Any:
        if self._window is None:
            from . import _parallel
            from ._jobs import WARM_UP_TEXT, warm_up

            executor = self.given
            if executor is None:
                book = self.frames.codebook
                executor = _parallel.worker_pool(
                    self.workers, functools.partial(warm_up, WARM_UP_TEXT, self.frames.level, book, self.frames.form)
                )
                self._stop = weakref.finalize(self, _parallel.stop_pool, executor, kill=True)
            describe = _run_name if self.runs else _chunk_name
            self._window = _parallel.OrderedWindow(self.job, executor, self.max_in_flight, describe)
        return self._window

    def stop(self, *, kill: bool) -> None:
        """Drop what is out and end our own worker processes (at once, with *kill*)."""
        if self._window is not None and kill:
            self._window.cancel()
        if self._stop is not None and self._stop.detach() is not None:
            from ._parallel import stop_pool

            stop_pool(self._window.executor, kill=kill)


def _chunk_name(chunk: Chunk) -> str:
    return f"chunk {chunk.number} (input byte offset {chunk.offset})"


def _run_name(run: list[Chunk]) -> str:
    return f"chunks {run[0].number}-{run[-1].number} (input byte offset {run[0].offset})"


class SigmaDecompressor:
    """Decompress one ΣLANG stream incrementally.

    ``decompress(data, max_length)`` returns at most *max_length* bytes (all available if
    negative); bytes past the end of the stream go to ``unused_data``. The whole-content
    checksum is checked when the end of the stream is reached. *codebook* is needed for a
    stream that names one (:class:`~sigmalang.SigmaCodebookError` when missing or different).
    """

    def __init__(self, *, offset: int = 0, codebook: CodebookArg = None):
        self.codebook = as_codebook(codebook)
        self._parser = StreamParser(offset=offset, codebook_id=self.codebook.id if self.codebook else b"")
        self._pending = memoryview(b"")
        self._stream: StreamDecoding | None = None
        self.eof = False
        self.needs_input = True

    @property
    def unused_data(self) -> bytes:
        return self._parser.unused_data

    def decompress(self, data: bytes | bytearray | memoryview, max_length: int = -1) -> bytes:
        check_int("max_length", max_length)
        if self.eof:
            raise EOFError("End of stream already reached")
        check_data(data)
        self._parser.feed(data)
        out = bytearray()
        while True:
            if self._pending:
                if 0 <= max_length <= len(out):
                    break
                room = len(self._pending) if max_length < 0 else max_length - len(out)
                out += self._pending[:room]
                self._pending = self._pending[room:]
                continue
            # Pull the next record even when *out* is full, so needs_input tells the truth.
            event = self._parser.next_event()
            if event is None:
                break
            if isinstance(event, StreamHeader):
                self._stream = StreamDecoding(event, self.codebook)
            elif isinstance(event, Frame):
                assert self._stream is not None
                self._pending = memoryview(self._stream.decode(event))
            elif isinstance(event, EndOfStream):
                assert self._stream is not None
                self._stream.check(event)
                self.eof = True
                break
        self.needs_input = not self.eof and not self._pending
        return bytes(out)

    def close(self) -> None:
        """Raise :class:`SigmaTruncatedError` unless the whole stream was seen."""
        self._parser.close()


def compress(
    data: bytes | bytearray | memoryview,
    level: int = DEFAULT_LEVEL,
    *,
    chunk_size: int | None = None,
    codebook: CodebookArg = None,
    shared_context: bool = False,
    workers: int = 1,
    filters: bool = False,
    format: str = AUTO,
) -> bytes:
    """Compress *data* into one ΣLANG stream (with *codebook*: one that needs that codebook;
    with *shared_context*: frames that carry context, see :class:`SigmaCompressor`; with
    *filters*: search filters in the index, for :func:`sigmalang.search`).

    *workers* processes code the chunks in parallel (``0``: one per CPU), as
    :class:`~sigmalang.StreamingEncoder` does; the bytes are the same for every worker count.

    *format* is what the data is taken for. ``"auto"``: at levels 3-9, a chunk that looks like log
    lines is coded both as bytes and as log records (templates and columns, docs/logs.md), and
    each frame keeps the smaller. ``"text"``: never as records. ``"logs"``: every chunk as records,
    at any level but 0, without coding it as bytes too (faster, and records at levels 1-2 as well),
    and as bytes only where a chunk's record code cannot be written. Whatever the format, a frame
    that coding does not shrink is stored, and the stream decodes the same way.
    """
    check_data(data)
    comp = SigmaCompressor(
        level,
        chunk_size=chunk_size,
        codebook=codebook,
        shared_context=shared_context,
        filters=filters,
        workers=workers,
        format=format,
    )
    return comp.compress(data) + comp.flush()


def decompress(
    data: bytes | bytearray | memoryview, *, codebook: CodebookArg = None, max_output_size: int | None = None
) -> bytes:
    """Decompress one or more concatenated ΣLANG streams; raises on any damage or trailing bytes.

    Unlike ``lzma.decompress``, bytes after the last stream that do not start another stream are
    an error (:class:`SigmaFormatError`, at their offset), not ignored: the format allows nothing
    there (docs/FORMAT.md, section 9), and lzma's rule (after the first stream, whatever fails to
    decode is dropped with what follows it; only a cut stream is an error) also drops a damaged
    later stream without a word. A caller that expects padding can decode stream by stream with
    :class:`SigmaDecompressor` and look at ``unused_data`` itself.

    With *max_output_size*, raise :class:`SigmaError` instead of decoding past that many bytes,
    as zstandard's ``max_output_size``: each frame records its decoded size, and the frame that
    would take the output past the limit is not decoded (nor is anything after it).
    """
    check_data(data)
    if max_output_size is not None:
        check_int("max_output_size", max_output_size)
        if max_output_size < 0:
            raise ValueError("max_output_size must be 0 or more")
    reader = FrameReader(as_codebook(codebook))
    with memoryview(data) as view:  # a TypeError for anything that is not bytes-like (a list, a str)
        reader.feed(view.tobytes())
    out = []
    total = 0

    def room(frame: Frame) -> None:
        if max_output_size is not None and total + frame.original_size > max_output_size:
            raise SigmaError(
                f"decompressed data exceeds max_output_size ({max_output_size:,} bytes) at frame {frame.number}"
            )

    for _, chunk in reader.chunks(room):
        total += len(chunk)
        out.append(chunk)
    reader.close()
    return b"".join(out)
