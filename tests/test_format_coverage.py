"""Every section of docs/FORMAT.md that defines fields has golden vectors, and the table that says
which (tests/vectors/README.md) names only vectors that exist."""

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


def test_the_must_table_names_real_vectors_and_tests() -> None:
    rows = README[README.index("| section | requirement (MUST) |") :].splitlines()[2:]
    assert len(rows) >= 20
    for row in rows:
        if not row.startswith("|"):
            break
        _, _, vectors, tests = (cell.strip() for cell in row.strip()[1:-1].split("|"))
        assert set(re.findall(r"`([^`]+)`", vectors)) - {"bad-*"} <= NAMES, row
        for test in re.findall(r"`(test_[^`]+)`", tests):
            name, _, function = test.partition("::")
            if name.endswith(".py"):
                source = (ROOT / "tests" / name).read_text(encoding="utf-8")
                assert not function or f"def {function}(" in source, test
            else:  # a function of a file named before it in the cell
                files = (ROOT / "tests").glob("test_*.py")
                assert any(f"def {name}(" in p.read_text(encoding="utf-8") for p in files), test


def must_sections() -> set[str]:
    """The sections (``2``, ``6.3``, ``7.4``, ``18``) whose text says MUST: a ``####`` heading
    counts as part of the numbered section it is in; the RFC 2119 sentence of the preamble does not."""
    sections, current = set(), None
    for line in FORMAT_DOC.splitlines():
        heading = re.match(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", line)
        if heading:
            current = heading.group(1)
        elif current is not None and "MUST" in line:
            sections.add(current)
    return sections


def must_table_sections() -> set[str]:
    rows = README[README.index("| section | requirement (MUST) |") :].splitlines()[2:]
    return {row.split("|")[1].strip() for row in rows if row.startswith("|")} if rows else set()


def test_every_section_with_a_must_is_in_the_must_table() -> None:
    found = must_sections()
    assert {"2", "3", "7.3", "11", "17", "18"} <= found
    in_table = must_table_sections()
    missing = sorted(found - in_table, key=lambda s: [int(p) for p in s.split(".")])
    assert not missing, f"sections of docs/FORMAT.md with a MUST but no row in tests/vectors/README.md: {missing}"
    assert in_table <= found | {"18.1"}, sorted(in_table - found)


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
