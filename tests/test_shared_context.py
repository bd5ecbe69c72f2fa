"""Shared-context streams (``--shared-context``): frames primed with the history of the frames
before them, a reset point every RESET_INTERVAL frames, and every decoder path in order."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigmalang
from conftest import map_stream, service_log
from sigmalang import (
    SigmaDecompressor,
    SigmaFormatError,
    SigmaTruncatedError,
    StreamingDecoder,
    StreamingEncoder,
    _frames,
    _records,
)
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._backends import ZstdBackend
from sigmalang._codec import encode_chunk
from sigmalang._container import StreamParser
from sigmalang._frames import CONTEXT_WINDOW, MAX_CONTEXT, RESET_INTERVAL, FrameContext, FrameWriter, decode_frame
from sigmalang._index import SeekTable
from sigmalang._levels import TRANSFORM_RECORDS
from sigmalang._recover import scan
from sigmalang._stream_records import FLAG_SHARED_CONTEXT
from sigmalang._stream_records import Frame as FrameRecord
from sigmalang._wire import read_varint
from sigmalang.cli import main
from sigmalang.semantic import build_codebook

VECTORS = Path(__file__).resolve().parent / "vectors"


def frames_of(blob: bytes) -> list[FrameRecord]:
    parser = StreamParser(codebook_id=None)
    parser.feed(blob)
    out = []
    while (event := parser.next_event()) is not None:
        if isinstance(event, FrameRecord):
            out.append(event)
    return out


def continues(blob: bytes) -> list[bool]:
    return [frame.continues for frame in frames_of(blob)]


@pytest.mark.parametrize("level", [1, 3, pytest.param(6, marks=pytest.mark.slow)])  # 6: the CM model, the slowest
@pytest.mark.parametrize("chunk_size", [2048, 8192, 65536])
def test_round_trip_and_frames_continue(dickens_64k: bytes, loghub_small: bytes, level: int, chunk_size: int) -> None:
    data = dickens_64k + loghub_small[:40000]
    blob = sigmalang.compress(data, level, chunk_size=chunk_size, shared_context=True)
    assert sigmalang.decompress(blob) == data
    flags = continues(blob)
    assert len(flags) > 1 and not flags[0]
    assert any(flags)
    assert blob[map_stream(blob).header.payload_start + 1] & FLAG_SHARED_CONTEXT
    for i, flag in enumerate(flags):  # a reset at least every RESET_INTERVAL frames
        if i % RESET_INTERVAL == 0:
            assert not flag
    assert not any(continues(sigmalang.compress(data, level, chunk_size=chunk_size)))  # the default


def test_shared_context_improves_ratio_at_small_chunks(dickens_64k: bytes) -> None:
    for level in (1, 3):
        independent = sigmalang.compress(dickens_64k, level, chunk_size=4096)
        shared = sigmalang.compress(dickens_64k, level, chunk_size=4096, shared_context=True)
        assert len(shared) < len(independent)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    words=st.lists(st.sampled_from(["the", "cat", "sat", "42", "mat", "\n", " ", "Σ", "2024-01-01"]), max_size=400),
    chunk_size=st.integers(16, 300),
    level=st.sampled_from([1, 3, 6]),
)
def test_small_random_texts_round_trip(words: list[str], chunk_size: int, level: int) -> None:
    data = " ".join(words).encode()
    blob = sigmalang.compress(data, level, chunk_size=chunk_size, shared_context=True)
    assert sigmalang.decompress(blob) == data
    decomp = SigmaDecompressor()
    out = b"".join(decomp.decompress(blob[i : i + 37]) for i in range(0, len(blob), 37))
    assert out == data and decomp.eof


def encode_streaming(data: bytes, workers: int, **kwargs: Any) -> tuple[bytes, list[str]]:
    sink = io.BytesIO()
    stats = StreamingEncoder(6, 2048, shared_context=True, **kwargs).encode_stream(
        io.BytesIO(data), sink, workers=workers
    )
    return sink.getvalue(), stats.notes


@pytest.mark.slow  # process pool
def test_output_is_identical_for_any_worker_count(dickens_64k: bytes) -> None:
    one, notes_one = encode_streaming(dickens_64k, 1)
    two, notes_two = encode_streaming(dickens_64k, 2)
    assert len(frames_of(one)) > 2 * RESET_INTERVAL  # several runs, coded on different workers
    assert one == two == sigmalang.compress(dickens_64k, 6, chunk_size=2048, shared_context=True)
    assert not notes_one and any("shared context" in note for note in notes_two)


@pytest.mark.slow  # process pool
def test_shared_context_with_a_stream_codebook(dickens_64k: bytes, loghub_small: bytes) -> None:
    book = build_codebook(Counter(re.findall(rb"[A-Za-z]{2,}", loghub_small + dickens_64k)), min_count=4)
    data = loghub_small[:30000] + dickens_64k[:30000]
    one, _ = encode_streaming(data, 1, codebook=book)
    two, _ = encode_streaming(data, 2, codebook=book)
    assert one == two and any(continues(one))
    assert sigmalang.decompress(one, codebook=book) == data


@pytest.mark.slow  # process pool
def test_decoders_with_and_without_workers(dickens_64k: bytes, loghub_small: bytes) -> None:
    blob = sigmalang.compress(dickens_64k, 6, chunk_size=4096, shared_context=True)
    blob += sigmalang.compress(loghub_small, 3, chunk_size=8192)  # then an independent stream
    for workers in (1, 2):
        sink = io.BytesIO()
        StreamingDecoder(workers=workers).decode_stream(io.BytesIO(blob), sink)
        assert sink.getvalue() == dickens_64k + loghub_small
    with sigmalang.open(io.BytesIO(blob)) as f:  # forward reader (SigmaDecompressor), file object
        assert f.read() == dickens_64k + loghub_small


@pytest.mark.slow  # process pool
def test_cli_encode_flag_and_parallel_decode(
    tmp_path: Path, dickens_64k: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(dickens_64k)
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.sgl"
        args = ["encode", "--shared-context", "--chunk-size", "4KiB", "-3", "-v", "-T", workers]
        assert main([*args, "-o", str(out), str(src)]) == 0
    assert (tmp_path / "out1.sgl").read_bytes() == (tmp_path / "out2.sgl").read_bytes()
    assert "coded in parallel" in capsys.readouterr().err
    assert main(["decode", "-T", "2", "-o", str(tmp_path / "back.txt"), str(tmp_path / "out2.sgl")]) == 0
    assert (tmp_path / "back.txt").read_bytes() == dickens_64k
    assert main(["info", "--json", str(tmp_path / "out1.sgl")]) == 0
    assert json.loads(capsys.readouterr().out)["streams"][0]["shared_context"] is True


def test_seek_and_read_in_the_middle(tmp_path: Path, dickens_64k: bytes) -> None:
    path = tmp_path / "s.sgl"
    data = dickens_64k
    with sigmalang.open(path, "wb", level=3, chunk_size=2048, shared_context=True) as f:
        f.write(data)
    assert any(continues(path.read_bytes()))
    with sigmalang.open(path) as f:
        for start in (40000, 100, 33000, 64000, 2047, 20000):  # backwards too: from a reset again
            f.seek(start)
            assert f.read(3000) == data[start : start + 3000]
    with path.open("rb") as fp:  # one frame far from its reset point, nothing cached
        table = SeekTable.from_file(fp)
        i = RESET_INTERVAL + 5
        start = table.original_offsets[i]
        assert table.read_frame(fp, i) == data[start : start + table.original_sizes[i]]


def test_a_frame_far_from_its_reset_point_is_read_one_record_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer may make runs of any length (docs/FORMAT.md §6.3), and the context a run needs is
    bounded (MAX_CONTEXT, the long-range window), but its records are not: reading the last frame
    of a run of 40 frames walks back to the reset point and then reads each record just before
    it is decoded, never holding the run's records."""
    import random

    from sigmalang import _index

    r = random.Random(5)
    chunk = 4096
    data = bytes(r.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(40 * chunk))
    writer = FrameWriter(3, chunk, shared_context=True)
    writer.context = FrameContext(reset_interval=1 << 30)
    chunks = [data[k : k + chunk] for k in range(0, len(data), chunk)]
    stream = writer.start() + b"".join(writer.frames(chunks)) + writer.finish()
    assert sum(continues(stream)) == len(chunks) - 1
    fp = io.BytesIO(stream)
    table = SeekTable.from_file(fp)
    events: list[str] = []
    read, decode = SeekTable._read_record, _index.decode_frame
    monkeypatch.setattr(SeekTable, "_read_record", lambda self, fp, i: events.append("read") or read(self, fp, i))
    monkeypatch.setattr(_index, "decode_frame", lambda *args: events.append("decode") or decode(*args))
    assert table.read_frame(fp, len(chunks) - 1) == chunks[-1]
    forward = "".join(event[0] for event in events[len(chunks) :])  # after the walk back
    assert events[: len(chunks)] == ["read"] * len(chunks) and forward == "rd" * (len(chunks) - 1) + "d"


