"""The original ΣLANG streaming module's API, run by sigmalang's real pipeline.

Code written against ``sigmalang.core.streaming_encoder`` keeps its names, signatures, attributes
and return shapes: ``ChunkedReader(path).read_chunks()``, ``StreamBuffer(name, max_size=...)``,
``BoundaryHandler().try_extract_glyphs(data)``, ``StreamingEncoder(chunk_size).encode_file(src, dst,
verbose=...)``, ``StreamStats.total_bytes_read`` and ``throughput_mbs()``, and the dictionaries of
the memory helpers. Every call is mapped onto the real implementation: files are really encoded
(whole, in ΣLANG streams that :func:`sigmalang.decompress` reads), glyph records are really parsed,
and the estimates are the memory model's. ``docs/compat.md`` lists where behaviour must differ.

New code should use :mod:`sigmalang` itself (``sigmalang.StreamingEncoder`` and friends).
"""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .. import _chunking, _memory, _pipeline, _stats, _stream
from .._chunking import check_chunk_size, check_int
from .._levels import DEFAULT_LEVEL
from .._wire import BoundaryHandler as _RecordParser
from .._wire import encode_record

__all__ = [
    "BoundaryHandler",
    "BufferState",
    "Chunk",
    "ChunkState",
    "ChunkedReader",
    "StreamBuffer",
    "StreamStats",
    "StreamingDecoder",
    "StreamingEncoder",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
]

MiB = 1 << 20
ORIGINAL_CHUNK_SIZE = 64 << 10  # the original module's default chunk size
PathArg = str | os.PathLike[str]


class ChunkState(enum.Enum):
    """Where a :class:`Chunk` is in the pipeline (kept for the original's ``Chunk.state``)."""

    EMPTY = 0
    FILLED = 1
    ENCODING = 2
    PARTIAL = 3
    DONE = 4


class BufferState(enum.Enum):
    """A :class:`StreamBuffer`'s state: ``IDLE`` until ``close()``, then ``CLOSED``."""

    IDLE = 0
    FILLING = 1
    FLUSHING = 2
    CLOSED = 3


@dataclass
class Chunk:
    """A piece of input: its number (*chunk_id*), its bytes, and whether it is the last one.

    *offset* is how much of *data* has been processed (``advance()`` moves it), not a position
    in the input.
    """

    chunk_id: int
    data: bytes
    state: ChunkState = ChunkState.FILLED
    offset: int = 0
    is_final: bool = False
    pending_glyph: bytes | None = None

    def get_remaining(self) -> bytes:
        return self.data[self.offset :]

    def advance(self, bytes_consumed: int) -> None:
        self.offset = min(self.offset + bytes_consumed, len(self.data))

    def is_complete(self) -> bool:
        return self.offset >= len(self.data)


class StreamBuffer:
    """A bounded FIFO between threads, with the original's signature and return values.

    ``put()`` returns ``False`` instead of raising when the item could not be added (full until
    the timeout, ``timeout=0`` on a full buffer, or closed); ``get()`` returns ``None`` when the
    buffer is closed and empty, or when nothing arrives before the timeout. Blocking, backpressure
    and wake-ups are :class:`sigmalang._pipeline.StreamBuffer`'s.
    """

    def __init__(self, name: str = "", max_size: int = 3):
        self.name = name
        self.max_size = max_size
        self.state = BufferState.IDLE
        self._buffer: _pipeline.StreamBuffer[Any] = _pipeline.StreamBuffer(max_size)

    def put(self, chunk: Any, timeout: float | None = None) -> bool:
        try:
            self._buffer.put(chunk, timeout)
        except (TimeoutError, _pipeline.StreamBuffer.Closed):
            return False
        return True

    def get(self, timeout: float | None = None) -> Any | None:
        try:
            return self._buffer.get(timeout)
        except (TimeoutError, _pipeline.StreamBuffer.Closed):
            return None

    def size(self) -> int:
        return len(self._buffer)

    def is_full(self) -> bool:
        return len(self._buffer) >= self.max_size

    def close(self) -> None:
        self.state = BufferState.CLOSED
        self._buffer.close()


