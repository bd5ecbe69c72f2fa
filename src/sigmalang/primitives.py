"""The Σ-primitive registry: 256 primitive ids in three tiers, and the four glyph types.

* Σ0–Σ15, **existential**: the fixed core every ΣLANG stream may use.
* Σ16–Σ127, **domain**: container records (stream header, frame, index, trailer) and the
  glyph kinds of text (words, numbers, time, structure). Unassigned ids are reserved.
* Σ128–Σ255, **learned**: slots whose meaning comes from a codebook.

Look-ups work both ways: ``by_id(17).name == "FRAME"`` and ``by_name("FRAME").id == 17``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ALL",
    "GlyphType",
    "Primitive",
    "Tier",
    "by_id",
    "by_name",
    "tier_of",
    "COUNT",
]

COUNT = 256


class GlyphType(enum.IntEnum):
    """The 2-bit record type in every glyph header."""

    PRIMITIVE = 0
    REFERENCE = 1
    DELTA = 2
    COMPOSITE = 3


class Tier(enum.Enum):
    EXISTENTIAL = "existential"
    DOMAIN = "domain"
    LEARNED = "learned"


@dataclass(frozen=True, slots=True)
class Primitive:
    id: int
    name: str
    tier: Tier
    meaning: str

    def __str__(self) -> str:
        return f"Σ{self.id} {self.name}"


_EXISTENTIAL = [
    ("EXISTENCE", "something is; the empty or unit value"),
    ("IDENTITY", "the same thing as before"),
    ("NEGATION", "not, absent"),
    ("REFERENCE", "points to something defined elsewhere"),
    ("QUANTITY", "a number or amount"),
    ("TEMPORAL", "a point or span in time"),
    ("SPATIAL", "a place or position"),
    ("CAUSAL", "because, therefore"),
    ("SEQUENCE", "an ordered run of things"),
    ("STRUCTURE", "layout: whitespace, punctuation, lines"),
    ("LITERAL", "bytes carried as they are"),
    ("BOUNDARY", "start or end of a unit"),
    ("RELATION", "a link between two things"),
    ("ATTRIBUTE", "a property of a thing"),
    ("ACTION", "something done"),
    ("STATE", "how a thing is"),
]

# Assigned domain ids. Container records sit at 16-21; text glyph kinds from 32.
_DOMAIN = {
    16: ("STREAM_HEADER", "stream header record: format version and codec parameters"),
    17: ("FRAME", "one encoded chunk with its original size and CRC32C"),
    18: ("INDEX", "frame offsets and sizes, total size and content checksum"),
    19: ("TRAILER", "fixed-size record that locates the index from the end of a file"),
    20: ("CODEBOOK", "an embedded codebook"),
    32: ("WORD", "a word, as a codebook reference"),
    33: ("IDENTIFIER", "an identifier in code or logs"),
    34: ("NUMBER", "a number with its exact spelling"),
    35: ("TIMESTAMP", "a date or time in a known layout"),
    36: ("WHITESPACE", "a run of spaces or tabs"),
    37: ("PUNCTUATION", "punctuation"),
    38: ("NEWLINE", "a line end (LF or CRLF)"),
    39: ("LINE", "a whole line, as a Σ-bank reference"),
    40: ("CASE", "letter-case modifier of a word"),
}


def _build() -> tuple[Primitive, ...]:
    table: list[Primitive] = []
    for i, (name, meaning) in enumerate(_EXISTENTIAL):
        table.append(Primitive(i, name, Tier.EXISTENTIAL, meaning))
    for i in range(16, 128):
        name, meaning = _DOMAIN.get(i, (f"DOMAIN_{i}", "reserved"))
        table.append(Primitive(i, name, Tier.DOMAIN, meaning))
    for i in range(128, 256):
        table.append(Primitive(i, f"LEARNED_{i - 128}", Tier.LEARNED, "codebook slot"))
    return tuple(table)


ALL: tuple[Primitive, ...] = _build()
_BY_NAME = {p.name: p for p in ALL}


def by_id(primitive_id: int) -> Primitive:
    """Return the primitive with id *primitive_id* (0–255)."""
    if not 0 <= primitive_id < COUNT:
        raise ValueError(f"primitive id must be 0-255, got {primitive_id}")
    return ALL[primitive_id]


def by_name(name: str) -> Primitive:
    """Return the primitive called *name* (``"FRAME"``, ``"LEARNED_3"``, ...)."""
    try:
        return _BY_NAME[name.upper()]
    except KeyError:
        raise KeyError(f"no Σ-primitive named {name!r}") from None


def tier_of(primitive_id: int) -> Tier:
    return by_id(primitive_id).tier


STREAM_HEADER = by_name("STREAM_HEADER").id
FRAME = by_name("FRAME").id
INDEX = by_name("INDEX").id
TRAILER = by_name("TRAILER").id
