"""The original ΣLANG layout: ``sigmalang.core`` and ``sigmalang.core.streaming_encoder``.

Both expose the original streaming module's names with its signatures, run by sigmalang's real
pipeline (see :mod:`sigmalang.core.streaming_encoder` and ``docs/compat.md``).
"""

from .streaming_encoder import (
    BoundaryHandler,
    BufferState,
    Chunk,
    ChunkedReader,
    ChunkState,
    StreamBuffer,
    StreamingDecoder,
    StreamingEncoder,
    StreamStats,
    estimate_memory_usage,
    get_optimal_chunk_size,
    get_streaming_vs_full_memory,
)

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
