"""Streaming encode and decode of files of any size in memory bounded by configuration.

::

    source ─► ChunkedReader ─► StreamBuffer ─► chunk codec (inline or workers) ─► in order ─► StreamBuffer ─► writer
    (reader thread)                              (parallel.ordered_map)                          (writer thread)

Decoding is the mirror image: the reader thread parses records (checking their CRCs), workers
decode frames, and the main thread checks the content checksum and hands the bytes on in order.
Frame numbering, the index and the checksums are computed in the main thread, in input order, so
the output is the same for every worker count (see ``docs/parallel.md``).

Peak memory is about ``chunk_size × (chunks in flight + queued)`` plus the backend's model memory
(see :func:`estimate_memory_usage`); it does not depend on the input's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Generic, Protocol, TypeVar

import psutil

from .codec import (
    DEFAULT_LEVEL,
    RESET_INTERVAL,
    Chunk,
    FrameContext,
    chunk_end,
    decode_frame,
    decode_job,
    encode_run_job,
    install_codebook,
    level_spec,
)
from .codec import encode_job as _encode_job
from .codec import warm_up as _warm_up
from .compressor import DEFAULT_CHUNK_SIZE, CodebookArg, check_chunk_size
from .container import (
    EndOfStream,
    Frame,
    StreamAssembler,
    StreamHeader,
    StreamParser,
    content_digest,
)
from .glyph import BoundaryHandler, ParseState
from .memory import (
    MemoryEstimate,
    estimate_memory_usage,
    get_optimal_chunk_size,
    get_streaming_vs_full_memory,
)
from .parallel import Done, ordered_map, resolve_workers, stop_pool, worker_pool
from .semantic.codebook import Codebook, as_codebook

__all__ = [
    "BoundaryHandler",
    "Chunk",
    "ChunkedReader",
    "MemoryEstimate",
    "ParseState",
    "StreamBuffer",
    "StreamInfo",
    "StreamStats",
    "StreamingDecoder",
    "StreamingEncoder",
    "atomic_output",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
    "read_info",
]

T = TypeVar("T")


class Writable(Protocol):
    """Where output goes: anything with ``write(bytes)`` and ``flush()``."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


Progress = Callable[[int], None]
DEFAULT_READ_SIZE = 256 << 10
PathLike = str | os.PathLike[str]


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


class ChunkedReader:
    """Cut a binary file, pipe or stdin into chunks of at most *chunk_size* bytes.

    The size of the source need not be known. Chunk ends follow :func:`sigmalang.codec.chunk_end`:
    with *align_lines*, a chunk ends at a line end within a bounded window when there is one.
    The last chunk has ``is_final`` set (empty input yields no chunk).
    """

    def __init__(self, source: IO[bytes], chunk_size: int = DEFAULT_CHUNK_SIZE, *, align_lines: bool = True):
        self.source = source
        self.chunk_size = check_chunk_size(chunk_size)
        self.align_lines = align_lines
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Chunk]:
        buf = bytearray()
        eof = False
        index = offset = 0
        while True:
            while not eof and len(buf) <= self.chunk_size:
                data = self.source.read(self.chunk_size + 1 - len(buf))
                if not data:
                    eof = True
                self.bytes_read += len(data)
                buf += data
                del data  # not kept alive while the chunk waits to be taken
            end = chunk_end(buf, self.chunk_size, final=eof) if self.align_lines else min(len(buf), self.chunk_size)
            if end == 0:
                return
            final = eof and end == len(buf)
            with memoryview(buf) as view:
                piece = bytes(view[:end])  # one copy (a bytearray slice would be a second)
            yield Chunk(index, offset, piece, final)
            del piece
            del buf[:end]
            index += 1
            offset += end
            if final:
                return


