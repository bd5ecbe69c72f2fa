"""The numcodecs codec (found through the ``numcodecs.codecs`` entry point) and the zarr 3
bytes-to-bytes codec (``zarr.codecs`` entry point): buffers and whole arrays round-trip."""

from __future__ import annotations

import subprocess
import sys

import numcodecs
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from zarr.storage import LocalStore, MemoryStore

from sigmalang.numcodecs import Sigmalang
from sigmalang.zarr import SigmalangCodec


def _log_array(n: int) -> np.ndarray:
    """Log-like rows as fixed-width bytes, viewed as uint8 (a dtype both zarr formats specify)."""
    rows = [f"2024-01-01T00:{i % 60:02d}:{i % 7:02d} GET /item/{i % 97} 200 {i * 13 % 5000}\n" for i in range(n)]
    return np.frombuffer("".join(rows).encode(), dtype=np.uint8).copy()


def test_get_codec_finds_sigmalang_through_the_entry_point_without_importing_it():
    code = "import numcodecs, sys; c = numcodecs.get_codec({'id': 'sigmalang', 'level': 1}); print(type(c).__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "sigmalang.numcodecs"


def test_config_round_trips():
    codec = numcodecs.get_codec({"id": "sigmalang", "level": 3})
    assert isinstance(codec, Sigmalang)
    assert codec.get_config() == {"id": "sigmalang", "level": 3}
    assert numcodecs.get_codec(codec.get_config()) == codec
    with pytest.raises(ValueError):
        Sigmalang(level=12)


@settings(max_examples=40)
@given(st.binary(max_size=5000), st.sampled_from([0, 1, 3]))
def test_any_buffer_round_trips(data, level):
    codec = Sigmalang(level=level)
    assert bytes(codec.decode(codec.encode(data))) == data


def test_numpy_array_round_trips_into_out():
    codec = Sigmalang(level=1)
    array = np.arange(10_000, dtype="<i4")
    encoded = codec.encode(array)
    assert len(encoded) < array.nbytes
    out = np.empty_like(array)
    codec.decode(encoded, out=out)
    assert (out == array).all()


def test_zarr3_array_round_trips_with_the_sigmalang_bytes_codec(tmp_path):
    data = _log_array(4000)
    store = LocalStore(tmp_path / "logs.zarr")
    z = zarr.create_array(
        store, shape=data.shape, chunks=(32_768,), dtype="uint8", compressors=[SigmalangCodec(level=1)]
    )
    z[:] = data
    reopened = zarr.open_array(LocalStore(tmp_path / "logs.zarr"), mode="r")
    assert reopened.metadata.zarr_format == 3
    assert {"name": "sigmalang", "configuration": {"level": 1}} in reopened.metadata.to_dict()["codecs"]
    assert (reopened[:] == data).all()
    stored = sum(p.stat().st_size for p in (tmp_path / "logs.zarr").rglob("c/*"))
    assert 0 < stored < data.nbytes // 2


def test_zarr2_array_round_trips_with_the_numcodecs_compressor():
    data = _log_array(2000)
    store = MemoryStore()
    z = zarr.create_array(
        store, shape=data.shape, chunks=(16_384,), dtype="uint8", zarr_format=2, compressors=Sigmalang(1)
    )
    z[:] = data
    reopened = zarr.open_array(store, mode="r")
    assert reopened.metadata.zarr_format == 2
    assert (reopened[:] == data).all()
