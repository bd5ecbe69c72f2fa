"""The public surface: ``sigmalang.__all__``, the error tree, and the original layout's imports."""

from __future__ import annotations

import importlib

import pytest

import sigmalang


def test_all_is_sorted_and_unique():
    assert sigmalang.__all__ == sorted(sigmalang.__all__)
    assert len(set(sigmalang.__all__)) == len(sigmalang.__all__)


def test_every_name_in_all_exists():
    for name in sigmalang.__all__:
        assert hasattr(sigmalang, name), name


@pytest.mark.parametrize(
    "name",
    [
        "compress",
        "decompress",
        "SigmaCompressor",
        "SigmaDecompressor",
        "open",
        "SigmaFile",
        "SigmaError",
        "SigmaFormatError",
        "SigmaTruncatedError",
        "StreamingEncoder",
        "StreamingDecoder",
        "StreamStats",
        "primitives",
    ],
)
def test_issue_names_are_public(name):
    assert name in sigmalang.__all__


def test_error_tree():
    assert issubclass(sigmalang.SigmaFormatError, sigmalang.SigmaError)
    assert issubclass(sigmalang.SigmaTruncatedError, sigmalang.SigmaFormatError)
    assert issubclass(sigmalang.SigmaCodebookError, sigmalang.SigmaError)
    assert not issubclass(sigmalang.SigmaError, ValueError)


def test_format_error_message_names_frame_and_offset():
    exc = sigmalang.SigmaFormatError("frame CRC32C mismatch", frame=3, offset=1234)
    assert exc.frame == 3 and exc.offset == 1234
    assert "frame 3" in str(exc) and "1234" in str(exc)
    assert str(sigmalang.SigmaFormatError("bad")) == "bad"


def test_original_layout_imports_still_work():
    """The original layout's names import; they are adapters with the original signatures
    (tests/test_core_compat.py), not the package's own classes."""
    from sigmalang.core.streaming_encoder import (
        BoundaryHandler,
        ChunkedReader,
        StreamBuffer,
        StreamingDecoder,
        StreamingEncoder,
        StreamStats,
        estimate_memory_usage,
        get_optimal_chunk_size,
        get_streaming_vs_full_memory,
    )

    assert StreamingEncoder is not sigmalang.StreamingEncoder
    assert isinstance(StreamingEncoder().encoder, sigmalang.StreamingEncoder)
    assert isinstance(StreamingDecoder().decoder, sigmalang.StreamingDecoder)
    assert StreamStats().details is None
    assert estimate_memory_usage is not sigmalang.estimate_memory_usage
    assert get_optimal_chunk_size(0) == 64 << 10
    assert set(get_streaming_vs_full_memory(1 << 20)) == {"streaming_mb", "full_load_mb", "reduction_ratio"}
    assert BoundaryHandler().try_extract_glyphs(b"") == ([], b"")
    assert StreamBuffer("q").max_size == 3
    assert ChunkedReader.__init__.__code__.co_varnames[1] == "file_path"


def test_core_module_all_names_exist():
    module = importlib.import_module("sigmalang.core.streaming_encoder")
    for name in module.__all__:
        assert hasattr(module, name), name


