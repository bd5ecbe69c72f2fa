"""Glyph code version 2: Σ-bank line references and TEMPORAL glyphs are lossless, and damage is a clean error."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import semantic
from sigmalang.semantic.lines import _SCAN, BANK_LINES, MIN_LINE, Clock, LineBank, _digits, parse, render, scan
from sigmalang.semantic.transform import (
    CODED_LINE,
    FLAG_BANK,
    FLAG_TEMPORAL,
    RAW_LINE,
    SEGMENT,
    VERSION,
    VERSION_2,
    read_header,
)

FIXTURES = Path(__file__).parent / "fixtures"
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()

# strftime-like layouts of the forms the TEMPORAL stage knows, and some it must leave alone
LAYOUTS = [
    "%Y-%m-%dT%H:%M:%S.{ms}Z",
    "%Y-%m-%d %H:%M:%S,{ms}",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d-%H:%M:%S:{ms}",
    "%y/%m/%d %H:%M:%S",
    "%m-%d %H:%M:%S.{ms}",
    "%m.%d %H:%M:%S",
    "%b %d %H:%M:%S",
    "%b {sd} %H:%M:%S",
    "%a %b %d %H:%M:%S %Y",
    "%a %b {sd} %H:%M:%S.{us} %Y",
    "%d/%b/%Y:%H:%M:%S",  # Apache access log: not a known form, stays literal
    "%H:%M:%S",
]


def stamp(layout: str, when: datetime) -> bytes:
    text = layout.replace("{ms}", f"{when.microsecond // 1000:03d}").replace("{us}", f"{when.microsecond:06d}")
    return when.strftime(text.replace("{sd}", f"{when.day:2d}")).encode()


def roundtrip(data: bytes, **options: bool) -> bytes:
    code = semantic.encode(data, **options)
    assert semantic.decode(code) == data
    assert semantic.decode(code, len(data)) == data
    for segment in (1, 7, 64):
        assert semantic.decode(code, len(data), segment=segment) == data
    return code


def log_lines(seed: int, layout: str, count: int, start: datetime, step_ms: int) -> bytes:
    rng = random.Random(seed)
    when, lines = start, []
    for i in range(count):
        when += timedelta(milliseconds=rng.randint(-step_ms // 10, step_ms))
        lines.append(b"%s INFO [worker-%d] request %d served in %dms\n" % (stamp(layout, when), i % 4, i, i % 97))
    return b"".join(lines)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_timestamp_forms_roundtrip_across_boundaries(layout: str) -> None:
    # steps of up to a day cross days, months, years and the leap day of 2024
    data = log_lines(1, layout, 400, datetime(2023, 12, 30, 23, 59, 58, 999000), 86_400_000)
    code = roundtrip(data)
    known = layout not in ("%d/%b/%Y:%H:%M:%S", "%H:%M:%S")  # yearless forms too: a new year is a step back
    assert bool(read_header(code, versions=True)[1] & FLAG_TEMPORAL) == known


@pytest.mark.parametrize("layout", LAYOUTS)
def test_yearless_forms_code_within_their_year(layout: str) -> None:
    data = log_lines(2, layout, 300, datetime(2024, 2, 27, 22, 0, 0), 600_000)  # over Feb 29
    code = roundtrip(data)
    if layout not in ("%d/%b/%Y:%H:%M:%S", "%H:%M:%S"):
        assert read_header(code, versions=True)[1] & FLAG_TEMPORAL


def test_timestamps_become_temporal_glyphs_and_shrink_the_code() -> None:
    data = log_lines(3, "%Y-%m-%d %H:%M:%S,{ms}", 500, datetime(2015, 10, 18, 18, 1, 47), 2000)
    v2 = roundtrip(data)
    v1 = roundtrip(data, temporal=False)
    assert v2[0] == VERSION_2 and v1[0] == VERSION
    assert v2.count(b"\xfb") >= 499 and len(v2) < len(v1)


@pytest.mark.parametrize(
    "bad",
    [
        b"2023-02-30 10:00:00",  # no such day
        b"2023-13-01 10:00:00",  # no such month
        b"2023-02-28 24:00:00",  # no such hour
        b"2023-02-28 23:60:00",
        b"2016-12-31 23:59:60",  # a leap second: not representable, stays literal
        b"Feb 30 10:00:00",
        b"Sun Dec 05 04:47:44 2005",  # wrong weekday (Dec 5 2005 was a Monday)
        b"Mon Dec 05 04:47:44",  # a weekday without a year
        b"0999-01-01 00:00:00",
        b"12015-10-18 18:01:47",  # glued to a digit before
        b"2015-10-18 18:01:47.1234567890",  # a fraction longer than 9 digits
    ],
)
def test_invalid_or_unusual_timestamps_stay_literal(bad: bytes) -> None:
    lines = b"".join(b"%s x %d\n" % (bad, i) for i in range(3))
    good = b"".join(b"2015-10-18 18:01:%02d x\n" % i for i in range(40))
    code = roundtrip(good + lines + good.replace(b"2015", b"2016"))
    assert bad.split(b" ")[0] in semantic.decode(code)
    clock = Clock()
    coded, _ = clock.encode(bad * 2 + b"\n" + bad + b"\n")
    if bad.startswith((b"2023", b"Feb", b"Sun", b"Mon", b"0999", b"2016")):
        assert b"\xfb" not in coded


@pytest.mark.parametrize(
    "text",
    [
        b"2015-10-18 18:01:47 2015-10-18 18:01:47Jun 14 15:16:01\n\n7"
        b"2015-10-18 18:01:48:Jun 14 15:16:012015-10-18 18:01:48",
        b"Jun 14 15:16:01 Jun 14 15:16:02Jun 14 15:16:01:Jun 14 15:16:02Jun 14 15:16:02",
        b"2015-10-18T18:01:47.978Z 2015-10-18T18:01:48.001Z2015-10-18T18:01:49.000ZZ",
    ],
)
def test_glued_timestamps_roundtrip(text: bytes) -> None:
    roundtrip(text * 3)


def test_encoder_drops_temporal_glyphs_that_would_not_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    data = log_lines(5, "%Y-%m-%d %H:%M:%S,{ms}", 100, datetime(2020, 1, 1), 1000)
    assert read_header(semantic.encode(data), versions=True)[1] & FLAG_TEMPORAL
    monkeypatch.setattr(Clock, "decode", lambda self, text, limit: text + b"!")  # as if a match went astray
    code = semantic.encode(data)
    assert code[0] == VERSION and b"\xfb" not in code
    monkeypatch.undo()
    assert semantic.decode(code) == data


def test_render_rebuilds_every_field() -> None:
    clock = Clock()
    text = b"Sun Dec  4 04:47:44 2005 a\nSun Dec  4 04:47:45 2005 b\nMon Dec  5 00:00:00 2005 c\n"
    coded, used = clock.encode(text)
    assert used and coded.count(b"\xfb") == 2
    assert Clock().decode(coded, len(text)) == text
    form = next(iter(clock.forms))
    assert render(form, clock.last[0]) == b"Mon Dec  5 00:00:00 2005"


def test_repeated_lines_become_bank_references() -> None:
    lines = [b"line %d of the text, long enough to be worth a reference\n" % (i % 50) for i in range(400)]
    data = b"".join(lines)
    code = roundtrip(data)
    version, flags, _, _ = read_header(code, versions=True)
    assert version == VERSION_2 and flags & FLAG_BANK
    assert code.count(bytes([RAW_LINE])) >= 300
    assert roundtrip(data, bank=False).count(bytes([RAW_LINE])) == 0


def test_bank_reaches_exactly_its_window() -> None:
    line = b"x" * MIN_LINE
    filler = [b"filler line number %04d here\n" % i for i in range(BANK_LINES + 1)]
    for gap in (BANK_LINES - 1, BANK_LINES):  # the line BANK_LINES back is reachable, one more is not
        data = line + b"\n" + b"".join(filler[:gap]) + line + b"\n"
        bank = LineBank(RAW_LINE)
        coded, used = bank.encode(data)
        assert used == (gap < BANK_LINES)
        assert LineBank(RAW_LINE).decode(coded, len(data)) == data
    assert not LineBank(RAW_LINE).encode(b"short\nshort\n")[1]  # shorter than MIN_LINE


def test_coded_bank_roundtrips() -> None:
    data = b"".join(b"id %03d: the same message again and again\n" % (i // 3) for i in range(300))
    code = roundtrip(data, coded_bank=True)
    assert bytes([CODED_LINE]) in code


def _mutate(data: bytes, kind: str, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = data.splitlines(keepends=True)
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "tabs":
        return data.replace(b" ", b"\t", seed % 40)
    if kind == "trailing":
        return data.replace(b"\n", b"  \n")
    if kind == "glued":
        return data.replace(b" ", b"7", seed % 30).replace(b":", b"a", seed % 7)
    if kind == "invalid-utf8":
        return data.replace(b"e", b"\xc3", seed % 5).replace(b"o", b"\xff\xfb\xf9", seed % 3)
    if kind == "repeated":
        return b"".join(line * rng.randint(1, 3) for line in lines)
    if kind == "near-repeated":
        out = []
        for line in lines:
            out.append(line)
            if rng.random() < 0.3:
                i = rng.randrange(len(line))
                out.append(line[:i] + b"Z" + line[i + 1 :])
        return b"".join(out)
    if kind == "shuffled":
        rng.shuffle(lines)
        return b"".join(lines)
    if kind == "markers":
        return b"".join(
            line + bytes([rng.choice([0xF9, 0xFA, 0xFB, 0xFC, 0xFF])]) * (i % 3 == 0) for i, line in enumerate(lines)
        )
    raise AssertionError(kind)


KINDS = ["crlf", "tabs", "trailing", "glued", "invalid-utf8", "repeated", "near-repeated", "shuffled", "markers"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 10**6), st.integers(0, len(LOGS) - 4000))
def test_mutated_logs_roundtrip(kind: str, seed: int, start: int) -> None:
    roundtrip(_mutate(LOGS[start : start + 4000], kind, seed), coded_bank=seed % 2 == 0)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(KINDS), st.integers(0, 10**6), st.integers(0, len(DICKENS) - 4000))
def test_mutated_prose_roundtrips(kind: str, seed: int, start: int) -> None:
    roundtrip(_mutate(DICKENS[start : start + 4000], kind, seed))


TOKENS = st.sampled_from(
    [
        b"2015-10-18 18:01:47,978",
        b"2015-10-18T18:01:48.001Z",
        b"Jun 14 15:16:01",
        b"Jun  4 15:16:01",
        b"[Sun Dec 04 04:47:44 2005]",
        b"03-17 16:13:38.811",
        b"20171223-22:15:29:606",
        b"2023-02-30 10:00:00",
        b"2024-02-29 23:59:59",
        b"1999-12-31 23:59:59.999",
        b"\xf9\x80",
        b"\xfa\x81",
        b"\xfb\x80\xc2",
        b"\xff",
        b"\xfc1",
        b" ",
        b"\n",
        b"\r\n",
        b"17",
        b"the same line again, long enough\n",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TOKENS, max_size=60), st.booleans())
def test_timestamp_and_marker_soup_roundtrips(parts: list[bytes], coded_bank: bool) -> None:
    data = b"".join(parts)
    roundtrip(data * 2, coded_bank=coded_bank)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKENS | st.sampled_from([b":", b"1", b"12:", b"Jan ", b"Mon ", b"-", b"\xfb"]), max_size=40))
def test_scan_finds_exactly_what_the_full_regex_finds(parts: list[bytes]) -> None:
    """scan() tries the timestamp regex only where a match can start; it must give finditer's
    matches, in order, with the same groups (old streams decode only if it does)."""
    text = b"".join(parts)
    for data in (text, text * 2, b"x" + text, text.replace(b"\xfb", b"")):
        expected = [(m.span(), m.groupdict()) for m in _SCAN.finditer(data)]
        assert [(m.span(), m.groupdict()) for m in scan(data)] == expected


def test_scan_matches_the_full_regex_on_real_logs() -> None:
    sample = (Path(__file__).parent.parent / "samples" / "loghub-sample.log").read_bytes()
    for data, stamps in ((LOGS, True), (sample, True), (DICKENS, False)):
        expected = [(m.span(), m.groupdict()) for m in _SCAN.finditer(data)]
        assert bool(expected) == stamps
        assert [(m.span(), m.groupdict()) for m in scan(data)] == expected


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([1, 5, 100, SEGMENT]))
def test_random_bytes_roundtrip_with_small_segments(data: bytes, segment: int) -> None:
    code = semantic.encode(data + data, segment=segment, coded_bank=True)
    assert semantic.decode(code, 2 * len(data), segment=segment) == data + data


# --------------------------------------------------------------------------- damage


def _v2_codes() -> list[bytes]:
    codes = [
        semantic.encode(LOGS[:6000], coded_bank=True),
        semantic.encode(log_lines(4, "%b {sd} %H:%M:%S", 200, datetime(2020, 1, 1), 5000)),
        semantic.encode(b"".join(b"repeated line number %d, long\n" % (i % 5) for i in range(100))),
    ]
    assert all(code[0] == VERSION_2 for code in codes)
    return codes


V2_CODES = _v2_codes()


def decode_or_error(code: bytes, size: int) -> None:
    """Decoding a damaged code gives at most *size* bytes or raises SemanticDecodeError, nothing else."""
    try:
        out = semantic.decode(code, size)
    except semantic.SemanticDecodeError:
        return
    assert len(out) <= size


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(V2_CODES))), st.integers(0, 10**9), st.binary(min_size=1, max_size=4), st.booleans())
def test_damaged_v2_codes_raise_decode_error(which: int, at: int, junk: bytes, insert: bool) -> None:
    code = V2_CODES[which]
    size = len(semantic.decode(code))
    at = 4 + at % (len(code) - 4)
    damaged = code[:at] + junk + code[at + (0 if insert else len(junk)) :]
    decode_or_error(damaged, size)
    decode_or_error(code[:at], size)


@pytest.mark.parametrize(
    "code",
    [
        b"\x02\x10\x60\x00",  # flag 0x10 is not version 2's
        b"\x02\x00\x7a\x00",  # 122 one-byte codes: version 2 has 121 lead bytes
        b"\x02\x04\x60\x00\xf9\x80\n",  # a line reference before any line
        b"\x02\x04\x60\x00" + b"short line\n\xf9\x80\n",  # to a line too short to be referenced
        b"\x02\x04\x60\x00\xf9A\n",  # damaged line reference
        b"\x02\x04\x60\x00" + b"a long enough line of text\nxx\xf9\x80\n",  # not a whole line
        b"\x02\x08\x60\x00\xfb\x80\xc0\n",  # a TEMPORAL glyph before any timestamp
        b"\x02\x08\x60\x00" + b"2015-10-18 18:01:47 a\n\xfb\x81\xc0\n",  # form 1 not seen
        b"\x02\x08\x60\x00" + b"2015-10-18 18:01:47 a\n\xfb\x80\n",  # no delta digits
        b"\x02\x08\x60\x00" + b"2015-10-18 18:01:47 a\n\xfb\x80" + b"\xbf" * 11 + b"\xdf\n",  # too many digits
        b"\x02\x08\x60\x00" + b"2015-10-18 18:01:47 a\n\xfb\x80" + _digits(10**13) + b"\n",  # past year 9999
        b"\x02\x08\x60\x00" + b"Jan 01 00:00:00 a\n\xfb\x80\xc1\n",  # yearless, back into 1999
        b"\x02\x08\x60\x00"
        + b"17/06/09 20:10:40 a\n\xfb\x80"
        + _digits(100 * 366 * 86400)
        + b"\n",  # 2-digit year past 2099
        b"\x02\x00\x60\x00\xfb\n",  # a stray marker
        b"\x01\x00\x60\x00\xf9\x80\n",  # version 1 has no line references
    ],
)
def test_bad_v2_codes_raise_decode_error(code: bytes) -> None:
    for segment in (1, 3, SEGMENT):
        with pytest.raises(semantic.SemanticDecodeError):
            semantic.decode(code, segment=segment)
        with pytest.raises(semantic.SemanticDecodeError):
            semantic.decode(code, 100, segment=segment)


def test_line_references_cannot_blow_up_the_output() -> None:
    line = b"y" * 5000
    bomb = b"\x02\x04\x60\x00" + line + b"\n" + b"\xf9\x80\n" * 1000  # 2 bytes each for 5001
    with pytest.raises(semantic.SemanticDecodeError, match="past"):
        semantic.decode(bomb, 20_000)
    assert len(semantic.decode(bomb)) == 5001 * 1001


@pytest.mark.slow  # a 1.3 MB chunk
def test_line_stages_are_decided_on_a_sample_of_a_large_chunk() -> None:
    """Above 1 MiB the stages are first tried on a sample spread over the chunk: prose (where
    they replace nothing) skips them, and the code is what encoding without them gives."""
    from sigmalang.semantic.transform import PROBE, _sample

    fixtures = Path(__file__).parent / "fixtures"
    prose = (fixtures / "dickens-64k.txt").read_bytes() * 20
    assert len(prose) > 4 * PROBE
    sample = _sample(prose)
    assert len(sample) <= PROBE and sample.endswith(b"\n") and sample[:100] == prose[:100]
    code = semantic.encode(prose)
    assert code == semantic.encode(prose, bank=False, temporal=False)
    assert semantic.decode(code, len(prose)) == prose


FORMAT_DOC = Path(__file__).resolve().parent.parent / "docs" / "FORMAT.md"


def _doc_table(marker: str) -> list[list[str]]:
    """The rows of the table after ``<!-- marker -->`` in docs/FORMAT.md, as cell texts with the
    code spans' backticks removed (an empty cell stays empty)."""
    text = FORMAT_DOC.read_text(encoding="utf-8")
    lines = text[text.index(f"<!-- {marker} -->") :].splitlines()[1:]
    rows = []
    for line in lines[2:]:  # after the header and the rule
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip()[1:-1].split("|")]  # no cell holds a bar
        rows.append([c[1:-1] if c.startswith("`") and c.endswith("`") else c for c in cells])
    return rows


