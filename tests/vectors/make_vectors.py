"""Write the golden vectors in this directory and their manifest, ``manifest.json``.

Run once, when the format version changes (see README.md); the files it writes are committed and
the tests read them, so they never depend on this script's output being reproducible::

    .venv/bin/python tests/vectors/make_vectors.py            # (re)write every vector
    .venv/bin/python tests/vectors/make_vectors.py --dump hello.sgl   # annotated hex for docs/FORMAT.md

Valid stored vectors are made with ``sigmalang.compress(level=0)``, which the tests reproduce; zstd
vectors by :func:`zstd_stream`, independent of what sigmalang's levels mean. Damaged vectors are valid streams with one
deliberate fault; where the fault is behind a CRC32C (a field with a wrong value, not a flipped
bit), the CRC32C is recomputed so that the check behind it is the one that fires.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import zstandard
from crc32c import crc32c

import sigmalang
from sigmalang import primitives
from sigmalang._backend_base import STORE, ZSTD
from sigmalang._chunking import chunk_end
from sigmalang._container import MAGIC, StreamAssembler
from sigmalang._levels import TRANSFORM_LITERAL
from sigmalang._stream_records import StreamHeader
from sigmalang._wire import decode_varint, encode_varint, read_glyph

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "dickens-64k.txt"
DEFAULT_CHUNK = 1 << 20  # for the vectors that name no chunk size: fixed, so a new library default changes no vector


# --------------------------------------------------------------------------- stream surgery


@dataclass(frozen=True)
class Record:
    """One record of a stream: where it starts, where its payload starts, where it ends."""

    offset: int
    payload: int
    end: int


def records(stream: bytes, start: int = 0) -> list[Record]:
    """Header, frames, index and trailer of the one valid stream that begins at *start*."""
    out = []
    pos = start + len(MAGIC)
    while True:
        parsed = read_glyph(stream, pos)
        assert parsed is not None, f"no complete record at {pos}"
        glyph, end = parsed
        out.append(Record(pos, end - len(glyph.payload), end))
        pos = end
        if glyph.primitive == primitives.TRAILER:
            return out


def replace(stream: bytes, at: int, end: int, new: bytes) -> bytes:
    return stream[:at] + new + stream[end:]


def flip(stream: bytes, at: int) -> bytes:
    return replace(stream, at, at + 1, bytes([stream[at] ^ 0xFF]))


def rewrite_body(stream: bytes, rec: Record, edit: Callable[[bytes], bytes]) -> bytes:
    """Replace a record's payload body (payload less its CRC32C) by ``edit(body)``, with a fresh CRC32C
    and length, so that only the field that *edit* changed is wrong."""
    header = stream[rec.offset : rec.payload]
    length_at = rec.offset + (2 if header[0] & 0x1F == 31 else 1)
    body = edit(stream[rec.payload : rec.end - 4])
    payload = body + struct.pack("<I", crc32c(body))
    return replace(stream, rec.offset, rec.end, stream[rec.offset : length_at] + encode_varint(len(payload)) + payload)


def set_varint(body: bytes, field: int, value: int) -> bytes:
    """*body* with its *field*-th leading varint (0-based) set to *value*."""
    pos = 0
    for _ in range(field):
        parsed = decode_varint(body, pos)
        assert parsed is not None
        pos = parsed[1]
    parsed = decode_varint(body, pos)
    assert parsed is not None
    return body[:pos] + encode_varint(value) + body[parsed[1] :]


def frame_fields(body: bytes) -> tuple[list[int], int]:
    """A frame body's number, original offset and original size, and where its transform byte is."""
    values, pos = [], 0
    for _ in range(3):
        parsed = decode_varint(body, pos)
        assert parsed is not None
        values.append(parsed[0])
        pos = parsed[1]
    return values, pos


def frame_fields_end(body: bytes) -> int:
    return frame_fields(body)[1]


def index_body(stream: bytes, frames: list[Record]) -> bytes:
    """An index body, less its content checksum, that lists exactly *frames* of *stream* (at offset 0)."""
    entries, total = b"", 0
    for rec in frames:
        orig_size = frame_fields(stream[rec.payload : rec.end])[0][2]
        entries += encode_varint(rec.end - rec.offset) + encode_varint(orig_size)
        total += orig_size
    return encode_varint(len(frames)) + encode_varint(frames[0].offset) + entries + encode_varint(total)


