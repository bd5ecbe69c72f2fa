"""Write the long-range golden vectors (transforms 2 and 3, docs/FORMAT.md §7.1).

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``)::

    .venv/bin/python tests/vectors/make_long_range_vectors.py

``shared-long-range-l1``: Dickens with 600-byte blocks of earlier text repeated, 2 KiB chunks, level 1
(zstd) with shared context: frames with transform 2 whose references reach earlier frames and
their own chunk. ``bad-long-range-distance``: the same stream with one continuing frame's first
reference pointing one byte before its source (the frame re-sealed with a valid CRC32C).
"""

from __future__ import annotations

import sys

from vectorlib import FIXTURES, assemble, damaged_entry, update_manifest, valid_entry

import sigmalang
from sigmalang._container import StreamParser
from sigmalang._levels import LONG_TRANSFORMS
from sigmalang._longrange import encode_list, parse_list
from sigmalang._stream_records import Frame
from sigmalang._wire import decode_varint, encode_varint

ORIGIN = "tests/vectors/make_long_range_vectors.py"
CHUNK = 2048
LEVEL = 1


def source_text() -> bytes:
    text = (FIXTURES / "dickens-64k.txt").read_bytes()
    lines = text.splitlines(keepends=True)
    out = bytearray()
    for i in range(0, 150, 6):  # new lines, then a block of earlier text again, 1-16 KiB back
        out += b"".join(lines[i : i + 6])
        if i % 12 == 6 and len(out) > 3000:
            back = min(len(out) - 700, 1000 + (i * 97) % 15000)
            start = len(out) - back
            out += out[start : start + 600]
    return bytes(out[: out.rfind(b"\n") + 1])


def frames_of(blob: bytes) -> list[Frame]:
    parser = StreamParser(codebook_id=None)
    parser.feed(blob)
    return [e for e in iter(parser.next_event, None) if isinstance(e, Frame)]


def reassemble(data: bytes, frames: list[Frame]) -> tuple[bytes, list[int]]:
    pieces = [
        (data[f.orig_offset : f.orig_offset + f.orig_size], f.transform, f.backend, f.data, f.continues) for f in frames
    ]
    return assemble(pieces, CHUNK, LEVEL, shared=True)


def main() -> int:
    data = source_text()
    blob = sigmalang.compress(data, LEVEL, chunk_size=CHUNK, shared_context=True)
    assert sigmalang.decompress(blob) == data
    frames = frames_of(blob)
    target = next(f for f in frames if f.transform in LONG_TRANSFORMS and f.continues)
    length, start = decode_varint(target.data, 0) or (0, 0)
    reset = max(f.number for f in frames if not f.continues and f.number < target.number)
    available = sum(f.orig_size for f in frames if reset <= f.number < target.number)  # H: since the reset
    matches, end = parse_list(target.data[start:], target.orig_size, available)
    pos, _, size = matches[0]
    matches[0] = (pos, available + pos + 1, size)  # one byte before the source
    bad_data = encode_varint(length) + encode_list(matches) + target.data[start + end :]
    damaged = [
        Frame(f.number, f.orig_offset, f.orig_size, f.transform, f.backend, bad_data, True) if f is target else f
        for f in frames
    ]
    bad, offsets = reassemble(data, damaged)
    assert reassemble(data, frames)[0] == blob

    kinds = sorted({f.transform for f in frames})
    spec = {
        "writer": "sigmalang.compress, shared context, level 1",
        "level": LEVEL,
        "chunk_size": CHUNK,
        "size": len(data),
        "encoded_size": len(blob),
        "reproducible": False,
    }
    description = (
        f"{len(data)} bytes of Dickens with 600-byte blocks of earlier text repeated, 2 KiB chunks, "
        f"level 1 with shared context: transforms {kinds}, long-range references into earlier frames"
    )
    good = valid_entry("shared-long-range-l1", description, data, blob, spec, ORIGIN)
    reach = available + pos + 1
    description = (
        f"shared-long-range-l1.sgl with frame {target.number}'s first long-range reference "
        "pointing one byte before its source, the reset point (frame re-sealed: its CRC32C is valid)"
    )
    message = f"match at {pos} reaches {reach} bytes back, {reach - 1} available"
    broken = damaged_entry(
        "bad-long-range-distance", description, bad, target.number, offsets[target.number], message, ORIGIN
    )
    update_manifest([good], [broken])
    print(f"wrote shared-long-range-l1 ({len(frames)} frames, transforms {kinds}) and bad-long-range-distance")
    return 0


if __name__ == "__main__":
    sys.exit(main())
