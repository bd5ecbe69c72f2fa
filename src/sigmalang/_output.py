"""Output files written atomically: a temporary file beside the target, renamed into place only
when everything was written and synced, so an error or interrupt leaves nothing at the target.
A target or source may also be an fsspec URL (``memory://``, ``file://``, ``s3://``...).

The temporary file is ``.NAME.sigmalang-PID-XXXXXXXX.tmp`` (PID: the writing process). A process
killed outright (SIGKILL, power loss) cannot remove it; the next write of the same target
removes those whose process is gone."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
from collections.abc import Callable, Iterator
from typing import IO, Any

from ._fsspec import atomic_url_output, is_url, open_url

__all__ = ["PathLike", "atomic_output", "open_input", "remove_stale"]

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_output(
    path: PathLike, *, overwrite: bool = False, published: Callable[[], None] | None = None
) -> Iterator[IO[bytes]]:
    """Open a temporary file beside *path*; on success it becomes *path*, on error it is removed.

    Without *overwrite*, an existing *path* raises ``FileExistsError`` before anything is written.
    An fsspec URL is written under a temporary name and moved to *path* at the end. *published*
    is called once the file is in place, also when an interrupt comes just after that moment
    (it then goes on, and the complete file stays).
    """
    path = os.fspath(path)
    if is_url(path):
        with atomic_url_output(path, overwrite=overwrite) as out:
            yield out
        if published is not None:
            published()
        return
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "output file exists (use -f to overwrite)", path)
    directory, name = os.path.split(os.path.abspath(path))
    remove_stale(directory, name)
    chosen: list[str] = []  # the temporary's path from before it exists: an interrupt at any point removes it
    publishing = False
    try:
        fd = _create_temporary(directory, name, chosen)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        publishing = True
        _publish(chosen[0], path, overwrite)
    except BaseException:
        in_place = publishing and _in_place(chosen[0], path)
        if chosen:
            with contextlib.suppress(OSError):
                os.unlink(chosen[0])  # in place: the second name of a hard link, else the whole file
        if in_place and published is not None:
            published()
        raise
    if published is not None:
        published()


def _in_place(tmp: str, path: str) -> bool:
    """Whether the temporary *tmp* became *path*: renamed, or linked (and perhaps not yet unlinked)."""
    try:
        return os.path.samefile(tmp, path)
    except OSError:
        return not os.path.lexists(tmp) and os.path.lexists(path)


def _temporary_name(name: str, pid: int, tag: str) -> str:
    return f".{name}.sigmalang-{pid}-{tag}.tmp"


def _create_temporary(directory: str, name: str, chosen: list[str]) -> int:
    """Create a new temporary file for *name* and return its descriptor. Its path is put in
    *chosen* before the file is created, so that an interrupt that comes between the creation and
    the return (a signal handler runs between any two steps) still finds the file to remove. A path
    found taken (the name holds this process's id, so only by chance) is not this write's: it is
    taken out again before the next try."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        chosen[:] = [os.path.join(directory, _temporary_name(name, os.getpid(), secrets.token_hex(4)))]
        try:
            return os.open(chosen[0], flags, 0o600)
        except FileExistsError:
            chosen.clear()


def remove_stale(directory: str, name: str) -> list[str]:
    """Remove the temporary files of earlier writes of *name* whose process no longer runs;
    return their paths."""
    pattern = re.compile(re.escape(f".{name}.sigmalang-") + r"(\d+)-[0-9a-f]{8}\.tmp")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            match = pattern.fullmatch(entry.name)
            if match and not _running(int(match.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(entry.path)
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows has no signal 0: os.kill would end the process
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process, or no way to tell: leave its file alone
    return True


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
