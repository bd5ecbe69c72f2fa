"""The command on a terminal (a pseudo-terminal here): the progress bar on encode and decode, in
one unit system and cleared on Ctrl-C, and a clean exit 130 on Ctrl-C while reading the terminal."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import sigmalang
from conftest import SAMPLES
from sigmalang._cli_progress import PROGRESS_MIN_BYTES, Meter, make_bar

pytestmark = pytest.mark.skipif(not hasattr(pty, "fork"), reason="POSIX pseudo-terminals")

WAIT = 60.0
BAR = re.compile(r"\d+%\|")


class Terminal:
    """``python -m sigmalang ARGS`` with a pseudo-terminal (100 columns) as its standard streams
    (standard input: the file *stdin*, when given)."""

    def __init__(self, *args: str, cwd: Path, stdin: Path | None = None):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its terminal is the pty, and Ctrl-C there signals it
            try:
                os.chdir(cwd)
                if stdin is not None:
                    os.dup2(os.open(stdin, os.O_RDONLY), 0)
                os.execv(sys.executable, [sys.executable, "-m", "sigmalang", *args])
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.output = b""
        self.code: int | None = None

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 1 << 16)
                except OSError:  # the child has gone and closed its side
                    return
                if not data:
                    return
                self.output += data

    def wait_for(self, pattern: re.Pattern[str]) -> None:
        deadline = time.monotonic() + WAIT
        while not pattern.search(self.text()):
            assert time.monotonic() < deadline, self.text()
            self.read(0.1)

    def ctrl_c(self) -> None:
        os.write(self.fd, b"\x03")  # the terminal turns it into SIGINT for the foreground group

    def finish(self) -> int:
        self.read(WAIT)
        deadline = time.monotonic() + WAIT
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        while pid == 0:  # still running: a hang fails the test instead of the whole run
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the command did not exit: {self.text()!r}")
            time.sleep(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        os.close(self.fd)
        self.code = os.waitstatus_to_exitcode(status)
        return self.code

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def screen(self) -> list[str]:
        """The lines left on the screen: each carriage return goes back to the start of its line."""
        lines: list[str] = []
        for raw in self.text().split("\n"):
            line: list[str] = []
            col = 0
            for ch in raw:
                if ch == "\r":
                    col = 0
                    continue
                if col < len(line):
                    line[col] = ch
                else:
                    line.append(ch)
                col += 1
            if "".join(line).strip():
                lines.append("".join(line).rstrip())
        return lines

    def kill(self) -> None:
        if self.code is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            os.waitpid(self.pid, 0)
            os.close(self.fd)


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for term in started:
        term.kill()


@pytest.fixture(scope="module")
def big_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A little more original bytes than the bar's threshold."""
    text = (SAMPLES / "dickens-sample.txt").read_bytes() + (SAMPLES / "loghub-sample.log").read_bytes()
    path = tmp_path_factory.mktemp("term") / "big.txt"
    with path.open("wb") as out:
        n = 0
        while out.tell() < PROGRESS_MIN_BYTES + (1 << 20):
            out.write(b"copy %d\n" % n + text)
            n += 1
    return path


def start(terminals: list[Terminal], *args: str, cwd: Path, stdin: Path | None = None) -> Terminal:
    term = Terminal(*args, cwd=cwd, stdin=stdin)
    terminals.append(term)
    return term


def blocked_reading(term: Terminal) -> None:
    """Until the command waits on its input (its reader thread has started), then a little more."""
    proc = psutil.Process(term.pid)
    deadline = time.monotonic() + WAIT
    while proc.num_threads() < 2:
        assert proc.status() != psutil.STATUS_ZOMBIE, term.text()
        assert time.monotonic() < deadline, "the command never started reading"
        time.sleep(0.05)
    time.sleep(1.0)  # the reader thread starts after the writer's: give it time on a loaded machine


