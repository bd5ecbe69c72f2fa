"""The timestamps of docs/FORMAT.md §7.4, read from its text alone: candidates field by field in
priority order, the scan, validity, form and value, written here without a regular expression.
The product's matcher (``sigmalang.semantic.lines``, which the glyph code's encoder and decoder
share) must find the same matches, judge them alike and give the same values and forms; and each
example of FORMAT.md's table must go through the encoder and back through the decoder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import semantic
from sigmalang.semantic.lines import parse, scan

FORMAT_DOC = (Path(__file__).resolve().parent.parent / "docs" / "FORMAT.md").read_text(encoding="utf-8")

MONTHS = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
WEEKDAYS = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"]
DATE_SEPARATORS = b"-/."
DATE_TIME_SEPARATORS = b" T_-"
FRACTION_SEPARATORS = b".,:"


def is_digit(b: int) -> bool:
    return 0x30 <= b <= 0x39


def is_edge(b: int) -> bool:
    """An ASCII digit, an ASCII letter, or a byte of 80 or more."""
    return is_digit(b) or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A or b >= 0x80


@dataclass(frozen=True)
class Candidate:
    layout: str  # "A", "B", "C"
    end: int
    year: bytes  # the year field's digits (A: 4 or 2; C: the suffix's 4; else empty)
    month: int
    day: int
    date_sep: bytes  # A: one of - / . or empty; B: one of - / .; C: empty
    date_time_sep: bytes  # A, B: one of space T _ -; C: empty
    hour: int
    minute: int
    second: int
    fraction_sep: bytes
    fraction: bytes  # 0-9 digits
    zone: bool
    weekday: bytes  # C only, or empty
    space_padded: bool  # C: the day field's first byte is a space
    suffix: bool  # C: a year suffix


def digits(text: bytes, pos: int, n: int) -> int | None:
    """The value of exactly *n* digits at *pos*, or None."""
    piece = text[pos : pos + n]
    return int(piece) if len(piece) == n and all(map(is_digit, piece)) else None


def times(text: bytes, pos: int) -> Iterator[tuple[int, int, int, int, bytes, bytes, bool]]:
    """The time fields at *pos* in priority order: (end, H, M, S, fraction separator, fraction, Z)."""
    h, m, s = digits(text, pos, 2), digits(text, pos + 3, 2), digits(text, pos + 6, 2)
    if h is None or m is None or s is None or text[pos + 2 : pos + 3] != b":" or text[pos + 5 : pos + 6] != b":":
        return
    at = pos + 8
    fractions: list[tuple[int, bytes, bytes]] = []
    if at < len(text) and text[at] in FRACTION_SEPARATORS:
        for n in range(9, 0, -1):  # more digits first
            if digits(text, at + 1, n) is not None:
                fractions.append((at + 1 + n, text[at : at + 1], text[at + 1 : at + 1 + n]))
    fractions.append((at, b"", b""))  # any fraction before none
    for end, sep, fraction in fractions:
        if text[end : end + 1] == b"Z":  # Z present before absent
            yield end + 1, h, m, s, sep, fraction, True
        yield end, h, m, s, sep, fraction, False


def candidates(text: bytes, p: int) -> Iterator[Candidate]:
    """Every candidate at *p* whose bytes are all there, in priority order."""
    # layout A: year (4 before 2), s (present before absent), MM, s, DD, t, time
    for width in (4, 2):
        if digits(text, p, width) is None:
            continue
        year = text[p : p + width]
        at = p + width
        seps = [text[at : at + 1]] if at < len(text) and text[at] in DATE_SEPARATORS else []
        for sep in [*seps, b""]:
            month, day_at = digits(text, at + len(sep), 2), at + len(sep) + 2
            if month is None or text[day_at : day_at + len(sep)] != sep:
                continue
            day = digits(text, day_at + len(sep), 2)
            t_at = day_at + len(sep) + 2
            if day is None or t_at >= len(text) or text[t_at] not in DATE_TIME_SEPARATORS:
                continue
            for end, h, m, s, fs, f, z in times(text, t_at + 1):
                yield Candidate(
                    "A", end, year, month, day, sep, text[t_at : t_at + 1], h, m, s, fs, f, z, b"", False, False
                )
    # layout B: MM s DD t time, s required
    month = digits(text, p, 2)
    if month is not None and p + 2 < len(text) and text[p + 2] in DATE_SEPARATORS:
        day, t_at = digits(text, p + 3, 2), p + 5
        if day is not None and t_at < len(text) and text[t_at] in DATE_TIME_SEPARATORS:
            for end, h, m, s, fs, f, z in times(text, t_at + 1):
                sep, dts = text[p + 2 : p + 3], text[t_at : t_at + 1]
                yield Candidate("B", end, b"", month, day, sep, dts, h, m, s, fs, f, z, b"", False, False)
    # layout C: [weekday, space] month-name, space, day, space, time, [space, year]
    starts = []
    if text[p : p + 3] in WEEKDAYS and text[p + 3 : p + 4] == b" ":
        starts.append((text[p : p + 3], p + 4))  # the weekday present before absent
    starts.append((b"", p))
    for weekday, at in starts:
        name = text[at : at + 3]
        if name not in MONTHS or text[at + 3 : at + 4] != b" ":
            continue
        field = text[at + 4 : at + 6]
        if len(field) < 2 or not is_digit(field[1]) or not (is_digit(field[0]) or field[0] == 0x20):
            continue
        if text[at + 6 : at + 7] != b" ":
            continue
        for end, h, m, s, fs, f, z in times(text, at + 7):
            month, day, padded = MONTHS.index(name) + 1, int(field.strip()), field[0] == 0x20
            suffix = text[end + 1 : end + 5]
            if text[end : end + 1] == b" " and len(suffix) == 4 and all(map(is_digit, suffix)):
                yield Candidate("C", end + 5, suffix, month, day, b"", b"", h, m, s, fs, f, z, weekday, padded, True)
            yield Candidate("C", end, b"", month, day, b"", b"", h, m, s, fs, f, z, weekday, padded, False)


def spec_scan(text: bytes) -> list[tuple[int, Candidate]]:
    """The matches of a text without glyphs, as the scan of §7.4 finds them."""
    out = []
    p = 0
    while p < len(text):
        if p > 0 and is_edge(text[p - 1]):
            p += 1
            continue
        for c in candidates(text, p):
            if c.end == len(text) or not is_edge(text[c.end]):
                out.append((p, c))
                p = c.end
                break
        else:
            p += 1
    return out


def year_of(c: Candidate) -> int:
    if c.layout == "A":
        return int(c.year) if len(c.year) == 4 else 2000 + int(c.year)
    return int(c.year) if c.suffix else 2000


def form(c: Candidate) -> tuple[object, ...]:
    """The components of §7.4's form table."""
    year_digits = len(c.year) if c.layout == "A" else (4 if c.suffix else 0)
    return (
        c.layout,
        c.date_sep,
        c.date_time_sep,
        c.fraction_sep,
        len(c.fraction),
        year_digits,
        c.space_padded,
        bool(c.weekday),
        c.suffix,
        c.zone,
    )


