"""Write the log-records (transform 4) golden vectors: valid streams and damaged record codes.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The valid streams are written by ``sigmalang.compress``; transform 4 and the CM being
fully specified (docs/FORMAT.md §7.6, §7.2), today's writer must reproduce them byte for byte::

    .venv/bin/python tests/vectors/make_records_vectors.py
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import sigmalang
from sigmalang import _records
from sigmalang.backends import CM, CmBackend
from sigmalang.codec import TRANSFORM_RECORDS, chunk_end
from sigmalang.container import StreamAssembler, StreamHeader
from sigmalang.glyph import decode_varint, encode_varint

HERE = Path(__file__).resolve().parent
ORIGIN = "tests/vectors/make_records_vectors.py"
CHUNK = 4096


def service_log(lines: int) -> bytes:
    """Lines of a service log: a clock, a worker, a level and one of three messages."""
    out = []
    state = 12345
    for i in range(lines):
        state = (state * 1103515245 + 12345) % 2**31
        ms = i * 37 + state % 29
        message = [
            b"Accepted connection from 10.0.%d.%d port %d" % (state % 7, state % 251, 40000 + state % 999),
            b"Closing connection %d after %d ms" % (9000 + i // 3, state % 5000),
            b"Block blk_%d replicated to 3 nodes" % (state * 7919 % 10**12),
        ][state % 3]
        clock = b"%02d:%02d:%02d,%03d" % (ms // 3600000 % 24, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
        out.append(b"2024-03-01 " + clock + b" INFO [worker-%d] " % (state % 4) + message)
    return b"\n".join(out) + b"\n"


def damaged(data: bytes, edit: Callable[[bytes], bytes]) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte records frames whose frame 0 codes *edit* of its
    record code (the CM payload and the frame's CRC32C are made for the edited code, so only the
    record code's checks can notice). Returns the stream and frame 0's offset."""
    assembler = StreamAssembler(StreamHeader(chunk_size=CHUNK, level=6))
    backend = CmBackend(0x7FF, 16)
    out = [assembler.start()]
    offset = -1
    pos = 0
    while end := chunk_end(data[pos:], CHUNK, final=True):
        chunk = data[pos : pos + end]
        code = _records.encode(chunk)
        if offset < 0:
            offset = len(out[0])
            code = edit(code)
        out.append(assembler.frame(chunk, TRANSFORM_RECORDS, CM, encode_varint(len(code)) + backend.encode(code)))
        pos += end
    out.append(assembler.finish())
    return b"".join(out), offset


def _table_end(code: bytes) -> int:
    """Where the template ids start in a record code: after the version, L, T, I and the table."""
    _, pos = decode_varint(code, 1) or (0, 0)
    table, pos = decode_varint(code, pos) or (0, 0)
    _, pos = decode_varint(code, pos) or (0, 0)
    return pos + table


def main() -> int:
    logs = service_log(300)
    odd = logs[:3000].replace(b"\n", b"\r\n").replace(b"INFO", b"\xff\xfe\t007 7.50") + b"\x01 no line feed 42"
    valid = {
        "records-log-l6": ("300 lines of a service log at level 6: records frames, 4 KiB frames", logs, 6, False),
        "records-shared-l6": ("the same log with shared context: primed records frames", logs, 6, True),
        "records-odd-l6": ("CRLF, tabs, non-UTF-8, padded numbers, no final line feed, level 6", odd, 6, False),
    }
    bad = {
        "bad-records-version": ("frame 0's record code names version 2", lambda c: b"\x02" + c[1:], "version"),
        "bad-records-template-id": (
            "frame 0's first template id is past the table",
            lambda c: c[: _table_end(c)] + b"\x7f" + c[_table_end(c) + 1 :],
            "not in the table",
        ),
        "bad-records-column-short": (
            "frame 0's record code lost its last byte (the last value's line feed)",
            lambda c: c[:-1],
            "column ends",
        ),
        "bad-records-column-extra": (
            "frame 0's record code has one more value byte at the end",
            lambda c: c + b"x",
            "after the last column",
        ),
    }
    manifest = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
    names = set(valid) | set(bad)
    manifest["valid"] = [e for e in manifest["valid"] if e["name"] not in names]
    manifest["damaged"] = [e for e in manifest["damaged"] if e["name"] not in names]
    for name, (description, data, level, shared) in valid.items():
        encoded = sigmalang.compress(data, level, chunk_size=CHUNK, shared_context=shared)
        assert sigmalang.decompress(encoded) == data
        assert b"records+cm" in json.dumps(_kinds(encoded)).encode()
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
                "description": description + "; its CM payload and the frame's CRC32C are made for the edited code",
                "error": "SigmaFormatError",
                "frame": 0,
                "offset": offset,
                "message": message,
                "origin": ORIGIN,
            }
        )
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(valid)} valid and {len(bad)} damaged records vectors")
    return 0


def _kinds(encoded: bytes) -> list[str]:
    import io

    from sigmalang.inspect import inspect_stream

    return [g["transform"] + "+" + g["backend"] for g in inspect_stream(io.BytesIO(encoded))[0].as_dict()["by_backend"]]


if __name__ == "__main__":
    sys.exit(main())
