"""PPMd payloads decoded where a fault in pyppmd cannot reach the caller's process.

pyppmd is native code, and damaged streams have made it corrupt its heap: glibc then aborts the
process, often many decodes later (tests/test_ppmd_damaged.py has the known path, which the
backend closes; a fuzz run once lost a worker to a SIGSEGV that no single case reproduces).
A library that data can abort is not safe to embed, so on POSIX systems every PPMd payload a
stream brings is decoded in a separate process:

* a **helper** process per decoding thread, started on first use with this interpreter, holds
  pyppmd imported and its probes run, and never decodes anything itself;
* for each payload it **forks a fresh decoder process** that decodes it and sends the result back
  through a pipe, then exits. No decode runs on a heap that another decode has used, and a decoder
  that dies (abort, segmentation fault, the memory cap of the system) costs only itself: the
  helper reports how it ended, and the caller raises :class:`BackendError` (a ``SigmaFormatError``
  naming the frame, one level up);
* a helper reads its requests from a pipe: when the process that started it ends, in any way
  (SIGKILL included), the helper reads end-of-file and exits, after the decode in progress if any.
  Helpers ignore SIGINT: Ctrl-C is the caller's to handle.

A helper that dies itself (killed from outside) is replaced and the payload tried once more in the
new one; a payload whose decoder dies twice is an error. Where ``fork`` is not available, a helper
cannot be started, or it cannot fork, payloads are decoded in the calling process, as the backend
always can (:meth:`PpmdBackend.decode_in_process`), with one warning on the ``sigmalang`` logger.
What the separation costs, in time and memory, is measured in docs/ppmd.md and docs/memory.md.

Protocol on the helper's stdin and stdout, little-endian. The helper first writes ``SGLPPMD1``; one
that does not within 30 s (``sys.executable`` is not a Python that runs ``-c``) is not used. A
request is ``size`` (u64), the payload's length (u64), the primer's length (u64), the payload and
the primer. A reply is a status (u8) and the length (u64) of what follows it: 0, the decoded
bytes; 1, a format error's message; 2, how the decoder process ended (it died); 3, why the helper
could not fork a decoder (the caller decodes that payload itself).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import IO, TYPE_CHECKING

from ._backend_base import BackendError

if TYPE_CHECKING:
    from ._backend_ppmd import PpmdBackend

__all__ = ["decode", "serve"]

_REQUEST = struct.Struct("<QQQ")
_REPLY = struct.Struct("<BQ")
OK, FORMAT_ERROR, DIED, NO_FORK = 0, 1, 2, 3
_PR_SET_PDEATHSIG = 1
_HELLO = b"SGLPPMD1"  # a helper's first words: it runs, and speaks this protocol
_HELLO_WAIT = 30.0  # seconds a new helper has to say them
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_START = "import sys; sys.path.insert(0, sys.argv[1]); from sigmalang._ppmd_guard import serve; serve()"
_log = logging.getLogger("sigmalang")


# -- the caller's side ----------------------------------------------------------------------------


class _HelperDied(Exception):
    pass


class _Helper:
    """One helper process and the pipes to it; used by one thread at a time."""

    def __init__(self) -> None:
        env = dict(os.environ, LIBC_FATAL_STDERR_="1")  # glibc's abort message to stderr, not the tty
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _START, _PACKAGE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            close_fds=True,
        )
        self.owner = os.getpid()
        # An interpreter that is not a plain Python (an embedding server, a frozen application)
        # does not run the helper: it never says hello, and this process decodes instead.
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            ready = select.select([stdout], [], [], _HELLO_WAIT)[0]
            hello = stdout.read(len(_HELLO)) if ready else b""
        except BaseException:
            self.close(kill=True)
            raise
        if hello != _HELLO:
            self.close(kill=True)
            raise OSError(f"{sys.executable} did not start a helper process")

    def decode(self, data: bytes, size: int, prime: bytes) -> tuple[int, bytes]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(_REQUEST.pack(size, len(data), len(prime)))
            stdin.write(data)
            stdin.write(prime)
            stdin.flush()
            head = _read_exact(stdout, _REPLY.size)
            if head is None:
                raise _HelperDied
            status, length = _REPLY.unpack(head)
            body = _read_exact(stdout, length)
        except OSError:
            raise _HelperDied from None
        if body is None or status not in (OK, FORMAT_ERROR, DIED, NO_FORK):
            raise _HelperDied
        return status, body

    def close(self, *, kill: bool = False) -> None:
        """End the helper: it exits when it reads end-of-file (after the decode in progress), or at
        once with *kill* (its decoder process, if any, is killed with it: _die_with_parent)."""
        if kill and self.owner == os.getpid():
            self.proc.kill()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        if self.owner != os.getpid():  # a forked copy: the process is not this one's child
            return
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_lock = threading.Lock()
_idle: list[_Helper] = []
_every: weakref.WeakSet[_Helper] = weakref.WeakSet()
_unavailable: str | None = None  # why helpers cannot be used in this process, once known


def _take() -> _Helper | None:
    global _unavailable
    with _lock:
        while _idle:
            helper = _idle.pop()
            if helper.owner == os.getpid():
                return helper
        if _unavailable is not None:
            return None
    try:
        helper = _Helper()
    except OSError as exc:
        with _lock:
            if _unavailable is None:
                _unavailable = f"{type(exc).__name__}: {exc}"
        _warn_once(f"no helper process ({_unavailable})")
        return None
    with _lock:
        _every.add(helper)
    return helper


_warned = False


def _warn_once(why: str) -> None:
    global _warned
    with _lock:
        if _warned:
            return
        _warned = True
    _log.warning("PPMd payloads are decoded in this process: %s", why)


def _give(helper: _Helper) -> None:
    with _lock:
        _idle.append(helper)


def decode(data: bytes, size: int, prime: bytes) -> bytes | None:
    """The *size* bytes PPMd payload *data* decodes to (after *prime*), decoded in a fresh process;
    ``None`` where that is not available here (the caller decodes in this process). Raises
    :class:`BackendError` for a payload that is not valid or whose decoder dies twice."""
    if not hasattr(os, "fork"):
        return None
    ended = ""
    for _attempt in range(2):
        helper = _take()
        if helper is None:
            return None
        try:
            status, body = helper.decode(data, size, prime)
        except _HelperDied:
            helper.close()  # killed from outside, or while forking: try once more in a new one
            ended = "its helper process ended"
            continue
        except BaseException:  # KeyboardInterrupt, a signal handler's exception: the reply is lost
            helper.close(kill=True)
            raise
        _give(helper)
        if status == OK:
            return body
        message = body.decode("utf-8", "replace")
        if status == FORMAT_ERROR:
            raise BackendError(message)
        if status == NO_FORK:  # a process limit, a sandbox: this payload is decoded here
            _warn_once(f"the helper could not fork ({message})")
            return None
        ended = message
    raise BackendError(f"PPMd: {ended}, in two tries")


@atexit.register
def _close_all() -> None:
    with _lock:
        helpers, _idle[:] = list(_idle), []
    for helper in helpers:
        helper.close()


def _after_fork() -> None:
    """In a forked copy of this process: let go of the helpers' pipes without using them, so that
    a helper still sees end-of-file when the process that started it ends. Each pipe's descriptor
    is pointed at /dev/null rather than closed, so that the file objects, closed whenever they are
    collected, close a descriptor of their own and never one that was reused for another file."""
    global _lock
    _lock = threading.Lock()
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for helper in list(_every):
                for pipe in (helper.proc.stdin, helper.proc.stdout):
                    with contextlib.suppress(OSError, ValueError):
                        if pipe is not None:
                            os.dup2(null, pipe.fileno())
        finally:
            os.close(null)
    _every.clear()
    _idle.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# -- the helper's side ----------------------------------------------------------------------------


def _read_exact(stream: IO[bytes], size: int) -> bytes | None:
    """*size* bytes from *stream*, or ``None`` at end of stream before them."""
    parts = []
    while size:
        part = stream.read(size)
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def serve() -> None:
    """The helper's loop: a request on stdin, a fresh decoder process for it, the reply on stdout;
    end-of-file on stdin ends it."""
    from . import _pyppmd
    from ._backend_ppmd import PpmdBackend

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # ignored by the caller (some servers do), it is
    # inherited, and the kernel would reap the decoders before the helper could read how they ended
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # nothing printed by accident can reach the replies
    _pyppmd.coders_enabled()  # the one-time probes run here, once, and every decoder inherits them
    _pyppmd.reclaim_input_enabled()
    backend = PpmdBackend()
    gc.freeze()  # a forked decoder then writes to (and so copies) fewer of the helper's pages
    replies.write(_HELLO)
    replies.flush()
    while True:
        head = _read_exact(requests, _REQUEST.size)
        if head is None:
            return
        size, length, prime_length = _REQUEST.unpack(head)
        data = _read_exact(requests, length)
        prime = _read_exact(requests, prime_length)
        if data is None or prime is None:
            return
        status, body = _decode_in_child(backend, data, size, prime, replies.fileno())
        try:
            replies.write(_REPLY.pack(status, len(body)))
            replies.write(body)
            replies.flush()
        except OSError:  # the caller is gone
            return


def _die_with_parent(helper: int) -> None:
    """On Linux, have the kernel kill this process when the helper that forked it ends (the helper
    is single-threaded, so its forking thread is the process)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != helper:  # the helper ended before the request took effect
            os._exit(70)