def test_recover_loses_only_until_the_next_reset(dickens_64k: bytes) -> None:
    data = dickens_64k
    blob = sigmalang.compress(data, 1, chunk_size=2048, shared_context=True)
    frames = frames_of(blob)
    assert len(frames) > 2 * RESET_INTERVAL
    spans = map_stream(blob).frames
    damaged = 3
    broken = bytearray(blob)
    broken[spans[damaged].end - 6] ^= 0xFF  # a data byte of frame 3
    salvaged = bytearray()
    result = scan(io.BytesIO(bytes(broken)), salvaged.extend)
    lost = [d.number for d in result.streams[0].damaged]
    next_reset = next(f.number for f in frames[damaged + 1 :] if not f.continues)
    assert next_reset <= RESET_INTERVAL
    assert lost == list(range(damaged, next_reset))
    kept = [f for f in frames if not damaged <= f.number < next_reset]
    assert bytes(salvaged) == b"".join(data[f.original_offset : f.original_offset + f.original_size] for f in kept)
    with pytest.raises(SigmaFormatError) as info:
        sigmalang.decompress(bytes(broken))
    assert info.value.frame == damaged


def test_damaged_vector_scan_loses_frames_up_to_the_reset() -> None:
    stream = (VECTORS / "bad-shared-continuing-frame.sgl").read_bytes()
    expected = (VECTORS / "shared-context-l3.out").read_bytes()
    salvaged = bytearray()
    result = scan(io.BytesIO(stream), salvaged.extend)
    frames = frames_of((VECTORS / "shared-context-l3.sgl").read_bytes())
    assert [f.number for f in frames if not f.continues] == [0, RESET_INTERVAL]
    assert [d.number for d in result.streams[0].damaged] == list(range(2, RESET_INTERVAL))
    assert result.streams[0].frames_ok == len(frames) - (RESET_INTERVAL - 2)
    assert bytes(salvaged) == expected[: frames[2].original_offset] + expected[frames[RESET_INTERVAL].original_offset :]


