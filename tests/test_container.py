"""The container (magic, header, frames, index, trailer) and how damage to each part is reported."""

from __future__ import annotations

import io
import struct

import pytest
from crc32c import crc32c
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from conftest import flip, map_stream
from sigmalang import SigmaDecompressor, SigmaFormatError, SigmaTruncatedError, compress, decompress
from sigmalang._container import MAGIC, EndOfStream, StreamAssembler, StreamParser
from sigmalang._stream import StreamingDecoder
from sigmalang._stream_records import MAX_CHUNK_SIZE, TRAILER_SIZE, Frame, StreamHeader, StreamIndex, decode_trailer
from sigmalang._wire import encode_record, encode_varint, read_record
from sigmalang.primitives import FRAME, INDEX, STREAM_HEADER, TRAILER, GlyphType

TEXT = b"".join(b"%05d the quick brown fox jumps over the lazy dog\n" % i for i in range(400))


@pytest.fixture(scope="module")
def multi_frame():
    blob = compress(TEXT, level=3, chunk_size=2048)
    stream = map_stream(blob)
    assert len(stream.frames) >= 8
    return blob, stream


def events(blob, slice_size=None):
    parser = StreamParser()
    out = []
    step = slice_size or len(blob) or 1
    for i in range(0, len(blob), step):
        parser.feed(blob[i : i + step])
        while (event := parser.next_event()) is not None:
            out.append(event)
    parser.close()
    return out, parser


# -- layout ------------------------------------------------------------------


def test_stream_layout(multi_frame):
    blob, stream = multi_frame
    assert blob.startswith(MAGIC) and len(MAGIC) == 8
    header, _ = read_record(blob, len(MAGIC))
    assert (header.type, header.primitive, header.flag) == (GlyphType.COMPOSITE, STREAM_HEADER, False)
    for span in stream.frames:
        record, _ = read_record(blob, span.offset)
        assert (record.type, record.primitive) == (GlyphType.COMPOSITE, FRAME)
    index, _ = read_record(blob, stream.index.offset)
    assert (index.type, index.primitive) == (GlyphType.COMPOSITE, INDEX)
    trailer, end = read_record(blob, stream.trailer.offset)
    assert (trailer.type, trailer.primitive) == (GlyphType.PRIMITIVE, TRAILER)
    assert end == len(blob)
    assert len(blob) - stream.trailer.offset == TRAILER_SIZE


def test_trailer_locates_the_index_from_the_end(multi_frame):
    blob, stream = multi_frame
    trailer, _ = read_record(blob, len(blob) - TRAILER_SIZE)
    index_size = decode_trailer(trailer)
    assert len(blob) - TRAILER_SIZE - index_size == stream.index.offset


@pytest.mark.parametrize("slice_size", [1, 3, 64, None])
def test_parser_events_do_not_depend_on_slicing(multi_frame, slice_size):
    blob, stream = multi_frame
    got, parser = events(blob, slice_size)
    assert isinstance(got[0], StreamHeader)
    assert (got[0].level, got[0].chunk_size, got[0].shared_context) == (3, 2048, False)
    frames = [e for e in got[1:-1] if isinstance(e, Frame)]
    assert [f.number for f in frames] == list(range(len(stream.frames)))
    assert [f.offset for f in frames] == [s.offset for s in stream.frames]
    assert isinstance(got[-1], EndOfStream)
    assert got[-1].size == len(blob)
    assert got[-1].index.total_size == len(TEXT)
    assert [orig for _, orig in got[-1].index.sizes()] == stream.frame_sizes
    assert [size for size, _ in got[-1].index.sizes()] == [s.end - s.offset for s in stream.frames]
    assert parser.eof and parser.unused_data == b""


def test_header_round_trips():
    for header in (
        StreamHeader(chunk_size=1, level=0),
        StreamHeader(chunk_size=MAX_CHUNK_SIZE, level=9, shared_context=True, codebook_id=b"\x01" * 32),
    ):
        record, _ = read_record(header.encode())
        assert StreamHeader.decode(record) == header


def test_assembler_misuse_is_a_value_error():
    asm = StreamAssembler(StreamHeader(chunk_size=4, level=0))
    with pytest.raises(ValueError):
        asm.frame(b"abc", 0, 0, b"abc")
    asm.start()
    with pytest.raises(ValueError):
        asm.start()
    with pytest.raises(ValueError):
        asm.frame(b"abcde", 0, 0, b"abcde")


