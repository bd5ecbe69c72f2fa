"""The ``sigmalang`` command line: parse arguments into options, call the file layer, report.

Two spellings: subcommands (``sigmalang encode|decode|verify|recover|info|inspect|train ...``) and
the flags a zstd or xz user types (``sigmalang [-d|-t|-l] [-0..-9] [-c] [-k|--rm] [-f] FILE...``);
``unsigmalang`` is ``sigmalang -d`` and ``sigmacat`` is ``sigmalang -dc``. The parsers are
:mod:`sigmalang._cli_args`; this module runs the command on each input and reports.

Exit codes: 0 success, 1 failure (bad data, I/O error), 2 usage error, 130 interrupted (SIGINT),
141 standard output closed by its reader (quietly, as a program ended by SIGPIPE), 143 terminated
(SIGTERM). Errors are one line on stderr; ``-v`` adds the traceback. Data written
to standard output never shares it with anything else: ``--json`` then goes to standard error.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

try:  # most of a command's start-up time: Ctrl-C here ends it as it would a moment later
    from . import _program  # noqa: F401 (first: it sets the process up before numpy loads)
    from ._cli_args import MIN_CHUNK_SIZE, parse, parse_size
    from ._cli_args import build_flat_parser as build_flat_parser  # the parsers: still importable from here
    from ._cli_args import build_parser as build_parser
    from ._cli_files import COMMANDS, Options, Outcome, UsageError, check_input, inputs, train
    from ._cli_services import services
    from ._errors import SigmaError
    from ._extras import MissingExtraError
    from ._inspect_format import format_report
    from ._parallel import return_freed_buffers
    from ._recover import ScanResult
    from ._words import plural
    from .semantic.codebook import load_codebook
except BaseException as _exc:  # Python 3.11 wraps one raised inside a class body in RuntimeError
    if not any(isinstance(e, KeyboardInterrupt) for e in (_exc, _exc.__cause__, _exc.__context__)):
        raise
    from ._program import as_program

    if not as_program():
        raise  # imported by a program of its own: the interrupt is its to handle
    print("sigmalang: interrupted", file=sys.stderr, flush=True)
    os._exit(130)  # not sys.exit: see _exit

__all__ = ["MIN_CHUNK_SIZE", "main", "parse_size", "run", "run_cat", "run_decode"]


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that clean-up runs."""


# An interrupt (Ctrl-C, SIGTERM) came when every input was done, its output in place: the run
# ended with its own status, and the process leaves at once (see _exit). Exit 130 always means
# that the input being worked on has no output; the outputs of the inputs done before it stay.
_stopped = False


def _models_to_build(opts: Options) -> int:
    """How many compiled copies of the model the command may build before its first frame is coded
    (a CM level, or a decode, on a machine without their files; most of a minute each), or 0 when
    nobody is watching standard error. An encode at levels 5-8 may use two: the level's full set,
    and its set for running text in a book's wrap code; a decode, those of the default level."""
    from ._backend_base import CM
    from ._cli_progress import _isatty
    from ._levels import DEFAULT_LEVEL, level_spec

    spec = level_spec(opts.level if opts.command == "encode" else DEFAULT_LEVEL)
    if not _isatty(sys.stderr) or spec.backend != CM:
        return 0
    from . import _cm, _cm_native
    from ._backends import cm_writer_version

    version = cm_writer_version(spec.backend_level)
    sets = {spec.backend_level, spec.for_paragraphs().backend_level}
    return sum(not _cm_native.ready(_cm.full_copy(components, version)) for components in sets)


# -- reporting -----------------------------------------------------------------------------------


def _say(opts: Options, source: str, outcome: Outcome) -> None:
    """The human-readable lines for one input (results on stdout for info and inspect, else stderr)."""
    if opts.verbose:
        for note in outcome.notes:
            print(f"sigmalang: {source}: note: {note}", file=sys.stderr)
    if opts.json:
        return
    result = outcome.result
    if opts.command == "info":
        _say_info(source, result)
    elif opts.command == "inspect":
        if not opts.quiet:
            for n, s in enumerate(result["streams"]):
                label = source if result["stream"] else f"{source} (encoded in memory)"
                label += f" (stream {n + 1})" if len(result["streams"]) > 1 else ""
                print("\n".join(format_report(s, label)))
    elif outcome.scan is not None:
        _say_scan(opts, source, outcome.scan)
        if opts.command == "recover" and not opts.quiet:
            print(f"{source}: wrote {outcome.scan.intact_bytes:,} intact bytes to {outcome.target}", file=sys.stderr)
    elif opts.command == "verify" and outcome.stats is not None and not opts.quiet:
        stats = outcome.stats
        print(f"{source}: OK ({plural(stats.chunks, 'frame')}, {stats.bytes_out:,} bytes)", file=sys.stderr)
    elif outcome.stats is not None and not opts.quiet and (outcome.target != "-" or opts.verbose):
        stats = outcome.stats
        sizes = f"{stats.bytes_in:,} → {stats.bytes_out:,} bytes"
        where = "standard output" if outcome.target == "-" else outcome.target
        print(f"{source}: {sizes} (ratio {stats.ratio:.3f}) in {stats.elapsed:.2f} s → {where}", file=sys.stderr)


