"""Transform 5 (wrapped lines): any bytes round-trip through the wrap code, the CM levels choose it
for hard-wrapped text, and a damaged wrap code is an error, never a crash."""

from __future__ import annotations

import io
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
import wraps_reference
from conftest import service_log
from sigmalang import _cm, _codec, _wraps
from sigmalang._codec import ChunkDecodeError, decode_chunk, encode_chunk
from sigmalang._levels import LEVELS, TRANSFORM_WRAPS
from sigmalang._wire import encode_varint, read_varint
from sigmalang.inspect import format_report, inspect_stream

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()  # CR LF line ends after a space
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
VOCABULARY = [
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "was",
    "he",
    "it",
    "that",
    "his",
    "her",
    "said",
    "with",
    "had",
    "as",
    "for",
    "not",
    "but",
    "on",
    "at",
    "you",
    "I",
    "Mr.",
    "Pickwick,",
    "old",
    "gentleman;",
    "window",
    "(quite)",
    "evening.",
    "morning:",
    "returned--",
    "door?",
    "replied!",
]


def prose(paragraphs: int, width: int, seed: int = 1) -> bytes:
    """Paragraphs of made-up prose filled to *width* by textwrap (line ends without a space before
    them), blank lines between them."""
    state = seed
    out = []
    for _ in range(paragraphs):
        words = []
        for _ in range(40 + state % 90):
            state = (state * 1103515245 + 12345) % 2**31
            words.append(VOCABULARY[(state >> 8) % len(VOCABULARY)])
        out.append(textwrap.fill(" ".join(words), width))
    return ("\n\n".join(out) + "\n").encode()


FILLED = prose(60, 72)


def test_the_examples_of_the_format_decode() -> None:
    """FORMAT.md §7.7's worked example: "aa bb cc dd" at width 5, line ends replacing spaces."""
    head = b"\x01\x00\x05\x0b" + b"aa bb cc dd"
    assert _wraps.decode(head + b"\x00\x00", 11) == b"aa bb\ncc dd"
    assert _wraps.decode(head + b"\x02\x00", 11) == b"aa\nbb cc\ndd"  # one option before the greedy one
    assert _wraps.decode(head + b"\x01", 11) == b"aa bb cc\ndd"  # one after it
    assert _wraps.decode(head + b"\x03", 11) == b"aa bb cc dd"  # two after it: the line's end
    kept = b"\x01\x03\x06\x0b" + b"aa bb cc dd" + b"\x00\x00"  # CR LF after the space, which stays
    assert _wraps.decode(kept, 13) == b"aa bb \r\ncc dd"
    for code, size in ((head + b"\x00\x00", 11), (head + b"\x02\x00", 11), (head + b"\x01", 11), (kept, 13)):
        assert wraps_reference.decode(code, size) == _wraps.decode(code, size)


def test_the_version_2_example_of_the_format_decodes() -> None:
    """FORMAT.md §7.7's second example: in version 2, a line that ends in spaces after a full stop
    is measured to the full stop; version 1 measures it to the candidate."""
    trimmed = b"\x02\x01\x02\x05\x00\x09" + b"a aa.  bb" + b"\x00"
    assert _wraps.decode(trimmed, 10) == wraps_reference.decode(trimmed, 10) == b"a aa.  \nbb"
    whole = b"\x01\x02\x05\x09" + b"a aa.  bb" + b"\x00\x01"  # greedy: 2, then 7 (the next line: its end)
    assert _wraps.decode(whole, 10) == wraps_reference.decode(whole, 10) == b"a \naa.  bb"
    plain = b"\x02\x01\x00\x00\x00\x05" + b"a b\nc"  # one segment left as it is: no numbers
    assert _wraps.decode(plain, 5) == wraps_reference.decode(plain, 5) == b"a b\nc"
    indented = b"\x02\x01\x00\x06\x02\x0b" + b"aa bb cc dd" + b"\x00\x00"  # d = 2: each line end has 2 spaces
    assert _wraps.decode(indented, 15) == wraps_reference.decode(indented, 15) == b"aa bb\n  cc\n  dd"


