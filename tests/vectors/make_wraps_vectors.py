"""Write the wrapped-lines (transform 5) golden vectors: valid streams and damaged wrap codes.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The ``wraps-*`` and ``bad-wraps-*`` vectors hold wrap code version 1, which writers no
longer write (decoded only); this script writes version 2's ``wraps2-*`` and ``bad-wraps2-*``. The
valid streams are written by ``sigmalang.compress``; transform 5 and the CM being fully specified
(docs/FORMAT.md §7.7, §7.2), today's writer must reproduce them byte for byte::

    .venv/bin/python tests/vectors/make_wraps_vectors.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
from vectorlib import FIXTURES, chunked, compressed_entry, damaged_entry, kinds, update_manifest

from sigmalang import _wraps
from sigmalang._backend_base import CM
from sigmalang._backends import CmBackend
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_WRAPS
from sigmalang._wire import encode_varint

ORIGIN = "tests/vectors/make_wraps_vectors.py"
CHUNK = 16384


def damaged(data: bytes, edit: Callable[[bytes], bytes]) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte wraps frames whose frame 0 codes *edit* of its wrap
    code (the CM payload and the frame's CRC32C are made for the edited code, so only the wrap
    code's checks can notice). Returns the stream and frame 0's offset."""
    backend = CmBackend(0xFFFF, 16)

    def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
        wrapped = _wraps.encode(chunk)
        if wrapped is None:
            assert number > 0
            return TRANSFORM_LITERAL, CM, backend.encode(chunk)
        if number == 0:
            wrapped = edit(wrapped)
        return TRANSFORM_WRAPS, CM, encode_varint(len(wrapped)) + backend.encode(wrapped)

    stream, offsets = chunked(data, CHUNK, 6, code)
    return stream, offsets[0]


def _numbers_at(code: bytes) -> int:
    """Where a wrap code's line numbers start."""
    return _wraps.parse(code, 1 << 30)[2]


def _short_segment_first(code: bytes) -> bytes:
    """The wrap code with a segment of 10 bytes left as they are put first (its text the first 10
    bytes of the text): a segment other than the last with fewer than 4,096 bytes of text."""
    assert code[1] == 1
    return code[:1] + b"\x02\x00\x00\x00\x0a" + code[2:]


def _first_number_far(code: bytes) -> bytes:
    """The wrap code with its first line number made 126 (63 options past the greedy one)."""
    at = _numbers_at(code)
    return code[:at] + b"\x7e" + code[at + 1 :]


def _second_section(text: bytes) -> bytes:
    """The encoder's second section of *text* (its first is the licence header)."""
    lo, hi = _wraps._sections(np.frombuffer(text, dtype=np.uint8))[1]
    return text[lo:hi]


def main() -> int:
    dickens = (FIXTURES / "dickens-64k.txt").read_bytes()
    dickens = dickens[: dickens.rfind(b"\r\n", 0, 48 << 10) + 2]
    # The same text with its line ends after a word (no space before them) and as LF alone.
    filled = dickens.replace(b" \r\n", b"\n").replace(b"\r\n", b"\n")
    # Two books of different shapes in one 64 KiB frame: a section of each, one segment per shape.
    mixed = _second_section(dickens) + _second_section(filled)
    valid = {
        "wraps2-keep-l6": (
            "48 KiB of a hard-wrapped novel (CR LF after a space) at level 6 in 16 KiB frames: wraps frames",
            dickens,
            False,
        ),
        "wraps2-replace-l6": (
            "the same text with LF line ends after a word, level 6 in 16 KiB frames: the line ends replace spaces",
            filled,
            False,
        ),
        "wraps2-shared-l6": (
            "the first text with shared context: wraps frames primed with the wrap codes before them",
            dickens,
            True,
        ),
        "wraps2-indent-l6": (
            "the second text's second section with every line indented by two spaces, level 6 in one "
            "frame: the line ends go with their indent (d = 2)",
            b"\n".join(b"  " + line if line else line for line in _second_section(filled).split(b"\n")),
            False,
        ),
        "wraps2-mixed-l6": (
            "24 KiB of the first text then 24 KiB of the second, level 6 in one frame: one segment of "
            "each shape (CR LF after a space at one width, LF after a word at another)",
            mixed,
            False,
        ),
    }
    bad = {
        "bad-wraps2-version": ("frame 0's wrap code names version 3", lambda c: b"\x03" + c[1:], "version 3"),
        "bad-wraps2-segments": (
            "frame 0's wrap code claims 6 segments, more than its 16 KiB allow (16384 // 4096 + 1)",
            lambda c: c[:1] + b"\x06" + c[2:],
            "6 segments for",
        ),
        "bad-wraps2-short-segment": (
            "frame 0's wrap code starts with a segment of 10 bytes, not its last",
            _short_segment_first,
            "segment 0: 10 bytes of text, fewer than 4096",
        ),
        "bad-wraps2-width-without-lines": (
            "frame 0's first segment has width 0 (text left as it is) and flags 0x01",
            lambda c: c[:2] + b"\x01\x00" + c[4:],
            "segment 0: width 0 with flags 0x01 and indent 0",
        ),
        "bad-wraps2-number-outside": (
            "frame 0's first line number points 63 options past the greedy one, outside its line",
            _first_number_far,
            "outside its line",
        ),
        "bad-wraps2-numbers-short": (
            "frame 0's wrap code lost its last line number",
            lambda c: c[:-1],
            "end early",
        ),
        "bad-wraps2-numbers-extra": (
            "frame 0's wrap code has one more byte after its last line number",
            lambda c: c + b"\x00",
            "after the last line number",
        ),
    }
    good = []
    for name, (description, data, shared) in valid.items():
        chunk = 64 << 10 if name in ("wraps2-mixed-l6", "wraps2-indent-l6") else CHUNK
        good.append(compressed_entry(name, description, data, 6, chunk, shared, ORIGIN))
        assert "wraps+cm" in kinds((FIXTURES.parent / "vectors" / f"{name}.sgl").read_bytes()), name
    broken = []
    for name, (description, edit, message) in bad.items():
        stream, offset = damaged(filled, edit)
        description += "; its CM payload and the frame's CRC32C are made for the edited code"
        broken.append(damaged_entry(name, description, stream, 0, offset, message, ORIGIN))
    update_manifest(good, broken)
    print(f"wrote {len(valid)} valid and {len(bad)} damaged wraps vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
