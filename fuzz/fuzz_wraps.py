"""Coverage-guided fuzzing of the wrap-code decoder (transform 5, ``sigmalang._wraps``) with atheris.

    pip install -e '.[fuzz]'
    python fuzz/fuzz_wraps.py fuzz/corpus-wraps -max_total_time=600

Wrap codes reach the decoder through the CM in a stream, where almost every mutation becomes
noise; this target feeds them directly. The property: whatever the bytes and the size the frame
claims, ``decode`` returns exactly that many bytes or raises WrapsError; never another exception,
a hang or a crash. The first two input bytes are the size. Seeds: wrap codes (version 2) of prose
wrapped both ways (CR LF after a space; LF in place of a space), at several widths, one of them
with segments of both kinds.
"""

from __future__ import annotations

import os
import textwrap

import atheris
from fuzzlib import fuzz

with atheris.instrument_imports():
    from sigmalang import _wraps

WORDS = b"the old gentleman said that he had returned to the window in the evening and replied".split()


def _prose(width: int, lines: int) -> bytes:
    words = [WORDS[(i * 7 + width) % len(WORDS)].decode() for i in range(lines * width // 6)]
    return "\n\n".join(textwrap.fill(" ".join(words[k : k + 60]), width) for k in range(0, len(words), 60)).encode()


SEEDS = [
    _prose(30, 80),
    _prose(72, 90).replace(b"\n", b" \r\n").replace(b"  \r\n", b" \r\n"),
    _prose(50, 70) + b"\n" + b"x" * 80 + b"\n" + _prose(20, 40),
    _prose(60, 300).replace(b"\n", b" \n").replace(b"  \n", b" \n") + b"\n\n" + _prose(40, 400),  # two kinds
]


def test_one_input(raw: bytes) -> None:
    if len(raw) < 3:
        return
    size = int.from_bytes(raw[:2], "little")
    try:
        out = _wraps.decode(raw[2:], size)
    except _wraps.WrapsError:
        return
    if len(out) != size:
        raise AssertionError(f"decoded {len(out)} bytes, not the {size} the frame claims")


def write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    saved = _wraps.MIN_BREAKS, _wraps.MIN_SECTION_BREAKS, _wraps.SECTION
    _wraps.MIN_BREAKS = _wraps.MIN_SECTION_BREAKS = 8  # the seeds are short
    _wraps.SECTION = 8192  # and have a few segments each
    try:
        for n, text in enumerate(SEEDS):
            code = _wraps.encode(text)
            if code is None or len(text) >= 1 << 16:
                raise SystemExit(f"seed {n} has no wrap code, or is too long for the size field")
            with open(os.path.join(directory, f"seed-{n}"), "wb") as f:
                f.write(len(text).to_bytes(2, "little") + code)
    finally:
        _wraps.MIN_BREAKS, _wraps.MIN_SECTION_BREAKS, _wraps.SECTION = saved


if __name__ == "__main__":
    fuzz(test_one_input, write_seeds)
