"""Requirements of docs/FORMAT.md (its ``[R…]`` ids) that need a check of their own: each test
names the ids it holds the implementation to. The table in tests/vectors/README.md lists every id
with the tests and vectors that check it."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest
import zstandard
from crc32c import crc32c

import sigmalang
from sigmalang import _cm, semantic
from sigmalang._backend_base import CM, STORE, ZSTD, BackendError
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._backends import CmBackend, ZstdBackend
from sigmalang._container import MAGIC, StreamAssembler
from sigmalang._filters import FrameFilter
from sigmalang._index import SeekTable
from sigmalang._levels import TRANSFORM_RECORDS, TRANSFORM_WRAPS
from sigmalang._records import RecordsError
from sigmalang._records import decode as decode_records
from sigmalang._stream_records import StreamHeader
from sigmalang._wire import encode_glyph, encode_varint, read_glyph
from sigmalang.primitives import STREAM_HEADER, GlyphType

HERE = Path(__file__).resolve().parent
TEXT = (HERE.parent / "samples" / "dickens-sample.txt").read_bytes()[:6000]
VECTORS = HERE / "vectors"
MANIFEST = {
    e["name"]: e for kind in ("valid", "damaged") for e in json.loads((VECTORS / "manifest.json").read_text())[kind]
}


def _with_level(blob: bytes, level: int) -> bytes:
    glyph, end = read_glyph(blob, len(MAGIC))
    body = bytearray(glyph.payload[:-4])
    body[2] = level
    record = encode_glyph(GlyphType.COMPOSITE, STREAM_HEADER, bytes(body) + struct.pack("<I", crc32c(body)))
    return MAGIC + record + blob[end:]


@pytest.mark.parametrize("level", [0, 1, 3, 6])
def test_the_level_byte_changes_nothing(level: int) -> None:
    """[R6.2-2] [R14-3]: a reader does not need the level; every parameter is in the frames."""
    blob = sigmalang.compress(TEXT, level, chunk_size=2048)
    for other in (0, 9, 200, 255):
        assert sigmalang.decompress(_with_level(blob, other)) == TEXT


def test_zstd_data_for_an_empty_chunk_is_refused() -> None:
    """[R7-3]: for an original size of 0 the zstd data is empty."""
    empty_frame = zstandard.ZstdCompressor(write_content_size=True).compress(b"")
    assert ZstdBackend().decode(b"", 0) == b""
    with pytest.raises(BackendError, match="present for an empty chunk"):
        ZstdBackend().decode(empty_frame, 0)
    assembler = StreamAssembler(StreamHeader(chunk_size=1024, level=1))
    head = assembler.start()
    blob = head + assembler.frame(b"", 0, ZSTD, empty_frame) + assembler.finish()
    with pytest.raises(sigmalang.SigmaFormatError, match="present for an empty chunk") as info:
        sigmalang.decompress(blob)
    assert (info.value.frame, info.value.offset) == (0, len(head))


def test_zstd_data_is_one_frame_and_nothing_else() -> None:
    """[R7-4]: the data begins with the Zstandard magic; no skippable frame before or after it,
    no second frame, no byte after it."""
    data = b"hello\n" * 50
    frame = ZstdBackend().encode(data)
    assert frame[:4] == b"\x28\xb5\x2f\xfd" and ZstdBackend().decode(frame, len(data)) == data
    skippable = b"\x50\x2a\x4d\x18" + struct.pack("<I", 4) + b"abcd"
    with pytest.raises(BackendError, match="does not start with a Zstandard frame"):
        ZstdBackend().decode(skippable + frame, len(data))
    for tail in (b"\x00", skippable, frame):
        with pytest.raises(BackendError, match="zstd"):
            ZstdBackend().decode(frame + tail, len(data))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "ends inside its parameters"),
        (b"\x02\x0c", "ends inside its parameters"),
        (b"\x02\x0c\x80\x80\x80\x00" + bytes(4), "ends inside its parameters"),  # S in 4 bytes
        (b"\x06\x0c\x00" + bytes(4), "unknown CM model version 6"),
        (b"\x02\x0b\x00" + bytes(4), "out of range"),
        (b"\x02\x19\x00" + bytes(4), "out of range"),  # 2^25 slots
        (b"\x02\x0c\x80\x80\x01" + bytes(4), "out of range"),  # component 14 in version 2
        (b"\x03\x0c\x80\x80\x02" + bytes(4), "out of range"),  # component 15 in version 3
        (b"\x05\x0c\x80\x80\x10" + bytes(4), "out of range"),  # bit 18 in version 5
        (b"\x04\x0c\x80\x80\x08" + bytes(4), "out of range"),  # component 17 in version 4
        (b"\x01\x0c\x80\x40" + bytes(4), "out of range"),  # component 13 in version 1
        (b"\x02\x0c\x00", "does not end where expected"),  # no coded byte
        (b"\x02\x18\x00" + bytes(3), "does not end where expected"),  # 3 coded bytes, 2^24 slots
    ],
)
def test_cm_parameters_are_refused_before_a_model_is_made(
    monkeypatch: pytest.MonkeyPatch, payload: bytes, message: str
) -> None:
    """[R7.2-2] [R12-1] [R12-3]: a decoder rejects the CM parameters (and fewer than 4 coded
    bytes) before it allocates the model's tables."""
    made: list[object] = []
    monkeypatch.setattr(_cm, "code", lambda *args, **kwargs: made.append(args))
    with pytest.raises(BackendError, match=message):
        CmBackend().decode(payload, 10)
    assert made == []