def check_bar(term: Terminal) -> None:
    bars = [line for line in term.text().replace("\r", "\n").splitlines() if BAR.search(line)]
    assert bars, term.text()
    for line in bars:  # one unit system: bytes with decimal prefixes, for the counts and the rate
        assert re.search(r"\| [\d.]+[kMG]?B/[\d.]+[kMG]?B \[", line), line
        assert re.search(r"(\?|[\d.]+[kMG]?)B/s\]", line), line
    assert not any(BAR.search(line) for line in term.screen()), term.screen()  # cleared at the end


def test_progress_bar_on_encode_and_decode(big_text, tmp_path, terminals):
    term = start(terminals, "encode", "--level", "1", "-o", str(tmp_path / "big.sgl"), str(big_text), cwd=tmp_path)
    assert term.finish() == 0, term.text()
    check_bar(term)
    assert os.path.getsize(tmp_path / "big.sgl") < PROGRESS_MIN_BYTES  # the bar follows the original size
    term = start(terminals, "decode", "-o", str(tmp_path / "back.txt"), str(tmp_path / "big.sgl"), cwd=tmp_path)
    assert term.finish() == 0, term.text()
    check_bar(term)
    assert (tmp_path / "back.txt").read_bytes() == big_text.read_bytes()


def test_no_bar_when_standard_error_is_not_a_terminal(big_text, tmp_path, capsys):
    """A long run with standard error in a file or a pipe prints its result line and nothing else."""
    from sigmalang.cli import main

    out = tmp_path / "big.sgl"
    assert main(["-0", "-o", str(out), str(big_text)]) == 0
    assert main(["-d", "-o", str(tmp_path / "back.txt"), str(out)]) == 0
    assert main(["-t", str(out)]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and not any(BAR.search(line) or "\r" in line for line in lines), lines


@pytest.mark.parametrize("shared", [[], ["--shared-context"]])
def test_ctrl_c_clears_the_bar(shared, big_text, tmp_path, terminals):
    """Level 9 codes the whole input as one chunk, for many seconds: Ctrl-C does not wait for it
    (nor with frames that share context, which are coded one after the other)."""
    out = ["-o", str(tmp_path / "big.sgl")]
    term = start(terminals, "encode", "--level", "9", *shared, *out, str(big_text), cwd=tmp_path)
    term.wait_for(BAR)
    term.ctrl_c()
    pressed = time.monotonic()
    assert term.finish() == 130, term.text()
    assert time.monotonic() - pressed < 5.0
    assert term.screen()[-1].replace("^C", "").strip() == "sigmalang: interrupted", term.screen()  # ^C: the echo
    assert not any(BAR.search(line) for line in term.screen()), term.screen()
    assert os.listdir(tmp_path) == []


def test_standard_input_shows_a_counter_without_a_total(big_text, tmp_path, terminals):
    """Its size unknown, standard input gets a counter (bytes and rate, as zstd shows), cleared on Ctrl-C."""
    out = tmp_path / "out"
    out.mkdir()
    term = start(terminals, "--level", "9", "-o", "big.sgl", cwd=out, stdin=big_text)
    term.wait_for(re.compile(r"stdin: [\d.]+[kMG]?B, [\d.]+MB read \["))
    term.ctrl_c()
    assert term.finish() == 130, term.text()
    assert term.screen()[-1].replace("^C", "").strip() == "sigmalang: interrupted", term.screen()
    assert os.listdir(out) == []


@pytest.mark.parametrize(
    "args",
    [
        ["-o", "out.sgl"],
        pytest.param(["encode", "-o", "out.sgl"], marks=pytest.mark.slow),  # the same encode as the first
        ["decode", "-f", "-o", "out.txt"],
    ],
)
def test_ctrl_c_while_reading_the_terminal_exits_130(args, tmp_path, terminals):
    term = start(terminals, *args, cwd=tmp_path)
    blocked_reading(term)
    term.ctrl_c()
    assert term.finish() == 130, term.text()
    text = term.text()
    assert "Fatal Python error" not in text and "Traceback" not in text, text
    assert term.screen()[-1].replace("^C", "").strip() == "sigmalang: interrupted", term.screen()
    assert os.listdir(tmp_path) == []


def test_compressed_data_from_the_terminal_is_refused(tmp_path, terminals):
    term = start(terminals, "-d", cwd=tmp_path)
    assert term.finish() == 2
    assert "refusing to read compressed data from a terminal" in term.text()


# -- the meter: the bar moves between completions ------------------------------------------------


class FakeBar:
    def __init__(self, total: int):
        self.total = total
        self.n = 0
        self.refreshed = 0
        self.closed = 0

    def update(self, n: int) -> None:
        self.n += n

    def refresh(self) -> None:
        self.refreshed += 1

    def close(self) -> None:
        self.closed += 1


def test_meter_moves_between_completions_at_the_measured_rate():
    now = [0.0]
    bar = FakeBar(1000)
    meter = Meter(bar, clock=lambda: now[0])
    meter.read(400)  # four chunks of 100 handed to the workers
    meter.tick()
    assert bar.n == 0 and bar.refreshed == 1  # nothing done yet: the elapsed time still moves
    now[0] = 2.0
    meter.done(100)  # 50 bytes a second so far
    assert bar.n == 100
    now[0] = 3.0
    meter.tick()
    assert bar.n == 150  # between completions, at the rate measured
    now[0] = 20.0
    meter.tick()
    assert bar.n == 400  # never past what the workers were given
    meter.done(100)  # the second chunk is done: what is shown does not go back
    assert bar.n == 400
    meter.read(600)
    now[0] = 100.0
    meter.tick()
    assert bar.n == 1000  # never past the total


def test_a_closed_meter_draws_nothing_more():
    """After Ctrl-C the coder thread is not waited for: a chunk it reports after the bar was
    cleared must not draw the bar again."""
    bar = FakeBar(1000)
    meter = Meter(bar, clock=lambda: 0.0)
    meter.done(100)
    meter.close()
    assert bar.closed == 1
    meter.done(100)
    meter.tick()
    assert (bar.n, bar.refreshed, bar.closed) == (100, 0, 1)


def test_meter_shows_what_was_read_before_anything_is_done():
    """With many workers nothing is done for the first chunks' whole coding time: what was read moves."""
    bar = FakeBar(1000)
    meter = Meter(bar, clock=lambda: 0.0)
    meter.read(400)
    meter.tick()
    assert (bar.n, bar.read) == (0, 400)


def test_the_bar_shades_what_was_read_and_not_yet_coded():
    out = io.StringIO()  # not a terminal: 10 cells, in ASCII
    bar = make_bar("big.log", 1000, out)
    meter = Meter(bar, clock=lambda: 0.0)
    meter.read(500)
    meter.tick()
    assert out.getvalue().rsplit("\r", 1)[-1].startswith("big.log:   0%|.....     | 0.00B/1.00kB")
    meter.done(200)
    meter.tick()
    assert out.getvalue().rsplit("\r", 1)[-1].startswith("big.log:  20%|##...     | 200B/1.00kB")
    bar.close()


class _Interrupt:
    """A callable that raises KeyboardInterrupt, as a Ctrl-C at that moment would."""

    def __init__(self, then: Any = None):
        self.then = then

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.then is not None:
            self.then(*args, **kwargs)
        raise KeyboardInterrupt


@pytest.mark.parametrize("moment", ["bar made", "ticker started"])
def test_ctrl_c_as_the_bar_starts_leaves_no_line(moment, monkeypatch):
    """The bar is drawn only once its clean-up is sure to run: a Ctrl-C just after it is made, or
    while its ticker starts, leaves nothing on the screen."""
    from sigmalang import _cli_progress

    out = io.StringIO()
    monkeypatch.setattr(_cli_progress, "_isatty", lambda stream: True)
    monkeypatch.setattr(sys, "stderr", out)
    if moment == "bar made":
        monkeypatch.setattr(_cli_progress, "make_bar", _Interrupt(make_bar))
    else:
        monkeypatch.setattr(_cli_progress.threading.Thread, "start", _Interrupt())
    with pytest.raises(KeyboardInterrupt), _cli_progress.terminal_bar("big.log", 10**9):
        raise AssertionError("the bar's set-up was interrupted: the body never runs")
    drawn = out.getvalue()
    assert drawn.rsplit("\r", 1)[-1].strip() == "", repr(drawn)
    assert ("big.log" in drawn) == (moment == "ticker started")  # drawn, then cleared


def test_a_counter_appears_only_past_the_threshold():
    out = io.StringIO()
    counter = make_bar("-", None, out)
    meter = Meter(counter, clock=lambda: 0.0)
    meter.done(PROGRESS_MIN_BYTES - 1)
    meter.tick()
    assert out.getvalue() == ""  # a short run shows nothing, as a short file does
    meter.done(1)
    meter.tick()
    assert out.getvalue().rsplit("\r", 1)[-1].startswith("stdin: 8.39MB [")
    counter.close()


def test_meter_without_reads_stops_at_the_total():
    now = [0.0]
    bar = FakeBar(300)
    meter = Meter(bar, clock=lambda: now[0])
    now[0] = 1.0
    meter.done(100)
    now[0] = 50.0
    meter.tick()
    assert bar.n == 300


@pytest.mark.slow  # process pools
def test_encode_progress_is_in_original_bytes_with_workers(big_text, tmp_path, monkeypatch):
    """With workers, the bar hears of every chunk done and every byte read, in original bytes."""
    from sigmalang import _cli_files
    from sigmalang._cli_files import Options

    class Recorder:
        def __init__(self) -> None:
            self.read_bytes = 0
            self.done_bytes = 0

        def read(self, n: int) -> None:
            self.read_bytes += n

        def done(self, n: int) -> None:
            self.done_bytes += n

    recorder = Recorder()

    class Bar:
        def __init__(self, *args: object) -> None:
            pass

        def __enter__(self) -> Recorder:
            return recorder

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(_cli_files, "progress_bar", Bar)
    opts = Options(command="encode", files=[str(big_text)], workers=2, level=1, chunk_size=1 << 20)
    opts.output = str(tmp_path / "out.sgl")
    _cli_files.codec_file(opts.check(), str(big_text), print)
    size = big_text.stat().st_size
    assert recorder.read_bytes == recorder.done_bytes == size
    assert sigmalang.decompress((tmp_path / "out.sgl").read_bytes()) == big_text.read_bytes()


@pytest.mark.slow  # process pools
@pytest.mark.parametrize("command", ["decode", "verify", "recover"])
def test_progress_of_a_stream_is_sized_and_counted_in_original_bytes(command, tmp_path, monkeypatch):
    """Reading a stream, the bar's total is the original size from the index (not the stream's size)
    and it counts every original byte, with workers too."""
    from sigmalang import _cli_files
    from sigmalang.cli import main

    data = (SAMPLES / "loghub-sample.log").read_bytes()
    sgl = tmp_path / "log.sgl"
    sgl.write_bytes(sigmalang.compress(data, level=1, chunk_size=64 << 10))
    seen: list[tuple[int | None, int]] = []

    class Bar:
        def __init__(self, opts: object, source: str, total: int | None) -> None:
            self.total, self.done_bytes = total, 0

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *exc: object) -> None:
            seen.append((self.total, self.done_bytes))

        def read(self, n: int) -> None:
            pass

        def done(self, n: int) -> None:
            self.done_bytes += n

    monkeypatch.setattr(_cli_files, "progress_bar", Bar)
    out = ["-o", str(tmp_path / "out")] if command != "verify" else []
    assert main([command, "-q", "-T", "2", *out, str(sgl)]) == 0
    assert seen == [(len(data), len(data))]
