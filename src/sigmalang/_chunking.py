"""Cutting input into chunks: where a chunk ends, and a reader that cuts a file or pipe.

Chunk ends depend only on the bytes (never on how the input was sliced into reads), so every API
cuts the same input into the same chunks and writes the same stream.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

from ._stream_records import MAX_CHUNK_SIZE

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Chunk",
    "ChunkedReader",
    "Prefixed",
    "check_chunk_size",
    "check_int",
    "chunk_end",
    "line_window",
]

DEFAULT_CHUNK_SIZE = 4 << 20  # docs/semantic.md, "Ratio against chunk size"


def check_int(name: str, value: object) -> None:
    """A wrong *type* is a ``TypeError`` and a wrong value a ``ValueError``, as in ``lzma``."""
    if type(value) is not int:  # bool is not a size or a level
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")


def check_chunk_size(chunk_size: int) -> int:
    check_int("chunk_size", chunk_size)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be an integer from 1 to {MAX_CHUNK_SIZE}, got {chunk_size!r}")
    return chunk_size


class Chunk(NamedTuple):
    """A piece of the input as the reader cut it: its number, where it starts, its bytes."""

    number: int
    offset: int
    data: bytes
    is_final: bool


def line_window(chunk_size: int) -> int:
    """How far back from a chunk's end a line end is looked for (an eighth, at most 64 KiB)."""
    return min(chunk_size // 8, 64 << 10)


def chunk_end(buf: bytes | bytearray | memoryview, chunk_size: int, final: bool) -> int:
    """Where the next chunk of *buf* ends, or 0 if more input is needed to decide.

    Without *final*, a decision needs more than *chunk_size* bytes, so it never depends on how
    the input was sliced into reads. The chunk then ends after the last line feed in its last
    ``line_window(chunk_size)`` bytes, so no line is split between frames; with none there, it
    ends at *chunk_size*.
    """
    size = len(buf)
    if size <= chunk_size:
        return size if final else 0
    window = line_window(chunk_size)
    if window:
        cut = bytes(buf[chunk_size - window : chunk_size]).rfind(b"\n")
        if cut >= 0:
            return chunk_size - window + cut + 1
    return chunk_size


class ChunkedReader:
    """Cut a binary file, pipe or stdin into chunks of at most *chunk_size* bytes.

    The size of the source need not be known. Chunk ends follow :func:`chunk_end`: with
    *align_lines*, a chunk ends at a line end within a bounded window when there is one.
    The last chunk has ``is_final`` set (empty input yields no chunk).
    """

    def __init__(self, source: IO[bytes], chunk_size: int = DEFAULT_CHUNK_SIZE, *, align_lines: bool = True):
        self.source = source
        self.chunk_size = check_chunk_size(chunk_size)
        self.align_lines = align_lines
        self.bytes_read = 0

    def __iter__(self) -> Iterator[Chunk]:
        buf = bytearray()
        eof = False
        index = offset = 0
        while True:
            while not eof and len(buf) <= self.chunk_size:
                data = self.source.read(self.chunk_size + 1 - len(buf))
                if not data:
                    eof = True
                self.bytes_read += len(data)
                buf += data
                del data  # not kept alive while the chunk waits to be taken
            end = chunk_end(buf, self.chunk_size, final=eof) if self.align_lines else min(len(buf), self.chunk_size)
            if end == 0:
                return
            final = eof and end == len(buf)
            with memoryview(buf) as view:
                piece = bytes(view[:end])  # one copy (a bytearray slice would be a second)
            yield Chunk(index, offset, piece, final)
            del piece
            del buf[:end]
            index += 1
            offset += end
            if final:
                return


class Prefixed(io.RawIOBase):
    """*head* (bytes already read from *src*), then the rest of *src*."""

    def __init__(self, head: bytes, src: IO[bytes]):
        self._head, self._src = memoryview(head), src  # a view: taking from its front copies nothing

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._head[: len(view)] if self._head else self._src.read(len(view))
        self._head = self._head[len(data) :]
        view[: len(data)] = data
        return len(data)
