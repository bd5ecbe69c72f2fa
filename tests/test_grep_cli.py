"""``sigmalang grep``: grep's options, output and exit codes, and the same output as
``sigmalang decode FILE | grep`` (checked against GNU grep where it is installed)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sigmalang
from sigmalang.cli import main

LINES = [
    b"%05d %s node-%d %s" % (i, [b"INFO", b"WARN", b"ERROR"][i % 7 % 3], i % 5, b"disk" if i % 11 else b"Disk full")
    for i in range(3000)
]
TEXT = b"\n".join(LINES) + b"\n" + b"last line without newline ERROR"


@pytest.fixture(scope="module")
def encoded() -> tuple[bytes, bytes]:
    """Encoded once for the module; each test gets its own files."""
    a = sigmalang.compress(TEXT, 1, chunk_size=4096, filters=True)
    b = sigmalang.compress(TEXT[:5000], 1, chunk_size=4096) + sigmalang.compress(TEXT[5000:], 0)
    return a, b


@pytest.fixture
def streams(tmp_path: Path, encoded: tuple[bytes, bytes]) -> tuple[Path, Path]:
    a, b = tmp_path / "a.sgl", tmp_path / "b.sgl"
    a.write_bytes(encoded[0])
    b.write_bytes(encoded[1])
    return a, b


def grep(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    code = main(["grep", *args])
    out, err = capsysbinary.readouterr()
    return code, out, err


def test_exit_codes(streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    a, _ = streams
    assert grep(capsysbinary, "Disk full", str(a))[0] == 0
    assert grep(capsysbinary, "no such words", str(a))[0] == 1
    code, out, err = grep(capsysbinary, "(", str(a))
    assert code == 2 and out == b"" and b"bad pattern" in err
    code, _, err = grep(capsysbinary, "Disk", str(a), str(a.parent / "missing.sgl"))
    assert code == 2 and err.count(b"\n") == 1
    assert grep(capsysbinary, "-q", "Disk", str(a))[:2] == (0, b"")
    assert grep(capsysbinary)[0] == 2


def test_output_habits(streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    a, b = streams
    lines = TEXT.split(b"\n")
    full = [n for n, line in enumerate(lines, 1) if b"Disk full" in line]
    code, out, _ = grep(capsysbinary, "-n", "Disk full", str(a))
    assert out == b"".join(b"%d:%s\n" % (n, lines[n - 1]) for n in full)
    assert grep(capsysbinary, "-c", "Disk full", str(a), str(b))[1] == b"%s:%d\n%s:%d\n" % (
        str(a).encode(),
        len(full),
        str(b).encode(),
        len(full),
    )
    assert grep(capsysbinary, "-l", "-i", "disk FULL", str(a), str(b))[1] == b"%s\n%s\n" % (
        str(a).encode(),
        str(b).encode(),
    )
    assert (
        grep(capsysbinary, "-m", "2", "-h", "Disk full", str(a), str(b))[1]
        == b"".join(lines[n - 1] + b"\n" for n in full[:2]) * 2
    )
    code, out, _ = grep(capsysbinary, "-c", "-v", "-e", "INFO", "-e", "WARN", str(a))
    assert int(out) == sum(1 for line in lines if b"INFO" not in line and b"WARN" not in line)
    assert grep(capsysbinary, "-n", "without newline", str(b))[1] == b"%d:%s\n" % (len(lines), lines[-1])
    assert grep(capsysbinary, "--range", "0:12", "-c", "INFO", str(a))[1] == b"1\n"


def test_verbose_says_how_many_frames_were_decoded(
    streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    a, _ = streams
    _, _, err = grep(capsysbinary, "--verbose", "-c", "node-4 Disk full", str(a))
    assert b"decoded" in err and b"filters tested" in err
    _, _, err = grep(capsysbinary, "--verbose", "-c", "a.c", str(a))
    assert b"every frame scanned" in err and b"no literal" in err


@pytest.mark.slow  # process pools
def test_workers_give_the_same_output(streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    a, b = streams
    one = grep(capsysbinary, "-n", "ERROR node-3", str(a), str(b))
    assert grep(capsysbinary, "-T", "2", "-n", "ERROR node-3", str(a), str(b)) == one


def test_encode_writes_filters_unless_told_not_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "x.log"
    src.write_bytes(TEXT)
    assert main(["-q", "-1", "--chunk-size", "4KiB", str(src)]) == 0
    assert main(["-q", "-1", "--chunk-size", "4KiB", "--no-filter", "-o", str(tmp_path / "plain.sgl"), str(src)]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "x.log.sgl"), str(tmp_path / "plain.sgl")]) == 0
    captured = capsys.readouterr()
    filtered, plain = (captured.out + captured.err).splitlines()
    assert "search filters" in filtered and "no search filters" in plain
    assert (tmp_path / "plain.sgl").stat().st_size < (tmp_path / "x.log.sgl").stat().st_size


@pytest.mark.skipif(shutil.which("grep") is None, reason="needs grep")
@pytest.mark.parametrize(
    "args",
    [
        ["-n", "Disk"],
        ["-c", "-i", "disk full"],
        ["-v", "-n", "INFO|WARN"],
        ["-F", "-n", "node-3 ERROR"],
        ["-n", "^0+1"],
        ["-c", "-e", "WARN", "-e", "full$"],
        ["-m", "5", "-n", "ERROR"],
    ],
)
def test_same_output_as_decode_then_grep(
    streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes], args: list[str]
) -> None:
    a, _ = streams
    mine = grep(capsysbinary, *args, str(a))
    gnu_args = ["-E", *args] if "-F" not in args else args
    gnu = subprocess.run(["grep", *gnu_args], input=TEXT, capture_output=True, env={"LC_ALL": "C"}, check=False)
    assert (mine[0], mine[1]) == (gnu.returncode, gnu.stdout)


class BarRecorder:
    """Stands in for the terminal's progress bar: what it was sized to, and what it was told."""

    def __init__(self) -> None:
        self.bars: list[list[int | None]] = []

    def __call__(self, source: str, total: int | None) -> BarRecorder:
        self.bars.append([total, 0])
        return self

    def __enter__(self) -> BarRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def done(self, n: int) -> None:
        self.bars[-1][1] += n  # type: ignore[operator]


