"""Transform 4 (log records): any bytes round-trip through the record code, the codec chooses it
for logs only when it codes smaller, and a damaged record code is an error, never a crash."""

from __future__ import annotations

import functools
import io
import itertools
import random
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import records_reference
import sigmalang
from conftest import service_log
from sigmalang import _codec, _levels, _records
from sigmalang._backend_base import CM
from sigmalang._backends import CmBackend
from sigmalang._codec import ChunkDecodeError, decode_chunk, encode_chunk
from sigmalang._errors import SigmaFormatError
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_RECORDS, TRANSFORM_WRAPS
from sigmalang.inspect import format_report, inspect_stream
from sigmalang.semantic.codebook import Codebook

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()


SERVICE_LOG = service_log(3000)
# Clocks and near-clocks: fractions of every length and separator, too many digits, out-of-range
# minutes, one-digit hours, clocks run into digits or colons.
ODD_CLOCKS = [
    "23:59:59",
    "00:00:00,5",
    "07:08:09:123456789",
    "07:08:09.1234567890",
    "99:59:59.000",
    "12:60:00",
    "1:23:45",
    "12:34:567",
    "12:34:56:78:90",
    "T01:02:03Z",
    "2024-05-01T10:00:00.250+00:00",
    "x12:34:56.",
]
WORDS = ["INFO", "WARN", "error", "user", "=", "[", "]", ":", ",", "/var/log", "0x1f", "-", '"', "\t", "\r"]


