"""fsspec: ΣLANG in fsspec's compression registry once sigmalang is imported, and fsspec URLs as
inputs and outputs of the streaming API and the command line (memory:// and file://)."""

from __future__ import annotations

import subprocess
import sys

import fsspec
import pytest

import sigmalang
from conftest import read_text_file
from sigmalang import StreamingDecoder, StreamingEncoder
from sigmalang.cli import main


@pytest.fixture
def memfs():
    fs = fsspec.filesystem("memory")
    yield fs
    for path in fs.find("/"):
        fs.rm(path)


@pytest.mark.parametrize(
    "imports",
    ["import sigmalang\nimport fsspec", "import fsspec\nimport sigmalang", "import sigmalang, fsspec.compression"],
)
def test_infer_reads_sgl_after_import_sigmalang_whatever_the_import_order(imports, tmp_path):
    path = tmp_path / "x.log.sgl"
    path.write_bytes(sigmalang.compress(b"first line\nsecond line\n", level=1))
    code = f"""{imports}
import fsspec
with fsspec.open({str(path)!r}, "rt", compression="infer") as f:
    print(f.read(), end="")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout == "first line\nsecond line\n"


def test_import_sigmalang_does_not_import_fsspec():
    code = "import sys, sigmalang; print('fsspec' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


def test_registry_names_sigmalang_with_extension_sgl():
    assert "sigmalang" in fsspec.available_compressions()
    assert fsspec.utils.infer_compression("app.log.sgl") == "sigmalang"


def test_write_and_read_through_fsspec_compression(memfs):
    text = read_text_file("loghub-small").decode()
    with fsspec.open("memory://w/app.log.sgl", "wt", compression="infer", newline="") as f:
        f.write(text)
    assert sigmalang.decompress(memfs.cat("/w/app.log.sgl")).decode() == text
    with fsspec.open("memory://w/app.log.sgl", "rt", compression="sigmalang", newline="") as f:
        assert f.read() == text


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_encode_and_decode_file_with_urls(scheme, memfs, tmp_path):
    data = read_text_file("dickens-64k")
    base = "memory://urls" if scheme == "memory" else f"file://{tmp_path}"
    fs, _ = fsspec.core.url_to_fs(base)
    with fs.open(f"{base}/in.txt", "wb") as f:
        f.write(data)
    StreamingEncoder(1, 8 << 10).encode_file(f"{base}/in.txt", f"{base}/in.txt.sgl")
    StreamingDecoder().decode_file(f"{base}/in.txt.sgl", f"{base}/back.txt")
    with fs.open(f"{base}/back.txt", "rb") as f:
        assert f.read() == data
    with pytest.raises(FileExistsError):
        StreamingEncoder(1).encode_file(f"{base}/in.txt", f"{base}/in.txt.sgl")


def test_url_output_appears_only_when_complete(memfs):
    data = read_text_file("dickens-64k")
    memfs.pipe("/part/in.txt", data)
    seen = []

    def progress(n: int) -> None:  # in the middle of the run: nothing at the target yet
        seen.append(memfs.exists("/part/out.sgl"))
        if len(seen) == 3:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        StreamingEncoder(1, 4 << 10, progress=progress).encode_file("memory://part/in.txt", "memory://part/out.sgl")
    assert seen == [False, False, False]
    assert memfs.ls("/part", detail=False) == ["/part/in.txt"]  # no output, no temporary object


def test_cli_encodes_and_decodes_urls(memfs):
    data = read_text_file("loghub-small")
    memfs.pipe("/cli/app.log", data)
    assert main(["-1", "-q", "memory://cli/app.log"]) == 0
    assert sigmalang.decompress(memfs.cat("/cli/app.log.sgl")) == data
    assert main(["-d", "-q", "memory://cli/app.log.sgl", "-o", "memory://cli/back.log"]) == 0
    assert memfs.cat("/cli/back.log") == data
    assert main(["-1", "-q", "memory://cli/app.log"]) == 1  # exists: not overwritten without -f
    assert main(["-1", "-q", "-f", "memory://cli/app.log"]) == 0
