"""ΣLANG files as Dask bags (``pip install 'sigmalang[dask]'``).

::

    import sigmalang.dask
    lines = sigmalang.dask.read_text("logs/*.sgl")       # one partition per frame
    errors = lines.filter(lambda line: " ERROR " in line)
    sigmalang.dask.to_sgl(errors, "errors/part-*.sgl")   # one stream per partition

:func:`read_text` reads each file's index and makes one partition per frame, so the cluster's
workers decode frames in parallel, each reading only its own frame's bytes. A line belongs to the
partition of the frame where it starts: frames end at line ends unless a line is longer than a
chunk, and then the partition that holds its start reads on into the next frames to finish it. A
stream whose index cannot be read (it was cut short, or written to a pipe and damaged) is one
partition, decoded from its start. Paths may be fsspec URLs and globs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ._errors import SigmaFormatError
from ._extras import require
from ._file import SigmaFile
from ._index import SeekTable
from ._levels import AUTO, DEFAULT_LEVEL, check_format
from ._output import atomic_output
from ._stream import StreamingEncoder
from .semantic.codebook import Codebook

_bag = require("dask.bag", "sigmalang.dask")
_delayed = require("dask.delayed", "sigmalang.dask").delayed
_fsspec = require("fsspec", "sigmalang.dask")

__all__ = ["read_text", "to_sgl"]


def read_text(
    urlpath: str | Sequence[str],
    *,
    encoding: str = "utf-8",
    errors: str = "strict",
    codebook: Codebook | None = None,
    storage_options: dict[str, Any] | None = None,
) -> Any:
    """A ``dask.bag`` of the text lines (each with its line end) of the ΣLANG files at *urlpath*.

    Each frame of each file is a partition; a file without a readable index is one partition.
    """
    files = _fsspec.open_files(urlpath, "rb", **(storage_options or {}))
    if not files:
        raise FileNotFoundError(f"no files match {urlpath!r}")
    parts = []
    for of in files:
        table = _table(of)
        if table is None or len(table) == 0:
            parts.append(_delayed(_whole_lines, pure=True)(of, codebook, encoding, errors))
            continue
        shared = _delayed(table, pure=True)
        full = _full_sizes(table)
        for i in range(len(table)):
            check = i > 0 and (table.streams[i - 1] != table.streams[i] or table.original_sizes[i - 1] in full)
            parts.append(_delayed(_frame_lines, pure=True)(of, shared, i, check, codebook, encoding, errors))
    return _bag.from_delayed(parts)


def _table(of: Any) -> SeekTable | None:
    with of as f:
        try:
            return SeekTable.from_file(f)
        except SigmaFormatError:
            return None


def _full_sizes(table: SeekTable) -> set[int]:
    """The largest frame size of each stream: only such frames can end inside a line, since chunks
    end at the last line end before the chunk size when there is one (``_chunking.chunk_end``)."""
    largest: dict[int, int] = {}
    for stream, size in zip(table.streams, table.original_sizes, strict=True):
        largest[stream] = max(largest.get(stream, 0), size)
    return set(largest.values())


def _frame_lines(
    of: Any, table: SeekTable, i: int, check: bool, codebook: Codebook | None, encoding: str, errors: str
) -> list[str]:
    """The lines that start in frame *i*, the last one finished from the frames after it."""
    with of as f:
        start = 0
        if check and not table.read_frame(f, i - 1, codebook).endswith(b"\n"):
            data = table.read_frame(f, i, codebook)
            start = data.find(b"\n") + 1 or len(data)  # the head of a line that started before
        else:
            data = table.read_frame(f, i, codebook)
        tail = [data[start:]]
        j = i
        while tail[-1] and not tail[-1].endswith(b"\n") and j + 1 < len(table):
            j += 1
            more = table.read_frame(f, j, codebook)
            end = more.find(b"\n") + 1 or len(more)
            tail.append(more[:end])
            if end < len(more) or more.endswith(b"\n"):
                break
    return b"".join(tail).decode(encoding, errors).splitlines(keepends=True)


def _whole_lines(of: Any, codebook: Codebook | None, encoding: str, errors: str) -> list[str]:
    with of as f, SigmaFile(f, "rb", codebook=codebook) as sf:
        return sf.read().decode(encoding, errors).splitlines(keepends=True)


def to_sgl(
    data: Any,
    urlpath: str | None = None,
    *,
    level: int = DEFAULT_LEVEL,
    encoding: str = "utf-8",
    overwrite: bool = False,
    compute: bool = True,
    format: str = AUTO,
) -> list[Any]:
    """Write ΣLANG files with the cluster's workers, each written atomically.

    *data* is a ``dask.bag`` of strings (lines with their line ends, as :func:`read_text` gives):
    each partition becomes one stream, at *urlpath* with its ``*`` replaced by the partition's
    number (``out/part-*.sgl``). Or *data* is a list of paths of text files: each is encoded to
    its path plus ``.sgl`` (or into the directory *urlpath*). Returns the paths written, or the
    ``dask.delayed`` writes with *compute* false. *level* and *format* are as for
    :func:`sigmalang.compress`.
    """
    check_format(format, level)
    if isinstance(data, str | os.PathLike) or (isinstance(data, Sequence) and not isinstance(data, bytes)):
        sources = [os.fspath(data)] if isinstance(data, str | os.PathLike) else [os.fspath(p) for p in data]
        targets = [_beside(src, urlpath) for src in sources]
        writes = [
            _delayed(_encode_file, pure=False)(src, dst, level, overwrite, format)
            for src, dst in zip(sources, targets, strict=True)
        ]
    else:
        if urlpath is None or "*" not in urlpath:
            raise ValueError("writing a bag needs urlpath with a '*' for the partition number, e.g. 'out/part-*.sgl'")
        parts = data.to_delayed()
        width = len(str(max(len(parts) - 1, 0)))
        targets = [urlpath.replace("*", f"{i:0{width}d}") for i in range(len(parts))]
        writes = [
            _delayed(_write_lines, pure=False)(part, dst, level, encoding, overwrite, format)
            for part, dst in zip(parts, targets, strict=True)
        ]
    if not compute:
        return writes
    return list(require("dask", "sigmalang.dask").compute(*writes))


def _beside(source: str, directory: str | None) -> str:
    name = source + ".sgl"
    return name if directory is None else directory.rstrip("/") + "/" + name.rpartition("/")[2]


def _encode_file(src: str, dst: str, level: int, overwrite: bool, form: str = AUTO) -> str:
    StreamingEncoder(level, format=form).encode_file(src, dst, overwrite=overwrite)
    return dst


def _write_lines(lines: Any, dst: str, level: int, encoding: str, overwrite: bool, form: str = AUTO) -> str:
    with atomic_output(dst, overwrite=overwrite) as out, SigmaFile(out, "wb", level=level, format=form) as f:
        for line in lines:
            f.write(line.encode(encoding) if isinstance(line, str) else line)
    return dst
