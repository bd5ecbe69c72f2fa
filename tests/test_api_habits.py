"""What an lzma or zstandard user reaches for in the Python API: a TypeError that names bytes,
a limit on the decompressed size, ``Codebook.save``, and a ``dir()`` that shows the API only."""

from __future__ import annotations

import pytest

import sigmalang
from sigmalang import Codebook, SigmaCompressor, SigmaDecompressor, SigmaError, load_codebook

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
    assert "per second" in doc and "bytes_in" in doc


def test_compress_with_workers_gives_the_same_bytes():
    expected = sigmalang.compress(TEXT, 3, chunk_size=16 << 10)
    assert sigmalang.compress(TEXT, 3, chunk_size=16 << 10, workers=2) == expected
    assert sigmalang.compress(memoryview(TEXT), 3, chunk_size=16 << 10, workers=2) == expected
    with pytest.raises(TypeError, match="bytes-like"):
        sigmalang.compress("text", workers=2)  # type: ignore[arg-type]
