"""PPMd payloads are decoded in a fresh process: a decoder that dies is an error, not the caller's end.

The decoder processes here are made to die on purpose (a helper started with a patched backend),
since no payload is known that makes pyppmd abort on its own once the backend's defences are in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sigmalang
from sigmalang import SigmaFormatError, _ppmd_guard
from sigmalang._backend_base import BackendError
from sigmalang._backend_ppmd import PpmdBackend

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="decoder processes need fork")

TEXT = (Path(__file__).parent / "fixtures" / "dickens-64k.txt").read_bytes()

# A helper whose decoders die as told: with SIGABRT for a payload of 4,321 bytes, with SIGSEGV for
# every payload when the environment asks, as a fault in native code would end them.
_DYING = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
from sigmalang import _backend_ppmd
real = _backend_ppmd.PpmdBackend.decode_in_process
def dying(self, data, size, prime=b""):
    if size == 4321:
        os.abort()
    if os.environ.get("SIGMALANG_TEST_ALWAYS_DIE"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return real(self, data, size, prime)
_backend_ppmd.PpmdBackend.decode_in_process = dying
from sigmalang._ppmd_guard import serve
serve()
"""


@pytest.fixture
def fresh_helpers() -> Iterator[None]:
    _ppmd_guard._close_all()
    yield
    _ppmd_guard._close_all()


@pytest.fixture
def dying_helpers(fresh_helpers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ppmd_guard, "_START", _DYING)


def _helper_pid() -> int:
    (helper,) = _ppmd_guard._idle
    return helper.proc.pid


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_decoding_in_a_decoder_process_gives_what_decoding_here_gives(fresh_helpers: None) -> None:
    backend = PpmdBackend(6, 16)
    prime, data = TEXT[:20_000], TEXT[20_000:50_000]
    for payload, primer in ((backend.encode(data), b""), (backend.encode(data, prime), prime)):
        assert backend.decode(payload, len(data), primer) == data
        assert backend.decode(payload, len(data), primer) == backend.decode_in_process(payload, len(data), primer)
    assert backend.decode(backend.encode(b""), 0) == b""
    damaged = payload[:40] + bytes([payload[40] ^ 1]) + payload[41:]
    with pytest.raises(BackendError) as here:
        backend.decode_in_process(damaged, len(data), prime)
    with pytest.raises(BackendError) as there:
        backend.decode(damaged, len(data), prime)
    assert str(there.value) == str(here.value)  # the same error, from the same checks
    assert len(_ppmd_guard._idle) == 1  # one helper served them all


def test_a_decoder_that_dies_is_an_error_and_the_helper_goes_on(dying_helpers: None) -> None:
    backend = PpmdBackend(6, 16)
    data = TEXT[:4321]
    payload = backend.encode(data)
    assert backend.decode(PpmdBackend(6, 16).encode(TEXT[:100]), 100) == TEXT[:100]
    pid = _helper_pid()
    with pytest.raises(BackendError, match="SIGABRT"):
        backend.decode(payload, len(data))
    assert _helper_pid() == pid  # only the decoder process died
    assert backend.decode(backend.encode(TEXT[:5000]), 5000) == TEXT[:5000]
    assert backend.decode_in_process(payload, len(data)) == data  # the payload was valid: the decoder died


