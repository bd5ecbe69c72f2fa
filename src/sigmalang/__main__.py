"""``python -m sigmalang``: the command line."""

import os
import sys

try:
    from .cli import run
except BaseException as exc:  # while the command line loads (``sigmalang.cli`` catches most of it)
    if not any(isinstance(e, KeyboardInterrupt) for e in (exc, exc.__cause__, exc.__context__)):
        raise
    print("sigmalang: interrupted", file=sys.stderr, flush=True)
    os._exit(130)

run()