def claim_size(stream: bytes, number: int, size: int) -> bytes:
    """*stream* (one stream) with frame *number* claiming *size* original bytes, and its index and
    trailer made to agree (each record with a fresh CRC32C): only a check against the header's
    chunk size or the decoded data can tell."""
    frame = records(stream)[1 + number]
    stream = rewrite_body(stream, frame, lambda b: set_varint(b, 2, size))
    _, *frames, index, _ = records(stream)
    stream = rewrite_body(stream, index, lambda b: index_body(stream, frames) + b[-16:])
    *_, index, trailer = records(stream)
    return rewrite_body(stream, trailer, lambda b: struct.pack("<Q", index.end - index.offset))


def zstd_content_size_field(data: bytes) -> int:
    """Offset in a zstd frame of its Frame_Content_Size field (RFC 8878, 3.1.1.1)."""
    descriptor = data[4]
    single_segment = descriptor >> 5 & 1
    dict_id_size = (0, 1, 2, 4)[descriptor & 3]
    assert descriptor >> 6 or single_segment, "no content size field"
    return 5 + (0 if single_segment else 1) + dict_id_size


def zstd_block_header(data: bytes) -> int:
    """Offset in a zstd frame of its first block header."""
    descriptor = data[4]
    size_flag, single_segment = descriptor >> 6, descriptor >> 5 & 1
    content_size_size = (1 if single_segment else 0, 2, 4, 8)[size_flag]
    return zstd_content_size_field(data) + content_size_size


# --------------------------------------------------------------------------- the vectors


ZSTD_HEADER_LEVEL = 1  # the level byte written in zstd vectors' headers (advisory: readers ignore it)


def zstd_stream(data: bytes, chunk_size: int, zstd_level: int) -> bytes:
    """A stream of *data* whose frames are zstd at *zstd_level* (stored where zstd does not shrink).

    Written here rather than by ``compress(level=...)`` so that the vectors do not depend on which
    sigmalang level means which backend: the format has no levels, only backend ids.
    """
    assembler = StreamAssembler(StreamHeader(chunk_size=chunk_size, level=ZSTD_HEADER_LEVEL))
    zstd = zstandard.ZstdCompressor(level=zstd_level, write_content_size=True, write_checksum=False)
    out = [assembler.start()]
    pos = 0
    while end := chunk_end(data[pos:], chunk_size, final=True):
        chunk = data[pos : pos + end]
        packed = zstd.compress(chunk)
        if len(packed) < len(chunk):
            out.append(assembler.frame(chunk, TRANSFORM_LITERAL, ZSTD, packed))
        else:
            out.append(assembler.frame(chunk, TRANSFORM_LITERAL, STORE, chunk))
        pos += end
    out.append(assembler.finish())
    return b"".join(out)


@dataclass
class Part:
    """One stream of a valid vector: the input it holds and how it was written.

    ``zstd=None``: ``sigmalang.compress(data, 0, chunk_size=...)``, which the tests reproduce byte
    for byte; otherwise :func:`zstd_stream` at that zstd level, which the tests only decode.
    """

    data: bytes
    chunk_size: int = DEFAULT_CHUNK
    zstd: int | None = None
    shared_level: int | None = None  # sigmalang.compress(..., level, shared_context=True): only decoded
    kept: str | None = None  # a file here, written once by an earlier writer and kept as it is

    def encode(self) -> bytes:
        if self.kept is not None:
            return (HERE / self.kept).read_bytes()
        if self.shared_level is not None:
            return sigmalang.compress(self.data, self.shared_level, chunk_size=self.chunk_size, shared_context=True)
        if self.zstd is None:
            return sigmalang.compress(self.data, 0, chunk_size=self.chunk_size)
        return zstd_stream(self.data, self.chunk_size, self.zstd)

    def describe(self, encoded: bytes) -> dict[str, object]:
        if self.shared_level is not None:
            writer, level = f"sigmalang.compress, shared context, level {self.shared_level}", self.shared_level
            if self.kept is not None:
                writer += " (the earlier PPMd primer format; the file is kept, not written again)"
        else:
            writer = "sigmalang.compress" if self.zstd is None else f"zstd level {self.zstd}"
            level = 0 if self.zstd is None else ZSTD_HEADER_LEVEL
        return {
            "writer": writer,
            "level": level,
            "chunk_size": self.chunk_size,
            "size": len(self.data),
            "encoded_size": len(encoded),
            "reproducible": self.zstd is None and self.shared_level is None,
        }


