"""Scan a possibly damaged file of ΣLANG streams: find every intact frame, report every damaged
one, and hand the intact content to a sink. ``sigmalang verify`` and ``sigmalang recover`` use it.

The scan walks the records forward. A frame whose CRC32C fails but whose length leads to another
plausible record is skipped as one damaged frame; when the lengths themselves are damaged, it
resynchronises on the next offset where an intact frame (its CRC32C checked), index or stream
magic begins. Intact frames carry their original offset, so lost original byte ranges are exact
even when the index is gone; an intact index adds the sizes of the frames that were lost.
"""

from __future__ import annotations

import functools
import io
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from . import primitives as P
from ._container import MAGIC, check_codebook, check_frame
from ._errors import SigmaError, SigmaFormatError, WorkerError
from ._frames import FrameContext, decode_frame
from ._jobs import decode_job, install_codebook
from ._parallel import own_futures, resolve_workers, stop_pool, worker_pool
from ._stream_records import (
    FRAME_OVERHEAD,
    MAX_CHUNK_SIZE,
    TRAILER_SIZE,
    Frame,
    StreamHeader,
    StreamIndex,
    content_digest,
    decode_trailer,
)
from ._wire import Record, parse_prefix, read_record
from ._words import plural
from .primitives import GlyphType
from .semantic.codebook import Codebook

__all__ = ["DamagedFrame", "ScanResult", "StreamReport", "scan"]

_PREFIX = 16  # enough bytes for any glyph header and length
_FRAME_BYTES = {0xC0 | P.FRAME, 0xE0 | P.FRAME}  # COMPOSITE FRAME, without and with the flag
_INDEX_BYTE = 0xC0 | P.INDEX
_RESYNC_BLOCK = 1 << 20
_MIN_RECORD = 11  # the smallest frame record: 2 header bytes, 5 one-byte fields, CRC32C


@dataclass
class DamagedFrame:
    """A frame that could not be decoded: where it was, and which original bytes it held."""

    number: int | None
    offset: int
    original_start: int | None
    original_end: int | None
    error: str

    # The names these fields had before (read-only): use ``original_start`` and ``original_end``.
    @property
    def orig_start(self) -> int | None:
        """The former name of :attr:`original_start`; use that."""
        return self.original_start

    @property
    def orig_end(self) -> int | None:
        """The former name of :attr:`original_end`; use that."""
        return self.original_end

    def as_dict(self) -> dict[str, Any]:
        """The JSON form, whose keys keep the names ``--json`` has always printed."""
        return {
            "number": self.number,
            "offset": self.offset,
            "orig_start": self.original_start,
            "orig_end": self.original_end,
            "error": self.error,
        }


@dataclass
class StreamReport:
    """What the scan found in one stream. Original offsets are relative to the stream's content."""

    offset: int
    frames_ok: int = 0
    intact_bytes: int = 0
    total_size: int | None = None  # from the index, when it is intact
    damaged: list[DamagedFrame] = field(default_factory=list)
    lost: list[tuple[int, int | None]] = field(default_factory=list)  # [start, end); None: to the end
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.damaged or self.lost or self.problems)


@dataclass
class ScanResult:
    streams: list[StreamReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.streams) and not self.problems and all(s.ok for s in self.streams)

    @property
    def intact_bytes(self) -> int:
        return sum(s.intact_bytes for s in self.streams)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "intact_bytes": self.intact_bytes,
            "problems": self.problems,
            "streams": [dict(asdict(s), damaged=[d.as_dict() for d in s.damaged], ok=s.ok) for s in self.streams],
        }


@dataclass
class _State:
    """Progress through one stream's frames."""

    expected: int = 0  # number of the next frame
    original_pos: int = 0  # original offset just past the last intact frame
    damage_at: int | None = None  # file offset where unresolved damage began
    digest: Any = field(default_factory=content_digest)
    shared: bool = False  # the header allows frames that continue the previous one's context
    header: StreamHeader | None = None  # when it was intact
    record_sizes: dict[int, int] = field(default_factory=dict)  # of the frames read, by number
    header_size: int | None = None  # magic and header record, when the header was intact
    frames: list[tuple[int, int, int]] = field(default_factory=list)  # intact: number, original offset, size
    book: Codebook | None = None  # the codebook the header names, when the caller has it
    book_missing: str | None = None  # why frames cannot be decoded: the header names a codebook we lack
    context: FrameContext | None = None  # shared context (or an unreadable header): frames decode in order

    def frame_context(self) -> FrameContext | None:
        """The context to decode frames with: in a shared-context stream, and when the header is
        lost (frames that continue then still decode after a frame that does not)."""
        if self.context is None and (self.shared or self.header_size is None):
            self.context = FrameContext()
        return self.context


