"""ΣLANG: a lossless glyph-stream codec for large text files.

The API follows the standard library's ``lzma`` and ``bz2``::

    import sigmalang
    blob = sigmalang.compress(b"text ...", level=6)
    assert sigmalang.decompress(blob) == b"text ..."
    with sigmalang.open("notes.txt.sgl", "wt") as f:
        f.write("hello\\n")

For files of any size in bounded memory, and with worker processes, see
:class:`StreamingEncoder` and :class:`StreamingDecoder`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import primitives
from .codec import DEFAULT_LEVEL, LEVELS
from .compressor import DEFAULT_CHUNK_SIZE, SigmaCompressor, SigmaDecompressor, compress, decompress
from .errors import SigmaCodebookError, SigmaError, SigmaFormatError, SigmaTruncatedError, WorkerError
from .file import SigmaFile, open
from .memory import estimate_memory_usage, get_optimal_chunk_size, get_streaming_vs_full_memory
from .stream import StreamingDecoder, StreamingEncoder, StreamStats

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_LEVEL",
    "LEVELS",
    "SigmaCodebookError",
    "SigmaCompressor",
    "SigmaDecompressor",
    "SigmaError",
    "SigmaFile",
    "SigmaFormatError",
    "SigmaTruncatedError",
    "StreamStats",
    "StreamingDecoder",
    "StreamingEncoder",
    "WorkerError",
    "__version__",
    "compress",
    "decompress",
    "estimate_memory_usage",
    "get_optimal_chunk_size",
    "get_streaming_vs_full_memory",
    "open",
    "primitives",
]