@st.composite
def log_lines(draw: st.DrawFn) -> bytes:
    """Lines built from a few templates with numbers, ids and times, then randomly damaged."""
    words = st.sampled_from([*WORDS, "{n}", "{t}", "{h}", "{c}"])
    templates = draw(st.lists(st.lists(words, max_size=8), min_size=1, max_size=4))
    lines = []
    for i in range(draw(st.integers(0, 40))):
        chosen = draw(st.sampled_from(templates))
        n = draw(st.integers(-5, 10**20))
        clock = f"12:{i % 60:02d}:{(i * 7) % 60:02d}.{i * 13 % 1000:03d}"
        odd_clock = draw(st.sampled_from(ODD_CLOCKS))
        fields = {"{n}": str(n), "{t}": clock, "{h}": f"{n & 0xFFFF:x}", "{c}": odd_clock}
        text = " ".join(fields.get(w, w) for w in chosen)
        lines.append(text.encode())
    data = bytearray(b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n", b" "])))
    for _ in range(draw(st.integers(0, 4))):  # mutations: any byte anywhere, insertions, deletions
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 2))
        byte = draw(st.integers(0, 255))
        if kind == 0:
            data[at] = byte
        elif kind == 1:
            data.insert(at, byte)
        else:
            del data[at]
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(log_lines())
def test_log_like_lines_roundtrip(data: bytes) -> None:
    assert _records.decode(_records.encode(data), len(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_roundtrip(data: bytes) -> None:
    assert _records.decode(_records.encode(data), len(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n",
        b"\n\n\n",
        b"a 1\r\nb 2\r\n",
        b'x 007 7 07.50 7.5 -3 +4 "5 \x00\x01 9\x01\x00 \xff\xfe 3\n' * 3,
        b"t\t1\t \t2 \n" * 5,
        b"no newline at the end 12",
        b"n 999999999999999999 1000000000000000000 1 99999999999999999999999\n" * 3,
        b"d 5\nd 4\nd 3\nd 2\nd 1\nd 0\nd 10\nd 9.99\n",
        b"".join(b"w %d.123456789\n" % (10**17 + i) for i in range(30))
        + b"w 999999999999999999.999999999\nw 0.000000001\n",
    ],
)
def test_edge_cases_roundtrip(data: bytes) -> None:
    assert _records.decode(_records.encode(data), len(data)) == data


def test_version_6_writes_template_ids_big_endian_at_the_width_the_table_needs() -> None:
    """1 byte per line up to 256 templates, 2 from 257 (FORMAT.md §7.6): a line's id is its
    template's index, high byte first."""
    assert [_records.id_width(n) for n in (1, 256, 257, 65536, 65537)] == [1, 1, 2, 2, 3]

    def word(i: int) -> bytes:  # a different constant text (no digit) for each i
        return bytes([97 + i // 26, 97 + i % 26])

    for templates, width in ((256, 1), (300, 2)):  # four lines each: too many to group (GROUP_USES)
        lines = [b"%s %d" % (word(i % templates), i) for i in range(4 * templates)]
        data = b"\n".join(lines)
        code = _records.encode(data)
        n_lines, table, line_ids, _ = _records.parse(code)
        assert len(table) == templates and list(line_ids) == [i % templates for i in range(n_lines)]
        ids_start = _records._section_starts(code)[1]
        ids = code[ids_start : ids_start + n_lines * width]
        assert ids == b"".join(i.to_bytes(width, "big") for i in line_ids)
        assert _records.decode(code, len(data)) == data


@st.composite
def grouped_lines(draw: st.DrawFn) -> bytes:
    """Lines of a few shapes with one word in each that varies (a user, a host), often enough to
    make groups of templates one word apart, and sometimes damaged."""
    plain = st.text(st.sampled_from("abcXY.-"), min_size=1, max_size=5)
    odd = st.text(st.sampled_from('abc_:=[ "\t9\r'), min_size=1, max_size=4)  # delimiters, digits
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    pool = draw(st.lists(st.one_of(plain, plain, odd), min_size=5, max_size=30))
    cycle = draw(st.booleans())  # every word in turn, or drawn
    lines = []
    for i in range(draw(st.integers(0, 60))):
        shape = draw(st.sampled_from(shapes))
        word = pool[i % len(pool)] if cycle else draw(st.sampled_from(pool))
        lines.append(shape.format(word=word, n=i * 37 % 1000).encode())
    data = bytearray(b"\n".join(lines))
    for _ in range(draw(st.integers(0, 2))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


SHAPES = [
    "Dec 10 06:55:{n:02d} host sshd[{n}]: Invalid user {word} from 10.0.0.{n}",
    "[{n}] chrome.exe - {word}:443 open through proxy",
    "{word} installed {n}",
    "status {word}",
]


@settings(max_examples=200, deadline=None)
@given(grouped_lines())
def test_groups_of_templates_one_word_apart_match_a_plain_reading(data: bytes) -> None:
    """The product's groups (CRC keys, bounded loops) are the plain reading's (whole templates as
    keys), and any lines round-trip."""
    code = _records.encode(data)
    assert code == records_reference.encode(data)
    assert _records.decode(code, len(data)) == data


def test_a_word_in_rare_templates_becomes_a_field() -> None:
    """Five users who fail once each make one template with the user as a value; four do not, and
    neither do five users who fail many times each (their templates are frequent)."""

    def templates(users: list[str], times: int) -> list[tuple[bytes, ...]]:
        lines = [f"sshd[{100 + i}]: Invalid user {u} from 10.0.0.{i}" for i, u in enumerate(users * times)]
        data = "\n".join(lines).encode()
        code = _records.encode(data)
        assert _records.decode(code, len(data)) == data
        return _records.parse(code)[1]

    five = ["admin", "oracle", "test", "guest", "pi"]
    assert templates(five, 1) == [(b"sshd[", b"]: Invalid user ", b" from ", b"")]
    assert len(templates(five[:4], 1)) == 4
    assert len(templates(five, 4)) == 5  # 4 lines each: frequent enough to keep their own


def test_a_wide_word_is_taken_where_its_group_is_larger() -> None:
    """A method name joined to its class by '::' varies as one wide word (one template for all the
    lines); a package name before ':' groups as a plain word (its wide word, with the ':', makes a
    group as large: the tie goes to the plain kind, and ':' stays in the template)."""
    names = [b"Reader", b"Writer", b"Table", b"Cache", b"Queue", b"Index"]
    jit = b"".join(
        b"%d compiled org.demo.%s::%s (%d bytes)\n" % (i, n, m, i * 7)
        for i, (n, m) in enumerate((n, m) for n in names for m in (b"read", b"close"))
    )
    code = _records.encode(jit)
    assert _records.parse(code)[1] == [(b"", b" compiled ", b" (", b" bytes)"), (b"",)]
    assert code == records_reference.encode(jit) and _records.decode(code, len(jit)) == jit
    dpkg = b"".join(
        b"2024-05-01 10:00:%02d status installed lib%s:amd64\n" % (i, n.lower()) for i, n in enumerate(names)
    )
    code = _records.encode(dpkg)
    assert (b"", b" ", b" status installed ", b":", b"") in _records.parse(code)[1]  # "amd64" is a field
    assert code == records_reference.encode(dpkg) and _records.decode(code, len(dpkg)) == dpkg


def test_groups_look_at_words_within_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Words are looked at in templates of at most GROUP_TEMPLATE bytes, the first GROUP_WORDS of
    each, until GROUP_KEYS have been looked at: with the bounds made small, the templates past
    them keep their words, and the plain reading agrees."""
    users = [f"user{chr(97 + i)}x" for i in range(8)]
    first = [f"login failed for {u} at 10.0.0.{i}" for i, u in enumerate(users)]
    second = [f"logout of {u} done at 10.0.0.{i}" for i, u in enumerate(users)]
    data = "\n".join(first + second).encode()

    def templates() -> int:
        code = _records.encode(data)
        assert code == records_reference.encode(data) and _records.decode(code, len(data)) == data
        return len(_records.parse(code)[1])

    assert templates() == 2
    monkeypatch.setattr(_records, "GROUP_KEYS", 5 * 5 * 2)  # five words of each kind: the first five templates
    assert templates() == 1 + 3 + 8
    monkeypatch.setattr(_records, "GROUP_KEYS", 1 << 18)
    monkeypatch.setattr(_records, "GROUP_WORDS", 2)  # the users are the fourth and third words
    assert templates() == 16
    monkeypatch.setattr(_records, "GROUP_WORDS", 32)
    monkeypatch.setattr(_records, "GROUP_TEMPLATE", 27)  # "logout of ..." (26 bytes) fits, "login ..." (28) not
    assert templates() == 8 + 1


def test_past_the_bound_on_shapes_a_new_shape_is_the_whole_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a chunk has SHAPES shapes, a non-empty line of a new shape is one field, the whole line
    (one more template, shared by all such lines); lines of known shapes and empty lines are cut
    as before, and the plain reading agrees."""
    monkeypatch.setattr(_records, "SHAPES", 4)
    data = b"a 1\nb 2\nc 3\nd 4\ne 5\na 6\n\nf g 7\nb 8"
    code = _records.encode(data)
    assert code == records_reference.encode(data) and _records.decode(code, len(data)) == data
    _, templates, line_ids, _ = _records.parse(code)
    assert templates == [(b"a ", b""), (b"b ", b""), (b"c ", b""), (b"d ", b""), (b"", b""), (b"",)]
    assert list(line_ids) == [0, 1, 2, 3, 4, 0, 5, 4, 1]
    assert b"e 5\nf g 7\n" in code  # the whole lines, one column


def test_past_the_bound_on_fields_a_new_shape_is_the_whole_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a new shape's fields would take the fields of the shapes kept past SHAPE_FIELDS, its
    non-empty line is one field, the whole line, as past SHAPES: a line of very many fields makes
    one column, not one per field."""
    monkeypatch.setattr(_records, "SHAPE_FIELDS", 4)
    data = b"a 1 2\nb 3 4 5\na 6 7\nc 8\nd\n9"
    code = _records.encode(data)
    assert code == records_reference.encode(data) and _records.decode(code, len(data)) == data
    _, templates, line_ids, _ = _records.parse(code)
    assert templates == [(b"a ", b" ", b""), (b"", b""), (b"c ", b""), (b"d",)]
    assert list(line_ids) == [0, 1, 0, 2, 3, 1]
    monkeypatch.undo()
    many = b" ".join(b"%d" % (k % 10) for k in range(3 * _records.SHAPE_FIELDS))
    _, templates, _, _ = _records.parse(_records.encode(b"x 1\n" + many))
    assert templates == [(b"x ", b""), (b"", b"")]


@settings(max_examples=100, deadline=None)
@given(st.one_of(log_lines(), grouped_lines()), st.integers(0, 6), st.integers(0, 12))
def test_any_bound_on_shapes_matches_the_plain_reading(data: bytes, shapes: int, fields: int) -> None:
    """For any lines and any bounds on shapes and their fields, the product writes what the plain
    reading does, and the code decodes to the lines."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_records, "SHAPES", shapes)
        patch.setattr(_records, "SHAPE_FIELDS", fields)
        code = _records.encode(data)
        assert code == records_reference.encode(data)
    assert _records.decode(code, len(data)) == data


@pytest.mark.parametrize("lean", [False, True])
@pytest.mark.parametrize("lines", [1, 33, 34, 4095, 4096, 4097, 9000])
def test_lines_across_blocks_decode_whole(monkeypatch: pytest.MonkeyPatch, lines: int, lean: bool) -> None:
    """Lines are cut in blocks of LINE_BYTES and joined back in blocks of LINE_BLOCK, and a column
    is read in runs of ENTRY_RUN (whole, when it has no more): with small blocks, codes and lines are
    the same on every side of each boundary (33 lines: eleven templates of three lines each)."""
    data = b"\n".join(b"%d x %s" % (i * 37 % 1000, b"y" * (i % 11)) for i in range(lines)) + b"\n"
    code = _records.encode(data)
    for name, value in (("LINE_BYTES", 7), ("LINE_BLOCK", 5), ("ENTRY_RUN", 3), ("SLICE", 2)):
        monkeypatch.setattr(_records, name, value)
    monkeypatch.setattr(_records, "LEAN_COLUMNS", 0 if lean else 1 << 16)
    assert _records.encode(data) == code
    assert _records.decode(code, len(data)) == data


def test_short_lines_decode_in_memory_a_few_times_their_size() -> None:
    """The decoder keeps no object per line or per value beyond a block: 200,000 one-byte lines
    (a code of 600 KB) decode within 40 bytes of Python memory a line at the peak (about 20 now;
    an object per line and per value took about 110)."""

    data = b"\n".join(b"%d" % (i * 7 % 10) for i in range(200_000))
    assert _decoding_peak(data) < 40 * 200_000 + 2 * len(data) + (1 << 20)


def _decoding_peak(data: bytes) -> int:
    """The Python heap's peak (tracemalloc) while the record code of *data* decodes to it."""

    import tracemalloc

    code = _records.encode(data)
    tracemalloc.start()
    try:
        assert _records.decode(code, len(data)) == data
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("lean", "per_column", "fields"), [(False, 600, 20_000), (True, 160, 50_000)])
def test_a_line_of_very_many_fields_decodes_in_memory_a_few_hundred_bytes_a_column(
    monkeypatch: pytest.MonkeyPatch, lean: bool, per_column: int, fields: int
) -> None:
    """A code whose template has very many fields (a hostile code, or one written before
    SHAPE_FIELDS) keeps no reading state per column: three lines of 20,000 one-digit fields decode
    within 600 bytes of Python memory a column at the peak (about 230 now; a reading state per
    column took about 2,500); past LEAN_COLUMNS columns, with no reader per short column, three
    lines of 50,000 within 160 (about 120; about 230 with a reader per column)."""

    monkeypatch.setattr(_records, "SHAPE_FIELDS", 1 << 40)
    monkeypatch.setattr(_records, "LEAN_COLUMNS", 0 if lean else 1 << 16)
    data = b"\n".join(b" ".join(b"%d" % ((k * 7 + line) % 10) for k in range(fields)) for line in range(3))
    assert len(_records.parse(_records.encode(data))[1][0]) == fields + 1
    assert _decoding_peak(data) < per_column * fields + 2 * len(data) + (1 << 20)


@settings(max_examples=100, deadline=None)
@given(st.one_of(log_lines(), grouped_lines(), st.binary(max_size=400)), st.sampled_from([1, 2, 3, 1024]))
def test_the_lean_reading_decodes_what_the_reading_by_column_does(data: bytes, run: int) -> None:
    """Past LEAN_COLUMNS columns the reader keeps no reader per short column: forced on any lines,
    with any ENTRY_RUN (which long columns keep their reader), it reads every line the same."""
    code = _records.encode(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_records, "ENTRY_RUN", run)
        patch.setattr(_records, "LEAN_COLUMNS", 0)
        assert _records.decode(code, len(data)) == data


@st.composite
def template_tables(draw: st.DrawFn) -> list[tuple[bytes, ...]]:
    """Template tables whose templates share first pieces, and leave each other anywhere."""
    pieces = st.sampled_from([b"", b"a", b"b", b" x=", b"ab" * 10, b"\x00"])
    out: list[tuple[bytes, ...]] = []
    for _ in range(draw(st.integers(1, 12))):
        if out and draw(st.booleans()):
            base = draw(st.sampled_from(out))
            keep = draw(st.integers(0, len(base)))
            out.append(base[:keep] + tuple(draw(st.lists(pieces, min_size=1 if keep == 0 else 0, max_size=6))))
        else:
            out.append(tuple(draw(st.lists(pieces, min_size=1, max_size=8))))
    return out


@settings(max_examples=300, deadline=None)
@given(template_tables())
def test_columns_are_numbered_and_ordered_as_the_plain_reading_does(templates: list[tuple[bytes, ...]]) -> None:
    """The runs of new columns the product keeps number and order any templates' columns as a
    dictionary of (column before, piece before) does, at every version's order."""
    columns, plain = _records._Columns(), records_reference.Columns()
    assert [_records._ids(columns.of(t)) for t in templates] == [plain.of(t) for t in templates]
    for version in (1, 2):
        assert columns.order(version).tolist() == plain.order(version)


def test_numbers_in_a_column_are_differences() -> None:
    data = b"".join(b"2024-01-01 10:00:%02d.%03d id=%d ok\n" % (s, s * 17 % 1000, 1000 + s) for s in range(60))
    code = _records.encode(data)
    assert b"1\n" * 50 in code  # the id column: differences of one
    assert b"1059" not in code  # the id column went to differences after its first values


@settings(max_examples=100, deadline=None)
@given(log_lines())
def test_versions_1_to_6_still_decode(data: bytes) -> None:
    """Version 1 (columns in order of first use), version 2 (no clocks), version 3 (no repeats
    left out), version 4 (the whole code in a shared-context history), version 5 (template ids
    as varints) and version 6 (no references) are read as well as version 7 is written."""
    for version in (1, 2, 3, 4, 5):
        old = records_reference.encode(data, version=version)
        assert old[0] == version and _records.decode(old, len(data)) == data
    six = records_reference.encode(data, version=6)
    assert six[0] == 6 and _records.decode(six, len(data)) == data
    assert _records.encode(data) == records_reference.encode(data, version=7)
    assert records_reference.encode(data, version=5)[1:] == records_reference.encode(data, version=4)[1:]


SIZES = [
    0,
    403,
    999,
    1000,
    1023,
    1024,
    1165,
    1190,
    5174,
    9995,
    10547,
    18846,
    27629,
    102399,
    1048575,
    10**12,
    10**18 - 1,
]


def test_counts_are_shown_in_larger_units_as_the_letters_say() -> None:
    """FORMAT.md §7.6, version 7: A-P divide by 1000 or 1024 to a power, truncate or round, and
    keep three digits (two decimals below 10, one below 100)."""
    assert _records._rescaled(18846, 2) == b"18.4"  # C: 1024, truncated
    assert _records._rescaled(1165, 2) == b"1.13" and _records._rescaled(1165, 3) == b"1.14"  # D rounds
    assert _records._rescaled(27629, 2) == b"26.9" and _records._rescaled(27629, 3) == b"27.0"
    assert _records._rescaled(9995, 1) == b"10.00" and _records._rescaled(9995, 0) == b"9.99"
    assert _records._rescaled(1048575, 6) == b"0.99" and _records._rescaled(1048575, 7) == b"1.00"
    assert _records._rescaled(123456789, 4) == b"123" and _records._rescaled(123456789, 8) == b"0.12"
    for count in SIZES:
        for letter in range(16):
            assert _records._rescaled(count, letter) == records_reference.shown(count, letter)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**18 - 1), st.integers(0, 15))
def test_the_letter_found_shows_the_count_as_the_value(count: int, letter: int) -> None:
    """The writer's search (by divisor, pruned) finds the first letter a plain scan finds."""
    value = records_reference.shown(count, letter)
    found = _records._rescale_letter(b"%d" % count, value)
    plain = next(
        (k for k in range(16) if _records._DIVISORS[k >> 1] <= count and records_reference.shown(count, k) == value),
        -1,
    )
    assert found == (plain if len(value) <= 6 else found) and (found < 0 or _records._rescaled(count, found) == value)


def test_a_field_that_repeats_one_of_its_line_is_a_reference() -> None:
    """Version 7: a size shown again in larger units, and a long value equal to one before it in
    the line, are written as references; a value that begins with byte 1 is written after it; a
    chunk that needs none is written as version 6."""
    lines = [
        b"[10.30 16:49:%02d] chrome.exe - proxy:%d close, %d bytes (%s KB) sent, src /10.0.0.%d:5070 dest /10.0.0.%d:80"
        % (i % 60, 5000 + i, size, records_reference.shown(size, 2), i % 9, i % 9)
        for i, size in enumerate(range(1100, 1100 + 60 * 997, 997))
    ]
    data = b"\n".join(lines) + b"\nodd \x01value7 here\n"
    code = _records.encode(data)
    assert code[0] == 7 and _records.decode(code, len(data)) == data
    assert code.count(b"\x01C\n") >= 50  # the sizes in KB, truncated (letter C)
    assert code.count(b"\x012\n") >= 50  # the address again, two fields on
    assert b"\x01\x01value7\n" in code  # the escaped value
    kinds = {label: kind for label, kind, *_ in _records.describe(code, len(data))[1]}
    assert kinds[b"[<*> <*>] chrome.exe - proxy:<*> close, <*> bytes (<*>"] == "reference"
    plain = b"\n".join(b"t %d ok %d" % (i, i * 7) for i in range(100))
    assert _records.encode(plain)[0] == 6
    assert _records.encode(plain + b"\n\x01x 5 5")[0] == 6  # byte 1 not at a value's start


def test_a_template_stops_being_looked_at_after_lines_without_references() -> None:
    """The writer looks at a template's lines until REFER_TRIES in a row had none, and again
    from each reference on; the plain reading agrees."""
    sizes = [b"%d bytes (%s KB)" % (n, records_reference.shown(n, 2)) for n in range(5000, 5040)]
    lines = [b"sent 12 ok 13 now"] * 20 + [b"got %s" % s for s in sizes[:3]] + [b"got 7 bytes (7 KB)"] * 9
    lines += [b"got %s" % s for s in sizes[3:]]
    data = b"\n".join(lines)
    code = _records.encode(data)
    assert code == records_reference.encode(data, version=7)
    assert code.count(b"\x01C") == 3  # the template was no longer looked at after nine lines without
    assert _records.decode(code, len(data)) == data


@pytest.mark.parametrize("between", [9998, 9999])
def test_a_reference_reaches_back_at_most_9999_values(between: int) -> None:
    values = [b"id-12345678", *(b"x%d" % i for i in range(between)), b"id-12345678"]
    written = _records._refer(values)
    assert written == (None if between == 9999 else [*values[:-1], b"\x019999"])
    assert records_reference.refer(values) == (values if written is None else written)
    assert _records._resolve(written or values, 10**6) == values


def test_describe_reads_an_empty_value_of_a_version_7_code() -> None:
    """A difference-mode entry of a lone '"' is an empty value (no writer writes one): describe
    and decode read it without looking past its end."""
    data = b"\n".join(b"v %d" % (1000 + i) for i in range(40))
    code = bytearray(_records.encode(data))
    assert code[0] == 6 and code.endswith(b"\n1\n")
    code[0] = 7  # a version-6 code is a version-7 code without references
    code[-2:-1] = b'"'
    columns = _records.describe(bytes(code), len(data))[1]
    assert [kind for _, kind, *_ in columns] == ["mixed"]
    with pytest.raises(_records.RecordsError, match="decoded to"):
        _records.decode(bytes(code), len(data))


@st.composite
def referring_lines(draw: st.DrawFn) -> bytes:
    """Lines with sizes shown in larger units by any letter, values repeated in the line, and byte 1."""
    lines = []
    for _ in range(draw(st.integers(1, 30))):
        count = draw(st.sampled_from(SIZES) | st.integers(0, 10**19))
        letter = draw(st.integers(0, 15))
        word = draw(st.sampled_from([b"id-12345678", b"\x01", b"\x0142", b"10.1.2.3", b"7"]))
        shown = records_reference.shown(count, letter)
        lines.append(b"n %d (%s %s) %s a=%s b=%s %s" % (count, shown, b"KB", word, word, word, shown))
    data = bytearray(b"\n".join(lines))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        data.insert(at, draw(st.sampled_from([1, 10, 32, 40, 48, 57])))
    return bytes(data)


@settings(max_examples=300, deadline=None)
@given(referring_lines())
def test_lines_with_references_roundtrip_and_match_the_plain_reading(data: bytes) -> None:
    code = _records.encode(data)
    assert code == records_reference.encode(data, version=7)
    assert _records.decode(code, len(data)) == data


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([b"12", b"\x013"], "bad field reference"),  # reaches before the line's first field
        ([b"\x011"], "bad field reference"),
        ([b"12", b"\x010"], "bad field reference"),
        ([b"12", b"\x0101"], "bad field reference"),
        ([b"12", b"\x01Q"], "bad field reference"),
        ([b"12", b"\x01"], "bad field reference"),
        ([b"1x2", b"\x01A"], "does not follow a count"),
        ([b"\x01A"], "does not follow a count"),
        ([b"1" * 19, b"\x01A"], "does not follow a count"),
        ([b"x" * 6] + [b"\x011"] * 3, "more than"),
    ],
)
def test_bad_references_are_refused(values: list[bytes], message: str) -> None:
    with pytest.raises(_records.RecordsError, match=message):
        _records._resolve(values, 20)


