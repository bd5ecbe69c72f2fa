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

import importlib
import logging
from typing import TYPE_CHECKING, Any

logging.getLogger(__name__).addHandler(logging.NullHandler())  # silent unless the application configures logging

if TYPE_CHECKING:
    from . import primitives
    from ._chunking import DEFAULT_CHUNK_SIZE
    from ._compressor import SigmaCompressor, SigmaDecompressor, compress, decompress
    from ._errors import SigmaCodebookError, SigmaError, SigmaFormatError, SigmaTruncatedError, WorkerError
    from ._file import SigmaFile, open
    from ._levels import DEFAULT_LEVEL, LEVELS
    from ._memory import estimate_memory_usage, get_optimal_chunk_size, get_streaming_vs_full_memory
    from ._search import search
    from ._stats import StreamStats
    from ._stream import StreamingDecoder, StreamingEncoder
    from .semantic.codebook import Codebook, load_codebook, train_codebook

# Names are imported on first use (PEP 562), so that a worker process, which needs only the codec,
# does not import the streaming, file and memory layers (asyncio, psutil, ...): about 9 MiB less
# per worker (docs/memory.md).
_LAZY = {
    "primitives": None,
    "DEFAULT_LEVEL": "_levels",
    "LEVELS": "_levels",
    "DEFAULT_CHUNK_SIZE": "_chunking",
    "SigmaCompressor": "_compressor",
    "SigmaDecompressor": "_compressor",
    "compress": "_compressor",
    "decompress": "_compressor",
    "SigmaCodebookError": "_errors",
    "SigmaError": "_errors",
    "SigmaFormatError": "_errors",
    "SigmaTruncatedError": "_errors",
    "WorkerError": "_errors",
    "SigmaFile": "_file",
    "open": "_file",
    "estimate_memory_usage": "_memory",
    "get_optimal_chunk_size": "_memory",
    "get_streaming_vs_full_memory": "_memory",
    "search": "_search",
    "StreamingDecoder": "_stream",
    "StreamingEncoder": "_stream",
    "StreamStats": "_stats",
    "Codebook": "semantic.codebook",
    "load_codebook": "semantic.codebook",
    "train_codebook": "semantic.codebook",
}


def _install_fsspec() -> None:
    from . import _fsspec

    _fsspec.install()  # ΣLANG in fsspec's compression registry, without importing fsspec now


_install_fsspec()


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _LAZY[name]
    value = importlib.import_module(f".{module or name}", __name__)
    if module is not None:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)  # the API, not this module's own imports (importlib, typing)


__all__ = [
    "Codebook",
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
    "load_codebook",
    "open",
    "primitives",
    "search",
    "train_codebook",
]