@pytest.mark.parametrize(("order", "memory"), [(2, 1), (64, 1), (2, 127), (16, 128), (64, 1024)])
def test_ppmd_orders_and_memories_at_the_ends_of_their_ranges_decode(order: int, memory: int) -> None:
    """[R7.3-3]: every order 2-64 and memory 1-1024 MiB is decoded (an arena is only touched
    where the model fills it, so even 1024 MiB costs little here)."""
    data = TEXT[:3000]
    payload = PpmdBackend(order, memory).encode(data)
    assert payload[0] == order and payload[1 : 1 + len(encode_varint(memory))] == encode_varint(memory)
    assert PpmdBackend().decode(payload, len(data)) == data


LINE16 = b"a line of 16 byt"


@pytest.mark.parametrize(
    ("code", "result"),
    [
        (b"\x02\x04\x60\x00" + LINE16 + b"\n\xfa\x80\n", LINE16 + b"\n" + LINE16 + b"\n"),
        (b"\x02\x04\x60\x00" + LINE16[:15] + b"\n\xfa\x80\n", None),  # 15 bytes: too short
        (b"\x02\x04\x60\x00" + LINE16 + b"\n\xfa\x81\n", None),  # 2 lines back: none there
        (b"\x02\x04\x60\x00\xfa\x80\n", None),  # no line before it
    ],
)
def test_a_line_reference_after_quantities_needs_a_long_enough_line(code: bytes, result: bytes | None) -> None:
    """[R7.4-6]: the line an ``FA d`` glyph references exists and is at least 16 bytes long."""
    if result is not None:
        assert semantic.decode(code) == result
        return
    with pytest.raises(semantic.SemanticDecodeError):
        semantic.decode(code)


@pytest.mark.parametrize(
    "name",
    [
        "bad-trailer-crc",  # [R10-1]: the last 14 bytes are not an intact trailer
        "bad-truncated-trailer",
        "bad-trailer-outside",  # [R10-2]: the index is where and what the trailer says
        "bad-trailer-wrong-index-size",
        "bad-index-crc",
        "bad-index-total",
        "bad-index-header-size",  # [R10-3]: the index leads back to a magic and a header
    ],
)
def test_the_seeking_reader_checks_trailer_index_and_header(name: str) -> None:
    """[R10-1] [R10-2] [R10-3]: a damaged trailer, index or header start is not used to find
    frames (sigmalang.open then reads front to back and raises the forward reader's error)."""
    data = (VECTORS / MANIFEST[name]["file"]).read_bytes()
    with pytest.raises(sigmalang.SigmaFormatError):
        SeekTable.from_file(io.BytesIO(data))
    with (
        pytest.raises(sigmalang.SigmaFormatError, match=MANIFEST[name]["message"]),
        sigmalang.open(io.BytesIO(data)) as f,
    ):
        f.read()
    assert len(SeekTable.from_file(io.BytesIO((VECTORS / "concat-two.sgl").read_bytes()))) > 0


