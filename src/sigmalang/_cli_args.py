"""The command line's arguments: the two parsers and the options they read.

``sigmalang encode|decode|verify|recover|info|inspect|train ...`` (:func:`build_parser`) and the
flags a zstd or xz user types, ``sigmalang [-d|-t|-l] [-0..-9] [-c] [-k|--rm] [-f] FILE...``
(:func:`build_flat_parser`); :func:`parse` picks one by the first argument and returns
:class:`~sigmalang._cli_files.Options`. Nothing here opens a file or prints (but argparse's own
usage errors and a deprecation note).
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from . import __version__
from ._chunking import DEFAULT_CHUNK_SIZE
from ._cli_files import Options
from ._frames import RESET_INTERVAL
from ._levels import AUTO, DEFAULT_LEVEL, FORMATS, LEVELS
from ._stream_records import MAX_CHUNK_SIZE
from .inspect import SHOWN

__all__ = ["MIN_CHUNK_SIZE", "SUBCOMMANDS", "build_flat_parser", "build_parser", "parse", "parse_size"]

MIN_CHUNK_SIZE = 4 << 10  # below this, each frame's overhead costs more than the chunk's coding saves
SUBCOMMANDS = ("encode", "decode", "verify", "recover", "info", "inspect", "train")
_UNITS = {"": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}
_UNITS |= {"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}


def _bytes(text: str, examples: str) -> int:
    """A number of bytes with an optional unit: K, KB and KiB all mean 1024 (as in zstd); M and G likewise."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: {examples})")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def parse_size(text: str) -> int:
    """``"64KiB"`` → 65536 (:func:`_bytes`), a chunk size."""
    size = _bytes(text, "65536, 64KiB, 4MiB")
    if not MIN_CHUNK_SIZE <= size <= MAX_CHUNK_SIZE:
        low, high = MIN_CHUNK_SIZE >> 10, MAX_CHUNK_SIZE >> 20
        raise argparse.ArgumentTypeError(f"chunk size must be from {low} KiB to {high} MiB")
    return size


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid count {text!r} (a whole number, 0 or more)")
    return int(text)


def _sample_size(text: str) -> int:
    """``--sample-size``: 0 (no sample) to SAMPLE_MAX bytes, with the units of :func:`parse_size`."""
    from .semantic.codebook import SAMPLE_MAX

    size = _bytes(text, "0, 65536, 64KiB")
    if size > SAMPLE_MAX:
        raise argparse.ArgumentTypeError(f"a sample is at most {SAMPLE_MAX >> 10} KiB")
    return size


def _workers(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r} (0 means one per CPU)")
    return int(text)


def _level(text: str) -> int:
    if not text.isdigit() or int(text) not in LEVELS:
        raise argparse.ArgumentTypeError(f"invalid level {text!r} (0 to 9)")
    return int(text)


