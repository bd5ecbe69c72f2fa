"""The filter builder works in bounded memory and writes the very bytes it wrote when it held a
whole chunk's items at once: against the plain builder in `filters_reference`, on drawn chunk
sequences (with tiny slices, so every seam is crossed), and against digests of the extensions the
earlier builder wrote for fixed inputs (chunk seams, lines across frames, over 8 frames, empty
chunks, non-ASCII bytes, chunks of many slices)."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import filters_reference
import sigmalang
from conftest import FIXTURES
from filters_reference import ReferenceFilterBuilder
from sigmalang import _filter_items, _filters, _frames
from sigmalang._codec import encode_chunk
from sigmalang._filters import FilterBuilder


def _text(rng: random.Random, size: int) -> bytes:
    words = [b"the", b"Of", b"AND", b"blk_12", b"user42", b"2024", b"x", b"naive", b"caf\xc3\xa9", b"\xff\xfe", b"_"]
    out = bytearray()
    while len(out) < size:
        w = rng.choice(words) if rng.random() < 0.7 else rng.randbytes(rng.randrange(1, 9))
        out += w + rng.choice([b" ", b" ", b", ", b"\n", b"\r\n", b"\t", b"-", b"."])
    return bytes(out[:size])


def _cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@functools.cache
def golden_cases() -> dict[str, list[bytes]]:
    """Fixed chunk sequences; their extensions' digests are in GOLDEN."""
    rng = random.Random(20240607)
    prose = (FIXTURES / "dickens-64k.txt").read_bytes()
    logs = (FIXTURES / "loghub-small.log").read_bytes()
    out: dict[str, list[bytes]] = {}
    out["prose-10k"] = _cut(prose, 10_000)
    out["logs-4k"] = _cut(logs, 4096)
    out["logs-whole"] = [logs]
    long_line = b"start " + b" ".join(b"w%dq" % i for i in range(9000)) + b"\n"
    out["long-line"] = _cut(b"a first line\n" + long_line + logs[:20000], 10_000)
    huge = b"h" * 300_000 + b" " + _text(rng, 1_000_000).replace(b"\n", b" ") + b"\n"
    out["over-tail"] = _cut(b"before\n" + huge + b"after the long line\n" + logs[:30000], 256 << 10)
    out["empty-chunks"] = [b"", b"alpha beta\n", b"", b"gamma", b"", b" delta\nepsilon", b"", b"\n", b""]
    out["non-ascii"] = _cut(_text(rng, 300_000), 23_456)
    big = _text(rng, 700_000) + b"Z" * 400_000 + b"q" + _text(rng, 600_000) + b"12345" * 70_000
    out["big-chunk"] = [big, _text(rng, 50_000), big[:900_000] + b"\n"] + _cut(logs, 5000)
    out["long-line-shared"] = _cut(logs[:30000] + long_line + logs[30000:], 3000)
    out["few-frames"] = _cut(logs[:9000], 3000)
    out["one-chunk-no-lf"] = [b"just one chunk with no line feed"]
    out["no-items"] = [b"\n\n12 34\n", b"5678\n", b"\n"] * 5
    out["digits-only"] = _cut(b"".join(b"%d %d\n" % (i, i * 7) for i in range(20000)), 8192)
    return out