def test_references_that_would_fill_memory_are_refused_before_the_line_is_made() -> None:
    """A code of a few bytes per field whose references copy a long value many times is refused
    once the line passes the chunk's size, not after it is built."""
    fields = 5000
    table = b"x" + b"\x00" * fields + b"\n"
    entries = b"9" * 100_000 + b"\n" + b"\x011\n" * (fields - 1)
    code = b"\x07" + _records.encode_varint(1) + _records.encode_varint(len(table)) + _records.encode_varint(1)
    code += table + b"\x00" + entries
    with pytest.raises(_records.RecordsError, match="more than"):
        _records.decode(code, 200_000)


def test_repeats_of_a_long_entry_beyond_the_chunk_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small code whose repeats would fill in far more bytes than the chunk holds (a column in
    difference mode, then a long entry after '"' repeated by many empty entries, each of which
    reading would copy) is refused before any entry is read."""
    lines = 20_000
    table = b"x\x00\n"
    entries = b"1000\n1001\n" + b'"' + b"y" * 1_000_000 + b"\n" + b"\n" * (lines - 3)
    code = b"\x04" + _records.encode_varint(lines) + _records.encode_varint(len(table))
    code += _records.encode_varint(lines) + table + b"\x00" * lines + entries

    def read(entries: object, clocks: bool) -> list[bytes]:
        raise AssertionError("the entries were read")

    monkeypatch.setattr(_records, "_tokens", read)
    for call in (lambda: _records.decode(code, 4 * lines), lambda: _records.describe(code, 4 * lines)):
        with pytest.raises(_records.RecordsError, match="more than"):
            call()


def test_a_long_value_that_repeats_is_written_empty() -> None:
    """Version 4: an entry of eight bytes or more equal to the one before it in its column is
    written as an empty entry; shorter ones are written out."""
    lines = [b"host=web-01.example.org pid=%d code=%s\n" % (4242, b"ok" if i % 9 else b"fail") for i in range(40)]
    data = b"".join(lines)
    code = _records.encode(data)
    assert code.count(b"web-01.example.org") == 1 and b"web-01.example.org" + b"\n" * 40 in code
    assert code.count(b"4242\n") == 40  # four bytes: written out
    assert _records.decode(code, len(data)) == data


def test_clocks_are_one_field_written_as_differences_of_their_time_of_day() -> None:
    lines = [b"%02d:%02d:%02d.%03d worker %d done" % (9, i // 60, i % 60, i * 7 % 1000, i % 3) for i in range(600)]
    lines += [b"23:59:59.999 day ends", b"00:00:00.000 day starts", b"10:00:00 no fraction", b"12:34:56,5"]
    data = b"\n".join(lines)
    code = _records.encode(data)
    assert _records.decode(code, len(data)) == data
    templates, columns, _ = _records.describe(code, len(data))
    assert any(t == b"<*> worker <*> done" for t, _ in templates)  # the clock is one field
    assert columns[0][1] == "clock" and columns[0][2] == len(lines)
    assert b"1007\n" in code  # one second and 7 thousandths later, as a difference
    assert b"09:05:00.100" not in code  # clocks after the first are differences


def test_describe_shows_long_column_labels_by_their_ends() -> None:
    """A column's label is the template's text up to it; past 2 * SHOWN_END bytes only its two ends
    and the number of bytes between them, so a template of many fields has labels in proportion to
    its fields (their full texts would add up to its square), each still its own."""
    fields = 3_000
    data = b"\n".join(b"x " + b" ".join(b"%d" % ((k + line) % 10) for k in range(fields)) for line in range(2))
    code = _records.encode(data)
    labels = [label for label, *_ in _records.describe(code, len(data))[1]]
    full = [b"x " + b"<*> " * k + b"<*>" for k in range(fields)]
    assert labels[:3] == full[:3] and len(set(labels)) == fields
    end = _records.SHOWN_END
    for label, whole in zip(labels, full, strict=True):
        if len(whole) <= 2 * end:
            assert label == whole
        else:
            assert label == whole[:end] + b"[... %d bytes ...]" % (len(whole) - 2 * end) + whole[-end:]


def test_a_clock_out_of_range_is_damage() -> None:
    data = b"\n".join(b"10:00:%02d ok" % (i % 60) for i in range(50))
    code = _records.encode(data)
    damaged = code.replace(b"\n1\n", b"\n-99999999\n", 1)  # a difference to before midnight
    assert damaged != code
    with pytest.raises(_records.RecordsError, match="clock"):
        _records.decode(damaged, len(data))


def test_version_2_orders_columns_by_the_text_before_them_read_backwards() -> None:
    data = b"a pid=1 x=5\nb pid=2 y=6\na pid=3 x=7\n"
    code = _records.encode(data)
    # columns: "a pid=" (0), "a pid=<*> x=" (1), "b pid=" (2), "b pid=<*> y=" (3); labels read
    # backwards: "=dip a", "=x ...", "=dip b", "=y ...": order 0, 2, 1, 3
    assert code.endswith(b"1\n3\n2\n5\n7\n6\n")
    assert _records.decode(code, len(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_record_code_is_an_error_or_the_same_length(data: st.DataObject) -> None:
    code = bytearray(_records.encode(LOGS[:3000]))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(code) - 1))
        code[at] = data.draw(st.integers(0, 255))
    try:
        out = _records.decode(bytes(code), 3000)
    except _records.RecordsError:
        return
    assert len(out) == 3000


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (b"", "version"),
        (b"\x08\x01\x00\x00", "version"),
        (b"\x04\x01\x04\x01a\x00b\n\x00\n", "repeats nothing"),
        (b"\x01\xff\xff\xff\xff\x7f\x00\x00", "past"),
        (b"\x01\x01\x02\x01ab\x00", "line feed"),
        (b"\x01\x01\x02\x01a\n\x05", "not in the table"),
        (b"\x01\x02\x02\x01a\n\x00", "before the last line"),
        (b"\x01\x01\x04\x01a\x00b\n\x00", "more field values"),
        (b"\x01\x01\x02\x01a\n\x00junk", "after the last column"),
        (b"\x01\x01\x03\x01\x01\x05\n\x00", "escape"),
        (b"\x06\x01\x02\x02a\n\x00\x00", "not 1 lines of 1 bytes"),  # version 6: one byte per id here
        (b"\x06\x02\x02\x01a\n\x00", "not 2 lines of 1 bytes"),
        (b"\x06\x01\x02\x01a\n\x01", "not in the table"),
        (b"\x06\x01\x02\x00a\n", "not 1 lines"),
        (b"\x06\x01\x04\x01a\nb\n\x00", "template 1 of the table is used by no line"),
        (b"\x06\x01\x04\x01a\nb\n\x01", "template 0 of the table is used by no line"),
        (b"\x05\x02\x06\x02a\nb\nc\n\x00\x02", "template 1 of the table is used by no line"),
    ],
)
def test_hostile_record_codes_are_refused(code: bytes, message: str) -> None:
    with pytest.raises(_records.RecordsError, match=message):
        _records.decode(code, 10)


def test_codec_chooses_records_for_logs_and_bytes_for_prose() -> None:
    logs = encode_chunk(SERVICE_LOG, 6)
    assert (logs.transform, logs.backend) == (TRANSFORM_RECORDS, CM)
    assert decode_chunk(logs.transform, logs.backend, logs.data, len(SERVICE_LOG)) == SERVICE_LOG
    assert len(logs.data) < len(_codec.encode_body(SERVICE_LOG, _levels.level_spec(6), form="text").data)
    prose = encode_chunk(DICKENS[:20000], 6)
    assert prose.transform == TRANSFORM_WRAPS  # hard-wrapped prose: its own transform, not records
    assert encode_chunk(DICKENS[:20000].replace(b"\r\n", b" "), 6).transform == TRANSFORM_LITERAL


def test_damaged_records_frame_is_a_chunk_decode_error() -> None:
    encoded = encode_chunk(SERVICE_LOG, 6)
    assert encoded.transform == TRANSFORM_RECORDS
    with pytest.raises(ChunkDecodeError, match="code"):
        decode_chunk(TRANSFORM_RECORDS, CM, b"\xff\xff\xff\xff\xff\xff", len(SERVICE_LOG))
    with pytest.raises(ChunkDecodeError):
        decode_chunk(TRANSFORM_RECORDS, CM, encoded.data[:-1], len(SERVICE_LOG))


@pytest.mark.slow
@pytest.mark.parametrize("level", sorted(_levels.LEVELS))
@pytest.mark.parametrize("shared", [False, True])
def test_logs_roundtrip_at_every_level_in_1k_chunks(level: int, shared: bool) -> None:
    data = SERVICE_LOG[:12000] + LOGS[:8000] + b"\r\nlast line without newline \xff 12"
    encoded = sigmalang.compress(data, level, chunk_size=1024, shared_context=shared)
    assert sigmalang.decompress(encoded) == data


def test_logs_roundtrip_in_1k_chunks_at_the_default_level() -> None:
    data = SERVICE_LOG[:8000]
    assert sigmalang.decompress(sigmalang.compress(data, 6, chunk_size=1024)) == data


def test_damaged_records_stream_names_the_frame() -> None:
    encoded = bytearray(sigmalang.compress(SERVICE_LOG, 6))
    encoded[len(encoded) // 3] ^= 0x40
    with pytest.raises(SigmaFormatError):
        sigmalang.decompress(bytes(encoded))


@functools.cache
def level_6_stream(shared: bool) -> bytes:
    """The service log at level 6, coded once for the tests that inspect it."""
    return sigmalang.compress(SERVICE_LOG, 6, shared_context=shared)


@pytest.mark.parametrize("shared", [False, True])
def test_inspect_shows_templates_and_columns(shared: bool) -> None:
    stream = level_6_stream(shared)
    report = inspect_stream(io.BytesIO(stream))[0].as_dict()
    records = report["records"]
    assert records["frames"] == 1
    top = records["top_templates"]
    assert len(top) == min(20, records["templates"])
    assert sum(t["lines"] for t in top) <= SERVICE_LOG.count(b"\n") + 1
    assert top[0]["lines"] >= top[-1]["lines"]
    assert any("Closing connection <*> after <*> ms" in t["template"] for t in top)
    kinds = {c["kind"] for c in records["columns"]}
    assert "number" in kinds
    assert sum(c["code_bytes"] for c in records["columns"]) < len(SERVICE_LOG)
    text = "\n".join(format_report(report, "log"))
    assert "records: 1 frame coded as log records" in text and "columns:" in text


def test_inspect_says_what_the_model_spent_on_each_column() -> None:
    stream = level_6_stream(False)
    report = inspect_stream(io.BytesIO(stream))[0].as_dict()
    records = report["records"]
    assert records["model_frames"] == 1
    spent = sum(s["model_bytes"] for s in records["sections"])
    payload = report["by_backend"][0]["encoded"]
    # the frame's payload: the code's length, the model's parameters, the coded bits and the coder's
    # last bytes; costs are read at 12-bit precision, so within about 1%
    assert payload * 0.99 - 16 <= spent <= payload
    columns = sum(c["model_bytes"] for c in records["columns"])
    assert columns == pytest.approx(next(s["model_bytes"] for s in records["sections"] if s["section"] == "columns"))
    assert all(0 < c["model_bytes"] <= c["code_bytes"] for c in records["columns"])
    text = "\n".join(format_report(report, "log"))
    assert "costliest first" in text and "template table" in text


def test_inspect_without_the_model_shows_the_record_code_only() -> None:
    stream = sigmalang.compress(SERVICE_LOG, 3, format="logs")  # PPMd: no cost per byte
    records = inspect_stream(io.BytesIO(stream))[0].as_dict()["records"]
    assert records["model_frames"] == 0 and records["frames"] == 1
    assert all(c["model_bytes"] is None for c in records["columns"])
    assert "largest first" in "\n".join(format_report(inspect_stream(io.BytesIO(stream))[0].as_dict(), "log"))


@settings(max_examples=100, deadline=None)
@given(st.one_of(log_lines(), st.binary(max_size=600)))
def test_describe_puts_every_byte_of_the_code_in_one_section_and_at_most_one_column(data: bytes) -> None:
    code = _records.encode(data)
    _, columns, sections = _records.describe(code, len(data), range(len(code) + 1))  # each byte costs 1
    head = sections[0][2] - sections[0][1]  # the version and lengths, counted with the table's cost
    assert 3 <= head <= 15 and sum(size for _, size, _ in sections) == len(code) - head
    assert sum(cost for _, _, cost in sections) == len(code)
    assert all(cost == size for _, _, _, size, cost in columns)
    assert sum(size for *_, size, _ in columns) == sections[2][1]
    assert all(column[4] == -1 for column in _records.describe(code, len(data))[1])


@settings(max_examples=30, deadline=None)
@given(log_lines(), st.sampled_from([4, 6]))
def test_log_like_chunks_roundtrip_through_the_codec(data: bytes, level: int) -> None:
    body = _codec.encode_body(data * 4, _levels.level_spec(level))  # records when they look like logs and win
    assert decode_chunk(body.transform, body.backend, body.data, len(data) * 4) == data * 4
    if _records.looks_like_logs(data * 4):
        code = _records.encode(data * 4)
        payload = _codec.encode_varint(len(code)) + _codec.get_backend(CM, 0x7FF, 22).encode(code)
        assert decode_chunk(TRANSFORM_RECORDS, CM, payload, len(data) * 4) == data * 4


@settings(max_examples=30, deadline=None)
@given(log_lines())
def test_record_codes_with_row_trees_roundtrip_through_the_codec(data: bytes) -> None:
    """Any log-like chunk's record code, given the trees the writer gives a long one (the bounds
    lowered so that every code gets them where its rows allow), decodes to the chunk."""
    from sigmalang import _backends

    saved = _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE
    _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE = 1, 1 << 20
    try:
        body = _codec._records_body(data, _levels.level_spec(6), b"", None)
    finally:
        _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE = saved
    if body is not None:
        assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data


@pytest.mark.slow
def test_a_long_log_chunk_is_coded_the_way_a_sample_of_its_lines_codes_smaller() -> None:
    data = service_log(9000)
    assert len(data) > 2 * _codec.RECORDS_PROBE
    body = _codec.encode_body(data, _levels.level_spec(6))
    assert body.transform == TRANSFORM_RECORDS
    assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data
    prose = (DICKENS * 10)[: 3 * _codec.RECORDS_PROBE]
    prose_lines = prose.replace(b" ", b" 1 ")  # a field in every few words: taken for logs
    body = _codec.encode_body(prose_lines, _levels.level_spec(4))
    assert decode_chunk(body.transform, body.backend, body.data, len(prose_lines)) == prose_lines


def _codings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """From now on, each coding of a chunk as records or as bytes, with the chunk's length, in
    order; bytes that the encoder would stop early are coded in full (:func:`_bytes_in_full`)."""
    coded: list[tuple[str, int]] = []
    records_body, bytes_body = _codec._records_body, _codec._encode_body

    def as_records(chunk: bytes, *args: object) -> object:
        coded.append(("records", len(chunk)))
        return records_body(chunk, *args)  # type: ignore[arg-type]

    def as_bytes(chunk: bytes, *args: object) -> object:
        coded.append(("bytes", len(chunk)))
        return bytes_body(chunk, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_codec, "_records_body", as_records)
    monkeypatch.setattr(_codec, "_encode_body", as_bytes)
    monkeypatch.setattr(_codec, "_body_at_most", _bytes_in_full)
    return coded


def test_level_9_codes_a_long_log_chunk_both_ways_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 9 judges a chunk of log lines of at most two LOOKs on all of it, not on a sample: the
    full chunk is coded as records and as bytes, no piece is coded, and the smaller body is kept."""
    data = service_log(3300)
    assert 2 * _codec.RECORDS_PROBE < len(data) <= 2 * _codec.LOOK
    coded = _codings(monkeypatch)
    body = _codec.encode_body(data, _levels.level_spec(9))
    assert sorted(coded) == [("bytes", len(data)), ("records", len(data))]
    assert body.transform == TRANSFORM_RECORDS
    assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data
    assert not _levels.level_spec(6).both_in_full


