"""Entropy backends: PPMd round-trips real data at every slice boundary, and damage is a clean error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang.backends import PPMD, PPMD_SLICE, STORE, ZSTD, BackendError, PpmdBackend, get_backend

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).parent.parent / "samples"
TEXT = (SAMPLES / "dickens-sample.txt").read_bytes()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*")) + sorted(SAMPLES.glob("*")), ids=lambda p: p.name)
@pytest.mark.parametrize("order", [4, 6, 12])
def test_ppmd_roundtrips_real_files(path: Path, order: int) -> None:
    backend = PpmdBackend(order, 16)
    data = path.read_bytes()
    payload = backend.encode(data)
    assert len(payload) < len(data)
    assert backend.decode(payload, len(data)) == data


SIZES = [0, 1, PPMD_SLICE - 1, PPMD_SLICE, PPMD_SLICE + 1, 2 * PPMD_SLICE, 2 * PPMD_SLICE + 1, 64 * PPMD_SLICE + 3]


@pytest.mark.parametrize("size", SIZES)
def test_ppmd_roundtrips_around_slice_boundaries(size: int) -> None:
    data = (TEXT * (1 + size // len(TEXT)))[:size]
    backend = PpmdBackend(6, 16)
    assert backend.decode(backend.encode(data), size) == data


def test_ppmd_verification_catches_a_bad_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = PpmdBackend(6, 16, verify=True)
    data = TEXT[:50_000]
    assert backend.decode(backend.encode(data), len(data)) == data
    real = PpmdBackend.decode

    def short_by_one(self: PpmdBackend, payload: bytes, size: int) -> bytes:
        return real(self, payload, size)[:-1]

    monkeypatch.setattr(PpmdBackend, "decode", short_by_one)
    with pytest.raises(BackendError):
        backend.encode(data)


def test_ppmd_incompressible_roundtrip() -> None:
    data = os.urandom(3 * PPMD_SLICE + 17)
    backend = PpmdBackend(6, 16)
    assert backend.decode(backend.encode(data), len(data)) == data


def test_ppmd_parameters_travel_in_the_payload() -> None:
    data = TEXT[:20_000]
    payload = PpmdBackend(9, 3).encode(data)
    assert payload[0] == 9 and payload[1] == 3
    assert get_backend(PPMD).decode(payload, len(data)) == data  # a default decoder reads them


def test_ppmd_wrong_size_is_an_error() -> None:
    data = TEXT[:20_000]
    payload = PpmdBackend(6, 16).encode(data)
    for size in (len(data) - 1, len(data) + 1):
        with pytest.raises(BackendError):
            PpmdBackend().decode(payload, size)


@pytest.mark.parametrize("payload", [b"", b"\x06", b"\x01\x10", b"\x41\x10", b"\x06\x00", b"\x06\x81\x80\x80\x80"])
def test_ppmd_bad_parameters_are_errors(payload: bytes) -> None:
    with pytest.raises(BackendError):
        PpmdBackend().decode(payload + b"\0" * 8, 100)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10**9), st.binary(min_size=1, max_size=3), st.integers(1, 3))
def test_ppmd_damage_is_a_backend_error(position: int, junk: bytes, order_choice: int) -> None:
    data = TEXT[:6000]
    backend = PpmdBackend((4, 6, 8)[order_choice - 1], 1)
    payload = backend.encode(data)
    position %= len(payload)
    damaged = payload[:position] + junk + payload[position + len(junk) :]
    try:
        out = backend.decode(damaged, len(data))
    except BackendError:
        return
    assert len(out) == len(data)  # undetected damage still yields exactly size bytes


def test_ppmd_truncated_is_an_error() -> None:
    data = TEXT[:30_000]
    payload = PpmdBackend(6, 16).encode(data)
    # The range coder reads zeros past the end, so losing only the last byte or two can go unseen
    # here (the frame's length and CRC catch it); losing more cannot.
    for cut in (10, 100, len(payload) // 2):
        with pytest.raises(BackendError):
            PpmdBackend().decode(payload[:-cut], len(data))


def test_get_backend_caches_and_rejects_unknown_ids() -> None:
    assert get_backend(PPMD, 8, 32) is get_backend(PPMD, 8, 32)
    assert get_backend(STORE).name == "store" and get_backend(ZSTD).name == "zstd"
    with pytest.raises(KeyError):
        get_backend(99)


def test_ppmd_encode_does_not_keep_its_input_alive() -> None:
    """pyppmd 1.3.1's encode() never releases its argument's buffer: fed the caller's data (or a
    view of it), every chunk stayed in memory for good. The backend must feed it its own buffers."""
    import sys

    from sigmalang.backends import PpmdBackend

    data = bytes(range(256)) * 300 + b"tail"
    before = sys.getrefcount(data)
    payload = PpmdBackend(6, 16).encode(data)
    assert sys.getrefcount(data) == before
    assert PpmdBackend(6, 16).decode(payload, len(data)) == data
