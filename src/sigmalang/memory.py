"""How much memory a streaming encode or decode needs, computed from its configuration.

These are *estimates* from a model of the pipeline, not measurements; ``benchmarks/memory.py``
measures peak RSS beside them. The model (per process):

* an interpreter baseline: CPython with sigmalang and its dependencies imported;
* chunk buffers: the reader's buffer and read-ahead queue, the chunks in flight with their
  encoded forms, and the writer's queue, each about *chunk_size* bytes;
* the backend's context memory (zstd's own estimate for its level), once per process encoding;
* with worker processes, one baseline, two chunk buffers and one backend context per worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends import ZSTD, ZstdBackend
from .codec import DEFAULT_LEVEL, level_spec
from .compressor import DEFAULT_CHUNK_SIZE, check_chunk_size
from .container import MAX_CHUNK_SIZE

__all__ = [
    "MemoryEstimate",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
]

MiB = 1 << 20
# Resident set of `python -c "import sigmalang"` on CPython 3.11, x86-64 Linux, as measured by
# benchmarks/memory.py (the "baseline" line it prints); other platforms differ.
INTERPRETER_BASELINE = 22 * MiB
# Chunk-sized buffers alive at once besides the in-flight window: the reader's buffer and the
# chunk cut from it, and the record being assembled (header, body, CRC) before it is queued.
FIXED_CHUNK_BUFFERS = 4
WORKER_CHUNK_BUFFERS = 3  # a worker holds the chunk it was sent, its encoding and the pickled result


@dataclass(frozen=True)
class MemoryEstimate:
    """An estimate in bytes, with the parts it adds up."""

    total: int
    parts: dict[str, int]

    def __str__(self) -> str:
        parts = ", ".join(f"{k} {v / MiB:.1f}" for k, v in self.parts.items())
        return f"{self.total / MiB:.1f} MiB ({parts})"


def _backend_memory(level: int) -> int:
    spec = level_spec(level)
    return ZstdBackend(spec.backend_level).memory_usage() if spec.backend == ZSTD else 0


def estimate_memory_usage(
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
    max_in_flight: int | None = None,
) -> MemoryEstimate:
    """Estimated peak RSS, summed over all processes, of a streaming encode with these settings."""
    check_chunk_size(chunk_size)
    in_flight = max_in_flight or 2 * workers
    # Read-ahead queue, in-flight window (chunk + encoding) and writer queue, in chunks.
    queued = in_flight + 2 * in_flight + in_flight
    parts = {
        "baseline": INTERPRETER_BASELINE,
        "buffers": (FIXED_CHUNK_BUFFERS + queued) * chunk_size,
        "backend": _backend_memory(level) * (1 if workers == 1 else 0),
    }
    if workers > 1:
        per_worker = INTERPRETER_BASELINE + WORKER_CHUNK_BUFFERS * chunk_size + _backend_memory(level)
        parts["workers"] = workers * per_worker
    return MemoryEstimate(sum(parts.values()), parts)


def get_streaming_vs_full_memory(
    input_size: int,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    workers: int = 1,
    level: int = DEFAULT_LEVEL,
) -> dict[str, int | float]:
    """Estimated peak memory streaming *input_size* bytes versus compressing them in one call.

    The one-call figure counts the input, the output (at most the input's size) and the backend.
    """
    streaming = estimate_memory_usage(min(chunk_size, max(input_size, 1)), workers, level).total
    full = INTERPRETER_BASELINE + 2 * input_size + _backend_memory(level)
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
