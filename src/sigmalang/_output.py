"""Output files written atomically: a temporary file beside the target, renamed into place only
when everything was written and synced, so an error or interrupt leaves nothing at the target."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import IO

__all__ = ["PathLike", "atomic_output"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *path*; on success it becomes *path*, on error it is removed.

    Without *overwrite*, an existing *path* raises ``FileExistsError`` before anything is written.
    """
    path = os.fspath(path)
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