@pytest.mark.parametrize(
    "module",
    [
        "sigmalang._wire",
        "sigmalang._container",
        "sigmalang._codec",
        "sigmalang._compressor",
        "sigmalang._stream",
        "sigmalang._file",
        "sigmalang._errors",
        "sigmalang.primitives",
        "sigmalang._memory",
        "sigmalang._backends",
        "sigmalang._parallel",
        "sigmalang.cli",
    ],
)
def test_module_all_names_exist(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_levels_are_0_to_9():
    assert sorted(sigmalang.LEVELS) == list(range(10))
    assert sigmalang.DEFAULT_LEVEL in sigmalang.LEVELS


@pytest.mark.parametrize("level", [-1, 10])
def test_bad_level_raises_value_error(level):
    with pytest.raises(ValueError):
        sigmalang.compress(b"x", level=level)


@pytest.mark.parametrize("level", ["6", None, 6.0, True])
def test_level_of_wrong_type_raises_type_error(level):
    with pytest.raises(TypeError, match="level"):
        sigmalang.compress(b"x", level=level)


@pytest.mark.parametrize("chunk_size", [0, -1, (64 << 20) + 1])
def test_bad_chunk_size_raises_value_error(chunk_size):
    with pytest.raises(ValueError):
        sigmalang.compress(b"x", chunk_size=chunk_size)


@pytest.mark.parametrize("chunk_size", [1.5, "4096", True])
def test_chunk_size_of_wrong_type_raises_type_error(chunk_size):
    with pytest.raises(TypeError, match="chunk_size"):
        sigmalang.compress(b"x", chunk_size=chunk_size)


@pytest.mark.parametrize(("level", "chunk_size"), [(1, 4 << 20), (6, 4 << 20), (7, 8 << 20), (9, 16 << 20)])
def test_no_chunk_size_means_the_levels_own(level, chunk_size):
    assert sigmalang.SigmaCompressor(level).chunk_size == chunk_size
    header = sigmalang.compress(b"x", level)
    assert sigmalang.compress(b"x", level, chunk_size=chunk_size) == header


def test_memory_helpers_follow_configuration():
    small = sigmalang.estimate_memory_usage(64 << 10)
    large = sigmalang.estimate_memory_usage(4 << 20)
    assert 0 < small.total < large.total
    assert small.total == sum(small.parts.values())
    assert sigmalang.estimate_memory_usage(1 << 20, workers=2).total > sigmalang.estimate_memory_usage(1 << 20).total
    cmp = sigmalang.get_streaming_vs_full_memory(1 << 30)
    assert cmp["full"] > cmp["streaming"] and cmp["factor"] > 1
    assert sigmalang.get_optimal_chunk_size() == sigmalang.DEFAULT_CHUNK_SIZE
    budget = sigmalang.estimate_memory_usage(256 << 10).total
    chosen = sigmalang.get_optimal_chunk_size(memory_budget=budget)
    assert sigmalang.estimate_memory_usage(chosen).total <= budget
    assert chosen == 256 << 10
    with pytest.raises(ValueError):
        sigmalang.get_optimal_chunk_size(memory_budget=1)


def test_one_worker_estimate_counts_the_chunk_its_coding_thread_holds():
    """The command line's -T 1 codes on a thread of its own: its in-flight window holds the chunk
    queued behind the one being coded (a decode: a decoded chunk waiting to be written), on top of
    the reader's buffers and the read-ahead queue (docs/memory.md)."""
    mib, chunk = 1 << 20, 4 << 20
    encode = sigmalang.estimate_memory_usage(chunk, 1, 1)
    assert encode.parts["buffers"] == 1 * mib + (9 + 2 * 1 + 1) * chunk
    decode = sigmalang.estimate_memory_usage(chunk, 1, 1, mode="decode")
    assert decode.parts["buffers"] == 2 * mib + int((1.5 + 2 * 1 + 0.5) * chunk)
    one_chunk = sigmalang.estimate_memory_usage(chunk, 1, 1, input_size=chunk)
    assert one_chunk.parts["buffers"] == 1 * mib + 3 * chunk  # nothing queued behind a single chunk


def test_shared_context_memory_estimate_counts_context_and_runs():
    """A shared-context stream keeps its history and long-range source on top of a one-worker
    run; encoding with workers holds whole runs of RESET_INTERVAL chunks, in the parent and in each
    worker, so it grows with the chunk size times the run length; decoding uses no workers."""
    from sigmalang._frames import RESET_INTERVAL
    from sigmalang._longrange import LONG_WINDOW

    chunk = 1 << 20
    for mode in ("encode", "decode"):
        alone = sigmalang.estimate_memory_usage(chunk, mode=mode)
        shared = sigmalang.estimate_memory_usage(chunk, mode=mode, shared_context=True)
        assert shared.total - alone.total >= LONG_WINDOW
        assert shared.total == sum(shared.parts.values())
    two = sigmalang.estimate_memory_usage(chunk, 2, shared_context=True)
    assert two.parts["buffers"] >= 2 * RESET_INTERVAL * chunk  # the runs in flight
    assert two.parts["workers"] >= 2 * RESET_INTERVAL * chunk
    decode_two = sigmalang.estimate_memory_usage(chunk, 2, mode="decode", shared_context=True)
    assert "workers" not in decode_two.parts
    short = sigmalang.estimate_memory_usage(chunk, 4, shared_context=True, input_size=3 * chunk)
    assert short.parts["workers"] < two.parts["workers"]  # one run: one busy worker
