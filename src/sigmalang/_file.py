"""``SigmaFile`` and ``open()``: ΣLANG streams as Python file objects, like ``lzma.open``.

Reading layers :class:`io.BufferedReader` over a small raw reader that feeds a
:class:`SigmaDecompressor`; text modes wrap that in :class:`io.TextIOWrapper`.
"""

from __future__ import annotations

import builtins
import io
import os
from collections.abc import Callable
from typing import IO, Any, BinaryIO, cast

from ._compressor import CodebookArg, SigmaCompressor
from ._errors import SigmaFormatError
from ._frames import FrameReader
from ._index import SeekTable
from ._levels import AUTO, DEFAULT_LEVEL
from ._stream_records import content_digest
from .semantic.codebook import Codebook, as_codebook

__all__ = ["SigmaFile", "open"]

READ_SIZE = 64 << 10
_READ, _WRITE = "r", "w"


def _seek_target(offset: int, whence: int, position: int, size: Callable[[], int]) -> int:
    """The absolute position that ``seek(offset, whence)`` asks for."""
    if whence == io.SEEK_SET:
        return offset
    if whence == io.SEEK_CUR:
        return position + offset
    if whence == io.SEEK_END:
        return size() + offset
    raise ValueError(f"invalid whence ({whence!r})")