def test_a_dying_decoder_is_a_format_error_naming_its_frame(
    dying_helpers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = sigmalang.compress(TEXT[:20_000], 3, chunk_size=8192)
    monkeypatch.setenv("SIGMALANG_TEST_ALWAYS_DIE", "1")
    with pytest.raises(SigmaFormatError, match=r"killed by SIGSEGV, in two tries \(frame 0, byte offset") as caught:
        sigmalang.decompress(stream)
    assert caught.value.frame == 0
    monkeypatch.delenv("SIGMALANG_TEST_ALWAYS_DIE")
    _ppmd_guard._close_all()  # a helper's decoders see the environment it was started with
    assert sigmalang.decompress(stream) == TEXT[:20_000]
    assert len(_ppmd_guard._idle) == 1


def test_a_helper_killed_from_outside_is_replaced(fresh_helpers: None) -> None:
    backend = PpmdBackend(6, 16)
    payload = backend.encode(TEXT[:3000])
    assert backend.decode(payload, 3000) == TEXT[:3000]
    pid = _helper_pid()
    os.kill(pid, signal.SIGKILL)
    assert _ppmd_guard._idle[0].proc.wait(timeout=10) == -signal.SIGKILL
    assert backend.decode(payload, 3000) == TEXT[:3000]
    assert _helper_pid() != pid


_DECODE_THEN_WAIT = """
import sys, time
sys.path.insert(0, sys.argv[1])
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang import _ppmd_guard
backend = PpmdBackend(6, 16)
assert backend.decode(backend.encode(b"abc" * 1000), 3000) == b"abc" * 1000
print(_ppmd_guard._idle[0].proc.pid, flush=True)
time.sleep(600)
"""


def test_a_helper_ends_when_the_process_that_started_it_is_killed() -> None:
    root = str(Path(sigmalang.__file__).resolve().parent.parent)
    parent = subprocess.Popen([sys.executable, "-c", _DECODE_THEN_WAIT, root], stdout=subprocess.PIPE)
    try:
        assert parent.stdout is not None
        helper = int(parent.stdout.readline())
        os.kill(helper, 0)  # alive while its parent is
        parent.kill()
        parent.wait()
        assert _gone(helper, 10), "the helper outlived its parent"
    finally:
        parent.kill()
        parent.wait()


def test_a_forked_process_starts_its_own_helper(fresh_helpers: None) -> None:
    """A child forked after a decode does not share the parent's helper (both would read its
    replies): it starts its own, and the parent's goes on serving the parent."""
    backend = PpmdBackend(6, 16)
    payload = backend.encode(TEXT[:3000])
    assert backend.decode(payload, 3000) == TEXT[:3000]
    pid = _helper_pid()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        code = 1
        try:
            if backend.decode(payload, 3000) == TEXT[:3000] and _helper_pid() != pid:
                code = 0
            _ppmd_guard._close_all()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert backend.decode(payload, 3000) == TEXT[:3000]
    assert _helper_pid() == pid


_IGNORING_SIGCHLD = """
import signal, sys
sys.path.insert(0, sys.argv[1])
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # as some servers do; a helper inherits it
from sigmalang._backend_ppmd import PpmdBackend
backend = PpmdBackend(6, 16)
data = b"abc" * 1000
assert backend.decode(backend.encode(data), len(data)) == data
print("ok")
"""


def test_a_caller_that_ignores_sigchld_still_decodes() -> None:
    root = str(Path(sigmalang.__file__).resolve().parent.parent)
    done = subprocess.run([sys.executable, "-c", _IGNORING_SIGCHLD, root], capture_output=True, timeout=120)
    assert done.returncode == 0 and done.stdout == b"ok\n", done.stderr[-500:]


_NO_FORK = """
import errno, os, sys
sys.path.insert(0, sys.argv[1])
def no_fork():
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")
os.fork = no_fork  # as under a process limit or a sandbox
from sigmalang._ppmd_guard import serve
serve()
"""


@pytest.mark.parametrize("case", ["no helper", "no fork"])
def test_where_no_decoder_process_can_run_payloads_are_decoded_here(
    case: str, fresh_helpers: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An interpreter that does not run the helper (an embedding server, a frozen application)
    never says hello; a helper may be unable to fork (a process limit, a sandbox). Either way this
    process decodes, and says so once on the ``sigmalang`` logger; a helper that runs stays, since
    the next payload may fork again."""
    if case == "no helper":
        start, helpers = "import sys", 0
        why = f"no helper process (OSError: {sys.executable} did not start a helper process)"
    else:
        start, helpers = _NO_FORK, 1
        why = "the helper could not fork ([Errno 11] Resource temporarily unavailable)"
    monkeypatch.setattr(_ppmd_guard, "_START", start)
    monkeypatch.setattr(_ppmd_guard, "_unavailable", None)
    monkeypatch.setattr(_ppmd_guard, "_warned", False)
    backend = PpmdBackend(6, 16)
    payload = backend.encode(TEXT[:3000])
    with caplog.at_level("WARNING", logger="sigmalang"):
        assert backend.decode(payload, 3000) == TEXT[:3000]
        assert backend.decode(payload, 3000) == TEXT[:3000]
    warnings = [r.getMessage() for r in caplog.records if "in this process" in r.getMessage()]
    assert warnings == [f"PPMd payloads are decoded in this process: {why}"]
    assert len(_ppmd_guard._idle) == helpers
