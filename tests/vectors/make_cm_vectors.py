"""Write the context-mixing (backend 3) golden vectors: valid streams and damaged CM payloads.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The valid streams are written by ``sigmalang.compress`` and, the model being fully
specified (docs/FORMAT.md §7.2), today's writer must reproduce them byte for byte::

    .venv/bin/python tests/vectors/make_cm_vectors.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import sigmalang
from sigmalang.backends import CM, CmBackend
from sigmalang.codec import TRANSFORM_LITERAL, chunk_end
from sigmalang.container import StreamAssembler, StreamHeader

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
ORIGIN = "tests/vectors/make_cm_vectors.py"
CHUNK = 4096


def _slice(name: str, size: int) -> bytes:
    data = (FIXTURES / name).read_bytes()[:size]
    return data[: data.rfind(b"\n") + 1]


def damaged(data: bytes, edit: Callable[[bytes], bytes]) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte frames whose frame 0 holds *edit* of its CM payload
    (the frame's CRC32C is computed over the edited payload, so only the model can notice).
    Returns the stream and frame 0's offset."""
    assembler = StreamAssembler(StreamHeader(chunk_size=CHUNK, level=6))
    backend = CmBackend(0x7FF, 16)
    out = [assembler.start()]
    offset = -1
    pos = 0
    while end := chunk_end(data[pos:], CHUNK, final=True):
        chunk = data[pos : pos + end]
        payload = backend.encode(chunk)
        if offset < 0:
            offset = len(out[0])
            payload = edit(payload)
        out.append(assembler.frame(chunk, TRANSFORM_LITERAL, CM, payload))
        pos += end
    out.append(assembler.finish())
    return b"".join(out), offset


def main() -> int:
    logs = _slice("loghub-small.log", 12000)
    prose = _slice("dickens-64k.txt", 9000)
    valid = {
        "cm-log-l6": ("12 KB of loghub-small at level 6 (all components, 2^22 slots), 4 KiB frames", logs, 6, False),
        "cm-prose-l4": ("9 KB of dickens at level 4 (orders 1-6 and match, 2^20 slots), 4 KiB frames", prose, 4, False),
        "cm-shared-l6": ("the 12 KB of logs at level 6 with shared context: primed CM frames", logs, 6, True),
    }
    bad = {
        "bad-cm-version": ("frame 0's CM payload names model version 2", lambda p: b"\x02" + p[1:], "unknown CM model"),
        "bad-cm-hash-bits": ("frame 0's CM payload asks for 2^25 slots", lambda p: p[:1] + b"\x19" + p[2:], "CM param"),
        "bad-cm-components": (
            "frame 0's CM payload names component bit 11",
            lambda p: p[:2] + b"\xff\x1f" + p[4:],
            "CM param",
        ),
        "bad-cm-appended": ("frame 0's CM payload has one byte appended", lambda p: p + b"\x00", "does not end"),
        "bad-cm-last-byte": (
            "the last byte of frame 0's CM payload is changed",
            lambda p: p[:-1] + bytes([p[-1] ^ 1]),
            "does not end",
        ),
        "bad-cm-short": ("frame 0's CM payload lost its last byte", lambda p: p[:-1], "does not end"),
    }
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    names = set(valid) | set(bad)
    manifest["valid"] = [e for e in manifest["valid"] if e["name"] not in names]
    manifest["damaged"] = [e for e in manifest["damaged"] if e["name"] not in names]
    for name, (description, data, level, shared) in valid.items():
        encoded = sigmalang.compress(data, level, chunk_size=CHUNK, shared_context=shared)
        assert sigmalang.decompress(encoded) == data
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
                        "writer": "sigmalang.compress",
                        "level": level,
                        "chunk_size": CHUNK,
                        "shared_context": shared,
                        "size": len(data),
                        "encoded_size": len(encoded),
                        "reproducible": True,
                    }
                ],
                "origin": ORIGIN,
            }
        )
    for name, (description, edit, message) in bad.items():
        stream, offset = damaged(logs, edit)
        (HERE / f"{name}.sgl").write_bytes(stream)
        manifest["damaged"].append(
            {
                "name": name,
                "file": f"{name}.sgl",
                "description": description + "; the frame's CRC32C is recomputed",
                "error": "SigmaFormatError",
                "frame": 0,
                "offset": offset,
                "message": message,
                "origin": ORIGIN,
            }
        )
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(valid)} valid and {len(bad)} damaged CM vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
