"""Streaming encode and decode of files of any size in memory bounded by configuration.

::

    source ─► ChunkedReader ─► StreamBuffer ─► chunk codec (inline or workers) ─► in order ─► FrameWriter ─► writer
    (reader thread)                              (parallel.ordered_map)                                 (writer thread)

Decoding is the mirror image: the reader thread parses records (checking their CRCs), workers
decode frames, and the main thread checks the content checksum and hands the bytes on in order.
Frame numbering, the index and the checksums are computed in the main thread, in input order, so
the output is the same for every worker count (see ``docs/parallel.md``).

Peak memory is about ``chunk_size × (chunks in flight + queued)`` plus the backend's model memory
(see :func:`estimate_memory_usage`); it does not depend on the input's size. The pipeline's
threads are :mod:`sigmalang._pipeline`; frames are written and read by :mod:`sigmalang._frames`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor
from typing import IO, Any, NamedTuple

from ._chunking import Chunk, ChunkedReader, check_chunk_size
from ._compressor import CodebookArg, _chunk_name, _run_name
from ._container import EndOfStream
from ._frames import RESET_INTERVAL, Coded, FrameContext, FrameReader, FrameWriter, StreamDecoding, decode_frame
from ._info import DEFAULT_READ_SIZE
from ._jobs import WARM_UP_TEXT, decode_job, encode_options, encode_run_job, install_codebook
from ._jobs import encode_job as _encode_job
from ._jobs import warm_up as _warm_up
from ._levels import AUTO, DEFAULT_LEVEL, check_format, chunk_size_for
from ._output import PathLike, atomic_output, open_input
from ._parallel import Done, executor_workers, in_order_here, ordered_map, own_futures, resolve_workers
from ._pipeline import (
    READ_AHEAD,
    QueueWriter,
    Watch,
    Watcher,
    Writable,
    check_stop,
    in_thread,
    pipeline,
    read_ahead,
)
from ._stats import StreamStats
from ._stream_records import Frame, StreamHeader
from .semantic.codebook import Codebook, as_codebook

__all__ = ["StreamingDecoder", "StreamingEncoder"]

Progress = Callable[[int], None]


class _Streaming:
    def __init__(
        self,
        *,
        workers: int = 1,
        executor: Executor | None = None,
        max_in_flight: int | None = None,
        progress: Progress | None = None,
        codebook: CodebookArg = None,
        metrics: Watcher | None = None,
    ):
        self.codebook = as_codebook(codebook)
        self.workers = resolve_workers(workers)
        self.executor = own_futures(executor)
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._max_in_flight = max_in_flight
        self.progress = progress
        self.metrics = metrics

    @property
    def max_in_flight(self) -> int:
        """Chunks submitted and not yet written, at most (default: two per worker, or per thread
        of the executor given, such as a Dask cluster's)."""
        return self._in_flight(self.workers)

    def _width(self, workers: int) -> int:
        """How many jobs run at once: *workers*, or what the executor given says it runs."""
        return (executor_workers(self.executor) if self.executor is not None else None) or workers

    def _in_flight(self, workers: int) -> int:
        return self._max_in_flight or 2 * self._width(workers)

    @contextlib.contextmanager
    def _watching(self, direction: str) -> Iterator[Watch | None]:
        """This run's :class:`Watch` (none without *metrics*), told of the error that ends a run."""
        watch = self.metrics.watch(direction) if self.metrics is not None else None
        try:
            yield watch
        except BaseException as exc:
            if watch is not None:
                watch.error(exc)
            raise

    def _resolve(self, workers: int | None) -> int:
        return self.workers if workers is None else resolve_workers(workers)

    def _book_ref(self, workers: int) -> Codebook | bytes | None:
        """What a job names the codebook by: its id in our own pool (whose warm-up installs it),
        else the book itself (inline, or pickled per job to an executor we did not start)."""
        if self.codebook is not None and self.executor is None and workers > 1:
            return self.codebook.id
        return self.codebook


def _runs(chunks: Iterable[Chunk], size: int) -> Generator[list[Chunk], None, None]:
    """*chunks* in lists that each start at a chunk number that is a multiple of *size*."""
    run: list[Chunk] = []
    for chunk in chunks:
        if run and chunk.number % size == 0:
            yield run
            run = []
        run.append(chunk)
    if run:
        yield run


class _Plan(NamedTuple):
    """How an encode runs: what a job codes (a chunk, or a run of chunks) and how many are queued."""

    job: Callable[[Any], Any]
    items: Generator[Any, None, None]
    in_flight: int
    queue: int
    describe: Callable[[Any], str]
    runs: bool  # results are (run, [coded, ...]), not (chunk, coded)


class StreamingEncoder(_Streaming):
    """Encode a byte stream of any size into one ΣLANG stream, chunk by chunk.

    *workers* processes encode chunks in parallel (``0`` = one per CPU); any executor may be given
    instead. The output is the same bytes for every worker count and executor. With *codebook*
    (a :class:`~sigmalang.semantic.Codebook` or a codebook file's path) the stream needs it to decode.
    With *shared_context*, frames carry context from one to the next (docs/semantic.md); workers
    then code runs of RESET_INTERVAL chunks, from one reset point to the next (same bytes).
    With *filters*, the index carries search filters (docs/FORMAT.md §18). *format* is what the
    input is taken for: ``"auto"`` (chunks that look like log lines are coded as records where that
    is smaller, at levels 4-9), ``"text"`` (never as records) or ``"logs"`` (every chunk as records,
    at levels 1-9; see :func:`sigmalang.compress`).
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        chunk_size: int | None = None,
        *,
        align_lines: bool = True,
        shared_context: bool = False,
        filters: bool = False,
        format: str = AUTO,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.format = check_format(format, level)
        self.filters = filters
        self.level = level
        self.chunk_size = check_chunk_size(chunk_size_for(level, chunk_size))
        self.align_lines = align_lines
        self.shared_context = shared_context

    def encode_stream(self, src: IO[bytes], dst: Writable, *, workers: int | None = None) -> StreamStats:
        """Read *src* to its end and write the encoded stream to *dst*; return the stats.

        *workers* overrides the encoder's worker count for this call.
        """
        return self._encode(src, dst, self._resolve(workers), None)

    def _encode(self, src: IO[bytes], dst: Writable, workers: int, stop: threading.Event | None) -> StreamStats:
        stats = StreamStats(workers=workers)
        frames = FrameWriter(
            self.level,
            self.chunk_size,
            codebook=self.codebook,
            shared_context=self.shared_context,
            filters=self.filters,
            form=self.format,
        )
        reader = ChunkedReader(src, self.chunk_size, align_lines=self.align_lines)
        plan = self._plan_runs(reader, workers, stats) if self.shared_context else self._plan_chunks(reader, workers)
        warm_up = functools.partial(_warm_up, WARM_UP_TEXT, self.level, self.codebook, self.format)
        with (
            self._watching("encode") as watch,
            pipeline(dst, workers, self.executor, plan.queue, warm_up) as (pool, writer),
            contextlib.closing(plan.items) as items,
            contextlib.closing(
                ordered_map(
                    plan.job,
                    items if plan.runs else _filtering_the_last(items, frames),
                    executor=pool,
                    max_in_flight=plan.in_flight,
                    describe=plan.describe,
                    observer=watch,
                )
            ) as results,
        ):
            self._write(writer, stats, frames.start())
            for chunk, record in frames.records(_each_chunk(results) if plan.runs else results):
                check_stop(stop)
                self._write(writer, stats, record)
                stats.bytes_in += len(chunk.data)
                stats.chunks += 1
                stats.sample_memory()
                if watch is not None:
                    watch.frame(len(chunk.data), len(record))
                    watch.queue_depth(len(writer.buffer))
                if self.progress:
                    self.progress(len(chunk.data))
            self._write(writer, stats, frames.finish())
            stats.records += 1  # finish() wrote two records, index and trailer; _write counted one
        return stats.finish()

    def _plan_chunks(self, reader: ChunkedReader, workers: int) -> _Plan:
        """A stream of independent frames: each chunk is a job."""
        in_flight = self._in_flight(workers)
        job = functools.partial(_encode_job, **encode_options(self.level, self._book_ref(workers), self.format))
        return _Plan(job, read_ahead(reader, READ_AHEAD), in_flight, in_flight, _chunk_name, False)

    def _plan_runs(self, reader: ChunkedReader, workers: int, stats: StreamStats) -> _Plan:
        """A shared-context stream. With one worker, each chunk is coded in this process (here, or
        on the executor's one thread), in order, with the context the chunks before it left. With
        more, runs of RESET_INTERVAL chunks (from one reset point to the next) go to the workers,
        each coded in order: the same bytes either way."""
        parallel = workers > 1 or (self.executor is not None and not in_order_here(self.executor))
        in_flight = self._max_in_flight or self._width(workers)
        if parallel:
            stats.notes.append(
                f"shared context: runs of {RESET_INTERVAL} chunks (reset point to reset point) were coded in parallel"
            )
            job = functools.partial(encode_run_job, **encode_options(self.level, self._book_ref(workers), self.format))
        else:
            options = encode_options(self.level, self.codebook, self.format)
            job = functools.partial(encode_run_job, context=FrameContext(), **options)
        runs = _runs(reader, RESET_INTERVAL if parallel else 1)
        # Inline, one chunk is read ahead. A parallel run is 16 chunks, which the pipeline holds
        # while it is coded: the next one is read only when a worker is free (reading takes far
        # less time than coding a run, and each run read ahead would hold 16 chunks more).
        return _Plan(job, runs if parallel else read_ahead(runs, 1), in_flight, 2 * in_flight, _run_name, True)

    @staticmethod
    def _write(writer: QueueWriter, stats: StreamStats, data: bytes) -> None:
        writer.write(data)
        stats.bytes_out += len(data)
        stats.records += 1

    def encode_file(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """Encode file *src* into *dst*, written atomically (a temporary file renamed at the end).

        Either may be an fsspec URL (``memory://``, ``file://``, ``s3://`` with s3fs): *src* is read
        as a stream and *dst* appears only when complete."""
        return self._encode_file(src, dst, overwrite, self._resolve(workers), None)

    def _encode_file(
        self, src: PathLike, dst: PathLike, overwrite: bool, workers: int, stop: threading.Event | None
    ) -> StreamStats:
        with open_input(src) as fin, atomic_output(dst, overwrite=overwrite) as fout:
            return self._encode(fin, fout, workers, stop)

    async def encode_file_async(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """``encode_file`` in a thread, so an asyncio event loop keeps running meanwhile.

        Cancelling the awaiting task stops the pipeline: its workers end and *dst* is not written.
        """
        count = self._resolve(workers)
        return await in_thread(lambda stop: self._encode_file(src, dst, overwrite, count, stop))


def _each_chunk(results: Iterable[tuple[list[Chunk], list[Coded]]]) -> Iterator[tuple[Chunk, Coded]]:
    """The chunks of coded runs, one by one, each with its coding."""
    for run, coded in results:
        yield from zip(run, coded, strict=True)


def _frame_name(frame: Frame) -> str:
    return f"frame {frame.number} (byte offset {frame.offset})"


class StreamingDecoder(_Streaming):
    """Decode one or more concatenated ΣLANG streams, frames in parallel, output in order.

    The stream is parsed (and its CRCs checked) in this process; frames are decoded on the
    workers. A shared-context stream, whose frames depend on each other, is decoded in order here.
    *codebook* is needed for streams that name one; frames of a stream that names none are then
    decoded here, without it.
    """

    def __init__(self, *, read_size: int = DEFAULT_READ_SIZE, **kwargs: Any):
        super().__init__(**kwargs)
        self.read_size = read_size

    def _events(
        self, src: IO[bytes], stats: StreamStats
    ) -> Generator[Frame | Done[StreamHeader | Frame | EndOfStream], None, None]:
        """Frames to decode on the workers; everything else (and shared-context frames) as ``Done``."""
        book_id = self.codebook.id if self.codebook is not None else b""
        reader = FrameReader(self.codebook)
        in_order = False
        read = getattr(src, "read1", src.read)  # from a pipe: what has arrived, not a full read_size
        while data := read(self.read_size):
            stats.bytes_in += len(data)
            reader.feed(data)
            for event in reader.events():
                if isinstance(event, StreamHeader):
                    in_order = event.shared_context or bool(book_id and not event.codebook_id)
                    yield Done(event)
                elif isinstance(event, Frame):
                    yield Done(event) if in_order else event
                else:
                    yield Done(event)
        reader.close()

    def decode_stream(self, src: IO[bytes], dst: Writable, *, workers: int | None = None) -> StreamStats:
        """Decode everything in *src* and write the original bytes to *dst*; return the stats.

        *workers* overrides the decoder's worker count for this call.
        """
        return self._decode(src, dst, self._resolve(workers), None)

    def _decode(self, src: IO[bytes], dst: Writable, workers: int, stop: threading.Event | None) -> StreamStats:
        stats = StreamStats(workers=workers, decoding=True)
        in_flight = self._in_flight(workers)
        streams = 0
        stream: StreamDecoding | None = None  # the current stream's decoding, here and in order
        book = self.codebook
        job = decode_frame if book is None else functools.partial(decode_job, book=self._book_ref(workers))
        warm_up = None if book is None else functools.partial(install_codebook, book)
        with (
            self._watching("decode") as watch,
            pipeline(dst, workers, self.executor, in_flight, warm_up) as (pool, writer),
            contextlib.closing(read_ahead(self._events(src, stats), in_flight)) as events,
            contextlib.closing(
                ordered_map(job, events, executor=pool, max_in_flight=in_flight, describe=_frame_name, observer=watch)
            ) as results,
        ):
            for item, result in results:
                check_stop(stop)
                if isinstance(result, StreamHeader):
                    stream = StreamDecoding(result, self.codebook)
                    streams += 1
                    if result.shared_context and pool is not None:
                        stats.notes.append(f"stream {streams} has shared context: its frames were decoded in order")
                    continue
                assert stream is not None
                if isinstance(result, EndOfStream):
                    stream.check(result)
                    continue
                # A shared-context frame arrives undecoded: decode it here, after every frame before it.
                data = stream.decode(result) if isinstance(result, Frame) else result
                if not isinstance(result, Frame):
                    stream.add(data)
                writer.write(data)
                stats.bytes_out += len(data)
                stats.chunks += 1
                stats.records += 1
                stats.sample_memory()
                encoded = len((item.value if isinstance(item, Done) else item).data)
                if watch is not None:
                    watch.frame(encoded, len(data))
                    watch.queue_depth(len(writer.buffer))
                if self.progress:  # in encoded bytes, as the input is measured
                    self.progress(encoded)
        return stats.finish()

    def decode_file(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """Decode file *src* into *dst*, written atomically: nothing is left at *dst* on error."""
        return self._decode_file(src, dst, overwrite, self._resolve(workers), None)

    def _decode_file(
        self, src: PathLike, dst: PathLike, overwrite: bool, workers: int, stop: threading.Event | None
    ) -> StreamStats:
        with open_input(src) as fin, atomic_output(dst, overwrite=overwrite) as fout:
            return self._decode(fin, fout, workers, stop)

    async def decode_file_async(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """``decode_file`` in a thread; cancelling the awaiting task stops it and leaves no *dst*."""
        count = self._resolve(workers)
        return await in_thread(lambda stop: self._decode_file(src, dst, overwrite, count, stop))


def _filtering_the_last(chunks: Iterable[Chunk], frames: FrameWriter) -> Iterator[Chunk]:
    """*chunks*, and once the last one has been handed on to be coded, its chunk given to the
    search filters (:meth:`FrameWriter.feed_ahead`): a filter is made in this thread as each frame
    is recorded, which the coding of the frames after it hides, all but the last frame's."""
    last = None
    for chunk in chunks:
        yield chunk
        last = chunk
    if last is not None:
        frames.feed_ahead(last.number, last.data)
