"""Names the package used before it settled on one vocabulary still work, read-only, as aliases."""

from __future__ import annotations

import io

import pytest

import sigmalang
from sigmalang import _container, _wire
from sigmalang._container import StreamParser
from sigmalang._index import SeekTable
from sigmalang._recover import scan
from sigmalang._stream_records import Frame

DATA = b"".join(b"line %d of the former names test\n" % n for n in range(3000))


@pytest.fixture(scope="module")
def stream() -> bytes:
    return sigmalang.compress(DATA, 1, chunk_size=16 * 1024)


def test_seek_table_and_frame_location_keep_orig_names(stream: bytes) -> None:
    table = SeekTable.from_file(io.BytesIO(stream))
    assert len(table) >= 3
    assert table.orig_offsets is table.original_offsets
    assert table.orig_sizes is table.original_sizes
    loc = table.location(1)
    assert (loc.orig_offset, loc.orig_size) == (loc.original_offset, loc.original_size)
    assert loc.original_offset == table.original_sizes[0]
    with pytest.raises(AttributeError):
        table.orig_sizes = table.original_sizes  # type: ignore[misc]


def test_frame_and_parser_keep_orig_names(stream: bytes) -> None:
    parser = StreamParser()
    parser.feed(stream)
    frames = []
    while (event := parser.next_event()) is not None:
        if isinstance(event, Frame):
            frames.append(event)
    assert [(f.orig_offset, f.orig_size) for f in frames] == [(f.original_offset, f.original_size) for f in frames]
    assert parser.orig_seen == parser.original_seen == len(DATA)


def test_damaged_frame_keeps_orig_names_and_its_json_keys(stream: bytes) -> None:
    table = SeekTable.from_file(io.BytesIO(stream))
    blob = bytearray(stream)
    blob[table.offsets[1] + table.record_sizes[1] // 2] ^= 0x5A
    result = scan(io.BytesIO(bytes(blob)))
    [damaged] = result.streams[0].damaged
    assert (damaged.orig_start, damaged.orig_end) == (damaged.original_start, damaged.original_end)
    assert (damaged.original_start, damaged.original_end) == (table.original_offsets[1], table.original_offsets[2])
    [as_json] = result.as_dict()["streams"][0]["damaged"]
    assert as_json == {
        "number": 1,
        "offset": table.offsets[1],
        "orig_start": damaged.original_start,
        "orig_end": damaged.original_end,
        "error": damaged.error,
    }


def test_record_api_keeps_its_glyph_names(stream: bytes) -> None:
    assert _wire.Glyph is _wire.Record
    assert _wire.read_glyph is _wire.read_record
    assert _wire.encode_glyph is _wire.encode_record
    assert _container.check_frame_glyph is _container.check_frame_record
    assert {"Glyph", "read_glyph", "encode_glyph"} <= set(_wire.__all__)
    assert "check_frame_glyph" in _container.__all__
    handler = _wire.BoundaryHandler(offset=len(_container.MAGIC))
    handler.feed(stream[len(_container.MAGIC) :])
    first = handler.next_glyph()
    assert isinstance(first, _wire.Record) and first == _wire.read_record(stream, len(_container.MAGIC))[0]
    rest = []
    while (record := handler.next_glyph()) is not None:
        rest.append(record)
    assert len(rest) == len(SeekTable.from_file(io.BytesIO(stream))) + 2  # frames, index, trailer


def test_stream_stats_keep_glyphs() -> None:
    out = io.BytesIO()
    stats = sigmalang.StreamingEncoder(1, chunk_size=16 * 1024).encode_stream(io.BytesIO(DATA), out)
    assert stats.glyphs == stats.records == len(SeekTable.from_file(out)) + 3  # header, index, trailer
    as_dict = stats.as_dict()
    assert as_dict["glyphs"] == as_dict["records"] == stats.records
    with pytest.raises(AttributeError):
        stats.glyphs = 0  # type: ignore[misc]
