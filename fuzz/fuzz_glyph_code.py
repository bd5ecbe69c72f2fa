"""Coverage-guided fuzzing of the glyph-code decoder (``sigmalang.semantic.decode``) with atheris.

    pip install -e '.[fuzz]'
    python fuzz/fuzz_glyph_code.py fuzz/corpus-code -max_total_time=600

The stream fuzzer (fuzz_decoder.py) reaches the glyph code only through a backend, where almost
every mutation becomes noise; this target feeds glyph codes directly. The property: whatever the
bytes and the size the frame claims, ``decode`` returns at most that many bytes (exactly that many
is the frame's check, not the transform's) or raises SemanticDecodeError; never another
exception, a hang or a crash. The first two input bytes are the size / 4; with the third odd, a
small stream codebook is passed, so codes with FLAG_BOOK reach their references. Seeds: version-1
and version-2 codes (Σ-bank lines, TEMPORAL glyphs, number deltas, escapes, a book reference).
"""

from __future__ import annotations

import os

import atheris
from fuzzlib import fuzz

with atheris.instrument_imports():
    from sigmalang import semantic
    from sigmalang.semantic import Codebook
    from sigmalang.semantic.transform import SemanticDecodeError

BOOK = Codebook((b"the", b"and", b"error", b"block", b"info"), 3)
SEEDS = [
    b"hello world\n",
    b"The cat and the dog. The end, and THE END.\n" * 30,
    b"".join(
        b"2024-03-%02d 12:%02d:%02d.%03d INFO block %d served to 10.0.0.%d\n" % (d, m, s, s * 7, d * m, m)
        for d in (1, 2)
        for m in range(0, 60, 7)
        for s in range(0, 60, 13)
    ),
    b"".join(
        b"Jun %2d 04:%02d:11 combo sshd(pam_unix)[%d]: session opened\n" % (d, m, 1000 + m)
        for d in (9, 10)
        for m in range(40)
    ),
    b"repeated line that is long enough\n" * 20 + b"caf\xc3\xa9 \xff\x00 binary tail",
]


def test_one_input(raw: bytes) -> None:
    if len(raw) < 4:
        return
    size = int.from_bytes(raw[:2], "little") * 4
    book = BOOK if raw[2] & 1 else None
    try:
        out = semantic.decode(raw[3:], size, book=book)
    except SemanticDecodeError:
        return
    if len(out) > size:
        raise AssertionError(f"decoded {len(out)} bytes, more than the {size} the frame allows")


def write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for n, text in enumerate(SEEDS):
        for book in (None, BOOK):
            code = semantic.encode(text, book=book)
            header = (-(-len(text) // 4)).to_bytes(2, "little") + bytes([1 if book else 0])
            with open(os.path.join(directory, f"seed-{n}-{'book' if book else 'own'}"), "wb") as f:
                f.write(header + code)


if __name__ == "__main__":
    fuzz(test_one_input, write_seeds)
