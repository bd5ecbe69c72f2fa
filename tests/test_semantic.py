"""The semantic transform alone: lossless for every input, and damage is a clean error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import semantic
from sigmalang.semantic.codebook import CODE_BYTES, build_codebook
from sigmalang.semantic.transform import CAPITAL, NUMBER, SEGMENT, UPPER, VERSION, read_header

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()
LOGS = (FIXTURES / "loghub-small.log").read_bytes()


def roundtrip(data: bytes, **options: bool) -> bytes:
    code = semantic.encode(data, **options)
    assert semantic.decode(code) == data
    assert semantic.decode(code, len(data)) == data
    return code


@pytest.mark.parametrize("name", ["dickens-64k.txt", "loghub-small.log"])
def test_fixtures_roundtrip_and_shrink(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    assert len(roundtrip(data)) < len(data)


def test_words_become_references_with_case_modifiers() -> None:
    data = b"the cat saw The CAT and the Cat; cat.\n" * 40 + b"tHe end\n"
    code = roundtrip(data, bank=False)  # with the Σ-bank, repeated lines become line references
    body = code[read_header(code)[2] :]  # past the header and codebook
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
        b"\x03\x00\x60\x00",  # unknown version
        b"\x01\x80\x60\x00",
        b"\x01\x00\x60\x05a\nb\n",
        b"\x01\x00\x00\x01ab\n\x80",
        b"\x01\x00\x7d\x00",
        b"\x01\x00\x60\x80\x80\x80",  # codebook size: a varint longer than 3 bytes
        b"\x01\x00\x60\x80\x00",  # codebook size: a padded varint
        b"\x01\x02\x60\x00\n\xfc1\n",  # delta without a number before it
        b"\x01\x02\x60\x00" + b"1" * 19 + b"\n\xfc0\n",  # delta on a number wider than 18 digits
        b"\x01\x02\x60\x00\x39\n\xfc1\n",  # delta overflows its width
        b"\x01\x01\x60\x00\xff\x41",  # escape of an ASCII byte
    ],
)
def test_bad_codes_raise_decode_error(code: bytes) -> None:
    for segment in (1, 2, 3, SEGMENT):
        with pytest.raises(semantic.SemanticDecodeError):
            semantic.decode(code, segment=segment)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=4))
def test_damaged_code_never_raises_anything_else(position: int, junk: bytes) -> None:
    code = semantic.encode(LOGS[:3000])
    position %= len(code)
    damaged = code[:position] + junk + code[position + len(junk) :]
    with contextlib.suppress(semantic.SemanticDecodeError):
        semantic.decode(damaged)


SAMPLES = [
    DICKENS[:20_000],
    LOGS[:20_000],
    LOGS[:3000].replace(b"\n", b" "),  # one long line
    b"x" * 300 + b"\n\xc3\xa9" * 50 + b"\n",
    LOGS[:5000].replace(b"e", b"\xc3\xa9", 40),
]


@pytest.mark.parametrize("segment", [1, 2, 7, 100, 4096])
def test_segments_change_nothing_in_the_code(segment: int) -> None:
    """Encoding and decoding in segments of any size gives the code and text of one piece."""
    for data in SAMPLES:
        whole = semantic.encode(data, segment=len(data) + 1)
        assert semantic.encode(data, segment=segment) == whole
        assert semantic.decode(whole, segment=segment) == semantic.decode(whole, len(data), segment) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64), st.integers(1, 64))
def test_random_bytes_in_segments_roundtrip(data: bytes, encode_segment: int, decode_segment: int) -> None:
    code = semantic.encode(data, min_count=2, segment=encode_segment)
    assert code == semantic.encode(data, min_count=2, segment=len(data) + 1)
    assert semantic.decode(code, segment=decode_segment) == data


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(MARKER_HEAVY, st.sampled_from([b"the", b"The", b"x1y", b"010", b"zz"])), max_size=120))
def test_marker_bytes_in_segments_roundtrip(parts: list[bytes]) -> None:
    data = b"".join(parts) * 3
    code = semantic.encode(data, min_count=2, segment=5)
    assert code == semantic.encode(data, min_count=2, segment=len(data) + 1)
    for segment in (1, 2, 3, 11):
        assert semantic.decode(code, segment=segment) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.binary(min_size=1, max_size=4), st.integers(1, 40))
def test_damaged_code_in_segments_never_raises_anything_else(position: int, junk: bytes, segment: int) -> None:
    code = semantic.encode(LOGS[:2000].replace(b"e", b"\xc3\xa9", 20), min_count=3)
    position %= len(code)
    damaged = code[:position] + junk + code[position + len(junk) :]
    with contextlib.suppress(semantic.SemanticDecodeError):
        semantic.decode(damaged, 2000, segment)


def test_decode_checks_the_size_it_is_given() -> None:
    code = semantic.encode(LOGS[:3000])
    assert semantic.decode(code, 3000, 512) == LOGS[:3000]
    for size in (0, 1000, 2999):
        with pytest.raises(semantic.SemanticDecodeError):
            semantic.decode(code, size, 512)


def test_expanding_references_are_refused_before_joining() -> None:
    code = bytes([VERSION, 0, 1, 1]) + b"a" * 10_000 + b"\n" + b"\x80" * 100
    with pytest.raises(semantic.SemanticDecodeError, match="expands"):
        semantic.decode(code, 50_000)
    assert semantic.decode(code) == b"a" * 1_000_000  # without a size, nothing bounds it


def test_expanding_deltas_are_refused() -> None:
    lines = b"".join(b"%018d\n" % i for i in range(2))
    code = bytes([VERSION, 2, 96, 0]) + lines + b"\xfc0\n" * 100
    with pytest.raises(semantic.SemanticDecodeError, match="deltas expand"):
        semantic.decode(code, 500)  # the references pass (338 <= 2 * 500), the deltas do not
    assert len(semantic.decode(code)) == 19 * 102


def test_segment_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        semantic.encode(b"abc", segment=0)
    with pytest.raises(ValueError):
        semantic.decode(semantic.encode(b"abc"), segment=0)


# docs/FORMAT.md §7.4, quantities and a frame's own codebook: crafted version-1 codes.
def _code(flags: int, words: list[bytes], body: bytes, short: int = 2) -> bytes:
    return bytes([VERSION, flags, short, len(words)]) + b"".join(w + b"\n" for w in words) + body


def test_an_escape_ends_a_digit_run() -> None:
    """`12 FF b 34` holds two numbers: the FC token after the escape is the 2nd number's delta."""
    first = b"a 12\xff\xe934 z\n"
    code = _code(0x03, [], first + b"a 12\xff\xe9\xfc5 z\n")
    assert semantic.decode(code) == b"a 12\xe934 z\na 12\xe939 z\n"


@pytest.mark.parametrize(
    ("words", "body", "message"),
    [
        ([b"wor1d"], b"x", "not ASCII letters"),
        ([b""], b"x", "not ASCII letters"),
        ([b"caf\xe9"], b"x", "not ASCII letters"),
        ([b"word", b"word"], b"x", "twice"),
        ([], b"a 1\na \xfc\n", "stray"),  # FC with no digits
        ([], b"a 1\na \xfc01\n", "leading zero"),
        ([], b"a \xfc1\n", "no number to add to"),  # no previous number
    ],
)
def test_strict_glyph_code_rules(words: list[bytes], body: bytes, message: str) -> None:
    with pytest.raises(semantic.SemanticDecodeError, match=message):
        semantic.decode(_code(0x03, words, body))


def test_a_zero_delta_is_one_digit() -> None:
    assert semantic.decode(_code(0x03, [], b"a 17\na \xfc0\n")) == b"a 17\na 17\n"
