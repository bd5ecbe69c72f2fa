"""File handling for the command line: which inputs, which outputs, and one command run on one input.

The command line (``cli.py``) parses arguments into :class:`Options` and prints; the functions here
open files, run the library and return what happened as an :class:`Outcome`, and print nothing but
the progress bar (on a terminal: :mod:`sigmalang._cli_progress`) and warnings through the callback
they are given.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal, cast

from ._chunking import Prefixed
from ._cli_progress import Meter, _CountingReader, _CountingWriter, _isatty, original_size, seek_table, terminal_bar
from ._container import StreamParser
from ._errors import SigmaError, SigmaFormatError
from ._file import SigmaFile
from ._fsspec import is_url, open_url
from ._index import SeekTable
from ._info import read_info
from ._levels import AUTO, DEFAULT_LEVEL, check_format, chunk_size_for
from ._output import atomic_output
from ._recover import ScanResult, scan
from ._stats import StreamStats
from ._stream import StreamingDecoder, StreamingEncoder
from ._stream_records import MAX_CHUNK_SIZE
from .inspect import inspect_file
from .semantic.codebook import (
    BOOK_MAGIC,
    MAX_BOOK_SIZE,
    MIN_COUNT,
    SAMPLE_DEFAULT,
    Codebook,
    parse_book,
    train_codebook,
)

SUFFIX = ".sgl"
WRITERS = ("encode", "decode", "recover")  # the commands that write data
READS_STREAMS = ("decode", "verify", "info", "recover")  # the commands whose input is a ΣLANG stream

Warn = Callable[[str], None]


class UsageError(Exception):
    """A problem with the command line itself (exit code 2)."""


@dataclass
class Options:
    command: str
    files: list[str]
    verbose: bool = False
    quiet: bool = False
    json: bool = False
    workers: int | None = None  # -T; None: chosen per input (coders)
    output: str | None = None
    output_dir: str | None = None
    stdout: bool = False
    force: bool = False
    rm: bool = False
    recursive: bool = False
    level: int = DEFAULT_LEVEL
    chunk_size: int | None = None  # None: the level's own (chunk_size_for)
    format: str = AUTO  # what the input is taken for when encoding: auto, text or logs
    shared_context: bool = False
    filters: bool = True
    range: tuple[int, int | None] | None = None
    salvage: bool = False
    frames: int | None = None
    lines: int = 5
    top: int = 10
    codebook: str | None = None
    words: int = 4096
    sample_size: int = SAMPLE_DEFAULT
    scheduler: str | None = None  # a Dask scheduler's address, or "local"
    metrics_port: int | None = None
    metrics_textfile: str | None = None
    progress: str | None = None  # "json"
    book: Codebook | None = None  # the loaded codebook file
    executor: Any = None  # set for the run: the cluster's executor (--scheduler)
    metrics: Any = None  # set for the run: what watches each pipeline (metrics, JSON progress)
    registry: Any = None  # set for the run: the Metrics, when asked for
    written: dict[str, str] = field(default_factory=dict)  # the run's output files (real path) → their input

    def check(self) -> Options:
        """Raise :class:`UsageError` for options that do not go together."""
        self.files = self.files or ["-"]
        writes = self.command in WRITERS or self.command == "train"
        if not writes and (self.stdout or self.output is not None or self.output_dir is not None):
            raise UsageError(f"{self.command} writes no output file: -c, -o and --output-dir do not apply")
        if self.output is not None and self.output_dir is not None:
            raise UsageError("-o and --output-dir cannot be used together")
        if self.output is not None and (len(self.files) > 1 or self.recursive) and self.command != "train":
            raise UsageError("-o takes one input file (use --output-dir for several)")
        if self.stdout and (self.output not in (None, "-") or self.output_dir is not None):
            raise UsageError("-c cannot be used with -o or --output-dir")
        if self.rm and "-" in self.files:
            raise UsageError("--rm needs input files, not standard input")
        if self.rm and (any(is_url(name) for name in self.files) or is_url(self.output)):
            raise UsageError("--rm works on local files, not URLs")
        if self.command == "recover" and "-" in self.files:
            raise UsageError("recover needs a file it can seek in, not standard input")
        if self.rm and (self.command == "recover" or self.range is not None):
            raise UsageError("--rm cannot be used with recover or --range")
        if (self.range is not None or self.salvage) and self.command != "decode":
            raise UsageError("--range and --salvage are for decoding")
        if self.range is not None and (self.salvage or self.output_dir is not None):
            raise UsageError("--range writes to standard output or to -o FILE only (no --salvage, no --output-dir)")
        if self.output_dir is not None and "-" in self.files:
            raise UsageError("--output-dir needs input files, not standard input (use -o)")
        if self.recursive and "-" in self.files:
            raise UsageError("-r needs files and directories, not standard input")
        if self.scheduler is not None and self.command not in ("encode", "decode"):
            raise UsageError("--scheduler is for encode and decode")
        if self.scheduler is not None and self.range is not None:
            raise UsageError("--range decodes here, through the index: --scheduler does not apply")
        if self.format != AUTO and self.command not in ("encode", "inspect"):
            raise UsageError(f"--format is for encoding: {self.command} reads how each frame was coded from the stream")
        if self.command in ("encode", "inspect"):
            try:
                check_format(self.format, self.level)
            except ValueError:
                raise UsageError("--format logs needs a level of 1 to 9 (-0 stores chunks as they are)") from None
        return self

    def to_stdout(self, source: str) -> bool:
        """Whether this command's data for *source* goes to standard output."""
        if self.command not in WRITERS:
            return False
        if self.range is not None:  # a slice never takes the full decode's file name
            return self.output in (None, "-")
        if self.output_dir is not None:
            return False
        return self.stdout or self.output == "-" or (self.output is None and source == "-")

    def data_on_stdout(self) -> bool:
        """Whether any data of this run goes to standard output (then nothing else may)."""
        return any(self.to_stdout(source) for source in self.files)


