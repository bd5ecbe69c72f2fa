"""How much memory a streaming encode or decode needs, computed from its configuration.

These are *estimates* of the peak resident set size (RSS), summed over every process of the job,
from a model of the pipeline; ``benchmarks/memory.py`` measures the real peaks beside them and
``docs/memory.md`` shows both. The model is a sum of parts:

* **baseline**: one CPython interpreter with sigmalang imported, per process;
* **buffers**: chunk-sized buffers in the parent process: the reader's buffer, the chunks read
  ahead and in flight with their encoded forms, the writer's queue (a fixed number plus a number
  per chunk in flight, counted in chunks);
* **codec**: the chunk codec's working memory, in each process that runs it: the glyph
  transform's temporary objects (proportional to the chunk) or the backend's context (zstd's own
  estimate for its parameters, or the part of a PPMd model a chunk fills), whichever is larger;
* with worker processes (``workers > 1``): **pool**, multiprocessing's fork server and resource
  tracker, and **workers**: per worker a baseline, the codec and the chunks it is sent and returns.

Only one part grows with the input: the index of frames that the writer (and the reader) keep,
a few bytes per frame; pass *input_size* to count it. The constants below were measured with
CPython 3.11 on x86-64 Linux by ``benchmarks/memory.py`` (see ``docs/memory.md``); the baseline
differs between platforms and Python versions, the chunk factors much less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .backends import PPMD, ZSTD
from .codec import DEFAULT_LEVEL, TRANSFORMS, LevelSpec, level_spec
from .compressor import DEFAULT_CHUNK_SIZE, check_chunk_size
from .container import FRAME_OVERHEAD, MAX_CHUNK_SIZE
from .glyph import encode_varint

__all__ = [
    "MemoryEstimate",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
]

MiB = 1 << 20
Mode = Literal["encode", "decode"]

# RSS of `python -c "import sigmalang"` (the "baseline" line of benchmarks/memory.py: 27 MiB).
INTERPRETER_BASELINE = 27 * MiB
# multiprocessing's fork server (13 MiB) and resource tracker (12 MiB), started with a process pool.
POOL_HELPERS = 25 * MiB
# Threads' stacks and their malloc arenas in the parent, besides any chunk.
PARENT_FIXED = 2 * MiB
# Chunk-sized buffers in the parent, counted in chunks: (fixed, per chunk in flight), by mode and
# by whether chunks are coded inline (one process) or sent to workers.
PARENT_CHUNKS: dict[tuple[Mode, bool], tuple[float, float]] = {
    ("encode", False): (8.0, 1.5),
    ("encode", True): (10.0, 2.0),
    ("decode", False): (4.0, 1.5),
    ("decode", True): (6.0, 2.0),
}
# A worker holds the chunk it was sent (pickled and unpickled) and its result (also pickled).
WORKER_CHUNKS: dict[Mode, float] = {"encode": 2.5, "decode": 2.5}
# The glyph transform's temporary objects (word lists, counters), per byte of chunk, and a fixed part.
SEMANTIC_WORKING: dict[Mode, float] = {"encode": 49.0, "decode": 35.0}
SEMANTIC_FIXED = 1 * MiB
# Bytes of a PPMd model that one byte of input fills, up to the model's size (order 6 on text).
PPMD_MODEL_PER_BYTE = 6.0
ZSTD_DECODE_CONTEXT = 160 << 10  # ZSTD_estimateDCtxSize() and the decoder's bookkeeping


@dataclass(frozen=True)
class MemoryEstimate:
    """An estimate in bytes, with the parts it adds up (``total == sum(parts.values())``)."""

    total: int
    parts: dict[str, int]

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v / MiB:.1f}" for k, v in self.parts.items())
        return f"{self.total / MiB:.1f} MiB ({parts})"


def _backend_memory(spec: LevelSpec, chunk_size: int, mode: Mode) -> int:
    """The backend's context for chunks of *chunk_size* bytes (in the process that codes them)."""
    if spec.backend == ZSTD:
        if mode == "decode":
            return ZSTD_DECODE_CONTEXT
        import zstandard  # the compressor sizes its tables for the chunk it is given

        params = zstandard.ZstdCompressionParameters.from_level(spec.backend_level, source_size=chunk_size)
        return int(params.estimated_compression_context_size())
    if spec.backend == PPMD:
        models = 2 if spec.verify and mode == "encode" else 1  # verifying decodes with a second model
        return models * min(spec.memory_mib * MiB, int(PPMD_MODEL_PER_BYTE * chunk_size))
    return 0


