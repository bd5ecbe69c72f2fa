"""Golden vectors (tests/vectors/manifest.json): every decoder agrees with the committed files.

Valid vectors decode to their ``.out`` through ``decompress``, ``SigmaDecompressor`` fed in 1- and
7-byte slices, ``StreamingDecoder.decode_stream`` and the random-access reader of ``open()``;
stored (level 0) streams are also written byte for byte by ``compress``. Damaged vectors raise
exactly the recorded error, frame, offset and message through all of them. Adding a vector is a
manifest entry and its files, no code.
The annotated hex dumps in docs/FORMAT.md are checked against the vector files they show.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sigmalang
from sigmalang import SigmaDecompressor, StreamingDecoder
from sigmalang._recover import scan
from sigmalang.semantic.codebook import Codebook, load_codebook

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
FORMAT_DOC = ROOT / "docs" / "FORMAT.md"
MANIFEST: dict[str, Any] = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))


def decode_in_slices(data: bytes, step: int, book: Codebook | None = None) -> bytes:
    """Decode with SigmaDecompressor, *step* bytes per call, going on to each concatenated stream
    the way ``lzma`` users do (a new decompressor takes ``unused_data``)."""
    out = bytearray()
    start = fed = streams = 0
    decomp = SigmaDecompressor(codebook=book)
    for i in range(0, len(data), step):
        piece = data[i : i + step]
        while piece:
            out += decomp.decompress(piece)
            fed += len(piece)
            piece = b""
            if decomp.eof:
                streams += 1
                piece = decomp.unused_data
                start += fed - len(piece)
                decomp, fed = SigmaDecompressor(offset=start, codebook=book), 0
    if fed or not streams:
        decomp.close()  # raises: the input ended inside a stream
    return bytes(out)


def decode_streaming(data: bytes, read_size: int | None = None, book: Codebook | None = None) -> bytes:
    sink = io.BytesIO()
    if read_size is None:
        decoder = StreamingDecoder(codebook=book)
    else:
        decoder = StreamingDecoder(read_size=read_size, codebook=book)
    decoder.decode_stream(io.BytesIO(data), sink)
    return sink.getvalue()


def read_indexed(data: bytes, size: int = -1, book: Codebook | None = None) -> bytes:
    """Read through ``sigmalang.open`` on a seekable file: the random-access reader, which trusts
    the index and must still run every check the forward decoders run."""
    out = bytearray()
    with sigmalang.open(io.BytesIO(data), codebook=book) as f:
        while piece := f.read(size):
            out += piece
            if size < 0:
                break
    return bytes(out)


def decoders(book: Codebook | None = None) -> dict[str, Callable[[bytes], bytes]]:
    """Every decoder, given *book* (an entry's ``codebook`` file) where the stream needs one."""
    return {
        "decompress": lambda data: sigmalang.decompress(data, codebook=book),
        "SigmaDecompressor/1": lambda data: decode_in_slices(data, 1, book),
        "SigmaDecompressor/7": lambda data: decode_in_slices(data, 7, book),
        "StreamingDecoder": lambda data: decode_streaming(data, book=book),
        "StreamingDecoder/7": lambda data: decode_streaming(data, read_size=7, book=book),
        "open().read()": lambda data: read_indexed(data, book=book),
        "open().read(7)": lambda data: read_indexed(data, 7, book),
    }


def entry_book(entry: dict[str, Any]) -> Codebook | None:
    return load_codebook(VECTORS / entry["codebook"]) if "codebook" in entry else None


# Decoding these through every decoder takes the longest: 12-44 KB of an earlier record code or
# model version, or more damages of the largest primed PPMd vector. They are marked slow; the fast
# suite decodes each of those versions in a smaller vector (records-odd-l6, records2-odd-l6,
# records3-odd-l6, records4-odd-l6, cm-prose-l4, cm-1fff-log-l6, cm-1fff-shared-l6) and the same damages to an
# unprimed PPMd payload (bad-ppmd-appended, bad-ppmd-cut-last-byte).
SLOW_TO_DECODE = frozenset(
    {
        "records-log-l6",
        "records-shared-l6",
        "records2-log-l6",
        "records2-shared-l6",
        "records2-json-l6",
        "records3-log-l6",
        "records3-shared-l6",
        "records3-json-l6",
        "records3-clocks-l6",
        "records4-log-l6",
        "records4-shared-l6",
        "records4-json-l6",
        "records4-clocks-l6",
        "cm-log-l6",
        "cm-shared-l6",
        "bad-ppmd-primed-appended",
        "bad-ppmd-primed-cut-last-byte",
    }
)


def _params(kind: str, *, reproducible: bool = False, decoded: bool = False) -> list[Any]:
    """The manifest's *kind* entries; with *decoded*, those in SLOW_TO_DECODE are marked slow."""
    params = []
    for entry in MANIFEST[kind]:
        if reproducible and not any(s.get("reproducible") for s in entry["streams"]):
            continue
        marks = [pytest.mark.xfail(strict=True, reason=entry["known_bug"])] if entry.get("known_bug") else []
        if decoded and entry["name"] in SLOW_TO_DECODE:
            marks.append(pytest.mark.slow)
        params.append(pytest.param(entry, id=entry["name"], marks=marks))
    return params


def test_slow_vectors_are_in_the_manifest() -> None:
    names = {e["name"] for kind in ("valid", "damaged") for e in MANIFEST[kind]}
    assert SLOW_TO_DECODE - names == set()


def test_manifest_lists_every_file_once() -> None:
    listed = [e["file"] for kind in ("valid", "damaged") for e in MANIFEST[kind]]
    listed += [e["expected"] for e in MANIFEST["valid"]]
    on_disk = sorted(p.name for p in VECTORS.iterdir() if p.suffix in (".sgl", ".out"))
    assert sorted(listed) == on_disk
    books = {e["codebook"] for kind in ("valid", "damaged") for e in MANIFEST[kind] if "codebook" in e}
    assert books == {p.name for p in VECTORS.iterdir() if p.suffix == ".slb"}
    assert MANIFEST["format_version"] == 1
    assert MANIFEST["valid"] and MANIFEST["damaged"]


@pytest.mark.parametrize("entry", _params("valid", decoded=True))
def test_valid_vector_decodes_to_expected(entry: dict[str, Any]) -> None:
    stream = (VECTORS / entry["file"]).read_bytes()
    expected = (VECTORS / entry["expected"]).read_bytes()
    assert len(expected) == sum(s["size"] for s in entry["streams"])
    assert len(stream) == sum(s["encoded_size"] for s in entry["streams"])
    for name, decode in decoders(entry_book(entry)).items():
        assert decode(stream) == expected, f"{name} decoded {entry['name']} wrongly"


@pytest.mark.parametrize("entry", _params("valid", reproducible=True))
def test_stored_vector_is_reproduced_by_compress(entry: dict[str, Any]) -> None:
    """Stored (level 0) and context-mixing streams are fully specified, so compress() must write
    the committed bytes exactly. zstd and PPMd output may change between versions of those
    libraries: those streams are only decoded."""
    stream = (VECTORS / entry["file"]).read_bytes()
    expected = (VECTORS / entry["expected"]).read_bytes()
    pos = orig = 0
    for s in entry["streams"]:
        part, encoded = expected[orig : orig + s["size"]], stream[pos : pos + s["encoded_size"]]
        if s.get("reproducible"):
            written = sigmalang.compress(
                part,
                s["level"],
                chunk_size=s["chunk_size"],
                shared_context=s.get("shared_context", False),
                filters=s.get("filters", False),
                format=s.get("format", "auto"),
                codebook=entry_book(entry),
            )
            assert written == encoded
        pos, orig = pos + s["encoded_size"], orig + s["size"]


@pytest.mark.parametrize("entry", _params("damaged", decoded=True))
def test_damaged_vector_raises_recorded_error(entry: dict[str, Any]) -> None:
    """Every decoder raises the recorded error; the random-access reader raises the entry's
    ``indexed`` error instead where it has one (a fault it meets through the index first)."""
    stream = (VECTORS / entry["file"]).read_bytes()
    wrong = []
    for name, decode in decoders(entry_book(entry)).items():
        expected = entry.get("indexed", entry) if name.startswith("open()") else entry
        wanted = (expected["error"], expected["frame"], expected["offset"])
        with pytest.raises(sigmalang.SigmaError) as info:
            decode(stream)
        exc = info.value
        got = (type(exc).__name__, getattr(exc, "frame", None), getattr(exc, "offset", None))
        if got != wanted or expected["message"] not in str(exc):
            wrong.append(f"{name}: {got} {str(exc)!r}, expected {wanted} with {expected['message']!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("entry", _params("damaged"))
def test_recovery_scan_reports_every_damaged_vector(entry: dict[str, Any]) -> None:
    """verify/recover's scan ends on every damaged vector (one hung on a fuzz finding) and flags it."""
    stream = (VECTORS / entry["file"]).read_bytes()
    salvaged = bytearray()
    result = scan(io.BytesIO(stream), salvaged.extend)
    assert not result.ok
    assert len(salvaged) == result.intact_bytes


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c_reference(data: bytes) -> int:
    """CRC-32C as docs/FORMAT.md defines it, written independently of the ``crc32c`` package."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ CRC32C_TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte, pos = buf[pos], pos + 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def walk_records(stream: bytes) -> list[list[tuple[int, int, bytes]]]:
    """``(primitive id, record size, payload)`` of every record, per stream, parsed by hand."""
    streams, pos = [], 0
    while pos < len(stream):
        assert stream[pos : pos + 8] == b"\xce\xa3LG\r\n\x1a\n"
        pos += 8
        records: list[tuple[int, int, bytes]] = []
        while not records or records[-1][0] != 19:
            start, first = pos, stream[pos]
            primitive, pos = (stream[pos + 1], pos + 2) if first & 0x1F == 31 else (first & 0x1F, pos + 1)
            length, pos = read_varint(stream, pos)
            records.append((primitive, pos + length - start, stream[pos : pos + length]))
            pos += length
        streams.append(records)
    return streams


def check_filter_extension(extension: bytes, frames: int, damaged: bool) -> None:
    """The filter extension as FORMAT.md §18 lays it out: header with its CRC32C, then (version 2)
    the shared record with its own CRC32C, lines 0 and flags 0, then one record per frame with its
    own CRC32C (in the damaged vector, exactly frame 1's does not match)."""
    version = extension[0]
    assert version in (1, 2) and extension[1] == 3
    count, pos = read_varint(extension, 2)
    assert count == frames
    sizes = []
    for _ in range(count):
        size, pos = read_varint(extension, pos)
        sizes.append(size)
    shared = 0
    if version == 2:
        shared, pos = read_varint(extension, pos)
    assert crc32c_reference(extension[:pos]) == int.from_bytes(extension[pos : pos + 4], "little")
    pos += 4
    assert pos + shared + sum(sizes) == len(extension)
    if version == 2:
        record = extension[pos : pos + shared]
        assert crc32c_reference(record[:-4]) == int.from_bytes(record[-4:], "little")
        assert record[:2] == bytes([0, 0]) and record[2] > 0  # lines 0, flags 0, k > 0: it holds items
        pos += shared
    bad = []
    for number, size in enumerate(sizes):
        record = extension[pos : pos + size]
        if crc32c_reference(record[:-4]) != int.from_bytes(record[-4:], "little"):
            bad.append(number)
        pos += size
    assert bad == ([1] if damaged else [])


def test_crc32c_reference_is_castagnoli() -> None:
    assert crc32c_reference(b"123456789") == 0xE3069283


@pytest.mark.parametrize("entry", _params("valid"))
def test_valid_vector_checksums_follow_the_spec(entry: dict[str, Any]) -> None:
    """Every record's CRC32C, the index's sizes and BLAKE2b-128, and the trailer, as FORMAT.md says."""
    stream = (VECTORS / entry["file"]).read_bytes()
    expected = (VECTORS / entry["expected"]).read_bytes()
    streams = walk_records(stream)
    assert len(streams) == len(entry["streams"])
    orig = 0
    for records, info in zip(streams, entry["streams"], strict=True):
        header, *frames, (_, index_size, index), (_, trailer_size, trailer) = records
        fields = [read_varint(index, 0)]
        while len(fields) < 2 * fields[0][0] + 3:
            fields.append(read_varint(index, fields[-1][1]))
        index, extension = index[: fields[-1][1] + 20], index[fields[-1][1] + 20 :]
        assert bool(extension) == info.get("filters", False)
        if extension:
            check_filter_extension(extension, len(frames), damaged=entry["name"] == "filters-damaged-l0")
        for _, _, payload in [*records[:-2], (0, 0, index), records[-1]]:
            assert crc32c_reference(payload[:-4]) == int.from_bytes(payload[-4:], "little")
        count, header_size, *entries, total = [value for value, _ in fields]
        assert count == len(frames) and header_size == 8 + header[1]
        assert entries[0::2] == [size for _, size, _ in frames]
        assert sum(entries[1::2]) == total == info["size"]
        content = expected[orig : orig + info["size"]]
        assert index[-20:-4] == hashlib.blake2b(content, digest_size=16).digest()
        assert trailer_size == 14 and int.from_bytes(trailer[:8], "little") == index_size
        orig += info["size"]


# The dumps in docs/FORMAT.md: a "<!-- vector: NAME.sgl -->" line, then a fenced block whose rows
# are "OFFSET  BYTES  FIELD" with the bytes in a fixed 47-character column.
DUMP = re.compile(r"<!-- vector: (?P<file>\S+) -->\s*```text\n(?P<rows>.*?)```", re.DOTALL)


def test_format_doc_dumps_match_vectors() -> None:
    dumps = DUMP.findall(FORMAT_DOC.read_text(encoding="utf-8"))
    assert len(dumps) >= 3
    for file, rows in dumps:
        data = bytearray()
        for row in rows.splitlines():
            offset, hex_bytes = int(row[:6], 16), row[8:55]
            assert offset == len(data), f"{file}: row {row!r} is at offset {len(data):06x}"
            data += bytes.fromhex(hex_bytes)
        assert bytes(data) == (VECTORS / file).read_bytes(), f"the dump of {file} in docs/FORMAT.md is stale"
