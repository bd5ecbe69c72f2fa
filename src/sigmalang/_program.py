"""Whether sigmalang runs as the command line, and the process settings that follow from it.

:mod:`sigmalang.cli` imports this module before anything that loads numpy. When the process is
the command line (``sigmalang``, ``unsigmalang``, ``sigmacat`` or ``python -m sigmalang``), numpy's
BLAS is given one thread unless the user's environment says otherwise: the codec does no linear
algebra, and a BLAS pool starts one thread per core in every process that imports numpy (the
command and each of its workers), threads that spin as they start and take CPU time from the
coders (0.14 s of a small file's 0.79 s of CPU on a two-core machine: ``docs/cm.md``,
"Start-up"). A program that imports :mod:`sigmalang.cli` for its own use keeps its environment as
it is.
"""

from __future__ import annotations

import os
import sys

PROGRAMS = ("sigmalang", "unsigmalang", "sigmacat")


def as_program() -> bool:
    """Whether this process is sigmalang's command line rather than a program that imports it."""
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", "") == "sigmalang.__main__":
        return True
    return os.path.basename(getattr(main, "__file__", None) or "").removesuffix(".exe") in PROGRAMS


if as_program():
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