@pytest.mark.parametrize(
    ("data", "keep_space", "crlf"),
    [(DICKENS, True, True), (FILLED, False, False), (FILLED.replace(b"\n", b"\r\n"), False, True)],
    ids=["dickens-crlf-space", "filled-lf", "filled-crlf"],
)
def test_wrapped_text_is_coded_and_round_trips(data: bytes, keep_space: bool, crlf: bool) -> None:
    code = _wraps.encode(data)
    assert code is not None
    segments, text, at = _wraps.parse(code, len(data))
    flags = max((length, flags) for flags, width, _, length in segments if width)[1]  # the longest's
    assert bool(flags & _wraps.FLAG_KEEP_SPACE) == keep_space and bool(flags & _wraps.FLAG_CRLF) == crlf
    assert len(text) < len(data) or not crlf and not keep_space
    numbers = code[at:]
    assert numbers.count(0) > 0.8 * len(numbers)  # greedy filling puts almost every line end where it was
    assert _wraps.decode(code, len(data)) == data
    assert wraps_reference.decode(code, len(data)) == data


def test_the_width_found_is_the_filling_width() -> None:
    for width in (40, 66, 79, 100):
        code = _wraps.encode(prose(40, width, seed=width))
        assert code is not None and [w for _, w, _, _ in _wraps.parse(code, 1 << 30)[0]] == [width]


def test_each_section_has_its_own_line_ends_and_width() -> None:
    """Books of several shapes in one chunk (line ends after a space at width 66 in CR LF, between
    words at width 40 in LF) and a table between them: each part is its own segment, the table
    left as it is, and sections of one shape in a row make one segment."""
    spaced = prose(120, 66, seed=3).replace(b"\n", b" \r\n").replace(b" \r\n \r\n", b"\r\n\r\n")
    table = b"".join(b"%d,%d,%d\n" % (k, k * k, k * 7 % 13) for k in range(3000))
    narrow = prose(150, 40, seed=4)
    data = spaced + b"\n" + table + b"\n" + narrow
    code = _wraps.encode(data)
    assert code is not None
    segments = _wraps.parse(code, len(data))[0]
    shapes = [(flags, width) for flags, width, _, _ in segments]
    assert shapes[0] == (_wraps.FLAG_CRLF | _wraps.FLAG_KEEP_SPACE, 66) and shapes[-1] == (0, 40)
    assert (0, 0) in shapes and len(shapes) == len(set(shapes))  # no shape twice: runs are merged
    assert len(spaced) > 2 * _wraps.SECTION and len(narrow) > 2 * _wraps.SECTION  # several sections each
    assert _wraps.decode(code, len(data)) == data


@pytest.mark.parametrize("indent", [1, 3, 8])
def test_indented_paragraphs_take_their_indent_out_with_the_line_end(indent: int) -> None:
    """Paragraphs indented as a whole (licence texts in copyright files, plain-text standards):
    the line ends go with the spaces after them, the text reads as running text, and the lines
    after a line end put back are measured with their indent."""
    pad = b" " * indent
    data = b"\n".join(pad + line if line else line for line in prose(40, 72 - indent, seed=indent).split(b"\n"))
    code = _wraps.encode(data)
    assert code is not None
    segments, text, at = _wraps.parse(code, len(data))
    assert [(flags, indent_of) for flags, width, indent_of, _ in segments] == [(0, indent)]
    assert text.count(b"\n") == data.count(b"\n\n") * 2 + 1  # the blank lines and the last line end
    assert not any(code[at:])  # every line ends where greedy filling ends it
    assert _wraps.decode(code, len(data)) == wraps_reference.decode(code, len(data)) == data


