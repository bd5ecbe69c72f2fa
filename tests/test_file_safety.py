"""The CLI never loses data: full disks, unreadable inputs and failures leave nothing half-written."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sigmalang._container import StreamAssembler
from sigmalang.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "dickens-64k.txt"


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_full_disk_on_stdout_is_one_clear_error() -> None:
    with open("/dev/full", "wb") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "sigmalang", "encode", "-c", str(FIXTURE)], stdout=full, stderr=subprocess.PIPE
        )
    assert proc.returncode == 1
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0]


def test_full_disk_on_file_output_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes())
    real_fsync = os.fsync

    def no_space(fd: int) -> None:
        real_fsync(fd)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    assert main(["encode", str(src)]) == 1
    assert _listing(tmp_path) == ["in.txt"]
    assert "No space left on device" in capsys.readouterr().err


def test_missing_and_unreadable_inputs_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["encode", str(tmp_path / "nope.txt")]) == 1
    capsys.readouterr()
    folder = tmp_path / "dir.sgl"
    folder.mkdir()
    assert main(["decode", str(folder), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Is a directory" in err[0]
    assert not (tmp_path / "out").exists()


def test_rm_removes_input_only_after_success(tmp_path: Path) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes())
    (tmp_path / "in.txt.sgl").write_bytes(b"already here")
    assert main(["encode", "-q", "--rm", str(src)]) == 1  # output exists, no -f: nothing happens
    assert src.exists() and (tmp_path / "in.txt.sgl").read_bytes() == b"already here"
    assert main(["encode", "-q", "--rm", "-f", str(src)]) == 0
    assert not src.exists()
    assert main(["decode", "-q", "--rm", str(tmp_path / "in.txt.sgl")]) == 0
    assert src.read_bytes() == FIXTURE.read_bytes() and not (tmp_path / "in.txt.sgl").exists()


@pytest.mark.parametrize("after", ["creating", "fchmod"])
def test_an_interrupt_just_after_the_temporary_is_created_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, after: str
) -> None:
    """Ctrl-C can come right after the temporary file exists, before the code that would remove it
    on an error has its name (on a loaded machine, while the progress bar already shows): the file
    is removed all the same."""
    from sigmalang import _output

    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes())
    real_open, real_fchmod = os.open, os.fchmod

    def open_then_interrupt(path: str, *args: object) -> int:
        fd = real_open(path, *args)  # type: ignore[arg-type]
        if ".sigmalang-" in os.fspath(path) and after == "creating":
            raise KeyboardInterrupt
        return fd

    def fchmod_then_interrupt(fd: int, mode: int) -> None:
        real_fchmod(fd, mode)
        raise KeyboardInterrupt

    monkeypatch.setattr(_output.os, "open", open_then_interrupt)
    if after == "fchmod":
        monkeypatch.setattr(_output.os, "fchmod", fchmod_then_interrupt)
    assert main(["encode", "-q", str(src)]) == 130
    assert _listing(tmp_path) == ["in.txt"]


def test_interrupted_write_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes() * 4)

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(StreamAssembler, "finish", interrupt)
    assert main(["encode", "--chunk-size", "16KiB", str(src)]) == 130
    assert _listing(tmp_path) == ["in.txt"]
