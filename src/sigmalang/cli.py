"""The ``sigmalang`` command line: parse arguments into options, call the library, report.

Exit codes: 0 success, 1 failure (bad data, I/O error), 2 usage error, 130 interrupted (SIGINT),
143 terminated (SIGTERM). Errors are one line on stderr; ``-v`` adds the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from . import __version__
from ._inspect_format import format_report
from .codec import DEFAULT_LEVEL, LEVELS, RESET_INTERVAL
from .compressor import DEFAULT_CHUNK_SIZE
from .container import MAX_CHUNK_SIZE, StreamParser
from .errors import SigmaError, SigmaFormatError
from .file import SigmaFile
from .inspect import inspect_file
from .recover import ScanResult, scan
from .semantic.codebook import Codebook, load_codebook, train_codebook
from .stream import StreamingDecoder, StreamingEncoder, StreamStats, atomic_output, read_info

__all__ = ["main", "parse_size"]

SUFFIX = ".sgl"
PROGRESS_MIN_BYTES = 8 << 20
_UNITS = {
    "": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
}


class UsageError(Exception):
    """A problem with the command line itself (exit code 2)."""


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM so that clean-up runs."""


def parse_size(text: str) -> int:
    """``"64KiB"`` → 65536. K, KB and KiB all mean 1024 (as in zstd); M and G likewise."""
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (examples: 65536, 64KiB, 4MiB)")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if not 1 <= size <= MAX_CHUNK_SIZE:
        raise argparse.ArgumentTypeError(f"size must be from 1 byte to {MAX_CHUNK_SIZE >> 20} MiB")
    return size