def test_progress_covers_the_frames_skipped_as_well_as_those_decoded(
    streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sigmalang import _cli_grep

    a, _ = streams
    bar = BarRecorder()
    monkeypatch.setattr(_cli_grep, "terminal_bar", bar)
    code, _, err = grep(capsysbinary, "--verbose", "without newline", str(a))
    decoded, frames = map(int, re.search(rb"decoded (\d+) of (\d+) frames", err).groups())  # type: ignore[union-attr]
    assert code == 0 and decoded < frames  # the filters ruled frames out
    assert bar.bars == [[len(TEXT), len(TEXT)]]  # and the bar went over them all the same
    assert grep(capsysbinary, "--range", "100:5000", "node-1", str(a))[0] == 0
    assert bar.bars[-1] == [4900, 4900]
    assert grep(capsysbinary, "-q", "node-1", str(a))[0] == 0
    assert len(bar.bars) == 2  # -q: nothing on the terminal, no bar either
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    grep(capsysbinary, "node-1", str(a))
    assert len(bar.bars) == 2  # the lines go to the terminal: a bar would be drawn between them


def test_verbose_counts_are_written_as_words(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    one = tmp_path / "one.sgl"
    one.write_bytes(sigmalang.compress(b"a single frame\n", 1, filters=True))
    err = grep(capsysbinary, "--verbose", "single", str(one))[2]
    assert b"decoded 1 of 1 frame;" in err  # not "1 frames"


def test_one_worker_decodes_in_a_thread_of_its_own(
    streams: tuple[Path, Path], capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that the main thread acts on Ctrl-C at once, not after the frame being decoded."""
    import threading

    from sigmalang import _search

    where: list[str] = []
    decode_job = _search.decode_job

    def recording(*args: object, **kwargs: object) -> bytes:
        where.append(threading.current_thread().name)
        return decode_job(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_search, "decode_job", recording)
    a, _ = streams
    code, out, _ = grep(capsysbinary, "-c", "node-1", str(a))
    assert code == 0 and int(out) == sum(b"node-1" in line for line in LINES)
    assert len(where) > 1 and all(name.startswith("sigmalang-coder") for name in where)


@pytest.mark.parametrize("files", [[], ["-"]])
def test_compressed_data_is_not_read_from_a_terminal(
    files: list[str], monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """As decode does: a stream is never read from a terminal (it would wait there for one)."""
    stdin = io.TextIOWrapper(io.BytesIO(sigmalang.compress(TEXT)))
    monkeypatch.setattr(stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys, "stdin", stdin)
    code, out, err = grep(capsysbinary, "Disk", *files)
    assert (code, out) == (2, b"")
    assert b"refusing to read compressed data from a terminal" in err
    monkeypatch.setattr(stdin, "isatty", lambda: False)  # the same stream from a pipe is searched
    assert grep(capsysbinary, "-c", "Disk full", *files)[:2] == (0, b"%d\n" % TEXT.count(b"Disk full"))