def shared_vector_part(text: bytes) -> Part:
    """20 KiB of Dickens at 1 KiB chunks, level 3 (PPMd primed with the history), shared context:
    21 frames (line-aligned), of which frames 0 and 16 are reset points (docs/FORMAT.md §6.3).

    Written by ``sigmalang.compress(..., 3, chunk_size=1024, shared_context=True)`` when its PPMd
    frames used the earlier primer format (docs/FORMAT.md §7.5), and kept as a vector of that
    format: the file is read, not written again (``shared-context-l3-fresh`` is today's writer)."""
    return Part(text[:20480], 1024, shared_level=3, kept="shared-context-l3.sgl")


def valid_vectors(text: bytes) -> dict[str, tuple[str, list[Part]]]:
    dickens = text[:20480]
    binary = bytes(range(256)) * 64
    kib4 = 4096
    return {
        "empty": ("empty input", [Part(b"")]),
        "one-byte": ("one byte (0xff, not UTF-8)", [Part(b"\xff")]),
        "hello": ('"hello\\n", stored (the docs/FORMAT.md example)', [Part(b"hello\n")]),
        "hello-x16-zstd": (
            '"hello\\n" x 16 as one zstd frame (the docs/FORMAT.md example)',
            [Part(b"hello\n" * 16, zstd=3)],
        ),
        "dickens-20k-l0": ("20 KiB of Dickens (CRLF line ends), 4 KiB chunks, stored", [Part(dickens, kib4)]),
        "dickens-20k-zstd3": ("the same, frames zstd level 3", [Part(dickens, kib4, zstd=3)]),
        "dickens-20k-zstd19": ("the same, frames zstd level 19", [Part(dickens, kib4, zstd=19)]),
        "binary-l0": ("bytes 0..255 repeated 64 times, 4 KiB chunks, stored", [Part(binary, kib4)]),
        "binary-zstd3": ("the same, frames zstd level 3", [Part(binary, kib4, zstd=3)]),
        "no-newline-2-chunks": (
            "8 KiB without a line feed at 4 KiB chunks: two full frames",
            [Part(b"x" * 8192, kib4)],
        ),
        "concat-two": (
            "two concatenated streams: one stored, one zstd with 1 KiB chunks",
            [Part(b"first stream\n"), Part(text[:3000], 1024, zstd=3)],
        ),
        "concat-empty-first": ("an empty stream, then a stream of one frame", [Part(b""), Part(b"second\n")]),
        "shared-context-l3": (
            "20 KiB of Dickens, 1 KiB chunks, level 3 with shared context (frames 0 and 16 are resets), "
            "PPMd in the earlier primer format",
            [shared_vector_part(text)],
        ),
    }


@dataclass
class Damaged:
    description: str
    data: bytes
    error: str
    frame: int | None
    offset: int | None
    message: str
    known_bug: str | None = None
    # What the random-access reader (sigmalang.open on a seekable file) raises instead, where it
    # meets the fault through the index first: (error, frame, offset, message).
    indexed: tuple[str, int | None, int | None, str] | None = None


