"""Every section of docs/FORMAT.md that defines fields has golden vectors, every MUST of it has an
id with a row in tests/vectors/README.md naming the vectors and tests that check it, and those
tables name only vectors and tests that exist."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import sigmalang
from sigmalang.semantic.codebook import load_codebook

ROOT = Path(__file__).resolve().parent.parent
FORMAT_DOC = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
README = (ROOT / "tests" / "vectors" / "README.md").read_text(encoding="utf-8")
VECTORS = ROOT / "tests" / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))
NAMES = {e["name"] for kind in ("valid", "damaged") for e in MANIFEST[kind]}
# a table whose header names fields: "| field | encoding |", "| offset | size | field |", "| bit |",
# "| bits | field |"
FIELD_TABLE = re.compile(r"^\| (field|offset|bits?) \|", re.MULTILINE)


def field_sections() -> list[str]:
    """The numbers of the sections (``## 6.2 ...``, ``### 7.3 ...``) that hold a field table."""
    numbers = []
    parts = re.split(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", FORMAT_DOC, flags=re.MULTILINE)
    for number, body in zip(parts[1::2], parts[2::2], strict=True):
        if FIELD_TABLE.search(body.split("\n## ")[0]):
            numbers.append(number)
    return numbers


def section_vectors() -> dict[str, list[str]]:
    lines = README[README.index("<!-- section-vectors -->") :].splitlines()[3:]
    table = {}
    for line in lines:
        if not line.startswith("|"):
            break
        section, vectors = (cell.strip() for cell in line.strip()[1:-1].split("|"))
        table[section.split()[0]] = re.findall(r"`([^`]+)`", vectors)
    return table


# sections that define bytes without a field table: varints and checksums, the magic, the id
# tables, the match list, the primed payloads, the search filters' layout
OTHER_SECTIONS = ["2", "6.1", "7", "7.1", "7.5", "18"]


def test_every_field_defining_section_has_a_vector() -> None:
    found = field_sections()
    assert {"3", "6.2", "6.3", "6.4", "6.5", "7.2", "7.3", "7.4", "7.6", "17"} <= set(found)
    sections = found + OTHER_SECTIONS
    table = section_vectors()
    missing = [s for s in sections if not table.get(s)]
    assert not missing, f"sections without vectors in tests/vectors/README.md: {missing}"


def test_the_section_table_names_real_vectors() -> None:
    table = section_vectors()
    unknown = sorted({v for vectors in table.values() for v in vectors} - NAMES)
    assert table and not unknown, unknown


# -- every MUST of FORMAT.md, by its id ---------------------------------------------------------

# "[R7.3-2]": section 7.3, its second requirement
REQUIREMENT_ID = re.compile(r"\[(R\d+(?:\.\d+)?-\d+)\]")
# a sentence ends at ".", "!" or "?" (after any closing quote, bracket or emphasis) before a
# capital letter or an opening parenthesis
SENTENCE_END = re.compile(r"[.!?][)\"'`*]*\s+[A-Z(]")


def format_blocks() -> list[str]:
    """FORMAT.md from section 1 on (the preamble's RFC 2119 sentence names the key words, it sets
    no requirement) as paragraphs, with each table row and list item a block of its own."""
    blocks = []
    for paragraph in re.split(r"\n\s*\n", FORMAT_DOC[FORMAT_DOC.index("\n## 1. ") :]):
        block: list[str] = []
        for line in paragraph.splitlines():
            if block and re.match(r"\s*(\||[*-] |\d+\. )", line):
                blocks.append("\n".join(block))
                block = []
            block.append(line)
        blocks.append("\n".join(block))
    return blocks


def must_ids() -> tuple[list[str], list[str]]:
    """The id of each MUST of FORMAT.md (the first id after it, in the same sentence), and the
    MUSTs without one (their text)."""
    ids, untagged = [], []
    for block in format_blocks():
        for must in re.finditer(r"\bMUST\b", block):
            tag = REQUIREMENT_ID.search(block, must.end())
            if tag is None or SENTENCE_END.search(block, must.end(), tag.start()):
                untagged.append(" ".join(block[must.start() : must.start() + 100].split()))
            else:
                ids.append(tag.group(1))
    return ids, untagged


def must_table() -> list[tuple[str, list[str], list[str]]]:
    """``(id, vectors, tests)`` of each row of the requirement table in tests/vectors/README.md."""
    lines = README[README.index("<!-- must-requirements -->") :].splitlines()[3:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip()[1:-1].split("|")]
        assert len(cells) == 4, line
        rows.append((cells[0], re.findall(r"`([^`]+)`", cells[2]), re.findall(r"`([^`]+)`", cells[3])))
    return rows


def test_every_must_of_the_format_has_an_id() -> None:
    ids, untagged = must_ids()
    assert not untagged, "MUSTs of docs/FORMAT.md without an [R…] id after them:\n" + "\n".join(untagged)
    written = REQUIREMENT_ID.findall(FORMAT_DOC[FORMAT_DOC.index("\n## 1. ") :])  # not the preamble's example
    assert len(ids) >= 70 and set(ids) == set(written), sorted(set(written) - set(ids))
    twice = sorted({i for i in written if written.count(i) > 1})
    assert not twice, f"ids written twice in docs/FORMAT.md: {twice}"


def test_every_requirement_id_has_one_row_and_every_row_an_id() -> None:
    ids = set(must_ids()[0])
    rows = [row[0] for row in must_table()]
    missing = sorted(ids - set(rows))
    assert not missing, f"requirements of docs/FORMAT.md without a row in tests/vectors/README.md: {missing}"
    unknown = sorted(set(rows) - ids)
    assert not unknown, f"rows of tests/vectors/README.md for ids docs/FORMAT.md does not have: {unknown}"
    twice = sorted({r for r in rows if rows.count(r) > 1})
    assert not twice, f"ids with more than one row: {twice}"


def test_every_row_names_vectors_and_tests_that_exist() -> None:
    sources: dict[str, str] = {}
    wrong = []
    for rid, vectors, tests in must_table():
        if not vectors and not tests:
            wrong.append(f"{rid}: no vector and no test")
        wrong += [f"{rid}: no vector {v}" for v in vectors if v != "bad-*" and v not in NAMES]
        for test in tests:
            name, sep, function = test.partition("::")
            path = ROOT / "tests" / name
            if not (sep and function and name.endswith(".py") and path.is_file()):
                wrong.append(f"{rid}: {test} is not FILE.py::FUNCTION of a file in tests/")
                continue
            source = sources.setdefault(name, path.read_text(encoding="utf-8"))
            if not re.search(rf"^def {re.escape(function)}\(", source, re.MULTILINE):
                wrong.append(f"{rid}: {name} defines no test {function}")
    assert not wrong, "\n".join(wrong)


# -- the error catalogue (FORMAT.md §11.1) -----------------------------------------------------

CATALOGUE = FORMAT_DOC[FORMAT_DOC.index("### 11.1 Error catalogue") : FORMAT_DOC.index("## 12. ")]
CLASSES = {"Format": "SigmaFormatError", "Truncated": "SigmaTruncatedError", "Codebook": "SigmaCodebookError"}
# a field of a message: one capital letter (N, S, ID), "…", "0x..", "Σn NAME"
PLACEHOLDER = re.compile(r"Σn NAME|0x\.\.|…|\bID2?\b|\b[A-Z]\b")


def catalogue_rows() -> list[tuple[str, str, list[str]]]:
    """``(class, messages, vectors)`` of each row of both tables; the second table's class is
    SigmaFormatError, and its messages follow "frame cannot be decoded: "."""
    rows = []
    for line in CATALOGUE.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("| ") else []
        if len(cells) == 5 and cells[1] in CLASSES:
            rows.append((CLASSES[cells[1]], cells[3], re.findall(r"`([^`]+)`", cells[4])))
        elif len(cells) == 2 and cells[0] not in ("where", "---"):
            rows.append(("SigmaFormatError", cells[1], re.findall(r"`([^`]+)`", cells[1])))
    return rows


def message_patterns(cell: str) -> list[re.Pattern[str]]:
    """Each message of a catalogue cell as a pattern for the start of an error's text: messages
    are separated by ";", a "/" gives variants that share the text before the first ": "."""
    cell = re.sub(r"\s*\([^()]*`[^()]*\)", "", cell)  # vector names
    patterns = []
    for message in cell.split(";"):
        first, *more = (m.strip() for m in message.split(" / "))
        head = first[: first.index(": ") + 2] if ": " in first else ""
        for text in [first, *(head + m for m in more)]:
            # with its remarks in parentheses, and without them ("(B original bytes intact)" is
            # part of a message, "(earlier primer format)" is not)
            for variant in {text, re.sub(r"\s*\([^()]*\)", "", text)}:
                parts = PLACEHOLDER.split(variant)
                patterns.append(re.compile(".+?".join(map(re.escape, parts))))
    return patterns


def catalogue_vector(name: str) -> dict[str, Any] | None:
    for entry in MANIFEST["damaged"]:
        if entry["name"] == name:
            return entry
    return None


def test_the_catalogue_names_every_damaged_vector() -> None:
    named = {v for _, _, vectors in catalogue_rows() for v in vectors}
    damaged = {e["name"] for e in MANIFEST["damaged"]}
    globs = [v[:-1] for v in named if v.endswith("*")]
    missing = sorted(n for n in damaged - named if not any(n.startswith(g) for g in globs))
    assert not missing, f"damaged vectors missing from FORMAT.md §11.1: {missing}"
    unknown = sorted(v for v in named if not v.endswith("*") and v not in damaged)
    assert not unknown, f"FORMAT.md §11.1 names vectors that are not damaged vectors: {unknown}"


def test_each_catalogued_vector_raises_its_rows_class_and_message() -> None:
    """Through ``decompress``; a vector with an ``indexed`` error (one the random-access reader
    meets through the index first) through that reader, ``sigmalang.open`` on a seekable file."""
    wrong = []
    for cls, cell, vectors in catalogue_rows():
        patterns = message_patterns(cell)
        for name in vectors:
            entry = catalogue_vector(name)
            if entry is None:  # a glob: its vectors are checked by tests/test_vectors.py
                continue
            book = load_codebook(VECTORS / entry["codebook"]) if "codebook" in entry else None
            data = (VECTORS / entry["file"]).read_bytes()
            try:
                if "indexed" in entry:
                    with sigmalang.open(io.BytesIO(data), codebook=book) as f:
                        f.read()
                else:
                    sigmalang.decompress(data, codebook=book)
            except sigmalang.SigmaError as exc:
                text = re.sub(r" \((byte offset|frame) [^()]*\)$", "", str(exc))
                text = text.removeprefix("frame cannot be decoded: ")
                if type(exc).__name__ != cls or not any(p.match(text) for p in patterns):
                    wrong.append(f"{name}: {type(exc).__name__} {text!r}")
            else:
                wrong.append(f"{name}: decodes")
    assert not wrong, "\n".join(wrong)
