"""Damaged PPMd streams are an error, never a crash of the process.

pyppmd 1.3.1 corrupts the heap when a ``Ppmd7Decoder`` that a damaged stream left waiting for
input is freed or resumed; glibc then aborts the interpreter at some later allocation ("corrupted
size vs. prev_size"). This input did so within 64 damaged decodes before the backend drained such
decoders, and streams cut short still did, more rarely, until the decoder was given a runway of
zero bytes after the stream (_backend_ppmd.PPMD_RUNWAY) so that it never waits.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyppmd
import pytest

from sigmalang import _backend_ppmd
from sigmalang._backend_base import PPMD, BackendError
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._backends import get_backend

LOGS = (Path(__file__).parent / "fixtures" / "loghub-small.log").read_bytes()


def test_many_damaged_streams_do_not_corrupt_the_heap() -> None:
    data = LOGS[:4499]
    backend = get_backend(PPMD, 6, 64)
    stream = backend.encode(data)
    errors = 0
    for pos in range(3, 3 + 64):  # past the order and memory bytes
        damaged = stream[:pos] + b"\x00" + stream[pos + 1 :]
        try:
            backend.decode(damaged, len(data))
        except BackendError:
            errors += 1
    assert errors > 32
    assert backend.decode(stream, len(data)) == data


@pytest.mark.parametrize("cut", [4, 10, 100])
def test_truncated_stream_is_an_error(cut: int) -> None:
    data = LOGS[:4499]
    backend = get_backend(PPMD, 6, 64)
    with pytest.raises(BackendError):
        backend.decode(backend.encode(data)[:cut], len(data))


def test_a_damaged_stream_never_leaves_the_decoder_waiting_for_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runway of zero bytes after the stream (_backend_ppmd.PPMD_RUNWAY) gives a damaged stream
    input where pyppmd's decoding thread would otherwise wait for more: the state in which freeing
    or resuming the decoder corrupts the heap. Cut at every position, no decoder is left waiting."""
    waiting = []
    real_drain = _backend_ppmd._drain

    def record(decoder: pyppmd.Ppmd7Decoder) -> None:
        waiting.append(decoder.needs_input and not decoder.eof)
        real_drain(decoder)

    monkeypatch.setattr(_backend_ppmd, "_drain", record)
    data = LOGS[:1500]
    for order in (2, 6, 64):
        backend = PpmdBackend(order, 1)
        stream = backend.encode(data)
        for cut in range(3, len(stream)):
            with pytest.raises(BackendError):
                backend.decode_in_process(stream[:cut], len(data))
    assert len(waiting) > 100 and not any(waiting)


_MANY_DAMAGED = """
import random, sys
from sigmalang._backend_base import BackendError
from sigmalang._backend_ppmd import PpmdBackend
data = open(sys.argv[1], "rb").read()
rng = random.Random(int(sys.argv[2]))
for i in range(int(sys.argv[3])):
    order = rng.choice((2, 3, 4, 6, 8, 16, 32, 64))
    size = rng.randrange(1, 1500)
    start = rng.randrange(0, len(data) - size)
    backend = PpmdBackend(order, 1)
    stream = backend.encode(data[start : start + size])
    kind = rng.randrange(3)
    if kind == 0:
        damaged = stream[: rng.randrange(3, len(stream))]
    elif kind == 1:
        pos = rng.randrange(2, len(stream))
        damaged = stream[:pos] + bytes([stream[pos] ^ (1 << rng.randrange(8))]) + stream[pos + 1 :]
    else:
        pos = rng.randrange(2, len(stream))
        damaged = stream[:pos] + rng.randbytes(len(stream) - pos)
    try:
        backend.decode_in_process(damaged, size)
    except BackendError:
        pass
"""


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_thousands_of_damaged_streams_in_one_process(seed: int) -> None:
    """Without the runway, one process decoding 3,000 of these (cut, one bit flipped, or a random
    tail) aborted with glibc's "malloc(): mismatching next->prev_size" in 1 run in 7, and within 300
    without the drain; the process must now finish them all."""
    fixture = Path(__file__).parent / "fixtures" / "loghub-small.log"
    result = subprocess.run(
        [sys.executable, "-c", _MANY_DAMAGED, str(fixture), str(seed), "3000"],
        capture_output=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-500:]