def test_truncated_stream(dickens_64k: bytes) -> None:
    blob = sigmalang.compress(dickens_64k, 3, chunk_size=4096, shared_context=True)
    cut = map_stream(blob).frames[6].offset + 10
    with pytest.raises(SigmaTruncatedError) as info:
        sigmalang.decompress(blob[:cut])
    assert info.value.frame == 6
    salvaged = bytearray()
    scan(io.BytesIO(blob[:cut]), salvaged.extend)
    assert bytes(salvaged) == dickens_64k[: len(salvaged)] and len(salvaged) == frames_of(blob)[6].original_offset


def test_continuing_frame_needs_its_context(dickens_64k: bytes) -> None:
    context = FrameContext()
    first = encode_chunk(dickens_64k[:8192], 3, context=context)
    assert not first.continues
    first.advance(context)
    second = encode_chunk(dickens_64k[8192:16384], 3, context=context)
    assert second.continues
    frame = FrameRecord(1, 8192, 8192, second.transform, second.backend, second.data, True)
    with pytest.raises(SigmaFormatError, match="context that is not available"):
        decode_frame(frame)
    with pytest.raises(SigmaFormatError, match="context of"):
        decode_frame(frame, context=FrameContext())
    wrong = FrameContext()
    wrong.advance(dickens_64k[30000:38192], False)
    with pytest.raises(SigmaFormatError):
        decode_frame(frame, context=wrong)
    assert wrong.broken  # a failed frame breaks the context until the next reset
    good = FrameContext()
    first.advance(good)
    assert decode_frame(frame, context=good) == dickens_64k[8192:16384]
    assert len(good.history) <= MAX_CONTEXT