_Pending = tuple[StreamReport, _State, Frame, "Future[bytes] | None", "SigmaFormatError | None"]


class _Scanner:
    def __init__(
        self,
        fp: IO[bytes],
        sink: Callable[[bytes], object] | None,
        stop_at_loss: bool,
        executor: Executor | None = None,
        max_in_flight: int = 2,
        codebook: Codebook | None = None,
        book_ref: Codebook | bytes | None = None,
    ):
        self.fp = fp
        self.sink = sink
        self.stop_at_loss = stop_at_loss
        self.size = fp.seek(0, io.SEEK_END)
        self.result = ScanResult()
        # With an executor, intact-looking frames are decoded on it while the scan reads on; their
        # results are applied in frame order (digest, sink, report) before anything else is reported.
        self.executor = executor
        self.max_in_flight = max(1, max_in_flight)
        self.pending: deque[_Pending] = deque()
        self.codebook = codebook
        self.book_ref = book_ref if book_ref is not None else codebook  # what a job names the book by

    def read(self, pos: int, n: int) -> bytes:
        self.fp.seek(pos)
        return self.fp.read(n)

    def record_at(self, pos: int, limit: int) -> Record | None:
        """The complete record at *pos* if its length is within *limit*, else None."""
        try:
            head = self.read(pos, _PREFIX)
            parsed = read_record(head, base_offset=pos)
            if parsed is not None:
                return parsed[0]
            prefix = parse_prefix(head, 0)
            if prefix is None or prefix[3] > limit:
                return None
            parsed = read_record(self.read(pos, prefix[4] + prefix[3]), base_offset=pos)
        except SigmaFormatError:
            return None
        return parsed[0] if parsed else None

    def run(self) -> ScanResult:
        pos = 0
        if self.size == 0:
            self.result.problems.append("empty input: no ΣLANG stream")
        while pos < self.size:
            if self.read(pos, len(MAGIC)) != MAGIC:
                what = "not a ΣLANG stream: " if pos == 0 else ""  # as decoding says of such input
                self.result.problems.append(f"{what}no stream magic at byte offset {pos}")
                nxt = self.resync(pos + 1, _State(damage_at=pos))
                if nxt is None:
                    break
                pos = nxt
                if self.read(pos, len(MAGIC)) != MAGIC:  # frames of a stream whose start is gone
                    pos = self.stream(pos, None)
                    continue
            pos = self.stream(pos + len(MAGIC), pos)
            if self.stop_at_loss and not all(s.ok for s in self.result.streams):
                break
        self.drain()
        return self.result

    def stream(self, pos: int, start: int | None) -> int:
        """Scan one stream from *pos* (just past its magic); return where the next one may start."""
        report = StreamReport(offset=start if start is not None else pos)
        self.result.streams.append(report)
        limit = MAX_CHUNK_SIZE + FRAME_OVERHEAD
        header = self.record_at(pos, 1024) if start is not None else None
        st = _State()
        if start is not None:
            try:
                if header is None:
                    raise SigmaFormatError("stream header missing or damaged", offset=pos)
                decoded = StreamHeader.decode(header)
                limit, st.shared, st.header = decoded.chunk_size + FRAME_OVERHEAD, decoded.shared_context, decoded
                if decoded.codebook_id:
                    try:
                        check_codebook(decoded.codebook_id, self.codebook.id if self.codebook is not None else b"")
                        st.book = self.codebook
                    except SigmaError as exc:
                        st.book_missing = str(exc)
                        report.problems.append(st.book_missing)
                st.header_size = pos + header.size - start
            except SigmaFormatError as exc:
                report.problems.append(str(exc))
            if header is not None and header.primitive == P.STREAM_HEADER:
                pos += header.size
        while pos < self.size and not (self.stop_at_loss and (report.damaged or st.damage_at is not None)):
            record = self.record_at(pos, limit)
            if record is not None and record.type == GlyphType.COMPOSITE and record.primitive == P.FRAME:
                try:
                    frame = Frame.decode(record, st.expected)
                    check_frame(frame, st.header, None, None)
                except SigmaFormatError as exc:
                    if self.plausible_boundary(pos + record.size, limit):
                        self.missing(report, st, st.expected + 1, pos, exc.reason)
                        pos += record.size
                        continue
                else:
                    if self.plausible(st, frame.number, pos) and frame.original_offset >= st.original_pos:
                        self.missing(report, st, frame.number, pos, "frame lost")
                        st.record_sizes[frame.number] = record.size
                        self.take(report, st, frame)
                        pos += record.size
                        continue
            elif record is not None and record.type == GlyphType.COMPOSITE and record.primitive == P.INDEX:
                return self.finish(report, st, pos, record)
            if st.damage_at is None:
                st.damage_at = pos
            nxt = self.resync(pos + 1, st)
            if nxt is None:
                break
            if self.read(nxt, len(MAGIC)) == MAGIC:
                report.problems.append(f"stream cut short at byte offset {nxt} by the start of another stream")
                self.settle(report, st, None, truncated=True)
                return nxt
            pos = nxt
        if st.damage_at is not None:
            self.missing(report, st, st.expected + 1, st.damage_at, "damaged; no intact record after it")
        report.problems.append("stream truncated or damaged at its end: index and trailer missing")
        self.settle(report, st, None, truncated=True)
        return self.size

    @staticmethod
    def plausible(st: _State, number: int, pos: int) -> bool:
        """Whether frames st.expected .. number-1 fit in the damaged bytes before *pos*."""
        gap = pos - st.damage_at if st.damage_at is not None else 0
        return st.expected <= number <= st.expected + gap // _MIN_RECORD + (1 if gap else 0)

    def missing(self, report: StreamReport, st: _State, upto: int, pos: int, reason: str) -> None:
        """Frames st.expected .. upto-1 are lost; the damage began at st.damage_at (or *pos*)."""
        self.drain()
        at = st.damage_at if st.damage_at is not None else pos
        if upto == st.expected and st.damage_at is not None:
            report.problems.append(f"{plural(pos - at, 'damaged byte')} between frames at byte offset {at}")
        if st.damage_at is not None and reason == "frame lost":
            reason = "frame damaged (record unreadable; resynchronised after it)"
        for number in range(st.expected, upto):
            report.damaged.append(DamagedFrame(number, at, None, None, reason))
        if upto > st.expected and st.context is not None:
            st.context.lose()
        st.expected = max(st.expected, upto)
        st.damage_at = None

    def take(self, report: StreamReport, st: _State, frame: Frame) -> None:
        st.expected, st.original_pos = frame.number + 1, frame.original_offset + frame.original_size
        error = None
        if st.book_missing:
            error = SigmaFormatError(f"not decoded: {st.book_missing}")
        future = None
        if error is None and self.executor is not None and st.frame_context() is None:
            try:
                if st.book is None:
                    future = self.executor.submit(decode_frame, frame)
                else:
                    future = self.executor.submit(decode_job, frame, self.book_ref)
            except BrokenProcessPool:
                raise WorkerError(f"a worker process died before decoding frame {frame.number}") from None
        self.pending.append((report, st, frame, future, error))
        while len(self.pending) > (self.max_in_flight if self.executor is not None else 0):
            self.apply()

    def apply(self) -> None:
        """Apply the oldest pending frame's decoding: into the digest and the sink, or reported damaged."""
        report, st, frame, future, error = self.pending.popleft()
        data = b""
        if error is None:
            try:
                data = decode_frame(frame, st.book, st.frame_context()) if future is None else future.result()
            except SigmaFormatError as exc:
                error = exc
            except BrokenProcessPool:
                raise WorkerError(f"a worker process died before decoding frame {frame.number}") from None
        if error is not None:
            if st.context is not None:
                st.context.lose()
            end = frame.original_offset + frame.original_size
            report.damaged.append(DamagedFrame(frame.number, frame.offset, frame.original_offset, end, error.reason))
            return
        st.digest.update(data)
        st.frames.append((frame.number, frame.original_offset, frame.original_size))
        report.frames_ok += 1
        report.intact_bytes += len(data)
        if self.sink is not None:
            self.sink(data)

    def drain(self) -> None:
        while self.pending:
            self.apply()

    def finish(self, report: StreamReport, st: _State, pos: int, record: Record) -> int:
        self.drain()
        index: StreamIndex | None
        try:
            index = StreamIndex.decode(record)
        except SigmaFormatError as exc:
            report.problems.append(f"index damaged: {exc.reason}")
            index = None
        else:
            if self.plausible(st, index.count, pos):
                self.missing(report, st, index.count, pos, "frame lost")
                self.check_index(report, st, index)
            else:
                report.problems.append(f"index lists {plural(index.count, 'frame')}, which the stream cannot hold")
                index = None
        end = pos + record.size
        trailer = self.record_at(end, 12)
        try:
            if trailer is None:
                raise SigmaFormatError("trailer missing", offset=end)
            if decode_trailer(trailer) != record.size:
                raise SigmaFormatError("it does not give the index record's size", offset=end)
            end += TRAILER_SIZE
        except SigmaFormatError as exc:
            report.problems.append(f"trailer damaged: {exc.reason}")
        self.settle(report, st, index)
        if index is not None and report.ok and st.digest.digest() != index.checksum:
            report.problems.append("content checksum (BLAKE2b) mismatch")
        return end

    @staticmethod
    def check_index(report: StreamReport, st: _State, index: StreamIndex) -> None:
        """The index must agree with the header and with every intact frame."""
        if st.header_size is not None and index.header_size != st.header_size:
            report.problems.append("index disagrees with the header's size")
        sizes = index.sizes()
        for number, _, original_size in st.frames:
            if number < len(sizes) and sizes[number] != (st.record_sizes.get(number), original_size):
                report.problems.append(f"index disagrees with frame {number}'s size")
                return

    def settle(self, report: StreamReport, st: _State, index: StreamIndex | None, truncated: bool = False) -> None:
        """Fill in the original ranges of damaged frames and list the lost byte ranges."""
        self.drain()
        frames = st.frames
        sizes = index.sizes() if index is not None else None
        if index is not None:
            report.total_size = index.total_size
        starts = {n: (o, o + s) for n, o, s in frames}
        if sizes is not None:
            offset = 0
            for n, (_, original_size) in enumerate(sizes):
                starts.setdefault(n, (offset, offset + original_size))
                offset += original_size
        for d in report.damaged:
            if d.number is not None and d.number in starts and d.original_start is None:
                d.original_start, d.original_end = starts[d.number]
        cursor = 0
        for _, o, s in frames:
            if o > cursor:
                report.lost.append((cursor, o))
            cursor = o + s
        if report.total_size is None:
            if truncated:
                report.lost.append((cursor, None))
        elif cursor < report.total_size:
            report.lost.append((cursor, report.total_size))

    def plausible_boundary(self, pos: int, chunk_limit: int) -> bool:
        """Whether a record that is intact in itself starts at *pos* (or the file ends there)."""
        if pos == self.size:
            return True
        record = self.record_at(pos, chunk_limit + FRAME_OVERHEAD)
        if record is None:
            return False
        try:
            if record.primitive == P.FRAME:
                Frame.decode(record, 0)
            elif record.primitive == P.INDEX:
                StreamIndex.decode(record)
            else:
                return False
        except SigmaFormatError:
            return False
        return True

    def resync(self, pos: int, st: _State) -> int | None:
        """The next offset from *pos* where an intact frame, an index or a stream magic begins."""
        while pos < self.size:
            block = self.read(pos, _RESYNC_BLOCK)
            for i, byte in enumerate(block):
                if byte in _FRAME_BYTES or byte == _INDEX_BYTE or byte == MAGIC[0]:
                    at = pos + i
                    if byte == MAGIC[0]:
                        if self.read(at, len(MAGIC)) == MAGIC:
                            return at
                        continue
                    if self.intact_at(at, st):
                        return at
            pos += len(block)
        return None

    def intact_at(self, at: int, st: _State) -> bool:
        record = self.record_at(at, MAX_CHUNK_SIZE + FRAME_OVERHEAD)
        if record is None or record.type != GlyphType.COMPOSITE:
            return False
        try:
            if record.primitive == P.FRAME:
                frame = Frame.decode(record, st.expected)
                return self.plausible(st, frame.number, at) and frame.original_offset >= st.original_pos
            if record.primitive == P.INDEX:
                StreamIndex.decode(record)
                return True
        except SigmaFormatError:
            return False
        return False


