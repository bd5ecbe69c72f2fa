"""How much memory a streaming encode or decode needs, computed from its configuration.

These are *estimates* of the peak resident set size (RSS), summed over every process of the job,
from a model of the pipeline; ``benchmarks/memory.py`` measures the real peaks beside them and
``docs/memory.md`` shows both. The model is a sum of parts:

* **baseline**: one CPython interpreter with sigmalang imported;
* **buffers**: chunk-sized buffers in the parent process (the reader's buffer and the copies it
  cuts, the chunks read ahead and in flight, the writer's queue): a fixed number of chunks plus a
  number per chunk in flight;
* **codec**: the chunk codec's working memory, in the process that runs it: the transform's
  copies of the chunk, the backend's context (zstd's own estimate for its parameters) or the part
  of a PPMd model that a chunk fills (one, encoding or decoding: the check of what PPMd wrote
  decodes it with a second model only when its output lengths cannot clear it, which text never
  needed, and a decoder checks the one spelling without a second model);
* with worker processes (``workers > 1``), instead of **codec**: **pool**, multiprocessing's fork
  server and resource tracker, and **workers**, each a baseline, a codec and the chunk it holds.

With one worker the command line codes on a thread of its own (so that Ctrl-C acts at once), and
the in-flight window then holds a chunk more than coding in the calling thread does (the
library's default): **buffers** counts it (:data:`CODING_THREAD_CHUNKS`).

By design, only one part grows with the input: the index of frames that the writer (and the
reader) keep, a few bytes per frame; pass *input_size* to count it. (pyppmd 1.3.1 leaks about
19 KiB per encoder, one per chunk; ``sigmalang._pyppmd`` frees what it leaves behind.)

The constants below were measured with CPython 3.11 on x86-64 Linux by ``benchmarks/memory.py``
(``--detail`` and ``--codec`` print where each comes from; see ``docs/memory.md``). The baseline
differs between platforms and Python versions; the chunk counts much less.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Literal

from . import _elf
from ._backend_base import CM, PPMD, ZSTD
from ._backends import CM_KEEP_MAX_BITS, CM_KEEP_PRIMER_SHARE, get_backend
from ._chunking import check_chunk_size
from ._frames import MAX_CONTEXT, RESET_INTERVAL
from ._levels import DEFAULT_LEVEL, TRANSFORMS, LevelSpec, chunk_size_for, level_spec
from ._longrange import LONG_WINDOW, TABLE_BITS
from ._stream_records import FRAME_OVERHEAD, MAX_CHUNK_SIZE
from ._wire import encode_varint
from .semantic.codebook import Codebook, as_codebook

__all__ = [
    "MemoryEstimate",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
]

MiB = 1 << 20
Mode = Literal["encode", "decode"]

# RSS of a process that has imported what a streaming run needs (`import sigmalang._stream`; the
# "baseline" line of benchmarks/memory.py: 42.0 MiB), and of a worker, which imports only the
# codec (`import sigmalang._codec`: 37.4 MiB). Both include numpy, which the record transform
# (`sigmalang._records`) imports with the codec.
INTERPRETER_BASELINE = 42 * MiB
WORKER_BASELINE = 37 * MiB
# multiprocessing's fork server (13.1 MiB) and resource tracker (12.1 MiB), started with a process pool.
POOL_HELPERS = 25 * MiB
# The parent's chunk-sized buffers: a fixed part in MiB (threads, the parser's read buffer, the
# pool's queues) and, in chunks, a fixed count plus a count per chunk in flight. Encoding, the
# fixed chunks are the reader's buffer and the copies it makes to cut a chunk, the chunk it waits
# to queue and the frame being assembled; per chunk in flight, the read-ahead queue holds one and,
# with workers, the in-flight window another (the worker has its own copy). Decoding, they are the
# decoded chunks on their way to the writer. Measured with the default level (docs/memory.md).
PARENT_BUFFERS: dict[tuple[Mode, bool], tuple[int, float, float]] = {
    # (mode, with workers): (fixed MiB, fixed chunks, chunks per chunk in flight)
    ("encode", False): (1, 9.0, 1.0),
    ("encode", True): (3, 10.0, 2.0),
    ("decode", False): (2, 1.5, 1.0),
    ("decode", True): (4, 2.0, 1.0),
}
# With one worker on a coding thread (the command line's -T 1), the in-flight window holds the
# chunk queued behind the one being coded (encoding), or a decoded chunk the thread finished while
# the one before it is written (decoding), in chunks. Measured at level 3, 4 MiB chunks, 25 MB
# input (peak RSS, coding thread against the calling thread): +3.4 MiB encoding, +2.1 decoding.
CODING_THREAD_CHUNKS: dict[Mode, float] = {"encode": 1.0, "decode": 0.5}
# A worker also holds the chunk it was sent and its encoded form, in chunks.
WORKER_CHUNKS: dict[Mode, float] = {"encode": 1.0, "decode": 0.0}
# The codec's own copies, in chunks: the glyph transform (words counted segment by segment, the
# glyph code and its pieces) and the backend's output where it is copied again.
SEMANTIC_CHUNKS: dict[Mode, float] = {"encode": 2.0, "decode": 2.0}
SEMANTIC_FIXED = 512 << 10  # its compiled patterns and tables
ZSTD_OUTPUT_CHUNKS: dict[Mode, float] = {"encode": 0.5, "decode": 1.0}
PPMD_LITERAL_DECODE_CHUNKS = 1.5
# Decoding PPMd (sigmalang._ppmd_guard), each decoding thread has a helper process, whose resident
# interpreter (19 MiB, benchmarks/ppmd_guard.py) RSS counts again in the decoder process it forks
# for a frame (the pages are shared, but each process's RSS counts them), and the decoded chunk is
# held by the decoder and then by the helper on its way back. Measured at level 3, 4 MiB chunks:
# decode peak RSS 60.6 -> 104.7 MiB (10 MB) and 73.7 -> 125.6 MiB (100 MB) at -T 1 (docs/memory.md).
PPMD_HELPER = 19 * MiB
PPMD_GUARD_CHUNKS = 2.0
# At level 3 a chunk of log lines may be coded as records (docs/logs.md, "Level 3"): the record
# transform's own copies (its fields, the columns' runs, the code; the decoder's entry ends and
# joined lines), in chunks, beside a PPMd model of the level's order for record codes, counted at
# the fill rate of text at that order. Measured with benchmarks/records_memory.py --level 3 on the
# lines hardest on the record code (4 MiB chunks: 120-130 MiB encoding, 88-94 decoding).
RECORDS_CHUNKS: dict[Mode, float] = {"encode": 6.0, "decode": 1.0}
# The CM coder's copies of a chunk: the modelled buffer, the output bound (1.125 chunks) and the
# payload as bytes.
CM_CHUNKS = 3.0
# What a process that codes CM frames holds once for the compiled kernel: on x86-64 Linux its
# machine code, loaded by sigmalang._elf (measured: 7 MiB of RSS once loaded); elsewhere llvmlite
# and its JIT linker as well (50 MiB more).
CM_RUNTIME = (8 if _elf.HERE else 58) * MiB
ZSTD_DECODE_CONTEXT = 160 << 10  # ZSTD_estimateDCtxSize() and the decoder's bookkeeping
# Bytes of a PPMd model that one byte of chunk fills, by transform and model order, measured on
# English prose (1 MiB chunks of dickens.txt). The first MiB of a chunk fills the model at this
# rate; beyond it, novel text goes on at about the same rate and text that repeats itself adds
# almost nothing, so the estimate takes half the rate (see docs/memory.md).
PPMD_FILL: dict[str, dict[int, float]] = {
    "literal": {4: 1.6, 5: 3.2, 6: 5.5, 8: 11.2, 12: 20.5, 16: 24.3},
    "semantic": {4: 2.7, 5: 5.0, 6: 7.3, 8: 11.0, 12: 13.9, 16: 14.8},
}
# Shared context (docs/memory.md, "Shared context"): each process that codes a stream's frames in
# order keeps the coded history (MAX_CONTEXT, and a copy while it is extended), the original bytes
# that long-range references may copy (LONG_WINDOW, in a buffer that trimming leaves up to half as
# large again) and, on the writer's side, the anchor table (8 bytes a slot). On top of that come
# chunk-sized buffers: the rest of a long-range chunk and the chunk spliced back, and what glibc's
# allocator keeps of the freed multi-MiB buffers (its dynamic mmap threshold rises to their size;
# with MALLOC_MMAP_THRESHOLD_=131072 a decode kept ~55 MiB less). Measured at 4 MiB chunks
# (benchmarks/memory.py --shared-context), in chunks.
SHARED_CHUNKS: dict[Mode, float] = {"encode": 16.0, "decode": 22.0}
# Parallel shared-context encoding sends runs of RESET_INTERVAL chunks to the workers. The parent
# holds each run in flight, the one it is cutting, a pickled copy of the one it is sending and the
# frames of finished runs, in runs; a worker holds its run, the unpickled copy of it and the run's
# frames, in runs.
SHARED_PARENT_RUNS = 3.5  # beyond the runs in flight
SHARED_WORKER_RUNS = 1.5
# The frame index: copies of it held at once (at the end, while the index glyph is built or checked;
# measured with 1 KiB chunks, where 1 GB makes a 3.8 MiB index).
INDEX_COPIES: dict[Mode, float] = {"encode": 4.0, "decode": 6.0}
# Search filters (the command line writes them unless --no-filter), in the writing process: the
# builder's working memory, whatever the chunk size (a bitmap of all trigrams, a slice of text and
# its copies, the item hashes of the first frames until the shared ones are chosen; measured
# 2-5 MiB on prose and logs at 1-64 MiB chunks), and numpy, which it imports and the writing
# process does not otherwise import unless it codes CM frames itself (+10.6 MiB of RSS).
FILTER_WORKING = 5 * MiB
NUMPY_IMPORT = 11 * MiB


@dataclass(frozen=True)
class MemoryEstimate:
    """An estimate in bytes, with the parts it adds up (``total == sum(parts.values())``)."""

    total: int
    parts: dict[str, int]

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v / MiB:.1f}" for k, v in self.parts.items())
        return f"{self.total / MiB:.1f} MiB ({parts})"


def _ppmd_fill(transform: str, order: int) -> float:
    """Model bytes per chunk byte for *order*, interpolated between the measured orders."""
    table = PPMD_FILL[transform]
    orders = sorted(table)
    if order <= orders[0]:
        return table[orders[0]]
    for low, high in zip(orders, orders[1:], strict=False):
        if order <= high:
            return table[low] + (table[high] - table[low]) * (order - low) / (high - low)
    return table[orders[-1]]


def _ppmd_model(spec: LevelSpec, transform: str, chunk_size: int) -> int:
    """The part of one PPMd model that a chunk of *chunk_size* bytes fills (at most its size)."""
    fill = _ppmd_fill(transform, spec.backend_level)
    filled = fill * min(chunk_size, MiB) + fill / 2 * max(chunk_size - MiB, 0)
    return min(spec.memory_mib * MiB, int(filled))


def _codec_memory(level: int, chunk_size: int, mode: Mode, primer: int = 0, single: bool = False) -> int:
    """Working memory of one chunk codec at *level*: transform copies, backend context, models
    (with a codebook whose CM primer is *primer* bytes, :func:`_cm_tables`)."""
    spec = level_spec(level)
    transform = TRANSFORMS.get(spec.transform, "literal")
    chunks = SEMANTIC_CHUNKS[mode] if transform == "semantic" else 0.0
    memory = SEMANTIC_FIXED if transform == "semantic" else 0
    if spec.backend == ZSTD:
        chunks += ZSTD_OUTPUT_CHUNKS[mode]
        if mode == "encode":
            import zstandard  # the compressor sizes its tables for the chunk it is given

            params = zstandard.ZstdCompressionParameters.from_level(spec.backend_level, source_size=chunk_size)
            memory += int(params.estimated_compression_context_size())
        else:
            memory += ZSTD_DECODE_CONTEXT
    elif spec.backend == CM:
        memory += _cm_tables(spec, chunk_size, primer, single)
        memory += CM_RUNTIME
        chunks += CM_CHUNKS
    elif spec.backend == PPMD:
        # One model either way: the decoder checks the one spelling from its range decoder's state,
        # and a primed frame's encoder model is freed before the decoder's is made
        # (backends.PpmdBackend.decode).
        model = _ppmd_model(spec, transform, chunk_size)
        if transform == "literal" and mode == "decode":
            chunks += PPMD_LITERAL_DECODE_CHUNKS
        if spec.records_level:  # or a records frame's transform and model, whichever is larger
            as_records = _ppmd_model(spec.for_records(), "literal", chunk_size) + int(RECORDS_CHUNKS[mode] * chunk_size)
            model, chunks = max(model + int(chunks * chunk_size), as_records), 0.0
        memory += model
        if mode == "decode" and hasattr(os, "fork"):  # decoded in a helper's forked process
            memory += 2 * PPMD_HELPER
            chunks += PPMD_GUARD_CHUNKS
    return memory + int(chunks * chunk_size)


def _frames(input_size: int, chunk_size: int) -> int:
    """About how many frames *input_size* bytes make (chunks end a little early at line ends)."""
    return math.ceil(input_size / chunk_size)


def _index_memory(input_size: int, chunk_size: int, mode: Mode) -> int:
    """The frame index kept while streaming: a record size and an original size per frame.

    At the end, the index glyph is built (or read and checked) from it, and a few copies of it
    are alive at once.
    """
    entry = len(encode_varint(chunk_size + FRAME_OVERHEAD)) + len(encode_varint(chunk_size))
    return int(INDEX_COPIES[mode] * _frames(input_size, chunk_size) * entry)


def _cm_tables(spec: LevelSpec, chunk_size: int, primer: int, single: bool) -> int:
    """The CM's tables for a chunk of *chunk_size* bytes, sized as the coder sizes them for the
    chunk and a codebook's *primer*; with a primer, also a thread's kept model primed with it and a
    frame's copy of it, where frames are small enough to keep one for
    (sigmalang._backends.CM_KEEP_PRIMER_SHARE) and there are more than one (*single* false): one
    frame makes at most two payloads (bytes and records), which keep nothing. The pieces a long
    chunk of log lines is judged on are coded without the book."""
    coder = get_backend(CM, spec.backend_level, spec.memory_mib)
    bits = coder.table_bits(chunk_size + primer)  # type: ignore[attr-defined]
    memory = int(get_backend(CM, spec.backend_level, bits).memory_usage())  # type: ignore[attr-defined]
    if primer and not single and bits <= CM_KEEP_MAX_BITS and primer * CM_KEEP_PRIMER_SHARE >= chunk_size + primer:
        memory *= 2
    return memory


def estimate_memory_usage(
    chunk_size: int | None = None,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
    max_in_flight: int | None = None,
    *,
    mode: Mode = "encode",
    input_size: int | None = None,
    shared_context: bool = False,
    filters: bool = False,
    codebook: Codebook | str | os.PathLike[str] | None = None,
) -> MemoryEstimate:
    """Estimated peak RSS, summed over all processes, of a streaming encode with these settings.

    *max_in_flight* defaults to the pipeline's default, two chunks per worker. With
    ``mode="decode"``, the same for decoding a stream written with *chunk_size* and *level*.
    With *input_size*, the part that grows with the input is counted too (the frame index), and a
    short input that fills only part of the pipeline is estimated as such. With *shared_context*,
    a shared-context stream (:func:`_shared_estimate`). *chunk_size* ``None`` is the level's own.
    With *filters*, an encode that writes search filters (:func:`_filter_memory`). With
    *codebook* (a ``Codebook`` or a path), a stream written with it: at levels 4-9 the model reads
    its primer before each frame, which sizes the tables of small frames, and keeps a model that has
    read it for small payloads (docs/cm.md, "Memory").
    """
    chunk_size = check_chunk_size(chunk_size_for(level, chunk_size))
    if mode not in ("encode", "decode"):
        raise ValueError(f"mode must be 'encode' or 'decode', got {mode!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    book = as_codebook(codebook)
    primer = len(book.primer()) if book is not None else 0
    if shared_context:
        return _shared_estimate(chunk_size, workers, level, max_in_flight, mode, input_size, filters, book)
    in_flight = max_in_flight or 2 * workers
    pool = workers > 1
    frames = _frames(input_size, chunk_size) if input_size else None
    fixed_mib, fixed_chunks, per_chunk = PARENT_BUFFERS[mode, pool]
    held = fixed_chunks + per_chunk * in_flight
    if frames is not None:  # a short input fills only part of the pipeline
        most = 2 * frames + 1 if mode == "encode" else frames  # the reader's copies, or decoded chunks
        held = min(fixed_chunks + per_chunk * min(in_flight, frames), most)
    if not pool and frames != 1:  # one chunk leaves nothing queued behind it
        held += CODING_THREAD_CHUNKS[mode]
    parts = {
        "baseline": INTERPRETER_BASELINE,
        "buffers": fixed_mib * MiB + int(held * chunk_size),
    }
    if pool:
        parts["pool"] = POOL_HELPERS
        parts["workers"] = sum(
            WORKER_BASELINE + _codec_memory(level, size, mode, primer) + int(WORKER_CHUNKS[mode] * size)
            for size in _worker_chunks(workers, chunk_size, input_size)
        )
    else:
        single = frames == 1
        parts["codec"] = _codec_memory(level, max(input_size or 1, 1) if single else chunk_size, mode, primer, single)
    if input_size:
        parts["index"] = _index_memory(input_size, chunk_size, mode)
    if filters and mode == "encode":
        parts["filters"] = _filter_memory(level, pool)
    return MemoryEstimate(sum(parts.values()), parts)


def _filter_memory(level: int, pool: bool) -> int:
    """What building search filters adds to the writing process: the builder's working memory,
    which does not grow with the chunk, and numpy where nothing else there imports it."""
    codes_cm_here = not pool and level_spec(level).backend == CM
    return FILTER_WORKING + (0 if codes_cm_here else NUMPY_IMPORT)


def _shared_context_memory(chunk_size: int, mode: Mode) -> int:
    """What one process that codes a shared-context stream in order keeps besides its codec."""
    table = 8 << TABLE_BITS if mode == "encode" else 0
    return 2 * MAX_CONTEXT + LONG_WINDOW * 3 // 2 + table + int(SHARED_CHUNKS[mode] * chunk_size)


def _shared_estimate(
    chunk_size: int,
    workers: int,
    level: int,
    max_in_flight: int | None,
    mode: Mode,
    input_size: int | None,
    filters: bool = False,
    book: Codebook | None = None,
) -> MemoryEstimate:
    """A shared-context stream. Its frames decode in order in the main process (whatever
    *workers*), as they encode with one worker; with more, runs of RESET_INTERVAL chunks are
    coded in parallel, each by a worker with a context of its own."""
    one = estimate_memory_usage(chunk_size, 1, level, mode=mode, input_size=input_size, filters=filters, codebook=book)
    primer = len(book.primer()) if book is not None else 0
    parts = dict(one.parts)
    context = _shared_context_memory(chunk_size, mode)
    if mode == "decode" or workers == 1:
        parts["context"] = context
        if workers > 1:  # the pool is started, but the frames are decoded here
            parts["pool"] = POOL_HELPERS // 2
        return MemoryEstimate(sum(parts.values()), parts)
    run = RESET_INTERVAL * chunk_size
    in_flight = max_in_flight or workers
    runs = math.ceil(input_size / run) if input_size else in_flight + 1
    fixed_mib = PARENT_BUFFERS["encode", True][0]
    parts["buffers"] = fixed_mib * MiB + int(min(in_flight + SHARED_PARENT_RUNS, runs + 1) * run)
    parts.pop("codec", None)
    parts["pool"] = POOL_HELPERS
    if filters:  # the frames are coded in the workers, not here
        parts["filters"] = _filter_memory(level, pool=True)
    busy = min(workers, runs)
    parts["workers"] = busy * (
        WORKER_BASELINE + _codec_memory(level, chunk_size, mode, primer) + context + int(SHARED_WORKER_RUNS * run)
    )
    return MemoryEstimate(sum(parts.values()), parts)


def _worker_chunks(workers: int, chunk_size: int, input_size: int | None) -> list[int]:
    """The largest chunk each worker that gets any will code (a process is started per chunk
    submitted until there are *workers*, so with fewer chunks than workers, fewer start)."""
    if not input_size or input_size > workers * chunk_size:
        return [chunk_size] * workers
    full, last = divmod(input_size, chunk_size)
    return [chunk_size] * full + ([last] if last else [])


def get_streaming_vs_full_memory(
    input_size: int,
    chunk_size: int | None = None,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
) -> dict[str, int | float]:
    """Estimated peak memory streaming *input_size* bytes versus compressing them in one call.

    The one-call figure counts the input, the output (at most the input's size), the codec's
    working memory and the baseline.
    """
    chunk = min(chunk_size_for(level, chunk_size), max(input_size, 1))
    streaming = estimate_memory_usage(chunk, workers, level, input_size=input_size).total
    full = INTERPRETER_BASELINE + 2 * input_size + _codec_memory(level, chunk, "encode")
    return {
        "input_size": input_size,
        "streaming": streaming,
        "full": full,
        "factor": full / streaming,
    }


def get_optimal_chunk_size(
    memory_budget: int | None = None,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
    input_size: int | None = None,
) -> int:
    """The largest power-of-two chunk size up to the default whose estimate fits *memory_budget*.

    Small inputs get a chunk no larger than themselves (at least 64 KiB). The result is only a
    suggestion: the chunk size changes the encoded bytes, so it is never chosen implicitly.
    """
    size = level_spec(level).chunk_size
    if input_size is not None:
        while size > 64 << 10 and size // 2 >= input_size:
            size //= 2
    if memory_budget is not None:
        while size > 1 and estimate_memory_usage(size, workers, level).total > memory_budget:
            size //= 2
        if estimate_memory_usage(size, workers, level).total > memory_budget:
            raise ValueError(f"no chunk size fits a budget of {memory_budget} bytes")
    return min(size, MAX_CHUNK_SIZE)