@pytest.mark.parametrize(
    ("code", "size", "message"),
    [
        (b"\x02\x00\x00\x00", 0, "0 lines cannot make 0 bytes"),  # L = 0
        (b"\x02\x03\x02\x03a\n\x00\x00\x00", 1, "3 lines cannot make 1 bytes"),  # L = S + 2
        (b"\x02\x0a\x02\x01a\n\x00", 100, "run past"),  # L longer than the code
        (b"\x02\x01\x05\x01a\n\x00", 1, "run past"),  # T + I past the code's end
        (b"\x02\x01\x02\x03a\n\x00", 1, "run past"),
    ],
)
def test_record_code_line_count_and_section_lengths(code: bytes, size: int, message: str) -> None:
    """[R7.6-2] [R7.6-3]: 1 <= L <= S + 1 and L <= the code's length; T + I within the code."""
    assert decode_records(b"\x02\x01\x02\x01a\n\x00", 1) == b"a"
    assert decode_records(b"\x02\x02\x02\x02a\n\x00\x00", 3) == b"a\na"  # L = S + 1 is allowed
    with pytest.raises(RecordsError, match=message):
        decode_records(code, size)


@pytest.mark.parametrize(
    ("transform", "chunk"), [(TRANSFORM_RECORDS, b"x=1\ny=2\nz=3\nw=4\n"), (TRANSFORM_WRAPS, b"a b c d\n" * 4)]
)
def test_a_code_length_is_checked_before_the_backend_decodes(transform: int, chunk: bytes) -> None:
    """[R7.6-1] [R7.7-1]: a record code's or wrap code's n > 4 x S + 64 fails the frame before its
    payload is decoded (here a payload that is not zstd at all: with n = 4 x S + 64 the backend is
    reached and fails instead)."""
    too_long = f"too long for a {len(chunk)}-byte chunk"
    for n, message in ((4 * len(chunk) + 65, too_long), (4 * len(chunk) + 64, "zstd")):
        assembler = StreamAssembler(StreamHeader(chunk_size=1024, level=6))
        head = assembler.start()
        blob = head + assembler.frame(chunk, transform, ZSTD, encode_varint(n) + b"not zstd")
        with pytest.raises(sigmalang.SigmaFormatError, match=message) as info:
            sigmalang.decompress(blob + assembler.finish())
        assert (info.value.frame, info.value.offset) == (0, len(head))


def test_a_filter_with_unknown_flag_bits_is_unusable() -> None:
    """[R18.1-2]: bits 2-7 of a filter record's flags are 0; a record with one set (CRC32C
    valid) is a filter the searcher cannot use, so its frame stays a candidate."""
    good = FrameFilter(3, True, 2, b"\x5a" * 8).encode()
    assert good[1] == 0x01 and FrameFilter.decode(good) == FrameFilter(3, True, 2, b"\x5a" * 8)
    assert FrameFilter(3, False, 0, None).encode()[1] == 0x02
    for bit in range(2, 8):
        body = good[:1] + bytes([good[1] | 1 << bit]) + good[2:-4]
        assert FrameFilter.decode(body + struct.pack("<I", crc32c(body))) is None


def test_stored_and_cm_frames_are_not_special_here() -> None:
    """The helpers above build frames the way the vectors do: a stored frame decodes, and a CM
    frame with a valid payload too (so the failures above are the checks named, not the setup)."""
    assembler = StreamAssembler(StreamHeader(chunk_size=1024, level=6))
    payload = CmBackend(0x121F, 12).encode(TEXT[:500])
    blob = assembler.start() + assembler.frame(TEXT[:500], 0, CM, payload) + assembler.frame(b"abc", 0, STORE, b"abc")
    assert sigmalang.decompress(blob + assembler.finish()) == TEXT[:500] + b"abc"