def test_a_line_that_ends_early_keeps_its_line_end() -> None:
    """A short line inside a paragraph (a line cut by hand, two words short) keeps its line end in
    the text, so that it needs no number: greedy filling ends it there too. A line one word short
    is written with a number instead."""
    lines = prose(40, 60, seed=5).split(b"\n")
    cut = [k for k, line in enumerate(lines) if len(line) > 40 and k + 1 < len(lines) and lines[k + 1]][::7]
    for n, k in enumerate(cut):  # the line's last words move to the next line: the line now ends early
        words = lines[k].split(b" ")
        short = 2 if n % 2 else 1
        lines[k], lines[k + 1] = b" ".join(words[:-short]), b" ".join(words[-short:] + [lines[k + 1]])
    data = b"\n".join(lines)
    code = _wraps.encode(data)
    assert code is not None
    segments, text, at = _wraps.parse(code, len(data))
    assert all((lines[k] + b"\n" in text) == (n % 2 == 1) for n, k in enumerate(cut))
    assert code[at:].count(b"\x00") < len(code) - at  # the lines one word short: numbers
    assert _wraps.decode(code, len(data)) == data


@pytest.mark.parametrize(
    "data", [LOGS, b"", b"one line\n" * 200, b"a,b,c\n" * 200, bytes(range(256)) * 40, prose(2, 70)]
)
def test_text_that_is_not_wrapped_is_left_alone(data: bytes) -> None:
    """Logs, lines of one or two words, a table, binary data and a text of too few lines get no
    wrap code."""
    assert _wraps.encode(data) is None


def test_a_table_whose_fields_are_tab_separated_is_not_prose() -> None:
    """Lines of a TSV table whose last field is text fit greedy filling as well as the text does;
    a section where more than half of the lines hold a tab after a byte of text is left as it is.
    The same lines with spaces for tabs still get a wrap code, as do lines of which half hold a
    tab; a tab that indents a line is not counted."""
    lines = prose(60, 70).split(b"\n")
    table = b"\n".join(b"pkg%d\t1.%d\t%s" % (i, i, line) for i, line in enumerate(lines))
    assert _wraps.encode(table) is None
    assert _wraps.encode(table.replace(b"\t", b" ")) is not None
    indented = b"\n".join((b"\t" if i % 3 == 0 else b"") + line for i, line in enumerate(lines))
    a = np.frombuffer(indented, dtype=np.uint8)
    assert _wraps._tabbed_lines(a, np.flatnonzero(a == 10)) == 0  # a tab that indents is not a field's
    half = b"\n".join(b"pkg\t" + line if i % 2 else line for i, line in enumerate(lines))
    assert _wraps.encode(half) is not None  # half of the lines: still prose


def test_logs_that_fit_greedy_filling_are_judged_by_the_model() -> None:
    """A log whose lines are about as long as each other and begin with a word has a wrap code;
    coded as one running text it loses its line structure, and the codec's trial on a sample of
    it says so. With their times in front, the lines do not even get a wrap code."""
    assert _wraps.encode(service_log(3000)) is None
    log = b"\n".join(line.split(b" ", 2)[-1] for line in service_log(3000).split(b"\n"))  # "INFO [worker-2] ..."
    code = _wraps.encode(log)
    assert code is not None
    assert not _codec._wraps_win(log, code, LEVELS[6])
    wrapped = _wraps.encode(DICKENS)
    assert wrapped is not None and _codec._wraps_win(DICKENS, wrapped, LEVELS[6])
    assert encode_chunk(log, 6, form="text").transform != TRANSFORM_WRAPS