def _decode_in_child(backend: PpmdBackend, data: bytes, size: int, prime: bytes, replies: int) -> tuple[int, bytes]:
    """Fork a process that decodes the payload and writes the reply into a pipe; the reply it wrote
    if it exited normally, else a description of how it ended. The decoder lets go of the helper's
    own pipes (stdin and *replies*), so that only the helper holds them."""
    try:
        reader, writer = os.pipe()
    except OSError as exc:
        return NO_FORK, str(exc).encode()
    helper = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(reader)
        os.close(writer)
        return NO_FORK, str(exc).encode()
    if pid == 0:  # the decoder process
        code = 0
        try:
            _die_with_parent(helper)
            for fd in (reader, replies, 0):
                os.close(fd)
            try:
                out = backend.decode_in_process(data, size, prime)
                kind = OK
            except BackendError as exc:
                out, kind = str(exc).encode("utf-8", "replace"), FORMAT_ERROR
            for part in (_REPLY.pack(kind, len(out)), out):  # no joined copy of a decoded chunk
                view = memoryview(part)
                while view:
                    view = view[os.write(writer, view) :]
        except BaseException:
            code = 70
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        reply = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and len(reply) >= _REPLY.size:
        kind, length = _REPLY.unpack_from(reply)
        if kind in (OK, FORMAT_ERROR) and length == len(reply) - _REPLY.size:
            return kind, reply[_REPLY.size :]
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        how = f"its decoder process was killed by {name}"
    else:
        how = f"its decoder process exited with status {os.waitstatus_to_exitcode(status)}"
    return DIED, how.encode()