@pytest.mark.parametrize("level", [6, 9])
def test_a_chunk_coded_both_ways_keeps_the_smaller_and_codes_its_bytes_only_as_far_as_needed(
    monkeypatch: pytest.MonkeyPatch, level: int
) -> None:
    """A log chunk coded both ways in full is coded as records first, then as bytes only up to the
    records' length (the model stops there): the body kept is the one coding both in full and
    keeping the smaller gives, where records win (a service log) and where bytes do (lines of prose
    after a clock, which look like log lines; wrap codes aside, which test_wraps.py covers)."""
    spec = replace(_levels.level_spec(level), wraps=False)
    prose = clocked_prose(30000)
    assert not _codec._hopeless(len(_records.encode(prose)), len(prose), spec)  # the records are coded
    limits: list[int] = []
    real = CmBackend.encode_at_most

    def spy(backend: CmBackend, chunk: bytes, prime: bytes, limit: int | None) -> bytes | None:
        if limit is not None:
            limits.append(limit)
        return real(backend, chunk, prime, limit)

    for data, winner in ((service_log(900), TRANSFORM_RECORDS), (prose, TRANSFORM_LITERAL)):
        as_bytes = _codec._encode_body(data, spec, None, b"", False)
        as_records = _codec._records_body(data, spec, b"", None)
        assert as_records is not None
        expected = as_records if len(as_records.data) < len(as_bytes.data) else as_bytes
        limits.clear()
        monkeypatch.setattr(CmBackend, "encode_at_most", spy)
        monkeypatch.setattr(_codec, "SURE_NUM", 0)  # the service log's code is short enough to be sure (_sure)
        body = _codec.encode_body(data, spec)
        monkeypatch.undo()
        assert body == expected and body.transform == winner
        assert limits == [len(as_records.data)]