def model_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list to which each run of the CM model, from then on, adds the length of what it codes."""
    runs: list[int] = []
    real = _codec.CmBackend.encode_at_most

    def spy(backend: _codec.CmBackend, data: bytes, prime: bytes, limit: int | None) -> bytes | None:
        runs.append(len(data))
        return real(backend, data, prime, limit)

    monkeypatch.setattr(_codec.CmBackend, "encode_at_most", spy)
    return runs


def test_a_short_chunk_whose_wrap_code_loses_is_coded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judging a short chunk's wrap code codes the chunk's bytes to the end where the wrap code
    loses; the chunk's body is that payload, not a second coding of the same bytes: two runs of
    the model in all, the wrap code's and the bytes', and the body that coding the bytes alone
    gives, whether the codec codes the chunk or codes it at most as long as a limit."""
    log = b"\n".join(line.split(b" ", 2)[-1] for line in service_log(1500).split(b"\n"))
    code = _wraps.encode(log)
    assert code is not None and len(log) <= 2 * _codec.WRAPS_PROBE and not _codec._wraps_win(log, code, LEVELS[6])
    expected = _codec._level_backend(LEVELS[6], None).encode(log)
    runs = model_runs(monkeypatch)
    body = _codec._encode_body(log, LEVELS[6], None, b"", False)
    assert body.data == expected and body.transform != TRANSFORM_WRAPS and runs == [len(code), len(log)]
    for limit, fits in ((len(expected), True), (len(expected) - 1, False)):
        runs.clear()
        found = _codec._body_at_most(log, LEVELS[6], None, b"", False, limit)
        assert (found == body if fits else found is None) and runs == [len(code), len(log)]
    expected = _codec._level_backend(LEVELS[6], None).encode(log, b"a context\n")
    runs.clear()  # primed: the trial's payload is not the chunk's
    primed = _codec._encode_body(log, LEVELS[6], None, b"a context\n", False)
    assert primed.data == expected and runs == [len(code), len(log), len(log)]


def test_a_short_chunk_whose_wrap_code_wins_is_coded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judging a short chunk's wrap code codes it as the chunk's coding will (the settings for
    running text, where its lines are paragraphs); where it wins, that payload is the body: the
    model runs on the wrap code and on the bytes, until they lose, and on nothing else."""
    wrapped = _wraps.encode(DICKENS)
    spec = LEVELS[6]
    assert wrapped is not None and len(DICKENS) <= 2 * _codec.WRAPS_PROBE
    assert _codec._wrap_spec(spec, wrapped) != spec  # dickens' lines are paragraphs
    payload = _codec._level_backend(_codec._wrap_spec(spec, wrapped), None).encode(wrapped)
    expected = encode_varint(len(wrapped)) + payload
    runs = model_runs(monkeypatch)
    body = _codec._encode_body(DICKENS, spec, None, b"", False)
    assert body.transform == TRANSFORM_WRAPS and body.data == expected and runs == [len(wrapped), len(DICKENS)]
    runs.clear()
    assert _codec._body_at_most(DICKENS, spec, None, b"", False, len(expected)) == body
    assert _codec._body_at_most(DICKENS, spec, None, b"", False, len(expected) - 1) is None
    assert runs == [len(wrapped), len(DICKENS)] * 2


@pytest.mark.parametrize("most", [3, 9])
def test_lines_of_random_lengths_are_judged_by_the_model(most: int) -> None:
    """A text whose lines break anywhere (each line 1 to *most* words) needs numbers on many lines:
    of one or two words a line, the rules decline it; of up to nine, it gets a wrap code, and the
    model's trial (on the whole chunk, which is short) keeps it only where the frame is smaller."""
    words = prose(60, 10_000).split()
    lines, state, at = [], 7, 0
    while at < len(words):
        state = (state * 1103515245 + 12345) % 2**31
        take = 1 + state % most
        lines.append(b" ".join(words[at : at + take]))
        at += take
    data = b"\n".join(lines)
    code = _wraps.encode(data)
    assert (code is None) == (most == 3)
    chosen = encode_chunk(data, 6, form="text")
    saved = LEVELS[6]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(LEVELS, 6, replace(saved, wraps=False))
        plain = encode_chunk(data, 6, form="text")
    assert plain.transform != TRANSFORM_WRAPS and len(chosen.data) <= len(plain.data)
    assert decode_chunk(chosen.transform, chosen.backend, chosen.data, len(data)) == data