def value(c: Candidate) -> int:
    day_number = date(year_of(c), c.month, c.day).toordinal()  # 0001-01-01 is day 1
    seconds = day_number * 86400 + c.hour * 3600 + c.minute * 60 + c.second
    return seconds * 10 ** len(c.fraction) + (int(c.fraction) if c.fraction else 0)


def render(c: Candidate, v: int) -> bytes:
    """Value *v* written in *c*'s form (the cases a valid match needs)."""
    f = len(c.fraction)
    seconds, fraction = divmod(v, 10**f)
    days, second = divmod(seconds, 86400)
    when = date.fromordinal(days)
    time = b"%02d:%02d:%02d" % (second // 3600, second // 60 % 60, second % 60)
    time += c.fraction_sep + (b"%0*d" % (f, fraction) if f else b"") + (b"Z" if c.zone else b"")
    if c.layout == "A":
        year = b"%04d" % when.year if len(c.year) == 4 else b"%02d" % (when.year % 100)
        return year + c.date_sep + b"%02d" % when.month + c.date_sep + b"%02d" % when.day + c.date_time_sep + time
    if c.layout == "B":
        return b"%02d" % when.month + c.date_sep + b"%02d" % when.day + c.date_time_sep + time
    day = b"%2d" % when.day if c.space_padded else b"%02d" % when.day
    out = MONTHS[when.month - 1] + b" " + day + b" " + time
    if c.weekday:
        out = WEEKDAYS[when.weekday()] + b" " + out
    return out + (b" %04d" % when.year if c.suffix else b"")


def valid(text: bytes, p: int, c: Candidate) -> bool:
    try:
        when = date(year_of(c), c.month, c.day)
    except ValueError:
        return False
    if c.hour > 23 or c.minute > 59 or c.second > 59:
        return False
    if c.weekday and (not c.suffix or WEEKDAYS[when.weekday()] != c.weekday):
        return False
    return render(c, value(c)) == text[p : c.end]


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
