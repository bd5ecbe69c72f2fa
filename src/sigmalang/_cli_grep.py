"""``sigmalang grep``: search ΣLANG files with grep's habits, through their filters.

Arguments become a :class:`~sigmalang._search.Search`; this module only parses, prints and maps
outcomes to grep's exit codes: 0 a line was selected, 1 none was, 2 an error (even if some file
matched). A closed output (``| head -1``) ends the run as it ends the other commands (``cli.main``).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, BinaryIO

from ._cli_files import auto_workers, written_with
from ._cli_progress import Meter, _isatty, original_size, seek_table, terminal_bar
from ._errors import SigmaError
from ._parallel import resolve_workers, stop_pool, worker_pool
from ._search import Search
from ._words import plural
from .semantic.codebook import load_codebook

__all__ = ["build_grep_parser", "grep_main"]


def _byte_range(text: str) -> tuple[int, int | None]:
    start, sep, end = text.partition(":")
    try:
        low = int(start) if start else 0
        high = int(end) if end else None
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid range {text!r} (START:END, in bytes)") from None
    if not sep or low < 0 or (high is not None and high < low):
        raise argparse.ArgumentTypeError(f"invalid range {text!r} (START:END, in bytes)")
    return low, high


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def build_grep_parser(prog: str = "sigmalang") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{prog} grep",
        add_help=False,
        description="Print the lines of decoded ΣLANG files that match a pattern (Python re syntax, on bytes), "
        "decoding only the frames whose index filters may hold a match.",
    )
    p.add_argument("pattern", nargs="?", metavar="PATTERN", help="the pattern (unless -e is given)")
    p.add_argument("files", nargs="*", metavar="FILE", help="ΣLANG files ('-' or none: standard input)")
    p.add_argument("-e", "--regexp", action="append", dest="patterns", metavar="PATTERN", help="a pattern (repeatable)")
    p.add_argument("-F", "--fixed-strings", action="store_true", help="patterns are literal strings")
    p.add_argument("-i", "--ignore-case", action="store_true", help="ignore ASCII case")
    p.add_argument("-v", "--invert-match", action="store_true", help="select the lines that do not match")
    p.add_argument("-n", "--line-number", action="store_true", help="prefix each line with its line number")
    p.add_argument("-c", "--count", action="store_true", help="print the number of selected lines per file")
    p.add_argument("-l", "--files-with-matches", action="store_true", help="print the names of files with a match")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing; the exit status tells")
    p.add_argument("-m", "--max-count", type=_count, metavar="NUM", help="stop after NUM selected lines per file")
    names = p.add_mutually_exclusive_group()
    names.add_argument("-H", "--with-filename", action="store_true", help="prefix lines with the file name")
    names.add_argument("-h", "--no-filename", action="store_true", help="never prefix lines with the file name")
    p.add_argument("--range", type=_byte_range, metavar="START:END", help="search original bytes START to END only")
    workers_help = "decode frames on N workers (0: all; default: a worker per frame, up to one per CPU, from 8 MiB on)"
    p.add_argument("-T", "--workers", type=_count, default=None, metavar="N", help=workers_help)
    p.add_argument("--no-filter", dest="filters", action="store_false", help="ignore the filters: decode every frame")
    p.add_argument("-D", "--codebook", metavar="BOOK", help="codebook file the streams need")
    p.add_argument("--verbose", action="store_true", help="say how many frames each search decoded, and why")
    p.add_argument("--help", action="help", help="show this help and exit")
    return p


def grep_main(argv: list[str], prog: str = "sigmalang") -> int:
    """Run ``sigmalang grep`` with *argv* (after ``grep``); return grep's exit code."""
    parser = build_grep_parser(prog)
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if ns.patterns is None:
        if ns.pattern is None:
            parser.print_usage(sys.stderr)
            print(f"{prog}: grep: no pattern given", file=sys.stderr)
            return 2
        patterns, files = [ns.pattern], ns.files
    else:
        patterns, files = ns.patterns, ([ns.pattern] if ns.pattern is not None else []) + ns.files
    files = files or ["-"]
    if "-" in files and _isatty(sys.stdin):  # as decode: it would wait on the terminal for a stream
        parser.print_usage(sys.stderr)
        print(f"{prog}: grep: refusing to read compressed data from a terminal (give a file)", file=sys.stderr)
        return 2
    try:
        book = load_codebook(ns.codebook) if ns.codebook else None
        search = Search(
            [p.encode("utf-8", "surrogateescape") for p in patterns],
            fixed=ns.fixed_strings,
            ignore_case=ns.ignore_case,
            invert=ns.invert_match,
            filters=ns.filters,
            byte_range=ns.range,
        )
    except re.error as exc:
        print(f"{prog}: grep: bad pattern: {exc}", file=sys.stderr)
        return 2
    except (SigmaError, OSError) as exc:
        print(f"{prog}: grep: {exc}", file=sys.stderr)
        return 2
    search.codebook = book
    return _run(ns, search, files, prog)