@dataclass
class StreamStats:
    """What one encode or decode did, under the original's field names.

    Sizes in bytes: *total_bytes_read* is what was read from the input, *total_bytes_encoded* the
    size of the ΣLANG side (the output when encoding, the input when decoding); *total_chunks*
    the chunks coded and *total_glyphs* the wire records (glyphs) written or read. *encode_time*
    is the run's wall time: reading and writing overlap with coding in their own threads, so
    *read_time* and *write_time* stay 0. *compression_ratio* is original size over encoded size.
    *details* holds the full :class:`sigmalang.StreamStats` of the run (``None`` until one ran).
    """

    total_bytes_read: int = 0
    total_bytes_encoded: int = 0
    total_chunks: int = 0
    total_glyphs: int = 0
    read_time: float = 0.0
    encode_time: float = 0.0
    write_time: float = 0.0
    peak_memory_mb: float = 0.0
    avg_chunk_size: int = 0
    compression_ratio: float = 1.0
    details: _stats.StreamStats | None = field(default=None, repr=False, compare=False)

    def throughput_mbs(self) -> float:
        """Input MiB per second of the run's time (0 before any time was recorded)."""
        seconds = self.read_time + self.encode_time + self.write_time
        return self.total_bytes_read / MiB / seconds if seconds > 0 else 0.0

    @classmethod
    def from_run(cls, run: _stats.StreamStats, *, decoding: bool = False) -> StreamStats:
        encoded = run.bytes_in if decoding else run.bytes_out
        original = run.bytes_out if decoding else run.bytes_in
        return cls(
            total_bytes_read=run.bytes_in,
            total_bytes_encoded=encoded,
            total_chunks=run.chunks,
            total_glyphs=run.records,
            encode_time=run.elapsed,
            peak_memory_mb=run.peak_memory / MiB,
            avg_chunk_size=original // run.chunks if run.chunks else 0,
            compression_ratio=original / encoded if encoded else 1.0,
            details=run,
        )


class BoundaryHandler:
    """Cut complete glyph records out of byte slices that may end anywhere.

    ``try_extract_glyphs(data)`` returns ``(records, b"")``: each complete record's bytes, and an
    empty leftover, since the bytes of an unfinished record wait in ``pending_bytes`` for the next
    call. Records are parsed by :class:`sigmalang._wire.BoundaryHandler` (header, LEB128 length,
    payload), which rejects non-canonical or oversized records with ``SigmaFormatError``.
    """

    GLYPH_HEADER_SIZE = 2  # the shortest record: a header byte and a zero length

    def __init__(self) -> None:
        self._parser = _RecordParser()
        self.boundary_crosses = 0  # calls that ended inside a record

    @property
    def state(self) -> str:
        """``"IDLE"``, ``"PARTIAL_HEADER"`` or ``"PARTIAL_PAYLOAD"``."""
        return self._parser.state.name

    @property
    def pending_bytes(self) -> bytearray:
        """The bytes of the record not yet complete."""
        return bytearray(self._parser.peek_bytes(self._parser.buffered))

    @property
    def pending_size(self) -> int:
        return self._parser.buffered

    def try_extract_glyphs(self, data: bytes | bytearray | memoryview) -> tuple[list[bytes], bytes]:
        self._parser.feed(data)
        records = []
        while (record := self._parser.next_record()) is not None:
            # Encodings are canonical, so re-encoding gives back exactly the bytes parsed.
            records.append(encode_record(record.type, record.primitive, record.payload, record.flag))
        if self._parser.buffered:
            self.boundary_crosses += 1
        return records, b""

    def has_pending(self) -> bool:
        return self._parser.buffered > 0

    def reset(self) -> None:
        """Forget any unfinished record (at the end of a stream)."""
        self._parser = _RecordParser()


