"""One-shot and incremental compression, shaped like the standard library's ``lzma`` and ``bz2``.

* ``compress(data, level=6)`` and ``decompress(data)``;
* ``SigmaCompressor().compress(data)`` / ``.flush()``;
* ``SigmaDecompressor().decompress(data, max_length=-1)`` with ``eof``, ``unused_data`` and
  ``needs_input``.

Both produce and accept exactly the streams that :mod:`sigmalang.stream` writes: the same input
and options give the same bytes through any API.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ._chunking import DEFAULT_CHUNK_SIZE, check_chunk_size, check_int, chunk_end
from ._frames import FrameContext, FrameReader, FrameWriter, StreamDecoding
from ._levels import DEFAULT_LEVEL, chunk_size_for, level_spec
from .container import EndOfStream, Frame, StreamHeader, StreamParser
from .errors import SigmaError
from .semantic.codebook import Codebook, as_codebook

CodebookArg = Codebook | str | os.PathLike[str] | None

__all__ = ["DEFAULT_CHUNK_SIZE", "SigmaCompressor", "SigmaDecompressor", "compress", "decompress"]


def check_data(data: object) -> None:
    """A ``TypeError`` that names bytes for text, as ``lzma`` and ``zstandard`` do."""
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str' (encode text first, e.g. text.encode())")


class SigmaCompressor:
    """Compress data incrementally into one ΣLANG stream.

    ``compress()`` returns whatever whole frames are ready (often ``b""``); ``flush()`` returns
    the rest and ends the stream, after which the object cannot be used. With *codebook* (a
    :class:`~sigmalang.semantic.Codebook` or the path of a codebook file), the stream names it
    and needs it to be decoded. With *shared_context*, each frame's backend is primed with what
    the frames before it coded (a better ratio at small chunk sizes; frames then decode in order
    from the last reset point, see docs/FORMAT.md §6.3). With *filters*, the index carries search
    filters for :func:`sigmalang.search` (docs/FORMAT.md §18).
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        *,
        chunk_size: int | None = None,
        codebook: CodebookArg = None,
        shared_context: bool = False,
        filters: bool = False,
    ):
        check_int("level", level)
        level_spec(level)
        self.level = level
        self.chunk_size = check_chunk_size(chunk_size_for(level, chunk_size))
        self.codebook = as_codebook(codebook)
        self._frames = FrameWriter(
            level, self.chunk_size, codebook=self.codebook, shared_context=shared_context, filters=filters
        )
        self._buffer = bytearray()
        self._out = bytearray(self._frames.start())
        self._finished = False

    @property
    def context(self) -> FrameContext | None:
        """The shared context the next frame continues (``None``: frames are independent)."""
        return self._frames.context

    @context.setter
    def context(self, context: FrameContext | None) -> None:
        self._frames.context = context

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        if self._finished:
            raise ValueError("Compressor has been flushed")
        check_data(data)
        self._buffer += data
        self._emit(final=False)
        return self._take()

    def flush(self) -> bytes:
        if self._finished:
            raise ValueError("Repeated call to flush()")
        self._finished = True
        self._emit(final=True)
        self._out += self._frames.finish()
        return self._take()

    def _emit(self, final: bool) -> None:
        for record in self._frames.frames(self._chunks(final)):
            self._out += record

    def _chunks(self, final: bool) -> Iterator[bytes]:
        """The whole chunks the buffer holds (with *final*, its last one too), taken out of it.
        No view of the buffer is held while a chunk is out, so the buffer can always grow."""
        start = 0
        try:
            while True:
                with memoryview(self._buffer) as view:
                    end = chunk_end(view[start:], self.chunk_size, final)
                    chunk = bytes(view[start : start + end])
                if not end:
                    return
                start += end
                yield chunk
        finally:
            del self._buffer[:start]

    def _take(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out


class SigmaDecompressor:
    """Decompress one ΣLANG stream incrementally.

    ``decompress(data, max_length)`` returns at most *max_length* bytes (all available if
    negative); bytes past the end of the stream go to ``unused_data``. The whole-content
    checksum is checked when the end of the stream is reached. *codebook* is needed for a
    stream that names one (:class:`~sigmalang.SigmaCodebookError` when missing or different).
    """

    def __init__(self, *, offset: int = 0, codebook: CodebookArg = None):
        self.codebook = as_codebook(codebook)
        self._parser = StreamParser(offset=offset, codebook_id=self.codebook.id if self.codebook else b"")
        self._pending = memoryview(b"")
        self._stream: StreamDecoding | None = None
        self.eof = False
        self.needs_input = True

    @property
    def unused_data(self) -> bytes:
        return self._parser.unused_data

    def decompress(self, data: bytes | bytearray | memoryview, max_length: int = -1) -> bytes:
        check_int("max_length", max_length)
        if self.eof:
            raise EOFError("End of stream already reached")
        check_data(data)
        self._parser.feed(data)
        out = bytearray()
        while True:
            if self._pending:
                if 0 <= max_length <= len(out):
                    break
                room = len(self._pending) if max_length < 0 else max_length - len(out)
                out += self._pending[:room]
                self._pending = self._pending[room:]
                continue
            # Pull the next record even when *out* is full, so needs_input tells the truth.
            event = self._parser.next_event()
            if event is None:
                break
            if isinstance(event, StreamHeader):
                self._stream = StreamDecoding(event, self.codebook)
            elif isinstance(event, Frame):
                assert self._stream is not None
                self._pending = memoryview(self._stream.decode(event))
            elif isinstance(event, EndOfStream):
                assert self._stream is not None
                self._stream.check(event)
                self.eof = True
                break
        self.needs_input = not self.eof and not self._pending
        return bytes(out)

    def close(self) -> None:
        """Raise :class:`SigmaTruncatedError` unless the whole stream was seen."""
        self._parser.close()


def compress(
    data: bytes | bytearray | memoryview,
    level: int = DEFAULT_LEVEL,
    *,
    chunk_size: int | None = None,
    codebook: CodebookArg = None,
    shared_context: bool = False,
    workers: int = 1,
    filters: bool = False,
) -> bytes:
    """Compress *data* into one ΣLANG stream (with *codebook*: one that needs that codebook;
    with *shared_context*: frames that carry context, see :class:`SigmaCompressor`; with
    *filters*: search filters in the index, for :func:`sigmalang.search`).

    *workers* processes code the chunks in parallel (``0``: one per CPU), as
    :class:`~sigmalang.StreamingEncoder` does; the bytes are the same for every worker count.
    """
    check_data(data)
    if workers != 1:
        return _compress_in_parallel(data, level, chunk_size, codebook, shared_context, workers, filters)
    comp = SigmaCompressor(
        level, chunk_size=chunk_size, codebook=codebook, shared_context=shared_context, filters=filters
    )
    return comp.compress(data) + comp.flush()


def _compress_in_parallel(
    data: bytes | bytearray | memoryview,
    level: int,
    chunk_size: int | None,
    codebook: CodebookArg,
    shared_context: bool,
    workers: int,
    filters: bool = False,
) -> bytes:
    import io

    from .stream import StreamingEncoder  # not at import: a worker process needs only the codec

    encoder = StreamingEncoder(
        level, chunk_size, workers=workers, codebook=codebook, shared_context=shared_context, filters=filters
    )
    out = io.BytesIO()
    with memoryview(data) as view:
        encoder.encode_stream(io.BytesIO(view.cast("B")), out)
    return out.getvalue()


def decompress(
    data: bytes | bytearray | memoryview, *, codebook: CodebookArg = None, max_output_size: int | None = None
) -> bytes:
    """Decompress one or more concatenated ΣLANG streams; raises on any damage or trailing bytes.

    Unlike ``lzma.decompress``, bytes after the last stream that do not start another stream are
    an error (:class:`SigmaFormatError`, at their offset), not ignored: the format allows nothing
    there (docs/FORMAT.md, section 9), and lzma's rule (after the first stream, whatever fails to
    decode is dropped with what follows it; only a cut stream is an error) also drops a damaged
    later stream without a word. A caller that expects padding can decode stream by stream with
    :class:`SigmaDecompressor` and look at ``unused_data`` itself.

    With *max_output_size*, raise :class:`SigmaError` as soon as the output would be larger (at
    most one frame is decoded past the limit), as zstandard's ``max_output_size``.
    """
    check_data(data)
    if max_output_size is not None and max_output_size < 0:
        raise ValueError("max_output_size must be 0 or more")
    reader = FrameReader(as_codebook(codebook))
    with memoryview(data) as view:  # a TypeError for anything that is not bytes-like (a list, a str)
        reader.feed(view.tobytes())
    out = []
    total = 0
    for _, chunk in reader.chunks():
        total += len(chunk)
        if max_output_size is not None and total > max_output_size:
            raise SigmaError(f"decompressed data exceeds max_output_size ({max_output_size:,} bytes)")
        out.append(chunk)
    reader.close()
    return b"".join(out)