def _workers(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid worker count {text!r} (0 means one per CPU)")
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("files", nargs="*", metavar="FILE", help="input files ('-' or none: standard input)")
    common.add_argument("-v", "--verbose", action="store_true", help="more detail; tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    common.add_argument("--json", action="store_true", help="print results as JSON on standard output")
    common.add_argument(
        "-T",
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes (0: one per CPU; default 1)",
    )

    writing = argparse.ArgumentParser(add_help=False)
    writing.add_argument("-o", "--output", metavar="OUT", help="output file ('-' for standard output)")
    writing.add_argument("-c", "--stdout", action="store_true", help="write to standard output")
    writing.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite existing output; write binary to a terminal",
    )
    keep = writing.add_mutually_exclusive_group()
    keep.add_argument("-k", "--keep", action="store_true", help="keep the input file (the default)")
    keep.add_argument("--rm", action="store_true", help="remove the input after a successful, verified write")

    parser = argparse.ArgumentParser(
        prog="sigmalang", description="ΣLANG: lossless glyph-stream codec for large text files."
    )
    parser.add_argument("--version", action="version", version=f"sigmalang {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    encoding = argparse.ArgumentParser(add_help=False)
    level_help = f"level 0-9 (default {DEFAULT_LEVEL}; 1 is fast)"
    encoding.add_argument(
        "-l", "--level", type=int, choices=sorted(LEVELS), default=DEFAULT_LEVEL, metavar="N", help=level_help
    )
    size_help = f"chunk size, e.g. 64KiB, 1MiB (default {DEFAULT_CHUNK_SIZE >> 20}MiB)"
    encoding.add_argument("--chunk-size", type=parse_size, default=DEFAULT_CHUNK_SIZE, metavar="SIZE", help=size_help)

    enc = sub.add_parser(
        "encode", parents=[common, writing, encoding], help="encode files into ΣLANG streams (FILE → FILE.sgl)"
    )
    enc.add_argument(
        "--shared-context",
        action="store_true",
        help="carry context from frame to frame (better ratio at small chunks, and long-range references "
        "to repeats up to 16 MiB back; frames decode in order, "
        f"from a reset point every {RESET_INTERVAL} frames)",
    )
    dec = sub.add_parser("decode", parents=[common, writing], help="decode ΣLANG streams (FILE.sgl → FILE)")
    dec.add_argument("--range", type=_byte_range, metavar="START:END", help="write only original bytes START to END")
    dec.add_argument("--salvage", action="store_true", help="on damage, write the intact prefix (and still exit 1)")
    sub.add_parser("verify", parents=[common], help="decode without writing; report every damaged frame")
    sub.add_parser("recover", parents=[common, writing], help="salvage every intact frame of a damaged stream")
    sub.add_parser("info", parents=[common], help="show stream parameters, frames and sizes")
    _add_inspect_parser(sub, [common, encoding])
    for name in ("encode", "decode", "verify", "recover", "info", "inspect"):
        sub.choices[name].add_argument(
            "-D",
            "--codebook",
            metavar="BOOK",
            help="codebook file (from 'sigmalang train'): encode with it, or decode streams that name it",
        )
    _add_train_parser(sub)
    return parser


def _add_train_parser(sub: Any) -> None:
    train = sub.add_parser(
        "train",
        help="build a codebook file from sample files (for encode -D BOOK)",
        description="Count the words of the sample files (in bounded memory); write the most frequent as a codebook.",
    )
    train.set_defaults(workers=1)
    train.add_argument("files", nargs="+", metavar="SAMPLE", help="sample files")
    train.add_argument("-o", "--output", required=True, metavar="BOOK", help="codebook file to write")
    train.add_argument("--words", type=_count, default=4096, metavar="N", help="most words to keep (default 4096)")
    train.add_argument("-f", "--force", action="store_true", help="overwrite an existing BOOK")
    train.add_argument("-v", "--verbose", action="store_true", help="tracebacks on errors")
    train.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    train.add_argument("--json", action="store_true", help="print the result as JSON on standard output")


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"invalid count {text!r} (a whole number, 0 or more)")
    return int(text)


def _add_inspect_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    ins = sub.add_parser(
        "inspect",
        parents=parents,
        help="show what the encoding does: glyph kinds, codebook, bytes, lines beside their glyphs",
        description="Inspect a ΣLANG stream, or a text file encoded in memory (-l, --chunk-size) as encode would.",
    )
    ins.add_argument("--frames", type=_count, metavar="K", help="read the glyph code of the first K frames only")
    ins.add_argument("--lines", type=_count, default=5, metavar="N", help="example lines to show (default 5)")
    ins.add_argument("--top", type=_count, default=10, metavar="K", help="codebook entries to show (default 10)")


@dataclass
class Options:
    command: str
    files: list[str]
    verbose: bool
    quiet: bool
    json: bool
    workers: int
    output: str | None = None
    stdout: bool = False
    force: bool = False
    rm: bool = False
    level: int = DEFAULT_LEVEL
    chunk_size: int = DEFAULT_CHUNK_SIZE
    shared_context: bool = False
    range: tuple[int, int | None] | None = None
    salvage: bool = False
    frames: int | None = None
    lines: int = 5
    top: int = 10
    codebook: str | None = None
    words: int = 4096
    book: Codebook | None = None  # the loaded codebook file

    @classmethod
    def from_args(cls, ns: argparse.Namespace) -> Options:
        fields = {k: v for k, v in vars(ns).items() if k in cls.__dataclass_fields__}
        opts = cls(**fields)
        opts.files = opts.files or ["-"]
        if opts.output is not None and len(opts.files) > 1 and opts.command != "train":
            raise UsageError("-o takes one input file")
        if opts.stdout and opts.output not in (None, "-"):
            raise UsageError("-c and -o cannot be used together")
        if opts.rm and "-" in opts.files:
            raise UsageError("--rm needs input files, not standard input")
        if opts.command == "recover" and "-" in opts.files:
            raise UsageError("recover needs a file it can seek in, not standard input")
        if opts.rm and (opts.command == "recover" or opts.range is not None):
            raise UsageError("--rm cannot be used with recover or --range")
        return opts

    def to_stdout(self, source: str) -> bool:
        return self.stdout or self.output == "-" or (self.output is None and source == "-")


def _output_name(opts: Options, source: str) -> str:
    if opts.output is not None:
        return opts.output
    if opts.command == "encode":
        return source + SUFFIX
    if opts.command == "recover":
        return (source[: -len(SUFFIX)] if source.endswith(SUFFIX) else source) + ".recovered"
    if not source.endswith(SUFFIX) or source == SUFFIX:
        raise UsageError(f"{source}: unknown suffix (expected {SUFFIX}); use -o to name the output")
    return source[: -len(SUFFIX)]


@contextlib.contextmanager
def _progress(opts: Options, source: str) -> Iterator[Callable[[int], None] | None]:
    size = os.path.getsize(source) if source != "-" and os.path.isfile(source) else 0
    if opts.quiet or opts.json or size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(
        total=size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=os.path.basename(source),
        file=sys.stderr,
        leave=False,
    ) as bar:
        yield bar.update


def _open_input(source: str) -> contextlib.AbstractContextManager[IO[bytes]]:
    if source == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    return open(source, "rb")


@contextlib.contextmanager
def _output(opts: Options, source: str) -> Iterator[tuple[IO[bytes], str]]:
    """Standard output, or a temporary file that becomes the output only if the body succeeds."""
    if opts.to_stdout(source):
        if opts.command == "encode" and sys.stdout.isatty() and not opts.force:
            raise UsageError("refusing to write binary data to a terminal (use -f to force)")
        yield sys.stdout.buffer, "-"
        sys.stdout.buffer.flush()
        return
    target = _output_name(opts, source)
    if source != "-" and os.path.exists(target) and os.path.samefile(source, target):
        raise UsageError(f"{source}: input and output are the same file")
    with atomic_output(target, overwrite=opts.force) as fout:
        yield fout, target


def _run_codec(opts: Options, source: str, progress: Callable[[int], None] | None) -> tuple[StreamStats, str]:
    codec: StreamingEncoder | StreamingDecoder
    if opts.command == "encode":
        codec = StreamingEncoder(
            opts.level,
            opts.chunk_size,
            workers=opts.workers,
            progress=progress,
            codebook=opts.book,
            shared_context=opts.shared_context,
        )
        run = codec.encode_stream
    else:
        codec = StreamingDecoder(workers=opts.workers, progress=progress, codebook=opts.book)
        run = codec.decode_stream
    try:
        with _open_input(source) as fin, _output(opts, source) as (fout, target):
            return run(fin, fout), target
    except SigmaFormatError as exc:
        if opts.salvage and opts.command == "decode":
            _salvage(opts, source, exc)
        raise


def _salvage(opts: Options, source: str, exc: SigmaFormatError) -> None:
    """Write the intact prefix of a damaged stream, then let the error be reported."""
    if source == "-":
        print("sigmalang: --salvage needs a file it can seek in, not standard input", file=sys.stderr)
        return
    with open(source, "rb") as fin, _output(opts, source) as (fout, target):
        result = scan(fin, fout.write, stop_at_loss=True, codebook=opts.book)
    print(
        f"sigmalang: {source}: salvaged the intact first {result.intact_bytes:,} bytes into {target}", file=sys.stderr
    )


def _range_command(opts: Options, source: str) -> dict[str, Any]:
    assert opts.range is not None
    start, end = opts.range
    written = 0
    with (
        SigmaFile(source if source != "-" else sys.stdin.buffer, "rb", codebook=opts.book) as fin,
        _output(opts, source) as (fout, target),
    ):
        fin.seek(start)
        while end is None or written < end - start:
            want = 1 << 20 if end is None else min(1 << 20, end - start - written)
            data = fin.read(want)
            if not data:
                break
            fout.write(data)
            written += len(data)
    return {"input": source, "output": target, "start": start, "bytes_out": written}


def _verify_written(opts: Options, target: str) -> None:
    """Before --rm deletes an input: decode what was written (checksums included)."""
    if opts.command == "encode":
        with open(target, "rb") as fin:
            StreamingDecoder(workers=opts.workers, codebook=opts.book).decode_stream(fin, _NullSink())


class _NullSink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _codec_command(opts: Options, source: str) -> dict[str, Any]:
    if opts.range is not None:
        return _range_command(opts, source)
    with _progress(opts, source) as progress:
        stats, target = _run_codec(opts, source, progress)
    if opts.rm and target != "-":
        _verify_written(opts, target)
        os.unlink(source)
    result = {"input": source, "output": target, **stats.as_dict()}
    if opts.verbose:
        for note in stats.notes:
            print(f"sigmalang: {source}: note: {note}", file=sys.stderr)
    if not opts.quiet and not opts.json and target != "-":
        sizes = f"{stats.bytes_in:,} → {stats.bytes_out:,} bytes"
        print(f"{source}: {sizes} (ratio {stats.ratio:.3f}) in {stats.elapsed:.2f} s → {target}", file=sys.stderr)
    return result


def _verify_command(opts: Options, source: str) -> dict[str, Any]:
    if source == "-" or not os.path.isfile(source):  # not seekable: one forward pass
        with _open_input(source) as fin:
            stats = StreamingDecoder(workers=opts.workers, codebook=opts.book).decode_stream(fin, _NullSink())
        if not opts.quiet and not opts.json:
            print(f"{source}: OK ({stats.chunks} frames, {stats.bytes_out:,} bytes)", file=sys.stderr)
        return {"input": source, "ok": True, **stats.as_dict()}
    with open(source, "rb") as fin:
        _check_codebooks(fin, opts.book)
        result = scan(fin, workers=opts.workers, codebook=opts.book)
    _print_scan(opts, source, result)
    return {"input": source, **result.as_dict()}


def _recover_command(opts: Options, source: str) -> dict[str, Any]:
    with open(source, "rb") as fin, _output(opts, source) as (fout, target):
        _check_codebooks(fin, opts.book)
        result = scan(fin, fout.write, workers=opts.workers, codebook=opts.book)
    _print_scan(opts, source, result)
    if not opts.quiet and not opts.json:
        print(f"{source}: wrote {result.intact_bytes:,} intact bytes to {target}", file=sys.stderr)
    return {"input": source, "output": target, **result.as_dict()}


def _check_codebooks(fin: IO[bytes], book: Codebook | None) -> None:
    """One clear error before a scan when the first stream names a codebook that was not given."""
    parser = StreamParser(codebook_id=book.id if book is not None else b"")
    parser.feed(fin.read(4096))
    fin.seek(0)
    with contextlib.suppress(SigmaFormatError):  # a damaged start is the scan's to report
        parser.next_event()


def _print_scan(opts: Options, source: str, result: ScanResult) -> None:
    """One line per damaged frame, lost range and problem (nothing but OK when all is well)."""
    if opts.json or (opts.quiet and result.ok):
        return
    lines = [f"{source}: {p}" for p in result.problems]
    for n, stream in enumerate(result.streams):
        where = f"{source}" + (f" stream {n + 1}" if len(result.streams) > 1 else "")
        for d in stream.damaged:
            held = (
                f"original bytes {d.orig_start}-{d.orig_end}" if d.orig_start is not None else "original bytes unknown"
            )
            lines.append(f"{where}: frame {d.number} at byte offset {d.offset} ({held}): {d.error}")
        lines += [f"{where}: {p}" for p in stream.problems]
        lines += [f"{where}: lost original bytes {a}-{'end' if b is None else b}" for a, b in stream.lost]
    if result.ok:
        frames = sum(s.frames_ok for s in result.streams)
        lines.append(f"{source}: OK ({frames} frames, {result.intact_bytes:,} bytes)")
    for line in lines:
        print(line, file=sys.stderr)


def _info_command(opts: Options, source: str) -> dict[str, Any]:
    with _open_input(source) as fin:
        infos = read_info(fin)
    streams = [dict(vars(i), ratio=round(i.ratio, 4)) for i in infos]
    if not opts.json:
        for n, s in enumerate(streams):
            label = source if len(streams) == 1 else f"{source} (stream {n + 1})"
            print(
                f"{label}: ΣLANG v{s['version']}, level {s['level']}, chunk size {s['chunk_size']:,}, "
                f"{s['frames']} frames, {s['original_size']:,} → {s['encoded_size']:,} bytes (ratio {s['ratio']:.3f}), "
                f"{'shared context' if s['shared_context'] else 'independent frames'}, BLAKE2b {s['checksum']}"
                + (f", needs codebook {s['codebook']}" if s["codebook"] else "")
            )
    return {"input": source, "streams": streams}


def _inspect_command(opts: Options, source: str) -> dict[str, Any]:
    with _open_input(source) as fin:
        is_stream, reports = inspect_file(
            fin,
            level=opts.level,
            chunk_size=opts.chunk_size,
            frames=opts.frames,
            lines=opts.lines,
            top=opts.top,
            codebook=opts.book,
        )
    streams = [r.as_dict() for r in reports]
    if not opts.json and not opts.quiet:
        for n, s in enumerate(streams):
            label = source if is_stream else f"{source} (encoded in memory)"
            label += f" (stream {n + 1})" if len(streams) > 1 else ""
            print("\n".join(format_report(s, label)))
    return {"input": source, "stream": is_stream, "streams": streams}


def _train(opts: Options) -> dict[str, Any]:
    """``sigmalang train``: one codebook from all the sample files, written atomically."""
    assert opts.output is not None
    book = train_codebook(opts.files, words=opts.words)
    data = book.to_bytes()
    with atomic_output(opts.output, overwrite=opts.force) as fout:
        fout.write(data)
    result = {
        "output": opts.output,
        "words": len(book.words),
        "short": min(book.short, len(book.words)),
        "bytes": len(data),
        "id": book.id.hex(),
    }
    if not opts.quiet and not opts.json:
        print(
            f"{opts.output}: {result['words']} words ({result['short']} with one-byte codes) from "
            f"{len(opts.files)} files, {len(data):,} bytes, codebook id {result['id']}"
        )
    return result


COMMANDS: dict[str, Callable[[Options, str], dict[str, Any]]] = {
    "encode": _codec_command,
    "decode": _codec_command,
    "verify": _verify_command,
    "recover": _recover_command,
    "info": _info_command,
    "inspect": _inspect_command,
}


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    verbose = ns.verbose
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    results: list[dict[str, Any]] = []
    status = 0
    try:
        opts = Options.from_args(ns)
        if opts.command == "train" or opts.codebook is not None:
            try:
                if opts.command == "train":
                    results.append(_train(opts))
                    opts.files = []
                elif opts.codebook is not None:
                    opts.book = load_codebook(opts.codebook)
            except (SigmaError, OSError) as exc:
                _report(_describe(exc), exc, verbose)
                results.append({"ok": False, "error": _describe(exc)})
                opts.files, status = [], 1
        for source in opts.files:
            try:
                results.append(COMMANDS[opts.command](opts, source))
                if results[-1].get("ok") is False:
                    status = 1
            except (SigmaError, OSError) as exc:
                _report(f"{source}: {_describe(exc)}", exc, verbose)
                results.append({"input": source, "ok": False, "error": _describe(exc)})
                status = 1
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        _report(str(exc), exc, verbose)
        return 2
    except KeyboardInterrupt:
        print("sigmalang: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("sigmalang: terminated", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    if ns.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return status


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        name = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{name}"
    return str(exc)


def _report(message: str, exc: BaseException, verbose: bool) -> None:
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"sigmalang: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
