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

from .codec import DEFAULT_LEVEL, FrameContext, chunk_end, decode_frame, encode_chunk, level_spec
from .container import (
    MAX_CHUNK_SIZE,
    EndOfStream,
    Frame,
    StreamAssembler,
    StreamHeader,
    StreamParser,
    content_digest,
)
from .semantic.codebook import Codebook, as_codebook

CodebookArg = Codebook | str | os.PathLike[str] | None

__all__ = ["DEFAULT_CHUNK_SIZE", "SigmaCompressor", "SigmaDecompressor", "compress", "decompress"]

DEFAULT_CHUNK_SIZE = 4 << 20  # docs/semantic.md: the smallest that meets the dickens target


def check_int(name: str, value: object) -> None:
    """A wrong *type* is a ``TypeError`` and a wrong value a ``ValueError``, as in ``lzma``."""
    if type(value) is not int:  # bool is not a size or a level
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")


def check_chunk_size(chunk_size: int) -> int:
    check_int("chunk_size", chunk_size)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be an integer from 1 to {MAX_CHUNK_SIZE}, got {chunk_size!r}")
    return chunk_size


class SigmaCompressor:
    """Compress data incrementally into one ΣLANG stream.

    ``compress()`` returns whatever whole frames are ready (often ``b""``); ``flush()`` returns
    the rest and ends the stream, after which the object cannot be used. With *codebook* (a
    :class:`~sigmalang.semantic.Codebook` or the path of a codebook file), the stream names it
    and needs it to be decoded. With *shared_context*, each frame's backend is primed with what
    the frames before it coded (a better ratio at small chunk sizes; frames then decode in order
    from the last reset point, see docs/semantic.md).
    """

    def __init__(
        self,
        level: int = DEFAULT_LEVEL,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        codebook: CodebookArg = None,
        shared_context: bool = False,
    ):
        check_int("level", level)
        level_spec(level)
        self.level = level
        self.chunk_size = check_chunk_size(chunk_size)
        self.codebook = as_codebook(codebook)
        self.context = FrameContext() if shared_context else None
        book_id = self.codebook.id if self.codebook is not None else b""
        header = StreamHeader(
            chunk_size=self.chunk_size, level=level, shared_context=shared_context, codebook_id=book_id
        )
        self._assembler = StreamAssembler(header)
        self._buffer = bytearray()
        self._out = bytearray(self._assembler.start())
        self._finished = False

    def compress(self, data: bytes | bytearray | memoryview) -> bytes:
        if self._finished:
            raise ValueError("Compressor has been flushed")
        self._buffer += data
        self._emit(final=False)
        return self._take()

    def flush(self) -> bytes:
        if self._finished:
            raise ValueError("Repeated call to flush()")
        self._finished = True
        self._emit(final=True)
        self._out += self._assembler.finish()
        return self._take()

    def _emit(self, final: bool) -> None:
        start = 0
        view = memoryview(self._buffer)
        while end := chunk_end(view[start:], self.chunk_size, final):
            chunk = bytes(view[start : start + end])
            encoded = encode_chunk(chunk, self.level, self.codebook, self.context)
            encoded.advance(self.context)
            record = self._assembler.frame(chunk, encoded.transform, encoded.backend, encoded.data, encoded.continues)
            self._out += record
            start += end
        view.release()
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
        self._context: FrameContext | None = None
        self._digest = content_digest()
        self._size = 0
        self.eof = False
        self.needs_input = True

    @property
    def unused_data(self) -> bytes:
        return self._parser.unused_data

    def decompress(self, data: bytes | bytearray | memoryview, max_length: int = -1) -> bytes:
        check_int("max_length", max_length)
        if self.eof:
            raise EOFError("End of stream already reached")
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
            if isinstance(event, Frame):
                self._pending = memoryview(self._decode(event))
            elif isinstance(event, EndOfStream):
                StreamParser.check_content(event.index, self._size, self._digest.digest(), event.end)
                self.eof = True
                break
        self.needs_input = not self.eof and not self._pending
        return bytes(out)

    def _decode(self, frame: Frame) -> bytes:
        header = self._parser.header
        if header is not None and header.shared_context and self._context is None:
            self._context = FrameContext()
        data = decode_frame(frame, self.codebook if header is not None and header.codebook_id else None, self._context)
        self._digest.update(data)
        self._size += len(data)
        return data

    def close(self) -> None:
        """Raise :class:`SigmaTruncatedError` unless the whole stream was seen."""
        self._parser.close()


def compress(
    data: bytes | bytearray | memoryview,
    level: int = DEFAULT_LEVEL,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    codebook: CodebookArg = None,
    shared_context: bool = False,
) -> bytes:
    """Compress *data* into one ΣLANG stream (with *codebook*: one that needs that codebook;
    with *shared_context*: frames that carry context, see :class:`SigmaCompressor`)."""
    comp = SigmaCompressor(level, chunk_size=chunk_size, codebook=codebook, shared_context=shared_context)
    return comp.compress(data) + comp.flush()


def decompress(data: bytes | bytearray | memoryview, *, codebook: CodebookArg = None) -> bytes:
    """Decompress one or more concatenated ΣLANG streams; raises on any damage or trailing bytes.

    Unlike ``lzma.decompress``, bytes after the last stream that do not start another stream are
    an error (:class:`SigmaFormatError`, at their offset), not ignored: the format allows nothing
    there (docs/FORMAT.md, section 9), and lzma's rule (after the first stream, whatever fails to
    decode is dropped with what follows it; only a cut stream is an error) also drops a damaged
    later stream without a word. A caller that expects padding can decode stream by stream with
    :class:`SigmaDecompressor` and look at ``unused_data`` itself.
    """
    codebook = as_codebook(codebook)
    results = []
    with memoryview(data) as view:  # a TypeError for anything that is not bytes-like (a list, a str)
        data = view.tobytes()
    offset = 0
    while True:
        decomp = SigmaDecompressor(offset=offset, codebook=codebook)
        results.append(decomp.decompress(data))
        if not decomp.eof:
            decomp.close()
        offset += len(data) - len(decomp.unused_data)
        data = decomp.unused_data
        if not data:
            return b"".join(results)
