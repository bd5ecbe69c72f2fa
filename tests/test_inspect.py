"""``sigmalang inspect`` and :mod:`sigmalang.inspect`: glyph histograms, codebook, lines, JSON.

The histogram is checked against :func:`expected_histogram`, an independent re-reading of the
encoder's rules (docs/semantic.md: words, case folding, codebook admission, number deltas,
escapes) that tokenizes the *input* text, never the glyph code.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections import Counter

import pytest

import sigmalang
from conftest import read_text_file
from sigmalang import semantic
from sigmalang.cli import main
from sigmalang.inspect import GLYPH_KINDS, analyze_code, inspect_stream, inspect_text, render_glyph_lines

SHORT, MIN_COUNT = 96, 32  # the encoder's defaults: one-byte codes, admission count


def _folds(word: bytes) -> bool:
    return word.islower() or (len(word) > 1 and word.isupper()) or (word[:1].isupper() and word[1:].islower())


def _ranks(data: bytes) -> dict[bytes, int]:
    """Codebook entry → rank: folded counts ≥ 32, ≥ 2 letters, by count (ties: first seen)."""
    folded: Counter[bytes] = Counter()
    for word in re.findall(rb"[A-Za-z]+", data):
        folded[word.lower() if _folds(word) else word] += 1
    kept = [w for w, c in folded.items() if c >= MIN_COUNT and len(w) >= 2]
    kept.sort(key=lambda w: -folded[w])
    return {w: r for r, w in enumerate(kept)}


def _word_kind(word: bytes, ranks: dict[bytes, int]) -> tuple[str, int] | None:
    """(kind, code bytes) of a word's glyph, or None when it stays literal letters."""
    size = lambda rank: 1 if rank < SHORT else 2  # noqa: E731
    if word in ranks and (word.islower() or not _folds(word)):
        return f"reference-{size(ranks[word])}", size(ranks[word])
    lower = word.lower()
    if lower in ranks and word == lower.upper():
        return "upper", 1 + size(ranks[lower])
    if lower in ranks and word == lower[:1].upper() + lower[1:]:
        return "capitalized", 1 + size(ranks[lower])
    return None


def expected_histogram(data: bytes) -> dict[str, tuple[int, int, int]]:
    """kind → (glyphs, code bytes, text bytes), from the input text and the encoder's rules."""
    glyphs: Counter[str] = Counter()
    code: Counter[str] = Counter()
    text: Counter[str] = Counter()

    def add(kind: str, code_bytes: int, text_bytes: int, n: int = 1) -> None:
        glyphs[kind] += n
        code[kind] += code_bytes
        text[kind] += text_bytes

    ranks = _ranks(data)
    literal = bytearray()
    for word in re.findall(rb"[A-Za-z]+", data):
        kind = _word_kind(word, ranks)
        if kind:
            add(kind[0], kind[1], len(word))
        else:
            literal += word
    previous: list[bytes] = []
    for line in data.split(b"\n"):
        numbers = re.findall(rb"[0-9]+", line)
        for i, number in enumerate(numbers):
            before = previous[i] if i < len(previous) else b""
            if len(before) == len(number) <= 18 and 0 <= int(number) - int(before) < 1000:
                add("delta", 1 + len(b"%d" % (int(number) - int(before))), len(number))
            else:
                add("digits", len(number), len(number), len(number))
        previous = numbers or previous
    rest = re.sub(rb"[A-Za-z0-9]", b"", data)
    high = sum(b >= 0x80 for b in rest)
    add("escape", 2 * high, high, high)
    add("letters", len(literal), len(literal), len(literal))
    for kind, pattern in [
        ("whitespace", rb"[ \t\x0b\x0c]"),
        ("newline", rb"[\r\n]"),
        ("punctuation", rb"[\x21-\x7e]"),
        ("control", rb"[\x00-\x08\x0e-\x1f\x7f]"),
    ]:
        n = len(re.findall(pattern, rest))
        add(kind, n, n, n)
    return {kind: (glyphs[kind], code[kind], text[kind]) for kind in GLYPH_KINDS}


