"""See the encoding: what the semantic transform and the backend did to a stream's frames.

``inspect_stream(src)`` reads a ΣLANG stream; ``inspect_text(src, level)`` encodes text in memory
first, exactly as ``sigmalang encode`` would. Both return :class:`StreamReport` objects: frames and
bytes per transform and backend, the histogram of the glyph kinds in the semantic glyph code
(each mapped to its Σ-primitive), the codebook's top entries, what the code spends on codebook and
body, and the first lines of the text beside the glyphs they became.

The glyph code is scanned by the transform's own tokenizer (:mod:`sigmalang.semantic._tokens`),
so a glyph is counted exactly where the decoder would read one. Only the first *frames* frames of
a stream have their backend decoded; the container is checked (CRCs, index) but not the content
checksum, since not every frame is decoded. Reports are data (:meth:`StreamReport.as_dict`); the
command line's text form of them is :mod:`sigmalang._inspect_format`.
"""

from __future__ import annotations

import importlib
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from . import _records, _utf16, _wraps
from ._backends import BACKENDS
from ._chunking import DEFAULT_CHUNK_SIZE, ChunkedReader, Prefixed
from ._codec import (
    ChunkDecodeError,
    body_without_transform,
    decode_body,
    decode_chunk,
    decode_code,
    decode_code_costs,
)
from ._container import MAGIC
from ._errors import SigmaFormatError
from ._frames import FrameContext, FrameReader, FrameWriter, decode_frame_code
from ._glyph_stats import GLYPH_KINDS, CodeAnalysis, Histogram, analyze_code, render_bytes, render_glyph_lines
from ._levels import (
    AUTO,
    DEFAULT_LEVEL,
    TRANSFORM_LITERAL,
    TRANSFORM_LONG_SEMANTIC,
    TRANSFORM_RECORDS,
    TRANSFORM_SEMANTIC,
    TRANSFORM_UTF16,
    TRANSFORM_WRAPS,
    TRANSFORMS,
)
from ._stream_records import Frame, StreamHeader
from ._wire import encode_varint
from .semantic import SemanticDecodeError
from .semantic import decode as semantic_decode
from .semantic.codebook import Codebook

__all__ = [
    "GLYPH_KINDS",
    "CodeAnalysis",
    "Histogram",
    "Stages",
    "StreamReport",
    "analyze_code",
    "inspect_file",
    "inspect_stream",
    "inspect_text",
    "render_bytes",
    "render_glyph_lines",
]


def _glyph_code(frame: Frame) -> tuple[bytes, int]:
    """The glyph code of a semantic frame, and the size of the backend's output that holds it."""
    try:
        code = decode_code(frame.backend, frame.data, frame.original_size)
    except ChunkDecodeError as exc:
        raise _damaged(frame, str(exc)) from None
    return code, len(frame.data) - len(encode_varint(len(code)))


def _damaged(frame: Frame, reason: str) -> SigmaFormatError:
    return SigmaFormatError(f"frame cannot be inspected: {reason}", frame=frame.number, offset=frame.offset)


SHOWN = 20  # the most used codebook entries and log templates a report lists, unless told (--top)


@dataclass(slots=True)
class Stages:
    """The inspected frames' bytes at each stage: the text, the transform's code (the text itself in
    frames that code the bytes), the model's output; and the model's output *without* the transform
    (the level's coding of the same text, measured), when *measured* (not in shared-context streams)."""

    frames: int = 0
    original: int = 0
    code: int = 0
    encoded: int = 0
    without: int = 0
    measured: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "original": self.original,
            "transform_output": self.code,
            "encoded": self.encoded,
            "encoded_without_transform": self.without if self.measured else None,
        }