def _say_info(source: str, result: dict[str, Any]) -> None:
    if "codebook" in result:
        print(f"{source}: ΣLANG codebook v{result['codebook']['version']}, {_book_line(result['codebook'])}")
        return
    streams = result["streams"]
    for n, s in enumerate(streams):
        label = source if len(streams) == 1 else f"{source} (stream {n + 1})"
        print(
            f"{label}: ΣLANG v{s['version']}, level {s['level']}, chunk size {s['chunk_size']:,}, "
            f"{plural(s['frames'], 'frame')}, {s['original_size']:,} → {s['encoded_size']:,} bytes "
            f"(ratio {s['ratio']:.3f}), {'shared context' if s['shared_context'] else 'independent frames'}, "
            f"BLAKE2b {s['checksum']}"
            + (f", needs codebook {s['codebook']}" if s["codebook"] else "")
            + (f", search filters {s['filter_size']:,} bytes" if s["filter_size"] else ", no search filters")
        )


def _say_scan(opts: Options, source: str, result: ScanResult) -> None:
    """One line per damaged frame, lost range and problem (nothing but OK when all is well)."""
    if opts.quiet and result.ok:
        return
    lines = [f"{source}: {p}" for p in result.problems]
    for n, stream in enumerate(result.streams):
        where = f"{source}" + (f" stream {n + 1}" if len(result.streams) > 1 else "")
        for d in stream.damaged:
            start, end = d.original_start, d.original_end
            held = f"original bytes {start}-{end}" if start is not None else "original bytes unknown"
            lines.append(f"{where}: frame {d.number} at byte offset {d.offset} ({held}): {d.error}")
        lines += [f"{where}: {p}" for p in stream.problems]
        lines += [f"{where}: lost original bytes {a}-{'end' if b is None else b}" for a, b in stream.lost]
    if result.ok:
        frames = sum(s.frames_ok for s in result.streams)
        lines.append(f"{source}: OK ({plural(frames, 'frame')}, {result.intact_bytes:,} bytes)")
    for line in lines:
        print(line, file=sys.stderr)


def _say_train(opts: Options, outcome: Outcome) -> None:
    if opts.quiet or opts.json:
        return
    r = outcome.result
    print(f"{r['output']}: from {plural(len(opts.files), 'file')}: {_book_line(r)}")


def _book_line(r: dict[str, Any]) -> str:
    return (
        f"{plural(r['words'], 'word')} ({r['short']:,} with one-byte codes) and {plural(r['sample'], 'byte')} "
        f"of sample lines, {r['bytes']:,} bytes, codebook id {r['id']}"
    )


