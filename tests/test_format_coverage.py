"""Every section of docs/FORMAT.md that defines fields has golden vectors, and the table that says
which (tests/vectors/README.md) names only vectors that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORMAT_DOC = (ROOT / "docs" / "FORMAT.md").read_text(encoding="utf-8")
README = (ROOT / "tests" / "vectors" / "README.md").read_text(encoding="utf-8")
MANIFEST = json.loads((ROOT / "tests" / "vectors" / "manifest.json").read_text(encoding="utf-8"))
NAMES = {e["name"] for kind in ("valid", "damaged") for e in MANIFEST[kind]}
# a table whose header names fields: "| field | encoding |", "| offset | size | field |", "| bit |"
FIELD_TABLE = re.compile(r"^\| (field|offset|bit) \|", re.MULTILINE)


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


# sections that define bytes without a field table: the magic, the id tables, the match list, the
# primed payloads
OTHER_SECTIONS = ["6.1", "7", "7.1", "7.5"]


def test_every_field_defining_section_has_a_vector() -> None:
    found = field_sections()
    assert {"6.2", "6.3", "6.4", "6.5", "7.2", "7.3", "7.4", "17"} <= set(found)
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
