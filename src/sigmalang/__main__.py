"""``python -m sigmalang``: the command line."""

from .cli import run

run()
