"""Search a ΣLANG file line by line, decoding only the frames whose filters may hold a match.

:class:`Search` walks the frames of a seekable file in order through its :class:`SeekTable`.
A frame's filter (docs/FORMAT.md §18) covers every line the frame begins, to that line's end or
the end of its stream, and gives the frame's line count; a frame whose filter rules the search
out is skipped, and its line count keeps line numbers true. A frame without a usable filter (an
old stream, ``filters=False``, a damaged filter) is decoded. A file the table cannot be read from
(standard input, a damaged end) is decoded front to back. The lines are the ones ``sigmalang
decode FILE`` writes, split at line feeds, and a line is selected as ``grep`` would select it.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import IO, Any

from ._errors import SigmaFormatError
from ._frames import FrameReader
from ._index import SeekTable
from ._jobs import decode_job
from ._parallel import own_futures
from ._plan import Plan, can_span_lines, plan_patterns
from .semantic.codebook import Codebook

__all__ = ["Search", "SearchStats", "search"]

Block = tuple[int, bytes]  # the line number of its first line, and whole lines (the last may lack its LF)


@dataclass
class SearchStats:
    """What a search did: frames in the file, frames decoded, and the literal fragments it used."""

    frames: int = 0
    decoded: int = 0
    fragments: list[bytes] = field(default_factory=list)
    scanned_all: bool = False  # no filter could be used (no literal, -v, no filters, no index)


def _as_bytes(pattern: str | bytes) -> bytes:
    return pattern.encode("utf-8", "surrogateescape") if isinstance(pattern, str) else bytes(pattern)


class Search:
    """One search over one file: ``lines()`` yields ``(line_number, line)`` for each selected line
    (without its line feed), in file order. See :func:`search` for the arguments."""

    def __init__(
        self,
        patterns: list[str | bytes] | str | bytes,
        *,
        fixed: bool = False,
        ignore_case: bool = False,
        invert: bool = False,
        filters: bool = True,
        byte_range: tuple[int, int | None] | None = None,
        codebook: Codebook | None = None,
        executor: Executor | None = None,
        workers: int = 1,
    ):
        if isinstance(patterns, (str, bytes)):
            patterns = [patterns]
        self.patterns = [_as_bytes(p) for p in patterns]
        if not self.patterns:
            raise ValueError("no pattern given")
        self.flags = re.IGNORECASE if ignore_case else 0
        sources = [re.escape(p) for p in self.patterns] if fixed else self.patterns
        self.regexes = [re.compile(p, self.flags) for p in sources]
        self.invert = invert
        self.plan: Plan = plan_patterns(self.patterns, fixed=fixed, flags=self.flags)
        self.use_filters = filters and not invert and self.plan.informative()
        self.byte_range = byte_range
        self.codebook = codebook
        self.executor = own_futures(executor)
        self.ahead = max(1, workers) * 2
        self.stats = SearchStats(fragments=self.plan.fragments())
        self.progress: Callable[[int], object] | None = None  # told of the original bytes passed, decoded or not
        self._whole = _whole_line_regex(sources, self.flags)
        folded = bool(self.flags) or any(b"(?" in p for p in sources)  # (?i) inside a pattern folds too
        self._folded = folded
        self._needle, self._exact = _needle(self.plan, self.patterns, fixed, folded)

    # -- lines -----------------------------------------------------------------------------

    def lines(self, fp: IO[bytes]) -> Iterator[tuple[int, bytes]]:
        for first, block in self.blocks(fp):
            yield from self._select(first, block)

    def _select(self, lineno: int, block: bytes) -> Iterator[tuple[int, bytes]]:
        if self._needle is not None and not self.invert:
            yield from self._select_by_needle(lineno, block, self._needle)
            return
        if self._whole is not None and not self.invert:
            counted = 0
            for match in self._whole.finditer(block):
                start = match.start()
                if start == len(block):  # "^" after the block's last line feed: not a line
                    break
                lineno += block.count(b"\n", counted, start)
                counted = start
                yield lineno, match.group()
            return
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        regexes, invert = self.regexes, self.invert
        for number, line in enumerate(lines, lineno):
            if any(r.search(line) for r in regexes) != invert:
                yield number, line

    def _select_by_needle(self, lineno: int, block: bytes, needle: bytes) -> Iterator[tuple[int, bytes]]:
        """The lines holding *needle* (which every match contains), then checked by the patterns
        unless the needle is the whole of the only pattern."""
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        hay = block.lower().split(b"\n") if self._folded else lines
        held = [n for n, line in enumerate(hay) if needle in line]  # a C-speed pass over the lines
        regexes = self.regexes
        for n in held:
            if self._exact or any(r.search(lines[n]) for r in regexes):
                yield lineno + n, lines[n]

    # -- frames ----------------------------------------------------------------------------

    def blocks(self, fp: IO[bytes]) -> Iterator[Block]:
        """The text of the frames that may hold a selected line, as blocks of whole lines."""
        try:
            table = SeekTable.from_file(fp) if fp.seekable() else None
        except (SigmaFormatError, OSError):
            table = None
        if table is None:
            self.stats.scanned_all = True
            return self._sequential(fp)
        return _TableWalk(self, table, fp).blocks()

    def _sequential(self, fp: IO[bytes]) -> Iterator[Block]:
        if fp.seekable():
            fp.seek(0)
        reader = FrameReader(self.codebook)
        text = _RangeText(self.byte_range)
        carry, lineno, offset = b"", 1, 0
        while data := fp.read(1 << 20):
            reader.feed(data)
            for _, chunk in reader.chunks():
                self.stats.frames += 1
                self.stats.decoded += 1
                piece = text.cut(offset, chunk)
                if self.progress is not None:
                    self.progress(len(piece))
                offset += len(chunk)
                carry, lineno, block = _split(carry + piece, lineno)
                if block:
                    yield block
        reader.close()
        text.check_end()
        if carry:
            yield lineno, carry


def _split(data: bytes, lineno: int) -> tuple[bytes, int, Block | None]:
    """*data* as whole lines (a block) and the open line after them."""
    cut = data.rfind(b"\n") + 1
    if not cut:
        return data, lineno, None
    return data[cut:], lineno + data.count(b"\n", 0, cut), (lineno, data[:cut])


class _RangeText:
    """Original bytes START to END of the whole output, as frames go by (``--range``)."""

    def __init__(self, byte_range: tuple[int, int | None] | None):
        self.start, self.end = byte_range if byte_range is not None else (0, None)
        self.total = 0

    def cut(self, offset: int, data: bytes) -> bytes:
        self.total = max(self.total, offset + len(data))
        low = max(0, self.start - offset)
        high = len(data) if self.end is None else max(0, min(len(data), self.end - offset))
        return data[low:high] if low < high else b""

    def check_end(self) -> None:
        if self.end is not None and self.end > self.total:
            raise ValueError(f"range end {self.end} is past the end of the content ({self.total} bytes)")


class _TableWalk:
    """The frames of a seekable file, in order, skipping those the filters rule out."""

    def __init__(self, search: Search, table: SeekTable, fp: IO[bytes]):
        self.search, self.table, self.fp = search, table, fp
        self.stats = search.stats
        self.stats.frames += len(table)
        start, end = search.byte_range if search.byte_range is not None else (0, None)
        if end is not None and end > table.total_size:
            raise ValueError(f"range end {end} is past the end of the content ({table.total_size} bytes)")
        if start > (table.total_size if end is None else end):
            raise ValueError("range start is past its end")
        self.start, self.end = start, table.total_size if end is None else end
        self.first = table.find(start) if self.start < self.end else len(table)
        self.last = table.find(self.end - 1) if self.start < self.end else -1
        self.futures: dict[int, Future[bytes]] = {}
        self.queue: deque[int] = deque()

    def _filter_says_no(self, i: int) -> bool:
        f = self.table.filters[i] if self.search.use_filters else None
        # With a range that starts inside the content, the first frame's text may begin inside a
        # line that a filter of an earlier frame covered: it is always decoded.
        forced = i == self.first and self.start > 0
        return f is not None and not forced and not self.search.plan.may_match(f)

    def candidates(self) -> Iterator[int]:
        for i in range(self.first, self.last + 1):
            if not self._filter_says_no(i):
                yield i

    def blocks(self) -> Iterator[Block]:
        if not self.search.use_filters:
            self.stats.scanned_all = True
        self._ahead = self.candidates() if self.search.executor is not None else iter(())
        lineno, carry, skip_head = 1, None, False
        table = self.table
        for i in self._passed():
            if i > self.first and table.streams[i] != table.streams[i - 1] and skip_head:
                carry, skip_head = self._open_line(i), False
            f = table.filters[i]
            if carry is None and self._filter_says_no(i):
                assert f is not None
                lineno += f.lines
                skip_head = not f.ends_line
                continue
            data = self._text(i)
            if skip_head:
                p = data.find(b"\n")
                if p < 0:
                    continue
                data, lineno, skip_head = data[p + 1 :], lineno + 1, False
            carry, lineno, block = _split((carry or b"") + data, lineno)
            carry = carry or None
            if block is not None:
                yield block
        if carry:
            yield lineno, carry

    def _passed(self) -> Iterator[int]:
        """The frames in the range, each counted as passed (decoded or skipped) when the walk asks
        for the next one: the search's progress moves with the file, not only with the frames decoded."""
        progress = self.search.progress
        for i in range(self.first, self.last + 1):
            yield i
            if progress is not None:
                offset = self.table.original_offsets[i]
                progress(min(self.end, offset + self.table.original_sizes[i]) - max(self.start, offset))

    def _open_line(self, i: int) -> bytes:
        """The line open at the end of the stream before frame *i*, which a skipped frame began:
        its filter covered it only to its stream's end, so read it from its start."""
        j = i - 1
        while j > self.first:
            f = self.table.filters[j]
            if f is not None and f.lines:
                break
            j -= 1
        head = self._text(j)
        text = head[head.rfind(b"\n") + 1 :]
        return text + b"".join(self._text(k) for k in range(j + 1, i))

    def _text(self, i: int) -> bytes:
        """Frame *i*'s original bytes (within the range)."""
        self.stats.decoded += 1
        data = self._decoded(i)
        offset = self.table.original_offsets[i]
        low = max(0, self.start - offset)
        high = min(len(data), self.end - offset)
        return data[low:high] if low or high < len(data) else data

    def _decoded(self, i: int) -> bytes:
        executor = self.search.executor
        if executor is None or self.table.shared[self.table.streams[i]]:
            return self.table.read_frame(self.fp, i, self.search.codebook)
        while len(self.queue) < self.search.ahead:
            k = next(self._ahead, None)
            if k is None:
                break
            if k >= i and not self.table.shared[self.table.streams[k]]:
                self._submit(executor, k)
        future = self.futures.pop(i, None)
        if future is None:
            return self.table.read_frame(self.fp, i, self.search.codebook)
        self.queue.remove(i)
        return future.result()

    def _submit(self, executor: Executor, k: int) -> None:
        table = self.table
        loc = table.location(k)
        needed = table.codebook_ids[loc.stream]
        if needed and (self.search.codebook is None or self.search.codebook.id != needed):
            return  # decoded here, which raises the codebook error in order
        frame = table._read_record(self.fp, k)
        book = self.search.codebook if needed else None
        self.futures[k] = executor.submit(decode_job, frame, book)
        self.queue.append(k)


