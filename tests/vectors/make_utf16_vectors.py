"""Write the UTF-16 text (transform 6) golden vectors: valid streams and damaged frames.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The valid streams at level 6 are written by ``sigmalang.compress``; transform 6 and
the CM being fully specified (docs/FORMAT.md §7.8, §7.2), today's writer must reproduce them byte
for byte. The level-3 stream (PPMd) is only decoded::

    .venv/bin/python tests/vectors/make_utf16_vectors.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from vectorlib import (
    FIXTURES,
    HERE,
    assemble,
    chunked,
    compressed_entry,
    damaged_entry,
    kinds,
    update_manifest,
    valid_entry,
)

import sigmalang
from sigmalang import _utf16
from sigmalang._backend_base import CM
from sigmalang._backends import CmBackend
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_UTF16

ORIGIN = "tests/vectors/make_utf16_vectors.py"
CHUNK = 16384


def _text() -> bytes:
    """24 KiB of the novel fixture as UTF-16 (little-endian, with a byte order mark), CR LF line
    ends as they are, with a character outside the BMP (a surrogate pair), an accented letter and
    a lone low surrogate in its first line."""
    novel = (FIXTURES / "dickens-64k.txt").read_bytes()
    novel = novel[: novel.rfind(b"\r\n", 0, 24 << 10) + 2].decode("latin-1")
    first = novel.index("\r\n")
    units = ("\ufeff" + novel[:first] + " caf\u00e9 \U0001f600 ").encode("utf-16-le") + b"\x00\xdc"
    return units + novel[first:].encode("utf-16-le")


def damaged(
    data: bytes, edit: Callable[[bytes], bytes], header: Callable[[bytes, int], bytes] | None = None
) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte transform-6 frames whose frame 0 codes *edit* of its
    UTF-8 (with its length in the header changed to match) or, with *header*, has that header
    (given the chunk and the UTF-8's length) instead of its own. The CM payload and the frame's
    CRC32C are made for what is written, so only transform 6's checks can notice."""
    backend = CmBackend(0xFFFF, 16)

    def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
        found = _utf16.split(chunk)
        if found is None:  # a short last chunk
            assert number > 0
            return TRANSFORM_LITERAL, CM, backend.encode(chunk)
        flags, text = found
        if number == 0:
            text = edit(text)
        head = _utf16.encode_header(chunk, flags, TRANSFORM_LITERAL, len(text))
        if number == 0 and header is not None:
            head = header(chunk, len(text))
        return TRANSFORM_UTF16, CM, head + backend.encode(text)

    stream, offsets = chunked(data, CHUNK, 6, code)
    return stream, offsets[0]


