"""Deprecated: the streaming coders are ``sigmalang.StreamingEncoder``, ``sigmalang.StreamingDecoder``
and ``sigmalang.StreamStats``; import them from ``sigmalang``."""

from __future__ import annotations

import warnings

from ._stats import StreamStats
from ._stream import StreamingDecoder, StreamingEncoder

__all__ = ["StreamStats", "StreamingDecoder", "StreamingEncoder"]

warnings.warn(
    "sigmalang.stream is deprecated: use 'from sigmalang import StreamingEncoder, StreamingDecoder, StreamStats'",
    DeprecationWarning,
    stacklevel=2,
)
