"""``python -m sigmalang``: the command line."""

import os
import sys

try:
    from .cli import run
except KeyboardInterrupt:  # while the command line loads (``sigmalang.cli`` catches most of it)
    print("sigmalang: interrupted", file=sys.stderr, flush=True)
    os._exit(130)

run()