@pytest.mark.parametrize("backend", [PpmdBackend(6, 16, verify=True), ZstdBackend(3)])
def test_primed_backends(backend: PpmdBackend | ZstdBackend, dickens_64k: bytes) -> None:
    prime, data = dickens_64k[:30000], dickens_64k[30000:50000]
    payload = backend.encode(data, prime)
    assert len(payload) < len(backend.encode(data))
    assert backend.decode(payload, len(data), prime) == data
    with pytest.raises(Exception):  # noqa: B017,PT011 - a wrong context is damage (or wrong output)
        assert backend.decode(payload, len(data), dickens_64k[1:30001]) == data


@pytest.mark.parametrize("table_primer", [1 << 20, 0])
def test_records_frames_add_their_template_table_last(monkeypatch: pytest.MonkeyPatch, table_primer: int) -> None:
    """Record code versions 5 and 6 in a shared-context history (FORMAT.md §6.3): a records frame adds its
    code from the template ids on, then its template table. Below TABLE_PRIMER bytes of chunk the
    next frame is primed with the last CONTEXT_WINDOW bytes of the history; from it on, with that
    table alone. Every reader decodes both, from the start and through the index."""
    monkeypatch.setattr(_frames, "TABLE_PRIMER", table_primer)
    data = service_log(300)
    encoded = sigmalang.compress(data, 6, chunk_size=4096, shared_context=True, format="logs")
    parser = StreamParser()
    parser.feed(encoded)
    frames = [e for e in iter(parser.next_event, None) if isinstance(e, FrameRecord)]
    assert len(frames) > 4 and all(f.transform == TRANSFORM_RECORDS for f in frames)
    history, previous_table = b"", 0
    for frame in frames:
        chunk = data[frame.original_offset : frame.original_offset + frame.original_size]
        code = _records.encode(chunk)
        pos = read_varint(code, 1, 5, None)[1]  # version, L, T, I, the table, the ids, the columns
        table_size, pos = read_varint(code, pos, 5, None)
        pos = read_varint(code, pos, 5, None)[1]
        assert 5 <= code[0] <= _records.RECORDS_VERSION and code[pos + table_size - 1] == 0x0A
        added, table = _records.history_part(code)
        assert (added, table) == (code[pos + table_size :] + code[pos : pos + table_size], table_size)
        if frame.number % RESET_INTERVAL:
            length = read_varint(frame.data, 0, 5, None)[0]
            assert length == (previous_table if table_primer == 0 else min(len(history), CONTEXT_WINDOW))
        history = added if frame.number % RESET_INTERVAL == 0 else history + added
        previous_table = table
    assert sigmalang.decompress(encoded) == data
    with sigmalang.open(io.BytesIO(encoded)) as reader:
        reader.seek(len(data) - 5000)
        assert reader.read() == data[-5000:]