# -- damage ------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_damaged_frame_is_named(multi_frame, data):
    blob, stream = multi_frame
    k = data.draw(st.integers(min_value=0, max_value=len(stream.frames) - 1), label="frame")
    span = stream.frames[k]
    pos = data.draw(st.integers(min_value=span.payload_start, max_value=span.end - 1), label="position")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    damaged = flip(blob, pos, mask)
    for decode in (decompress, decompress_incrementally, decode_streaming):
        with pytest.raises(SigmaFormatError) as info:
            decode(damaged)
        assert not isinstance(info.value, SigmaTruncatedError)
        assert info.value.frame == k
        assert info.value.offset == span.offset
        assert f"frame {k}" in str(info.value)
        assert str(span.offset) in str(info.value)


def decompress_incrementally(blob):
    decomp = SigmaDecompressor()
    for i in range(0, len(blob), 100):
        decomp.decompress(blob[i : i + 100])
    if not decomp.eof:
        decomp.close()


def decode_streaming(blob):
    StreamingDecoder(read_size=333).decode_stream(io.BytesIO(blob), io.BytesIO())


def test_damaged_frame_in_a_second_stream_has_an_absolute_offset(multi_frame):
    blob, stream = multi_frame
    first = compress(b"a first stream\n" * 10)
    k = 2
    damaged = first + flip(blob, stream.frames[k].payload_start + 3)
    with pytest.raises(SigmaFormatError) as info:
        decompress(damaged)
    assert info.value.frame == k
    assert info.value.offset == len(first) + stream.frames[k].offset


@pytest.mark.slow  # decodes the stream once per damaged byte, twice
@pytest.mark.parametrize("part", ["header", "index", "trailer"])
def test_damaged_header_index_or_trailer_raises(multi_frame, part):
    blob, stream = multi_frame
    span = getattr(stream, part)
    for pos in range(span.offset, span.end):
        damaged = flip(blob, pos, 0x01)
        with pytest.raises(SigmaFormatError):
            decompress(damaged)
        with pytest.raises(SigmaFormatError):
            decode_streaming(damaged)


def test_every_single_byte_flip_is_detected():
    blob = compress(TEXT[:3000], level=1, chunk_size=1000)
    assert len(map_stream(blob).frames) == 3
    for pos in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            with pytest.raises(SigmaFormatError):
                decompress(flip(blob, pos, mask))


@pytest.mark.parametrize("bad", [b"", b"GARBAGE!" * 4, b"\x1f\x8b\x08\x00" + bytes(40), MAGIC[::-1] + bytes(40)])
def test_not_a_stream(bad):
    with pytest.raises(SigmaFormatError):
        decompress(bad)
    with pytest.raises(SigmaFormatError):
        decode_streaming(bad)


def rebuild_frame(payload_body: bytes, flag=False) -> bytes:
    return encode_record(GlyphType.COMPOSITE, FRAME, payload_body + struct.pack("<I", crc32c(payload_body)), flag)


def frame_body(number, original_offset, data, transform=0, backend=0, original_size=None):
    body = (
        encode_varint(number)
        + encode_varint(original_offset)
        + encode_varint(len(data) if original_size is None else original_size)
    )
    return body + bytes([transform, backend]) + data


def hand_made(frames_bodies, chunk_size=100, flags=None):
    """A stream with frames built by hand (valid CRCs), then index and trailer from the assembler."""
    out = bytearray(MAGIC + StreamHeader(chunk_size=chunk_size, level=0).encode())
    for i, body in enumerate(frames_bodies):
        out += rebuild_frame(body, bool(flags and flags[i]))
    return bytes(out)


@pytest.mark.parametrize(
    ("bodies", "flags", "frame", "words"),
    [
        ([frame_body(1, 0, b"abc")], None, 0, "numbered 1"),
        ([frame_body(0, 0, b"abc"), frame_body(1, 5, b"def")], None, 1, "original offset"),
        ([frame_body(0, 0, b"x" * 101)], None, 0, "exceeds the chunk size"),
        ([frame_body(0, 0, b"abc")], [True], 0, "context"),
        ([frame_body(0, 0, b"abc", transform=9)], None, 0, "transform"),
        ([frame_body(0, 0, b"abc", backend=9)], None, 0, "backend"),
        ([frame_body(0, 0, b"abc", original_size=4)], None, 0, "expected 4"),
        ([frame_body(0, 0, b"not zstd", backend=1)], None, 0, "zstd"),
    ],
)
def test_inconsistent_frames_with_valid_crcs_are_rejected(bodies, flags, frame, words):
    blob = hand_made(bodies, flags=flags)
    with pytest.raises(SigmaFormatError) as info:
        SigmaDecompressor().decompress(blob)
    assert info.value.frame == frame
    assert words in str(info.value)


