"""Deprecated: the memory estimates are ``sigmalang.estimate_memory_usage``,
``sigmalang.get_optimal_chunk_size`` and ``sigmalang.get_streaming_vs_full_memory``; import them
from ``sigmalang``."""

from __future__ import annotations

import warnings

from ._memory import estimate_memory_usage, get_optimal_chunk_size, get_streaming_vs_full_memory

__all__ = ["estimate_memory_usage", "get_optimal_chunk_size", "get_streaming_vs_full_memory"]

warnings.warn(
    "sigmalang.memory is deprecated: use 'from sigmalang import estimate_memory_usage, get_optimal_chunk_size, "
    "get_streaming_vs_full_memory'",
    DeprecationWarning,
    stacklevel=2,
)