def _run(ns: argparse.Namespace, search: Search, files: list[str], prog: str) -> int:
    out = sys.stdout.buffer
    named = ns.with_filename or (len(files) > 1 and not ns.no_filename)
    workers = resolve_workers(ns.workers) if ns.workers is not None else _auto_workers(files)
    # One worker decodes in a thread of its own, not in the main thread, as in the other commands
    # (_cli_services): a frame can take seconds in the model's compiled code, and Ctrl-C is acted
    # on in the main thread only.
    pool = worker_pool(workers) if workers > 1 else ThreadPoolExecutor(1, thread_name_prefix="sigmalang-coder")
    search.executor, search.ahead = pool, 2 * workers
    found, failed, ended = False, False, False
    try:
        for name in files:
            try:
                with _open(name) as fp, _progress(ns, name) as meter:
                    search.progress = None if meter is None else meter.done
                    selected = _one_file(ns, search, fp, name, named, out)
                    found = found or selected
                if ns.verbose:
                    _say_stats(search, name, prog)
            except BrokenPipeError:
                raise  # not this file's failure: there is no one left to write to
            except (SigmaError, OSError, ValueError) as exc:
                out.flush()
                print(f"{prog}: {name}: {exc}", file=sys.stderr)
                failed = True
            if found and ns.quiet:
                break
        out.flush()  # a reader gone (| head) raises BrokenPipeError: the command line ends quietly (141)
        ended = True
    finally:
        if isinstance(pool, ThreadPoolExecutor):
            pool.shutdown(wait=ended, cancel_futures=True)  # an interrupt does not wait for the frame
        else:
            stop_pool(pool, kill=not ended)  # an interrupt ends the workers at once
    return 2 if failed and not (found and ns.quiet) else (0 if found else 1)


def _auto_workers(files: list[str]) -> int:
    """Without -T: as the other commands decode (``_cli_files.auto_workers``), over the frames of
    all the files (those with an index; standard input counts for nothing)."""
    tables = [table for table in map(seek_table, files) if table is not None]
    if not tables:
        return 1
    frames, size = sum(len(t) for t in tables), sum(t.total_size for t in tables)
    chunks, levels = zip(*map(written_with, tables), strict=True)
    return auto_workers(frames, size, max(chunks), max(levels), "decode")


def _progress(ns: argparse.Namespace, name: str) -> contextlib.AbstractContextManager[Meter | None]:
    """The bar over the original bytes searched (from the index; a counter when there is none, as
    for standard input), on a terminal's standard error, only when the lines found do not go to a
    terminal too: the bar would be drawn between them."""
    if ns.quiet or _isatty(sys.stdout):
        return contextlib.nullcontext()
    size = original_size(name)
    start, end = ns.range or (0, None)
    return terminal_bar(name, None if size is None else max(0, (size if end is None else min(end, size)) - start))


@contextlib.contextmanager
def _open(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    with open(name, "rb") as fp:
        yield fp


def _one_file(ns: argparse.Namespace, search: Search, fp: IO[bytes], source: str, named: bool, out: BinaryIO) -> bool:
    """Print what grep prints for one file; whether any line was selected."""
    search.stats.frames = search.stats.decoded = 0
    search.stats.scanned_all = False
    limit = ns.max_count
    count = 0
    name = b"(standard input)" if source == "-" else source.encode("utf-8", "surrogateescape")
    prefix = name + b":" if named else b""
    quiet = ns.quiet or ns.files_with_matches
    if limit != 0:
        for number, line in search.lines(fp):
            count += 1
            if quiet:
                break
            if not ns.count:
                out.write(prefix + (b"%d:" % number if ns.line_number else b"") + line + b"\n")
            if limit is not None and count >= limit:
                break
    if ns.count and not ns.quiet:
        out.write(prefix + b"%d\n" % count)
    if ns.files_with_matches and count and not ns.quiet:
        out.write(name + b"\n")
    return count > 0


def _say_stats(search: Search, name: str, prog: str) -> None:
    stats = search.stats
    if stats.scanned_all:
        why = "every frame scanned"
        if not search.plan.informative():
            why += " (the pattern has no literal fragment of 3 bytes or a whole word)"
    else:
        shown = ", ".join(repr(f) for f in stats.fragments[:4])
        why = f"filters tested for {shown}"
    print(f"{prog}: {name}: decoded {stats.decoded:,} of {plural(stats.frames, 'frame')}; {why}", file=sys.stderr)