@dataclass(slots=True)
class StreamReport:
    """What one stream holds and what its encoding did; :meth:`as_dict` is the JSON form.

    *groups* maps ``"transform+backend"`` to ``[frames, original bytes, payload bytes]`` over every
    frame; the glyph figures cover the first *inspected* frames only.
    """

    level: int
    chunk_size: int
    frames: int = 0
    original_size: int = 0
    encoded_size: int = 0
    groups: dict[str, list[int]] = field(default_factory=dict)
    inspected: int = 0
    semantic_frames: int = 0
    histogram: Histogram = field(default_factory=Histogram)
    code_bytes: int = 0
    codebook_bytes: int = 0
    body_bytes: int = 0
    backend_bytes: int = 0
    codebook_frame: int | None = None
    codebook_size: int = 0
    codebook_words: int = 0
    codebook_short: int = 0
    top: list[dict[str, Any]] = field(default_factory=list)
    lines_frame: dict[str, Any] = field(default_factory=dict)
    lines: list[dict[str, str | None]] = field(default_factory=list)
    records_frames: int = 0
    templates: dict[bytes, int] = field(default_factory=dict)  # template text: lines, in records frames
    # column label: [kind, values, bytes in the record code, what the model spent on them]; the
    # model's spending (in COST_SCALE-ths of a bit) is known for the records frames coded by the CM
    # (costed_frames) that continue no context
    columns: dict[bytes, list[Any]] = field(default_factory=dict)
    sections: dict[str, list[int]] = field(default_factory=dict)  # template table, ids, columns: same
    costed_frames: int = 0
    stages: Stages = field(default_factory=Stages)  # the inspected frames, stage by stage
    shown: int = SHOWN  # how many of the most used codebook entries and templates are listed (--top)

    @property
    def ratio(self) -> float:
        return self.original_size / self.encoded_size if self.encoded_size else 0.0

    def as_dict(self) -> dict[str, Any]:
        groups = [
            {
                "transform": key.rsplit("+", 1)[0],
                "backend": key.rsplit("+", 1)[1],
                "frames": f,
                "original": o,
                "encoded": e,
            }
            for key, (f, o, e) in self.groups.items()
        ]
        return {
            "level": self.level,
            "chunk_size": self.chunk_size,
            "frames": self.frames,
            "original_size": self.original_size,
            "encoded_size": self.encoded_size,
            "ratio": round(self.ratio, 4),
            "by_backend": groups,
            "inspected_frames": self.inspected,
            "semantic_frames": self.semantic_frames,
            "glyphs": self.histogram.rows(),
            "bytes": {
                "glyph_code": self.code_bytes,
                "codebook": self.codebook_bytes,
                "body": self.body_bytes,
                "backend_output": self.backend_bytes,
            },
            "codebook": {
                "frame": self.codebook_frame,
                "original_size": self.codebook_size,
                "words": self.codebook_words,
                "one_byte_codes": self.codebook_short,
                "top": self.top,
            },
            "lines_frame": self.lines_frame,
            "lines": self.lines,
            "records": self._records_dict(),
            "stages": self.stages.as_dict(),
        }

    def _records_dict(self) -> dict[str, Any]:
        templates = sorted(self.templates.items(), key=lambda item: -item[1])[: self.shown]
        return {
            "frames": self.records_frames,
            "templates": len(self.templates),
            "top_templates": [{"template": render_bytes(t), "lines": n} for t, n in templates],
            "model_frames": self.costed_frames,
            "sections": [
                {"section": name, "code_bytes": size, "model_bytes": self._bytes(cost)}
                for name, (size, cost) in self.sections.items()
            ],
            "columns": [
                {"column": render_bytes(t), "kind": k, "values": n, "code_bytes": b, "model_bytes": self._bytes(c)}
                for t, (k, n, b, c) in self.columns.items()
            ],
        }

    def _bytes(self, cost: int) -> float | None:
        """A cost in COST_SCALE-ths of a bit as bytes (2 decimals), None if no frame was costed."""
        from ._cm import COST_SCALE

        return round(cost / COST_SCALE / 8, 2) if self.costed_frames else None


