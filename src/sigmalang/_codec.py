"""One chunk in, one frame body out, and back: transform ∘ backend, chosen by level.

This layer is pure (no threads, no files, no frame-to-frame state): ``encode_chunk(data, level)``
and ``decode_chunk(transform, backend, payload, size)``, and :func:`encode_body` /
:func:`decode_body` with a backend primed by a context the frames layer (:mod:`sigmalang._frames`)
keeps. A chunk that does not shrink is stored, so no chunk grows by more than the frame's fixed
overhead; at levels 3-9, a chunk that a sample shows the backend cannot shrink is stored without
being coded (:func:`_incompressible`).

With the semantic transform the frame body is ``varint(code length) | backend payload``, the
backend payload decoding to the glyph code of :mod:`sigmalang.semantic` (docs/FORMAT.md §7.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from . import _records, _utf16, _wraps, semantic
from ._backend_base import CM, PPMD, STORE, ZSTD, Backend, BackendError
from ._backends import MIN_PAYLOAD, CmBackend, get_backend
from ._errors import SigmaFormatError
from ._levels import (
    AUTO,
    DEFAULT_LEVEL,
    LOGS,
    LONG_TRANSFORMS,
    TRANSFORM_LITERAL,
    TRANSFORM_RECORDS,
    TRANSFORM_SEMANTIC,
    TRANSFORM_UTF16,
    TRANSFORM_WRAPS,
    TRANSFORMS,
    LevelSpec,
    level_spec,
)
from ._longrange import LongRangeError, Matcher, check_list, iter_matches, splice
from ._wire import encode_varint, read_varint
from .semantic.codebook import Codebook
from .semantic.transform import read_header

if TYPE_CHECKING:
    from ._frames import FrameContext

__all__ = [
    "Body",
    "ChunkDecodeError",
    "EncodedChunk",
    "body_without_transform",
    "decode_body",
    "decode_chunk",
    "decode_code",
    "decode_code_costs",
    "encode_body",
    "encode_chunk",
    "frame_book",
    "max_code_size",
]


class ChunkDecodeError(Exception):
    """A frame body could not be decoded; the caller knows which frame and adds that."""


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    """A chunk coded as a frame body, with what a shared context takes in from it."""

    transform: int
    backend: int
    data: bytes
    continues: bool = False  # the frame needs the context of the frames before it
    coded: bytes = b""  # with a context: what the backend coded (the frame's part of the history)
    book: Codebook | None = None  # with a context: the codebook a semantic frame's code used
    original: bytes = b""  # with a context: the chunk (the frame's part of the long-range source)

    def advance(self, context: FrameContext | None) -> None:
        """Take this frame into *context* (the writer's side of :meth:`FrameContext.advance`)."""
        if context is not None:
            coded, table = history_input(self.transform, self.coded)
            context.advance(coded, self.continues, self.book, self.original, table)


def history_input(transform: int, coded: bytes) -> tuple[bytes, int]:
    """What a frame of *transform* whose backend input was *coded* adds to a shared-context history
    (docs/FORMAT.md §6.3), and how many of its last bytes are a template table: that input, but a
    record code of version 5 or later with its template table moved to the end
    (:func:`sigmalang._records.history_part`)."""
    return _records.history_part(coded) if transform == TRANSFORM_RECORDS else (coded, 0)


class Body(NamedTuple):
    """A chunk coded by transform 0 or 1 and a backend, before any frame-level prefix."""

    transform: int
    backend: int
    data: bytes  # a semantic body starts with the glyph code's length
    primed: bool  # the backend was primed with a context
    coded: bytes  # what the backend coded: the glyph code, or the chunk itself
    book: Codebook | None  # with keep_book: the codebook a semantic body's glyph code indexes


def encode_chunk(
    data: bytes,
    level: int = DEFAULT_LEVEL,
    book: Codebook | None = None,
    context: FrameContext | None = None,
    *,
    form: str = AUTO,
) -> EncodedChunk:
    """Encode one chunk at *level*; falls back to storing when encoding does not shrink it.

    The semantic transform is skipped for chunks that look binary or mostly non-ASCII
    (:func:`sigmalang.semantic.worth_trying`); they get the level's backend alone. With *book*
    (the stream's codebook), semantic frames reference it instead of carrying their own. With
    *context*, this is a frame of a shared-context stream: see :func:`sigmalang._frames.encode_frame`.
    *form* is what the chunk is taken for (``auto``, ``text`` or ``logs``): see :func:`encode_body`.
    """
    if context is not None:
        from ._frames import encode_frame

        return encode_frame(data, level, book, context, form=form)
    spec = level_spec(level)
    data = bytes(data)
    if spec.backend != STORE and len(data) > MIN_PAYLOAD.get(spec.backend, 0):
        body = _utf16_body(data, spec, book, form) or encode_body(data, spec, book, form=form)
        if len(body.data) < len(data):
            return EncodedChunk(body.transform, body.backend, body.data)
    return EncodedChunk(TRANSFORM_LITERAL, STORE, data)


def _utf16_body(data: bytes, spec: LevelSpec, book: Codebook | None, form: str) -> Body | None:
    """At the PPMd and CM levels, a chunk of text in UTF-16 whose UTF-8 is shorter (the writer's
    rule: :func:`sigmalang._utf16.split`) as transform 6: its UTF-8 coded as :func:`encode_body`
    codes a chunk. Else None. Only in streams of independent frames (a frame that continues a
    context is never transform 6)."""
    if spec.backend not in (CM, PPMD):
        return None
    found = _utf16.split(data)
    if found is None:
        return None
    flags, text = found
    inner = encode_body(text, spec, book, form=form)
    if inner.backend == STORE or inner.transform not in _utf16.INNER:
        return None
    head = _utf16.encode_header(data, flags, inner.transform, len(text))
    return Body(TRANSFORM_UTF16, inner.backend, head + inner.data, inner.primed, inner.coded, inner.book)


def body_without_transform(data: bytes, level: int) -> int:
    """The size of *data*'s frame body when *level* codes the bytes themselves, without a
    transform (stored when that does not shrink them): what the transform is measured against."""
    spec = level_spec(level)
    if spec.backend == STORE or len(data) <= MIN_PAYLOAD.get(spec.backend, 0):
        return len(data)
    literal = _encode_body(data, replace(spec, transform=TRANSFORM_LITERAL, wraps=False), None, b"", False)
    return min(len(literal.data), len(data))


def encode_body(
    data: bytes,
    spec: LevelSpec,
    book: Codebook | None = None,
    prime: bytes = b"",
    *,
    keep_book: bool = False,
    form: str = AUTO,
) -> Body:
    """Transform 0, 1 or 4 and the level's backend, primed with *prime*; a frame's data if it is
    short enough (the caller checks). *book* is the codebook the glyph code may reference.

    With *form* ``auto``, at the PPMd and CM levels (3-9), a chunk that looks like log lines is also coded as
    records (transform 4), and the smaller body is kept. A chunk longer than twice RECORDS_PROBE is
    coded in full only one way, the way :func:`_records_win` chooses from samples of its lines;
    a level with ``spec.both_in_full`` trusts a sample only where records win on it clearly, and
    otherwise codes the chunk both ways in full. A record code nearly as long as its chunk, or much
    shorter, settles the choice without coding the other way (:func:`_hopeless`, :func:`_sure`).
    With ``text``, no chunk is coded as records. With ``logs``, every chunk is coded as records
    with the level's backend, whatever it looks like, and as bytes only where its record code
    cannot be written (too long, or refused by the backend)."""
    if form == LOGS and spec.backend != STORE:
        return _records_body(data, spec, prime, book) or _encode_body(data, spec, book, prime, keep_book)
    tried = form == AUTO and spec.backend in (CM, PPMD)
    if not (tried and _records.looks_like_logs(data)):
        return _encode_body(data, spec, book, prime, keep_book)
    code = None
    sure = False  # whether the record code, once made, settles the choice (asked once: it counts lines)
    if len(data) > 2 * RECORDS_PROBE:
        code = _code_first(data, spec)
        sure = code is not None and _sure(code, data, spec, book)
        if not sure:
            win = _records_clearly_win(data, spec) if spec.both_in_full else _records_win(data, spec)
            if win is not None:
                found = _records_body(data, spec, prime, book, code) if win else None
                return found or _encode_body(data, spec, book, prime, keep_book)
    if code is None:
        code = _records.encode(data)
        sure = _sure(code, data, spec, book)
    as_records = None if _hopeless(len(code), len(data), spec) else _records_body(data, spec, prime, book, code)
    if as_records is None:
        return _encode_body(data, spec, book, prime, keep_book)
    if sure:
        return as_records
    # The bytes are kept where they are no longer than the records: coded second, they stop once
    # longer (the CM stops coding there, mostly well before the chunk's end).
    body = _body_at_most(data, spec, book, prime, keep_book, len(as_records.data))
    return as_records if body is None else body


RECORDS_PROBE = 128 << 10  # bytes of a long chunk coded both ways to choose its transform
PROBES = 4  # in this many pieces, spread over the chunk
# Records gain on bytes as a chunk grows (longer columns), on some logs by far more than the sample
# shows: where records lose on the sample by less than 1/UNSURE, a longer piece decides (LOOK bytes
# from the chunk's middle), or, in a chunk at most twice that long, coding it both ways in full.
UNSURE = 12
# Records that win on the sample by less than 1/UNSURE_WIN are a close call too: word groups
# (_records._groups) form more readily in a sample, whose templates are rarer than the chunk's
# (docs/logs.md, "Words as fields": javac's JVM log, records 2.9% smaller on a sample and 0.9%
# larger on the whole chunk).
UNSURE_WIN = 32
LOOK = 512 << 10
HOPELESS_NUM, HOPELESS_DEN = 9, 10  # a record code this long against its text is not weighed (_hopeless)
SURE_NUM, SURE_DEN = 2, 5  # nor one this short, which wins unweighed (_sure)
# unless more than this share of the chunk is lines that repeat an earlier line of it whole (_sure)
REPEATED_NUM, REPEATED_DEN = 1, 3
# A long chunk's own record code is made before its sample is coded where the sample's code is at
# most this much of the sample, and may then be _sure (_code_first).
SAMPLE_SURE_NUM, SAMPLE_SURE_DEN = 1, 2


def settled(records_size: int, bytes_size: int) -> bool:
    """Whether a sample's sizes decide the choice: records smaller by at least 1/UNSURE_WIN, or
    larger by at least 1/UNSURE; in between, a close call."""
    return _clearly_smaller(records_size, bytes_size) or UNSURE * records_size >= (UNSURE + 1) * bytes_size


def _clearly_smaller(records_size: int, bytes_size: int) -> bool:
    """Whether records are smaller than the bytes by at least 1/UNSURE_WIN."""
    return UNSURE_WIN * records_size <= (UNSURE_WIN - 1) * bytes_size


def _records_clearly_win(data: bytes, spec: LevelSpec) -> bool | None:
    """Level 9's verdict on the long chunk *data* (``spec.both_in_full``): True where records win on
    the PROBES pieces joined by 1/UNSURE_WIN or more, else None, the chunk to be coded both ways in
    full; None at once for a chunk of at most twice LOOK, which costs little more in full. Records
    gain on bytes as a chunk grows, so only that verdict of a sample holds for the whole chunk
    whatever it holds further on (docs/logs.md, "Level 9: both ways in full")."""
    if len(data) <= 2 * LOOK:
        return None
    sizes = _coded_sizes([b"".join(_probes(data))], spec)
    return True if sizes is not None and _clearly_smaller(*sizes) else None


def _records_win(data: bytes, spec: LevelSpec) -> bool | None:
    """Whether records code the long chunk *data* smaller than its bytes, judged on a sample of its
    lines, the PROBES pieces of :func:`_probes`, then, where that leaves it open, :func:`_look`.
    None: the chunk is to be coded both ways in full (and the smaller kept).

    In a chunk longer than twice LOOK, the pieces are joined and coded as one, as the chunk will be:
    a template's table entry and what the model learns are then paid once over the sample, as over
    the chunk, and the sample's verdict is closer to the chunk's (on the JVM log of docs/logs.md,
    records 4% larger than bytes on the pieces coded apart, 5-8% smaller on them joined, 36-38%
    smaller on the whole chunk), which spares the longer piece. In a shorter chunk the sample is a
    large part of it, and the pieces are coded apart: their lean to bytes matches the chunk's
    shorter columns (a 280 KB PostgreSQL log: records 2.2% smaller on the pieces joined, 1% larger
    apart, 2.4% larger on the whole).

    The sample is coded without the stream's codebook, if it has one: the book's sample is lines of
    text, which help a short piece coded as bytes far more than the same piece's record code, so a
    primed sample would choose bytes where the whole chunk codes smaller as records (a 4 MiB JVM
    log with a book of its lines: 80,229 bytes as bytes, 71,691 as records)."""
    long = len(data) > 2 * LOOK
    pieces = _probes(data)
    sizes = _coded_sizes([b"".join(pieces)] if long else pieces, spec)
    if sizes is None:
        return False
    records_size, bytes_size = sizes
    if settled(records_size, bytes_size):
        return records_size < bytes_size
    if not long:
        return None
    sizes = _coded_sizes([_look(data)], spec, lambda records_size: records_size + 1)
    return sizes is not None and sizes[0] < sizes[1]


def _coded_sizes(
    pieces: list[bytes], spec: LevelSpec, enough: Callable[[int], int] | None = None
) -> tuple[int, int] | None:
    """The sizes of *pieces* coded as records and as bytes (without a codebook), each added up;
    None if a piece's record code cannot be written. The bytes are coded last, and only until
    their size reaches ``enough(records size)`` (by default, the size from which records are
    clearly smaller: :func:`_clearly_smaller`), which is then the size returned for them: every
    verdict taken from these sizes is the one their full sizes would give. None, without coding
    anything, where the pieces' record codes are :func:`_hopeless`."""
    codes = [_records.encode(piece) for piece in pieces]
    if _hopeless(sum(map(len, codes)), sum(map(len, pieces)), spec):
        return None
    records = [_records_body(piece, spec, b"", None, code) for piece, code in zip(pieces, codes, strict=True)]
    records_size = 0
    for found in records:
        if found is None:
            return None
        records_size += len(found.data)
    need = (enough or _clear_need)(records_size)
    bytes_size = 0
    for piece in pieces:
        body = _body_at_most(piece, spec, None, b"", False, need - 1 - bytes_size)
        if body is None:
            return records_size, need
        bytes_size += len(body.data)
    return records_size, bytes_size


def _clear_need(size: int, margin: int = UNSURE_WIN) -> int:
    """The smallest size of the bytes against which *size* is clearly smaller: smaller by 1/*margin*
    of the bytes' size or more."""
    return -(-margin * size // (margin - 1))


def _probes(data: bytes, total: int = RECORDS_PROBE) -> list[bytes]:
    """PROBES pieces of whole lines, about *total* bytes in all, at even steps through *data*
    (from its start, then from the first line starting after each step): a chunk whose lines change
    kind (logs of several systems one after another) is judged on all of them, not on its start."""
    return [_lines(data, len(data) * k // PROBES, total // PROBES) for k in range(PROBES)]


# A chunk's lines can fit greedy filling without being prose: logs whose lines are about as long
# as each other do, and coded as one running text they lose the line structure the model's column
# and field contexts read (+17% to +24% on two logs). So the wrap code is kept only where a sample
# of the chunk's lines (PROBES pieces, WRAPS_PROBE bytes in all, joined) codes smaller as a wrap
# code than as bytes by 1/WRAPS_MARGIN or more (docs/cm.md, "Hard-wrapped text").
WRAPS_PROBE = 64 << 10
WRAPS_MARGIN = 256


def _wrapped(data: bytes, spec: LevelSpec, prime: bytes, book: Codebook | None) -> tuple[bytes | None, bytes | None]:
    """The wrap code of *data* where the level writes one and it is worth writing, else None; and,
    where judging it coded the whole chunk (a short one) as the chunk's coding will (no *prime*, no
    *book*), the CM payload of the form that won (the wrap code, or the bytes), else None."""
    wrapped = _wraps.encode(data) if spec.wraps else None
    if wrapped is None:
        return None, None
    wins, payload = _wraps_trial(data, wrapped, spec)
    return (wrapped if wins else None), (payload if not prime and book is None else None)


def _as_body(data: bytes, wrapped: bytes | None, payload: bytes, backend: int, primed: bool) -> Body:
    """The body of *data* whose backend wrote *payload* for its wrap code *wrapped*, or, where that is
    None, for its bytes."""
    if wrapped is None:
        return Body(TRANSFORM_LITERAL, backend, payload, primed, data, None)
    return Body(TRANSFORM_WRAPS, backend, encode_varint(len(wrapped)) + payload, primed, wrapped, None)


# In a wrap code whose lines are paragraphs, few bytes stand in a line's first 32 columns, and what
# the model learns of lines earns nothing there: the column context (the byte above), the field
# context and the third weight set (chosen by column and field) are 12% of its instructions on such
# text and code it no smaller; the indirect context earns 0.03% for another 7% (docs/cm.md,
# "Running text"). A wrap code with fewer than PARAGRAPHS_HEAD / PARAGRAPHS_SHARE of its bytes in
# the first 32 columns of its lines is coded without them at levels 5-8 (dickens: 11%; hard-wrapped
# licences and manuals, with lists and headings: 23-40%).
PARAGRAPHS_HEAD = 3
PARAGRAPHS_SHARE = 16


def _wrap_spec(spec: LevelSpec, wrapped: bytes) -> LevelSpec:
    """The settings the wrap code *wrapped* is coded with: the level's set for running text
    (:meth:`LevelSpec.for_paragraphs`) where the code's lines are paragraphs, else the level's."""
    paragraphs = spec.for_paragraphs()
    if paragraphs is spec:
        return spec
    starts = np.flatnonzero(np.frombuffer(wrapped, dtype=np.uint8) == 10) + 1  # of the lines after the first
    lengths = np.diff(starts, prepend=0, append=len(wrapped))  # every line's, its line feed included
    head = int(np.minimum(lengths, 32).sum())
    return spec if head * PARAGRAPHS_SHARE >= len(wrapped) * PARAGRAPHS_HEAD else paragraphs


def _wraps_win(data: bytes, wrapped: bytes, spec: LevelSpec) -> bool:
    """Whether *wrapped*, the wrap code of *data*, is worth writing: on a sample of *data* (the
    whole of it if short), the level's backend codes the sample's wrap code, with the settings the
    chunk's wrap code gets (:func:`_wrap_spec`), smaller than its bytes by 1/WRAPS_MARGIN or more.
    The bytes are coded second, and only until that is decided."""
    return _wraps_trial(data, wrapped, spec)[0]


def _wraps_trial(data: bytes, wrapped: bytes, spec: LevelSpec) -> tuple[bool, bytes | None]:
    """:func:`_wraps_win`'s verdict, and, where the sample is all of *data*, the winner's payload:
    the wrap code as the chunk's coding writes it (:func:`_wrap_spec`'s settings), or the bytes,
    coded to the end where they win; unprimed and without a book. The chunk's own coding then need
    not compute it again."""
    sample, code = data, wrapped
    if len(data) > 2 * WRAPS_PROBE:  # each section of the sample chooses its own line ends and width
        sample = b"".join(_probes(data, WRAPS_PROBE))
        found = _wraps.encode(sample)
        if found is None:
            return False, None
        code = found
    judge = get_backend(spec.backend, spec.backend_level, spec.memory_mib)
    coder = _wrap_spec(spec, code)
    as_wrap_code = get_backend(coder.backend, coder.backend_level, coder.memory_mib)
    assert isinstance(judge, CmBackend), "wrap codes are written at the CM levels only"
    try:
        wrap_payload = as_wrap_code.encode(code)
        as_bytes = judge.encode_at_most(sample, b"", _clear_need(len(wrap_payload), WRAPS_MARGIN) - 1)
    except BackendError:
        return False, None
    if sample is not data:
        return as_bytes is None, None
    return as_bytes is None, wrap_payload if as_bytes is None else as_bytes


def _look(data: bytes) -> bytes:
    """The longer piece a close call is judged on: about LOOK bytes of whole lines from the middle
    of *data* (longer than twice LOOK)."""
    return _lines(data, len(data) // 2 - LOOK // 2 + 1, LOOK)


def _lines(data: bytes, at: int, size: int) -> bytes:
    """Whole lines of *data*, at most *size* bytes (or the start of one longer line), from its start
    if *at* is 0, else from the first line that starts at *at* or after it."""
    start = data.find(b"\n", at - 1) + 1 if at else 0
    return data[start : data.rfind(b"\n", start, start + size) + 1 or start + size]


def _hopeless(code_size: int, size: int, spec: LevelSpec) -> bool:
    """Whether the CM, weighing records against bytes, need not code a record code of *code_size*
    bytes for *size* bytes of text: one at least HOPELESS_NUM/HOPELESS_DEN as long as the text,
    whose templates hold almost none of it (tables of names and free text). At the CM levels the
    bytes coded smaller on every such chunk measured; PPMd, which sees six bytes back, codes some
    tables smaller as columns (docs/logs.md, "Record codes as long as their text")."""
    return spec.backend == CM and HOPELESS_DEN * code_size >= HOPELESS_NUM * size


def _sure(code: bytes, data: bytes, spec: LevelSpec, book: Codebook | None) -> bool:
    """Whether records win for the chunk *data*, whose record code is *code*, without the bytes
    coded to weigh them: a record code at most SURE_NUM/SURE_DEN as long as its text, its
    templates most of the text, at a level that trusts a sample's verdict (level 9, which codes a
    close call both ways in full, weighs every chunk), without a codebook (whose sample lines help
    the bytes of a small chunk far more than its record code), unless the chunk's lines repeat each
    other much (:func:`_repeats_much`). Records won on every such chunk measured but Android's, in
    chunks of 64 KiB to 4 MiB (docs/logs.md, "Record codes much shorter than their text")."""
    if spec.both_in_full or book is not None or SURE_DEN * len(code) > SURE_NUM * len(data):
        return False
    return not _repeats_much(_lines_judged(data))


def _lines_judged(data: bytes) -> bytes:
    """The lines of the chunk *data* whose repeats :func:`_sure` counts: its whole lines in its
    first LOOK bytes (a bound on the set of distinct lines)."""
    return _lines(data, 0, LOOK)


def _repeats_much(lines: bytes) -> bool:
    """Whether more than REPEATED_NUM/REPEATED_DEN of *lines* (whole lines of a chunk) are lines
    that repeat an earlier one whole, such as stack traces: the bytes' model codes a repeated line
    nearly free, where records code its template id and fields again."""
    return REPEATED_DEN * repeated_bytes(lines) > REPEATED_NUM * len(lines)


def repeated_bytes(lines: bytes) -> int:
    """The bytes of *lines* in lines that repeat an earlier line of them whole, line feeds included."""
    distinct = set(lines.split(b"\n"))
    return len(lines) + 1 - sum(map(len, distinct)) - len(distinct)


def _code_first(data: bytes, spec: LevelSpec) -> bytes | None:
    """The record code of the long chunk *data*, made before any sample of it is coded, where it
    may decide the choice alone (:func:`_sure`); else None. A chunk of at most LOOK has it made at
    once (at most four times the sample's transform, where the sample's costs one, and records
    are the choice on most logs). A longer one has it made where the code of the chunk's
    sample (the PROBES pieces joined) is at most SAMPLE_SURE_NUM/SAMPLE_SURE_DEN as long as the
    sample: a sample's code runs longer than its chunk's (each template's table entry and first
    lines paid over less text; docs/logs.md, "Record codes much shorter than their text"), and the
    code of a chunk whose records then win is made once, not twice."""
    if spec.both_in_full:
        return None
    if len(data) <= LOOK:
        return _records.encode(data)
    sample = b"".join(_probes(data))
    if SAMPLE_SURE_DEN * len(_records.encode(sample)) > SAMPLE_SURE_NUM * len(sample):
        return None
    return _records.encode(data)


def _records_body(
    data: bytes, spec: LevelSpec, prime: bytes, book: Codebook | None, code: bytes | None = None
) -> Body | None:
    """*data* as a record code (*code*, if given, is it) coded by the level's backend (the CM, as
    ``auto`` chooses; zstd or PPMd only with ``logs``), or None if the code is too long to write
    or the backend refuses it."""
    if code is None:
        code = _records.encode(data)
    if len(code) > max_code_size(len(data)):
        return None
    backend = _level_backend(spec.for_records(), book)
    if isinstance(backend, CmBackend):  # record codes get trees of their own kind (docs/cm.md, "Byte trees")
        backend = backend.for_record_code()
    try:
        payload = encode_varint(len(code)) + backend.encode(code, prime)
    except BackendError:  # a primer the CM refuses, a PPMd coding that fails its check: the bytes' body
        return None
    return Body(TRANSFORM_RECORDS, spec.backend, payload, bool(prime), code, None)


def _level_backend(spec: LevelSpec, book: Codebook | None) -> Backend:
    """The level's backend; the CM, with the stream's codebook, primes every payload with it (the
    glyph code of levels 1-3 references the book instead)."""
    return _with_book(get_backend(spec.backend, spec.backend_level, spec.memory_mib, verify=spec.verify), book)


def _with_book(backend: Backend, book: Codebook | None) -> Backend:
    """*backend*, given the stream's codebook if it is the CM (whose payloads may be primed with it)."""
    return backend.with_book(book.primer()) if book is not None and isinstance(backend, CmBackend) else backend


def _encode_body(data: bytes, spec: LevelSpec, book: Codebook | None, prime: bytes, keep_book: bool) -> Body:
    if spec.backend in (CM, PPMD) and _incompressible(data, prime, spec):
        return Body(TRANSFORM_LITERAL, STORE, data, False, data, None)
    wrapped, trial = _wrapped(data, spec, prime, book)
    if trial is not None:  # the trial coded the chunk as the lines below would
        return _as_body(data, wrapped, trial, spec.backend, False)
    if wrapped is not None:
        try:
            payload = _level_backend(_wrap_spec(spec, wrapped), book).encode(wrapped, prime)
            return _as_body(data, wrapped, payload, spec.backend, bool(prime))
        except BackendError:  # coded as the chunk's bytes below
            pass
    backend = _level_backend(spec, book)
    semantic_ok = spec.transform == TRANSFORM_SEMANTIC and semantic.worth_trying(data)
    code = semantic.encode(data, book=book) if semantic_ok else b""
    try:
        if code and len(code) <= max_code_size(len(data)):
            used = frame_book(code, book) if keep_book else None
            body = encode_varint(len(code)) + backend.encode(code, prime)
            return Body(TRANSFORM_SEMANTIC, spec.backend, body, bool(prime), code, used)
        return Body(TRANSFORM_LITERAL, spec.backend, backend.encode(data, prime), bool(prime), data, None)
    except BackendError:  # a verified backend refused its own output: use zstd for this chunk
        return Body(TRANSFORM_LITERAL, ZSTD, get_backend(ZSTD, 19).encode(data), False, data, None)


# A chunk the CM or PPMd cannot shrink (compressed or encrypted data) costs them as long as text,
# for nothing: such a chunk is stored without coding it. It is judged on GUARD_PIECES pieces of at
# most GUARD_PIECE bytes, at even steps through it: if their bytes are about equally frequent (none
# more than twice as often as the average) and the level's backend, starting empty, codes them
# into no fewer bytes than they have, and the chunk repeats no long span of itself or of the
# frame's context, it is stored. Chunks shorter than GUARD_MIN are coded (docs/cm.md,
# "Incompressible chunks").
GUARD_MIN = 64 << 10
GUARD_PIECES = 4
GUARD_PIECE = 16 << 10
GUARD_TABLE_BITS = 16  # the repeat finder's table: 2**16 anchors (512 KiB)


def _incompressible(data: bytes, prime: bytes, spec: LevelSpec) -> bool:
    """Whether *data* looks incompressible to the level's backend: a sample of it is (coded without
    a codebook, a context or a check), and it has no long repeats."""
    if len(data) < GUARD_MIN:
        return False
    size = min(GUARD_PIECE, len(data) // 16)
    step = (len(data) - size) // (GUARD_PIECES - 1)
    pieces = [data[k * step : k * step + size] for k in range(GUARD_PIECES)]
    sample = b"".join(pieces)
    counts = np.bincount(np.frombuffer(sample, dtype=np.uint8), minlength=256)
    if int(counts.max()) * 256 > 2 * len(sample):
        return False
    backend = get_backend(spec.backend, spec.backend_level, spec.memory_mib)
    try:
        if sum(len(backend.encode(piece)) for piece in pieces) < len(sample):
            return False
    except BackendError:  # the chunk is coded, and the way that fails chosen there
        return False
    matcher = Matcher(bits=GUARD_TABLE_BITS)
    if prime:
        matcher.find(prime)  # indexes the context's line starts
        matcher.advance(prime, False)
    return sum(length for _, _, length in matcher.find(data)) * 64 < len(data)


def _body_at_most(
    data: bytes, spec: LevelSpec, book: Codebook | None, prime: bytes, keep_book: bool, limit: int
) -> Body | None:
    """:func:`_encode_body`'s body if its data is at most *limit* bytes long, else None. The CM
    coding the chunk's bytes stops as soon as they pass the limit; another backend codes in full."""
    if limit < 0:
        return None
    if spec.transform == TRANSFORM_LITERAL and spec.backend == CM:
        wrapped, trial = _wrapped(data, spec, prime, book)
        # _encode_body's first choice is the wrap code, with its length before the payload
        room = limit if wrapped is None else limit - len(encode_varint(len(wrapped)))
        if trial is not None:  # coded already, in full
            return _as_body(data, wrapped, trial, CM, False) if len(trial) <= room else None
        backend = _level_backend(spec if wrapped is None else _wrap_spec(spec, wrapped), book)
        if isinstance(backend, CmBackend):
            try:
                payload = backend.encode_at_most(data if wrapped is None else wrapped, prime, room)
            except BackendError:  # _encode_body's way: zstd
                pass
            else:
                return None if payload is None else _as_body(data, wrapped, payload, CM, bool(prime))
    body = _encode_body(data, spec, book, prime, keep_book)
    return body if len(body.data) <= limit else None


def frame_book(code: bytes, used: Codebook | None) -> Codebook:
    """The codebook a glyph code's references index: *used* (with FLAG_BOOK) plus its own words."""
    return read_header(code, book=used)[1]


def max_code_size(size: int) -> int:
    """The longest glyph code a decoder accepts for a chunk of *size* bytes (a generous bound)."""
    return 4 * size + 64


def decode_chunk(
    transform: int,
    backend: int,
    payload: bytes,
    size: int,
    book: Codebook | None = None,
    prime: bytes = b"",
) -> bytes:
    """Decode one frame body to exactly *size* bytes, or raise :class:`ChunkDecodeError`.

    *book* is the stream's codebook, when its header names one; *prime* the context a
    continuing frame's backend was primed with (the body then no longer starts with its length).
    """
    return decode_body(transform, backend, payload, size, book, prime)[0]


def decode_body(
    transform: int,
    backend: int,
    payload: bytes,
    size: int,
    book: Codebook | None,
    prime: bytes,
    source: bytes | bytearray = b"",
) -> tuple[bytes, bytes]:
    """The chunk and the backend input it was coded from (glyph code or the chunk itself; of the
    rest, for a long-range frame, whose references reach into *source*)."""
    if transform not in TRANSFORMS:
        raise ChunkDecodeError(f"unknown transform {transform}")
    if transform == TRANSFORM_UTF16:
        if prime:
            raise ChunkDecodeError("a transform-6 frame continues a context")
        try:
            inner, lead, tail, text_size, start = _utf16.parse(payload, size)
            text, coded = decode_body(inner, backend, payload[start:], text_size, book, b"")
            return _utf16.decode(text, lead, tail, size), coded
        except _utf16.Utf16Error as exc:
            raise ChunkDecodeError(f"utf-16 frame: {exc}") from None
    if transform in LONG_TRANSFORMS:
        try:
            covered, start = check_list(payload, size, len(source))
            rest, coded = decode_body(transform - 2, backend, payload[start:], size - covered, book, prime)
            return splice(rest, iter_matches(payload), source, size), coded
        except LongRangeError as exc:
            raise ChunkDecodeError(f"long-range frame: {exc}") from None
    try:
        decoder = _with_book(get_backend(backend), book)
    except KeyError:
        raise ChunkDecodeError(f"unknown backend {backend}") from None
    try:
        if transform == TRANSFORM_LITERAL:
            data = decoder.decode(payload, size, prime)
            return data, data
        code = _decode_code(decoder.decode, payload, size, prime)
        if transform == TRANSFORM_RECORDS:
            return _records.decode(code, size), code
        if transform == TRANSFORM_WRAPS:
            return _wraps.decode(code, size), code
        data = semantic.decode(code, size, book=book)
        if len(data) != size:
            raise ChunkDecodeError(f"glyph code decoded to {len(data)} bytes, expected {size}")
        return data, code
    except (BackendError, semantic.SemanticDecodeError) as exc:
        raise ChunkDecodeError(str(exc)) from None
    except _records.RecordsError as exc:
        raise ChunkDecodeError(f"record code: {exc}") from None
    except _wraps.WrapsError as exc:
        raise ChunkDecodeError(f"wrap code: {exc}") from None


def decode_code(backend: int, payload: bytes, size: int, prime: bytes = b"", book: Codebook | None = None) -> bytes:
    """The glyph code of a semantic frame body, its text not decoded (what ``sigmalang inspect`` reads)."""
    return _code_and_costs(backend, payload, size, prime, False, book)[0]


def decode_code_costs(backend: int, payload: bytes, size: int, book: Codebook | None = None) -> tuple[bytes, Any]:
    """:func:`decode_code` for a frame that continues no context, and what coding each byte of the
    code cost where the backend can tell (the CM: an int32 array in ``_cm.COST_SCALE``-ths of a
    bit), else None."""
    return _code_and_costs(backend, payload, size, b"", True, book)


def _code_and_costs(
    backend: int, payload: bytes, size: int, prime: bytes, costs: bool, book: Codebook | None
) -> tuple[bytes, Any]:
    try:
        coder = _with_book(get_backend(backend), book)
        data, code_size = _code_payload(payload, size)
        if costs and isinstance(coder, CmBackend):
            return coder.decode_costs(data, code_size)
        return coder.decode(data, code_size, prime), None
    except KeyError:
        raise ChunkDecodeError(f"unknown backend {backend}") from None
    except BackendError as exc:
        raise ChunkDecodeError(str(exc)) from None


def _decode_code(decode: Callable[[bytes, int, bytes], bytes], payload: bytes, size: int, prime: bytes) -> bytes:
    data, code_size = _code_payload(payload, size)
    return decode(data, code_size, prime)


def _code_payload(payload: bytes, size: int) -> tuple[bytes, int]:
    """A frame body's backend payload and the length of the code it decodes to (checked)."""
    code_size, start = read_varint(payload, 0, 5, _fails("frame has no valid code length"))
    if code_size > max_code_size(size):
        raise ChunkDecodeError(f"code of {code_size} bytes is too long for a {size}-byte chunk")
    return payload[start:], code_size


def _fails(reason: str) -> Callable[[SigmaFormatError | None], Exception]:
    """A :func:`read_varint` error for a field whose damage has one meaning, whatever is wrong."""
    return lambda _: ChunkDecodeError(reason)
