"""The semantic transform alone: lossless for every input, and damage is a clean error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import semantic
from sigmalang.semantic.codebook import CODE_BYTES, build_codebook
from sigmalang.semantic.transform import CAPITAL, NUMBER, UPPER, _read_header

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()
LOGS = (FIXTURES / "loghub-small.log").read_bytes()


def roundtrip(data: bytes) -> bytes:
    code = semantic.encode(data)
    assert semantic.decode(code) == data
    return code


@pytest.mark.parametrize("name", ["dickens-64k.txt", "loghub-small.log"])
def test_fixtures_roundtrip_and_shrink(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert len(roundtrip(data)) < len(data)


def test_words_become_references_with_case_modifiers() -> None:
    data = b"the cat saw The CAT and the Cat; cat.\n" * 40 + b"tHe end\n"
    code = roundtrip(data)
    body = code[_read_header(code)[2] :]  # past the header and codebook
    assert bytes([CAPITAL]) in body and bytes([UPPER]) in body
    assert b"tHe" in body  # mixed case, seen once: stays literal
    assert b"cat" not in body and b"the" not in body


def test_numbers_become_deltas_keeping_their_width() -> None:
    lines = b"".join(b"2015-10-18 18:01:%02d,%03d INFO id=007 took %dms\n" % (s, 9 * s, s) for s in range(50))
    code = roundtrip(lines)
    assert bytes([NUMBER]) in code
    assert roundtrip(b"09\n10\n0099\n0100\n1\n12\n") is not None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_roundtrip(data: bytes) -> None:
    roundtrip(data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_random_unicode_roundtrip(text: str) -> None:
    roundtrip(text.encode("utf-8", "surrogatepass"))


MARKER_HEAVY = st.sampled_from(
    [b"\xfc", b"\xfd", b"\xfe", b"\xff", b"\x80", b"\xfb", b"0", b"7", b"99", b"\n", b"\r\n", b"\t", b" ", b"A", b"Ab"]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(MARKER_HEAVY, st.sampled_from([b"the", b"The", b"THE", b"tHe", b"x1y", b"010"])), max_size=80)
)
def test_marker_bytes_and_tokens_roundtrip(parts: list[bytes]) -> None:
    roundtrip(b"".join(parts) * 2)


def _mutate(data: bytes, kind: str, seed: int) -> bytes:
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "tabs":
        return data.replace(b"  ", b"\t").replace(b" ", b" \t", seed % 50)
    if kind == "trailing":
        return data.replace(b"\n", b"   \n")
    if kind == "case":
        return bytes(b ^ 0x20 if 65 <= (b | 0x20) <= 90 and (i * 7 + seed) % 5 == 0 else b for i, b in enumerate(data))
    if kind == "digits":
        return data.replace(b" ", b"%d" % (seed % 1000), 200)
    if kind == "utf8":
        return data.replace(b"e", b"\xc3\xa9", 100).replace(b"a", b"\xff\xfe", 20)
    return data[seed % 100 :] + b"\xfc1\xfd\xff"


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["crlf", "tabs", "trailing", "case", "digits", "utf8", "cut"]),
    st.integers(0, 10_000),
    st.integers(0, len(DICKENS) - 4096),
    st.booleans(),
)
def test_mutated_real_text_roundtrips(kind: str, seed: int, start: int, logs: bool) -> None:
    source = LOGS if logs else DICKENS
    start %= max(1, len(source) - 4096)
    roundtrip(_mutate(source[start : start + 4096], kind, seed))


def test_codebook_is_deterministic_and_bounded() -> None:
    from collections import Counter

    counts = Counter({b"w%d" % i: 3 for i in range(40_000)})
    book = build_codebook(counts, short=100, min_count=3)
    assert len(book.words) == book.capacity == 100 + (CODE_BYTES - 100) * 256
    assert build_codebook(counts, short=100, min_count=3) == book
    assert not build_codebook(counts, short=100, min_count=4).words
    assert len({book.code(r) for r in range(len(book.words))}) == len(book.words)


@pytest.mark.parametrize(
    "code",
    [
        b"",
        b"\x02\x00\x60\x00",
        b"\x01\x80\x60\x00",
        b"\x01\x00\x60\x05a\nb\n",
        b"\x01\x00\x00\x01ab\n\x80",
        b"\x01\x00\x7d\x00",
    ],
)
def test_bad_headers_raise_decode_error(code: bytes) -> None:
    with pytest.raises(semantic.SemanticDecodeError):
        semantic.decode(code)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=4))
def test_damaged_code_never_raises_anything_else(position: int, junk: bytes) -> None:
    code = semantic.encode(LOGS[:3000])
    position %= len(code)
    damaged = code[:position] + junk + code[position + len(junk) :]
    with contextlib.suppress(semantic.SemanticDecodeError):
        semantic.decode(damaged)
