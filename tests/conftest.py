"""Shared helpers for the test suite: small IO doubles, sample data, and a stream map.

Helpers are plain functions and classes; tests import them with ``from conftest import ...``.
Tests read no file outside the repository: only ``samples/`` and ``tests/fixtures/``.
"""

from __future__ import annotations

import io
import os
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from sigmalang._container import MAGIC, EndOfStream, StreamParser
from sigmalang._stream_records import Frame, StreamHeader
from sigmalang._wire import read_record

# Property tests run the same examples on every run ("default": derandomized, so a failure is
# reproducible and CI is deterministic). HYPOTHESIS_PROFILE=explore draws fresh random examples
# on each run, for hunting bugs locally (tests' own max_examples still apply).
# HYPOTHESIS_PROFILE=fast (`make test-fast`) runs at most FAST_EXAMPLES examples per test.
FAST_EXAMPLES = 5
settings.register_profile("default", derandomize=True, deadline=None, print_blob=True)
settings.register_profile(
    "explore",
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("fast", derandomize=True, deadline=None, print_blob=True, max_examples=FAST_EXAMPLES)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
settings.load_profile(PROFILE)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the context-mixing kernel into its on-disk caches (numba's, and the machine code
    sigmalang loads without numba) before any test runs, so that the command-line tests' child
    processes load it instead of each compiling it (about 15 s) under their own time limits, as a
    first run after installation would. Every compiled copy (the full sets of model versions 5, 4
    and 2-3, those of versions 5 and 4 for running text, and any set) is built: with ``-n``, each
    worker runs this first, and the first one builds while the others wait."""
    from sigmalang import _cm, _cm_native
    from sigmalang._backends import CmBackend

    CmBackend(0x7FF, 12).encode(b"compile the context-mixing kernel once")
    for copy in _cm.COPIES:
        _cm_native.load(copy)
    # A shell starts background commands with SIGINT ignored, and child processes would inherit
    # that: the tests that press Ctrl-C need it delivered, however the suite was started.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _signal_handlers_put_back() -> Iterator[None]:
    """A test that runs one of the programs in this process (``cli.run_decode()``) leaves the
    handlers it sets for the interpreter's shutdown: each test starts with the ones before."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With the fast profile, cap the tests' own max_examples too (a test's @settings outranks
    any profile). Hypothesis keeps a test's settings on the function it wraps and reads them when
    the test runs; if that ever changes, the cap is skipped and the tests run in full."""
    if PROFILE != "fast":
        return
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if isinstance(own, settings) and own.max_examples > FAST_EXAMPLES:
            test._hypothesis_internal_use_settings = settings(own, max_examples=FAST_EXAMPLES)


ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SAMPLES = ROOT / "samples"

# Real text, small to large: (name, path). The two fixtures are 64 KiB-ish; the samples 1 MiB / 424 KB.
TEXT_FILES = {
    "dickens-64k": FIXTURES / "dickens-64k.txt",
    "loghub-small": FIXTURES / "loghub-small.log",
    "dickens-sample": SAMPLES / "dickens-sample.txt",
    "loghub-sample": SAMPLES / "loghub-sample.log",
}


def read_text_file(name: str) -> bytes:
    return TEXT_FILES[name].read_bytes()


def mixed_bytes(size: int, seed: int = 0) -> bytes:
    """*size* bytes: text-like runs interleaved with incompressible random runs (deterministic)."""
    rng = random.Random(seed)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\n", b" ", b"2024-01-01T00:00:00", b"\r\n"]
    out = bytearray()
    while len(out) < size:
        if rng.random() < 0.5:
            out += rng.randbytes(rng.randint(1, 4096))
        else:
            out += b"".join(rng.choice(words) for _ in range(rng.randint(1, 600)))
    return bytes(out[:size])


def service_log(lines: int) -> bytes:
    """Lines of a service log: a clock, a worker, a level and one of three messages (deterministic;
    the records vectors are made from its first 300 lines)."""
    out = []
    state = 12345
    for i in range(lines):
        state = (state * 1103515245 + 12345) % 2**31
        ms = i * 37 + state % 29
        message = [
            b"Accepted connection from 10.0.%d.%d port %d" % (state % 7, state % 251, 40000 + state % 999),
            b"Closing connection %d after %d ms" % (9000 + i // 3, state % 5000),
            b"Block blk_%d replicated to 3 nodes" % (state * 7919 % 10**12),
        ][state % 3]
        clock = b"%02d:%02d:%02d,%03d" % (ms // 3600000 % 24, ms // 60000 % 60, ms // 1000 % 60, ms % 1000)
        out.append(b"2024-03-01 " + clock + b" INFO [worker-%d] " % (state % 4) + message)
    return b"\n".join(out) + b"\n"


class ShortReadIO(io.RawIOBase):
    """A readable binary file that returns at most *max_read* bytes per ``read()``, like a pipe.

    With *seed*, each read returns a random size from 1 to *max_read* instead.
    """

    def __init__(self, data: bytes, max_read: int, *, seed: int | None = None):
        self._data = memoryview(bytes(data))
        self._pos = 0
        self._max = max_read
        self._rng = random.Random(seed) if seed is not None else None
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        limit = self._rng.randint(1, self._max) if self._rng else self._max
        if size is not None and size >= 0:
            limit = min(limit, size)
        out = bytes(self._data[self._pos : self._pos + limit])
        self._pos += len(out)
        return out

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class RecordSpan:
    """Where one record sits in a stream: its first byte, its payload's first byte, its end."""

    offset: int
    payload_start: int
    end: int


@dataclass(frozen=True)
class StreamMap:
    """The records of one complete stream, found by parsing it with ``container.StreamParser``."""

    header: RecordSpan
    frames: list[RecordSpan]
    index: RecordSpan
    trailer: RecordSpan
    frame_sizes: list[int]  # original bytes per frame


def _span(stream: bytes, offset: int) -> RecordSpan:
    parsed = read_record(stream, offset)
    assert parsed is not None, f"no complete record at {offset}"
    record, end = parsed
    return RecordSpan(offset, end - len(record.payload), end)


def map_stream(stream: bytes) -> StreamMap:
    """Parse one valid stream and return where its header, frames, index and trailer are."""
    parser = StreamParser()
    parser.feed(stream)
    frames: list[Frame] = []
    header: StreamHeader | None = None
    end: EndOfStream | None = None
    while (event := parser.next_event()) is not None:
        if isinstance(event, StreamHeader):
            header = event
        elif isinstance(event, Frame):
            frames.append(event)
        else:
            end = event
    assert header is not None and end is not None, "not a complete stream"
    frame_spans = [_span(stream, f.offset) for f in frames]
    header_span = _span(stream, len(MAGIC))
    index_start = frame_spans[-1].end if frame_spans else header_span.end
    index_span = _span(stream, index_start)
    return StreamMap(
        header=header_span,
        frames=frame_spans,
        index=index_span,
        trailer=_span(stream, index_span.end),
        frame_sizes=[f.original_size for f in frames],
    )


def flip(data: bytes, position: int, mask: int = 0xFF) -> bytes:
    """*data* with the byte at *position* XOR-ed with *mask*."""
    out = bytearray(data)
    out[position] ^= mask
    return bytes(out)


@pytest.fixture
def dickens_64k() -> bytes:
    return read_text_file("dickens-64k")


@pytest.fixture
def loghub_small() -> bytes:
    return read_text_file("loghub-small")
