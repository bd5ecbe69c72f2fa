"""A glyph-code decoder written from docs/FORMAT.md §7.4 alone (``glyph_code_reference.py``) against
sigmalang's: the same chunk from every glyph code in the golden vectors, a failure on every damaged
one, the same chunk from what the encoder writes for any text, and, for codes with a byte changed,
the same chunk or a failure from both, with sigmalang's decoder working in small pieces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import glyph_code_reference as reference
from sigmalang import SigmaFormatError, semantic
from sigmalang._codec import decode_code
from sigmalang._frames import FrameContext, decode_frame_code
from sigmalang._longrange import check_list
from sigmalang._stream_records import Frame, StreamHeader
from sigmalang._wire import read_record, read_varint
from sigmalang.primitives import FRAME, STREAM_HEADER
from sigmalang.semantic import SemanticDecodeError
from sigmalang.semantic.codebook import Codebook, load_codebook
from sigmalang.semantic.transform import SEGMENT

VECTORS = Path(__file__).resolve().parent / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
SEMANTIC = (1, 3)  # transforms whose backend input is a glyph code


def book_of(entry: dict[str, Any]) -> Codebook | None:
    return load_codebook(VECTORS / entry["codebook"]) if "codebook" in entry else None


def glyph_codes(stream: bytes, book: Codebook | None) -> Iterator[tuple[int, bytes, Codebook | None, bool]]:
    """``(frame number, glyph code, base codebook, whether sigmalang decodes the frame)`` of each
    semantic frame of the first stream, decoding the frames in order as a reader does."""
    record, pos = read_record(stream, 8) or (None, 0)
    assert record is not None and record.primitive == STREAM_HEADER
    header = StreamHeader.decode(record)
    used_book = book if header.codebook_id else None
    context = FrameContext() if header.shared_context else None
    number = 0
    while (parsed := read_record(stream, pos)) is not None and parsed[0].primitive == FRAME:
        frame = Frame.decode(parsed[0], number)
        pos, number = parsed[1], number + 1
        base = used_book if used_book is not None or not frame.continues or context is None else context.book
        code = None
        if frame.transform in SEMANTIC:
            data, size = frame.data, frame.original_size
            if frame.continues:
                data = data[read_varint(data, 0, 5, lambda _: ValueError())[1] :]
            if frame.transform == 3:
                available = len(context.long.source) if context is not None and frame.continues else 0
                covered, start = check_list(data, size, available)
                data, size = data[start:], size - covered
            code = decode_code(frame.backend, data, size, _prime(frame, context))
        try:
            decode_frame_code(frame, used_book, context)
            ok = True
        except SigmaFormatError:
            ok = False
        if code is not None:
            yield frame.number, code, base, ok
        if not ok:
            return


def _prime(frame: Frame, context: FrameContext | None) -> bytes:
    """The bytes a continuing frame's backend was primed with (before the frame is decoded)."""
    if not frame.continues or context is None:
        return b""
    length = read_varint(frame.data, 0, 5, lambda _: ValueError())[0]
    return context.history[-length:] if length else b""


def product(code: bytes, size: int | None, book: Codebook | None, segment: int = SEGMENT) -> bytes | None:
    try:
        out = semantic.decode(code, size, segment, book=book)
    except SemanticDecodeError:
        return None
    return out if size is None or len(out) == size else None


def spec(code: bytes, size: int, book: Codebook | None) -> bytes | None:
    try:
        return reference.decode(code, size, None if book is None else (list(book.words), book.short))
    except reference.GlyphCodeError:
        return None


VALID = [e for e in MANIFEST["valid"] if len(e["streams"]) == 1]
# the damaged vectors whose fault is in a glyph code (the others fail before one is read)
DAMAGED = [
    "bad-semantic-v2-temporal-form",
    "bad-glyph-word-not-letters",
    "bad-glyph-word-twice",
    "bad-number-delta-leading-zero",
    "bad-number-marker-without-digits",
    "bad-number-delta-without-number",
    "bad-book-bit-without-book",
    "bad-codebook-short-mismatch",
    "bad-shared-book-bit-after-reset",
    "bad-shared-book-short-mismatch",
    "bad-shared-temporal-form-carried",
]


