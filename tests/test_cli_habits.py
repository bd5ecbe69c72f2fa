"""The command line a zstd or xz user expects: the habits (-d, -t, -l, -c, -k, -f, -#, -o,
--output-dir, -r, stdin/stdout, several files), the program names, and what must never happen
to a pipe (JSON in the data) or to a file (a slice under the full decode's name)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import sigmalang
from sigmalang import cli
from sigmalang.cli import main

ROOT = Path(__file__).resolve().parent.parent
TEXT = b"".join(b"%06d habits of the zstd and xz command lines\n" % i for i in range(3000))


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(TEXT)
    return path


@pytest.fixture(scope="module")
def sgl_bytes() -> bytes:
    return sigmalang.compress(TEXT)  # encoded once for the module; each test gets its own file


@pytest.fixture
def sgl_file(tmp_path: Path, sgl_bytes: bytes) -> Path:
    path = tmp_path / "notes.txt.sgl"
    path.write_bytes(sgl_bytes)
    return path


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def run_cli(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sigmalang", *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def use_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes, tty: bool = False) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(data))
    monkeypatch.setattr(stdin, "isatty", lambda: tty)
    monkeypatch.setattr(sys, "stdin", stdin)


# -- --json never shares a stream with data -------------------------------------------------------


def test_json_with_encoded_data_on_stdout_goes_to_stderr(text_file, capsysbinary):
    assert main(["encode", "--json", "-c", str(text_file)]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == sigmalang.compress(TEXT, filters=True)  # nothing but the stream
    result = json.loads(captured.err)
    assert result["input"] == str(text_file) and result["output"] == "-"


def test_json_with_decoded_data_on_stdout_goes_to_stderr(sgl_file, capsysbinary):
    assert main(["decode", "--json", "-c", str(sgl_file)]) == 0
    captured = capsysbinary.readouterr()
    assert captured.out == TEXT
    assert json.loads(captured.err)["bytes_out"] == len(TEXT)


# Two processes: test_json_with_encoded_data_on_stdout_goes_to_stderr checks the same output in this one.
@pytest.mark.slow
def test_json_in_a_pipe_leaves_the_stream_intact(tmp_path):
    proc = run_cli("encode", "--json", stdin=TEXT)  # cat f | sigmalang encode --json > f.sgl
    assert proc.returncode == 0
    assert proc.stdout == sigmalang.compress(TEXT, filters=True)
    assert json.loads(proc.stderr)["bytes_in"] == len(TEXT)
    sgl = tmp_path / "k.sgl"
    sgl.write_bytes(proc.stdout)
    assert run_cli("verify", str(sgl)).returncode == 0


def test_json_without_data_on_stdout_stays_on_stdout(text_file, capsys):
    assert main(["encode", "--json", str(text_file)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["output"] == str(text_file) + ".sgl" and captured.err == ""


def test_json_is_one_object_per_input_line_and_says_nothing_about_glyphs(tmp_path, capsys):
    names = []
    for i in range(2):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(TEXT[: 5000 * (i + 1)])
        names.append(str(path))
    assert main(["encode", "--json", names[0]]) == 0
    one = capsys.readouterr().out.splitlines()
    assert len(one) == 1 and isinstance(json.loads(one[0]), dict)
    assert main(["encode", "--json", "-f", *names]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["input"] for r in lines] == names
    assert all("glyphs" not in r for r in lines + [json.loads(one[0])])


def reader_goes_away(*args: str) -> subprocess.CompletedProcess[bytes]:
    """The command with its standard output read a little, then closed (as ``| head -c 10`` does)."""
    cmd = [sys.executable, "-m", "sigmalang", *args]
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read()
        return subprocess.CompletedProcess(cmd, proc.wait(timeout=120), b"", err)


@pytest.mark.parametrize("args", [["-dc"], ["-0", "-c", "-f"], ["grep", "-n", "habits"]])
def test_a_reader_that_goes_away_ends_the_run_quietly_and_not_with_success(args, sgl_file, text_file):
    """More than a pipe holds (64 KiB) in one write: the reader leaves in the middle of it."""
    assert len(TEXT) > 1 << 17
    proc = reader_goes_away(*args, str(text_file if "-f" in args else sgl_file))
    assert (proc.returncode, proc.stderr) == (141, b"")  # as zstd, ended by SIGPIPE; no traceback


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIONREAD on a pipe")
def test_ctrl_c_while_the_output_pipe_is_full_exits_130(tmp_path):
    """The reader of standard output has stopped reading (not gone): the write waits, Ctrl-C ends the run."""
    import fcntl
    import signal
    import termios
    import time

    src = tmp_path / "big.txt"
    src.write_bytes(TEXT * 14)  # 2 MiB: far more than the pipe and the writer's queue hold
    cmd = [sys.executable, "-m", "sigmalang", "-0", "--chunk-size", "64KiB", "-c", str(src)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None

        def waiting() -> int:  # the bytes in the pipe, unread
            return int.from_bytes(fcntl.ioctl(proc.stdout.fileno(), termios.FIONREAD, b"\0" * 4), "little")

        deadline, held = time.monotonic() + 60, -1
        while not 0 < held == waiting():  # until the pipe holds what it can: the write waits
            assert time.monotonic() < deadline and proc.poll() is None
            held = waiting()
            time.sleep(0.5)  # and the writer's queue fills behind it
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("the command did not end on Ctrl-C") from None
        assert (code, proc.stderr.read()) == (130, b"sigmalang: interrupted\n")


# -- the ratio is original over compressed ---------------------------------------------------------


def test_printed_ratio_is_below_one_when_the_output_is_larger(tmp_path, capsysbinary):
    src = tmp_path / "random.bin"
    src.write_bytes(os.urandom(20_000))
    assert main(["encode", "-0", str(src)]) == 0
    line = capsysbinary.readouterr().err.decode()
    encoded = (tmp_path / "random.bin.sgl").stat().st_size
    assert encoded > 20_000
    assert f"(ratio {20_000 / encoded:.3f})" in line
    assert main(["decode", "--json", "-c", str(tmp_path / "random.bin.sgl")]) == 0
    assert json.loads(capsysbinary.readouterr().err)["ratio"] == round(20_000 / encoded, 4)


# -- terminals -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["decode"], ["-d"], ["-t"], ["verify"], ["info"], ["-l"], ["decode", "-c"]])
def test_compressed_data_is_not_read_from_a_terminal(args, monkeypatch, capsysbinary, sgl_bytes):
    use_stdin(monkeypatch, sgl_bytes, tty=True)
    assert main(args) == 2
    captured = capsysbinary.readouterr()
    assert captured.out == b""
    assert b"refusing to read compressed data from a terminal" in captured.err


def test_force_reads_compressed_data_from_a_terminal(monkeypatch, capsysbinary, sgl_bytes):
    use_stdin(monkeypatch, sgl_bytes, tty=True)
    assert main(["-d", "-f"]) == 0
    assert capsysbinary.readouterr().out == TEXT


def test_compressed_data_is_not_written_to_a_terminal(monkeypatch, capsysbinary):
    use_stdin(monkeypatch, TEXT)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main([]) == 2
    captured = capsysbinary.readouterr()
    assert captured.out == b"" and b"refusing to write compressed data to a terminal" in captured.err


# -- zstd habits -----------------------------------------------------------------------------------


def test_default_is_encode_and_d_decodes_keeping_the_input(text_file):
    assert main(["-q", str(text_file)]) == 0
    sgl = text_file.with_name("notes.txt.sgl")
    assert sigmalang.decompress(sgl.read_bytes()) == TEXT and text_file.exists()
    text_file.unlink()
    assert main(["-d", "-q", str(sgl)]) == 0
    assert text_file.read_bytes() == TEXT and sgl.exists()


def test_decompress_long_options_and_combined_flags(sgl_file, capsysbinary):
    assert main(["--decompress", "--stdout", str(sgl_file)]) == 0
    assert capsysbinary.readouterr().out == TEXT
    assert main(["-dc", str(sgl_file)]) == 0
    assert capsysbinary.readouterr().out == TEXT


def test_t_verifies(sgl_file, sgl_bytes, tmp_path, capsys):
    assert main(["-t", str(sgl_file)]) == 0
    assert "OK (1 frame," in capsys.readouterr().err  # one frame, singular
    bad = tmp_path / "bad.sgl"
    bad.write_bytes(sgl_bytes[:-9])
    assert main(["--test", str(bad)]) == 1


def test_t_and_l_go_with_d_as_they_do_in_gzip_and_xz(sgl_file, monkeypatch, capsys):
    """``-dt``, ``-d -l`` and ``unsigmalang -t`` (as ``gunzip -t``, ``unxz -t``) test or list, writing nothing."""
    sgl_file.with_name("notes.txt").unlink(missing_ok=True)
    assert main(["-dt", str(sgl_file)]) == 0
    assert main(["-t", "-d", str(sgl_file)]) == 0
    assert "OK (1 frame," in capsys.readouterr().err
    assert main(["-d", "-l", str(sgl_file)]) == 0
    assert f"{len(TEXT):,} →" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["unsigmalang", "-t", str(sgl_file)])
    with pytest.raises(SystemExit) as info:
        cli.run_decode()
    assert info.value.code == 0 and "OK (1 frame," in capsys.readouterr().err
    assert listing(sgl_file.parent) == ["notes.txt.sgl"]
    with pytest.raises(SystemExit) as info:  # two read-only operations: which one is meant is unclear
        main(["-t", "-l", str(sgl_file)])
    assert info.value.code == 2


def test_l_lists(sgl_file, capsys):
    assert main(["-l", str(sgl_file)]) == 0
    out = capsys.readouterr().out
    assert "1 frame," in out and f"{len(TEXT):,} →" in out
    assert main(["--list", "--json", str(sgl_file)]) == 0
    assert json.loads(capsys.readouterr().out)["streams"][0]["original_size"] == len(TEXT)


def test_force_overwrites_and_nothing_is_overwritten_without_it(text_file, capsys):
    sgl = text_file.with_name("notes.txt.sgl")
    sgl.write_bytes(b"precious")
    assert main(["-9", str(text_file)]) == 1
    assert sgl.read_bytes() == b"precious"
    assert main(["-9", "-f", "-q", str(text_file)]) == 0
    assert sgl.read_bytes() == sigmalang.compress(TEXT, level=9, filters=True)


def test_rm_removes_the_input_keep_keeps_it(text_file):
    assert main(["-q", "-k", str(text_file)]) == 0
    assert text_file.exists()
    assert main(["-q", "-f", "--rm", str(text_file)]) == 0
    assert not text_file.exists()


def test_o_names_the_output(text_file, tmp_path):
    out = tmp_path / "named.bin"
    assert main(["-q", "-o", str(out), str(text_file)]) == 0
    assert main(["-q", "-d", "-o", str(tmp_path / "back"), str(out)]) == 0
    assert (tmp_path / "back").read_bytes() == TEXT


def test_stdin_to_stdout(monkeypatch, capsysbinary):
    use_stdin(monkeypatch, TEXT)
    assert main(["-3"]) == 0
    blob = capsysbinary.readouterr().out
    assert blob == sigmalang.compress(TEXT, level=3, filters=True)
    use_stdin(monkeypatch, blob)
    assert main(["-d"]) == 0
    assert capsysbinary.readouterr().out == TEXT


def test_several_files_each_to_its_own_output(tmp_path):
    names = [tmp_path / f"{n}.log" for n in "abc"]
    for n, path in enumerate(names):
        path.write_bytes(TEXT[: 1000 * (n + 1)])
    assert main(["-q", *map(str, names)]) == 0
    for path in names:
        path.unlink()
    assert main(["-d", "-q", *[str(p) + ".sgl" for p in names]]) == 0
    assert [p.read_bytes() for p in names] == [TEXT[: 1000 * (n + 1)] for n in range(3)]


def test_output_dir(tmp_path, text_file):
    other = tmp_path / "sub" / "other.txt"
    other.parent.mkdir()
    other.write_bytes(b"other\n")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["-q", "--output-dir", str(out), str(text_file), str(other)]) == 0
    assert listing(out) == ["notes.txt.sgl", "other.txt.sgl"]
    back = tmp_path / "back"
    back.mkdir()
    assert main(["-d", "-q", "--output-dir", str(back), *[str(p) for p in out.iterdir()]]) == 0
    assert (back / "notes.txt").read_bytes() == TEXT and (back / "other.txt").read_bytes() == b"other\n"


def test_output_dir_needs_named_inputs(tmp_path, capsys):
    assert main(["--output-dir", str(tmp_path)]) == 2
    assert "--output-dir needs input files" in capsys.readouterr().err
    assert listing(tmp_path) == []


def test_output_dir_that_does_not_exist_is_one_clear_line(tmp_path, text_file, capsys):
    assert main(["--output-dir", str(tmp_path / "nowhere"), str(text_file)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "no such output directory" in line and "nowhere" in line and ".tmp" not in line
    assert main(["-o", str(tmp_path / "nowhere" / "x.sgl"), str(text_file)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "no such output directory" in line and ".tmp" not in line
    assert listing(tmp_path) == ["notes.txt"]


def test_recursive(tmp_path):
    top = tmp_path / "tree"
    (top / "a" / "b").mkdir(parents=True)
    files = {top / "one.txt": b"one\n", top / "a" / "two.txt": b"two\n", top / "a" / "b" / "three.log": b"3\n"}
    for path, data in files.items():
        path.write_bytes(data)
    (top / "a" / "old.sgl").write_bytes(sigmalang.compress(b"old\n"))
    assert main(["-q", "-r", str(top)]) == 0
    for path in files:
        assert sigmalang.decompress(Path(str(path) + ".sgl").read_bytes()) == files[path]
    assert not (top / "a" / "old.sgl.sgl").exists()  # streams are not encoded again
    for path in files:
        path.unlink()
    assert main(["-d", "-q", "-r", str(top)]) == 0
    assert all(path.read_bytes() == data for path, data in files.items())
    assert (top / "a" / "old").read_bytes() == b"old\n"


@pytest.mark.parametrize("flags", [[], ["-f", "--rm"]])
def test_two_inputs_of_the_same_name_never_share_an_output(flags, tmp_path, capsys):
    """--output-dir keeps the file name only: the second of two inputs named alike is an error, even
    with -f, and not written over the first's output (with --rm the first input would be gone)."""
    top, out = tmp_path / "logs", tmp_path / "packed"
    (top / "a").mkdir(parents=True)
    (top / "b").mkdir()
    out.mkdir()
    (top / "a" / "x.log").write_bytes(b"one\n")
    (top / "b" / "x.log").write_bytes(b"two\n")
    assert main(["-q", "-r", *flags, "--output-dir", str(out), str(top)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert str(top / "b" / "x.log") in line and str(top / "a" / "x.log") in line
    assert sigmalang.decompress((out / "x.log.sgl").read_bytes()) == b"one\n"
    assert (top / "b" / "x.log").read_bytes() == b"two\n"
    assert (top / "a" / "x.log").exists() == (not flags)


def test_a_directory_without_r_is_one_error(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    assert main([str(tmp_path / "d")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "Is a directory" in line and "-r" in line


def test_sgl_inputs_are_skipped_on_encode_with_a_warning(sgl_file, text_file, capsys):
    assert main([str(sgl_file)]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    assert "already has the .sgl suffix" in line and "-f" in line
    assert not Path(str(sgl_file) + ".sgl").exists()
    assert main(["-f", "-q", str(sgl_file)]) == 0  # -f: encoded all the same
    assert sigmalang.decompress(Path(str(sgl_file) + ".sgl").read_bytes()) == sgl_file.read_bytes()


# -- decode --range --------------------------------------------------------------------------------


def test_range_without_c_writes_to_stdout_not_a_file(sgl_file, tmp_path, capsysbinary):
    before = listing(tmp_path)
    assert main(["decode", "--range", "0:10", str(sgl_file)]) == 0
    assert capsysbinary.readouterr().out == TEXT[:10]
    assert listing(tmp_path) == before  # no 10-byte file under the full decode's name
    out = tmp_path / "slice"
    assert main(["-d", "--range", "7:", "-o", str(out), str(sgl_file)]) == 0
    assert out.read_bytes() == TEXT[7:]


@pytest.mark.parametrize("bad", ["{n}:", "{m}:{m}", "0:{m}", "5:{m}"])
def test_range_past_the_end_is_an_error(bad, sgl_file, tmp_path, capsysbinary):
    spec = bad.format(n=len(TEXT) + 1, m=len(TEXT) + 10)
    assert main(["decode", "--range", spec, str(sgl_file)]) == 1
    captured = capsysbinary.readouterr()
    assert captured.out == b""
    assert b"past the end" in captured.err and str(len(TEXT)).encode() not in captured.out


def test_range_at_the_end_is_empty(sgl_file, capsysbinary):
    assert main(["decode", "--range", f"{len(TEXT)}:", str(sgl_file)]) == 0
    assert capsysbinary.readouterr().out == b""


# -- messages --------------------------------------------------------------------------------------


def test_usage_errors_after_parsing_show_the_subcommands_usage(text_file, capsys):
    assert main(["decode", str(text_file)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sigmalang decode")
    assert main(["-d", str(text_file)]) == 2
    assert capsys.readouterr().err.startswith("usage: sigmalang [-d|-t|-l]")


def test_verify_on_plain_text_says_it_is_not_a_stream(text_file, capsys):
    assert main(["verify", str(text_file)]) == 1
    assert "not a ΣLANG stream" in capsys.readouterr().err


def test_train_says_when_it_keeps_fewer_words_and_refuses_an_empty_book(tmp_path, capsys):
    sample = tmp_path / "sample.txt"
    sample.write_bytes(b"alpha beta gamma delta\n" * 40 + b"rare words here\n")
    book = tmp_path / "s.book"
    assert main(["train", str(sample), "-o", str(book)]) == 0
    err = capsys.readouterr().err
    assert "of the 4,096 words asked for" in err and book.exists()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert main(["train", str(empty), "-o", str(tmp_path / "e.book")]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert not (tmp_path / "e.book").exists()


# -- program names ---------------------------------------------------------------------------------


def test_program_names_are_declared():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {
        "sigmalang": "sigmalang.cli:run",
        "unsigmalang": "sigmalang.cli:run_decode",
        "sigmacat": "sigmalang.cli:run_cat",
    }


def test_unsigmalang_decodes_and_sigmacat_writes_to_stdout(sgl_file, text_file, monkeypatch, capsysbinary):
    text_file.unlink()
    monkeypatch.setattr(sys, "argv", ["unsigmalang", "-q", str(sgl_file)])
    with pytest.raises(SystemExit) as info:
        cli.run_decode()
    assert info.value.code == 0
    assert text_file.read_bytes() == TEXT
    monkeypatch.setattr(sys, "argv", ["sigmacat", str(sgl_file)])
    with pytest.raises(SystemExit) as info:
        cli.run_cat()
    assert info.value.code == 0
    assert capsysbinary.readouterr().out == TEXT


@pytest.mark.parametrize("flag", ["-9", "-1", "--best", "--fast"])
def test_a_level_given_to_decode_or_verify_is_ignored_not_read_as_a_file(sgl_file, text_file, capsysbinary, flag):
    """As with zstd -d -19 and xz -d -9: the level means nothing when decompressing."""
    assert main(["decode", flag, "-c", str(sgl_file)]) == 0
    assert capsysbinary.readouterr().out == text_file.read_bytes()
    assert main(["verify", flag, str(sgl_file)]) == 0


BLAS_PROBE = (
    "import os, sigmalang.cli\n"
    "tasks = len(os.listdir('/proc/self/task')) if os.path.isdir('/proc/self/task') else 1\n"
    "print(os.environ.get('OPENBLAS_NUM_THREADS'), tasks)\n"
)


@pytest.mark.parametrize(
    ("script", "preset", "expected"),
    [("sigmalang", None, "1 1"), ("sigmalang", "2", "2"), ("uses_sigmalang.py", None, "None")],
)
def test_the_command_line_runs_numpy_on_one_blas_thread_unless_told_otherwise(tmp_path, script, preset, expected):
    """As the command line, numpy's BLAS starts no thread of its own (the process keeps one thread
    after the command line's imports); a user's setting is kept, and a program of its own that
    imports sigmalang.cli keeps its environment."""
    (tmp_path / script).write_text(BLAS_PROBE)
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_NUM_THREADS"}
    if preset is not None:
        env["OPENBLAS_NUM_THREADS"] = preset
    run = subprocess.run([sys.executable, str(tmp_path / script)], env=env, capture_output=True, text=True, check=True)
    assert run.stdout.split()[: len(expected.split())] == expected.split()