def clocked_prose(size: int) -> bytes:
    """Lines of prose, each after a clock and a level: log lines whose records lose to their bytes
    (a paragraph-style log), with a record code shorter than 9/10 of the text."""
    lines = DICKENS[:size].split(b"\n")
    return b"".join(b"2024-05-01 12:%02d:%02d INFO %s\n" % (i // 60 % 60, i % 60, line) for i, line in enumerate(lines))


@pytest.mark.parametrize("size", [20000, 3 * _codec.RECORDS_PROBE])
def test_a_record_code_nearly_as_long_as_its_text_is_not_coded_to_be_weighed(
    monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Lines whose record code is at least 9/10 as long as them (words with a number after each:
    every word a field) are coded as bytes without the record code being coded, whether the chunk
    is judged in full (short) or on a sample (long); with --format logs they are records. Level 3
    (PPMd) weighs them as any lines."""
    rng = random.Random(size)
    words = sorted(set(DICKENS.split()))
    lines = (b" ".join(b"%s %d" % (rng.choice(words), rng.randrange(100)) for _ in range(8)) for _ in iter(int, 1))
    prose = b""
    while len(prose) < size:
        prose += b"\n".join(itertools.islice(lines, 100)) + b"\n"
    spec = _levels.level_spec(6)
    assert _records.looks_like_logs(prose) and _codec._hopeless(len(_records.encode(prose)), len(prose), spec)
    coded: list[int] = []
    real = _codec._records_body

    def spy(data: bytes, *args: object) -> object:
        coded.append(len(data))
        return real(data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_codec, "_records_body", spy)
    body = _codec.encode_body(prose, spec)
    assert coded == [] and body.transform != TRANSFORM_RECORDS
    assert decode_chunk(body.transform, body.backend, body.data, len(prose)) == prose
    forced = _codec.encode_body(prose, spec, form="logs")
    assert coded == [len(prose)] and forced.transform == TRANSFORM_RECORDS
    assert decode_chunk(forced.transform, forced.backend, forced.data, len(prose)) == prose
    coded.clear()
    _codec.encode_body(prose, _levels.level_spec(3))
    assert coded


def test_a_record_code_is_hopeless_from_nine_tenths_of_its_text_at_the_cm_levels() -> None:
    cm, ppmd = _levels.level_spec(6), _levels.level_spec(3)
    assert _codec._hopeless(900, 1000, cm) and _codec._hopeless(1200, 1000, cm)
    assert not _codec._hopeless(899, 1000, cm) and not _codec._hopeless(0, 1, cm)
    assert not _codec._hopeless(1200, 1000, ppmd)


def quiet_log(lines: int) -> bytes:
    """A service log whose lines each end in the same long words: a record code under 3/10 of the text."""
    return service_log(lines).replace(b"\n", b" (checked by the health monitor, nothing to report)\n")


@pytest.mark.parametrize(("level", "size"), [(3, 900), (6, 900), (6, 3300), (9, 900)])
def test_a_record_code_much_shorter_than_its_text_is_not_weighed_but_at_level_9(
    monkeypatch: pytest.MonkeyPatch, level: int, size: int
) -> None:
    """Log lines whose record code is at most 2/5 as long as them are coded as records without
    their bytes being coded to weigh them, whether the chunk is short or long (whose sample is then
    not coded at all, and whose record code is made once); level 9 weighs them as any lines."""
    data = quiet_log(size)
    spec = _levels.level_spec(level)
    assert _records.looks_like_logs(data) and _codec.SURE_DEN * len(_records.encode(data)) <= _codec.SURE_NUM * len(
        data
    )
    coded = _codings(monkeypatch)
    body = _codec.encode_body(data, spec)
    assert body.transform == TRANSFORM_RECORDS
    assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data
    if level == 9:
        assert ("bytes", len(data)) in coded
    else:
        assert coded == [("records", len(data))]


def test_a_log_is_weighed_with_a_codebook_however_short_its_record_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """A book's sample lines help the bytes of a small chunk far more than its record code (the
    Loghub samples in 4 KiB pieces: 7-14% larger as records unweighed), so with a book the chunk is
    coded both ways to keep the smaller."""
    data = quiet_log(900)
    book = Codebook((b"health",), 96, quiet_log(300))
    spec = _levels.level_spec(6)
    assert _codec.SURE_DEN * len(_records.encode(data)) <= _codec.SURE_NUM * len(data)
    coded = _codings(monkeypatch)
    body = _codec.encode_body(data, spec, book)
    assert ("records", len(data)) in coded and ("bytes", len(data)) in coded
    assert decode_chunk(body.transform, body.backend, body.data, len(data), book=book) == data


def test_a_record_code_is_sure_to_win_up_to_two_fifths_of_its_text_below_level_9() -> None:
    text = b"".join(b"line %04d\n" % k for k in range(100))  # 1,000 bytes, no line repeated
    for level in (3, 4, 6, 8):
        spec = _levels.level_spec(level)
        assert _codec._sure(bytes(400), text, spec, None) and _codec._sure(b"", b"x\n", spec, None)
        assert not _codec._sure(bytes(401), text, spec, None) and not _codec._sure(b"x", b"x\n", spec, None)
    assert not _codec._sure(b"", text, _levels.level_spec(9), None)


def test_a_record_code_is_not_sure_to_win_where_over_a_third_of_the_lines_repeat_earlier_ones() -> None:
    """Lines that repeat an earlier line whole (stack traces) are what the bytes' model codes best:
    past a third of the chunk's bytes, its records are weighed however short their code."""
    spec = _levels.level_spec(6)
    for copies, sure in ((34, True), (35, False)):  # 33 or 34 repeats of a 10-byte line in 1,000 bytes
        text = b"line 0000\n" * copies + b"".join(b"line %04d\n" % k for k in range(copies, 100))
        assert len(text) == 1000 and _codec._sure(bytes(400), text, spec, None) == sure


@given(st.lists(st.sampled_from([b"", b"a", b"ab", b"at x(Y.java:1)", b"\tat z"]), max_size=40), st.booleans())
def test_repeated_bytes_counts_each_line_after_its_first_with_its_line_feed(lines: list[bytes], end: bool) -> None:
    text = b"\n".join(lines) + (b"\n" if end else b"")
    pieces = text.split(b"\n")
    expected = sum(len(piece) + 1 for k, piece in enumerate(pieces) if piece in pieces[:k])
    assert _codec.repeated_bytes(text) == expected


def test_a_log_with_a_repeated_stack_trace_is_weighed_however_short_its_record_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A log whose lines each have the same stack trace after them (nearly half of its bytes) has a
    record code short enough to be sure (_codec._sure), and is still coded both ways to keep the smaller."""
    trace = b"\tat org.example.Worker.step(Worker.java:40)\n\tat org.example.Pool.run(Pool.java:112)\n"
    trace += b"\tat java.lang.Thread.run(Thread.java:833)\n"
    data = b"".join(line + b"\n" + trace for line in quiet_log(300).splitlines())
    spec = _levels.level_spec(6)
    assert _records.looks_like_logs(data) and _codec.SURE_DEN * len(_records.encode(data)) <= _codec.SURE_NUM * len(
        data
    )
    coded = _codings(monkeypatch)
    body = _codec.encode_body(data, spec)
    assert ("records", len(data)) in coded and ("bytes", len(data)) in coded
    assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data


def test_the_sample_sizes_give_the_verdicts_the_full_sizes_give() -> None:
    """_coded_sizes codes the bytes only until records are clearly smaller (or, for the longer
    piece, smaller): every verdict taken from its sizes is the one the sizes coded in full give."""
    spec = replace(_levels.level_spec(6), wraps=False)
    prose = clocked_prose(40000)
    for data in (service_log(2000), prose, service_log(300) + prose[:8000]):
        pieces = _codec._probes(data)
        full_records = sum(len(_codec._records_body(p, spec, b"", None).data) for p in pieces)  # type: ignore[union-attr]
        full_bytes = sum(len(_codec._encode_body(p, spec, None, b"", False).data) for p in pieces)
        sizes = _codec._coded_sizes(pieces, spec)
        assert sizes is not None and sizes[0] == full_records
        assert sizes[1] == full_bytes or sizes[1] <= full_bytes and _codec._clearly_smaller(*sizes)
        assert _codec.settled(*sizes) == _codec.settled(full_records, full_bytes)
        assert _codec._clearly_smaller(*sizes) == _codec._clearly_smaller(full_records, full_bytes)
        assert (sizes[0] < sizes[1]) == (full_records < full_bytes)
        look = _codec._coded_sizes([data], spec, lambda records_size: records_size + 1)
        whole = len(_codec._encode_body(data, spec, None, b"", False).data)
        assert look is not None and (look[0] < look[1]) == (look[0] < whole)


def _judged(
    monkeypatch: pytest.MonkeyPatch, size: int, probe_ratio: float, look_ratio: float, level: int = 6
) -> tuple[int, list[tuple[str, int]]]:
    """The transform *level* chooses for a log chunk of about *size* bytes, with the sizes the two
    codings report faked: records are *probe_ratio* times the bytes on pieces of at most
    RECORDS_PROBE bytes, *look_ratio* times on longer ones. Returns the transform and what was
    coded, in order."""
    line = b"2024-05-01 12:00:00 INFO worker 17 done\n"
    data = line * (size // len(line))
    coded: list[tuple[str, int]] = []
    records_body, bytes_body = _codec._records_body, _codec._encode_body

    def faked(body: _codec.Body, chunk: bytes, pieces: float, longer: float) -> _codec.Body:
        scale = longer if len(chunk) > _codec.RECORDS_PROBE else pieces
        return body._replace(data=bytes(int(len(chunk) * scale) // 10))

    def as_records(chunk: bytes, *args: object) -> object:
        coded.append(("records", len(chunk)))
        head = records_body(chunk[:64], *args[:3])  # type: ignore[arg-type]  # spec, prime, book: not the chunk's code
        return faked(head, chunk, probe_ratio, look_ratio)  # type: ignore[arg-type]

    def as_bytes(chunk: bytes, *args: object) -> object:
        coded.append(("bytes", len(chunk)))
        return faked(bytes_body(chunk[:64], *args), chunk, 1.0, 1.0)  # type: ignore[arg-type]

    monkeypatch.setattr(_codec, "_records_body", as_records)
    monkeypatch.setattr(_codec, "_encode_body", as_bytes)
    monkeypatch.setattr(_codec, "_body_at_most", _bytes_in_full)
    monkeypatch.setattr(_codec, "SURE_NUM", 0)  # the faked sizes decide, not the record code's length (_sure)
    return _codec.encode_body(data, _levels.level_spec(level)).transform, coded


def _bytes_in_full(data: bytes, spec: object, book: object, prime: bytes, keep_book: bool, limit: int) -> object:
    """``_codec._body_at_most`` as a backend without an early stop gives it: the bytes coded in full
    by ``_codec._encode_body`` (which the tests above replace), and kept if no longer than *limit*."""
    body = _codec._encode_body(data, spec, book, prime, keep_book)  # type: ignore[arg-type]
    return body if len(body.data) <= limit else None


def test_a_close_call_on_the_pieces_is_decided_on_a_longer_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a chunk longer than two LOOKs, records that lose on the sample (the four pieces, joined
    and coded as one) by under 1/UNSURE, or win by under 1/UNSURE_WIN, are judged again on LOOK
    bytes from the chunk's middle, which decide; a clear loss on the sample is bytes at once, a
    clear win records."""
    size = 4 * _codec.LOOK
    transform, coded = _judged(monkeypatch, size, 1.05, 0.8)
    sample = [(kind, n) for kind, n in coded if n <= _codec.RECORDS_PROBE]
    longer = [(kind, n) for kind, n in coded if n > _codec.RECORDS_PROBE]
    assert transform == TRANSFORM_RECORDS and [kind for kind, _ in sample] == ["records", "bytes"]
    assert sample[0][1] == sample[1][1] > _codec.RECORDS_PROBE - _codec.PROBES * 200  # one piece of four
    assert [kind for kind, _ in longer] == ["records", "bytes", "records"]  # the look, then the chunk
    assert _codec.LOOK - 200 < longer[0][1] <= _codec.LOOK and longer[2][1] > size - 200
    monkeypatch.undo()
    transform, coded = _judged(monkeypatch, size, 1.05, 1.01)
    assert transform == TRANSFORM_LITERAL and [kind for kind, n in coded if n > _codec.LOOK] == ["bytes"]
    monkeypatch.undo()
    transform, coded = _judged(monkeypatch, size, 1 + 1.01 / _codec.UNSURE, 0.5)
    assert transform == TRANSFORM_LITERAL
    assert [kind for kind, n in coded if n > _codec.RECORDS_PROBE] == ["bytes"]  # no longer piece
    monkeypatch.undo()
    transform, coded = _judged(monkeypatch, size, 1 - 1.01 / _codec.UNSURE_WIN, 2.0)
    assert transform == TRANSFORM_RECORDS
    assert [kind for kind, n in coded if n > _codec.RECORDS_PROBE] == ["records"]
    monkeypatch.undo()  # records that win on the sample by under 1/UNSURE_WIN: a close call too
    transform, coded = _judged(monkeypatch, size, 1 - 0.9 / _codec.UNSURE_WIN, 1.05)
    assert transform == TRANSFORM_LITERAL
    assert [kind for kind, n in coded if n > _codec.RECORDS_PROBE] == ["records", "bytes", "bytes"]


def test_level_9_trusts_a_sample_only_where_records_win_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """In a chunk longer than two LOOKs, level 9 codes the pieces joined both ways first: records
    that win there by 1/UNSURE_WIN or more code the chunk alone; any other verdict (a close call, or
    bytes clearly smaller) codes the whole chunk both ways, without a longer piece, and keeps the
    smaller, even where records lose on the sample and win in full."""
    size = 4 * _codec.LOOK
    transform, coded = _judged(monkeypatch, size, 1 - 1.01 / _codec.UNSURE_WIN, 2.0, level=9)
    assert transform == TRANSFORM_RECORDS
    assert [kind for kind, n in coded if n <= _codec.RECORDS_PROBE] == ["records", "bytes"]
    assert [kind for kind, n in coded if n > _codec.RECORDS_PROBE] == ["records"]
    for sample, full in ((1 - 0.9 / _codec.UNSURE_WIN, 1.05), (1.2, 0.9), (1.05, 0.9)):
        monkeypatch.undo()
        transform, coded = _judged(monkeypatch, size, sample, full, level=9)
        assert transform == (TRANSFORM_RECORDS if full < 1 else TRANSFORM_LITERAL)
        longer = [(kind, n) for kind, n in coded if n > _codec.RECORDS_PROBE]
        assert sorted(kind for kind, _ in longer) == ["bytes", "records"] and all(n > size - 200 for _, n in longer)


def test_a_close_call_in_a_chunk_of_two_looks_codes_it_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk of at most two LOOKs is judged on the pieces coded apart; a close call codes it both
    ways in full."""
    transform, coded = _judged(monkeypatch, 2 * _codec.LOOK - 4096, 1.05, 0.9)
    assert transform == TRANSFORM_RECORDS
    assert len([n for _, n in coded if n <= _codec.RECORDS_PROBE // _codec.PROBES]) == 2 * _codec.PROBES
    assert sorted(kind for kind, n in coded if n > _codec.RECORDS_PROBE) == ["bytes", "records"]


def test_the_probes_are_whole_lines_spread_over_the_chunk() -> None:
    data = service_log(12000)
    probes = _codec._probes(data)
    assert len(probes) == _codec.PROBES and sum(map(len, probes)) <= _codec.RECORDS_PROBE
    starts = [data.find(p) for p in probes]
    assert starts[0] == 0 and all(data[s - 1 : s] == b"\n" for s in starts[1:])
    assert all(p.endswith(b"\n") for p in probes)
    assert starts[-1] >= len(data) * (_codec.PROBES - 1) // _codec.PROBES  # the last piece near the end


@pytest.mark.slow
def test_a_chunk_that_turns_into_logs_is_judged_on_all_of_it() -> None:
    """Prose with a field in every few words for the first quarter (bytes code it smaller), then
    a service log (records code it much smaller): records, though its first lines say bytes."""
    prose = (DICKENS * 4)[: _codec.RECORDS_PROBE + 4096].replace(b" ", b" 1 ")
    data = prose[: prose.rfind(b"\n") + 1] + service_log(9000)
    start = data[: _codec.RECORDS_PROBE]
    spec = _levels.level_spec(6)
    assert len(_codec._records_body(start, spec, b"", None).data) > len(
        _codec._encode_body(start, spec, None, b"", False).data
    )
    body = _codec.encode_body(data, spec)
    assert body.transform == TRANSFORM_RECORDS
    assert decode_chunk(body.transform, body.backend, body.data, len(data)) == data


@settings(max_examples=300, deadline=None)
@given(st.one_of(log_lines(), st.binary(max_size=600)))
def test_column_rule_matches_a_plain_reading_of_the_format(data: bytes) -> None:
    """The product's column loops write and read what one object per column does (a slower,
    plainer reading of FORMAT.md §7.6), for any lines and for damaged entries too."""
    code = _records.encode(data)
    assert code == records_reference.encode(data)
    _, templates, line_ids, start = _records.parse(code)
    columns = _records._Columns()
    template_columns = [columns.of(t) for t in templates]
    ends, spans = _records._column_spans(code, start, template_columns, line_ids, columns, len(data))
    runs = [_records._runs(code, start, ends, first, n) for first, n in spans]
    values = [[entry for run in column for entry in run.split(b"\n")] for column in runs]
    assert [_column_tokens(v, True) for v in values] == records_reference.decode_tokens(code)
    mangled = [[e[::-1] for e in v] for v in values]  # entries no encoder writes
    plain = [
        [records_reference.read(e, state) for e in v] for v, state in ((v, records_reference.Column()) for v in mangled)
    ]
    assert [_column_tokens(v) for v in mangled] == plain


def _column_tokens(entries: list[bytes], repeats: bool = False) -> list[bytes]:
    """A column's field values read back from its entries (with *repeats*, an empty one as the one
    before it), with clocks."""
    runs = iter([b"\n".join(entries)] if entries else [])
    return [token for run in _records._tokens(runs, True, repeats) for token in run]


# Tokens and entries for columns of runs: numbers of several shapes (long ones a small step apart,
# which make a column write differences), clocks, differences, escaped and damaged entries, text;
# a column loop handles each run of equal ones at once.
_RUN_PIECES = [
    b"0", b"1", b"5", b"12", b"007", b"00", b"01", b"-3", b"-0", b"1.50", b"0.0", b"12:00:01",
    b"12:00:01.5", b"23:59:59,123", b'"5', b'"-3', b'"', b"-", b"abc", b"999999999999999999",
    b"9999999999999999999", b"1000001", b"1000002", b"1000003", b"1000010", b"0001000", b"0001001",
    b"1000.25", b"1000.50",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(_RUN_PIECES), st.sampled_from([1, 1, 2, 3, 8])), min_size=1, max_size=40).map(
        lambda runs: [piece for piece, times in runs for piece in [piece] * times]
    ),
    st.integers(0, 40),
)
def test_columns_of_runs_of_equal_values_read_and_write_as_the_plain_reading_does(
    pieces: list[bytes], cut: int
) -> None:
    """A column of runs of equal values, given in two runs cut anywhere, is written as the plain
    reading writes it value by value, and read back as it reads it; as entries no encoder writes
    (the same values read as entries), it is read as when each entry comes in a run of its own,
    which no run of equal entries is, the same error included."""
    state = records_reference.Column()
    expected = [records_reference.write(token, state) for token in pieces]
    assert _records._column_code([pieces[:cut], pieces[cut:]], True).split(b"\n")[:-1] == expected
    state = records_reference.Column()
    assert _read_in_two(expected, cut) == [records_reference.read(entry, state) for entry in expected]
    try:
        alone = [token for run in _records._tokens(iter(pieces), True, False) for token in run]
    except _records.RecordsError as error:
        with pytest.raises(_records.RecordsError, match=re.escape(str(error))):
            _read_in_two(pieces, cut)
    else:
        assert _read_in_two(pieces, cut) == alone


def _read_in_two(entries: list[bytes], cut: int) -> list[bytes]:
    runs = [entries[:cut], entries[cut:]] if 0 < cut < len(entries) else [entries]
    return [token for run in _records._tokens(iter(b"\n".join(r) for r in runs), True, False) for token in run]


def test_differences_that_reach_past_plain_numbers_read_as_the_plain_reading_does() -> None:
    """Differences (in damaged or hostile code: no encoder writes them) whose sum leaves the plain
    numbers, below zero or at 10**18 and above, where a token is no longer one number: the loop
    spells them as the plain reading does, and so do the differences after them."""
    tokens = [b"%d" % (10**17 + 3 * i) for i in range(12)]
    written = _records._column_code([tokens], True).split(b"\n")[:-1]
    assert written[2:] == [b"3"] * 10  # the column writes differences from its third value
    for at, difference in ((4, b"900000000000000000"), (4, b"-200000000000000000"), (5, b"-100000000000000016")):
        entries = [*written[:at], difference, *written[at + 1 :]]
        state = records_reference.Column()
        assert _column_tokens(entries) == [records_reference.read(e, state) for e in entries]
    assert _column_tokens([*written[:4], b"900000000000000000"])[-1] == b"1000000000000000009"


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.binary(max_size=24), st.text("0123456789-", max_size=22).map(str.encode)))
def test_the_quick_difference_test_reads_as_the_pattern_does(entry: bytes) -> None:
    """An entry reads as a difference exactly when the format's pattern for one matches it."""
    assert _records._is_difference(entry) == bool(_records._DELTA.match(entry))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=40), st.integers(0, 40), st.integers(1, 20000))
