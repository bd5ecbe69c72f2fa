"""The frames layer: FrameWriter writes the streams every API writes, FrameReader reads them back
from concatenated streams fed in any slices, with each frame located in the whole input."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang._chunking import ChunkedReader
from sigmalang._codec import encode_chunk
from sigmalang._container import MAGIC, EndOfStream
from sigmalang._errors import SigmaFormatError, SigmaTruncatedError
from sigmalang._frames import FrameReader, FrameWriter
from sigmalang._stream_records import Frame, StreamHeader
from sigmalang._wire import read_record

DICKENS = (Path(__file__).parent / "fixtures" / "dickens-64k.txt").read_bytes()
FIRST, SECOND = DICKENS[:20_000], DICKENS[20_000:45_000]


def chunks_of(data: bytes, chunk_size: int) -> list[bytes]:
    return [chunk.data for chunk in ChunkedReader(io.BytesIO(data), chunk_size)]


@pytest.mark.parametrize("shared_context", [False, True])
def test_writer_writes_the_bytes_compress_writes(shared_context: bool) -> None:
    writer = FrameWriter(3, 4096, shared_context=shared_context)
    written = b"".join(writer.stream(chunks_of(FIRST, 4096)))
    assert written == sigmalang.compress(FIRST, 3, chunk_size=4096, shared_context=shared_context)


def test_records_of_chunks_coded_elsewhere_are_the_same_bytes() -> None:
    writer = FrameWriter(1, 4096)
    records = [writer.start()]
    for chunk in chunks_of(FIRST, 4096):
        encoded = encode_chunk(chunk, 1)  # as a worker codes it
        records.append(writer.record(chunk, encoded.transform, encoded.backend, encoded.data))
    records.append(writer.finish())
    assert b"".join(records) == sigmalang.compress(FIRST, 1, chunk_size=4096)


def two_streams() -> tuple[bytes, int]:
    first = sigmalang.compress(FIRST, 1, chunk_size=4096)
    return first + sigmalang.compress(SECOND, 1, chunk_size=4096, shared_context=True), len(first)


def test_frames_of_a_later_stream_are_located_in_the_whole_input() -> None:
    blob, second_start = two_streams()
    reader = FrameReader()
    reader.feed(blob)
    events = list(reader.events())
    assert [type(e) for e in events].count(StreamHeader) == 2
    ends = [e for e in events if isinstance(e, EndOfStream)]
    assert [(e.start, e.end) for e in ends] == [(0, second_start), (second_start, len(blob))]
    frames = [e for e in events if isinstance(e, Frame)]
    assert any(f.offset > second_start for f in frames)
    for frame in frames:
        parsed = read_record(blob, frame.offset, base_offset=0)
        assert parsed is not None
        assert Frame.decode(parsed[0], frame.number) == frame


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=5000))
def test_chunks_are_the_content_whatever_the_slices(step: int) -> None:
    blob, _ = two_streams()
    reader = FrameReader()
    out = []
    for start in range(0, len(blob), step):
        reader.feed(blob[start : start + step])
        out += [data for _, data in reader.chunks()]
    reader.close()
    assert b"".join(out) == FIRST + SECOND == sigmalang.decompress(blob)


def test_damage_in_a_later_stream_is_reported_where_it_is() -> None:
    blob, second_start = two_streams()
    reader = FrameReader()
    reader.feed(blob)
    frame = next(e for e in reader.events() if isinstance(e, Frame) and e.offset > second_start)
    damaged = bytearray(blob)
    damaged[frame.offset + 8] ^= 0x01  # inside the frame record: its CRC32C fails
    reader = FrameReader()
    reader.feed(bytes(damaged))
    with pytest.raises(SigmaFormatError) as info:
        list(reader.chunks())
    assert info.value.offset == frame.offset and info.value.frame == frame.number


def test_close_rejects_a_truncated_last_stream() -> None:
    blob, _ = two_streams()
    reader = FrameReader()
    reader.feed(blob[:-5])
    list(reader.chunks())
    with pytest.raises(SigmaTruncatedError):
        reader.close()


def test_a_cut_off_magic_after_the_last_stream_passes_only_when_not_strict() -> None:
    blob = sigmalang.compress(FIRST, 1) + MAGIC[:3]
    for strict in (True, False):
        reader = FrameReader(check_codebook=False)
        reader.feed(blob)
        list(reader.events())
        if strict:
            with pytest.raises(SigmaTruncatedError):
                reader.close()
        else:
            reader.close(strict=False)


def test_empty_input_is_no_stream_either_way() -> None:
    for strict in (True, False):
        with pytest.raises(SigmaTruncatedError, match="empty input"):
            FrameReader().close(strict=strict)
