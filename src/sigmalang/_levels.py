"""What a compression level means: the transform, the backend (model) and the backend's settings.

The transform ids are written in every frame record; a level is only the writer's choice of them,
so nothing here is needed to decode (frames carry their own parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ._backend_base import CM, PPMD, STORE, ZSTD
from ._chunking import DEFAULT_CHUNK_SIZE

__all__ = [
    "AUTO",
    "DEFAULT_LEVEL",
    "FORMATS",
    "LEVELS",
    "LOGS",
    "LONG_TRANSFORMS",
    "TEXT",
    "TRANSFORMS",
    "TRANSFORM_LITERAL",
    "TRANSFORM_LONG_LITERAL",
    "TRANSFORM_LONG_SEMANTIC",
    "TRANSFORM_RECORDS",
    "TRANSFORM_SEMANTIC",
    "TRANSFORM_UTF16",
    "TRANSFORM_WRAPS",
    "LevelSpec",
    "check_format",
    "chunk_size_for",
    "level_spec",
]

TRANSFORM_LITERAL = 0  # the frame's content is the chunk's bytes: one literal glyph run
TRANSFORM_SEMANTIC = 1  # the frame's content is a glyph code (words, quantities, structure)
# Shared-context streams only: long-range references (a match list), then transform 0 or 1 of the
# rest of the chunk (sigmalang._longrange; FORMAT.md §7). The inner transform is the id minus 2.
TRANSFORM_LONG_LITERAL = 2
TRANSFORM_LONG_SEMANTIC = 3
LONG_TRANSFORMS = (TRANSFORM_LONG_LITERAL, TRANSFORM_LONG_SEMANTIC)
# The frame's content is a record code: log lines as templates and column streams (sigmalang._records;
# FORMAT.md §7.6). Writers at the PPMd and CM levels (3-9) choose it per frame when it codes smaller than the bytes,
# or at levels 1-9 for every frame when told the input is logs (format "logs", below).
TRANSFORM_RECORDS = 4
# The frame's content is a wrap code: hard-wrapped text as its paragraphs' running text and the places
# of its line ends (sigmalang._wraps; FORMAT.md §7.7). Writers at the CM levels (4-9) choose it for a
# chunk whose lines are filled to one width.
TRANSFORM_WRAPS = 5
# The frame's content is text in UTF-16 coded as UTF-8, which transform 0, 1, 4 or 5 then codes
# (sigmalang._utf16; FORMAT.md §7.8). Writers at the PPMd and CM levels (3-9) choose it for a chunk
# of text in UTF-16 whose UTF-8 is shorter, in streams of independent frames.
TRANSFORM_UTF16 = 6
TRANSFORMS = {
    TRANSFORM_LITERAL: "literal",
    TRANSFORM_SEMANTIC: "semantic",
    TRANSFORM_LONG_LITERAL: "long+literal",
    TRANSFORM_LONG_SEMANTIC: "long+semantic",
    TRANSFORM_RECORDS: "records",
    TRANSFORM_WRAPS: "wraps",
    TRANSFORM_UTF16: "utf16",
}


@dataclass(frozen=True, slots=True)
class LevelSpec:
    """What a level means: the glyph transform, the backend and the backend's own level.

    For PPMd, *backend_level* is the model order and *memory_mib* the model size; for the
    context-mixing model (CM), the component set and the hash table's size as a power of two; *verify*
    checks every PPMd frame before it is written (see LEVELS). None of these is needed to decode:
    frames carry their own parameters.
    """

    transform: int
    backend: int
    backend_level: int
    memory_mib: int = 0
    verify: bool = False
    chunk_size: int = DEFAULT_CHUNK_SIZE  # the writer's chunk size when none is asked for
    # A long chunk of log lines is coded both as records and as bytes in full (the smaller kept)
    # unless records win clearly on a sample of its lines; the other levels also trust a sample
    # that says bytes, or a longer piece (codec.encode_body): slower, never larger in what was measured.
    both_in_full: bool = False
    # The backend's own level for record codes (transform 4), where it differs from backend_level:
    # PPMd codes a record code smaller at a higher order than the glyph code (docs/logs.md, "Level 3").
    records_level: int = 0
    # A chunk of hard-wrapped text is coded as a wrap code (transform 5) where its lines fit the
    # rule well (sigmalang._wraps.encode); the CM levels only: the model then sees running text.
    wraps: bool = False
    # A wrap code whose lines are paragraphs is coded with the model's set for running text, a
    # sixth faster (sigmalang._codec._wrap_spec); level 9, the full model, keeps its set.
    paragraphs: bool = False

    def for_records(self) -> LevelSpec:
        """The settings a record code is coded with: the backend's level for record codes."""
        return replace(self, backend_level=self.records_level) if self.records_level else self

    def for_paragraphs(self) -> LevelSpec:
        """The settings a wrap code whose lines are paragraphs is coded with (the writer's rule is
        sigmalang._codec._wrap_spec): at the levels with *paragraphs*, the level's set without
        sigmalang._cm.PARAGRAPH_OFF; at the others, the level's own settings."""
        from ._cm import PARAGRAPH_OFF

        if not self.paragraphs or self.backend_level & PARAGRAPH_OFF != PARAGRAPH_OFF:
            return self
        return replace(self, backend_level=self.backend_level & ~PARAGRAPH_OFF)

    def describe(self) -> str:
        from ._backends import BACKENDS

        text = f"{TRANSFORMS[self.transform]} + {BACKENDS[self.backend]}"
        if self.backend == PPMD:
            text += f" order {self.backend_level}, {self.memory_mib} MiB"
            text += f" (records: order {self.records_level})" if self.records_level else ""
        elif self.backend == CM:
            text += f" components {self.backend_level:#x}, 2^{self.memory_mib} slots"
            text += " (hard-wrapped text: wraps + cm)" if self.wraps else ""
        elif self.backend != STORE:
            text += f" {self.backend_level}"
        return text + (", verified" if self.verify else "")


