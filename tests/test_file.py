"""``sigmalang.open`` and ``SigmaFile``: ΣLANG streams as Python file objects, like ``lzma.open``."""

from __future__ import annotations

import io

import pytest

import sigmalang
from conftest import ShortReadIO, mixed_bytes
from sigmalang import SigmaFile, SigmaFormatError, SigmaTruncatedError, compress, decompress
from sigmalang._container import MAGIC

DATA = b"".join(b"line %d: some text that repeats a bit\n" % i for i in range(3000))


@pytest.fixture(scope="module")
def stream_bytes():
    return compress(DATA, chunk_size=4096)  # encoded once for the module; each test gets its own file


@pytest.fixture
def stream_path(tmp_path, stream_bytes):
    path = tmp_path / "data.sgl"
    path.write_bytes(stream_bytes)
    return path


# -- modes ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["wb", "w", "xb", "x"])
def test_binary_write_modes(tmp_path, mode):
    path = tmp_path / "out.sgl"
    with sigmalang.open(path, mode, chunk_size=5000, level=2) as f:
        assert isinstance(f, SigmaFile)
        assert f.writable() and not f.readable() and not f.seekable()
        for i in range(0, len(DATA), 777):
            assert f.write(DATA[i : i + 777]) == len(DATA[i : i + 777])
        assert f.tell() == len(DATA)
    assert f.closed
    assert path.read_bytes() == compress(DATA, level=2, chunk_size=5000)


@pytest.mark.parametrize("mode", ["rb", "r"])
def test_binary_read_modes(stream_path, mode):
    with sigmalang.open(stream_path, mode) as f:
        assert isinstance(f, SigmaFile)
        assert f.readable() and not f.writable() and f.seekable()
        assert f.read() == DATA
        assert f.read() == b""
    assert f.closed


def test_x_mode_refuses_an_existing_file(stream_path):
    before = stream_path.read_bytes()
    with pytest.raises(FileExistsError):
        sigmalang.open(stream_path, "xb")
    assert stream_path.read_bytes() == before


def test_append_mode_makes_concatenated_streams_that_read_as_one(tmp_path):
    path = tmp_path / "log.sgl"
    with sigmalang.open(path, "wb") as f:
        f.write(b"first\n")
    with sigmalang.open(path, "ab", chunk_size=3) as f:
        f.write(b"second\n")
    with sigmalang.open(path, "at") as f:
        f.write("third\n")
    raw = path.read_bytes()
    assert raw.count(MAGIC) == 3
    assert decompress(raw) == b"first\nsecond\nthird\n"
    with sigmalang.open(path, "rb") as f:
        assert f.read() == b"first\nsecond\nthird\n"
    with sigmalang.open(path, "rt") as f:
        assert f.readlines() == ["first\n", "second\n", "third\n"]


@pytest.mark.parametrize("mode", ["", "rw", "rb+", "wtb", "U", "r+"])
def test_invalid_modes(tmp_path, mode):
    with pytest.raises(ValueError):
        sigmalang.open(tmp_path / "x.sgl", mode)


def test_encoding_arguments_only_in_text_mode(tmp_path):
    with pytest.raises(ValueError):
        sigmalang.open(tmp_path / "x.sgl", "wb", encoding="utf-8")


def test_bad_filename_type():
    with pytest.raises(TypeError):
        sigmalang.open(12.5, "rb")  # type: ignore[arg-type]


# -- text mode -----------------------------------------------------------------

UNICODE = "ΣLANG — glyphs: αβγ, 日本語, emoji 🙂, combining é\nsecond line\n" * 200


def test_text_round_trip(tmp_path):
    path = tmp_path / "u.sgl"
    with sigmalang.open(path, "wt", encoding="utf-8", chunk_size=1000) as f:
        assert f.write(UNICODE) == len(UNICODE)
    assert decompress(path.read_bytes()) == UNICODE.encode("utf-8")
    with sigmalang.open(path, "rt", encoding="utf-8") as f:
        assert f.read() == UNICODE


