"""The package's public surface: ``sigmalang.__all__`` is exactly this list, and every name imports;
the other modules are private (``_name``), apart from the integrations and two deprecated names."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

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


# Modules without a leading underscore: the command line, the integrations (each with its extra),
# the original API's layout, the glyph code and its primitives, and two deprecated former names.
PUBLIC_MODULES = [
    "__main__",
    "cli",
    "core",
    "dask",
    "inspect",
    "memory",
    "metrics",
    "numcodecs",
    "primitives",
    "semantic",
    "stream",
    "zarr",
]

DEPRECATED = {
    "stream": ["StreamStats", "StreamingDecoder", "StreamingEncoder"],
    "memory": ["estimate_memory_usage", "get_optimal_chunk_size", "get_streaming_vs_full_memory"],
}


def test_every_other_module_is_private() -> None:
    names = sorted(m.name for m in pkgutil.iter_modules(sigmalang.__path__) if not m.name.startswith("_"))
    assert names == sorted(n for n in PUBLIC_MODULES if not n.startswith("_"))


@pytest.mark.parametrize("module", sorted(DEPRECATED))
def test_former_module_names_warn_and_give_the_public_objects(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.delitem(sys.modules, f"sigmalang.{module}", raising=False)
    names = DEPRECATED[module]
    with pytest.warns(DeprecationWarning, match=rf"sigmalang\.{module} is deprecated: use 'from sigmalang import "):
        former = importlib.import_module(f"sigmalang.{module}")
    assert former.__all__ == names
    for name in names:
        assert getattr(former, name) is getattr(sigmalang, name)


def test_the_package_itself_imports_no_deprecated_module() -> None:
    code = (
        "import sys, sigmalang, sigmalang.cli, sigmalang.core, sigmalang.inspect\n"
        "sigmalang.decompress(sigmalang.compress(b'x')); sigmalang.StreamingEncoder; sigmalang.estimate_memory_usage\n"
        "print(sorted(m for m in ('sigmalang.stream', 'sigmalang.memory') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
