"""Long-range references in shared-context streams: transforms 2 and 3 (docs/FORMAT.md §7,
``sigmalang._longrange``): every decoder path, damaged match lists, reset points, determinism."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigmalang
from conftest import map_stream
from sigmalang import SigmaDecompressor, SigmaFormatError, StreamingDecoder, StreamingEncoder
from sigmalang._backend_base import STORE
from sigmalang._compressor import SigmaCompressor
from sigmalang._container import StreamParser
from sigmalang._frames import RESET_INTERVAL, FrameContext, decode_frame
from sigmalang._index import SeekTable
from sigmalang._levels import LEVELS, LONG_TRANSFORMS, TRANSFORM_LONG_LITERAL, TRANSFORM_SEMANTIC
from sigmalang._longrange import MIN_MATCH, Matcher, cut, encode_list, parse_list
from sigmalang._recover import scan
from sigmalang._stream_records import Frame
from sigmalang._wire import encode_varint
from sigmalang.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def frames_of(blob: bytes) -> list[Frame]:
    parser = StreamParser(codebook_id=None)
    parser.feed(blob)
    out = []
    while (event := parser.next_event()) is not None:
        if isinstance(event, Frame):
            out.append(event)
    return out


def planted(size: int, seed: int) -> bytes:
    """Text with blocks of 300-3000 bytes repeated at distances up to ~*size*: new text and
    copies of earlier output alternate, so repeats cross chunk boundaries at any chunk size."""
    text = (SAMPLES / "dickens-sample.txt").read_bytes()[:400_000] + (SAMPLES / "loghub-sample.log").read_bytes()
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        if len(out) > 4000 and rng.random() < 0.5:
            start = rng.randrange(0, len(out) - 3000)
            out += out[start : start + rng.randrange(300, 3000)]
        else:
            start = rng.randrange(0, len(text) - 3000)
            out += text[start : start + rng.randrange(200, 3000)]
    return bytes(out[:size])


@pytest.fixture(scope="module")
def repeats() -> bytes:
    return planted(200_000, 1)


def long_frames(blob: bytes) -> list[Frame]:
    return [f for f in frames_of(blob) if f.transform in LONG_TRANSFORMS]


@pytest.mark.slow  # decodes with a process pool too
@pytest.mark.parametrize(("level", "chunk_size"), [(1, 4096), (3, 16384), (6, 65536), (6, 8192)])
def test_round_trip_through_every_decoder(tmp_path: Path, repeats: bytes, level: int, chunk_size: int) -> None:
    data = repeats
    blob = sigmalang.compress(data, level, chunk_size=chunk_size, shared_context=True)
    used = long_frames(blob)
    assert used and any(f.continues for f in used)
    # the inner transform is the level's: literal (2) at zstd and CM levels, semantic (3) at level 3
    assert {f.transform for f in used} <= ({2, 3} if LEVELS[level].transform == TRANSFORM_SEMANTIC else {2})
    assert sigmalang.decompress(blob) == data
    decomp = SigmaDecompressor()
    assert b"".join(decomp.decompress(blob[i : i + 1000]) for i in range(0, len(blob), 1000)) == data
    for workers in (1, 2):
        sink = io.BytesIO()
        StreamingDecoder(workers=workers).decode_stream(io.BytesIO(blob), sink)
        assert sink.getvalue() == data
    salvaged = bytearray()
    assert scan(io.BytesIO(blob), salvaged.extend).ok and bytes(salvaged) == data
    path = tmp_path / "long.sgl"
    path.write_bytes(blob)
    with sigmalang.open(path) as f:  # random access: decodes from the reset point before
        for start in (150_000, 1000, 99_000, 190_000, chunk_size * RESET_INTERVAL + 7):
            f.seek(start)
            assert f.read(5000) == data[start : start + 5000]
    with path.open("rb") as fp:
        table = SeekTable.from_file(fp)
        for i in (len(table.original_sizes) - 1, min(RESET_INTERVAL + 5, len(table.original_sizes) - 1)):
            want = data[table.original_offsets[i] : table.original_offsets[i] + table.original_sizes[i]]
            assert table.read_frame(fp, i) == want
    assert main(["verify", "-q", str(path)]) == 0


def test_long_range_improves_repeats(repeats: bytes) -> None:
    off = SigmaCompressor(3, chunk_size=8192, shared_context=True)
    off.context = FrameContext(long_range=False)
    without = off.compress(repeats) + off.flush()
    with_long = sigmalang.compress(repeats, 3, chunk_size=8192, shared_context=True)
    assert not long_frames(without)
    assert len(with_long) < 0.95 * len(without)  # the priming window already sees the nearest repeats


@pytest.mark.parametrize("size", [40_000, pytest.param(120_000, marks=pytest.mark.slow)])
def test_a_chunk_that_gains_nothing_is_coded_as_before(size: int) -> None:
    data = (SAMPLES / "dickens-sample.txt").read_bytes()[:size]  # no repeat of 256 bytes
    off = SigmaCompressor(6, chunk_size=8192, shared_context=True)
    off.context = FrameContext(long_range=False)
    assert sigmalang.compress(data, 6, chunk_size=8192, shared_context=True) == off.compress(data) + off.flush()


def test_reset_points_reference_only_their_own_chunk(repeats: bytes) -> None:
    lines = repeats.splitlines(keepends=True)
    data = b"".join(b"".join(lines[i : i + 12]) * 2 for i in range(0, 1200, 12))  # each block twice
    blob = sigmalang.compress(data, 1, chunk_size=4096, shared_context=True)
    assert sigmalang.decompress(blob) == data
    frames = frames_of(blob)
    resets = [f for f in frames if f.transform in LONG_TRANSFORMS and not f.continues]
    assert resets  # a repeat inside a reset point's own chunk
    for frame in frames:
        if frame.number % RESET_INTERVAL == 0:
            assert not frame.continues
            alone = decode_frame(frame, context=FrameContext())  # nothing before it is needed
            assert alone == data[frame.original_offset : frame.original_offset + frame.original_size]
        if frame.transform in LONG_TRANSFORMS and not frame.continues:
            matches, _ = parse_list(frame.data, frame.original_size, 0)
            assert all(distance <= pos for pos, distance, _ in matches)


@pytest.mark.parametrize("level", [1, 6])
def test_a_chunk_repeated_whole_is_a_few_bytes(level: int) -> None:
    text = (SAMPLES / "dickens-sample.txt").read_bytes()[:8192]
    text = text[: text.rfind(b"\n") + 1]
    data = text * 5
    blob = sigmalang.compress(data, level, chunk_size=len(text), shared_context=True)
    frames = frames_of(blob)
    assert [(f.transform, f.backend, f.continues) for f in frames[1:]] == [(TRANSFORM_LONG_LITERAL, STORE, True)] * 4
    assert all(len(f.data) < 12 for f in frames[1:])  # L = 0, one match, an empty rest
    assert sigmalang.decompress(blob) == data
    decomp = SigmaDecompressor()
    assert b"".join(decomp.decompress(blob[i : i + 7]) for i in range(0, len(blob), 7)) == data


def test_independent_streams_never_use_long_range(repeats: bytes) -> None:
    for level in (1, 3, 6):
        blob = sigmalang.compress(repeats, level, chunk_size=8192)
        assert not long_frames(blob)
        assert sigmalang.decompress(blob) == repeats


@pytest.mark.slow  # process pool
def test_same_bytes_for_any_worker_count() -> None:
    data = planted(120_000, 5)
    outs = []
    for workers in (1, 2):
        sink = io.BytesIO()
        StreamingEncoder(1, 2048, shared_context=True).encode_stream(io.BytesIO(data), sink, workers=workers)
        outs.append(sink.getvalue())
    assert len(frames_of(outs[0])) > 2 * RESET_INTERVAL and long_frames(outs[0])
    assert outs[0] == outs[1] == sigmalang.compress(data, 1, chunk_size=2048, shared_context=True)
    assert sigmalang.decompress(outs[0]) == data


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 40_000),
    chunk_size=st.integers(64, 8192),
    level=st.sampled_from([0, 1, 3]),
)
def test_random_bytes_with_planted_repeats(seed: int, size: int, chunk_size: int, level: int) -> None:
    rng = random.Random(seed)
    alphabet = bytes(range(256)) + b"\n" * 8
    out = bytearray()
    while len(out) < size:
        if out and rng.random() < 0.4:
            start = rng.randrange(len(out))
            out += out[start : start + rng.randrange(1, 2 * MIN_MATCH + 500)]
        else:
            out += bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 700)))
    data = bytes(out[:size])
    blob = sigmalang.compress(data, level, chunk_size=chunk_size, shared_context=True)
    assert sigmalang.decompress(blob) == data
    if level == 0:
        assert not long_frames(blob)


def test_matches_are_real_repeats() -> None:
    data = planted(60_000, 9)
    matcher = Matcher()
    found = 0
    for pos in range(0, len(data), 5000):
        chunk = data[pos : pos + 5000]
        source = bytes(matcher.source)
        for start, distance, length in matcher.find(chunk):
            assert MIN_MATCH <= length <= distance
            whole = source + chunk
            at = len(source) + start
            assert whole[at - distance : at - distance + length] == chunk[start : start + length]
            found += 1
        matcher.advance(chunk, True)
    assert found


def test_matcher_memory_is_bounded() -> None:
    rng = random.Random(3)

    def unique(lines: int) -> bytes:
        return b"".join(b"%d %d\n" % (rng.getrandbits(64), i) for i in range(lines))

    block = unique(40)
    for distance_lines, found in ((100, True), (1000, False)):  # ~3 KB back: in the window; ~30 KB: not
        matcher = Matcher(window=10_000, bits=10)
        matcher.find(block)
        matcher.advance(block, True)
        for _ in range(distance_lines // 100):
            chunk = unique(100)
            matcher.find(chunk)
            matcher.advance(chunk, True)
            assert len(matcher.source) <= 10_000 and len(matcher.anchors) == 1024  # fixed size
        assert bool(matcher.find(block)) == found


# Hand-made frames: transform 2 over stored rest, after a history of known original bytes.
HISTORY = (SAMPLES / "dickens-sample.txt").read_bytes()[:3000]


def long_frame(matches: list[tuple[int, int, int]], chunk: bytes, continues: bool = True, raw: bytes = b"") -> Frame:
    body = (encode_varint(0) if continues else b"") + (raw or encode_list(matches) + cut(chunk, matches))
    return Frame(1, len(HISTORY), len(chunk), TRANSFORM_LONG_LITERAL, STORE, body, continues)


def context_after_history() -> FrameContext:
    context = FrameContext()
    context.advance(HISTORY, False, None, HISTORY)
    return context


def test_hand_made_long_range_frame_decodes() -> None:
    chunk = b"new text\n" + HISTORY[100:700] + b"more\n" + HISTORY[:50] + b"new text\n"
    frame = long_frame([(9, 3000 + 9 - 100, 600), (614, 3000 + 614, 50), (664, 664 - 0, 9)], chunk)
    assert decode_frame(frame, context=context_after_history()) == chunk


@pytest.mark.parametrize(
    ("matches", "raw", "message"),
    [
        ([(10, 3011, 20)], b"", "reaches 3011 bytes back, 3010 available"),  # before the history
        ([(10, 500, 100)], b"", "runs past"),  # past the end of the 60-byte chunk
        ([(0, 50, 20), (30, 20, 30)], b"", "overlaps its source"),  # source overlaps the span
        ([(0, 50, 0)], b"", "empty match"),
        ([], b"\x03\x00\x80", "truncated"),  # list cut inside a varint
        ([], b"\x00", "match list of 0 entries"),
        ([], b"\x02\x00\x64\x0a", "truncated"),  # second entry missing
    ],
)
def test_damaged_match_lists_name_the_frame(matches: list[tuple[int, int, int]], raw: bytes, message: str) -> None:
    chunk = HISTORY[:60]
    frame = long_frame(matches, chunk, raw=raw) if raw else long_frame(matches, chunk)
    context = context_after_history()
    with pytest.raises(SigmaFormatError, match=message) as info:
        decode_frame(frame, context=context)
    assert info.value.frame == 1
    assert context.broken


def test_long_range_frames_need_their_context() -> None:
    chunk = HISTORY[:60]
    frame = long_frame([(0, 3000, 60)], chunk)
    with pytest.raises(SigmaFormatError, match="independent frames") as info:
        decode_frame(frame)  # no context: the stream's frames are independent
    assert info.value.frame == 1
    with pytest.raises(SigmaFormatError, match="reaches 3000 bytes back, 0 available"):
        decode_frame(long_frame([(0, 3000, 60)], chunk, continues=False), context=context_after_history())
    with pytest.raises(SigmaFormatError, match="stored data is 31 bytes, expected 30"):  # rest of the wrong length
        bad = long_frame([(0, 3000, 30)], chunk)
        decode_frame(Frame(1, 3000, 60, bad.transform, STORE, bad.data + b"x", True), context=context_after_history())


def test_damaged_long_range_stream_is_located(repeats: bytes) -> None:
    blob = sigmalang.compress(repeats[:60_000], 1, chunk_size=4096, shared_context=True)
    target = next(f for f in long_frames(blob) if f.continues)
    span = map_stream(blob).frames[target.number]
    broken = bytearray(blob)
    broken[span.end - 6] ^= 0x55
    with pytest.raises(SigmaFormatError) as info:
        sigmalang.decompress(bytes(broken))
    assert info.value.frame == target.number
    salvaged = bytearray()
    result = scan(io.BytesIO(bytes(broken)), salvaged.extend)  # loses the frames up to the next reset
    frames = frames_of(blob)
    next_reset = next((f.number for f in frames[target.number + 1 :] if not f.continues), len(frames))
    assert [d.number for d in result.streams[0].damaged] == list(range(target.number, next_reset))
    kept = [f for f in frames if not target.number <= f.number < next_reset]
    assert bytes(salvaged) == b"".join(repeats[f.original_offset : f.original_offset + f.original_size] for f in kept)