def _codec_memory(level: int, chunk_size: int, mode: Mode) -> int:
    """Working memory of one chunk codec: the transform's or the backend's, whichever is larger."""
    spec = level_spec(level)
    transform = 0
    if TRANSFORMS.get(spec.transform) == "semantic":
        transform = SEMANTIC_FIXED + int(SEMANTIC_WORKING[mode] * chunk_size)
    return max(transform, _backend_memory(spec, chunk_size, mode))


def _index_memory(input_size: int, chunk_size: int, mode: Mode) -> int:
    """The frame index kept while streaming: a record size and an original size per frame.

    Chunks end at a line end up to an eighth before *chunk_size*, so there may be up to 8/7 as
    many frames as whole chunks. The decoder also reads the stream's own index at the end and
    holds it beside the one it built (several transient copies of the index glyph's payload).
    """
    frames = math.ceil(input_size * 8 / (7 * chunk_size)) if input_size else 0
    entry = len(encode_varint(chunk_size + FRAME_OVERHEAD)) + len(encode_varint(chunk_size))
    copies = 1 if mode == "encode" else 6
    return copies * frames * entry


def estimate_memory_usage(
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
    max_in_flight: int | None = None,
    *,
    mode: Mode = "encode",
    input_size: int | None = None,
) -> MemoryEstimate:
    """Estimated peak RSS, summed over all processes, of a streaming encode with these settings.

    *max_in_flight* defaults to the pipeline's default, two chunks per worker. With
    ``mode="decode"``, the same for decoding a stream written with *chunk_size* and *level*.
    With *input_size*, the frame index (the only part that grows with the input) is counted too.
    """
    check_chunk_size(chunk_size)
    if mode not in ("encode", "decode"):
        raise ValueError(f"mode must be 'encode' or 'decode', got {mode!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    in_flight = max_in_flight or 2 * workers
    pool = workers > 1
    fixed, per_chunk = PARENT_CHUNKS[mode, pool]
    codec = _codec_memory(level, chunk_size, mode)
    parts = {
        "baseline": INTERPRETER_BASELINE,
        "buffers": PARENT_FIXED + int((fixed + per_chunk * in_flight) * chunk_size),
        "codec": 0 if pool else codec,
    }
    if pool:
        parts["pool"] = POOL_HELPERS
        parts["workers"] = workers * (INTERPRETER_BASELINE + codec + int(WORKER_CHUNKS[mode] * chunk_size))
    if input_size:
        parts["index"] = _index_memory(input_size, chunk_size, mode)
    return MemoryEstimate(sum(parts.values()), parts)


def get_streaming_vs_full_memory(
    input_size: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
) -> dict[str, int | float]:
    """Estimated peak memory streaming *input_size* bytes versus compressing them in one call.

    The one-call figure counts the input, the output (at most the input's size), the codec's
    working memory and the baseline.
    """
    chunk = min(chunk_size, max(input_size, 1))
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
    size = DEFAULT_CHUNK_SIZE
    if input_size is not None:
        while size > 64 << 10 and size // 2 >= input_size:
            size //= 2
    if memory_budget is not None:
        while size > 1 and estimate_memory_usage(size, workers, level).total > memory_budget:
            size //= 2
        if estimate_memory_usage(size, workers, level).total > memory_budget:
            raise ValueError(f"no chunk size fits a budget of {memory_budget} bytes")
    return min(size, MAX_CHUNK_SIZE)