@dataclass
class StreamStats:
    """What one encode or decode did. Times in seconds, sizes in bytes, memory as RSS bytes."""

    bytes_in: int = 0
    bytes_out: int = 0
    chunks: int = 0
    glyphs: int = 0
    workers: int = 1
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    peak_memory: int = 0
    notes: list[str] = field(default_factory=list)  # what ``--verbose`` shows, e.g. a fallback taken
    decoding: bool = False  # the input is the encoded side (bytes_in encoded, bytes_out original)
    _last_sample: float = field(default=0.0, repr=False)

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def throughput(self) -> float:
        """Input bytes per second (``bytes_in / elapsed``)."""
        return self.bytes_in / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ratio(self) -> float:
        """Original size over encoded size, for encoding and decoding alike (below 1 when the encoded
        side is the larger); 0.0 when the encoded side is empty."""
        original, encoded = (self.bytes_out, self.bytes_in) if self.decoding else (self.bytes_in, self.bytes_out)
        return original / encoded if encoded else 0.0

    def sample_memory(self, force: bool = False) -> None:
        """Record RSS of this process and its children (psutil), at most every 0.2 s."""
        now = time.perf_counter()
        if not force and now - self._last_sample < 0.2:
            return
        self._last_sample = now
        proc = psutil.Process()
        rss = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
        self.peak_memory = max(self.peak_memory, rss)

    def finish(self) -> StreamStats:
        self.sample_memory(force=True)
        self.finished = time.perf_counter()
        return self

    def as_dict(self) -> dict[str, Any]:
        hidden = ("started", "finished", "decoding")
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_") and k not in hidden}
        if not self.notes:
            del out["notes"]
        out.update(
            elapsed=round(self.elapsed, 6),
            throughput=round(self.throughput, 1),
            ratio=round(self.ratio, 4),
        )
        return out


# Chunks the reader may cut ahead of the in-flight window. Reading is hundreds of times faster than
# coding, so one waiting chunk keeps the workers fed; each more would be a chunk held for nothing
# (docs/memory.md).
READ_AHEAD = 1


def _read_ahead(items: Iterable[T], maxsize: int) -> Generator[T, None, None]:
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


class _Writer:
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
        else:
            self.buffer.cancel()
        self.thread.join()
        if ok:
            self._raise()
            self.dst.flush()


class _Cancelled(Exception):
    """Raised in the pipeline's thread when its async caller was cancelled, so clean-up runs."""