# (case, filter version): (length, SHA-256) of the extension the builder wrote before it bounded
# its memory (each chunk's record taken as 4 x its length + 100 bytes).
GOLDEN = {
    ("prose-10k", 1): (4179, "6d0968892068f5d7b0d44d3cfad0cd4631b8b8d5e9c6a98c69219bc06363046e"),
    ("prose-10k", 2): (2970, "d985b6b2da5c32b667ce6ee311a53c41de1be7ae3d96da69ef4fbd46ccd9e571"),
    ("logs-4k", 1): (3765, "bac33e5814c775fb3a0f66dd60f114d928eb76d4bcfe17f1d60b64060e353912"),
    ("logs-4k", 2): (2748, "ccd362fb30718a94f0174f78f4ae0321c8a34bd73ed570efebb07e9d3ca29462"),
    ("logs-whole", 1): (3646, "1e8a388fcf4e4b40aa79cef551e3ccd330bbf671f6af4ebb6731fab7d987c4b8"),
    ("logs-whole", 2): (3646, "1e8a388fcf4e4b40aa79cef551e3ccd330bbf671f6af4ebb6731fab7d987c4b8"),
    ("long-line", 1): (5215, "5c585ba8cb0d245533fdd7f35aa76fa9a818fab6038e6983c7bef9a26db40d2b"),
    ("long-line", 2): (5215, "5c585ba8cb0d245533fdd7f35aa76fa9a818fab6038e6983c7bef9a26db40d2b"),
    ("over-tail", 1): (83200, "cba0f28439166375fa6fbedbd2bd26c958a9bf96401a71211fb1ab26fc14566e"),
    ("over-tail", 2): (41763, "13395ca7aea1870e18105d5677868492a1bb927cec0b373e05cf7c3e84e2f493"),
    ("empty-chunks", 1): (138, "e65cb1f1ecf5b2aff3dd7acca88eab61fdf3a216be83d19edd1a4d518faac896"),
    ("empty-chunks", 2): (138, "e65cb1f1ecf5b2aff3dd7acca88eab61fdf3a216be83d19edd1a4d518faac896"),
    ("non-ascii", 1): (18900, "8bcfa26a006871408083483b1abf70ed081506c671659f6545125abf6cc2a655"),
    ("non-ascii", 2): (13492, "a3931e34932fa6696cc59acd87c186ded74a884f58bd7a999304c22fa4ed3075"),
    ("big-chunk", 1): (191297, "ede5f0e4f99d738362a41d3d937ccaa2f5d96ee23d9d91f076895accc23ca50f"),
    ("big-chunk", 2): (96771, "62c35dd5b53a38ec9378119e115e34a15aecfac8f459ceb9ac63094b17cf8128"),
    ("long-line-shared", 1): (7878, "a805f0fe694370d83c7bd6de15c6d9656d7acc6a7717ffc8f13946d805ed46cf"),
    ("long-line-shared", 2): (7130, "af29f6ffce22a46f23348e416c73f9d4554c99bc1d88ef2556f00d92177fd37d"),
    ("few-frames", 1): (601, "b545fb12a5483152dac61703c5c7c5cca53d48e7cd7e59f60beda41e8bc32d31"),
    ("few-frames", 2): (521, "52451a3fcbdf672122892f307c19a2a7f3ecd03d9e5b081466a909008863fa4c"),
    ("one-chunk-no-lf", 1): (31, "5858bde8b63c7c1c634dec23189712bc7ff4e0d63840988936d144852ceabe0a"),
    ("one-chunk-no-lf", 2): (31, "5858bde8b63c7c1c634dec23189712bc7ff4e0d63840988936d144852ceabe0a"),
    ("no-items", 1): (127, "3a4c7c2c3ffa0603878cbc5fbb844e23e02dea00e83962e757fc53f483e12935"),
    ("no-items", 2): (127, "3a4c7c2c3ffa0603878cbc5fbb844e23e02dea00e83962e757fc53f483e12935"),
    ("digits-only", 1): (268, "ec9562ba2784f8cd46645ad364ca04ec75334524352fae367111832ae9acfb11"),
    ("digits-only", 2): (268, "ec9562ba2784f8cd46645ad364ca04ec75334524352fae367111832ae9acfb11"),
}


def _extension(builder: Any, chunks: list[bytes], sizes: list[int] | None = None) -> bytes:
    for i, chunk in enumerate(chunks):
        builder.add(chunk, 4 * len(chunk) + 100 if sizes is None else sizes[i])
    return bytes(builder.encode())


@pytest.mark.parametrize("name, version", sorted(GOLDEN))
def test_extension_bytes_are_those_written_before(name: str, version: int) -> None:
    ext = _extension(FilterBuilder(version), golden_cases()[name])
    assert (len(ext), hashlib.sha256(ext).hexdigest()) == GOLDEN[name, version]


@contextmanager
def patched(module: Any, **values: int) -> Iterator[None]:
    old = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)


pieces = st.sampled_from(
    [
        b"a",
        b"B",
        b"z_",
        b"7",
        b"42",
        b"\n",
        b" ",
        b"\xe9",
        b"\xc3\xa9",
        b"-",
        b"ab",
        b"Q9",
        b"\r\n",
        b"word",
        b"x" * 30,
        b"y" * 260,
    ]
)
chunk_text = st.lists(pieces, max_size=40).map(b"".join)


@settings(max_examples=200)
@given(
    chunks=st.lists(chunk_text, max_size=20),
    sizes=st.lists(st.integers(0, 20_000), min_size=20, max_size=20),
    version=st.sampled_from([1, 2]),
    slice_=st.integers(1, 9),
    tail=st.sampled_from([3, 40, 1 << 20]),
    block=st.sampled_from([1, 3, 1 << 16]),
    bitmap=st.sampled_from([1, 1 << 20]),
)
def test_same_bytes_as_the_plain_builder(
    chunks: list[bytes], sizes: list[int], version: int, slice_: int, tail: int, block: int, bitmap: int
) -> None:
    """Slices of a few bytes, tiny merge and Bloom blocks and long words of a few bytes cross
    every seam the bounded builder has; a short line tail limit leaves some frames unfiltered; pieces
    gather their trigrams in the bitmap or slice by slice."""
    small = {"SLICE": slice_, "MERGE_AT": block, "LONG_WORD": block, "BITMAP_AT": bitmap}
    with (
        patched(_filters, MAX_LINE_TAIL=tail, BLOOM_BLOCK=block),
        patched(_filter_items, **small),
        patched(filters_reference, MAX_LINE_TAIL=tail),
    ):
        ours = _extension(FilterBuilder(version), chunks, sizes)
        plain = _extension(ReferenceFilterBuilder(version), chunks, sizes)
    assert ours == plain


