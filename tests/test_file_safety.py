"""The CLI never loses data: full disks, unreadable inputs and failures leave nothing half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
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


@pytest.mark.parametrize(("how", "force"), [("replace", True), ("link", False), ("unlink", False)])
def test_an_interrupt_just_after_the_output_is_in_place_ends_the_run_as_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, force: bool
) -> None:
    """Ctrl-C that comes when the output has just been put in place (renamed, or linked and its
    temporary name not yet removed) finds the work done: exit 0 and the complete output, which is
    never taken back (with -f it replaced a file that is gone)."""
    from sigmalang import _output

    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes())
    if force:
        (tmp_path / "in.txt.sgl").write_bytes(b"an older output")
    real = {"replace": os.replace, "link": os.link, "unlink": os.unlink}[how]

    def then_interrupt(a: str, *rest: str) -> None:
        real(a, *rest)  # type: ignore[operator]
        if ".sigmalang-" in os.fspath(a):
            raise KeyboardInterrupt

    monkeypatch.setattr(_output.os, how, then_interrupt)
    # -f: renamed over the old file; else linked to the new name, then the temporary name removed
    assert main(["encode", "-q", *(["-f"] if force else []), str(src)]) == 0
    assert _listing(tmp_path) == ["in.txt", "in.txt.sgl"]
    proc = subprocess.run(
        [sys.executable, "-m", "sigmalang", "decode", "-c", str(tmp_path / "in.txt.sgl")], capture_output=True
    )
    assert proc.returncode == 0 and proc.stdout == FIXTURE.read_bytes()


def test_an_interrupt_after_the_first_of_two_outputs_exits_130_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more inputs to go, an interrupt just after one output is in place stops the run
    (exit 130): the finished output stays, the next input has none."""
    from sigmalang import _output

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_bytes(FIXTURE.read_bytes())
    real_replace = os.replace

    def replace_then_interrupt(a: str, b: str) -> None:
        real_replace(a, b)
        raise KeyboardInterrupt

    monkeypatch.setattr(_output.os, "replace", replace_then_interrupt)
    assert main(["encode", "-q", "-f", str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]) == 130
    assert _listing(tmp_path) == ["a.txt", "a.txt.sgl", "b.txt"]


@pytest.mark.parametrize("where", ["summary", "stopping"])
def test_an_interrupt_after_the_last_input_is_done_ends_the_run_as_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Ctrl-C while the summary prints or the workers are stopped, after the last output is in
    place: exit 0, the output stays."""
    from sigmalang import cli

    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes())

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    if where == "summary":
        monkeypatch.setattr(cli, "_say", interrupt)
    else:
        real_services = cli.services

        @contextlib.contextmanager
        def services_then_interrupt(opts: object) -> Iterator[None]:
            with real_services(opts):
                yield
            raise KeyboardInterrupt

        monkeypatch.setattr(cli, "services", services_then_interrupt)
    assert main(["encode", "-q", str(src)]) == 0
    assert _listing(tmp_path) == ["in.txt", "in.txt.sgl"]


def test_interrupted_write_leaves_no_partial_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in.txt"
    src.write_bytes(FIXTURE.read_bytes() * 4)

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(StreamAssembler, "finish", interrupt)
    assert main(["encode", "--chunk-size", "16KiB", str(src)]) == 130
    assert _listing(tmp_path) == ["in.txt"]