def test_frame_record_longer_than_the_chunk_allows_is_rejected_before_its_payload():
    header = MAGIC + StreamHeader(chunk_size=100, level=0).encode()
    claim = encode_record(GlyphType.COMPOSITE, FRAME, b"")[:1] + encode_varint(1 << 27)
    parser = StreamParser()
    parser.feed(header + claim)
    assert isinstance(parser.next_event(), StreamHeader)
    with pytest.raises(SigmaFormatError) as info:
        parser.next_event()
    assert info.value.offset == len(header)


def test_unexpected_glyph_in_the_frame_sequence():
    header = MAGIC + StreamHeader(chunk_size=100, level=0).encode()
    with pytest.raises(SigmaFormatError) as info:
        decompress(header + encode_record(GlyphType.PRIMITIVE, 3, b"hello"))
    assert info.value.frame == 0


def test_wrong_format_version_is_rejected():
    blob = bytearray(compress(b"abc"))
    record, _ = read_record(blob, len(MAGIC))
    body = bytearray(record.payload[:-4])
    body[0] = 2
    new_header = encode_record(GlyphType.COMPOSITE, STREAM_HEADER, bytes(body) + struct.pack("<I", crc32c(bytes(body))))
    damaged = bytes(blob[: len(MAGIC)]) + new_header + bytes(blob[len(MAGIC) + record.size :])
    with pytest.raises(SigmaFormatError) as info:
        decompress(damaged)
    assert "version 2" in str(info.value)


def test_index_that_disagrees_with_frames_is_rejected(multi_frame):
    blob, stream = multi_frame
    # Drop one frame record: its index entry no longer matches what was read.
    damaged = blob[: stream.frames[2].offset] + blob[stream.frames[3].offset :]
    with pytest.raises(SigmaFormatError):
        decompress(damaged)


def test_trailer_must_point_at_the_index(multi_frame):
    blob, stream = multi_frame
    wrong = (stream.index.end - stream.index.offset) - 1
    body = struct.pack("<Q", wrong)
    trailer = encode_record(GlyphType.PRIMITIVE, TRAILER, body + struct.pack("<I", crc32c(body)))
    damaged = blob[: stream.trailer.offset] + trailer
    assert len(damaged) == len(blob)
    with pytest.raises(SigmaFormatError):
        decompress(damaged)


def test_truncated_after_the_header_names_frame_zero():
    blob = compress(b"abc" * 100)
    stream = map_stream(blob)
    with pytest.raises(SigmaTruncatedError) as info:
        decompress(blob[: stream.header.end])
    assert info.value.frame == 0
    assert info.value.offset == stream.header.end


def with_index_checksum(blob: bytes, checksum: bytes) -> bytes:
    """*blob* with its index rewritten (valid CRC, same size) to record *checksum* for the content."""
    stream = map_stream(blob)
    found, _ = read_record(blob, stream.index.offset)
    index = StreamIndex.decode(found)
    index.checksum = checksum
    record = index.encode()
    assert len(record) == stream.index.end - stream.index.offset
    return blob[: stream.index.offset] + record + blob[stream.index.end :]


def test_content_checksum_mismatch_is_detected(tmp_path):
    blob = compress(TEXT, level=1, chunk_size=4096)
    forged = with_index_checksum(blob, bytes(16))
    with pytest.raises(SigmaFormatError, match="checksum"):
        decompress(forged)
    with pytest.raises(SigmaFormatError, match="checksum"):
        decode_streaming(forged)
    path = tmp_path / "forged.sgl"
    path.write_bytes(forged)
    with sigmalang.open(path) as f, pytest.raises(SigmaFormatError, match="checksum"):
        f.read()
    with sigmalang.open(path) as f:  # random access to one frame does not need the whole content
        f.seek(5000)
        assert f.read(100) == TEXT[5000:5100]