def test_quick_template_ids_agree_with_the_careful_reader(ids: bytes, count: int, n_templates: int) -> None:
    """Whatever the id bytes, the quick reader returns what the varint reader reads, or leaves it
    to the careful loop (None) when they are not `count` short valid ids."""
    quick = _records._short_ids(ids, count, n_templates)
    careful: list[int] | None = []
    at = 0
    try:
        for _ in range(count):
            tid, at = _codec.read_varint(ids, at, 5, lambda _: ValueError())
            assert careful is not None
            careful.append(tid)
    except ValueError:
        careful = None
    if careful is None or at != len(ids) or any(t >= n_templates for t in careful):
        assert quick is None
    elif quick is not None:
        assert quick == careful
    else:  # refused only a varint longer than two bytes
        assert any(t >= 1 << 14 for t in careful)


def test_quoted_values_are_fields_and_keys_stay_in_the_template() -> None:
    """JSON-lines and access logs: a quoted string is one field whatever it holds (its quotes stay
    in the template), except a key, which a colon follows."""
    lines = [
        b'{"level":30,"time":%d,"msg":"request %s","url":"/doc/%s/copyright","tags":""}' % (1700 + i, w, w)
        for i, w in enumerate([b"done", b"failed", b"done", b"started"] * 5)
    ]
    lines += [b'127.0.0.1 - - "GET /a/b HTTP/1.1" 200 "Mozilla/5.0 (X11)"', b'odd "unpaired quote 12']
    data = b"\n".join(lines)
    assert _records.decode(_records.encode(data), len(data)) == data
    templates = _records.describe(_records.encode(data), len(data))[0]
    shown = [t for t, _ in templates]
    assert b'{"level":<*>,"time":<*>,"msg":"<*>","url":"<*>","tags":""}' in shown
    assert b'<*> - - "<*>" <*> "<*>"' in shown
    assert len(templates) == 3