@dataclass
class Outcome:
    """What one command did to one input: ``result`` is what ``--json`` prints."""

    result: dict[str, Any]
    stats: StreamStats | None = None
    scan: ScanResult | None = None
    target: str = "-"
    notes: list[str] = field(default_factory=list)


# -- which inputs --------------------------------------------------------------------------------


def inputs(opts: Options, warn: Warn) -> Iterator[str]:
    """The inputs to work on: *opts.files* with directories walked (``-r``) and ``.sgl`` files
    skipped on encode (with a warning for the ones named, unless ``-f``)."""
    for name in opts.files:
        if opts.recursive and os.path.isdir(name):
            yield from _walk(opts, name)
        elif opts.command == "encode" and name != "-" and name.endswith(SUFFIX) and not opts.force:
            warn(f"{name}: already has the {SUFFIX} suffix, skipped (use -f to encode it again)")
        else:
            yield name


def _walk(opts: Options, top: str) -> Iterator[str]:
    """The regular files under *top* in name order: on encode those without the suffix, else those with it."""
    for directory, subdirs, names in os.walk(top):
        subdirs.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            if name.endswith(SUFFIX) != (opts.command == "encode"):
                yield path


def check_input(opts: Options, source: str) -> None:
    """Refuse what cannot be an input: a directory, or compressed data from a terminal."""
    if source == "-":
        if opts.command in READS_STREAMS and not opts.force and _isatty(sys.stdin):
            raise UsageError("refusing to read compressed data from a terminal (give a file, or use -f)")
    elif os.path.isdir(source):
        raise IsADirectoryError(errno.EISDIR, "Is a directory (use -r to work on the files in it)")


def _open_input(source: str) -> contextlib.AbstractContextManager[IO[bytes]]:
    if source == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    if is_url(source):
        return open_url(source, "rb")  # type: ignore[no-any-return]
    return open(source, "rb")


# -- which outputs -------------------------------------------------------------------------------