class ChunkedReader:
    """Read the file at *file_path* in chunks of exactly *chunk_size* bytes (the last may be shorter).

    ``read_chunks()`` yields :class:`Chunk` objects, the last with ``is_final`` set; an empty file
    yields none. The cutting is :class:`sigmalang._chunking.ChunkedReader`'s, without line alignment.
    """

    def __init__(self, file_path: PathArg, chunk_size: int = ORIGINAL_CHUNK_SIZE):
        self.file_path = file_path
        self.chunk_size = check_chunk_size(chunk_size)
        self.file_size = os.path.getsize(file_path)
        self.total_read = 0

    def read_chunks(self) -> Iterator[Chunk]:
        with open(self.file_path, "rb") as source:
            for piece in _chunking.ChunkedReader(source, self.chunk_size, align_lines=False):
                self.total_read += len(piece.data)
                yield Chunk(chunk_id=piece.number, data=piece.data, is_final=piece.is_final)

    def get_file_size(self) -> int:
        return self.file_size


def _say(line: str) -> None:
    print(f"[StreamingEncoder] {line}", file=sys.stdout, flush=True)


class StreamingEncoder:
    """Encode files into ΣLANG streams, with the original's constructor and methods.

    *chunk_size* is the pipeline's chunk size (the original's default, 64 KiB; sigmalang's own
    default is 4 MiB, which compresses text better). *output_buffer_size*, *use_buffer_pool* and
    *adaptive_chunking* are accepted and kept as attributes: the pipeline sizes its own queues,
    and a chunk size is never chosen implicitly, because it changes the encoded bytes. Keyword
    options of :class:`sigmalang.StreamingEncoder` may be added (``level``, ``workers``,
    ``codebook``, ``shared_context``, ...).
    """

    def __init__(
        self,
        chunk_size: int = ORIGINAL_CHUNK_SIZE,
        output_buffer_size: int = 8,
        use_buffer_pool: bool = True,
        adaptive_chunking: bool = True,
        *,
        level: int = DEFAULT_LEVEL,
        **options: Any,
    ):
        self.encoder = _stream.StreamingEncoder(level, chunk_size, **options)
        self.chunk_size = chunk_size
        self.output_buffer_size = output_buffer_size
        self.use_buffer_pool = use_buffer_pool
        self.adaptive_chunking = adaptive_chunking
        self.stats = StreamStats()

    def encode_file(self, input_path: PathArg, output_path: PathArg, verbose: bool = False) -> StreamStats:
        """Encode *input_path* into *output_path* (replaced if it exists, written atomically).

        With *verbose*, progress goes to stdout: a line at the start, one every 100 chunks and
        a summary at the end.
        """
        return self._run(input_path, output_path, verbose, workers=None)

    def encode_file_async(self, input_path: PathArg, output_path: PathArg, num_workers: int = 2) -> StreamStats:
        """Encode with *num_workers* worker processes; returns when done, as the original did.

        (For an ``await``-able call, use :meth:`sigmalang.StreamingEncoder.encode_file_async`.)
        """
        return self._run(input_path, output_path, False, workers=num_workers)

    def _run(self, src: PathArg, dst: PathArg, verbose: bool, workers: int | None) -> StreamStats:
        if verbose:
            size = os.path.getsize(src)
            _say(f"encoding {os.fspath(src)}: {size / MiB:.1f} MiB in chunks of up to {self.chunk_size >> 10} KiB")
            self.encoder.progress = _ProgressPrinter()
        try:
            run = self.encoder.encode_file(src, dst, overwrite=True, workers=workers)
        finally:
            self.encoder.progress = None
        self.stats = StreamStats.from_run(run)
        if verbose:
            s = self.stats
            _say(
                f"done: {s.total_bytes_read / MiB:.1f} MiB -> {s.total_bytes_encoded / MiB:.2f} MiB "
                f"(ratio {s.compression_ratio:.2f}) in {s.encode_time:.1f} s, {s.throughput_mbs():.1f} MiB/s"
            )
        return self.stats

    def get_stats(self) -> StreamStats:
        return self.stats

    def reset(self) -> None:
        self.stats = StreamStats()