class _DecompressReader(io.RawIOBase):
    """Raw reader of decompressed bytes; concatenated streams read as one."""

    def __init__(self, fp: IO[bytes], codebook: Codebook | None = None):
        self._fp = fp
        self._codebook = codebook
        self._start = fp.tell() if fp.seekable() else 0
        self._frames = FrameReader(codebook)
        self._pending = memoryview(b"")  # what is left of the last frame decoded
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        with memoryview(b) as view, view.cast("B") as out:
            data = self._read(len(out))
            out[: len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        if self._eof or size == 0:
            return b""
        while not self._pending:
            chunk = self._frames.next_chunk()
            if chunk is not None:
                self._pending = memoryview(chunk[1])
                continue
            raw = self._fp.read(READ_SIZE)
            if not raw:
                self._frames.close()  # raises if the last stream is truncated
                self._eof = True
                return b""
            self._frames.feed(raw)
        data = bytes(self._pending[:size])
        self._pending = self._pending[size:]
        self._pos += len(data)
        return data

    def _rewind(self) -> None:
        self._fp.seek(self._start)
        self._eof = False
        self._pos = 0
        self._frames = FrameReader(self._codebook)
        self._pending = memoryview(b"")

    def seekable(self) -> bool:
        return self._fp.seekable()

    def tell(self) -> int:
        return self._pos

    def _size(self) -> int:
        """Decode to the end (there is no index here) and return the content's size."""
        while self._read(io.DEFAULT_BUFFER_SIZE):
            pass
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        offset = _seek_target(offset, whence, self._pos, self._size)
        if offset < self._pos:
            self._rewind()
        while self._pos < offset and self._read(min(offset - self._pos, io.DEFAULT_BUFFER_SIZE)):
            pass
        return self._pos


class _IndexedReader(io.RawIOBase):
    """Raw reader that seeks through the index and decodes only the frames it needs.

    Each frame's CRC32C is checked as it is read; when frames are read in order from the first
    to a stream's last, that stream's whole-content checksum is checked too.
    """

    def __init__(self, fp: IO[bytes], table: SeekTable, codebook: Codebook | None = None):
        self._fp = fp
        self._table = table
        self._codebook = codebook
        self._pos = 0
        self._frame = -1
        self._data = b""
        self._next_checked = 0  # frames decoded in order so far, for the content checksum
        self._empty_checked = False  # the streams without frames, checked at the end
        self._digest = content_digest()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        offset = _seek_target(offset, whence, self._pos, lambda: self._table.total_size)
        # As lzma: a position before the start is the start, one past the end is the end.
        self._pos = min(max(offset, 0), self._table.total_size)
        return self._pos

    def readinto(self, b: Any) -> int:
        i = self._table.find(self._pos)
        self._catch_up(i)
        if i >= len(self._table):
            return 0
        data = self._decoded(i)
        start = self._pos - self._table.original_offsets[i]
        with memoryview(b) as view, view.cast("B") as out:
            n = min(len(out), len(data) - start)
            out[:n] = data[start : start + n]
        self._pos += n
        return n

    def _catch_up(self, i: int) -> None:
        """Reading in order, decode the empty frames before frame *i* (the position is never in
        them), so that they are checked and every stream's content checksum is too."""
        while self._next_checked < i and self._table.original_sizes[self._next_checked] == 0:
            self._decoded(self._next_checked)
        if i >= len(self._table) and self._next_checked == len(self._table) and not self._empty_checked:
            self._empty_checked = True
            self._table.check_empty_streams()

    def _decoded(self, i: int) -> bytes:
        if i != self._frame:
            self._data = self._table.read_frame(self._fp, i, self._codebook)
            self._frame = i
            if i == self._next_checked:
                self._check_in_order(i)
        return self._data

    def _check_in_order(self, i: int) -> None:
        self._digest.update(self._data)
        self._next_checked += 1
        stream = self._table.streams[i]
        last = i + 1 == len(self._table) or self._table.streams[i + 1] != stream
        if last:
            if self._digest.digest() != self._table.checksums[stream]:
                raise SigmaFormatError("content checksum (BLAKE2b) mismatch", offset=self._table.ends[stream])
            self._digest = content_digest()


def _raw_reader(fp: IO[bytes], codebook: Codebook | None = None) -> io.RawIOBase:
    """Indexed random access where the file allows it, else forward decoding.

    *codebook* is used for the streams that name it (and a stream that names another is an error).
    """
    if fp.seekable():
        start = fp.tell()
        try:
            if start == 0:
                return _IndexedReader(fp, SeekTable.from_file(fp), codebook)
        except SigmaFormatError:
            pass  # no usable index (truncated or damaged end): read forward, which reports it
        fp.seek(start)
    return _DecompressReader(fp, codebook)


class SigmaFile(io.BufferedIOBase):
    """A file object reading or writing a ΣLANG stream.

    *filename* is a path or a binary file object; *mode* is ``"r"``, ``"w"``, ``"x"`` or ``"a"``
    (with or without ``"b"``). *level*, *chunk_size*, *shared_context*, *format* and *workers* apply
    when writing (given when reading, they are a ``ValueError``, as ``lzma``'s *preset* is);
    *codebook* (a :class:`~sigmalang.semantic.Codebook` or a codebook file's path) to both.
    With *workers* (``0``: one per CPU), chunks are coded by that many worker processes, which end
    when the file is closed (see :class:`~sigmalang.SigmaCompressor`); the bytes are the same.
    *format* (``"auto"``, ``"text"`` or ``"logs"``) is what the data is taken for, as in
    :func:`~sigmalang.compress`.
    """

    def __init__(
        self,
        filename: str | bytes | os.PathLike[Any] | IO[bytes],
        mode: str = "r",
        *,
        level: int | None = None,
        chunk_size: int | None = None,
        codebook: CodebookArg = None,
        shared_context: bool | None = None,
        workers: int | None = None,
        format: str | None = None,
    ):
        book = as_codebook(codebook)
        if mode not in ("r", "rb", "w", "wb", "x", "xb", "a", "ab"):
            raise ValueError(f"invalid mode: {mode!r}")
        self._mode = _READ if mode.startswith("r") else _WRITE
        # Options are checked before the file is opened: a bad level must not create or empty a file.
        self._compressor: SigmaCompressor | None = None
        if self._mode == _WRITE:
            self._compressor = SigmaCompressor(
                DEFAULT_LEVEL if level is None else level,
                chunk_size=chunk_size,
                codebook=book,
                shared_context=bool(shared_context),
                workers=1 if workers is None else workers,
                format=AUTO if format is None else format,
            )
        elif level is not None or chunk_size is not None or shared_context is not None:
            raise ValueError("level, chunk_size and shared_context are for writing; a stream records its own")
        elif format is not None:
            raise ValueError("format is for writing; a stream's frames record how each was coded")
        elif workers is not None:
            raise ValueError("workers is for writing")
        self._closefp = False
        if isinstance(filename, str | bytes | os.PathLike):
            self._fp: IO[bytes] = builtins.open(filename, mode if "b" in mode else mode + "b")  # noqa: SIM115
            self._closefp = True
        elif hasattr(filename, "read" if self._mode == _READ else "write"):
            self._fp = filename
        else:
            raise TypeError("filename must be a str, bytes, os.PathLike or file object")
        self._buffer: io.BufferedReader | None = None
        if self._mode == _READ:
            self._buffer = io.BufferedReader(_raw_reader(self._fp, book))
        self._size = 0

    # -- state ---------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._fp is None

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _check_mode(self, wanted: str) -> None:
        self._check_open()
        if self._mode != wanted:
            raise io.UnsupportedOperation("File not open for " + ("reading" if wanted == _READ else "writing"))

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._compressor is not None:
                self._fp.write(self._compressor.flush())
                self._compressor = None
            elif self._buffer is not None:
                self._buffer.close()
        finally:
            try:
                if self._closefp:
                    self._fp.close()
            finally:
                self._fp = None  # type: ignore[assignment]
                self._buffer = None

    def fileno(self) -> int:
        self._check_open()
        return self._fp.fileno()

    def readable(self) -> bool:
        self._check_open()
        return self._mode == _READ

    def writable(self) -> bool:
        self._check_open()
        return self._mode == _WRITE

    def seekable(self) -> bool:
        return self.readable() and self._fp.seekable()

    # -- reading -------------------------------------------------------------
    def _reader(self) -> io.BufferedReader:
        self._check_mode(_READ)
        assert self._buffer is not None
        return self._buffer

    def read(self, size: int | None = -1) -> bytes:
        return self._reader().read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self._reader().read1(size)

    def readinto(self, b: Any) -> int:
        return self._reader().readinto(b)

    def readline(self, size: int | None = -1) -> bytes:
        return self._reader().readline(-1 if size is None else size)

    def peek(self, size: int = -1) -> bytes:
        return self._reader().peek(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        reader = self._reader()
        if not reader.seekable():
            raise io.UnsupportedOperation("the underlying file is not seekable")
        return reader.seek(offset, whence)

    def tell(self) -> int:
        if self._mode == _READ:
            return self._reader().tell()
        self._check_open()
        return self._size

    # -- writing -------------------------------------------------------------
    def write(self, data: Any) -> int:
        self._check_mode(_WRITE)
        assert self._compressor is not None
        # Both views released here, not when freed: the caller may resize *data* once this returns.
        with memoryview(data) as view, view.cast("B") as flat:
            length = view.nbytes
            try:
                out = self._compressor.compress(flat)
            except BaseException:
                self._compressor = None  # failed (a worker died): close() ends no stream
                raise
            self._fp.write(out)
        self._size += length
        return length


def open(
    filename: str | bytes | os.PathLike[Any] | IO[bytes],
    mode: str = "rb",
    *,
    level: int | None = None,
    chunk_size: int | None = None,
    codebook: CodebookArg = None,
    shared_context: bool | None = None,
    workers: int | None = None,
    format: str | None = None,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
) -> SigmaFile | io.TextIOWrapper:
    """Open a ΣLANG stream in binary (``"rb"``, ``"wb"``, ...) or text (``"rt"``, ``"wt"``, ...) mode.

    The options are :class:`SigmaFile`'s; *workers* codes the chunks of a file being written in
    parallel (the same bytes for every value)."""
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
    elif encoding is not None or errors is not None or newline is not None:
        raise ValueError("encoding, errors and newline are for text mode only")
    binary = SigmaFile(
        filename,
        mode.replace("t", ""),
        level=level,
        chunk_size=chunk_size,
        codebook=codebook,
        shared_context=shared_context,
        workers=workers,
        format=format,
    )
    if "t" in mode:
        return io.TextIOWrapper(cast(BinaryIO, binary), io.text_encoding(encoding), errors, newline)
    return binary
