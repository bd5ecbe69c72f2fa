"""Transform 6, UTF-16 text coded as UTF-8 (docs/FORMAT.md §7.8): the conversion against a
reference written from the format's words, round trips for all code units and all chunks, the
writer's choice, and every check a decoder makes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang import _utf16
from sigmalang._codec import ChunkDecodeError, body_without_transform, decode_chunk, encode_chunk
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_RECORDS, TRANSFORM_UTF16, TRANSFORM_WRAPS
from sigmalang._wire import encode_varint

HERE = Path(__file__).resolve().parent
TEXT = (HERE.parent / "samples" / "dickens-sample.txt").read_bytes()[:20000]
LOGS = (HERE / "fixtures" / "loghub-small.log").read_bytes()[:20000]


def reference_utf8(units: bytes) -> bytes:
    """FORMAT.md §7.8's mapping, written out: little-endian units; a high surrogate followed by a
    low one is one code point; every code point in the shortest UTF-8 form, surrogates included."""
    values = [units[i] | units[i + 1] << 8 for i in range(0, len(units), 2)]
    out = bytearray()
    i = 0
    while i < len(values):
        cp = values[i]
        if 0xD800 <= cp < 0xDC00 and i + 1 < len(values) and 0xDC00 <= values[i + 1] < 0xE000:
            cp = 0x10000 + ((cp - 0xD800) << 10) + (values[i + 1] - 0xDC00)
            i += 1
        i += 1
        if cp < 0x80:
            out.append(cp)
        elif cp < 0x800:
            out += bytes([0xC0 | cp >> 6, 0x80 | cp & 0x3F])
        elif cp < 0x10000:
            out += bytes([0xE0 | cp >> 12, 0x80 | cp >> 6 & 0x3F, 0x80 | cp & 0x3F])
        else:
            out += bytes([0xF0 | cp >> 18, 0x80 | cp >> 12 & 0x3F, 0x80 | cp >> 6 & 0x3F, 0x80 | cp & 0x3F])
    return bytes(out)


even_bytes = st.binary(max_size=400).map(lambda b: b[: len(b) // 2 * 2])
# Units drawn to hit every branch: ASCII, Latin-1, BMP, both halves of surrogate pairs, lone halves.
unit = st.one_of(
    st.integers(0, 0x7F), st.integers(0x80, 0x7FF), st.integers(0x800, 0xFFFF), st.integers(0xD800, 0xDFFF)
)
unit_strings = st.lists(unit, max_size=200).map(lambda us: b"".join(u.to_bytes(2, "little") for u in us))


@settings(max_examples=600, deadline=None)
@given(st.one_of(even_bytes, unit_strings))
def test_any_code_units_round_trip_through_the_utf8_the_format_defines(units: bytes) -> None:
    """[R7.8-5] for all code units: to_utf8 writes what the reference does, and from_utf8 reads it
    back to the same units."""
    text = _utf16.to_utf8(units)
    assert text == reference_utf8(units)
    assert _utf16.from_utf8(text) == units


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xc0\x81", "bad UTF-8 at byte 0"),  # 'A' in two bytes
        (b"ab\xe0\x80\x81", "bad UTF-8 at byte 2"),  # overlong three bytes
        (b"\xf4\x90\x80\x80", "bad UTF-8 at byte 0"),  # past U+10FFFF
        (b"\x80", "bad UTF-8 at byte 0"),  # a continuation byte alone
        (b"a\xe2\x82", "bad UTF-8 at byte 1"),  # cut short
        (b"\xed\xa0\xbd\xed\xb8\x80", "a surrogate pair written as two code points at character 0"),
    ],
)
def test_utf8_that_no_writer_writes_is_refused(text: bytes, message: str) -> None:
    """[R7.8-5]: only the shortest form, only code points up to U+10FFFF, no pair as two halves."""
    with pytest.raises(_utf16.Utf16Error, match=message):
        _utf16.from_utf8(text)


def test_lone_surrogates_and_the_halves_in_the_other_order_are_text_too() -> None:
    """A low half before a high one is two code points; each lone half is three bytes of UTF-8."""
    units = b"\x00\xdc\x00\xd8A\x00\x00\xd8"
    text = _utf16.to_utf8(units)
    assert text == b"\xed\xb0\x80\xed\xa0\x80A\xed\xa0\x80"
    assert _utf16.from_utf8(text) == units


def as_utf16(text: bytes, codec: str = "utf-16-le") -> bytes:
    return text.decode("latin-1").encode(codec)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
@pytest.mark.parametrize("skip", [0, 1])
def test_utf16_text_is_split_at_its_code_units_whichever_byte_it_starts_at(codec: str, skip: int) -> None:
    """The writer reads big-endian text as little-endian units one byte in, and a chunk that starts
    inside a unit (cut after a line feed's first byte) with a byte before its units."""
    data = as_utf16(TEXT[:3000], codec)[skip:]
    found = _utf16.split(data)
    assert found is not None
    flags, text = found
    lead = 1 if flags & _utf16.FLAG_LEAD else 0
    tail = 1 if flags & _utf16.FLAG_TAIL else 0
    assert (len(data) - lead - tail) % 2 == 0
    assert _utf16.from_utf8(text) == data[lead : len(data) - tail]
    assert len(text) < len(data) * 0.55  # the text's ASCII, once a byte each


@pytest.mark.parametrize(
    "data",
    [
        TEXT,  # UTF-8
        as_utf16(TEXT[:100]),  # too short to be worth it
        "漢字かな交じり文の例。".encode("utf-16-le") * 200,  # UTF-16 whose UTF-8 is longer
        bytes(range(64)).replace(b"", b"\x00")[:256] * 40,  # small numbers in 16 bits: control characters
        b"\x00" * 4096,  # zeros at both parities
    ],
    ids=["utf-8", "short", "cjk", "int16", "zeros"],
)
def test_the_writer_leaves_what_is_not_utf16_latin_text(data: bytes) -> None:
    assert _utf16.split(data) is None


@pytest.mark.parametrize("level", [3, 4, 6])
def test_utf16_text_codes_as_small_as_its_utf8(level: int) -> None:
    """The point of transform 6: UTF-16 text costs what its UTF-8 costs (the frame's header more),
    and less than the level makes of the UTF-16 bytes themselves."""
    for sample in (TEXT, LOGS):
        utf16 = as_utf16(sample)
        encoded = encode_chunk(utf16, level)
        assert encoded.transform == TRANSFORM_UTF16
        assert len(encoded.data) <= len(encode_chunk(sample, level).data) + 16
        assert len(encoded.data) < body_without_transform(utf16, level)
        assert decode_chunk(encoded.transform, encoded.backend, encoded.data, len(utf16)) == utf16


def test_at_the_default_level_a_book_in_utf16_codes_7_percent_smaller_than_as_bytes() -> None:
    book = as_utf16((HERE / "fixtures" / "dickens-64k.txt").read_bytes())
    assert len(encode_chunk(book, 6).data) < body_without_transform(book, 6) * 0.93


def test_the_inner_transform_is_the_one_the_utf8_would_get() -> None:
    """Log lines in UTF-16 become records, a hard-wrapped book a wrap code."""
    assert encode_chunk(as_utf16(LOGS), 6).data[0] == TRANSFORM_RECORDS
    book = (HERE / "fixtures" / "dickens-64k.txt").read_bytes()[:40000]
    assert encode_chunk(as_utf16(book), 6).data[0] == TRANSFORM_WRAPS


# Generated UTF-16 text with mutations: lines of Latin, other scripts, lone halves, zero bytes.
line = st.text(
    alphabet=st.sampled_from(list("abc xyz,.:0123456789éüß\t") + ["\u0416", "\u4e2d", "\U0001f600"]),
    max_size=60,
)
mutation = st.tuples(st.integers(0, 10**6), st.sampled_from([b"\x00\xd8", b"\x00\xdc", b"\x00", b"\xff", b"\r\x00"]))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(line, min_size=1, max_size=300),
    st.sampled_from(["utf-16-le", "utf-16-be", "utf-16"]),
    st.lists(mutation, max_size=4),
    st.sampled_from([3, 4, 6]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_utf16_text_with_mutations_round_trips_at_1kib_chunks(
    lines: list[str], codec: str, mutations: list[tuple[int, bytes]], level: int, end: str
) -> None:
    """For all inputs of this shape: the stream decodes to the input, whatever the chunks' cuts."""
    data = (end.join(lines) + end).encode(codec, "surrogatepass")
    for at, insert in mutations:
        at %= len(data) + 1
        data = data[:at] + insert + data[at:]
    encoded = sigmalang.compress(data, level, chunk_size=1024)
    assert sigmalang.decompress(encoded) == data


def test_shared_context_streams_write_no_transform_6() -> None:
    """[R7.8-1] from the writer's side: frames that carry context are coded as bytes are."""
    data = as_utf16(TEXT * 2)
    encoded = sigmalang.compress(data, 6, chunk_size=8192, shared_context=True)
    assert sigmalang.decompress(encoded) == data
    from sigmalang._frames import FrameReader

    reader = FrameReader()
    reader.feed(encoded)
    transforms = []
    while (event := reader.next_event()) is not None:
        if hasattr(event, "transform"):
            transforms.append(event.transform)
    assert transforms and TRANSFORM_UTF16 not in transforms


def _frame(inner: int, flags: int, extra: bytes = b"", size: bytes | None = None) -> bytes:
    """A transform-6 frame's data up to its inner data (*extra*: the bytes around the units)."""
    return bytes([inner, flags]) + extra + (encode_varint(4) if size is None else size)


@pytest.mark.parametrize(
    ("data", "size", "message"),
    [
        (b"\x00", 8, "frame data ends in its header"),
        (_frame(2, 0), 8, "inner transform 2 is not one of 0, 1, 4, 5"),
        (_frame(6, 0), 8, "inner transform 6"),
        (_frame(0, 4), 8, "unknown flags 0x04"),
        (_frame(0, 1, b"", b""), 9, "frame data ends in its header"),
        (_frame(0, 3, b"x", b""), 9, "frame data ends in its header"),
        (_frame(0, 3, b"x"), 9, "7 bytes of code units in a chunk of 9"),
        (_frame(0, 0), 9, "9 bytes of code units in a chunk of 9"),
        (_frame(0, 3, b"xy"), 1, "-1 bytes of code units"),
        (_frame(0, 0, b"", encode_varint(3)), 8, "UTF-8 of 3 bytes for 4 code units"),
        (_frame(0, 0, b"", encode_varint(13)), 8, "UTF-8 of 13 bytes for 4 code units"),
        (_frame(0, 0, b"", b"\x80\x80\x80\x80\x80\x80"), 8, "no valid UTF-8 length"),
    ],
)
def test_damaged_headers_name_the_fault(data: bytes, size: int, message: str) -> None:
    """[R7.8-2] [R7.8-3] [R7.8-4]: each field is checked before the inner data is decoded."""
    with pytest.raises(_utf16.Utf16Error, match=message):
        _utf16.parse(data, size)
    with pytest.raises(ChunkDecodeError, match="utf-16 frame: " + message):
        decode_chunk(TRANSFORM_UTF16, 0, data, size)


def test_code_units_of_another_length_than_the_chunk_are_refused() -> None:
    """[R7.8-6]: the units, with the bytes around them, make exactly the chunk."""
    good = _frame(TRANSFORM_LITERAL, _utf16.FLAG_LEAD, b"\x00", encode_varint(4)) + b"abcd"
    assert decode_chunk(TRANSFORM_UTF16, 0, good, 9) == b"\x00a\x00b\x00c\x00d\x00"
    with pytest.raises(ChunkDecodeError, match="UTF-8 decoded to 4 bytes of code units, expected 6"):
        decode_chunk(TRANSFORM_UTF16, 0, _frame(0, 0) + "a\u20ac".encode(), 6)


def test_a_transform_6_frame_never_continues_a_context() -> None:
    """[R7.8-1]: with a context to continue, the frame is refused before anything is decoded."""
    good = _frame(TRANSFORM_LITERAL, 0) + b"abcd"
    with pytest.raises(ChunkDecodeError, match="continues a context"):
        decode_chunk(TRANSFORM_UTF16, 0, good, 8, prime=b"context")


def test_inspect_shows_the_inner_transforms_work() -> None:
    from sigmalang.inspect import inspect_stream

    report = inspect_stream(io.BytesIO(sigmalang.compress(as_utf16(LOGS), 6)), lines=2)[0].as_dict()
    assert report["by_backend"][0]["transform"] == "utf16"
    assert report["records"]["templates"]
    assert report["lines"][0]["text"].startswith(LOGS[:20].decode())  # the text, not its code units


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 400), st.sampled_from([0, 1, 3]))
def test_any_transform_6_data_decodes_to_its_size_or_fails_as_a_damaged_frame(
    data: bytes, size: int, backend: int
) -> None:
    """Hostile frame data: the chunk's exact size, or ChunkDecodeError, never another error."""
    try:
        out = decode_chunk(TRANSFORM_UTF16, backend, data, size)
    except ChunkDecodeError:
        return
    assert len(out) == size


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 3), st.binary(min_size=2, max_size=2))
def test_any_stored_utf8_behind_a_valid_header_decodes_or_fails_as_a_damaged_frame(
    text: bytes, flags: int, edges: bytes
) -> None:
    """Past the header's checks: any bytes as the UTF-8 (stored), with every lead and tail."""
    around = edges[: bin(flags).count("1")]
    try:
        units = _utf16.from_utf8(text)
    except _utf16.Utf16Error:
        units = None
    size = len(around) + (len(units) if units is not None else 2 * len(text))
    data = _frame(TRANSFORM_LITERAL, flags, around, encode_varint(len(text))) + text
    try:
        out = decode_chunk(TRANSFORM_UTF16, 0, data, size)
    except ChunkDecodeError:
        assert units is None or not len(units) // 2 <= len(text) <= len(units) // 2 * 3
        return
    assert units is not None
    lead = around[:1] if flags & _utf16.FLAG_LEAD else b""
    assert out == lead + units + around[len(lead) :]