def test_text_readline_and_iteration(tmp_path):
    path = tmp_path / "u.sgl"
    with sigmalang.open(path, "wt", encoding="utf-8", chunk_size=100) as f:
        f.write(UNICODE)
    lines = UNICODE.splitlines(keepends=True)
    with sigmalang.open(path, "rt", encoding="utf-8") as f:
        assert f.readline() == lines[0]
        assert f.readline() == lines[1]
        assert list(f) == lines[2:]
        assert f.readline() == ""


def test_text_mode_encoding_and_newline(tmp_path):
    path = tmp_path / "latin.sgl"
    with sigmalang.open(path, "wt", encoding="latin-1", newline="\r\n") as f:
        f.write("café\nbar\n")
    assert decompress(path.read_bytes()) == b"caf\xe9\r\nbar\r\n"
    with sigmalang.open(path, "rt", encoding="latin-1") as f:
        assert f.read() == "café\nbar\n"
    with sigmalang.open(path, "rt", encoding="latin-1", newline="") as f:
        assert f.read() == "café\r\nbar\r\n"


# -- binary reading --------------------------------------------------------------


def test_readline_and_iteration_binary(stream_path):
    lines = DATA.splitlines(keepends=True)
    with sigmalang.open(stream_path) as f:
        assert f.readline() == lines[0]
        assert f.readline(3) == lines[1][:3]
        assert f.readline() == lines[1][3:]
        assert list(f) == lines[2:]


def test_read_sizes_and_readinto(stream_path):
    with sigmalang.open(stream_path) as f:
        assert f.read(0) == b""
        assert f.read(10) == DATA[:10]
        buf = bytearray(100)
        assert f.readinto(buf) == 100 and bytes(buf) == DATA[10:110]
        assert f.peek(1)[:1] == DATA[110:111]
        got = f.read1(50)
        assert 0 < len(got) <= 50 and got == DATA[110 : 110 + len(got)]
        assert f.read(None) == DATA[110 + len(got) :]


def test_read_from_a_file_object_with_short_reads():
    blob = compress(DATA, chunk_size=1000)
    with sigmalang.open(ShortReadIO(blob, 17), "rb") as f:
        assert f.read() == DATA


def test_read_from_bytesio_and_write_to_bytesio():
    buf = io.BytesIO()
    with sigmalang.open(buf, "wb") as f:
        f.write(b"in memory")
    assert not buf.closed  # a file object passed in is not closed
    buf.seek(0)
    with sigmalang.open(buf, "rb") as f:
        assert f.read() == b"in memory"


def test_write_accepts_buffers():
    buf = io.BytesIO()
    with sigmalang.open(buf, "wb") as f:
        f.write(bytearray(b"ab"))
        f.write(memoryview(b"cd"))
        import array

        f.write(array.array("H", [0x6665]))  # two bytes
        assert f.tell() == 6
    assert decompress(buf.getvalue()) == b"abcd" + array.array("H", [0x6665]).tobytes()


PREFIX = b"bytes before the stream"


def open_for_seeking(kind, tmp_path):
    """A read-mode SigmaFile over DATA: via the index (a path), or forward-decoding (a file
    object positioned after other bytes, where the index walk from the end does not apply)."""
    blob = compress(DATA, chunk_size=4096)
    if kind == "indexed":
        path = tmp_path / "data.sgl"
        path.write_bytes(blob)
        return sigmalang.open(path)
    fp = io.BytesIO(PREFIX + blob)
    fp.seek(len(PREFIX))
    return sigmalang.open(fp)


@pytest.mark.parametrize("kind", ["indexed", "forward"])
def test_seek_forward_and_tell(kind, tmp_path):
    with open_for_seeking(kind, tmp_path) as f:
        assert f.seekable()
        assert f.tell() == 0
        assert f.seek(50_000) == 50_000 and f.tell() == 50_000
        assert f.read(10) == DATA[50_000:50_010]
        assert f.seek(10, io.SEEK_CUR) == 50_020
        assert f.read(5) == DATA[50_020:50_025]
        f.seek(len(DATA) + 100)
        assert f.read() == b""