TEXT_BYTES = st.sampled_from([b"a", b"bc", b"def", b" ", b"  ", b"\n", b"\r\n", b"\r", b"\t", b"\xff", b"x.", b"\n\n"])


@st.composite
def texty(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(TEXT_BYTES, max_size=300)))


@settings(max_examples=300, deadline=None)
@given(st.one_of(texty(), st.binary(max_size=2000)))
def test_any_bytes_round_trip(data: bytes) -> None:
    """For any bytes, with the encoder taking any line end it can (no minimum of line ends, words or
    letters, no share of misses),
    the code decodes to them, as the plain reading of the format does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_wraps, "MIN_BREAKS", 0)
        patch.setattr(_wraps, "MIN_SECTION_BREAKS", 0)
        patch.setattr(_wraps, "SECTION", 64)  # many sections, segments of any length
        patch.setattr(_wraps, "MIN_SEGMENT", 1)
        patch.setattr(wraps_reference, "MIN_SEGMENT", 1)
        patch.setattr(_wraps, "MISS_SHARE", 0)
        patch.setattr(_wraps, "MIN_WORDS", 0)
        patch.setattr(_wraps, "_LETTER", np.ones(256, dtype=bool))  # every line may begin with any byte
        code = _wraps.encode(data)
        assert code is not None
        assert _wraps.decode(code, len(data)) == data
        assert wraps_reference.decode(code, len(data)) == data


@settings(max_examples=200, deadline=None)
@given(st.integers(20, 120), st.integers(0, 1000), st.lists(st.tuples(st.integers(0, 10**6), TEXT_BYTES), max_size=8))
def test_wrapped_prose_with_edits_round_trips(width: int, seed: int, edits: list[tuple[int, bytes]]) -> None:
    data = bytearray(prose(8, width, seed))
    for at, piece in edits:
        at %= len(data)
        data[at : at + len(piece) % 3] = piece
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_wraps, "MIN_BREAKS", 1)
        patch.setattr(_wraps, "MIN_SECTION_BREAKS", 1)
        code = _wraps.encode(bytes(data))
    if code is not None:
        assert _wraps.decode(code, len(data)) == data


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_damaged_codes_fail_as_the_plain_reading_does(data: st.DataObject) -> None:
    """A wrap code with bytes changed, cut or added decodes to what the plain reading of the format
    decodes it to, or fails with WrapsError where that reading fails: never another exception.
    Segments are made short here, so that the codes have several."""
    seed = data.draw(st.integers(0, 50))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_wraps, "SECTION", 1024)
        patch.setattr(_wraps, "MIN_SECTION_BREAKS", 4)
        patch.setattr(_wraps, "MIN_SEGMENT", 512)
        base = _wraps.encode(prose(8, 30, seed) + b"\n" + prose(8, 50, seed).replace(b"\n", b" \n"))
        assert base is not None and len(_wraps.parse(base, 1 << 30)[0]) >= 2
    code = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["set", "cut", "add"]))
        at = data.draw(st.integers(0, len(code)))
        if kind == "set" and at < len(code):
            code[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del code[at : at + data.draw(st.integers(1, 8))]
        else:
            code[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    size = data.draw(st.sampled_from([len(base) + 300, len(code), len(code) + 7, 0, 5000]))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_wraps, "MIN_SEGMENT", 512)
        patch.setattr(wraps_reference, "MIN_SEGMENT", 512)
        try:
            expected = wraps_reference.decode(bytes(code), size)
        except wraps_reference.ReferenceError:
            with pytest.raises(_wraps.WrapsError):
                _wraps.decode(bytes(code), size)
        else:
            assert _wraps.decode(bytes(code), size) == expected


@pytest.mark.parametrize(
    ("code", "size", "message"),
    [
        (b"\x03\x00\x05\x0baa bb cc dd\x00\x00", 11, "version 3"),
        (b"\x02\x00\x00\x05\x0baa bb cc dd\x00\x00", 11, "0 segments"),
        (b"\x02\x02\x00\x05\x05aa bb\x00\x00\x06 cc dd\x00\x00", 11, "2 segments for 11 bytes"),
        (b"\x02\x02\x00\x05\x00\x05\x00\x05\x00\x06aa bb cc dd\x00\x00", 5000, "segment 0: 5 bytes of text, fewer"),
        (b"\x02\x01\x01\x00\x00\x0baa bb cc dd", 11, "segment 0: width 0 with flags 0x01 and indent 0"),
        (b"\x02\x01\x00\x00\x02\x0baa bb cc dd", 11, "segment 0: width 0 with flags 0x00 and indent 2"),
        (b"\x02\x01\x00\x05\x81\x02\x0baa bb cc dd\x00\x00", 11, "indent 257"),
        (b"\x02\x01\x00\x81\x80\x04\x00\x0baa bb cc dd", 11, "segment 0: width 65537"),
        (b"\x02\x01\x04\x05\x0baa bb cc dd", 11, "flags 0x04"),
        (b"\x02\x03\x00\x05\x00\x88\x27", 20000, "ends inside its segments"),
        (b"\x02\x01\x00\x00\x00\x0baa bb cc dd", 12, "0 line ends do not make 12 bytes"),
        (b"\x02\x01\x00\x05\x00\x0baa bb cc dd\x00\x00", 12, "1 line ends do not make 12 bytes"),
        (b"\x01\x04\x05\x0baa bb cc dd\x00\x00", 11, "flags 0x04"),
        (b"\x01\x00\x00\x0baa bb cc dd\x00\x00", 11, "width 0"),
        (b"\x01\x00\x05\x0caa bb cc dd\x00\x00", 11, "does not fit"),
        (b"\x01\x00\x05\x0baa bb cc dd\x06\x00", 11, "outside its line"),
        (b"\x01\x00\x05\x0baa bb cc dd\x00", 11, "end early"),
        (b"\x01\x00\x05\x0baa bb cc dd\x00\x00\x00", 11, "after the last line number"),
        (b"\x01\x00\x05\x0baa bb cc dd\x80\x00\x00", 11, "non-canonical"),
        (b"\x01\x02\x05\x0baa bb cc dd\x00\x00\x00", 14, "2 line ends do not make 14 bytes"),
        (b"\x01\x02\x05\x0baa bb cc dd\x00\x00\x00", 12, "more line ends than 12 bytes"),
        (b"\x01\x00\x05\x0baa bb cc dd\x00\x00", 12, "11 bytes of text cannot make 12"),
        (b"\x01\x03\x05\x0baa bb cc dd\x00\x00", 12, "cannot make"),
    ],
)
def test_damaged_codes_name_the_fault(code: bytes, size: int, message: str) -> None:
    with pytest.raises(_wraps.WrapsError, match=message):
        _wraps.decode(code, size)


def test_more_line_ends_than_the_size_allows_fail_before_they_are_joined() -> None:
    text = b"a " * 5000 + b"a"
    code = b"\x01\x03\x01" + encode_varint(len(text)) + text + b"\x00" * 5000
    with pytest.raises(_wraps.WrapsError, match="more line ends"):
        _wraps.decode(code, len(text) + 20)


@pytest.mark.parametrize("level", [4, 6, 9])
def test_the_cm_levels_choose_wraps_for_wrapped_text(level: int) -> None:
    chunk = encode_chunk(DICKENS, level)
    assert chunk.transform == TRANSFORM_WRAPS
    assert decode_chunk(chunk.transform, chunk.backend, chunk.data, len(DICKENS)) == DICKENS
    plain = encode_chunk(DICKENS, level, form="text")
    assert plain.transform == TRANSFORM_WRAPS  # "text" means no records, not no wraps


def payload_components(chunk: _codec.EncodedChunk) -> int:
    """The component set a wrap-code chunk's CM payload was coded with."""
    fail = ValueError
    at = read_varint(chunk.data, 0, 10, fail)[1]  # the wrap code's length, then the CM header
    return read_varint(chunk.data, at + 2, 3, fail)[0]


