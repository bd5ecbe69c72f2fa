"""What an lzma or zstandard user reaches for in the Python API: a TypeError that names bytes,
a limit on the decompressed size, ``Codebook.save``, a ``dir()`` that shows the API only, and
``workers=`` wherever data is compressed (the same bytes for every value)."""

from __future__ import annotations

import functools
import gc
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang import (
    Codebook,
    SigmaCompressor,
    SigmaDecompressor,
    SigmaError,
    SigmaFile,
    WorkerError,
    _frames,
    _jobs,
    load_codebook,
)
from sigmalang._chunking import Chunk
from sigmalang._jobs import encode_job

TEXT = b"".join(b"line %d of the api tests, with some words repeated\n" % i for i in range(5000))


@pytest.mark.parametrize(
    "call",
    [
        lambda: sigmalang.compress("text"),  # type: ignore[arg-type]
        lambda: SigmaCompressor().compress("text"),  # type: ignore[arg-type]
        lambda: sigmalang.decompress("text"),  # type: ignore[arg-type]
        lambda: SigmaDecompressor().decompress("text"),  # type: ignore[arg-type]
    ],
)
def test_text_instead_of_bytes_is_a_type_error_naming_bytes(call):
    with pytest.raises(TypeError, match="bytes-like object is required, not 'str'"):
        call()


def test_max_output_size():
    blob = sigmalang.compress(TEXT, chunk_size=16 << 10)
    assert sigmalang.decompress(blob, max_output_size=len(TEXT)) == TEXT
    with pytest.raises(SigmaError, match="max_output_size"):
        sigmalang.decompress(blob, max_output_size=len(TEXT) - 1)
    with pytest.raises(SigmaError, match="max_output_size"):
        sigmalang.decompress(blob + blob, max_output_size=len(TEXT) + 10)  # concatenated streams count together
    assert sigmalang.decompress(blob + blob, max_output_size=2 * len(TEXT)) == TEXT + TEXT
    with pytest.raises(ValueError):
        sigmalang.decompress(blob, max_output_size=-1)