def output_name(opts: Options, source: str) -> str:
    if opts.output is not None:
        return opts.output
    if opts.command == "encode":
        name = source + SUFFIX
    elif opts.command == "recover":
        name = (source[: -len(SUFFIX)] if source.endswith(SUFFIX) else source) + ".recovered"
    elif not source.endswith(SUFFIX) or os.path.basename(source) == SUFFIX:
        raise UsageError(f"{source}: unknown suffix (expected {SUFFIX}); use -o to name the output")
    else:
        name = source[: -len(SUFFIX)]
    if opts.output_dir is not None:
        return os.path.join(opts.output_dir, os.path.basename(name))
    return name


@contextlib.contextmanager
def _output(opts: Options, source: str) -> Iterator[tuple[IO[bytes], str]]:
    """Standard output, or a temporary file that becomes the output only if the body succeeds."""
    if opts.to_stdout(source):
        if opts.command == "encode" and not opts.force and _isatty(sys.stdout):
            raise UsageError("refusing to write compressed data to a terminal (use -f to force)")
        stdout = _WholeWrites(sys.stdout.buffer)
        yield cast(IO[bytes], stdout), "-"  # what is written to an output: write() and flush() only
        stdout.flush()
        return
    target = output_name(opts, source)
    if is_url(target) or is_url(source):
        if target == source:
            raise UsageError(f"{source}: input and output are the same file")
        with atomic_output(target, overwrite=opts.force) as fout:
            yield fout, target
        return
    if source != "-" and os.path.exists(target) and os.path.samefile(source, target):
        raise UsageError(f"{source}: input and output are the same file")
    directory = os.path.dirname(target) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, "no such output directory", directory)
    # Two inputs of the same name (--output-dir keeps the name only): never one output over the other.
    real, first = os.path.realpath(target), opts.written.get(os.path.realpath(target))
    if first is not None and os.path.realpath(first) != os.path.realpath(source):
        raise FileExistsError(errno.EEXIST, f"would replace the output of {first} from this run", target)
    with atomic_output(target, overwrite=opts.force, published=lambda: opts.written.update({real: source})) as fout:
        yield fout, target


class _WholeWrites:
    """Standard output, written in full or not at all.

    When the reader of a pipe goes away in the middle of a large write, the buffered writer can
    return a short count instead of raising: writing the rest then raises ``BrokenPipeError``, so
    the run cannot end with success while part of its data went nowhere.
    """

    def __init__(self, out: IO[bytes]):
        self._out = out

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = self._out.write(view)
            view = view[written if written is not None else len(view) :]
        return len(data)

    def flush(self) -> None:
        self._out.flush()


# -- progress (the bar itself: _cli_progress.py) -------------------------------------------------


def progress_bar(opts: Options, source: str, total: int | None) -> contextlib.AbstractContextManager[Meter | None]:
    """A bar on standard error, in original bytes, when it is a terminal and the run is long
    (*total* None: the size is unknown, a counter)."""
    if opts.quiet or opts.json:
        return contextlib.nullcontext()
    return terminal_bar(source, total)


# -- the commands, one input at a time -----------------------------------------------------------


def codec_file(opts: Options, source: str, warn: Warn) -> Outcome:
    """``encode`` or ``decode`` one input (``--range``: a slice of the original bytes)."""
    if opts.range is not None:
        return _range_file(opts, source)
    total = original_size(source) if opts.command == "decode" else _file_size(source)
    with progress_bar(opts, source, total) as meter:
        try:
            stats, target = _run_codec(opts, source, meter)
        except SigmaFormatError:
            if opts.salvage and source != "-":
                warn(_salvage(opts, source))
            elif opts.salvage:
                warn(f"{source}: --salvage needs a file it can seek in, not standard input")
            raise
    if opts.rm and target != "-":
        _verify_written(opts, target)
        os.unlink(source)
    result = {"input": source, "output": target, **stats.as_dict()}
    del result["records"], result["glyphs"]  # records written: a number about the container, not for the user
    return Outcome(result, stats=stats, target=target, notes=stats.notes)