TIMESTAMP_EXAMPLES = _doc_table("timestamp-examples")
TIMESTAMP_FORMS = _doc_table("timestamp-forms")


def _valid_matches(text: bytes) -> list[bytes]:
    return [m.group() for m in scan(text) if m.group("glyph") is None and parse(m) is not None]


@pytest.mark.parametrize("row", TIMESTAMP_EXAMPLES, ids=lambda row: row[0])
def test_matcher_follows_the_format_table(row: list[str]) -> None:
    """docs/FORMAT.md §7.4 "Timestamps": the encoder's matcher finds exactly the valid matches the
    table lists for each text, alone and between other words."""
    text, matches = row[0].encode(), [row[1].encode()] if row[1] else []
    assert _valid_matches(text) == matches
    assert _valid_matches(b"at " + text + b" ok\n") == matches


@pytest.mark.parametrize("row", TIMESTAMP_FORMS, ids=lambda row: f"{row[0]}|{row[1]}")
def test_form_identity_follows_the_format_table(row: list[str]) -> None:
    first, second = (next(iter(scan(cell.encode()))) for cell in row[:2])
    parsed = parse(first), parse(second)
    assert parsed[0] is not None and parsed[1] is not None
    assert (parsed[0][0] == parsed[1][0]) == (row[2] == "yes")