def test_codebook_save(tmp_path):
    book = Codebook((b"alpha", b"beta", b"gamma"), 2)
    path = tmp_path / "three.book"
    book.save(path)
    assert load_codebook(path) == book
    with pytest.raises(FileExistsError):
        book.save(path)
    Codebook((b"delta",), 1).save(path, overwrite=True)
    assert load_codebook(path).words == (b"delta",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["three.book"]


def test_dir_shows_the_api_only():
    names = dir(sigmalang)
    assert set(sigmalang.__all__) <= set(names)
    for private in ("Any", "TYPE_CHECKING", "importlib", "annotations"):
        assert private not in names


def test_throughput_unit_is_documented():
    doc = sigmalang.StreamStats.throughput.__doc__ or ""
    assert "Bytes read per second" in doc and "bytes_in" in doc and "when decoding" in doc
    stats = sigmalang.StreamStats(bytes_in=3_000_000, started=0.0, finished=2.0)
    assert stats.throughput == 1_500_000.0


@pytest.mark.slow  # process pools
def test_compress_with_workers_gives_the_same_bytes():
    expected = sigmalang.compress(TEXT, 3, chunk_size=16 << 10)
    assert sigmalang.compress(TEXT, 3, chunk_size=16 << 10, workers=2) == expected
    assert sigmalang.compress(memoryview(TEXT), 3, chunk_size=16 << 10, workers=2) == expected
    with pytest.raises(TypeError, match="bytes-like"):
        sigmalang.compress("text", workers=2)  # type: ignore[arg-type]


# -- workers= on SigmaCompressor and open() ---------------------------------------------------

CHUNK = 8 << 10
PIECES = st.lists(st.binary(max_size=3 * CHUNK) | st.sampled_from([TEXT[:20_000], TEXT[7:9_000]]), max_size=6)


@pytest.fixture(scope="module")
def threads():
    with ThreadPoolExecutor(3) as pool:
        yield pool


def _incremental(pieces: list[bytes], **kwargs: object) -> bytes:
    comp = SigmaCompressor(1, chunk_size=CHUNK, **kwargs)  # type: ignore[arg-type]
    return b"".join(comp.compress(p) for p in pieces) + comp.flush()


@settings(max_examples=60)
@given(pieces=PIECES, shared=st.booleans(), filters=st.booleans())
def test_compressor_on_an_executor_gives_the_same_bytes_for_any_input(threads, pieces, shared, filters):
    """For every input, however it is cut into compress() calls: the same stream as in this process."""
    expected = _incremental(pieces, shared_context=shared, filters=filters)
    assert _incremental(pieces, shared_context=shared, filters=filters, executor=threads) == expected
    assert sigmalang.decompress(expected) == b"".join(pieces)


@pytest.mark.slow  # process pools
@settings(max_examples=8)
@given(pieces=PIECES, workers=st.sampled_from([0, 2, 3]), shared=st.booleans())
def test_compressor_workers_give_the_same_bytes_for_any_input(pieces, workers, shared):
    expected = _incremental(pieces, shared_context=shared)
    assert _incremental(pieces, shared_context=shared, workers=workers) == expected


@pytest.mark.slow
def test_compressor_workers_with_a_codebook_and_a_shared_context_over_many_runs():
    book = Codebook((b"line", b"of", b"the", b"api", b"tests", b"with", b"some", b"words", b"repeated"), 4)
    data = TEXT * 2
    pieces = [data[i : i + 50_000] for i in range(0, len(data), 50_000)]  # 64 chunks: four runs of 16
    for shared in (False, True):
        expected = _incremental(pieces, codebook=book, shared_context=shared)
        assert _incremental(pieces, codebook=book, shared_context=shared, workers=2) == expected
        assert sigmalang.decompress(expected, codebook=book) == data


def test_compressor_returns_frames_as_they_come_back(threads):
    comp = SigmaCompressor(1, chunk_size=CHUNK, executor=threads)
    out = comp.compress(TEXT)  # 32 chunks through a window of 6: most frames are back already
    assert len(out) > 1000
    assert out + comp.flush() == _incremental([TEXT])
    with pytest.raises(ValueError, match="flush"):
        comp.flush()


def _fails(chunk: Chunk, level: int, book: object = None) -> tuple[int, int, bytes]:
    if chunk.number == 2:
        raise RuntimeError("no memory for chunk 2")
    return encode_job(chunk, level, book)  # type: ignore[arg-type]


def test_compressor_worker_error_names_the_chunk_and_ends_the_compressor(monkeypatch, threads):
    monkeypatch.setattr(_jobs, "encode_job", _fails)
    comp = SigmaCompressor(1, chunk_size=CHUNK, executor=threads)
    with pytest.raises(WorkerError, match=r"chunk 2 \(input byte offset \d+\).*no memory"):
        comp.compress(TEXT) + comp.flush()
    with pytest.raises(ValueError):
        comp.compress(b"more")


def _pool_pids(comp: SigmaCompressor) -> list[int]:
    return [p.pid for p in comp._coder._window.executor._processes.values()]  # type: ignore[union-attr]


def _gone(pids: list[int]) -> bool:
    deadline = time.monotonic() + 20
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.slow
def test_compressor_worker_killed_is_one_error_and_its_workers_end():
    comp = SigmaCompressor(1, chunk_size=CHUNK, workers=2)
    comp.compress(TEXT[: CHUNK * 3])
    pids = _pool_pids(comp)
    os.kill(pids[0], signal.SIGKILL)
    with pytest.raises(WorkerError, match="worker process died"):
        for _ in range(50):  # the window notices the dead worker at the latest when it is full
            comp.compress(TEXT)
    assert _gone(pids)


@pytest.mark.slow
def test_compressor_dropped_without_flush_ends_its_workers():
    comp = SigmaCompressor(1, chunk_size=CHUNK, workers=2)
    comp.compress(TEXT[: CHUNK * 3])
    pids = _pool_pids(comp)
    del comp
    gc.collect()
    assert _gone(pids)


@pytest.mark.slow
def test_open_with_workers_writes_the_same_file(tmp_path):
    for workers in (1, 2):
        with sigmalang.open(tmp_path / f"w{workers}.sgl", "wt", level=3, chunk_size=CHUNK, workers=workers) as f:
            for line in TEXT.decode().splitlines(keepends=True):
                f.write(line)
    assert (tmp_path / "w2.sgl").read_bytes() == (tmp_path / "w1.sgl").read_bytes()
    with sigmalang.open(tmp_path / "w2.sgl", "rb") as f:
        assert f.read() == TEXT
    with pytest.raises(ValueError, match="workers is for writing"):
        sigmalang.open(tmp_path / "w2.sgl", "rb", workers=2)
    with pytest.raises(ValueError, match="workers"):
        SigmaFile(tmp_path / "w3.sgl", "wb", workers=-1)
    assert not (tmp_path / "w3.sgl").exists()  # options are checked before the file is made


# -- max_output_size: nothing decoded past the limit ------------------------------------------


@settings(max_examples=40)
@given(limit=st.integers(0, len(TEXT) + 100), sizes=st.sampled_from([4 << 10, 16 << 10, 64 << 10]))
def test_max_output_size_never_decodes_past_the_limit(limit, sizes):
    blob = _blobs(sizes)
    decoded: list[int] = []
    original = _frames.StreamDecoding.decode

    def counting(self, frame):  # type: ignore[no-untyped-def]
        data = original(self, frame)
        decoded.append(len(data))
        return data

    with pytest.MonkeyPatch.context() as m:
        m.setattr(_frames.StreamDecoding, "decode", counting)
        if limit >= len(TEXT):
            assert sigmalang.decompress(blob, max_output_size=limit) == TEXT
        else:
            with pytest.raises(SigmaError, match=r"max_output_size \([\d,]+ bytes\) at frame \d+"):
                sigmalang.decompress(blob, max_output_size=limit)
    assert sum(decoded) <= limit


@functools.cache
def _blobs(chunk_size: int) -> bytes:
    return sigmalang.compress(TEXT, 1, chunk_size=chunk_size)


def test_max_output_size_must_be_an_integer():
    with pytest.raises(TypeError):
        sigmalang.decompress(_blobs(4 << 10), max_output_size=1.5)  # type: ignore[arg-type]
