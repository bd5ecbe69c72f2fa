"""The package's public surface: ``sigmalang.__all__`` is exactly this list, and every name imports."""

from __future__ import annotations

import importlib

import pytest

import sigmalang

PUBLIC = [
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


def test_all_is_exactly_the_public_names_sorted() -> None:
    assert sigmalang.__all__ == PUBLIC
    assert sigmalang.__all__ == sorted(sigmalang.__all__)  # ASCII order: upper case first


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_imports(name: str) -> None:
    fresh = importlib.import_module("sigmalang")
    assert getattr(fresh, name) is not None
    namespace: dict[str, object] = {}
    exec(f"from sigmalang import {name}", namespace)
    assert namespace[name] is getattr(fresh, name)


def test_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}
    exec("from sigmalang import *", namespace)
    assert set(PUBLIC) <= set(namespace)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = sigmalang.no_such_name  # type: ignore[attr-defined]