def measured(rows: list[dict[str, object]]) -> dict[str, tuple[object, object, object]]:
    return {row["kind"]: (row["glyphs"], row["code_bytes"], row["text_bytes"]) for row in rows}  # type: ignore[misc]


def _sample_text() -> bytes:
    rng = random.Random(3)
    names = [b"Alice", b"BOB", b"McGraw", b"carol", b"Dave"]
    lines = []
    for i in range(300):
        name = rng.choice(names)
        lines.append(
            b"%s said: the value is %d at 12:%02d, NOT %d; caf\xc3\xa9 the end.\t%s%s\r\n"
            % (name, 1000 + 3 * i, i % 60, rng.randint(0, 99999), rng.choice(names).lower(), b" rarely" * (i % 20 == 0))
        )
    return b"".join(lines)


HAND_TEXT = b"".join(b"the cat saw The DOG %d times\n" % (100 + i) for i in range(40))


# -- the histogram -----------------------------------------------------------------


def test_hand_counted_example():
    # 40 lines; every word appears 40 times (the/The 80), so all five enter the codebook with
    # one-byte codes: the, cat, saw, times are references, The is Capitalized, DOG is UPPER.
    # The first number (100) has no line before it; the next 39 are +1 deltas of 3-digit width.
    counts = measured(analyze_code(semantic.encode(HAND_TEXT)).histogram.rows())
    assert counts["reference-1"] == (4 * 40, 4 * 40, (3 + 3 + 3 + 5) * 40)
    assert counts["capitalized"] == (40, 2 * 40, 3 * 40)
    assert counts["upper"] == (40, 2 * 40, 3 * 40)
    assert counts["delta"] == (39, 2 * 39, 3 * 39)
    assert counts["digits"] == (3, 3, 3)
    assert counts["newline"] == (40, 40, 40)
    assert counts["whitespace"] == (6 * 40, 6 * 40, 6 * 40)
    assert counts["letters"] == counts["escape"] == counts["reference-2"] == (0, 0, 0)


@pytest.mark.parametrize("name", ["hand", "mixed", "dickens-64k", "loghub-small"])
def test_histogram_matches_an_independent_count(name):
    data = {"hand": HAND_TEXT, "mixed": _sample_text()}.get(name) or read_text_file(name)
    analysis = analyze_code(semantic.encode(data, bank=False, temporal=False))  # version 1: the rules above
    counts = measured(analysis.histogram.rows())
    assert counts == expected_histogram(data)
    assert sum(row["text_bytes"] for row in analysis.histogram.rows()) == len(data)
    assert analysis.body_bytes == sum(row["code_bytes"] for row in analysis.histogram.rows())


def test_sample_text_exercises_every_glyph_kind():
    counts = measured(analyze_code(semantic.encode(_sample_text())).histogram.rows())
    version_2 = ("line", "line-coded", "temporal")
    assert all(counts[kind][0] for kind in GLYPH_KINDS if kind not in ("reference-2", "control", *version_2))