# Levels 1-3 are the fast end (zstd, and PPMd over the glyph code, the default before the
# context-mixing model); 4-9 use the context-mixing model (backend 3) on the chunk's bytes: the
# glyph code does not help it (docs/cm.md). At 3-9, a chunk of log lines may be coded as records
# (transform 4) instead, when that codes smaller (codec.encode_body, docs/logs.md). Levels 7-9
# add the word-skip context (model version 5; docs/cm.md, "Model version 5") and
# write larger chunks when none is asked for (chunk_size_for), at the cost of memory and of
# parallelism on inputs of a few chunks; level 9 codes a chunk of log lines both ways in full
# unless a sample of its lines shows records clearly smaller (both_in_full), where the others
# trust any clear verdict of the sample. Every
# PPMd encoding is checked before it is written (verify=True): pyppmd 1.3.1 can lose output bytes,
# and a lossless codec must not trust it (backends.PPMD_BLOCK; docs/semantic.md has the cost).
CM_FAST = 0x121F  # orders 1-6, the match model and the mixer's learning-rate schedule
CM_ALL = 0xFFFF  # every component of model version 4
CM_MORE = 0x2FFFF  # and the word-skip context (model version 5): 0.5% smaller, about 10% slower
LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(TRANSFORM_LITERAL, STORE, 0),
    1: LevelSpec(TRANSFORM_LITERAL, ZSTD, 3),
    2: LevelSpec(TRANSFORM_LITERAL, ZSTD, 19),
    3: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 6, 64, verify=True, records_level=16),
    4: LevelSpec(TRANSFORM_LITERAL, CM, CM_FAST, 20, wraps=True),
    5: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 20, wraps=True, paragraphs=True),
    6: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 22, wraps=True, paragraphs=True),
    7: LevelSpec(TRANSFORM_LITERAL, CM, CM_MORE, 23, wraps=True, chunk_size=8 << 20, paragraphs=True),
    8: LevelSpec(TRANSFORM_LITERAL, CM, CM_MORE, 24, wraps=True, chunk_size=8 << 20, paragraphs=True),
    9: LevelSpec(TRANSFORM_LITERAL, CM, CM_MORE, 24, wraps=True, chunk_size=16 << 20, both_in_full=True),
}
DEFAULT_LEVEL = 6


def level_spec(level: int) -> LevelSpec:
    if type(level) is not int or level not in LEVELS:  # bool and float are not levels
        raise ValueError(f"level must be an integer 0-9, got {level!r}")
    return LEVELS[level]


# What a writer takes its input for (the ``format`` option, ``encode --format``): ``auto`` codes a
# chunk that looks like log lines both as bytes and as records at levels 3-9 and keeps the
# smaller (codec.encode_body); ``text`` never codes records; ``logs`` codes every chunk as records
# with the level's backend (levels 1-9), without trying the bytes, which it falls back to only where
# the record code cannot be written. Like the level, it is the writer's choice alone: each frame
# records its transform, and any decoder reads every choice.
AUTO, TEXT, LOGS = "auto", "text", "logs"
FORMATS = (AUTO, TEXT, LOGS)


def check_format(form: object, level: int) -> str:
    """*form* if it is one of FORMATS that *level* (checked too) can write, else a ``ValueError``."""
    spec = level_spec(level)
    if not isinstance(form, str) or form not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, got {form!r}")
    if form == LOGS and spec.backend == STORE:
        raise ValueError("format 'logs' needs a level of 1 to 9: level 0 stores every chunk as it is")
    return form


def chunk_size_for(level: int, chunk_size: int | None) -> int:
    """*chunk_size*, or the level's own when it is ``None``: levels 7-9 code larger chunks, since a
    context-mixing model that starts afresh every few MiB loses ratio (docs/cm.md)."""
    return level_spec(level).chunk_size if chunk_size is None else chunk_size