def test_the_format_tables_are_there() -> None:
    assert len(TIMESTAMP_EXAMPLES) >= 20 and len(TIMESTAMP_FORMS) >= 5
    assert {row[2] for row in TIMESTAMP_FORMS} == {"yes", "no"}


def test_temporal_state_is_not_carried_between_frames() -> None:
    """§7.4 "State": each glyph code starts with no form, also in a shared-context stream. Frame 1
    continues frame 0 (transform 3, L = 0, a stored glyph code as the rest) and its first timestamp
    is a TEMPORAL glyph of form 0, which only frame 0 defined: that is a damaged frame."""
    import sigmalang
    from sigmalang._backend_base import STORE
    from sigmalang._container import StreamAssembler
    from sigmalang._longrange import encode_list
    from sigmalang._stream_records import StreamHeader
    from sigmalang._wire import encode_varint

    stamp = b"2015-10-18 18:01:47,978 INFO a line long enough to be seen as a line\n"
    first = stamp + stamp.replace(b"47,978", b"48,978")
    code0 = semantic.encode(first)
    assert code0[1] & 0x08  # frame 0 uses a TEMPORAL glyph for its second timestamp
    header = bytes([2, 0x08, 0, 0])  # version 2, TEMPORAL only, no codebook
    rest = b"\xfb\x80\xc2" + stamp[23:]  # form 0, delta +1 (zigzag 2)
    rest_text = stamp.replace(b"47,978", b"49,978")  # what the rest would be, were form 0 known
    chunk1 = rest_text + first  # then a copy of all of frame 0
    r = encode_list([(len(rest_text), len(rest_text) + len(first), len(first))])
    data1 = encode_varint(0) + r + encode_varint(len(header + rest)) + header + rest
    assembler = StreamAssembler(StreamHeader(chunk_size=4096, level=0, shared_context=True))
    blob = assembler.start()
    blob += assembler.frame(first, 1, STORE, encode_varint(len(code0)) + code0)
    blob += assembler.frame(chunk1, 3, STORE, data1, True)
    blob += assembler.finish()
    with pytest.raises(sigmalang.SigmaFormatError, match="form 0") as info:
        sigmalang.decompress(blob)
    assert info.value.frame == 1
    # The same rest with the form defined in the frame itself decodes.
    assert semantic.decode(code0) == first
