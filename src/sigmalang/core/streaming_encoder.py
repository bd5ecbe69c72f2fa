"""Re-exports for code written against the original layout (``sigmalang.core.streaming_encoder``)."""

from ..memory import estimate_memory_usage, get_optimal_chunk_size, get_streaming_vs_full_memory
from ..stream import (
    BoundaryHandler,
    Chunk,
    ChunkedReader,
    StreamBuffer,
    StreamingDecoder,
    StreamingEncoder,
    StreamStats,
)

__all__ = [
    "BoundaryHandler",
    "Chunk",
    "ChunkedReader",
    "StreamBuffer",
    "StreamStats",
    "StreamingDecoder",
    "StreamingEncoder",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
]