def main() -> int:
    text = _text()
    logs = (FIXTURES / "loghub-small.log").read_bytes()[: 12 << 10]
    logs = logs[: logs.rfind(b"\n") + 1].decode("latin-1").encode("utf-16-le")
    valid = {
        "utf16-text-l6": (
            "24 KiB of a novel as UTF-16 little-endian (byte order mark, CR LF, a surrogate pair, a lone "
            "low surrogate), level 6 in 16 KiB frames: transform 6 frames, the later ones with a byte "
            "before their code units (each chunk ends after a line feed's first byte) and one after",
            text,
            6,
        ),
        "utf16-logs-l6": (
            "12 KiB of log lines as UTF-16 little-endian without a byte order mark, level 6 in 16 KiB frames: "
            "transform 6 frames, the first one's UTF-8 coded as records",
            logs,
            6,
        ),
        "utf16be-text-l3": (
            "the first text's first 8 KiB as UTF-16 big-endian, level 3 in one frame: transform 6 reading "
            "the units one byte in, its UTF-8 coded by transform 1 and PPMd (decoded only)",
            text[:8192].decode("utf-16-le", "surrogatepass").encode("utf-16-be", "surrogatepass"),
            3,
        ),
    }
    surrogates = b"\xed\xa0\xbd\xed\xb8\x80"  # U+1F600 as two code points, the pair's halves

    def header(inner: int = TRANSFORM_LITERAL, flags: int | None = None, size: int | None = None):  # type: ignore[no-untyped-def]
        def make(chunk: bytes, length: int) -> bytes:
            found = _utf16.split(chunk)
            assert found is not None
            return _utf16.encode_header(
                chunk, found[0] if flags is None else flags, inner, length if size is None else size
            )

        return make

    def same(t: bytes) -> bytes:
        return t

    bad = {
        "bad-utf16-inner": ("frame 0's inner transform is 2", same, header(inner=2), "inner transform 2"),
        "bad-utf16-flags": ("frame 0's flags are 0x04", same, header(flags=0x04), "unknown flags 0x04"),
        "bad-utf16-odd-units": (
            "frame 0's flags say no byte follows its code units, leaving them an odd number of bytes",
            same,
            header(flags=0),
            "bytes of code units in a chunk of",
        ),
        "bad-utf16-size": (
            "frame 0's UTF-8 length is more than three bytes a code unit",
            same,
            header(size=3 * CHUNK),
            "UTF-8 of 49152 bytes for",
        ),
        "bad-utf16-overlong": (
            "frame 0's UTF-8 writes its second character, a letter, in two bytes (not the shortest form)",
            lambda t: t[:3] + bytes([0xC0 | t[3] >> 6, 0x80 | t[3] & 0x3F]) + t[4:],
            None,
            "bad UTF-8 at byte 3",
        ),
        "bad-utf16-pair": (
            "frame 0's UTF-8 writes a character outside the BMP as its two surrogates",
            lambda t: t.replace("\U0001f600".encode(), surrogates),
            None,
            "a surrogate pair written as two code points",
        ),
        "bad-utf16-short": (
            "frame 0's UTF-8 lost one character (its length in the header too)",
            lambda t: t[:1000] + t[1001:],
            None,
            "UTF-8 decoded to",
        ),
    }
    good = []
    for name, (description, data, level) in valid.items():
        if level == 6:
            good.append(compressed_entry(name, description, data, level, CHUNK, False, ORIGIN))
        elif not (HERE / f"{name}.sgl").exists():  # written once: PPMd streams are only decoded
            encoded = sigmalang.compress(data, level, chunk_size=64 << 10)
            stream = {"writer": "sigmalang.compress", "level": level, "chunk_size": 64 << 10, "shared_context": False}
            stream |= {"size": len(data), "encoded_size": len(encoded), "reproducible": False}
            good.append(valid_entry(name, description, data, encoded, stream, ORIGIN))
        assert "utf16+" in "".join(kinds((HERE / f"{name}.sgl").read_bytes())), name
    broken = []
    for name, (description, edit, make, message) in bad.items():
        stream, offset = damaged(text, edit, make)
        description += "; its CM payload and the frame's CRC32C are made for what is written"
        broken.append(damaged_entry(name, description, stream, 0, offset, message, ORIGIN))
    # A transform-6 frame in a shared-context stream (frame 0, a reset point: it continues nothing).
    found = _utf16.split(text[:CHUNK])
    assert found is not None
    flags, utf8 = found
    data = _utf16.encode_header(text[:CHUNK], flags, TRANSFORM_LITERAL, len(utf8)) + CmBackend(0xFFFF, 16).encode(utf8)
    stream, offsets = assemble([(text[:CHUNK], TRANSFORM_UTF16, CM, data, False)], CHUNK, 6, shared=True)
    description = "a shared-context stream whose frame 0 (continuing nothing) is transform 6, valid on its own"
    broken.append(
        damaged_entry(
            "bad-utf16-shared",
            description,
            stream,
            0,
            offsets[0],
            "transform 6 (utf16) in a shared-context stream",
            ORIGIN,
        )
    )
    update_manifest(good, broken)
    print(f"wrote {len(valid)} valid and {len(broken)} damaged utf16 vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