def test_version_2_glyphs_are_counted_with_what_they_stand_for():
    stamp = b"2016-02-28 23:59:%02d,%03d"
    lines = [
        stamp % (50 + i // 2, 7 * i) + b" INFO worker %d started the job number %d\n" % (i % 3, i) for i in range(20)
    ]
    lines[10] = lines[11] = b"a line that repeats itself, word for word\n"
    data = b"".join(lines)
    code = semantic.encode(data)
    assert code[0] == 2
    analysis = analyze_code(code)
    counts = measured(analysis.histogram.rows())
    # 18 timestamps, all but the first as TEMPORAL glyphs of 23 bytes; the 12th line refers to the 11th
    assert counts["temporal"][0] == 17 and counts["temporal"][2] == 17 * 23
    assert counts["line"] == (1, 2, len(lines[11]) - 1)
    assert counts["line-coded"] == (0, 0, 0)
    assert sum(row["text_bytes"] for row in analysis.histogram.rows()) == len(data)
    assert analysis.body_bytes == sum(row["code_bytes"] for row in analysis.histogram.rows())
    rendered = render_glyph_lines(code, 12)
    # the change from the timestamp before, in its last digit (7 ms, then 1 s and 7 ms), not the form's number
    assert rendered[1].startswith("[time +7]") and rendered[2].startswith("[time +1007]")
    assert rendered[11] == "[line -1]"


def test_coded_line_references_are_counted():
    data = b"".join(b"id %03d: the same message again and again\n" % (i // 3) for i in range(60))
    code = semantic.encode(data, coded_bank=True)
    counts = measured(analyze_code(code).histogram.rows())
    assert counts["line-coded"][0] > 0
    assert sum(c[2] for c in counts.values()) == len(data)


def test_two_byte_references_and_uses():
    # 120 distinct words seen 32 times each: ranks 96 and up get two-byte codes
    words = [b"w" + bytes([97 + i // 26, 97 + i % 26]) for i in range(120)]
    data = b" ".join(words * 32) + b"\n"
    analysis = analyze_code(semantic.encode(data))
    counts = measured(analysis.histogram.rows())
    assert counts["reference-1"][0] == 96 * 32
    assert counts["reference-2"] == (24 * 32, 2 * 24 * 32, 3 * 24 * 32)
    assert analysis.uses == Counter({rank: 32 for rank in range(120)})


def test_damaged_code_is_an_error():
    code = semantic.encode(HAND_TEXT)
    with pytest.raises(ValueError):
        analyze_code(code + b"\xfc")  # a delta marker with no digits
    with pytest.raises(ValueError):
        analyze_code(code + b"\xa0")  # a reference past the five-word codebook


# -- lines beside their glyphs ---------------------------------------------------------


def test_glyph_lines_render_each_kind():
    code = semantic.encode(HAND_TEXT)
    assert render_glyph_lines(code, 2) == [
        "[the] [cat] [saw] [Cap:the] [UP:dog] 100 [times]",
        "[the] [cat] [saw] [Cap:the] [UP:dog] [+1] [times]",
    ]
    escaped = semantic.encode(b"caf\xc3\xa9 " + HAND_TEXT)
    assert render_glyph_lines(escaped, 1) == ["caf\\xc3\\xa9 [the] [cat] [saw] [Cap:the] [UP:dog] 100 [times]"]


# -- reports and the command -----------------------------------------------------------


GLYPH_LEVEL = 3  # the level that writes glyph codes (the context-mixing levels code bytes)
# ... for text: these tests' lines, each with a number, would be coded as log records (format auto).
AS_TEXT = ("--format", "text")


def run_json(capsys, *args: str) -> dict:
    assert main(["inspect", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_shape(tmp_path, capsys):
    path = tmp_path / "hand.txt"
    path.write_bytes(HAND_TEXT)
    result = run_json(capsys, "--level", str(GLYPH_LEVEL), *AS_TEXT, str(path))
    assert result["input"] == str(path) and result["stream"] is False
    (s,) = result["streams"]
    assert s["level"] == GLYPH_LEVEL and s["frames"] == 1 and s["original_size"] == len(HAND_TEXT)
    assert s["encoded_size"] == len(sigmalang.compress(HAND_TEXT, GLYPH_LEVEL, format="text"))
    assert [g["transform"] + "+" + g["backend"] for g in s["by_backend"]] == ["semantic+ppmd"]
    assert [row["kind"] for row in s["glyphs"]] == list(GLYPH_KINDS)
    assert {row["primitive"] for row in s["glyphs"]} >= {"Σ32 WORD", "Σ40 CASE", "Σ4 QUANTITY", "Σ38 NEWLINE"}
    b = s["bytes"]
    assert b["glyph_code"] == b["codebook"] + b["body"] == len(semantic.encode(HAND_TEXT))
    assert b["backend_output"] < s["by_backend"][0]["encoded"]  # the code-length varint comes first
    top = s["codebook"]["top"]
    assert [(e["rank"], e["word"], e["code"], e["uses"]) for e in top[:2]] == [
        (0, "the", "80", 80),
        (1, "cat", "81", 40),
    ]
    assert s["lines"][0] == {
        "text": "the cat saw The DOG 100 times",
        "glyphs": render_glyph_lines(semantic.encode(HAND_TEXT), 1)[0],
    }


def test_text_and_stream_input_give_the_same_report(tmp_path, capsys):
    data = read_text_file("loghub-small")
    path = tmp_path / "small.log"
    path.write_bytes(data)
    assert main(["encode", "-q", "--no-filter", "--level", "3", *AS_TEXT, "--chunk-size", "16KiB", str(path)]) == 0
    from_text = run_json(capsys, "--level", "3", *AS_TEXT, "--chunk-size", "16KiB", str(path))
    from_stream = run_json(capsys, str(path) + ".sgl")
    assert from_text["stream"] is False and from_stream["stream"] is True
    assert from_text["streams"] == from_stream["streams"]
    (s,) = from_stream["streams"]
    assert s["frames"] > 1 and s["encoded_size"] == (tmp_path / "small.log.sgl").stat().st_size
    assert sum(row["text_bytes"] for row in s["glyphs"]) == len(data)


def test_stored_and_binary_frames_are_counted_apart(tmp_path, capsys):
    noise = random.Random(7).randbytes(5000).replace(b"\n", b"")  # no line end: the first chunk is all noise
    data = noise + b"\n" + HAND_TEXT
    report = inspect_text(io.BytesIO(data), chunk_size=4096)
    groups = {key: tuple(v) for key, v in report.groups.items()}
    assert groups["literal+store"][0] >= 1  # random bytes do not shrink: stored
    assert sum(f for f, _, _ in groups.values()) == report.frames
    assert sum(o for _, o, _ in groups.values()) == len(data)
    assert report.semantic_frames == groups.get("semantic+ppmd", (0,))[0]
    assert report.lines[0]["glyphs"] is None  # frame 0 is literal: no glyph code to show
    path = tmp_path / "noise.bin"
    path.write_bytes(noise)
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"literal+store (stored): 1 frame, {len(noise):,} → {len(noise):,} bytes" in out
    assert "no glyph code" in out


@pytest.mark.parametrize("lines", [0, 1, 3])
def test_lines_option(tmp_path, capsys, lines):
    path = tmp_path / "hand.txt"
    path.write_bytes(HAND_TEXT)
    (s,) = run_json(capsys, "--level", str(GLYPH_LEVEL), *AS_TEXT, "--lines", str(lines), str(path))["streams"]
    assert [line["text"] for line in s["lines"]] == HAND_TEXT.decode().splitlines()[:lines]
    assert all(line["glyphs"].startswith("[the] [cat]") for line in s["lines"])


def test_frames_option_limits_the_decoded_frames():
    data = read_text_file("dickens-64k")
    stream = sigmalang.compress(data, GLYPH_LEVEL, chunk_size=16 << 10)
    (everything,) = inspect_stream(io.BytesIO(stream))
    (first,) = inspect_stream(io.BytesIO(stream), frames=1)
    assert first.frames == everything.frames > 1
    assert first.inspected == 1 and everything.inspected == everything.frames
    assert first.groups == everything.groups  # sizes come from every frame, decoded or not
    total = lambda r: sum(row["text_bytes"] for row in r.histogram.rows())  # noqa: E731
    assert total(everything) == len(data)
    assert 0 < total(first) < len(data)


def test_shared_context_streams_are_inspected_in_order(capsys):
    """Continuing frames (context length first, the previous frame's codebook, long-range match
    lists) are decoded as a decoder does; every frame's code is analysed, the glyph figures agree
    with those of the same text in independent frames, and frames repeating earlier ones show up
    as long-range transforms."""
    data = read_text_file("dickens-64k")
    repeated = data + data  # the second copy repeats the first from 64 KiB away: long-range references
    stream = sigmalang.compress(repeated, GLYPH_LEVEL, chunk_size=16 << 10, shared_context=True)
    (report,) = inspect_stream(io.BytesIO(stream))
    assert report.frames == report.inspected > 4 and report.original_size == len(repeated)
    transforms = {key.rsplit("+", 1)[0] for key in report.groups}
    assert "semantic" in transforms and transforms & {"long+semantic", "long+literal"}
    (independent,) = inspect_stream(io.BytesIO(sigmalang.compress(data, GLYPH_LEVEL, chunk_size=16 << 10)))
    first_copy = sum(row["text_bytes"] for row in independent.histogram.rows())
    assert first_copy == len(data)
    assert sum(row["text_bytes"] for row in report.histogram.rows()) < len(repeated)  # matched spans are not glyphs
    as_json = report.as_dict()
    assert {g["transform"] for g in as_json["by_backend"]} == transforms


def test_concatenated_streams_get_one_report_each():
    a, b = HAND_TEXT, read_text_file("loghub-small")
    reports = inspect_stream(io.BytesIO(sigmalang.compress(a, 4) + sigmalang.compress(b, 1)))
    assert [(r.level, r.original_size) for r in reports] == [(4, len(a)), (1, len(b))]
    assert reports[0].semantic_frames == 0  # level 4 is the context-mixing model on bytes
    assert reports[1].semantic_frames == 0  # level 1 is literal + zstd


def test_text_output_is_in_the_users_words_without_empty_rows(tmp_path, capsys):
    path = tmp_path / "hand.txt"
    path.write_bytes(HAND_TEXT)
    assert main(["inspect", "--level", str(GLYPH_LEVEL), *AS_TEXT, "--top", "2", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"semantic+ppmd: 1 frame, {len(HAND_TEXT):,} → " in out
    assert "Σ" not in out.split("glyph code:")[1]  # no Σ-primitive labels
    rows = {
        row["meaning"]: row for row in inspect_text(io.BytesIO(HAND_TEXT), GLYPH_LEVEL, format="text").histogram.rows()
    }
    for meaning, row in rows.items():  # a row for each kind the text uses, and none for the others
        shown = re.search(rf"^  {re.escape(meaning)} +{row['glyphs']:,} ", out, re.M)
        assert bool(shown) == bool(row["glyphs"]), meaning
    assert rows["words in the codebook (2-byte code)"]["glyphs"] == 0  # so one row at least is left out
    assert "[the] [cat] [saw] [Cap:the] [UP:dog] [+1] [times]" in out


def test_stages_measure_the_transform_against_the_model_alone(tmp_path, capsys):
    """What the transform buys on this text: the same model coding the text itself, measured."""
    from sigmalang._backends import get_backend
    from sigmalang._levels import level_spec

    report = inspect_text(io.BytesIO(HAND_TEXT), GLYPH_LEVEL, format="text")
    spec = level_spec(GLYPH_LEVEL)
    alone = len(get_backend(spec.backend, spec.backend_level, spec.memory_mib).encode(HAND_TEXT))
    (group,) = report.groups.values()
    s = report.stages.as_dict()
    assert s == {
        "frames": 1,
        "original": len(HAND_TEXT),
        "transform_output": len(semantic.encode(HAND_TEXT)),
        "encoded": group[2],
        "encoded_without_transform": alone,
    }
    path = tmp_path / "hand.txt"
    path.write_bytes(HAND_TEXT)
    assert main(["inspect", "--level", str(GLYPH_LEVEL), *AS_TEXT, str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"the model alone \(ppmd\), measured +{alone:,} bytes  ratio {len(HAND_TEXT) / alone:.3f}", out)
    assert re.search(rf"the transform \(semantic\), then the model +{group[2]:,} bytes", out)
    assert main(["inspect", "--level", "1", str(path)]) == 0  # level 1 codes the bytes: nothing to compare
    out = capsys.readouterr().out
    assert "no transform: the frames code the text itself" in out and "semantic of" not in out


def test_stages_of_a_stream_match_those_of_its_text_and_follow_frames():
    data = read_text_file("loghub-small")
    stream = sigmalang.compress(data, GLYPH_LEVEL, chunk_size=16 << 10)
    (report,) = inspect_stream(io.BytesIO(stream))
    assert report.stages == inspect_text(io.BytesIO(data), GLYPH_LEVEL, chunk_size=16 << 10).stages
    assert report.stages.frames == report.frames > 1 and report.stages.original == len(data)
    (first,) = inspect_stream(io.BytesIO(stream), frames=1)
    assert first.stages.frames == 1 and 0 < first.stages.original <= 16 << 10  # a chunk ends at a line end
    shared = sigmalang.compress(data, GLYPH_LEVEL, chunk_size=16 << 10, shared_context=True)
    (report,) = inspect_stream(io.BytesIO(shared))
    assert report.stages.as_dict()["encoded_without_transform"] is None  # frames that need the ones before


def test_damaged_stream_is_an_error(tmp_path, capsys):
    stream = bytearray(sigmalang.compress(HAND_TEXT))
    stream[len(stream) // 2] ^= 0x40
    path = tmp_path / "bad.sgl"
    path.write_bytes(bytes(stream))
    assert main(["inspect", str(path)]) == 1
    assert "bad.sgl" in capsys.readouterr().err


def test_line_reference_bomb_is_bounded_by_the_frame_size():
    bomb = b"\x02\x04\x60\x00" + b"y" * 5000 + b"\n" + b"\xf9\x80\n" * 1000
    with pytest.raises(ValueError, match="past"):
        analyze_code(bomb, 20_000)


def test_the_command_inspects_on_a_thread_of_its_own(tmp_path, monkeypatch, capsys):
    """Encoding a text in memory takes the model seconds per chunk: the main thread waits, free to
    act on Ctrl-C at once."""
    import threading

    from sigmalang import _cli_files

    where: list[str] = []
    inspect_file = _cli_files.inspect_file

    def recording(*args, **kwargs):
        where.append(threading.current_thread().name)
        return inspect_file(*args, **kwargs)

    monkeypatch.setattr(_cli_files, "inspect_file", recording)
    path = tmp_path / "hand.txt"
    path.write_bytes(HAND_TEXT)
    assert main(["inspect", "-T", "2", "--level", str(GLYPH_LEVEL), str(path)]) == 0
    assert f"{len(HAND_TEXT):,} → " in capsys.readouterr().out
    assert len(where) == 1 and where[0].startswith("sigmalang-coder")


def test_top_sets_how_many_templates_are_listed(tmp_path, capsys):
    names = [bytes([97 + k // 6, 97 + k % 6]) for k in range(30)]  # letters: part of each line's template
    lines = b"".join(b"service %s started with code %d\n" % (name, n) for n in range(8) for name in names)
    path = tmp_path / "app.log"
    path.write_bytes(lines)
    for top in (3, 25, None):  # None: the default, 20
        given = [] if top is None else ["--top", str(top)]
        assert main(["inspect", "--json", "--format", "logs", "-4", *given, str(path)]) == 0
        (stream,) = json.loads(capsys.readouterr().out)["streams"]
        assert stream["records"]["templates"] > 25
        assert len(stream["records"]["top_templates"]) == (20 if top is None else top)
