"""Frames whose body was changed and whose CRC32C was then recomputed: the checksum cannot catch
them, so the backend and the glyph decoder see the damage. Every such stream must decode to the
original (a change that did not matter) or raise SigmaFormatError: never another exception,
never wrong output, and never a crash of the process (pyppmd 1.3.1 corrupted the heap on some
damaged PPMd streams until the backend drained such decoders; tests/test_ppmd_damaged.py)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

import sigmalang
from sigmalang import SigmaFormatError

pytestmark = pytest.mark.slow  # fuzzing: thousands of crafted frames

HERE = Path(__file__).parent
_spec = importlib.util.spec_from_file_location("make_vectors", HERE / "vectors" / "make_vectors.py")
assert _spec is not None and _spec.loader is not None
make_vectors = sys.modules.setdefault("make_vectors", importlib.util.module_from_spec(_spec))
if not hasattr(make_vectors, "records"):
    _spec.loader.exec_module(make_vectors)

TEXT = (HERE / "fixtures" / "dickens-64k.txt").read_bytes()[:24000]
TEXT += (HERE / "fixtures" / "loghub-small.log").read_bytes()[:16000]


@pytest.mark.parametrize(("level", "shared"), [(3, False), (6, False), (6, True), (1, True)])
def test_crafted_frame_bodies_raise_only_format_errors(level: int, shared: bool) -> None:
    blob = sigmalang.compress(TEXT, level, chunk_size=2048, shared_context=shared)
    frames = make_vectors.records(blob)[1:-2]  # past the header; before the index and trailer
    rng = random.Random(level * 10 + shared)
    errors = 0
    for _ in range(150):
        rec = rng.choice(frames[1:])

        def edit(body: bytes) -> bytes:
            start = make_vectors.frame_fields_end(body) + 2
            i = (
                rng.randrange(start, len(body))
                if rng.random() < 0.7
                else start + rng.randrange(min(4, len(body) - start))
            )
            return body[:i] + bytes([rng.randrange(256)]) + body[i + 1 :]

        damaged = make_vectors.rewrite_body(blob, rec, edit)
        try:
            decoded = sigmalang.decompress(damaged)
        except SigmaFormatError:
            errors += 1
        else:
            assert decoded == TEXT
    assert errors > 100  # nearly every change is damage the decoder must see