def _file_size(source: str) -> int | None:
    return os.path.getsize(source) if source != "-" and os.path.isfile(source) else None


# Without -T, a file of at least this many bytes (and two frames) is coded on several workers, at
# the levels whose coding is slow enough to pay for starting them (levels 0-2 run at tens of MB/s,
# where two workers were no faster than one on a 40 MB file).
AUTO_WORKERS_MIN = 8 << 20
AUTO_LEVEL_MIN = 3
AUTO_MEMORY_SHARE = 4  # and the workers' estimated peak memory stays within 1/4 of the machine's


def coders(opts: Options, source: str, decoding: bool) -> tuple[int, Any]:
    """The worker count and executor that encode (or with *decoding*, decode) *source*: what -T
    says, or without it (``opts.workers`` None) what :func:`auto_workers` finds for the file, and
    when that is one, the command line's own coding thread (``opts.executor``). The bytes written
    are the same for every worker count."""
    if not _choosing(opts):
        return (1 if opts.workers is None else opts.workers), opts.executor
    return _on(opts, _auto_workers(opts, source, decoding))


def _choosing(opts: Options) -> bool:
    """Whether the worker count is the command line's to choose (no -T, no cluster)."""
    return opts.workers is None and opts.scheduler is None


def _on(opts: Options, workers: int) -> tuple[int, Any]:
    """*workers* processes of our own, or for one, the command line's coding thread."""
    return (workers, None) if workers > 1 else (1, opts.executor)