class _ProgressPrinter:
    """The real pipeline's progress callback, printing a line every 100 chunks."""

    def __init__(self) -> None:
        self.chunks = 0
        self.done = 0

    def __call__(self, size: int) -> None:
        self.chunks += 1
        self.done += size
        if self.chunks % 100 == 0:
            _say(f"{self.done / MiB:.1f} MiB read, {self.chunks} chunks")


class StreamingDecoder:
    """Decode ΣLANG files, with the original's constructor and ``decode_file``.

    *chunk_size* is the size of the reads from the input (a stream records its own chunk size).
    Keyword options of :class:`sigmalang.StreamingDecoder` may be added (``workers``, ``codebook``).
    """

    def __init__(self, chunk_size: int = ORIGINAL_CHUNK_SIZE, **options: Any):
        self.chunk_size = check_chunk_size(chunk_size)
        self.decoder = _stream.StreamingDecoder(read_size=chunk_size, **options)
        self.stats = StreamStats()

    def decode_file(self, input_path: PathArg, output_path: PathArg, sigma_encoder: object = None) -> StreamStats:
        """Decode *input_path* into *output_path* (replaced if it exists, written atomically).

        *sigma_encoder* is accepted and not needed: a stream carries what decoding it takes
        (except a codebook, given as ``codebook=`` to the constructor).
        """
        run = self.decoder.decode_file(input_path, output_path, overwrite=True)
        self.stats = StreamStats.from_run(run, decoding=True)
        return self.stats


def get_optimal_chunk_size(file_size: int) -> int:
    """A chunk size for a file of *file_size* bytes: grows with the file, from 64 KiB to 4 MiB.

    The values are :func:`sigmalang.get_optimal_chunk_size`'s for that input size.
    """
    _check_file_size(file_size)
    return _memory.get_optimal_chunk_size(input_size=file_size)


def _check_file_size(file_size: int) -> None:
    check_int("file_size", file_size)
    if file_size < 0:
        raise ValueError(f"file_size must not be negative, got {file_size}")


def estimate_memory_usage(
    file_size: int, chunk_size: int, *, workers: int = 1, level: int = DEFAULT_LEVEL
) -> dict[str, int]:
    """Estimated peak memory of streaming *file_size* bytes, in bytes, by part.

    The parts of :func:`sigmalang.estimate_memory_usage` under the original's keys:
    ``chunk_buffer`` (the chunk being coded), ``output_buffer`` (the pipeline's other buffers),
    ``encoder_state`` (the codec's working memory, with worker processes if any) and
    ``overhead`` (the interpreter and the frame index). The values add up to the estimate.
    """
    _check_file_size(file_size)
    estimate = _memory.estimate_memory_usage(chunk_size, workers, level, input_size=file_size or None)
    parts = estimate.parts
    chunk_buffer = min(chunk_size, parts["buffers"])
    encoder_state = sum(parts.get(name, 0) for name in ("codec", "pool", "workers", "context"))
    out = {
        "chunk_buffer": chunk_buffer,
        "encoder_state": encoder_state,
        "output_buffer": parts["buffers"] - chunk_buffer,
    }
    out["overhead"] = estimate.total - sum(out.values())
    return out


def get_streaming_vs_full_memory(file_size: int) -> dict[str, float]:
    """Estimated peak memory streaming a file of *file_size* bytes versus coding it in one call.

    Returns ``streaming_mb`` and ``full_load_mb`` (MiB, whole process, interpreter included) and
    ``reduction_ratio`` (full over streaming), from :func:`sigmalang.get_streaming_vs_full_memory`
    at :func:`get_optimal_chunk_size`'s chunk size.
    """
    compared = _memory.get_streaming_vs_full_memory(file_size, get_optimal_chunk_size(file_size))
    return {
        "streaming_mb": compared["streaming"] / MiB,
        "full_load_mb": compared["full"] / MiB,
        "reduction_ratio": float(compared["factor"]),
    }