def scan(
    fp: IO[bytes],
    sink: Callable[[bytes], object] | None = None,
    *,
    stop_at_loss: bool = False,
    workers: int = 1,
    executor: Executor | None = None,
    codebook: Codebook | None = None,
) -> ScanResult:
    """Scan the seekable file *fp*; intact content goes to *sink* in order.

    With *stop_at_loss*, stop at the first damage: the sink then gets exactly the intact prefix
    (frames are then decoded one by one, in this process). Otherwise frames are decoded on
    *executor*, or on a pool of *workers* processes (``0``: one per CPU) when *workers* > 1, with
    two frames in flight per worker; the result is the same for any number of workers. Streams
    that name a codebook are decoded with *codebook* if it is that one; otherwise their frames are
    reported as not decodable, and the stream's problems say which codebook it needs.
    """
    count = resolve_workers(workers)
    if stop_at_loss or (executor is None and count == 1):
        return _Scanner(fp, sink, stop_at_loss, codebook=codebook).run()
    warm_up = functools.partial(install_codebook, codebook) if codebook is not None and executor is None else None
    pool = own_futures(executor) if executor is not None else worker_pool(count, warm_up)
    book_ref = codebook.id if warm_up is not None and codebook is not None else codebook
    failed = True
    try:
        result = _Scanner(fp, sink, False, pool, 2 * count, codebook, book_ref).run()
        failed = False
        return result
    finally:
        if executor is None:
            stop_pool(pool, kill=failed)
