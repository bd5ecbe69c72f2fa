"""Output files written atomically: a temporary file beside the target, renamed into place only
when everything was written and synced, so an error or interrupt leaves nothing at the target.
A target or source may also be an fsspec URL (``memory://``, ``file://``, ``s3://``...)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from ._fsspec import atomic_url_output, is_url, open_url

__all__ = ["PathLike", "atomic_output", "open_input"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *path*; on success it becomes *path*, on error it is removed.

    Without *overwrite*, an existing *path* raises ``FileExistsError`` before anything is written.
    An fsspec URL is written under a temporary name and moved to *path* at the end.
    """
    path = os.fspath(path)
    if is_url(path):
        with atomic_url_output(path, overwrite=overwrite) as out:
            yield out
        return
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "output file exists (use -f to overwrite)", path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        _publish(tmp, path, overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _publish(tmp: str, path: str, overwrite: bool) -> None:
    if not overwrite:
        try:
            os.link(tmp, path)  # fails if *path* appeared meanwhile: never clobber
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            if os.path.lexists(path):
                raise FileExistsError(errno.EEXIST, "output file exists (use -f to overwrite)", path) from None
        else:
            os.unlink(tmp)
            return
    os.replace(tmp, path)


def open_input(path: PathLike) -> contextlib.AbstractContextManager[Any]:
    """*path* opened for reading in binary: a local file, or an fsspec URL read as a stream."""
    path = os.fspath(path)
    return open_url(path, "rb") if is_url(path) else open(path, "rb")