@pytest.mark.parametrize(
    "kind",
    [
        "indexed",
        "forward",
    ],
)
def test_seek_backward_and_from_the_end(kind, tmp_path):
    with open_for_seeking(kind, tmp_path) as f:
        assert f.seek(-10, io.SEEK_END) == len(DATA) - 10
        assert f.read() == DATA[-10:]
        assert f.seek(0, io.SEEK_END) == len(DATA)
        assert f.read(1) == b""
        assert f.seek(100_000) == 100_000
        assert f.read(10) == DATA[100_000:100_010]
        assert f.seek(100) == 100  # far behind the buffer: the raw reader goes back
        assert f.read(5) == DATA[100:105]
        assert f.seek(0) == 0
        assert f.read() == DATA


def test_indexed_reads_in_random_order(tmp_path):
    import random

    with open_for_seeking("indexed", tmp_path) as f:
        rng = random.Random(2)
        for _ in range(200):
            pos = rng.randrange(len(DATA))
            size = rng.randrange(1, 9000)
            f.seek(pos)
            assert f.read(size) == DATA[pos : pos + size]


def test_seek_on_a_pipe_is_unsupported():
    blob = compress(b"data")

    class Pipe(io.RawIOBase):
        def __init__(self):
            self._src = io.BytesIO(blob)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            data = self._src.read(len(b))
            b[: len(data)] = data
            return len(data)

    with sigmalang.open(Pipe(), "rb") as f:
        assert not f.seekable()
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)
        assert f.read() == b"data"


# -- errors ----------------------------------------------------------------------


def test_wrong_mode_operations(stream_path, tmp_path):
    with sigmalang.open(stream_path, "rb") as f, pytest.raises(io.UnsupportedOperation):
        f.write(b"x")
    with sigmalang.open(tmp_path / "w.sgl", "wb") as f:
        for op in (lambda: f.read(), lambda: f.readline(), lambda: f.read1(1), lambda: f.seek(0), lambda: f.peek()):
            with pytest.raises(io.UnsupportedOperation):
                op()
        with pytest.raises(io.UnsupportedOperation):
            f.readinto(bytearray(1))


def test_closed_file_operations_raise_value_error(stream_path, tmp_path):
    f = sigmalang.open(stream_path, "rb")
    f.close()
    f.close()  # closing twice is fine
    for op in (f.read, f.readline, f.tell, lambda: f.seek(0), f.readable, f.writable, f.fileno):
        with pytest.raises(ValueError):
            op()
    w = sigmalang.open(tmp_path / "w.sgl", "wb")
    w.close()
    with pytest.raises(ValueError):
        w.write(b"x")
    with pytest.raises(ValueError):
        w.tell()
    with pytest.raises(ValueError), w:
        pass


def test_reading_damaged_or_truncated_files(tmp_path):
    blob = compress(DATA, chunk_size=4096)
    path = tmp_path / "cut.sgl"
    path.write_bytes(blob[: len(blob) // 2])
    with sigmalang.open(path) as f, pytest.raises(SigmaTruncatedError):
        f.read()
    damaged = bytearray(blob)
    damaged[len(blob) // 3] ^= 0x10
    path.write_bytes(damaged)
    with sigmalang.open(path) as f, pytest.raises(SigmaFormatError):
        f.read()
    path.write_bytes(b"")
    with sigmalang.open(path) as f, pytest.raises(SigmaTruncatedError):
        f.read()
    path.write_bytes(blob + b"trailing junk")
    with sigmalang.open(path) as f, pytest.raises(SigmaFormatError, match="magic"):
        f.read()


def test_empty_stream_reads_empty(tmp_path):
    path = tmp_path / "empty.sgl"
    with sigmalang.open(path, "wb"):
        pass
    assert path.read_bytes() == compress(b"")
    with sigmalang.open(path) as f:
        assert f.read() == b""


def test_large_write_then_read_in_pieces(tmp_path):
    data = mixed_bytes(1_500_000, seed=4)
    path = tmp_path / "big.sgl"
    with sigmalang.open(path, "wb", level=1, chunk_size=256 << 10) as f:
        f.write(data)
    out = bytearray()
    with sigmalang.open(path) as f:
        while piece := f.read(100_003):
            out += piece
    assert out == data


def test_fileno_is_the_underlying_file(stream_path):
    with open(stream_path, "rb") as raw, sigmalang.open(raw) as f:
        assert f.fileno() == raw.fileno()
    with sigmalang.open(io.BytesIO(compress(b""))) as f, pytest.raises(io.UnsupportedOperation):
        f.fileno()