class _Inspector:
    """Builds one stream's report frame by frame, holding no more than one frame at a time."""

    def __init__(self, header: StreamHeader, frames: int | None, lines: int, top: int, book: Codebook | None = None):
        self.report = StreamReport(header.level, header.chunk_size, shown=top)
        self.limit, self.lines = frames, lines
        self.book = book if header.codebook_id else None
        # A shared-context stream's frames decode only in order, each with the context the frames
        # before it left: the inspector decodes them as a decoder does (_frames.decode_frame_code).
        self.context = FrameContext() if header.shared_context else None

    def _count(self, frame: Frame) -> None:
        r = self.report
        key = f"{TRANSFORMS.get(frame.transform, frame.transform)}+{BACKENDS.get(frame.backend, frame.backend)}"
        group = r.groups.setdefault(key, [0, 0, 0])
        group[0] += 1
        group[1] += frame.original_size
        group[2] += len(frame.data)
        r.frames += 1
        r.original_size += frame.original_size

    def add(self, frame: Frame) -> None:
        self._count(frame)
        r = self.report
        if self.limit is not None and r.inspected >= self.limit:
            return
        r.inspected += 1
        book = self.book
        if self.context is not None:
            if book is None and frame.continues:
                book = self.context.book  # the previous frame's codebook, which the glyph code may extend
            data, code = decode_frame_code(frame, self.book, self.context)
            self._measure(frame, len(code), None)
            if frame.transform == TRANSFORM_RECORDS:
                self._records(frame, code)
            if frame.transform not in (TRANSFORM_SEMANTIC, TRANSFORM_LONG_SEMANTIC):
                if frame.number == 0 and self.lines:
                    self._show_lines(frame, data)
                return
            backend_bytes = len(frame.data)  # with the context length (and a long-range frame's match list)
        elif frame.transform == TRANSFORM_RECORDS:
            try:
                code, costs = decode_code_costs(frame.backend, frame.data, frame.original_size, self.book)
            except ChunkDecodeError as exc:
                raise _damaged(frame, str(exc)) from None
            self._records(frame, code, costs)
            try:
                data = _records.decode(code, frame.original_size)
            except _records.RecordsError as exc:
                raise _damaged(frame, str(exc)) from None
            self._measure(frame, len(code), data)
            if frame.number == 0 and self.lines:
                self._show_lines(frame, data)
            return
        elif frame.transform == TRANSFORM_WRAPS:
            try:
                code = decode_code(frame.backend, frame.data, frame.original_size, b"", self.book)
                data = _wraps.decode(code, frame.original_size)
            except (ChunkDecodeError, _wraps.WrapsError) as exc:
                raise _damaged(frame, str(exc)) from None
            self._measure(frame, len(code), data)
            if frame.number == 0 and self.lines:
                self._show_lines(frame, data)
            return
        elif frame.transform == TRANSFORM_UTF16:  # the UTF-8's code: what its inner transform coded
            try:
                data, code = decode_body(
                    frame.transform, frame.backend, frame.data, frame.original_size, self.book, b""
                )
            except ChunkDecodeError as exc:
                raise _damaged(frame, str(exc)) from None
            inner, lead, tail, _, _ = _utf16.parse(frame.data, frame.original_size)
            if inner == TRANSFORM_RECORDS:
                self._records(frame, code)
            self._measure(frame, len(code), data)
            if frame.number == 0 and self.lines:  # the lines as the UTF-8 the frame codes
                self._show_lines(frame, _utf16.to_utf8(data[len(lead) : len(data) - len(tail)]))
            return
        elif frame.transform != TRANSFORM_SEMANTIC:
            self._measure(frame, frame.original_size, None)
            if frame.number == 0 and self.lines:
                self._literal_lines(frame)
            return
        else:
            code, backend_bytes = _glyph_code(frame)
        try:
            analysis = analyze_code(code, frame.original_size, book)
            if self.context is None:
                self._measure(frame, len(code), semantic_decode(code, frame.original_size, book=book))
            if frame.number == 0 and self.lines:
                self._semantic_lines(frame, code)
        except (ValueError, SemanticDecodeError) as exc:
            raise _damaged(frame, str(exc)) from None
        r.semantic_frames += 1
        r.histogram.update(analysis.histogram)
        r.code_bytes += len(code)
        r.codebook_bytes += analysis.codebook_bytes
        r.body_bytes += analysis.body_bytes
        r.backend_bytes += backend_bytes
        if r.codebook_frame is None or frame.original_size > r.codebook_size:
            self._keep_codebook(frame, analysis)

    def _measure(self, frame: Frame, code_size: int, text: bytes | None) -> None:
        """Count an inspected frame in the stages: its text, the transform's code, the model's output;
        and what the level's coding makes of *text* without the transform (measured by coding it
        again). *text* is None for a frame that codes the bytes themselves (or follows a context,
        which cannot be coded alone to compare)."""
        s = self.report.stages
        s.frames += 1
        s.original += frame.original_size
        s.code += code_size
        s.encoded += len(frame.data)
        if self.context is not None:
            s.measured = False
        elif text is None:
            s.without += len(frame.data)
        else:
            s.without += body_without_transform(text, self.report.level)

    def _records(self, frame: Frame, code: bytes, costs: Any = None) -> None:
        """Count a records frame's templates and columns (by their text, over the frames), and
        what the model spent on each part of its code where *costs* says (per byte of the code)."""
        spent: Any = None
        if costs is not None:
            import numpy as np

            spent = np.concatenate(([0], np.cumsum(costs, dtype=np.int64)))
        try:
            templates, columns, sections = _records.describe(code, frame.original_size, spent)
        except _records.RecordsError as exc:
            raise _damaged(frame, str(exc)) from None
        r = self.report
        r.records_frames += 1
        r.costed_frames += costs is not None
        for text, uses in templates:
            r.templates[text] = r.templates.get(text, 0) + uses
        for label, kind, n, size, cost in columns:
            entry = r.columns.setdefault(label, [kind, 0, 0, 0])
            entry[0] = kind if entry[0] == kind else "mixed"
            entry[1] += n
            entry[2] += size
            entry[3] += max(cost, 0)
        for name, size, cost in sections:
            entry = r.sections.setdefault(name, [0, 0])
            entry[0] += size
            entry[1] += max(cost, 0)

    def _keep_codebook(self, frame: Frame, analysis: CodeAnalysis) -> None:
        r, book = self.report, analysis.codebook
        r.codebook_frame, r.codebook_size = frame.number, frame.original_size
        r.codebook_words, r.codebook_short = len(book.words), book.short
        r.top = [
            {"rank": rank, "word": word.decode("latin-1"), "code": book.code(rank).hex(), "uses": analysis.uses[rank]}
            for rank, word in enumerate(book.words[: r.shown])
        ]

    def _literal_lines(self, frame: Frame) -> None:
        try:
            data = decode_chunk(TRANSFORM_LITERAL, frame.backend, frame.data, frame.original_size, self.book)
        except ChunkDecodeError as exc:
            raise _damaged(frame, str(exc)) from None
        self._show_lines(frame, data)

    def _show_lines(self, frame: Frame, data: bytes) -> None:
        self.report.lines_frame = _frame_label(frame)
        self.report.lines = [{"text": render_bytes(t), "glyphs": None} for t in _first_lines(data, self.lines)]

    def _semantic_lines(self, frame: Frame, code: bytes) -> None:
        texts = _first_lines(semantic_decode(code, frame.original_size, book=self.book), self.lines)
        glyphs = render_glyph_lines(code, len(texts), frame.original_size, self.book)
        self.report.lines_frame = _frame_label(frame)
        self.report.lines = [{"text": render_bytes(t), "glyphs": g} for t, g in zip(texts, glyphs, strict=True)]