OFF = _cm.PARAGRAPH_OFF  # the column, field and indirect contexts and the third weight set


@pytest.mark.parametrize("level", [5, 6, 8, 9])
def test_paragraphs_are_coded_without_the_components_that_model_lines(level: int) -> None:
    chunk = encode_chunk(DICKENS, level)
    assert chunk.transform == TRANSFORM_WRAPS
    full = LEVELS[level].backend_level
    assert payload_components(chunk) == (full if level == 9 else full & ~OFF)  # level 9: the full model
    assert decode_chunk(chunk.transform, chunk.backend, chunk.data, len(DICKENS)) == DICKENS


@pytest.mark.parametrize("length", [170, 171])
def test_they_are_left_out_below_three_sixteenths_of_the_bytes_in_the_first_32_columns(
    length: int,
) -> None:
    code = (b"w" * (length - 1) + b"\n") * 50  # 32 of each line's *length* bytes in the first 32 columns
    expected = {170: LEVELS[6].backend_level, 171: LEVELS[6].backend_level & ~OFF}[length]  # 32 * 16 >= 3 * 170
    assert _codec._wrap_spec(LEVELS[6], code).backend_level == expected
    assert _codec._wrap_spec(LEVELS[6], code + b"short\n" * 60) == LEVELS[6]  # lines of lists and headings
    assert _codec._wrap_spec(LEVELS[4], code) == LEVELS[4]  # level 4's set has none of them
    assert _codec._wrap_spec(LEVELS[8], b"w" * 1000).backend_level == LEVELS[8].backend_level & ~OFF
    assert _codec._wrap_spec(LEVELS[9], b"w" * 1000) == LEVELS[9]


