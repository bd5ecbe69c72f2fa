"""Records on the wire (header, LEB128 length, payload) and the BoundaryHandler parser."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang._errors import SigmaFormatError, SigmaTruncatedError
from sigmalang._wire import (
    MAX_PAYLOAD,
    BoundaryHandler,
    ParseState,
    Record,
    decode_varint,
    encode_header,
    encode_record,
    encode_varint,
    read_record,
)
from sigmalang.primitives import GlyphType

# -- varints -----------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_varint_round_trips(value):
    encoded = encode_varint(value)
    assert decode_varint(encoded, 0) == (value, len(encoded))
    assert len(encoded) == max(1, (value.bit_length() + 6) // 7)


@given(st.integers(min_value=0, max_value=2**64 - 1), st.binary(max_size=8), st.binary(max_size=8))
def test_varint_decodes_in_context(value, before, after):
    buf = before + encode_varint(value) + after
    assert decode_varint(buf, len(before)) == (value, len(buf) - len(after))


@given(st.integers(min_value=128, max_value=2**64 - 1), st.data())
def test_cut_varint_needs_more_input(value, data):
    encoded = encode_varint(value)
    cut = data.draw(st.integers(min_value=0, max_value=len(encoded) - 1))
    assert decode_varint(encoded[:cut], 0) is None


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (2**28 - 1, b"\xff\xff\xff\x7f"),
    ],
)
def test_varint_known_encodings(value, encoded):
    assert encode_varint(value) == encoded
    assert decode_varint(encoded, 0) == (value, len(encoded))


@given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=1, max_value=3))
def test_padded_varint_is_rejected(value, pad):
    encoded = bytearray(encode_varint(value))
    encoded[-1] |= 0x80
    padded = bytes(encoded) + b"\x80" * (pad - 1) + b"\x00"
    with pytest.raises(SigmaFormatError):
        decode_varint(padded, 0)


def test_negative_varint_is_a_value_error():
    with pytest.raises(ValueError):
        encode_varint(-1)


def test_overlong_varint_is_rejected():
    with pytest.raises(SigmaFormatError):
        decode_varint(b"\x80" * 10 + b"\x01", 0)
    with pytest.raises(SigmaFormatError):
        decode_varint(b"\x81\x80\x80\x80\x01", 0, max_bytes=4)


# -- headers -----------------------------------------------------------------


def test_every_header_round_trips():
    for gtype, flag, primitive in itertools.product(GlyphType, (False, True), range(256)):
        header = encode_header(gtype, primitive, flag)
        assert len(header) == (1 if primitive < 31 else 2)
        if primitive >= 31:
            assert header[0] & 0x1F == 31 and header[1] == primitive
        assert header[0] >> 6 == int(gtype)
        assert bool(header[0] & 0x20) == flag
        record = encode_record(gtype, primitive, b"xyz", flag)
        assert record == header + b"\x03xyz"
        parsed = read_record(record)
        assert parsed == (Record(gtype, primitive, flag, b"xyz", 0, len(record)), len(record))


@pytest.mark.parametrize("bad", [-1, 256])
def test_header_with_bad_id_is_a_value_error(bad):
    with pytest.raises(ValueError):
        encode_header(GlyphType.PRIMITIVE, bad)


def assert_both_readers_reject(record: bytes) -> None:
    """The one-shot reader and the incremental one both raise SigmaFormatError for *record*."""
    with pytest.raises(SigmaFormatError):
        read_record(record)
    handler = BoundaryHandler()
    handler.feed(record)
    with pytest.raises(SigmaFormatError):
        handler.next_record()


@pytest.mark.parametrize("small_id", [0, 1, 17, 30])
def test_escaped_small_id_is_rejected(small_id):
    assert_both_readers_reject(bytes([0xC0 | 31, small_id, 0]))


def test_escaped_id_31_is_canonical():
    assert read_record(bytes([31, 31, 0])) == (Record(GlyphType.PRIMITIVE, 31, False, b"", 0, 3), 3)


def test_padded_length_is_rejected():
    assert_both_readers_reject(b"\x0a\x81\x00x")  # length 1 spelled in two bytes


def test_length_varint_over_four_bytes_is_rejected():
    for tail in (b"", b"\x01"):
        assert_both_readers_reject(b"\x0a\x80\x80\x80\x80" + tail)


def test_payload_over_max_is_a_value_error():
    class Huge(bytes):
        def __len__(self):
            return MAX_PAYLOAD + 1

    with pytest.raises(ValueError):
        encode_record(GlyphType.PRIMITIVE, 1, Huge(b""))


def test_largest_length_uses_four_bytes():
    assert MAX_PAYLOAD == 2**28 - 1
    assert len(encode_varint(MAX_PAYLOAD)) == 4


def test_read_record_returns_none_until_complete():
    record = encode_record(GlyphType.COMPOSITE, 200, b"p" * 200, flag=True)
    for cut in range(len(record)):
        assert read_record(record[:cut]) is None
    got, end = read_record(record + b"tail")
    assert end == len(record) and got.payload == b"p" * 200 and got.primitive == 200 and got.flag


# -- BoundaryHandler ---------------------------------------------------------

records = st.tuples(
    st.sampled_from(list(GlyphType)),
    st.integers(min_value=0, max_value=255),
    st.booleans(),
    st.one_of(st.binary(max_size=20), st.binary(min_size=120, max_size=300)),
)


def build(specs):
    """Concatenate records; return the bytes and the records a parser must find, with offsets."""
    blob = bytearray()
    expected = []
    for gtype, primitive, flag, payload in specs:
        record = encode_record(gtype, primitive, payload, flag)
        expected.append(Record(gtype, primitive, flag, payload, len(blob), len(record)))
        blob += record
    return bytes(blob), expected


def drain(handler):
    out = []
    while (got := handler.next_record()) is not None:
        out.append(got)
    return out


def parse_in_slices(blob, cuts, **kwargs):
    handler = BoundaryHandler(**kwargs)
    found = []
    start = 0
    for end in [*cuts, len(blob)]:
        handler.feed(blob[start:end])
        found += drain(handler)
        start = end
    handler.check_complete()
    assert handler.state is ParseState.IDLE
    assert handler.buffered == 0
    return found


@settings(max_examples=40, deadline=None)
@given(st.lists(records, min_size=1, max_size=4))
def test_records_split_at_every_offset(specs):
    blob, expected = build(specs)
    for cut in range(len(blob) + 1):
        assert parse_in_slices(blob, [cut]) == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(records, min_size=0, max_size=12), st.lists(st.integers(min_value=1, max_value=64), min_size=1))
def test_records_fed_in_random_slices(specs, sizes):
    blob, expected = build(specs)
    cuts = list(itertools.accumulate(itertools.islice(itertools.cycle(sizes), len(blob))))
    cuts = [c for c in cuts if c < len(blob)]
    assert parse_in_slices(blob, cuts) == expected


@settings(max_examples=30, deadline=None)
@given(st.lists(records, min_size=1, max_size=6))
def test_records_fed_one_byte_at_a_time(specs):
    blob, expected = build(specs)
    assert parse_in_slices(blob, list(range(1, len(blob)))) == expected


@given(st.lists(records, max_size=6), st.integers(min_value=0, max_value=1 << 40))
def test_offsets_count_from_the_given_start(specs, base):
    blob, expected = build(specs)
    shifted = [Record(g.type, g.primitive, g.flag, g.payload, g.offset + base, g.size) for g in expected]
    assert parse_in_slices(blob, [len(blob) // 2], offset=base) == shifted


def test_states_follow_the_record():
    record = encode_record(GlyphType.COMPOSITE, 100, b"payload!")  # 2 header bytes, 1 length, 8 payload
    handler = BoundaryHandler()
    assert handler.state is ParseState.IDLE
    assert handler.next_record() is None
    assert handler.state is ParseState.IDLE
    handler.feed(record[:1])
    assert handler.next_record() is None
    assert handler.state is ParseState.PARTIAL_HEADER
    handler.feed(record[1:3])
    assert handler.next_record() is None
    assert handler.state is ParseState.PARTIAL_PAYLOAD
    handler.feed(record[3:7])
    assert handler.next_record() is None
    assert handler.state is ParseState.PARTIAL_PAYLOAD
    handler.feed(record[7:] + record[:2])
    assert handler.next_record().payload == b"payload!"
    assert handler.next_record() is None
    assert handler.state is ParseState.PARTIAL_HEADER
    handler.feed(record[2:])
    assert handler.next_record().offset == len(record)
    assert handler.next_record() is None
    assert handler.state is ParseState.IDLE
    assert handler.offset == 2 * len(record)


def test_check_complete_raises_truncated_inside_a_record():
    record = encode_record(GlyphType.PRIMITIVE, 5, b"abcdef")
    handler = BoundaryHandler()
    handler.feed(record[:-1])
    assert handler.next_record() is None
    with pytest.raises(SigmaTruncatedError):
        handler.check_complete()


@pytest.mark.parametrize("claimed", [1025, 1 << 20, MAX_PAYLOAD])
def test_length_over_limit_raises_before_payload_arrives(claimed):
    handler = BoundaryHandler(max_payload=1024, offset=100)
    handler.feed(encode_header(GlyphType.COMPOSITE, 17) + encode_varint(claimed))
    with pytest.raises(SigmaFormatError) as info:
        handler.next_record()
    assert info.value.offset == 100
    assert str(claimed) in str(info.value)


def test_length_at_limit_is_accepted():
    handler = BoundaryHandler(max_payload=1024)
    handler.feed(encode_record(GlyphType.COMPOSITE, 17, bytes(1024)))
    assert handler.next_record().payload == bytes(1024)


def test_limit_can_change_between_records():
    blob, _ = build([(GlyphType.PRIMITIVE, 1, False, b"x" * 50), (GlyphType.PRIMITIVE, 2, False, b"y" * 50)])
    handler = BoundaryHandler(max_payload=50)
    handler.feed(blob)
    assert handler.next_record().primitive == 1
    handler.max_payload = 49
    with pytest.raises(SigmaFormatError):
        handler.next_record()


def test_a_large_record_in_small_slices_is_parsed():
    # 4 MiB in 64-byte slices: 65,536 feeds. A parser that re-scans or re-copies its buffer on
    # every feed would move ~140 GB here; a linear one moves 8 MiB.
    payload = bytes(range(256)) * (16 << 10)
    record = encode_record(GlyphType.COMPOSITE, 17, payload)
    tail = encode_record(GlyphType.PRIMITIVE, 3, b"end")
    blob = memoryview(record + tail)
    handler = BoundaryHandler()
    found = []
    for start in range(0, len(blob), 64):
        handler.feed(blob[start : start + 64])
        while (got := handler.next_record()) is not None:
            found.append(got)
    assert [g.size for g in found] == [len(record), len(tail)]
    assert found[0].payload == payload
    assert found[1].offset == len(record)


def test_many_small_records_in_one_feed_then_more():
    blob, expected = build([(GlyphType.DELTA, i % 256, bool(i % 2), bytes([i % 256]) * (i % 7)) for i in range(5000)])
    handler = BoundaryHandler()
    half = len(blob) // 2
    handler.feed(blob[:half])
    found = drain(handler)
    handler.feed(blob[half:])
    found += drain(handler)
    assert found == expected


def test_take_and_peek_raw_bytes():
    handler = BoundaryHandler()
    handler.feed(b"MAGIC" + encode_record(GlyphType.PRIMITIVE, 4, b"z"))
    assert handler.peek_bytes(3) == b"MAG"
    assert handler.take_bytes(6 + 100) is None
    assert handler.take_bytes(5) == b"MAGIC"
    got = handler.next_record()
    assert got.offset == 5 and got.payload == b"z"
    handler.feed(b"rest")
    assert handler.drain() == b"rest"
    assert handler.offset == 5 + got.size + 4
