"""What a compression level means: the transform, the backend (model) and the backend's settings.

The transform ids are written in every frame record; a level is only the writer's choice of them,
so nothing here is needed to decode (frames carry their own parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends import CM, PPMD, STORE, ZSTD

__all__ = [
    "DEFAULT_LEVEL",
    "LEVELS",
    "LONG_TRANSFORMS",
    "TRANSFORMS",
    "TRANSFORM_LITERAL",
    "TRANSFORM_LONG_LITERAL",
    "TRANSFORM_LONG_SEMANTIC",
    "TRANSFORM_SEMANTIC",
    "LevelSpec",
    "level_spec",
]

TRANSFORM_LITERAL = 0  # the frame's content is the chunk's bytes: one literal glyph run
TRANSFORM_SEMANTIC = 1  # the frame's content is a glyph code (words, quantities, structure)
# Shared-context streams only: long-range references (a match list), then transform 0 or 1 of the
# rest of the chunk (sigmalang.longrange; FORMAT.md §7). The inner transform is the id minus 2.
TRANSFORM_LONG_LITERAL = 2
TRANSFORM_LONG_SEMANTIC = 3
LONG_TRANSFORMS = (TRANSFORM_LONG_LITERAL, TRANSFORM_LONG_SEMANTIC)
TRANSFORMS = {
    TRANSFORM_LITERAL: "literal",
    TRANSFORM_SEMANTIC: "semantic",
    TRANSFORM_LONG_LITERAL: "long+literal",
    TRANSFORM_LONG_SEMANTIC: "long+semantic",
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

    def describe(self) -> str:
        from .backends import BACKENDS

        text = f"{TRANSFORMS[self.transform]} + {BACKENDS[self.backend]}"
        if self.backend == PPMD:
            text += f" order {self.backend_level}, {self.memory_mib} MiB"
        elif self.backend == CM:
            text += f" components {self.backend_level:#x}, 2^{self.memory_mib} slots"
        elif self.backend != STORE:
            text += f" {self.backend_level}"
        return text + (", verified" if self.verify else "")


# Levels 1-3 are the fast end (zstd, and PPMd over the glyph code, the default before the
# context-mixing model); 4-9 use the context-mixing model (backend 3) on the chunk's bytes: the
# glyph code does not help it (docs/cm.md). Every PPMd encoding is checked before it is written
# (verify=True): pyppmd 1.3.1 can lose output bytes, and a lossless codec must not trust it
# (backends.PPMD_BLOCK; docs/semantic.md has the cost).
CM_FAST = 0x21F  # orders 1-6 and the match model
CM_ALL = 0x7FF
LEVELS: dict[int, LevelSpec] = {
    0: LevelSpec(TRANSFORM_LITERAL, STORE, 0),
    1: LevelSpec(TRANSFORM_LITERAL, ZSTD, 3),
    2: LevelSpec(TRANSFORM_LITERAL, ZSTD, 19),
    3: LevelSpec(TRANSFORM_SEMANTIC, PPMD, 6, 64, verify=True),
    4: LevelSpec(TRANSFORM_LITERAL, CM, CM_FAST, 20),
    5: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 20),
    6: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 22),
    7: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 23),
    8: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 24),
    9: LevelSpec(TRANSFORM_LITERAL, CM, CM_ALL, 24),
}
DEFAULT_LEVEL = 6


def level_spec(level: int) -> LevelSpec:
    if type(level) is not int or level not in LEVELS:  # bool and float are not levels
        raise ValueError(f"level must be an integer 0-9, got {level!r}")
    return LEVELS[level]