def test_the_vectors_hold_glyph_codes_of_every_kind() -> None:
    versions, flags = set(), 0
    for entry in VALID:
        for _, code, _, _ in glyph_codes((VECTORS / entry["file"]).read_bytes(), book_of(entry)):
            versions.add(code[0])
            flags |= code[1]
    assert versions == {1, 2} and flags == 0x1F


@pytest.mark.parametrize("entry", VALID, ids=lambda e: e["name"])
def test_every_glyph_code_of_the_valid_vectors_decodes_alike(entry: dict[str, Any]) -> None:
    for number, code, base, ok in glyph_codes((VECTORS / entry["file"]).read_bytes(), book_of(entry)):
        assert ok
        expected = product(code, None, base)
        assert expected is not None
        assert spec(code, len(expected), base) == expected, (entry["name"], number)


@pytest.mark.parametrize("name", DAMAGED)
def test_a_damaged_glyph_code_fails_both_decoders(name: str) -> None:
    entry = next(e for e in MANIFEST["damaged"] if e["name"] == name)
    failed = [
        (number, code, base)
        for number, code, base, ok in glyph_codes((VECTORS / entry["file"]).read_bytes(), book_of(entry))
        if not ok
    ]
    assert [number for number, _, _ in failed] == [entry["frame"]]
    _, code, base = failed[0]
    assert product(code, None, base) is None
    for size in (0, 1, len(code), 2 * len(code), 4 * len(code)):  # whatever the size, an error
        assert spec(code, size, base) is None, size


LINE = st.one_of(
    st.sampled_from(
        [
            b"2015-10-18 18:01:47,978 INFO Starting worker 12 of 40 on port 8080",
            b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure",
            b"03-17 16:13:38.811 1702 2395 D WindowManager: printFreezingDisplayLogs",
            b"Sun Dec 04 04:47:44 2005 [error] mod_jk child workerEnv in error state 6",
            b"the quick brown fox jumps over the lazy dog and the quick brown cat",
            b"value=0042 next=0099 total=18446744073709551615 ratio=0.125",
            b"caf\xc3\xa9 \xff\xfe\xfb\xfa\xf9 bytes above 7f",
            b"",
        ]
    ),
    st.binary(max_size=40),
    st.builds(
        lambda n, m, s: b"2016-02-%02d 23:%02d:%02d.%03d job %d done" % (n, m, s, n * 7, m),
        st.integers(1, 29),
        st.integers(0, 59),
        st.integers(0, 59),
    ),
)
TEXT = st.lists(LINE, max_size=40).map(lambda lines: b"\n".join(lines) + b"\n")
OPTIONS = st.fixed_dictionaries({"bank": st.booleans(), "coded_bank": st.booleans(), "temporal": st.booleans()})


@settings(max_examples=150, deadline=None)
@given(TEXT, OPTIONS)
def test_what_the_encoder_writes_decodes_alike(text: bytes, options: dict[str, bool]) -> None:
    code = semantic.encode(text, short=8, min_count=2, **options)
    assert spec(code, len(text), None) == text


@settings(max_examples=300, deadline=None)
@given(TEXT, OPTIONS, st.data())
def test_a_changed_byte_gives_both_decoders_the_same_result(
    text: bytes, options: dict[str, bool], data: st.DataObject
) -> None:
    """One byte of the code changed (or removed, or added): both decoders fail, or both give the
    same chunk; sigmalang's works in pieces of 64 bytes, which must not change its result."""
    code = bytearray(semantic.encode(text, short=8, min_count=2, **options))
    at = data.draw(st.integers(0, len(code) - 1))
    how = data.draw(st.sampled_from(["change", "remove", "insert"]))
    byte = data.draw(st.integers(0, 255))
    if how == "change":
        code[at] = byte
    elif how == "remove":
        del code[at]
    else:
        code.insert(at, byte)
    code_ = bytes(code)
    assert product(code_, len(text), None, 64) == spec(code_, len(text), None)