def _needle(plan: Plan, patterns: list[bytes], fixed: bool, ignore_case: bool) -> tuple[bytes | None, bool]:
    """A literal every selected line holds (lowercased for -i), and whether holding it is enough."""
    fragments = plan.fragments() if plan.op in ("lit", "and") and all(p.op == "lit" for p in plan.parts) else []
    if not fragments or any(b"\n" in f for f in fragments):
        return None, False
    needle = max(fragments, key=len)
    exact = len(patterns) == 1 and (fixed or re.escape(patterns[0]) == patterns[0]) and needle == patterns[0]
    return (needle.lower() if ignore_case else needle), exact


def _whole_line_regex(sources: list[bytes], flags: int) -> re.Pattern[bytes] | None:
    """One regex whose matches in a block are exactly the selected lines, when the patterns
    cannot span a line feed (then a whole block is searched at once, in C)."""
    try:
        if can_span_lines(sources, flags):
            return None
        if len(sources) > 1 and any(b"\\" in s or b"(?" in s for s in sources):
            return None  # group numbers and inline flags do not survive being joined
        joined = b"|".join(b"(?:" + s + b")" for s in sources)
        return re.compile(b"(?m)^[^\\n]*?(?:" + joined + b")[^\\n]*", flags)
    except (re.error, OverflowError, RecursionError):
        return None