def _frame_label(frame: Frame) -> dict[str, Any]:
    return {
        "frame": frame.number,
        "transform": TRANSFORMS.get(frame.transform, str(frame.transform)),
        "backend": BACKENDS.get(frame.backend, str(frame.backend)),
    }


def _first_lines(data: bytes, count: int) -> list[bytes]:
    """Up to *count* lines of *data*, without their line feeds (a last unfinished line counts)."""
    lines = data.split(b"\n", count)[:count]
    if lines and not lines[-1] and data.count(b"\n") < count:
        lines.pop()  # the empty "line" after a final line feed
    return lines


def inspect_stream(
    src: IO[bytes],
    *,
    frames: int | None = None,
    lines: int = 5,
    top: int = SHOWN,
    read_size: int = 1 << 20,
    codebook: Codebook | None = None,
) -> list[StreamReport]:
    """Inspect every stream in *src*; decode the backend of only the first *frames* frames of each.

    Streams that name a codebook need it as *codebook* (:class:`SigmaCodebookError` otherwise).
    """
    return _inspect(iter(lambda: src.read(read_size), b""), frames, lines, top, codebook)


def _inspect(
    pieces: Iterable[bytes], frames: int | None, lines: int, top: int, codebook: Codebook | None
) -> list[StreamReport]:
    """One report per stream in the concatenated streams *pieces* hold."""
    reports: list[StreamReport] = []
    reader = FrameReader(codebook)
    inspector: _Inspector | None = None
    for data in pieces:
        reader.feed(data)
        for event in reader.events():
            if isinstance(event, StreamHeader):
                inspector = _Inspector(event, frames, lines, top, codebook)
            elif isinstance(event, Frame):
                assert inspector is not None
                inspector.add(event)
            else:
                assert inspector is not None
                inspector.report.encoded_size = event.size
                reports.append(inspector.report)
    reader.close(strict=False)
    return reports


