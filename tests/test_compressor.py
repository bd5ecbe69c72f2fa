"""One-shot and incremental API (``compress``/``decompress``, ``SigmaCompressor``, ``SigmaDecompressor``).

The central claim: ``decompress(compress(x, level=L, chunk_size=C)) == x`` for every byte string,
level and chunk size.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import sys
import types
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from conftest import map_stream, mixed_bytes, read_text_file
from sigmalang import SigmaCompressor, SigmaDecompressor, SigmaFormatError, SigmaTruncatedError, compress, decompress
from sigmalang._container import MAGIC
from sigmalang._stream import StreamingEncoder

levels = st.sampled_from(range(10))
chunk_sizes = st.integers(min_value=1, max_value=4096) | st.sampled_from([65536, 1 << 20, 4 << 20])

# -- round trips ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=10_000), levels, chunk_sizes)
def test_round_trip_arbitrary_bytes(data, level, chunk_size):
    blob = compress(data, level=level, chunk_size=chunk_size)
    assert blob.startswith(MAGIC)
    assert decompress(blob) == data


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=5000, max_value=200_000),
    st.integers(min_value=0, max_value=2**32),
    st.sampled_from([0, 1, 6]),
    st.integers(min_value=50, max_value=50_000),
)
def test_round_trip_larger_mixed_input(size, seed, level, chunk_size):
    data = mixed_bytes(size, seed)
    assert decompress(compress(data, level=level, chunk_size=chunk_size)) == data


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from([b"word ", b"line\n", b"\r\n", b"\n", b"\x00", b"\xff\xfe", "é€".encode()])).map(b"".join),
    st.integers(min_value=1, max_value=300),
    st.sampled_from([0, 1, 9]),
)
def test_round_trip_line_heavy_input(data, chunk_size, level):
    assert decompress(compress(data, level=level, chunk_size=chunk_size)) == data


@pytest.mark.parametrize("level", range(10))
def test_empty_input(level):
    blob = compress(b"", level=level)
    assert decompress(blob) == b""
    assert map_stream(blob).frames == []


@pytest.mark.parametrize("level", [0, 6, 9])
@pytest.mark.parametrize("chunk_size", [1, 2, 1 << 20])
def test_one_byte(level, chunk_size):
    for byte in (b"\x00", b"\n", b"\xff", b"a"):
        assert decompress(compress(byte, level=level, chunk_size=chunk_size)) == byte


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 16, 100, 4096])
@pytest.mark.parametrize("pattern", [b"x", b"ab\n", b"\n", b"longer line of text\n", bytes(range(256))])
@pytest.mark.parametrize("multiple", [1, 2, 5])
def test_exact_multiples_of_the_chunk_size(chunk_size, pattern, multiple):
    data = (pattern * (chunk_size * multiple))[: chunk_size * multiple]
    blob = compress(data, level=1, chunk_size=chunk_size)
    assert decompress(blob) == data
    sizes = map_stream(blob).frame_sizes
    assert sum(sizes) == len(data) and max(sizes) <= chunk_size
    if b"\n" not in data:
        assert sizes == [chunk_size] * multiple


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 40,
        b"\xff\xfe\x00\x00" * 1000,  # UTF-32 BOM-ish
        "naïve café — ünïcödé\n".encode("utf-16"),
        b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc" * 300,  # invalid UTF-8 sequences
        b"\r" * 5000,
        b"\n" * 5000,
        b"\x00" * 100_000,
    ],
)
@pytest.mark.parametrize(
    "chunk_size",
    [
        pytest.param(1, marks=pytest.mark.slow),
        pytest.param(7, marks=pytest.mark.slow),
        1024,
        1 << 20,
    ],  # 1 and 7: up to 100,000 frames
)
def test_binary_and_non_utf8_input(data, chunk_size):
    if chunk_size == 1:
        data = data[:3000]
    for level in (0, 6):
        assert decompress(compress(data, level=level, chunk_size=chunk_size)) == data


def test_random_incompressible_input_is_stored():
    data = random.Random(1).randbytes(300_000)
    blob = compress(data, level=9, chunk_size=65536)
    assert decompress(blob) == data
    overhead = len(blob) - len(data)
    assert 0 < overhead < 200  # stored frames: a few dozen bytes each at most


@pytest.mark.parametrize(
    "name",
    [
        "dickens-64k",
        "loghub-small",
        pytest.param("dickens-sample", marks=pytest.mark.slow),
        pytest.param("loghub-sample", marks=pytest.mark.slow),
    ],  # the samples: 1 MiB and 424 KB
)
@pytest.mark.parametrize("chunk_size", [1024, 65536, sigmalang.DEFAULT_CHUNK_SIZE])
def test_text_fixtures_round_trip(name, chunk_size):
    data = read_text_file(name)
    level = 1 if chunk_size == 1024 and len(data) > 100_000 else sigmalang.DEFAULT_LEVEL
    blob = compress(data, level=level, chunk_size=chunk_size)
    assert len(blob) < len(data)
    assert decompress(blob) == data
    sizes = map_stream(blob).frame_sizes
    assert max(sizes) <= chunk_size
    assert len(sizes) >= len(data) // chunk_size


@pytest.mark.slow  # a 10 MB input
def test_a_10_mb_chunk_is_not_truncated():
    # The prototype cut every chunk over 64 KB to 65,535 bytes. One 10 MB chunk, half incompressible.
    data = mixed_bytes(10_000_000, seed=10)
    blob = compress(data, level=1, chunk_size=16 << 20)
    stream = map_stream(blob)
    assert stream.frame_sizes == [len(data)]
    assert decompress(blob) == data
    decomp = SigmaDecompressor()
    out = bytearray()
    for i in range(0, len(blob), 1 << 20):
        out += decomp.decompress(blob[i : i + (1 << 20)])
    assert decomp.eof and out == data


def test_a_10_mb_stored_chunk_is_not_truncated():
    data = random.Random(11).randbytes(10_000_000)
    blob = compress(data, level=0, chunk_size=16 << 20)
    assert map_stream(blob).frame_sizes == [len(data)]
    assert len(blob) > len(data)
    assert decompress(blob) == data


# -- SigmaCompressor ---------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=5000), chunk_sizes, st.sampled_from([0, 1, 6]), st.lists(st.integers(0, 700)))
def test_compressor_in_slices_matches_compress(data, chunk_size, level, slice_sizes):
    comp = SigmaCompressor(level, chunk_size=chunk_size)
    out = bytearray()
    pos = 0
    for size in slice_sizes:
        out += comp.compress(data[pos : pos + size])
        pos += size
    out += comp.compress(memoryview(data)[pos:])
    out += comp.flush()
    assert bytes(out) == compress(data, level=level, chunk_size=chunk_size)


@contextlib.contextmanager
def frames_kept() -> Iterator[list[types.FrameType]]:
    """Keep the frame of every call into sigmalang made in this thread, as a sampling profiler
    does for a moment (Dask's, in each worker, takes the frames of running tasks every 10 ms): a
    frame kept after its call returned keeps its arguments and local variables alive."""
    kept: list[types.FrameType] = []
    package = os.path.dirname(sigmalang.__file__)

    def profile(frame: types.FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(package):
            kept.append(frame)

    sys.setprofile(profile)
    try:
        yield kept
    finally:
        sys.setprofile(None)


def test_a_profiler_keeping_frames_does_not_pin_the_compressor_s_buffer():
    """A view of the compressor's buffer handed to a function (as its argument) lived on in the
    function's frame when something kept that frame: the buffer then could not grow or shrink
    (BufferError from to_sgl in a Dask worker). Every view of it is released when its use ends."""
    data = read_text_file("loghub-small")[:40_000]
    comp = SigmaCompressor(1, chunk_size=4096)
    out = bytearray()
    with frames_kept() as kept:
        for start in range(0, len(data), 1000):
            out += comp.compress(data[start : start + 1000])
        out += comp.flush()
    assert kept  # the profile hook saw the calls
    assert bytes(out) == compress(data, level=1, chunk_size=4096)


def test_a_profiler_keeping_frames_does_not_pin_what_a_file_writes():
    """The same for the caller's own buffer, written through SigmaFile: the caller may grow it
    once write() has returned."""
    data = bytearray(read_text_file("loghub-small")[:20_000])
    out = io.BytesIO()
    with frames_kept(), sigmalang.open(out, "wb", level=1) as f:
        f.write(data)
        data += b"one more line\n"
        f.write(data[-14:])
    assert decompress(out.getvalue()) == bytes(data)


def test_compressor_emits_frames_before_flush():
    comp = SigmaCompressor(1, chunk_size=1000)
    early = comp.compress(b"x" * 5000)
    assert len(early) > len(MAGIC)
    blob = early + comp.flush()
    assert len(map_stream(blob).frames) == 5


def test_flush_twice_raises():
    comp = SigmaCompressor()
    comp.compress(b"abc")
    comp.flush()
    with pytest.raises(ValueError):
        comp.flush()
    with pytest.raises(ValueError):
        comp.compress(b"more")


def test_compressor_rejects_bad_options():
    with pytest.raises(ValueError):
        SigmaCompressor(11)
    with pytest.raises(ValueError):
        SigmaCompressor(chunk_size=0)


# -- SigmaDecompressor -------------------------------------------------------


def stream_of(data=b"", **kwargs):
    return compress(data, **kwargs)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.integers(min_value=1, max_value=700), st.integers(min_value=0, max_value=500))
def test_max_length_is_respected(data, chunk_size, max_length):
    blob = compress(data, level=1, chunk_size=chunk_size)
    decomp = SigmaDecompressor()
    out = bytearray()
    first = decomp.decompress(blob, max_length)
    assert len(first) <= max_length
    out += first
    for _ in range(len(data) + 10):
        if decomp.eof:
            break
        assert not decomp.needs_input  # all input was given; only output is pending
        piece = decomp.decompress(b"", max_length)
        assert len(piece) <= max_length
        out += piece
        if max_length == 0:
            break
    if max_length:
        assert decomp.eof and bytes(out) == data


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=200))
def test_one_byte_in_at_most_one_byte_out(data, chunk_size):
    blob = compress(data, level=0, chunk_size=chunk_size)
    decomp = SigmaDecompressor()
    out = bytearray()
    pos = 0
    while not decomp.eof:
        if decomp.needs_input:
            assert pos < len(blob), "needs_input with the whole stream already given"
            piece = decomp.decompress(blob[pos : pos + 1], 1)
            pos += 1
        else:
            piece = decomp.decompress(b"", 1)
        assert len(piece) <= 1
        out += piece
    assert pos == len(blob)
    assert bytes(out) == data
    assert decomp.unused_data == b""
    assert not decomp.needs_input


def test_unlimited_output_drains_everything():
    data = b"0123456789" * 10_000
    decomp = SigmaDecompressor()
    assert decomp.needs_input
    assert decomp.decompress(stream_of(data, chunk_size=1000)) == data
    assert decomp.eof and not decomp.needs_input


def test_unused_data_and_eof_error():
    decomp = SigmaDecompressor()
    assert decomp.decompress(stream_of(b"payload") + b"after the stream") == b"payload"
    assert decomp.eof
    assert decomp.unused_data == b"after the stream"
    with pytest.raises(EOFError):
        decomp.decompress(b"x")


def test_unused_data_holds_a_following_stream():
    second = stream_of(b"two")
    decomp = SigmaDecompressor()
    assert decomp.decompress(stream_of(b"one") + second) == b"one"
    assert decomp.unused_data == second


def test_unused_data_is_empty_until_eof():
    blob = stream_of(b"abc" * 100, chunk_size=50)
    decomp = SigmaDecompressor()
    decomp.decompress(blob[:-1])
    assert not decomp.eof and decomp.unused_data == b"" and decomp.needs_input
    assert decomp.decompress(blob[-1:] + b"!") == b""
    assert decomp.eof and decomp.unused_data == b"!"


def test_close_reports_truncation():
    decomp = SigmaDecompressor()
    decomp.decompress(stream_of(b"abc")[:-5])
    with pytest.raises(SigmaTruncatedError):
        decomp.close()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=500), st.integers(1, 300), levels), max_size=5))
def test_concatenated_streams_decompress_to_the_concatenation(parts):
    blob = b"".join(compress(d, level=lv, chunk_size=cs) for d, cs, lv in parts)
    if not parts:
        with pytest.raises(SigmaTruncatedError):
            decompress(blob)
        return
    assert decompress(blob) == b"".join(d for d, _, _ in parts)


@pytest.mark.parametrize("garbage", [b"x", b"\x00", b"\x00" * 100, b"not a stream", MAGIC[:1] + b"Z"])
def test_trailing_garbage_raises(garbage):
    blob = stream_of(b"good data") + garbage
    with pytest.raises(SigmaFormatError) as info:
        decompress(blob)
    assert info.value.offset == len(blob) - len(garbage)


@pytest.mark.parametrize("partial", [MAGIC[:1], MAGIC, stream_of(b"second")[:-1]])
def test_trailing_partial_stream_is_truncation(partial):
    with pytest.raises(SigmaTruncatedError):
        decompress(stream_of(b"first") + partial)


@pytest.mark.slow  # decodes every prefix of a stream
def test_every_prefix_of_a_stream_is_truncated():
    data = b"line of text\n" * 50
    blob = compress(data, level=6, chunk_size=128)
    for cut in range(len(blob)):
        with pytest.raises(SigmaTruncatedError):
            decompress(blob[:cut])


def test_truncation_says_how_much_is_intact():
    data = b"".join(b"line %d\n" % i for i in range(2000))
    blob = compress(data, level=1, chunk_size=1000)
    stream = map_stream(blob)
    assert len(stream.frames) > 5
    for k in (0, 1, 3, len(stream.frames)):
        cut = stream.frames[k].offset if k < len(stream.frames) else stream.index.offset
        for extra in (0, 1):
            with pytest.raises(SigmaTruncatedError) as info:
                decompress(blob[: cut + extra])
            intact = sum(stream.frame_sizes[:k])
            message = str(info.value)
            assert info.value.frame == k
            assert f"{k} complete frames" in message
            assert f"{intact} original bytes intact" in message
            assert isinstance(info.value, SigmaFormatError)


@pytest.mark.parametrize("bad", [b"", b"\xce", MAGIC[:5], MAGIC])
def test_empty_or_tiny_input_is_truncation(bad):
    with pytest.raises(SigmaTruncatedError):
        decompress(bad)


def test_wrong_magic_is_a_format_error():
    blob = stream_of(b"abc")
    with pytest.raises(SigmaFormatError) as info:
        decompress(b"\x00" + blob[1:])
    assert not isinstance(info.value, SigmaTruncatedError)
    assert "magic" in str(info.value)
    with pytest.raises(SigmaFormatError):
        decompress(b"PK\x03\x04 definitely a zip file")


# -- determinism across APIs ----------------------------------------------------


@pytest.mark.parametrize(("level", "chunk_size"), [(0, 100), (3, 4096), (6, 1 << 20), (9, 65536)])
def test_same_bytes_from_every_api(level, chunk_size, tmp_path, loghub_small):
    from sigmalang.cli import MIN_CHUNK_SIZE, main

    expected = compress(loghub_small, level=level, chunk_size=chunk_size)
    assert compress(loghub_small, level=level, chunk_size=chunk_size) == expected
    out = io.BytesIO()
    StreamingEncoder(level, chunk_size).encode_stream(io.BytesIO(loghub_small), out)
    assert out.getvalue() == expected
    src = tmp_path / "log"
    src.write_bytes(loghub_small)
    if chunk_size >= MIN_CHUNK_SIZE:  # the smallest the command line takes
        assert main(["encode", "-q", "--no-filter", f"-{level}", "--chunk-size", str(chunk_size), str(src)]) == 0
        assert (tmp_path / "log.sgl").read_bytes() == expected
    with sigmalang.open(tmp_path / "via-open.sgl", "wb", level=level, chunk_size=chunk_size) as f:
        f.write(loghub_small)
    assert (tmp_path / "via-open.sgl").read_bytes() == expected