# -- main ----------------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None, prog: str = "sigmalang") -> int:
    """Run the command line on *argv* (default: ``sys.argv[1:]``); return the exit code."""
    global _stopped
    _stopped = False
    args = list(sys.argv[1:] if argv is None else argv)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _command(args, prog)
    except KeyboardInterrupt:
        print("sigmalang: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of standard output went away (| head): end quietly, as zstd does
        with contextlib.suppress(OSError, ValueError):  # and let nothing flush into the closed pipe at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a program ended by SIGPIPE
    except Terminated:
        print("sigmalang: terminated", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)


def _command(args: list[str], prog: str) -> int:
    if args and args[0] == "grep":
        from ._cli_grep import grep_main  # grep has its own options (-c, -l, -v mean what they mean to grep)

        return grep_main(args[1:], prog)
    parser, opts = parse(args, prog)
    try:
        return _run(opts)
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        _report(str(exc), exc, opts.verbose)
        return 2


def _run(opts: Options) -> int:
    opts.check()
    # Data on standard output: the JSON goes to standard error, never into the data.
    json_out = sys.stderr if opts.data_on_stdout() else sys.stdout

    def emit(result: dict[str, Any]) -> None:
        if opts.json:
            print(json.dumps(result), file=json_out, flush=True)

    def warn(message: str) -> None:
        if not opts.quiet:
            print(f"sigmalang: {message}", file=sys.stderr)

    builds = _models_to_build(opts) if opts.command in ("encode", "decode", "verify") and not opts.quiet else 0
    if builds:
        how_long = "about a minute" if builds == 1 else "up to two minutes"
        warn(f"compiling the model for this machine: once, for {how_long}")
    try:
        if opts.command == "train":
            outcome = train(opts, warn)
            _say_train(opts, outcome)
            emit(outcome.result)
            return 0
        if opts.codebook is not None:
            opts.book = load_codebook(opts.codebook)
    except (SigmaError, OSError) as exc:
        _report(_describe(exc), exc, opts.verbose)
        emit({"ok": False, "error": _describe(exc)})
        return 1
    done = _Done()
    try:
        with services(opts):
            return _each_input(opts, warn, emit, done)
    except (KeyboardInterrupt, Terminated):
        if not done.finished:
            raise
        global _stopped
        _stopped = True  # the pool was being stopped, or the summary printed
        return done.status
    except BrokenPipeError:
        raise  # no one reads standard output any more: main() ends the run quietly
    except (MissingExtraError, OSError) as exc:  # an extra not installed, a cluster not reached
        _report(_describe(exc), exc, opts.verbose)
        emit({"ok": False, "error": _describe(exc)})
        return 1


@dataclass
class _Done:
    """How far a run has come: its exit status so far, and whether every input is done."""

    status: int = 0
    finished: bool = False


def _each_input(opts: Options, warn: Callable[[str], None], emit: Callable[[dict[str, Any]], None], done: _Done) -> int:
    for source, last in _and_last(inputs(opts, warn)):
        try:
            check_input(opts, source)
            outcome = COMMANDS[opts.command](opts, source, warn)
            if outcome.result.get("ok") is False:
                done.status = 1
            done.finished = last
            _say(opts, source, outcome)
            emit(outcome.result)
        except BrokenPipeError:
            raise  # not this input's failure: there is no one left to write to
        except (SigmaError, OSError) as exc:
            _report(f"{source}: {_describe(exc, source)}", exc, opts.verbose)
            emit({"input": source, "ok": False, "error": _describe(exc, source)})
            done.status = 1
            done.finished = last
        except (KeyboardInterrupt, Terminated):
            # Just after the last output was put in place (--rm: its input not yet removed, so not done)
            done.finished = done.finished or (last and not opts.rm and source in opts.written.values())
            raise
    done.finished = True
    return done.status


def _and_last(items: Iterator[str]) -> Iterator[tuple[str, bool]]:
    """Each of *items* with whether it is the last one."""
    previous = next(items, None)
    while previous is not None:
        item = next(items, None)
        yield previous, item is None
        previous = item


def _describe(exc: BaseException, source: str | None = None) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = f": {exc.filename}" if exc.filename and exc.filename != source else ""
        return f"{exc.strerror}{name}"
    return str(exc)


def _report(message: str, exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"sigmalang: {message}", file=sys.stderr)


def _exit(code: int) -> NoReturn:
    """Exit with *code*. After an interrupt, leave at once: a thread may still be blocked reading
    standard input (a terminal, a pipe), and the interpreter could not shut down around it; and
    an interrupt that went through code some extension ran (``PyRun_String``) makes the
    interpreter end itself with SIGINT at exit, whatever was caught, instead of with *code*.
    Otherwise the run is over, and an interrupt while the interpreter shuts down is ignored, so
    that the exit status stays *code*: by a handler that does nothing (SIG_IGN itself would be
    inherited by any process started meanwhile), then, from the exit handlers on, by SIG_IGN (late
    in its shutdown the interpreter puts back the default handlers, which end the process by the
    signal)."""
    if code in (130, 143) or _stopped:
        _leave(code)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore)
    atexit.register(_ignore_to_the_end)
    sys.exit(code)


def _ignore(signum: int, frame: Any) -> None:
    """A signal that comes after the run: nothing to do."""


def _ignore_to_the_end() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def _leave(code: int) -> NoReturn:
    from ._parallel import release_at_exit

    release_at_exit()
    # Interrupted, standard output's data is cut short anyway: only what was said is flushed.
    streams = (sys.stderr,) if code in (130, 143) else (sys.stdout, sys.stderr)
    for stream in streams:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def _entry(prefix: list[str], prog: str) -> NoReturn:
    """One of the programs: this process is the command (its allocator's settings are ours to
    choose), not a program that calls :func:`main`."""
    return_freed_buffers()
    try:
        code = main([*prefix, *sys.argv[1:]], prog)
    except KeyboardInterrupt:  # before the command started (parsing, imports)
        print("sigmalang: interrupted", file=sys.stderr)
        code = 130
    _exit(code)


def run() -> NoReturn:
    """The ``sigmalang`` program."""
    _entry([], "sigmalang")


def run_decode() -> NoReturn:
    """The ``unsigmalang`` program: ``sigmalang -d``."""
    _entry(["-d"], "unsigmalang")


def run_cat() -> NoReturn:
    """The ``sigmacat`` program: ``sigmalang -dc``."""
    _entry(["-dc"], "sigmacat")


if __name__ == "__main__":
    run()