def inspect_text(
    src: IO[bytes],
    level: int = DEFAULT_LEVEL,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    frames: int | None = None,
    lines: int = 5,
    top: int = SHOWN,
    codebook: Codebook | None = None,
    format: str = AUTO,
) -> StreamReport:
    """Encode *src* in memory as ``sigmalang encode`` would (with *codebook*: ``encode -D``; with
    *format*: ``encode --format``), and inspect the stream it makes.

    With *frames*, only the first *frames* chunks are read and encoded: the report then covers
    that prefix of the input.
    """
    chunks = (chunk.data for chunk in itertools.islice(ChunkedReader(src, chunk_size), frames))
    writer = FrameWriter(level, chunk_size, codebook=codebook, form=format)
    return _inspect(writer.stream(chunks), None, lines, top, codebook)[0]


def inspect_file(
    src: IO[bytes],
    *,
    level: int = DEFAULT_LEVEL,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    frames: int | None = None,
    lines: int = 5,
    top: int = SHOWN,
    codebook: Codebook | None = None,
    format: str = AUTO,
) -> tuple[bool, list[StreamReport]]:
    """Inspect a ΣLANG stream, or text (anything not starting with the magic) encoded at *level*
    (and *format*, ``encode --format``).

    Returns whether *src* was a stream, and the reports (one per stream; one for text).
    """
    head = src.read(len(MAGIC))
    reader = io.BufferedReader(Prefixed(head, src))
    if head == MAGIC:
        return True, inspect_stream(reader, frames=frames, lines=lines, top=top, codebook=codebook)
    text = inspect_text(
        reader, level, chunk_size=chunk_size, frames=frames, lines=lines, top=top, codebook=codebook, format=format
    )
    return False, [text]


def __getattr__(name: str) -> Any:
    # The report's text form lives with the command line's output code; still importable from here.
    if name == "format_report":
        return importlib.import_module("._inspect_format", __package__).format_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