def search(
    source: str | os.PathLike[str] | IO[bytes],
    pattern: str | bytes | list[str | bytes],
    *,
    fixed: bool = False,
    ignore_case: bool = False,
    invert: bool = False,
    filters: bool = True,
    codebook: Codebook | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, line)`` for each line of the decoded *source* that *pattern* selects.

    *source* is a path or a binary file object (a seekable one is searched through its index and
    filters; any other is decoded front to back). *pattern* is a regular expression (Python
    ``re`` syntax, matched against bytes), a literal with *fixed*, or a list of them (a line is
    selected when any matches). Lines are ``bytes`` without their line feed, or ``str`` (decoded
    from UTF-8, undecodable bytes as surrogate escapes) when *pattern* is ``str``. Line numbers
    count from 1 across the whole decoded output, over concatenated streams. Lazy: memory stays
    within a frame or two, whatever the file's size.
    """
    patterns = pattern if isinstance(pattern, list) else [pattern]
    text = all(isinstance(p, str) for p in patterns)
    job = Search(patterns, fixed=fixed, ignore_case=ignore_case, invert=invert, filters=filters, codebook=codebook)
    return _lines(job, source, text)


def _lines(job: Search, source: Any, text: bool) -> Iterator[tuple[int, Any]]:
    convert: Callable[[bytes], Any] = (lambda b: b.decode("utf-8", "surrogateescape")) if text else bytes
    with contextlib.ExitStack() as stack:
        fp: IO[bytes] = source
        if isinstance(source, (str, os.PathLike)):
            fp = stack.enter_context(builtins.open(source, "rb"))
        for number, line in job.lines(fp):
            yield number, convert(line)