def _auto_workers(opts: Options, source: str, decoding: bool) -> int:
    if decoding:
        table = seek_table(source)
        if table is None or any(table.shared):  # a shared-context stream decodes in order, here
            return 1
        return auto_workers(len(table), table.total_size, *written_with(table), "decode")
    size = _file_size(source)
    if size is None or opts.shared_context:
        return 1
    chunk = chunk_size_for(opts.level, opts.chunk_size)
    return auto_workers(-(-size // chunk), size, chunk, opts.level)


def auto_workers(frames: int, size: int, chunk: int, level: int, mode: Literal["encode", "decode"] = "encode") -> int:
    """How many workers *mode* *frames* frames of at most *chunk* bytes, *size* bytes in all, at
    *level*: one per frame, up to one per CPU, when *size* is AUTO_WORKERS_MIN or more and *level*
    AUTO_LEVEL_MIN or more, as many as :func:`~sigmalang.estimate_memory_usage` fits in a quarter
    of the machine's memory."""
    if size < AUTO_WORKERS_MIN or level < AUTO_LEVEL_MIN:
        return 1
    import psutil

    from ._memory import estimate_memory_usage

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    budget = psutil.virtual_memory().total // AUTO_MEMORY_SHARE
    workers = min(cpus, frames)
    while workers > 1 and estimate_memory_usage(chunk, workers, level, mode=mode).total > budget:
        workers -= 1
    return workers


def _encode_coders(opts: Options, source: str, fin: IO[bytes]) -> tuple[IO[bytes], int, Any]:
    """:func:`coders` for an encode of *fin*, opened from *source*, and the input to read. When the
    size of the input is not known (standard input, a URL) and the count is ours to choose, its
    first AUTO_WORKERS_MIN bytes are read to see whether it has that many (then workers as for a
    file of unknown length: one per CPU, within the memory), and it is read from its start again."""
    if not _choosing(opts) or _file_size(source) is not None:
        return (fin, *coders(opts, source, False))
    chunk = chunk_size_for(opts.level, opts.chunk_size)
    if opts.shared_context or auto_workers(2, AUTO_WORKERS_MIN, chunk, opts.level) == 1:
        return (fin, *_on(opts, 1))  # not worth reading ahead: no count but one can come of it
    head = fin.read(AUTO_WORKERS_MIN)
    again = cast(IO[bytes], io.BufferedReader(Prefixed(head, fin)))
    if len(head) < AUTO_WORKERS_MIN:
        return (again, *_on(opts, 1))
    return (again, *_on(opts, auto_workers(1 << 30, AUTO_WORKERS_MIN, chunk, opts.level)))  # a frame per CPU


def written_with(table: SeekTable) -> tuple[int, int]:
    """The largest chunk and the highest level the streams of *table* say they were written with
    (an unknown level is counted as 9, a chunk as the largest frame, within the valid sizes)."""
    chunk = max((header.chunk_size for header in table.headers), default=max(table.original_sizes, default=1))
    level = max((header.level for header in table.headers), default=9)
    return min(max(chunk, 1), MAX_CHUNK_SIZE), (level if 0 <= level <= 9 else 9)


def _run_codec(opts: Options, source: str, meter: Meter | None) -> tuple[StreamStats, str]:
    with _open_input(source) as fin, _output(opts, source) as (fout, target):
        if opts.command == "encode":
            fin, workers, executor = _encode_coders(opts, source, fin)
            encoder = StreamingEncoder(
                opts.level,
                opts.chunk_size,
                workers=workers,
                progress=None if meter is None else meter.done,
                codebook=opts.book,
                shared_context=opts.shared_context,
                executor=executor,
                metrics=opts.metrics,
                filters=opts.filters,
                format=opts.format,
            )
            src: Any = fin if meter is None else _CountingReader(fin, meter.read)
            return encoder.encode_stream(src, fout), target
        workers, executor = coders(opts, source, True)
        decoder = StreamingDecoder(workers=workers, codebook=opts.book, executor=executor, metrics=opts.metrics)
        dst: Any = fout if meter is None else _CountingWriter(fout, meter.done)
        return decoder.decode_stream(fin, dst), target


def _salvage(opts: Options, source: str) -> str:
    """Write the intact prefix of a damaged stream; the message that says so."""
    with open(source, "rb") as fin, _output(opts, source) as (fout, target):
        result = scan(fin, fout.write, stop_at_loss=True, codebook=opts.book)
    return f"{source}: salvaged the intact first {result.intact_bytes:,} bytes into {target}"


def _range_file(opts: Options, source: str) -> Outcome:
    assert opts.range is not None
    start, end = opts.range
    written = 0
    with SigmaFile(source if source != "-" else sys.stdin.buffer, "rb", codebook=opts.book) as fin:
        size = fin.seek(0, os.SEEK_END)
        stop = size if end is None else end
        if start > size or stop > size:
            raise SigmaError(f"range {start}:{'' if end is None else end} is past the end ({size:,} original bytes)")
        fin.seek(start)
        with _output(opts, source) as (fout, target):
            while written < stop - start:
                data = fin.read(min(1 << 20, stop - start - written))
                if not data:
                    break
                fout.write(data)
                written += len(data)
    result = {"input": source, "output": target, "start": start, "bytes_out": written}
    return Outcome(result, target=target)


def _verify_written(opts: Options, target: str) -> None:
    """Before --rm deletes an input: decode what was written (checksums included)."""
    if opts.command == "encode":
        workers, executor = coders(opts, target, True)
        with open(target, "rb") as fin:
            decoder = StreamingDecoder(workers=workers, codebook=opts.book, executor=executor)
            decoder.decode_stream(fin, _CountingWriter(None, None))


def verify_file(opts: Options, source: str, warn: Warn) -> Outcome:
    with progress_bar(opts, source, original_size(source)) as meter:
        progress = None if meter is None else meter.done
        workers, executor = coders(opts, source, True)
        if source == "-" or not os.path.isfile(source):  # not seekable: one forward pass
            with _open_input(source) as fin:
                decoder = StreamingDecoder(workers=workers, codebook=opts.book, executor=executor)
                stats = decoder.decode_stream(fin, _CountingWriter(None, progress))
            forward = {"input": source, "ok": True, **stats.as_dict()}
            del forward["records"], forward["glyphs"]
            return Outcome(forward, stats=stats)
        with open(source, "rb") as fin:
            check_codebooks(fin, opts.book)
            sink = None if meter is None else _CountingWriter(None, meter.done).write
            result = scan(fin, sink, workers=workers, executor=executor, codebook=opts.book)
    return Outcome({"input": source, **result.as_dict()}, scan=result)


def recover_file(opts: Options, source: str, warn: Warn) -> Outcome:
    with (
        progress_bar(opts, source, original_size(source)) as meter,
        open(source, "rb") as fin,
        _output(opts, source) as (fout, target),
    ):
        check_codebooks(fin, opts.book)
        progress = None if meter is None else meter.done
        sink = _CountingWriter(fout, progress).write
        workers, executor = coders(opts, source, True)
        result = scan(fin, sink, workers=workers, executor=executor, codebook=opts.book)
    return Outcome({"input": source, "output": target, **result.as_dict()}, scan=result, target=target)


def check_codebooks(fin: IO[bytes], book: Codebook | None) -> None:
    """One clear error before a scan when the first stream names a codebook that was not given."""
    parser = StreamParser(codebook_id=book.id if book is not None else b"")
    parser.feed(fin.read(4096))
    fin.seek(0)
    with contextlib.suppress(SigmaFormatError):  # a damaged start is the scan's to report
        parser.next_event()


def info_file(opts: Options, source: str, warn: Warn) -> Outcome:
    """``sigmalang info``: the streams of a ΣLANG file, or what a codebook file holds."""
    with _open_input(source) as fin:
        head = fin.read(len(BOOK_MAGIC))
        if head == BOOK_MAGIC:
            data = head + fin.read(MAX_BOOK_SIZE + 1 - len(head))
            book = parse_book(data, source)
            return Outcome({"input": source, "codebook": {"version": data[len(head)], **_book_facts(book, data)}})
        infos = read_info(io.BufferedReader(Prefixed(head, fin)))
    streams = [dict(vars(i), ratio=round(i.ratio, 4)) for i in infos]
    return Outcome({"input": source, "streams": streams})


def _book_facts(book: Codebook, data: bytes) -> dict[str, Any]:
    """What ``train`` and ``info`` say of a book: its words, one-byte codes, sample, size and id."""
    short = min(book.short, len(book.words))
    return {
        "words": len(book.words),
        "short": short,
        "sample": len(book.sample),
        "bytes": len(data),
        "id": book.id.hex(),
    }


def inspect_one(opts: Options, source: str, warn: Warn) -> Outcome:
    with _open_input(source) as fin:
        run = functools.partial(
            inspect_file,
            fin,
            level=opts.level,
            chunk_size=chunk_size_for(opts.level, opts.chunk_size),
            frames=opts.frames,
            lines=opts.lines,
            top=opts.top,
            codebook=opts.book,
            format=opts.format,
        )
        # On the run's coding thread (_cli_services): the main thread waits, free to act on Ctrl-C.
        is_stream, reports = run() if opts.executor is None else opts.executor.submit(run).result()
    return Outcome({"input": source, "stream": is_stream, "streams": [r.as_dict() for r in reports]})


def train(opts: Options, warn: Warn) -> Outcome:
    """``sigmalang train``: one codebook from all the sample files, written atomically."""
    assert opts.output is not None
    book = train_codebook(opts.files, words=opts.words, sample_size=opts.sample_size)
    if not book.words and not book.sample:
        raise SigmaError("no word occurs often enough in the samples for a codebook; nothing written")
    if len(book.words) < opts.words:
        warn(
            f"{opts.output}: only {len(book.words):,} of the {opts.words:,} words asked for occur "
            f"{MIN_COUNT} times or more in the samples (rarer words would cost more than they save)"
        )
    data = book.to_bytes()
    with _output(opts, "-") as (fout, _):
        fout.write(data)
    return Outcome({"output": opts.output, **_book_facts(book, data)}, target=opts.output)


COMMANDS: dict[str, Callable[[Options, str, Warn], Outcome]] = {
    "encode": codec_file,
    "decode": codec_file,
    "verify": verify_file,
    "recover": recover_file,
    "info": info_file,
    "inspect": inspect_one,
}
