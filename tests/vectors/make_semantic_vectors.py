"""Write the semantic (transform 1) golden vectors: glyph code versions 1 and 2 behind PPMd.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The streams are written frame by frame here, not by ``compress(level=...)``, so that
they hold exactly the glyph code version they are named for::

    .venv/bin/python tests/vectors/make_semantic_vectors.py
"""

from __future__ import annotations

import sys

from vectorlib import chunked, damaged_entry, fixture_lines, update_manifest, valid_entry

import sigmalang
from sigmalang import semantic
from sigmalang._backend_base import PPMD
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._levels import TRANSFORM_SEMANTIC
from sigmalang._wire import encode_varint

ORIGIN = "tests/vectors/make_semantic_vectors.py"
CHUNK = 4096
LEVEL = 6  # the header's level byte: informative only


def stream(data: bytes, encode: object, damage: object = None) -> tuple[bytes, list[int]]:
    """A stream of *data* in CHUNK-byte frames, each a glyph code from *encode* behind PPMd order 6.

    *damage*, if given, edits frame 0's glyph code before it is coded (the frame stays intact).
    Returns the stream and the offset of each frame record.
    """
    backend = PpmdBackend(6, 16)

    def frame(number: int, chunk: bytes) -> tuple[int, int, bytes]:
        code = encode(chunk)  # type: ignore[operator]
        if damage is not None and number == 0:
            code = damage(code)  # type: ignore[operator]
        return TRANSFORM_SEMANTIC, PPMD, encode_varint(len(code)) + backend.encode(code)

    return chunked(data, CHUNK, LEVEL, frame)


def main() -> int:
    logs = fixture_lines("loghub-small.log", 12000)
    stamps = b"".join(
        b"Jun %2d 23:59:%02d host sshd[%d]: session closed for user root\n" % (1 + i // 40, 20 + i % 40, 4000 + i)
        for i in range(0, 120)
    )
    stamps += b"".join(b"2024-02-%02d 23:59:59,%03d worker %d done\n" % (28 + i // 4, 999 - i, i % 3) for i in range(8))
    v1 = lambda chunk: semantic.encode(chunk, bank=False, temporal=False)  # noqa: E731
    v2 = lambda chunk: semantic.encode(chunk)  # noqa: E731

    def wrong_form(code: bytes) -> bytes:
        at = code.index(b"\xfb")  # the first TEMPORAL glyph: name a form never seen
        return code[: at + 1] + b"\xbf" + code[at + 2 :]

    valid = {
        "semantic-v1-log": (
            "12 KB of loghub-small in 4 KiB frames, glyph code version 1 (words, numbers) + PPMd",
            logs,
            v1,
        ),
        "semantic-v2-log": ("the same with glyph code version 2 (TEMPORAL glyphs, Σ-bank lines)", logs, v2),
        "semantic-v2-timestamps": (
            "syslog and ISO timestamps over a month end and a leap day, as TEMPORAL glyphs (version 2)",
            stamps,
            v2,
        ),
    }
    good = []
    for name, (description, data, encode) in valid.items():
        encoded, _ = stream(data, encode)
        assert sigmalang.decompress(encoded) == data
        assert encode(data[:CHUNK])[0] == (1 if encode is v1 else 2), name
        spec = {
            "writer": ORIGIN,
            "level": LEVEL,
            "chunk_size": CHUNK,
            "size": len(data),
            "encoded_size": len(encoded),
            "reproducible": False,
        }
        good.append(valid_entry(name, description, data, encoded, spec, ORIGIN))
    bad, offsets = stream(stamps, v2, wrong_form)
    description = (
        "frame 0's glyph code (version 2) has a TEMPORAL glyph naming form 63, never seen; "
        "the PPMd stream and the CRC32C are intact"
    )
    message = "TEMPORAL glyph names form 63"
    update_manifest(
        good, [damaged_entry("bad-semantic-v2-temporal-form", description, bad, 0, offsets[0], message, ORIGIN)]
    )
    print(f"wrote {len(valid)} valid and 1 damaged semantic vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