# Pieces of lines for the block cutter: clocks whole, run into digits, colons and fractions, and
# every kind of byte it classes (delimiters, quotes, bytes it may take as its marker).
CUT_PIECES = [
    *(clock.encode() for clock in ODD_CLOCKS),
    *(word.encode() for word in WORDS),
    *[b"12:00:00.123456789", b"00:00:00:00", b"12:34:56", b"123456789", b"1234567890", b"ab12"],
    *[b".", b",", b":", b"9", b"59", b"60"],
    *[b" ", b"\n", b"\n", b"x=", b"_", b"-", b"\x00", b"\x01", b"\x02", b"\xff"],
    *[b'"', b'"', b'":', b'" :', b'"\t:', b'" x:', b'""', b"{", b"}"],  # strings, keys, quotes alone
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(CUT_PIECES), max_size=60), st.booleans())
def test_a_block_is_cut_as_its_lines_are_one_by_one(pieces: list[bytes], every_byte: bool) -> None:
    """The block cutter (numpy, the clock pattern tried only where a clock can start, quotes paired
    in each piece between clocks) gives each line the pieces the per-line regular expressions give,
    whatever the block holds; a block that holds every byte value has no marker and is cut a line
    at a time."""
    block = b"".join(pieces) + (bytes(range(256)) if every_byte else b"")
    assert _records._cut_lines(block) == [_records._cut(line) for line in block.split(b"\n")]


