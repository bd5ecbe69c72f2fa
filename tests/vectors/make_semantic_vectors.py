"""Write the semantic (transform 1) golden vectors: glyph code versions 1 and 2 behind PPMd.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The streams are written frame by frame here, not by ``compress(level=...)``, so that
they hold exactly the glyph code version they are named for::

    .venv/bin/python tests/vectors/make_semantic_vectors.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import sigmalang
from sigmalang import semantic
from sigmalang.backends import PPMD, PpmdBackend
from sigmalang.codec import TRANSFORM_SEMANTIC, chunk_end
from sigmalang.container import StreamAssembler, StreamHeader
from sigmalang.glyph import encode_varint

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
ORIGIN = "tests/vectors/make_semantic_vectors.py"
CHUNK = 4096
LEVEL = 6  # the header's level byte: informative only


def stream(data: bytes, encode: object, damage: object = None) -> tuple[bytes, list[int]]:
    """A stream of *data* in CHUNK-byte frames, each a glyph code from *encode* behind PPMd order 6.

    *damage*, if given, edits frame 0's glyph code before it is coded (the frame stays intact).
    Returns the stream and the offset of each frame record.
    """
    assembler = StreamAssembler(StreamHeader(chunk_size=CHUNK, level=LEVEL))
    backend = PpmdBackend(6, 16)
    out = [assembler.start()]
    offsets = []
    pos = 0
    while end := chunk_end(data[pos:], CHUNK, final=True):
        chunk = data[pos : pos + end]
        code = encode(chunk)  # type: ignore[operator]
        if damage is not None and not offsets:
            code = damage(code)  # type: ignore[operator]
        offsets.append(sum(map(len, out)))
        out.append(assembler.frame(chunk, TRANSFORM_SEMANTIC, PPMD, encode_varint(len(code)) + backend.encode(code)))
        pos += end
    out.append(assembler.finish())
    return b"".join(out), offsets


def main() -> int:
    logs = (FIXTURES / "loghub-small.log").read_bytes()[:12000]
    logs = logs[: logs.rfind(b"\n") + 1]
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
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    names = set(valid) | {"bad-semantic-v2-temporal-form"}
    manifest["valid"] = [e for e in manifest["valid"] if e["name"] not in names]
    manifest["damaged"] = [e for e in manifest["damaged"] if e["name"] not in names]
    for name, (description, data, encode) in valid.items():
        encoded, _ = stream(data, encode)
        codes = [encode(data[:CHUNK])]
        assert sigmalang.decompress(encoded) == data
        assert codes[0][0] == (1 if encode is v1 else 2), name
        (HERE / f"{name}.sgl").write_bytes(encoded)
        (HERE / f"{name}.out").write_bytes(data)
        manifest["valid"].append(
            {
                "name": name,
                "file": f"{name}.sgl",
                "expected": f"{name}.out",
                "description": description,
                "streams": [
                    {
                        "writer": ORIGIN,
                        "level": LEVEL,
                        "chunk_size": CHUNK,
                        "size": len(data),
                        "encoded_size": len(encoded),
                        "reproducible": False,
                    }
                ],
                "origin": ORIGIN,
            }
        )
    bad, offsets = stream(stamps, v2, wrong_form)
    name = "bad-semantic-v2-temporal-form"
    (HERE / f"{name}.sgl").write_bytes(bad)
    manifest["damaged"].append(
        {
            "name": name,
            "file": f"{name}.sgl",
            "description": "frame 0's glyph code (version 2) has a TEMPORAL glyph naming form 63, never seen; "
            "the PPMd stream and the CRC32C are intact",
            "error": "SigmaFormatError",
            "frame": 0,
            "offset": offsets[0],
            "message": "TEMPORAL glyph names form 63",
            "origin": ORIGIN,
        }
    )
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(valid)} valid and 1 damaged semantic vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
