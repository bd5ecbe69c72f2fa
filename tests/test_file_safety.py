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


def test_interrupted_write_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes() * 4)

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(StreamAssembler, "finish", interrupt)
    assert main(["encode", "--chunk-size", "16KiB", str(src)]) == 130
    assert _listing(tmp_path) == ["in.txt"]