JSON_LINES = b"".join(
    b'{"level": "info", "time": "2024-05-01T10:%02d:%02d.%03dZ", "msg": "GET /doc/%d", "ms": %d, "tags": ""}\n'
    % (i // 60 % 60, i % 60, i * 7 % 1000, i % 97, i * 13 % 500)
    for i in range(3000)
)


@pytest.mark.parametrize("data", [LOGS, DICKENS, SERVICE_LOG, JSON_LINES], ids=["loghub", "dickens", "service", "json"])
def test_blocks_of_real_lines_are_cut_as_their_lines_are(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    """On logs, JSON lines and prose, every block is cut as its lines are one by one, by the block
    cutter itself, not line by line."""
    expected = [[_records._cut(line) for line in block.split(b"\n")] for block in _records._line_blocks(data)]
    calls = []
    cut = _records._cut
    monkeypatch.setattr(_records, "_cut", lambda line: calls.append(line) or cut(line))
    assert [_records._cut_lines(block) for block in _records._line_blocks(data)] == expected
    assert not calls


def test_a_block_past_the_bound_is_cut_a_line_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block longer than CUT_BLOCK (a very long line) is cut by the per-line expressions, whose
    memory does not grow with numpy arrays over the whole block."""
    block = LOGS[: LOGS.index(b"\n", 5000)]
    calls = []
    cut = _records._cut
    monkeypatch.setattr(_records, "_cut", lambda line: calls.append(line) or cut(line))
    monkeypatch.setattr(_records, "CUT_BLOCK", len(block) - 1)
    assert _records._cut_lines(block) == [cut(line) for line in block.split(b"\n")]
    assert calls == block.split(b"\n")