def test_only_the_cm_levels_write_wraps() -> None:
    assert [level for level, spec in LEVELS.items() if spec.wraps] == [4, 5, 6, 7, 8, 9]
    for level in (1, 2, 3):
        assert encode_chunk(DICKENS, level).transform != TRANSFORM_WRAPS


def test_shared_context_streams_of_wrapped_text_round_trip() -> None:
    data = DICKENS + FILLED + DICKENS
    encoded = sigmalang.compress(data, 6, chunk_size=32 << 10, shared_context=True)
    assert sigmalang.decompress(encoded) == data
    report = "\n".join(format_report(inspect_stream(io.BytesIO(encoded))[0].as_dict(), "s"))
    assert "wraps+cm" in report


def test_inspect_shows_what_the_transform_saves() -> None:
    encoded = sigmalang.compress(DICKENS, 6)
    report = inspect_stream(io.BytesIO(encoded))[0].as_dict()
    text = "\n".join(format_report(report, "s"))
    assert "wraps+cm: 1 frame" in text
    assert "the transform (wraps), then the model" in text
    stages = report["stages"]
    assert stages["encoded"] < stages["encoded_without_transform"]  # measured: the model alone codes more


def test_a_decoder_without_transform_5_fails_on_the_frame_only() -> None:
    """An unknown transform fails its frame with a clear error (FORMAT.md §7); here, the reverse:
    a wraps frame's payload given as transform 0 is not mistaken for the chunk."""
    chunk = encode_chunk(DICKENS, 6)
    with pytest.raises(ChunkDecodeError):
        decode_chunk(0, chunk.backend, chunk.data, len(DICKENS))