def _byte_range(text: str) -> tuple[int, int | None]:
    match = re.fullmatch(r"(\d*):(\d*)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"invalid range {text!r} (START:END in bytes; either may be empty)")
    start = int(match.group(1) or 0)
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        raise argparse.ArgumentTypeError(f"range end {end} is before its start {start}")
    return start, end


# -- the parsers ---------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser, recursive: bool = True) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="input files ('-' or none: standard input)")
    p.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks on errors")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    json_help = "results as JSON, one line per input, on standard output (standard error when data goes there)"
    p.add_argument("--json", action="store_true", help=json_help)
    workers_help = (
        "worker processes (0: one per CPU; default: one per frame, up to one per CPU, for files of"
        " 8 MiB or more, standard input too, at levels 3-9)"
    )
    p.add_argument("-T", "--workers", type=_workers, default=None, metavar="N", help=workers_help)
    if recursive:
        p.add_argument("-r", "--recursive", action="store_true", help="work on the files in directories too")
    p.add_argument("-D", "--codebook", metavar="BOOK", help="codebook file (from 'sigmalang train')")


def _writing(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="OUT", help="output file ('-' for standard output)")
    p.add_argument("--output-dir", metavar="DIR", help="write output files into DIR (which must exist)")
    p.add_argument("-c", "--stdout", action="store_true", help="write to standard output")
    p.add_argument("-f", "--force", action="store_true", help="overwrite; encode .sgl files; terminal I/O")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("-k", "--keep", action="store_true", help="keep the input file (the default)")
    keep.add_argument("--rm", action="store_true", help="remove the input after a successful, verified write")


def _encoding(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("level", f"-0 ... -9 or --level N: level 0 to 9 (default {DEFAULT_LEVEL}; 1 is fast)")
    group.add_argument("--level", type=_level, default=DEFAULT_LEVEL, metavar="N", help=argparse.SUPPRESS)
    for n in sorted(LEVELS):
        group.add_argument(f"-{n}", dest="level", action="store_const", const=n, help=argparse.SUPPRESS)
    group.add_argument("--fast", dest="level", action="store_const", const=1, help="level 1")
    group.add_argument("--best", dest="level", action="store_const", const=9, help="level 9")
    low, high, default = MIN_CHUNK_SIZE >> 10, MAX_CHUNK_SIZE >> 20, DEFAULT_CHUNK_SIZE >> 20
    size_help = f"chunk size, {low}KiB to {high}MiB (default {default}MiB; 8MiB at -7 and -8, 16MiB at -9)"
    p.add_argument("--chunk-size", type=parse_size, default=None, metavar="SIZE", help=size_help)
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=AUTO,
        help="what the input is: auto (the default) codes chunks that look like log lines as records (templates "
        "and columns) where that is smaller, at -3 to -9; text never codes records; logs codes every chunk as "
        "records, without trying the bytes too (faster; -1 to -9)",
    )
    p.add_argument(
        "--no-filter",
        dest="filters",
        action="store_false",
        help="write no search filters in the index (for 'sigmalang grep'; under 2%% of the stream)",
    )


def _shared(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--shared-context",
        action="store_true",
        help="carry context from frame to frame (better ratio at small chunks, long-range references up to "
        f"16 MiB back; frames decode in order, from a reset point every {RESET_INTERVAL} frames)",
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r} (0 to 65535; 0: any free port)")
    return int(text)


def _scaling(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("scaling out and watching (extras: pip install 'sigmalang[dask,metrics]')")
    group.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="code frames on a Dask cluster: tcp://HOST:PORT, or 'local' for a local cluster of -T processes",
    )
    group.add_argument(
        "--metrics-port", type=_port, metavar="N", help="serve Prometheus metrics on 127.0.0.1:N/metrics"
    )
    group.add_argument("--metrics-textfile", metavar="PATH", help="write Prometheus metrics to PATH at the end")
    group.add_argument("--progress", choices=["json"], help="json: one JSON line per second on standard error")


def _levels_ignored(p: argparse.ArgumentParser) -> None:
    """-0 ... -9, --fast and --best accepted and ignored, as zstd and xz do when decompressing: a
    level typed from habit is not read as a file name."""
    for flag in [f"-{n}" for n in sorted(LEVELS)] + ["--fast", "--best"]:
        p.add_argument(flag, dest="ignored_level", action="store_true", help=argparse.SUPPRESS)


def _decoding(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--range", type=_byte_range, metavar="START:END", help="only original bytes START to END, to stdout or -o"
    )
    p.add_argument("--salvage", action="store_true", help="on damage, write the intact prefix (and still exit 1)")


def build_parser(prog: str = "sigmalang") -> argparse.ArgumentParser:
    """The subcommand parser: ``sigmalang encode|decode|verify|recover|info|inspect|train ...``."""
    parser = argparse.ArgumentParser(prog=prog, description="ΣLANG: lossless glyph-stream codec for large text files.")
    parser.add_argument("--version", action="version", version=f"sigmalang {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    enc = sub.add_parser("encode", help="encode files into ΣLANG streams (FILE → FILE.sgl)")
    for add in (_common, _writing, _encoding, _shared, _scaling):
        add(enc)
    dec = sub.add_parser("decode", help="decode ΣLANG streams (FILE.sgl → FILE)")
    for add in (_common, _writing, _decoding, _scaling, _levels_ignored):
        add(dec)
    ver = sub.add_parser("verify", help="decode without writing; report every damaged frame")
    _common(ver)
    _levels_ignored(ver)
    rec = sub.add_parser("recover", help="salvage every intact frame of a damaged stream")
    _common(rec)
    _writing(rec)
    _common(sub.add_parser("info", help="show stream parameters, frames and sizes"))
    # Listed for the help only: main() hands "grep" to its own parser (grep's -c, -l, -v).
    sub.add_parser("grep", help="print matching lines, decoding only frames whose filters may match (grep --help)")
    ins = sub.add_parser(
        "inspect",
        help="show what the encoding does: glyph kinds, codebook, bytes, lines beside their glyphs",
        description="Inspect a ΣLANG stream, or a text file encoded in memory (--level, --chunk-size) as encode would.",
    )
    _common(ins, recursive=False)
    _encoding(ins)
    ins.add_argument("--frames", type=_count, metavar="K", help="read the glyph code of the first K frames only")
    ins.add_argument("--lines", type=_count, default=5, metavar="N", help="example lines to show (default 5)")
    ins.add_argument(
        "--top",
        type=_count,
        default=SHOWN,
        metavar="K",
        help=f"codebook entries and log templates to show (default {SHOWN})",
    )
    _add_train_parser(sub)
    return parser


def _add_train_parser(sub: Any) -> None:
    train_parser = sub.add_parser(
        "train",
        help="build a codebook file from sample files (for encode -D BOOK)",
        description=(
            "Count the words of the sample files and choose sample lines (in bounded memory); write the most"
            " frequent words and the lines as a codebook."
        ),
    )
    train_parser.set_defaults(workers=1)
    train_parser.add_argument("files", nargs="+", metavar="SAMPLE", help="sample files")
    train_parser.add_argument("-o", "--output", required=True, metavar="BOOK", help="codebook file to write")
    train_parser.add_argument("--words", type=_count, default=4096, metavar="N", help="most words (default 4096)")
    train_parser.add_argument(
        "--sample-size",
        type=_sample_size,
        default=64 << 10,
        metavar="SIZE",
        help="bytes of sample lines, 0 to 256KiB (default 64KiB; levels 4-9 read them before each frame)",
    )
    train_parser.add_argument("-f", "--force", action="store_true", help="overwrite an existing BOOK")
    train_parser.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    train_parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    train_parser.add_argument("--json", action="store_true", help="print the result as JSON on standard output")


def build_flat_parser(prog: str = "sigmalang") -> argparse.ArgumentParser:
    """The zstd/xz spelling: encode by default; ``-d``, ``-t`` and ``-l`` choose another command."""
    parser = argparse.ArgumentParser(
        prog=prog,
        usage=f"{prog} [-d|-t|-l] [-0..-9] [-c|-o OUT|--output-dir DIR] [-k|--rm] [-f] [-r] [options] [FILE ...]\n"
        f"       {prog} {{{','.join(SUBCOMMANDS)}}} ... (see '{prog} COMMAND -h')",
        description="ΣLANG: lossless glyph-stream codec for large text files. Without -d, -t or -l: encode.",
    )
    parser.add_argument("--version", action="version", version=f"sigmalang {__version__}")
    group = parser.add_argument_group("operation")
    mode = group.add_mutually_exclusive_group()
    mode.add_argument("-z", "--compress", dest="command", action="store_const", const="encode", help="encode")
    mode.add_argument("-d", "--decompress", dest="command", action="store_const", const="decode", help="decode")
    # -t and -l read only: with -d they still test or list (gunzip -t, unxz -l, sigmalang -dt).
    read_only = group.add_mutually_exclusive_group()
    read_only.add_argument("-t", "--test", dest="read_only", action="store_const", const="verify", help="verify")
    read_only.add_argument("-l", "--list", dest="read_only", action="store_const", const="info", help="stream info")
    parser.set_defaults(command="encode")
    for add in (_common, _writing, _encoding, _shared, _decoding, _scaling):
        add(parser)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return parser


def _old_level_spelling(args: list[str], warn: bool) -> list[str]:
    """``encode -l N`` (level) before ``-l`` meant list as in zstd: still read, with a note."""
    out: list[str] = []
    it = iter(args)
    for arg in it:
        if arg == "--":
            out += [arg, *it]
            break
        match = re.fullmatch(r"-l(\d*)", arg)
        if match:
            value = match.group(1) or next(it, "")
            if warn:
                print(f"sigmalang: -l {value} is deprecated: use -{value} or --level {value}", file=sys.stderr)
            arg = f"--level={value}"
        out.append(arg)
    return out


def parse(argv: list[str], prog: str = "sigmalang") -> tuple[argparse.ArgumentParser, Options]:
    """The parser that read *argv* (for its usage line) and the options."""
    for arg in argv:
        if arg == "--":
            break
        if re.fullmatch(r"-\d\d+", arg):
            build_flat_parser(prog).error(f"level {arg[1:]} is out of range (0 to 9)")
    if argv and argv[0] in SUBCOMMANDS:
        if argv[0] in ("encode", "inspect"):
            argv = [argv[0], *_old_level_spelling(argv[1:], warn="-q" not in argv and "--quiet" not in argv)]
        top = build_parser(prog)
        ns = top.parse_args(argv)
        parser = _subparser(top, ns.command)
    else:
        parser = build_flat_parser(prog)
        ns = parser.parse_args(argv)
        if ns.read_only is not None:  # test or list, whatever else was asked: they write nothing
            ns.command = ns.read_only
    fields = {k: v for k, v in vars(ns).items() if k in Options.__dataclass_fields__}
    return parser, Options(**fields)
