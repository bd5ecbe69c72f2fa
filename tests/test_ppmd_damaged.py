"""Damaged PPMd streams are an error, never a crash of the process.

pyppmd 1.3.1 corrupts the heap when a ``Ppmd7Decoder`` that a damaged stream left waiting for
input is freed; glibc then aborts the interpreter at some later allocation ("corrupted size vs.
prev_size"). This input did so within 64 damaged decodes before the backend drained such decoders.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sigmalang.backends import PPMD, BackendError, get_backend

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