def _check_stop(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise _Cancelled("cancelled")


async def _in_thread(run: Callable[[threading.Event], T]) -> T:
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
def _pipeline(
    dst: Writable,
    workers: int,
    executor: Executor | None,
    queue: int,
    warm_up: Callable[[], object] | None = None,
) -> Iterator[tuple[Executor | None, _Writer]]:
    """The executor (a process pool of our own when none is given and *workers* > 1) and the writer.

    On success the writer drains and the pool shuts down; on any exception (an interrupt included)
    the pool's processes are ended first, then the writer's queue is dropped.
    """
    own = executor is None and workers > 1
    pool: Executor | None = worker_pool(workers, warm_up) if own else executor
    writer = _Writer(dst, queue)
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


class _Streaming:
    def __init__(
        self,
        *,
        workers: int = 1,
        executor: Executor | None = None,
        max_in_flight: int | None = None,
        progress: Progress | None = None,
        codebook: CodebookArg = None,
    ):
        self.codebook = as_codebook(codebook)
        self.workers = resolve_workers(workers)
        self.executor = executor
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._max_in_flight = max_in_flight
        self.progress = progress

    @property
    def max_in_flight(self) -> int:
        """Chunks submitted and not yet written, at most (default: two per worker)."""
        return self._in_flight(self.workers)

    def _in_flight(self, workers: int) -> int:
        return self._max_in_flight or 2 * workers

    def _resolve(self, workers: int | None) -> int:
        return self.workers if workers is None else resolve_workers(workers)

    def _book_ref(self, workers: int) -> Codebook | bytes | None:
        """What a job names the codebook by: its id in our own pool (whose warm-up installs it),
        else the book itself (inline, or pickled per job to an executor we did not start)."""
        if self.codebook is not None and self.executor is None and workers > 1:
            return self.codebook.id
        return self.codebook


# Encoded once by each new worker, so codec contexts (and codebooks) are ready before the first chunk.
_WARM_UP_TEXT = b"The quick brown fox, 42 times: 2024-01-01T00:00:00Z INFO warm-up\n" * 4


def _chunk_name(chunk: Chunk) -> str:
    return f"chunk {chunk.number} (input byte offset {chunk.offset})"


def _run_name(run: list[Chunk]) -> str:
    return f"chunks {run[0].number}-{run[-1].number} (input byte offset {run[0].offset})"


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


class StreamingEncoder(_Streaming):
    """Encode a byte stream of any size into one ΣLANG stream, chunk by chunk.

    *workers* processes encode chunks in parallel (``0`` = one per CPU); any executor may be given
    instead. The output is the same bytes for every worker count and executor. With *codebook*
    (a :class:`~sigmalang.semantic.Codebook` or a codebook file's path) the stream needs it to decode.
    With *shared_context*, frames carry context from one to the next (docs/semantic.md); workers
    then code runs of RESET_INTERVAL chunks, from one reset point to the next (same bytes).
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        *,
        align_lines: bool = True,
        shared_context: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        level_spec(level)
        self.level = level
        self.chunk_size = check_chunk_size(chunk_size)
        self.align_lines = align_lines
        self.shared_context = shared_context

    def encode_stream(self, src: IO[bytes], dst: Writable, *, workers: int | None = None) -> StreamStats:
        """Read *src* to its end and write the encoded stream to *dst*; return the stats.

        *workers* overrides the encoder's worker count for this call.
        """
        return self._encode(src, dst, self._resolve(workers), None)

    def _encode(self, src: IO[bytes], dst: Writable, workers: int, stop: threading.Event | None) -> StreamStats:
        if self.shared_context:
            return self._encode_shared(src, dst, workers, stop)
        stats = StreamStats(workers=workers)
        in_flight = self._in_flight(workers)
        book_id = self.codebook.id if self.codebook is not None else b""
        header = StreamHeader(chunk_size=self.chunk_size, level=self.level, codebook_id=book_id)
        assembler = StreamAssembler(header)
        reader = ChunkedReader(src, self.chunk_size, align_lines=self.align_lines)
        job = functools.partial(_encode_job, level=self.level)
        if self.codebook is not None:
            job = functools.partial(_encode_job, level=self.level, book=self._book_ref(workers))
        warm_up = functools.partial(_warm_up, _WARM_UP_TEXT, self.level, self.codebook)
        with (
            _pipeline(dst, workers, self.executor, in_flight, warm_up) as (pool, writer),
            contextlib.closing(_read_ahead(reader, READ_AHEAD)) as chunks,
            contextlib.closing(
                ordered_map(job, chunks, executor=pool, max_in_flight=in_flight, describe=_chunk_name)
            ) as results,
        ):
            self._write(writer, stats, assembler.start())
            for chunk, (transform, backend, data) in results:
                _check_stop(stop)
                self._write(writer, stats, assembler.frame(chunk.data, transform, backend, data))
                stats.bytes_in += len(chunk.data)
                stats.chunks += 1
                stats.sample_memory()
                if self.progress:
                    self.progress(len(chunk.data))
            self._write(writer, stats, assembler.finish())
            stats.glyphs += 1  # finish() wrote two records, index and trailer; _write counted one
        return stats.finish()

    def _encode_shared(self, src: IO[bytes], dst: Writable, workers: int, stop: threading.Event | None) -> StreamStats:
        """A shared-context stream. With one worker, each chunk is coded here, in order, with the
        context the chunks before it left. With more, runs of RESET_INTERVAL chunks (from one reset
        point to the next) go to the workers, each coded in order: the same bytes either way."""
        stats = StreamStats(workers=workers)
        book_id = self.codebook.id if self.codebook is not None else b""
        header = StreamHeader(chunk_size=self.chunk_size, level=self.level, shared_context=True, codebook_id=book_id)
        assembler = StreamAssembler(header)
        reader = ChunkedReader(src, self.chunk_size, align_lines=self.align_lines)
        parallel = workers > 1 or self.executor is not None
        if parallel:
            stats.notes.append(
                f"shared context: runs of {RESET_INTERVAL} chunks (reset point to reset point) were coded in parallel"
            )
        in_flight = self._max_in_flight or workers
        if parallel:
            job = functools.partial(encode_run_job, level=self.level, book=self._book_ref(workers))
        else:
            job = functools.partial(encode_run_job, level=self.level, book=self.codebook, context=FrameContext())
        warm_up = functools.partial(_warm_up, _WARM_UP_TEXT, self.level, self.codebook)
        runs = _runs(reader, RESET_INTERVAL if parallel else 1)
        # Inline, one chunk is read ahead. A parallel run is 16 chunks, which the pipeline holds
        # while it is coded: the next one is read only when a worker is free (reading takes far
        # less time than coding a run, and each run read ahead would hold 16 chunks more).
        with (
            _pipeline(dst, workers, self.executor, 2 * in_flight, warm_up) as (pool, writer),
            contextlib.closing(runs if parallel else _read_ahead(runs, 1)) as items,
            contextlib.closing(
                ordered_map(job, items, executor=pool, max_in_flight=in_flight, describe=_run_name)
            ) as results,
        ):
            self._write(writer, stats, assembler.start())
            for run, encoded in results:
                for chunk, (transform, backend, data, continues) in zip(run, encoded, strict=True):
                    _check_stop(stop)
                    self._write(writer, stats, assembler.frame(chunk.data, transform, backend, data, continues))
                    stats.bytes_in += len(chunk.data)
                    stats.chunks += 1
                    if self.progress:
                        self.progress(len(chunk.data))
                stats.sample_memory()
            self._write(writer, stats, assembler.finish())
            stats.glyphs += 1
        return stats.finish()

    @staticmethod
    def _write(writer: _Writer, stats: StreamStats, data: bytes) -> None:
        writer.write(data)
        stats.bytes_out += len(data)
        stats.glyphs += 1

    def encode_file(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """Encode file *src* into *dst*, written atomically (a temporary file renamed at the end)."""
        return self._encode_file(src, dst, overwrite, self._resolve(workers), None)

    def _encode_file(
        self, src: PathLike, dst: PathLike, overwrite: bool, workers: int, stop: threading.Event | None
    ) -> StreamStats:
        with open(src, "rb") as fin, atomic_output(dst, overwrite=overwrite) as fout:
            return self._encode(fin, fout, workers, stop)

    async def encode_file_async(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """``encode_file`` in a thread, so an asyncio event loop keeps running meanwhile.

        Cancelling the awaiting task stops the pipeline: its workers end and *dst* is not written.
        """
        count = self._resolve(workers)
        return await _in_thread(lambda stop: self._encode_file(src, dst, overwrite, count, stop))


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
        parser = StreamParser(codebook_id=book_id)
        fed = False
        in_order = False
        read = getattr(src, "read1", src.read)  # from a pipe: what has arrived, not a full read_size
        while data := read(self.read_size):
            stats.bytes_in += len(data)
            parser.feed(data)
            fed = True
            while (event := parser.next_event()) is not None:
                if isinstance(event, StreamHeader):
                    in_order = event.shared_context or bool(book_id and not event.codebook_id)
                    yield Done(event)
                elif isinstance(event, Frame):
                    yield Done(event) if in_order else event
                else:
                    yield Done(event)
                    rest = parser.unused_data
                    parser = StreamParser(offset=parser.start + event.size, codebook_id=book_id)
                    parser.feed(rest)
                    fed = bool(rest)
        if fed or stats.bytes_in == 0:
            parser.close()

    def decode_stream(self, src: IO[bytes], dst: Writable, *, workers: int | None = None) -> StreamStats:
        """Decode everything in *src* and write the original bytes to *dst*; return the stats.

        *workers* overrides the decoder's worker count for this call.
        """
        return self._decode(src, dst, self._resolve(workers), None)

    def _decode(self, src: IO[bytes], dst: Writable, workers: int, stop: threading.Event | None) -> StreamStats:
        stats = StreamStats(workers=workers, decoding=True)
        in_flight = self._in_flight(workers)
        digest, size, streams = content_digest(), 0, 0
        context: FrameContext | None = None  # of the current stream, when it has shared context
        book = self.codebook
        job = decode_frame if book is None else functools.partial(decode_job, book=self._book_ref(workers))
        warm_up = None if book is None else functools.partial(install_codebook, book)
        with (
            _pipeline(dst, workers, self.executor, in_flight, warm_up) as (pool, writer),
            contextlib.closing(_read_ahead(self._events(src, stats), in_flight)) as events,
            contextlib.closing(
                ordered_map(job, events, executor=pool, max_in_flight=in_flight, describe=_frame_name)
            ) as results,
        ):
            for item, result in results:
                _check_stop(stop)
                if isinstance(result, StreamHeader):
                    book = self.codebook if result.codebook_id else None
                    context = FrameContext() if result.shared_context else None
                    streams += 1
                    if result.shared_context and pool is not None:
                        stats.notes.append(f"stream {streams} has shared context: its frames were decoded in order")
                    continue
                if isinstance(result, EndOfStream):
                    StreamParser.check_content(result.index, size, digest.digest(), result.end)
                    digest, size = content_digest(), 0
                    continue
                # A shared-context frame arrives undecoded: decode it here, after every frame before it.
                data = decode_frame(result, book, context) if isinstance(result, Frame) else result
                digest.update(data)
                size += len(data)
                writer.write(data)
                stats.bytes_out += len(data)
                stats.chunks += 1
                stats.glyphs += 1
                stats.sample_memory()
                if self.progress:  # in encoded bytes, as the input is measured
                    self.progress(len((item.value if isinstance(item, Done) else item).data))
        return stats.finish()

    def decode_file(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """Decode file *src* into *dst*, written atomically: nothing is left at *dst* on error."""
        return self._decode_file(src, dst, overwrite, self._resolve(workers), None)

    def _decode_file(
        self, src: PathLike, dst: PathLike, overwrite: bool, workers: int, stop: threading.Event | None
    ) -> StreamStats:
        with open(src, "rb") as fin, atomic_output(dst, overwrite=overwrite) as fout:
            return self._decode(fin, fout, workers, stop)

    async def decode_file_async(
        self, src: PathLike, dst: PathLike, *, overwrite: bool = False, workers: int | None = None
    ) -> StreamStats:
        """``decode_file`` in a thread; cancelling the awaiting task stops it and leaves no *dst*."""
        count = self._resolve(workers)
        return await _in_thread(lambda stop: self._decode_file(src, dst, overwrite, count, stop))


@contextlib.contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *path*; on success it becomes *path*, on error it is removed.

    Without *overwrite*, an existing *path* raises ``FileExistsError`` before anything is written.
    """
    path = os.fspath(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "output file exists (use -f to overwrite)", path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, path, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _publish(tmp: str, path: str, overwrite: bool) -> None:
    if not overwrite:
        try:
            os.link(tmp, path)  # fails if *path* appeared meanwhile: never clobber
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "output file exists (use -f to overwrite)", path) from None
        else:
            os.unlink(tmp)
            return
    os.replace(tmp, path)


@dataclass
class StreamInfo:
    """What ``sigmalang info`` shows about one stream, read without decoding any frame."""

    version: int
    level: int
    chunk_size: int
    shared_context: bool
    frames: int
    original_size: int
    encoded_size: int
    checksum: str
    codebook: str = ""  # hex id of the codebook the stream needs ("" for none)

    @property
    def ratio(self) -> float:
        return self.original_size / self.encoded_size if self.encoded_size else 0.0


def read_info(src: IO[bytes], read_size: int = DEFAULT_READ_SIZE) -> list[StreamInfo]:
    """Scan every stream in *src*, checking the container (CRCs, index) but decoding no frame."""
    infos: list[StreamInfo] = []
    parser = StreamParser(codebook_id=None)
    header: StreamHeader | None = None
    fed = 0
    while data := src.read(read_size):
        parser.feed(data)
        fed += len(data)
        while (event := parser.next_event()) is not None:
            if isinstance(event, StreamHeader):
                header = event
            elif isinstance(event, EndOfStream):
                assert header is not None
                index = event.index
                infos.append(
                    StreamInfo(
                        header.version,
                        header.level,
                        header.chunk_size,
                        header.shared_context,
                        index.count,
                        index.total_size,
                        event.size,
                        index.checksum.hex(),
                        header.codebook_id.hex(),
                    )
                )
                rest = parser.unused_data
                parser = StreamParser(offset=parser.start + event.size, codebook_id=None)
                parser.feed(rest)
    if not infos or parser.offset > parser.start or parser.header is not None:
        parser.close()
    return infos
