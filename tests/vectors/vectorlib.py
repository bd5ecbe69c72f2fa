"""What the feature vector scripts (``make_*_vectors.py``) share: slices of the test fixtures,
streams assembled frame by frame, the manifest entries they write and how they merge them into
``manifest.json``.

``update_manifest`` replaces an entry where an entry of its name stands and appends a new one at
the end, so running a script again over unchanged code rewrites the manifest byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sigmalang
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._chunking import chunk_end
from sigmalang._container import StreamAssembler
from sigmalang._stream_records import StreamHeader
from sigmalang._wire import encode_varint

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
MANIFEST = HERE / "manifest.json"

Entry = dict[str, Any]


@contextmanager
def earlier_ppmd_primer() -> Iterator[None]:
    """While inside, PPMd writes primed payloads as sigmalang did before the fresh-coder primer
    (docs/FORMAT.md §7.5, "The earlier primer"): bit 7 of the order byte clear, and the stream goes
    on from the range coder that coded the primer, less what that coder had written. So the vectors
    of that format (``shared-context-l3``, ``shared-codebook-l3``, ``bad-shared-continuing-frame``)
    come out byte for byte when the scripts run again; no writer writes this format any more."""
    real = PpmdBackend.encode

    def encode(self: PpmdBackend, data: bytes, prime: bytes = b"") -> bytes:
        if not prime:
            return real(self, data)
        stream = b"".join(self._code(self.order, self.memory_mib, prime, data, restart=False))
        return bytes([self.order]) + encode_varint(self.memory_mib) + stream

    PpmdBackend.encode = encode  # type: ignore[method-assign]
    try:
        yield
    finally:
        PpmdBackend.encode = real  # type: ignore[method-assign]


def fixture_lines(name: str, size: int) -> bytes:
    """The first *size* bytes of the fixture *name*, cut back to the last line feed."""
    data = (FIXTURES / name).read_bytes()[:size]
    return data[: data.rfind(b"\n") + 1]


def assemble(
    frames: Iterable[tuple[bytes, int, int, bytes, bool]], chunk: int, level: int, shared: bool = False
) -> tuple[bytes, list[int]]:
    """A stream of *frames* (original, transform, backend, data, continues) and each frame's offset."""
    assembler = StreamAssembler(StreamHeader(chunk_size=chunk, level=level, shared_context=shared))
    out = [assembler.start()]
    offsets = []
    for orig, transform, backend, data, continues in frames:
        offsets.append(sum(map(len, out)))
        out.append(assembler.frame(orig, transform, backend, data, continues))
    out.append(assembler.finish())
    return b"".join(out), offsets


def chunked(
    data: bytes, chunk: int, level: int, code: Callable[[int, bytes], tuple[int, int, bytes]]
) -> tuple[bytes, list[int]]:
    """A stream of *data* cut into chunks the way the writer cuts it; ``code(number, chunk)`` gives
    each frame's transform, backend and data. Returns the stream and each frame's offset."""
    frames = []
    pos = 0
    while end := chunk_end(data[pos:], chunk, final=True):
        piece = data[pos : pos + end]
        frames.append((piece, *code(len(frames), piece), False))
        pos += end
    return assemble(frames, chunk, level)


def valid_entry(
    name: str, description: str, data: bytes, encoded: bytes, stream: Entry, origin: str, **extra: Any
) -> Entry:
    """Write NAME.sgl and NAME.out; the manifest entry of a valid vector of one stream.
    *extra* keys stand after ``streams``."""
    (HERE / f"{name}.sgl").write_bytes(encoded)
    (HERE / f"{name}.out").write_bytes(data)
    return {
        "name": name,
        "file": f"{name}.sgl",
        "expected": f"{name}.out",
        "description": description,
        "streams": [stream],
        **extra,
        "origin": origin,
    }


def compressed_entry(
    name: str, description: str, data: bytes, level: int, chunk: int, shared: bool, origin: str, form: str = "auto"
) -> Entry:
    """Write ``sigmalang.compress`` of *data* (with ``format=form``) as NAME.sgl and *data* as
    NAME.out; the manifest entry (reproducible: these scripts use the levels the format specifies
    fully)."""
    encoded = sigmalang.compress(data, level, chunk_size=chunk, shared_context=shared, format=form)
    assert sigmalang.decompress(encoded) == data, name
    stream = {
        "writer": "sigmalang.compress",
        "level": level,
        "chunk_size": chunk,
        "shared_context": shared,
        "size": len(data),
        "encoded_size": len(encoded),
        "reproducible": True,
    }
    if form != "auto":
        stream["format"] = form
    return valid_entry(name, description, data, encoded, stream, origin)


def damaged_entry(
    name: str, description: str, stream: bytes, frame: int, offset: int, message: str, origin: str
) -> Entry:
    """Write NAME.sgl; the manifest entry of a damaged vector that raises SigmaFormatError."""
    (HERE / f"{name}.sgl").write_bytes(stream)
    return {
        "name": name,
        "file": f"{name}.sgl",
        "description": description,
        "error": "SigmaFormatError",
        "frame": frame,
        "offset": offset,
        "message": message,
        "origin": origin,
    }


def update_manifest(valid: list[Entry], damaged: list[Entry]) -> None:
    """Put the entries into manifest.json: each replaces the entry of its name where that stands
    (in either list), a new one goes at the end of its list; every other entry stays as it is."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    names = {e["name"] for e in valid + damaged}
    for key, entries in (("valid", valid), ("damaged", damaged)):
        new = {e["name"]: e for e in entries}
        kept = []
        for e in manifest[key]:
            if e["name"] in new:
                kept.append(new.pop(e["name"]))
            elif e["name"] not in names:
                kept.append(e)
        manifest[key] = kept + list(new.values())
    MANIFEST.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def kinds(encoded: bytes) -> list[str]:
    """Each kind of frame in the stream *encoded*, as ``sigmalang inspect`` names it (``records+cm``)."""
    import io

    from sigmalang.inspect import inspect_stream

    return [g["transform"] + "+" + g["backend"] for g in inspect_stream(io.BytesIO(encoded))[0].as_dict()["by_backend"]]