def damaged_vectors(text: bytes) -> dict[str, Damaged]:
    # Base: a stored stream of four frames (128-byte chunks), small enough to read in a hex dump.
    base = sigmalang.compress(text[:440], 0, chunk_size=128)
    header, *frames, index, trailer = records(base)
    assert len(frames) == 4, len(frames)
    f0, f1, f2 = frames[0], frames[1], frames[2]
    zbase = zstd_stream(text[:4000], 2048, 3)
    _, zf0, *_ = records(zbase)
    first = sigmalang.compress(b"first\n", 0, chunk_size=DEFAULT_CHUNK)
    body_at = f1.payload + frame_fields_end(base[f1.payload : f1.end]) + 2  # frame 1's first data byte

    def frame_body(rec: Record, edit: Callable[[bytes], bytes]) -> bytes:
        return rewrite_body(base, rec, edit)

    def header_byte(i: int, value: int) -> Callable[[bytes], bytes]:
        return lambda b: b[:i] + bytes([value]) + b[i + 1 :]

    v: dict[str, Damaged] = {}
    fe, te = "SigmaFormatError", "SigmaTruncatedError"
    v["bad-empty"] = Damaged("empty file", b"", te, None, 0, "empty input")
    v["bad-magic"] = Damaged("first byte of the magic changed", flip(base, 0), fe, None, 0, "bad magic")
    v["bad-magic-crlf"] = Damaged(
        "magic damaged by a text-mode transfer (CR LF turned into LF)",
        base.replace(b"\r\n\x1a", b"\n\x1a", 1),
        fe,
        None,
        0,
        "bad magic",
    )
    v["bad-truncated-magic"] = Damaged("only 5 bytes of the magic", base[:5], te, None, 0, "too short")
    v["bad-truncated-header"] = Damaged(
        "cut inside the stream header", base[: header.offset + 5], te, 0, header.offset, "truncated after 0"
    )
    v["bad-truncated-frame"] = Damaged(
        "cut in the middle of frame 1", base[: (f1.offset + f1.end) // 2], te, 1, f1.offset, "truncated after 1"
    )
    v["bad-truncated-index"] = Damaged(
        "cut inside the index", base[: index.offset + 3], te, 4, index.offset, "truncated after 4"
    )
    v["bad-truncated-before-trailer"] = Damaged(
        "cut just before the trailer", base[: trailer.offset], te, 4, trailer.offset, "(440 original bytes intact)"
    )
    v["bad-truncated-trailer"] = Damaged(
        "last byte of the trailer missing", base[:-1], te, 4, trailer.offset, "truncated after 4"
    )
    v["bad-frame-crc"] = Damaged(
        "one byte of frame 1's stored data flipped", flip(base, body_at), fe, 1, f1.offset, "frame CRC32C mismatch"
    )
    v["bad-header-crc"] = Damaged(
        "level byte of the stream header flipped",
        flip(base, header.payload + 2),
        fe,
        None,
        header.offset,
        "stream header CRC32C mismatch",
    )
    v["bad-index-crc"] = Damaged(
        "a byte inside the index's frame entries flipped",
        flip(base, index.payload + 3),
        fe,
        None,
        index.offset,
        "index CRC32C mismatch",
    )
    v["bad-trailer-crc"] = Damaged(
        "a byte of the trailer's index size flipped",
        flip(base, trailer.payload),
        fe,
        None,
        trailer.offset,
        "trailer CRC32C mismatch",
    )
    v["bad-frames-swapped"] = Damaged(
        "frames 1 and 2 exchanged",
        base[: f1.offset] + base[f2.offset : f2.end] + base[f1.offset : f1.end] + base[f2.end :],
        fe,
        1,
        f1.offset,
        "frame numbered 2 where frame 1 was expected",
    )
    oversized = base[: f0.offset] + bytes([base[f0.offset]]) + encode_varint(2**28 - 1) + base[f0.payload : f1.offset]
    v["bad-oversized-length"] = Damaged(
        "frame 0 claims a 2**28-1 byte payload; the file ends soon after (rejected before reading on)",
        oversized,
        fe,
        None,
        f0.offset,
        "record payload length 268435455 exceeds the limit",
    )
    length = base[f0.offset + 1 : f0.payload]
    padded = length[:-1] + bytes([length[-1] | 0x80, 0])  # the same value, one byte longer
    v["bad-noncanonical-varint"] = Damaged(
        "frame 0's length varint padded with a trailing zero byte",
        replace(base, f0.offset + 1, f0.payload, padded),
        fe,
        None,
        f0.offset,
        "non-canonical varint",
    )
    v["bad-escaped-small-id"] = Damaged(
        "frame 0's primitive id 17 written with the escape (id 31, then 17)",
        replace(base, f0.offset, f0.offset + 1, bytes([base[f0.offset] | 0x1F, primitives.FRAME])),
        fe,
        None,
        f0.offset,
        "escaped small id",
    )
    v["bad-long-length-varint"] = Damaged(
        "stream header length written as a 5-byte varint",
        replace(
            base,
            header.offset + 1,
            header.payload,
            bytes([0x80 | (header.end - header.payload)]) + b"\x80" * 3 + b"\x00",
        ),
        fe,
        None,
        header.offset,
        "varint longer than 4 bytes",
    )
    v["bad-unknown-record"] = Damaged(
        "a CODEBOOK glyph (Σ20) between frames 0 and 1",
        replace(base, f1.offset, f1.offset, bytes([0xC0 | 20, 2]) + b"??"),
        fe,
        1,
        f1.offset,
        "unexpected record Σ20 CODEBOOK in the frame sequence",
    )
    v["bad-frame-wrong-type"] = Damaged(
        "frame 1 written as a PRIMITIVE glyph instead of COMPOSITE",
        replace(base, f1.offset, f1.offset + 1, bytes([base[f1.offset] & 0x3F])),
        fe,
        1,
        f1.offset,
        "unexpected record Σ17 FRAME",
    )
    v["bad-trailing-garbage"] = Damaged(
        "a valid stream followed by 8 bytes that are not a stream", base + b"garbage!", fe, None, len(base), "bad magic"
    )
    v["bad-trailing-zeros"] = Damaged(
        "a valid stream followed by zero padding (not allowed)", base + bytes(4), fe, None, len(base), "bad magic"
    )
    v["bad-trailing-partial-magic"] = Damaged(
        "a valid stream followed by the first 3 bytes of another", base + MAGIC[:3], te, None, len(base), "too short"
    )
    v["bad-second-stream-truncated"] = Damaged(
        "two concatenated streams, the second cut inside its frame 2",
        first + base[: f2.offset + 4],
        te,
        2,
        len(first) + f2.offset,
        "truncated after 2 complete frames",
    )
    v["bad-second-stream-frame-crc"] = Damaged(
        "two concatenated streams, a byte of the second one's frame 1 flipped",
        first + flip(base, body_at),
        fe,
        1,
        len(first) + f1.offset,
        "frame CRC32C mismatch",
    )
    # Faults behind a valid CRC32C: the record is intact, a field in it is wrong.
    v["bad-version"] = Damaged(
        "stream header says format version 2",
        frame_body(header, header_byte(0, 2)),
        fe,
        None,
        header.offset,
        "unsupported format version 2",
    )
    v["bad-header-flags"] = Damaged(
        "stream header sets unknown flag 0x80",
        frame_body(header, header_byte(1, 0x80)),
        fe,
        None,
        header.offset,
        "unknown flags 0x80",
    )
    v["bad-chunk-size-zero"] = Damaged(
        "stream header chunk size 0",
        frame_body(header, lambda b: b[:3] + set_varint(b[3:], 0, 0)),
        fe,
        None,
        header.offset,
        "chunk size 0 outside",
    )
    v["bad-chunk-size-huge"] = Damaged(
        "stream header chunk size 64 MiB + 1",
        frame_body(header, lambda b: b[:3] + set_varint(b[3:], 0, (64 << 20) + 1)),
        fe,
        None,
        header.offset,
        "chunk size 67108865 outside",
    )
    v["bad-header-trailing-bytes"] = Damaged(
        "stream header with 2 extra bytes after its fields",
        frame_body(header, lambda b: b + b"\0\0"),
        fe,
        None,
        header.offset,
        "stream header: 2 unexpected bytes at the end",
    )
    v["bad-header-too-long"] = Damaged(
        "stream header payload of 1025 bytes (limit 1024)",
        replace(base, header.offset, header.end, bytes([base[header.offset]]) + encode_varint(1025) + bytes(1025)),
        fe,
        None,
        header.offset,
        "record payload length 1025 exceeds the limit of 1024",
    )
    v["bad-not-header"] = Damaged(
        "the record after the magic is a frame, not a stream header",
        base[: header.offset] + base[f0.offset :],
        fe,
        None,
        header.offset,
        "expected a stream header record",
    )
    v["bad-frame-number"] = Damaged(
        "frame 1 numbered 7",
        frame_body(f1, lambda b: set_varint(b, 0, 7)),
        fe,
        1,
        f1.offset,
        "frame numbered 7 where frame 1 was expected",
    )
    v["bad-frame-orig-offset"] = Damaged(
        "frame 1 claims original offset 5",
        frame_body(f1, lambda b: set_varint(b, 1, 5)),
        fe,
        1,
        f1.offset,
        "frame claims original offset 5",
    )
    v["bad-frame-too-large"] = Damaged(
        "frame 1 claims 129 original bytes in a stream of 128-byte chunks",
        frame_body(f1, lambda b: set_varint(b, 2, 129)),
        fe,
        1,
        f1.offset,
        "frame original size 129 exceeds the chunk size 128",
    )
    v["bad-frame-and-index-huge"] = Damaged(
        "frame 1 and the index claim 2**60 original bytes (the index agrees: a random-access reader must"
        " check the chunk size too, before allocating)",
        claim_size(base, 1, 1 << 60),
        fe,
        1,
        f1.offset,
        "frame original size 1152921504606846976 exceeds the chunk size 128",
    )
    # Made from sigmalang.compress(text[:400], 6, chunk_size=1024) by claim_size(stream, 0, 1 << 34)
    # when it was added; the file is kept, since the context-mixing writer's bytes may change.
    kept = (HERE / "bad-cm-frame-and-index-huge.sgl").read_bytes()
    v["bad-cm-frame-and-index-huge"] = Damaged(
        "a context-mixing frame and the index claim 2**34 original bytes (a 1 KiB chunk size)",
        kept,
        fe,
        0,
        records(kept)[1].offset,
        "frame original size 17179869184 exceeds the chunk size 1024",
    )
    v["bad-frame-and-index-empty"] = Damaged(
        "frame 1 and the index claim 0 original bytes (its stored bytes disagree)",
        claim_size(base, 1, 0),
        fe,
        1,
        f1.offset,
        "frame cannot be decoded: stored data is",
    )
    one = frame_body(header, lambda b: b[:3] + set_varint(b[3:], 0, 1))
    v["bad-chunk-size-one"] = Damaged(
        "stream header chunk size 1, frames of up to 128 bytes (the index agrees with the frames)",
        one,
        fe,
        None,
        records(one)[1].offset,
        "exceeds the limit of 96",
    )
    continues = replace(base, f1.offset, f1.offset + 1, bytes([base[f1.offset] | 0x20]))  # not under the CRC
    v["bad-frame-continues"] = Damaged(
        "frame 1 has the context flag set in a stream of independent frames",
        continues,
        fe,
        1,
        f1.offset,
        "frame depends on context",
    )
    v["bad-frame-short-store"] = Damaged(
        "stored frame 1 with its last data byte removed (data and original size disagree)",
        frame_body(f1, lambda b: b[:-1]),
        fe,
        1,
        f1.offset,
        "frame cannot be decoded: stored data is",
    )
    v["bad-unknown-transform"] = Damaged(
        "frame 1 names transform 9",
        frame_body(f1, lambda b: b[: frame_fields_end(b)] + b"\x09" + b[frame_fields_end(b) + 1 :]),
        fe,
        1,
        f1.offset,
        "unknown transform 9",
    )
    v["bad-unknown-backend"] = Damaged(
        "frame 1 names backend 7",
        frame_body(f1, lambda b: b[: frame_fields_end(b) + 1] + b"\x07" + b[frame_fields_end(b) + 2 :]),
        fe,
        1,
        f1.offset,
        "unknown backend 7",
    )
    v["bad-frame-crc-too-short"] = Damaged(
        "frame 1 record with a 3-byte payload, too short for its CRC32C",
        replace(base, f1.offset, f1.end, bytes([base[f1.offset], 3]) + b"abc"),
        fe,
        1,
        f1.offset,
        "frame too short for its CRC32C",
    )

    def zstd_edit(at: Callable[[bytes], int], value: Callable[[int], int]) -> Callable[[bytes], bytes]:
        """Edit one byte of frame 0's zstd data, found by *at* (an offset into the zstd frame)."""

        def edit(body: bytes) -> bytes:
            data_at = frame_fields_end(body) + 2
            i = data_at + at(body[data_at:])
            return body[:i] + bytes([value(body[i])]) + body[i + 1 :]

        return edit

    v["bad-zstd-block-type"] = Damaged(
        "frame 0's first zstd block header set to the reserved block type 3",
        rewrite_body(zbase, zf0, zstd_edit(zstd_block_header, lambda b: b | 0b110)),
        fe,
        0,
        zf0.offset,
        "frame cannot be decoded: zstd",
    )
    v["bad-zstd-content-size"] = Damaged(
        "frame 0's zstd frame header declares a content size other than the frame's original size",
        rewrite_body(zbase, zf0, zstd_edit(zstd_content_size_field, lambda b: b ^ 1)),
        fe,
        0,
        zf0.offset,
        "frame cannot be decoded: zstd frame declares",
    )
    shared = shared_vector_part(text).encode()
    shared_frames = records(shared)[1:-2]
    sf2 = shared_frames[2]
    v["bad-shared-continuing-frame"] = Damaged(
        "shared-context-l3.sgl with a byte of frame 2 (a continuing frame) flipped: a scan loses frames"
        " 2-15, the frames up to the next reset point, and salvages 0-1 and 16-20",
        flip(shared, sf2.payload + frame_fields_end(shared[sf2.payload : sf2.end]) + 4),
        fe,
        2,
        sf2.offset,
        "frame CRC32C mismatch",
    )
    short_index = frame_body(index, lambda b: index_body(base, frames[:3]) + b[-16:])
    v["bad-index-count"] = Damaged(
        "a self-consistent index that lists only frames 0-2 of the 4",
        short_index,
        fe,
        None,
        index.offset,
        "index lists 3 frames that do not match the 4 read",
    )
    v["bad-index-count-huge"] = Damaged(
        "index claims 10**9 frames (rejected before anything is allocated for them)",
        frame_body(index, lambda b: set_varint(b, 0, 10**9)),
        fe,
        None,
        index.offset,
        "frame count 1000000000 larger than the index can hold",
    )
    v["bad-index-header-size"] = Damaged(
        "index records a header size one too large",
        frame_body(index, lambda b: set_varint(b, 1, header.end + 1)),
        fe,
        None,
        index.offset,
        "index disagrees on the header size",
    )
    v["bad-index-total"] = Damaged(
        "index total size one byte more than the sum of its frames",
        frame_body(index, lambda b: set_varint(b, 2 + 2 * 4, 441)),
        fe,
        None,
        index.offset,
        "total size 441 is not the sum of frame sizes 440",
    )
    # The entries reordered: the index keeps its size, total and CRC32C, and still leads back to
    # the stream's start, so a reader that seeks by it reads frame 2 where the index says it is.
    swapped = frame_body(index, lambda b: index_body(base, [f0, f1, frames[3], f2]) + b[-16:])
    v["bad-index-entries-swapped"] = Damaged(
        "index entries of frames 2 and 3 swapped (a valid CRC32C): read forward, the index does not"
        " match the frames read; read through the index, frame 2 is not the record the index lists",
        swapped,
        fe,
        None,
        index.offset,
        "index lists 4 frames that do not match the 4 read",
        indexed=(fe, 2, f2.offset, "frame does not match the index"),
    )
    v["bad-content-checksum"] = Damaged(
        "index holds a wrong BLAKE2b content checksum",
        frame_body(index, lambda b: b[:-16] + bytes(16)),
        fe,
        None,
        len(base),
        "content checksum (BLAKE2b) mismatch",
    )
    v["bad-content-checksum-then-stream"] = Damaged(
        "the same, followed by a second, valid stream",
        frame_body(index, lambda b: b[:-16] + bytes(16)) + first,
        fe,
        None,
        len(base),
        "content checksum (BLAKE2b) mismatch",
    )
    v["bad-trailer-outside"] = Damaged(
        "trailer's index size points before the start of the stream",
        frame_body(trailer, lambda b: struct.pack("<Q", 10**6)),
        fe,
        None,
        trailer.offset,
        "trailer gives an index of",
    )
    v["bad-trailer-wrong-index-size"] = Damaged(
        "trailer's index size one byte short of the index record (CRC32C valid)",
        frame_body(trailer, lambda b: struct.pack("<Q", index.end - index.offset - 1)),
        fe,
        None,
        trailer.offset,
        f"trailer gives an index of {index.end - index.offset - 1} bytes, "
        f"the index record has {index.end - index.offset}",
    )
    return v


# --------------------------------------------------------------------------- annotated dumps


def annotate(stream: bytes) -> list[tuple[int, bytes, str]]:
    """``(offset, bytes, what)`` rows for every field of the valid stream(s) in *stream*."""
    rows: list[tuple[int, bytes, str]] = []
    start = 0
    while start < len(stream):
        rows.append((start, stream[start : start + 8], 'magic: "ΣLG" in UTF-8, CR LF, ^Z, LF'))
        recs = records(stream, start)
        for rec in recs:
            rows += _annotate_record(stream, rec)
        start = recs[-1].end
    return rows


def _annotate_record(stream: bytes, rec: Record) -> list[tuple[int, bytes, str]]:
    first = stream[rec.offset]
    gtype, flag, pid = first >> 6, (first >> 5) & 1, first & 0x1F
    if pid == 31:
        pid = stream[rec.offset + 1]
    prim = primitives.by_id(pid)
    name = primitives.GlyphType(gtype).name
    hdr_end = rec.offset + (2 if first & 0x1F == 31 else 1)
    rows = [
        (
            rec.offset,
            stream[rec.offset : hdr_end],
            f"glyph header: type {gtype} {name}, flag {flag}, id {pid} {prim.name}",
        ),
        (hdr_end, stream[hdr_end : rec.payload], f"payload length {rec.end - rec.payload} (LEB128)"),
    ]
    body = stream[rec.payload : rec.end - 4]
    pos = rec.payload

    def field(size: int, what: str) -> None:
        nonlocal pos
        rows.append((pos, stream[pos : pos + size], what))
        pos += size

    def varint(what: str) -> int:
        parsed = decode_varint(stream, pos)
        assert parsed is not None
        field(parsed[1] - pos, f"{what} {parsed[0]} (varint)")
        return parsed[0]

    if pid == primitives.STREAM_HEADER:
        field(1, f"format version {body[0]}")
        field(1, f"flags 0x{body[1]:02x}" + (" (shared context)" if body[1] & 1 else " (independent frames)"))
        field(1, f"level {body[2]}")
        varint("chunk size")
        n = stream[pos]
        field(1, f"codebook id length {n}")
        if n:
            field(n, "codebook id")
    elif pid == primitives.FRAME:
        varint("frame number")
        varint("original offset")
        size = varint("original size")
        field(1, f"transform {stream[pos]} (literal)")
        backend = stream[pos]
        field(1, f"backend {backend} ({'store' if backend == 0 else 'zstd'})")
        data_size = rec.end - 4 - pos
        what = f"data: {data_size} bytes" + (
            f" = {stream[pos : pos + data_size]!r}" if backend == 0 and size <= 16 else ""
        )
        field(data_size, what)
    elif pid == primitives.INDEX:
        count = varint("frame count")
        varint("header size (magic + header record)")
        for i in range(count):
            varint(f"frame {i}: record size")
            varint(f"frame {i}: original size")
        varint("total original size")
        field(16, "content checksum: BLAKE2b-128 of the original bytes")
    elif pid == primitives.TRAILER:
        field(8, f"index record size {int.from_bytes(stream[pos : pos + 8], 'little')} (u64 little-endian)")
    field(4, f"CRC32C of the {pos - rec.payload} payload bytes before it (u32 little-endian)")
    assert pos == rec.end
    return rows


def format_dump(stream: bytes) -> str:
    """The table pasted in docs/FORMAT.md: offset, up to 16 bytes a line, and what they are."""
    lines = []
    for offset, data, what in annotate(stream):
        for i in range(0, max(len(data), 1), 16):
            piece = data[i : i + 16]
            lines.append(f"{offset + i:06x}  {piece.hex(' '):<47}  {what if i == 0 else '...'}".rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------- writing


def write_all(out: Path) -> dict[str, object]:
    text = FIXTURE.read_bytes()
    manifest: dict[str, object] = {
        "format_version": 1,
        "generated_by": "tests/vectors/make_vectors.py",
        "sigmalang": sigmalang.__version__,
        "zstd": ".".join(map(str, zstandard.ZSTD_VERSION)),
    }
    valid = []
    for name, (description, parts) in valid_vectors(text).items():
        encoded = [p.encode() for p in parts]
        original = b"".join(p.data for p in parts)
        (out / f"{name}.sgl").write_bytes(b"".join(encoded))
        (out / f"{name}.out").write_bytes(original)
        assert sigmalang.decompress(b"".join(encoded)) == original
        streams = [p.describe(e) for p, e in zip(parts, encoded, strict=True)]
        valid.append(
            {
                "name": name,
                "file": f"{name}.sgl",
                "expected": f"{name}.out",
                "description": description,
                "streams": streams,
            }
        )
    damaged = []
    for name, d in damaged_vectors(text).items():
        (out / f"{name}.sgl").write_bytes(d.data)
        entry: dict[str, object] = {
            "name": name,
            "file": f"{name}.sgl",
            "description": d.description,
            "error": d.error,
            "frame": d.frame,
            "offset": d.offset,
            "message": d.message,
        }
        if d.known_bug:
            entry["known_bug"] = d.known_bug
        if d.indexed:
            entry["indexed"] = dict(zip(("error", "frame", "offset", "message"), d.indexed, strict=True))
        damaged.append(entry)
    # Vectors added by hand (fuzz findings and other regressions) carry an "origin" and are kept;
    # every entry stays where it stands, so that running this again leaves the manifest as it was.
    path = out / "manifest.json"
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    manifest["valid"] = _merged(previous.get("valid", []), valid)
    manifest["damaged"] = _merged(previous.get("damaged", []), damaged)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def _merged(previous: list[dict[str, object]], written: list[dict[str, object]]) -> list[dict[str, object]]:
    """The entries of the manifest's list *previous* in their order, each written one in place of
    the entry of its name, the entries with an "origin" kept, others dropped; new ones at the end."""
    new = {e["name"]: e for e in written}
    out = []
    for entry in previous:
        if entry["name"] in new:
            out.append(new.pop(entry["name"]))
        elif entry.get("origin"):
            out.append(entry)
    return out + list(new.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", metavar="FILE", help="print the annotated hex dump of a vector (a .sgl file here)")
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write to (default: this one)")
    args = parser.parse_args(argv)
    if args.dump:
        print(format_dump((HERE / args.dump).read_bytes()))
        return 0
    manifest = write_all(args.out)
    print(f"wrote {len(manifest['valid'])} valid and {len(manifest['damaged'])} damaged vectors to {args.out}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
