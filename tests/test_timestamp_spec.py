"""The timestamps of docs/FORMAT.md §7.4, read from its text alone (``timestamp_reference.py``:
candidates field by field in priority order, the scan, validity, form and value, without a regular
expression). The product's matcher (``sigmalang.semantic.lines``, which the glyph code's encoder and decoder
share) must find the same matches, judge them alike and give the same values and forms; and each
example of FORMAT.md's table must go through the encoder and back through the decoder."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import semantic
from sigmalang.semantic.lines import parse, scan
from timestamp_reference import MONTHS, WEEKDAYS, form, spec_scan, valid, value

FORMAT_DOC = (Path(__file__).resolve().parent.parent / "docs" / "FORMAT.md").read_text(encoding="utf-8")


def product_matches(text: bytes) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in scan(text) if m.group("glyph") is None]


def examples() -> list[list[str]]:
    lines = FORMAT_DOC[FORMAT_DOC.index("<!-- timestamp-examples -->") :].splitlines()[3:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]
        rows.append([c[1:-1] if c.startswith("`") else c for c in cells])
    return rows


EXAMPLES = examples()


def check(text: bytes) -> None:
    """The product and this reading of §7.4 find the same matches, with the same validity, values
    and forms."""
    spec = spec_scan(text)
    assert product_matches(text) == [(p, c.end) for p, c in spec], text
    found = [m for m in scan(text) if m.group("glyph") is None]
    forms: list[tuple[tuple[object, ...], object]] = []
    for m, (p, c) in zip(found, spec, strict=True):
        parsed = parse(m)
        assert (parsed is not None) == valid(text, p, c), (text, m.group())
        if parsed is not None:
            assert parsed[1] == value(c), (text, m.group())
            forms.append((form(c), parsed[0]))
    for a in forms:  # the same partition into forms
        for b in forms:
            assert (a[0] == b[0]) == (a[1] == b[1]), (text, a, b)


def test_the_examples_are_there() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("row", EXAMPLES, ids=lambda row: row[0])
def test_this_reading_follows_the_format_table(row: list[str]) -> None:
    text, expected = row[0].encode(), [row[1].encode()] if row[1] else []
    for framed in (text, b"at " + text + b" ok\n"):
        got = [framed[p : c.end] for p, c in spec_scan(framed) if valid(framed, p, c)]
        assert got == expected, framed
        check(framed)


@pytest.mark.parametrize("row", EXAMPLES, ids=lambda row: row[0])
def test_each_example_goes_through_the_encoder_and_the_decoder(row: list[str]) -> None:
    """Twice in a chunk: the second copy of each valid timestamp becomes a TEMPORAL glyph (the
    encoder matched it), and the decoder gives the chunk back (it matched the literal first)."""
    text = row[0].encode()
    chunk = b"".join(b"line %d at %s ok\n" % (i, text) for i in range(2))
    code = semantic.encode(chunk, bank=False)
    glyphs = code.count(b"\xfb") if code[0] == 2 and code[1] & 0x08 else 0
    assert glyphs == (1 if row[1] else 0)
    assert semantic.decode(code, len(chunk)) == chunk


PIECES = [
    b"2015",
    b"17",
    b"10",
    b"29",
    b"02",
    b"31",
    b"-",
    b"/",
    b".",
    b" ",
    b"  ",
    b"T",
    b"_",
    b":",
    b",",
    b"Z",
    b"x",
    b"Jun",
    b"Feb",
    b"Sun",
    b"Mon",
    b"18:01:47",
    b"23:59:60",
    b"24:00:00",
    b"978",
    b"1234567890",
    b"2005",
    b"\n",
]
STAMPS = st.builds(
    lambda y, mo, d, h, mi, s, f, pick: [
        b"%04d-%02d-%02d %02d:%02d:%02d" % (y, mo, d, h, mi, s),
        b"%02d/%02d/%02d_%02d:%02d:%02d.%s" % (y % 100, mo, d, h, mi, s, f),
        b"%04d%02d%02d-%02d:%02d:%02d:%s" % (y, mo, d, h, mi, s, f),
        b"%02d.%02d %02d:%02d:%02dZ" % (mo, d, h, mi, s),
        b"%s %2d %02d:%02d:%02d" % (MONTHS[mo % 12], d, h, mi, s),
        b"%s %s %02d %02d:%02d:%02d %04d" % (WEEKDAYS[d % 7], MONTHS[mo % 12], d, h, mi, s, y),
    ][pick],
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 25),
    st.integers(0, 60),
    st.integers(0, 61),
    st.sampled_from([b"1", b"12", b"123456789", b"1234567890"]),
    st.integers(0, 5),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), STAMPS), max_size=14))
def test_the_product_matcher_agrees_with_this_reading(pieces: list[bytes]) -> None:
    check(b"".join(pieces))