@settings(max_examples=100)
@given(
    words=st.lists(st.tuples(st.sampled_from(b"ab7_"), st.integers(1, 300)), max_size=60),
    long_word=st.sampled_from([4, 64, 1 << 16]),
)
def test_word_hashes_of_a_slice(words: list[tuple[int, int]], long_word: int) -> None:
    """A slice's words hashed together (words of every length, longer and shorter than LONG_WORD,
    digits alone or not) are each word's own hash."""
    spaced = b" ".join(bytes([byte]) * n for byte, n in words)
    with patched(_filter_items, LONG_WORD=long_word):
        ours = sorted(_filter_items._word_hashes(spaced).tolist())
    plain = sorted(_filter_items.fnv1a64(b"\x01" + word) for word in spaced.split() if not word.isdigit())
    assert ours == plain


def test_stream_bytes_are_those_of_the_plain_builder() -> None:
    data = (FIXTURES / "loghub-small.log").read_bytes() + (FIXTURES / "dickens-64k.txt").read_bytes()
    ours = sigmalang.compress(data, 1, chunk_size=4096, filters=True)
    with patched(_frames, FilterBuilder=ReferenceFilterBuilder):  # type: ignore[arg-type]
        plain = sigmalang.compress(data, 1, chunk_size=4096, filters=True)
    assert ours == plain
    assert ours != sigmalang.compress(data, 1, chunk_size=4096, filters=False)


def test_memory_does_not_grow_with_the_chunk() -> None:
    """Building a 4 MiB chunk's filter takes a few MiB besides the chunk (the builder that held
    every item at once took about 80 MiB), no more than a chunk a quarter of its size (both gather
    their trigrams in the bitmap; shorter pieces take less)."""
    prose = (FIXTURES / "dickens-64k.txt").read_bytes()
    peaks = []
    for size in (1 << 20, 4 << 20):
        chunk = (prose * (size // len(prose) + 1))[:size]
        builder = FilterBuilder()
        tracemalloc.start()
        try:
            builder.add(chunk, size // 4)
            builder.encode()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < 8 << 20
    assert peaks[1] < peaks[0] + (1 << 20)


def test_estimate_counts_the_filter_builder_once_whatever_the_chunk() -> None:
    for chunk in (1 << 20, 4 << 20, 64 << 20):
        for level, workers in ((1, 1), (1, 4), (6, 1)):
            plain = sigmalang.estimate_memory_usage(chunk, workers, level)
            filtered = sigmalang.estimate_memory_usage(chunk, workers, level, filters=True)
            assert filtered.parts["filters"] == filtered.total - plain.total
            assert 4 << 20 <= filtered.total - plain.total <= 16 << 20
        decode = sigmalang.estimate_memory_usage(chunk, mode="decode")
        assert sigmalang.estimate_memory_usage(chunk, mode="decode", filters=True) == decode


def test_a_frame_given_ahead_makes_the_same_stream() -> None:
    """The stream encoder gives the search filters a stream's last chunk while it is being coded
    (FrameWriter.feed_ahead): the same index as when the chunk comes with its record, whatever the
    executor; a chunk that is not the next to be recorded is not taken ahead."""
    logs = (FIXTURES / "loghub-small.log").read_bytes()
    for chunks in (_cut(logs, 9000), [logs], [logs[:5000], logs[5000:5100].replace(b"\n", b" ")]):
        data = b"".join(chunks)
        plain = _frames.FrameWriter(1, 1 << 16, filters=True)
        ahead = _frames.FrameWriter(1, 1 << 16, filters=True)
        records = [plain.start()]
        assert ahead.start() == records[0]
        for number, chunk in enumerate(chunks):
            coded = encode_chunk(chunk, 1)
            records.append(plain.record(chunk, coded.transform, coded.backend, coded.data))
            ahead.feed_ahead(number + 1, chunks[number + 1] if number + 1 < len(chunks) else b"x")  # not the next
            if number % 2 == 0:  # every other chunk ahead, the others with their record
                ahead.feed_ahead(number, chunk)
                ahead.feed_ahead(number, chunk)  # once only
            assert ahead.record(chunk, coded.transform, coded.backend, coded.data) == records[-1]
        assert ahead.finish() == plain.finish()
        for size in (9000, 1 << 16):
            with ThreadPoolExecutor(1) as thread:  # as the command line codes one worker's frames
                out = io.BytesIO()
                encoder = sigmalang.StreamingEncoder(1, size, filters=True, executor=thread)
                encoder.encode_stream(io.BytesIO(data), out)
            assert out.getvalue() == sigmalang.compress(data, 1, chunk_size=size, filters=True)


def test_the_builder_takes_a_record_size_for_each_chunk_in_turn() -> None:
    builder = FilterBuilder()
    builder.feed(b"alpha beta\n")
    with pytest.raises(ValueError, match="no record size yet"):
        builder.feed(b"gamma\n")
    with pytest.raises(ValueError, match="has no record size"):
        builder.encode()
    builder.size(100)
    with pytest.raises(ValueError, match="no frame is waiting"):
        builder.size(100)
    plain = FilterBuilder()
    plain.add(b"alpha beta\n", 100)
    assert builder.encode() == plain.encode()
