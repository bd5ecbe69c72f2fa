"""The ``sigmalang`` command: encode/decode/verify/info, file naming, safety, exit codes, messages.

Most tests call ``sigmalang.cli.main`` in-process; a few run ``python -m sigmalang`` for real pipes.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sigmalang
from conftest import flip, map_stream, mixed_bytes
from sigmalang._cli_args import parse as parse_args
from sigmalang.cli import main, parse_size

TEXT = b"".join(b"%06d a line of text for the command line tests\n" % i for i in range(4000))


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(TEXT)
    return path


def listing(directory):
    return sorted(p.name for p in directory.iterdir())


def err_lines(captured):
    err = captured.err.decode() if isinstance(captured.err, bytes) else captured.err
    return err.splitlines()


# -- basic commands --------------------------------------------------------------


def test_encode_then_decode_with_default_names(text_file, capsys):
    assert main(["encode", str(text_file)]) == 0
    sgl = text_file.with_name("notes.txt.sgl")
    assert sgl.read_bytes() == sigmalang.compress(TEXT, filters=True)
    assert text_file.exists()  # kept by default
    (line,) = err_lines(capsys.readouterr())
    assert str(text_file) in line and str(sgl) in line
    text_file.unlink()
    assert main(["decode", str(sgl)]) == 0
    assert text_file.read_bytes() == TEXT
    assert sgl.exists()
    assert listing(text_file.parent) == ["notes.txt", "notes.txt.sgl"]


def test_quiet_prints_nothing(text_file, capsys):
    assert main(["encode", "-q", str(text_file)]) == 0
    assert capsys.readouterr() == ("", "")


def test_output_option(text_file, tmp_path):
    out = tmp_path / "elsewhere.bin"
    assert main(["encode", "-q", "-o", str(out), str(text_file)]) == 0
    assert sigmalang.decompress(out.read_bytes()) == TEXT
    back = tmp_path / "back.txt"
    assert main(["decode", "-q", "-o", str(back), str(out)]) == 0  # -o: no suffix needed
    assert back.read_bytes() == TEXT


def test_stdout_option(text_file, capsysbinary):
    assert main(["encode", "-c", "-2", str(text_file)]) == 0
    blob = capsysbinary.readouterr().out
    assert blob == sigmalang.compress(TEXT, level=2, filters=True)
    assert not text_file.with_name("notes.txt.sgl").exists()
    sgl = text_file.with_name("x.sgl")
    sgl.write_bytes(blob)
    assert main(["decode", "-c", str(sgl)]) == 0
    assert capsysbinary.readouterr().out == TEXT
    assert main(["decode", "-o", "-", str(sgl)]) == 0
    assert capsysbinary.readouterr().out == TEXT


def test_stdin_to_stdout_in_process(monkeypatch, capsysbinary):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(TEXT)))
    assert main(["encode", "--chunk-size", "4KiB"]) == 0
    blob = capsysbinary.readouterr().out
    assert blob == sigmalang.compress(TEXT, chunk_size=4096, filters=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(blob)))
    assert main(["decode", "-"]) == 0
    assert capsysbinary.readouterr().out == TEXT


def test_binary_to_a_terminal_is_refused(text_file, monkeypatch, capsysbinary):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["encode", "-c", str(text_file)]) == 2
    assert capsysbinary.readouterr().out == b""
    assert main(["encode", "-c", "-f", str(text_file)]) == 0
    assert sigmalang.decompress(capsysbinary.readouterr().out) == TEXT


def test_verify_and_info(text_file, capsys):
    assert main(["encode", "-q", "--chunk-size", "64KiB", "--level", "3", str(text_file)]) == 0
    sgl = str(text_file) + ".sgl"
    assert main(["verify", sgl]) == 0
    assert "OK" in capsys.readouterr().err
    assert main(["info", sgl]) == 0
    out = capsys.readouterr().out
    assert "level 3" in out and "65,536" in out
    assert main(["info", "--json", sgl]) == 0
    info = json.loads(capsys.readouterr().out)
    (stream,) = info["streams"]
    assert stream["chunk_size"] == 65536 and stream["level"] == 3
    assert stream["original_size"] == len(TEXT)
    assert stream["encoded_size"] == os.path.getsize(sgl)
    assert stream["frames"] == len(map_stream(Path(sgl).read_bytes()).frames)


def test_several_files(tmp_path, capsys):
    files = []
    for i in range(3):
        path = tmp_path / f"f{i}.log"
        path.write_bytes(TEXT[: 1000 * (i + 1)])
        files.append(str(path))
    assert main(["encode", "-q", *files]) == 0
    for i, name in enumerate(files):
        assert sigmalang.decompress(Path(name + ".sgl").read_bytes()) == TEXT[: 1000 * (i + 1)]
    assert main(["verify", "--json", *[f + ".sgl" for f in files]]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # one line per input
    assert [r["input"] for r in results] == [f + ".sgl" for f in files] and all(r["ok"] for r in results)


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert sigmalang.__version__ in capsys.readouterr().out


# -- overwrite, keep, remove --------------------------------------------------------


def test_refuses_to_overwrite_without_force(text_file, capsys):
    sgl = text_file.with_name("notes.txt.sgl")
    sgl.write_bytes(b"precious")
    before = sgl.stat()
    assert main(["encode", str(text_file)]) == 1
    (line,) = err_lines(capsys.readouterr())
    assert "exists" in line and str(sgl) in line
    assert sgl.read_bytes() == b"precious"
    assert sgl.stat().st_mtime_ns == before.st_mtime_ns
    assert listing(text_file.parent) == ["notes.txt", "notes.txt.sgl"]
    assert main(["encode", "-f", "-q", str(text_file)]) == 0
    assert sigmalang.decompress(sgl.read_bytes()) == TEXT


def test_decode_refuses_to_overwrite_without_force(text_file, capsys):
    assert main(["encode", "-q", str(text_file)]) == 0
    text_file.write_bytes(b"changed since")
    assert main(["decode", str(text_file) + ".sgl"]) == 1
    assert text_file.read_bytes() == b"changed since"
    assert main(["decode", "-q", "-f", str(text_file) + ".sgl"]) == 0
    assert text_file.read_bytes() == TEXT


def test_rm_removes_the_input_after_success(text_file):
    assert main(["encode", "-q", "--rm", str(text_file)]) == 0
    assert not text_file.exists()
    sgl = text_file.with_name("notes.txt.sgl")
    assert main(["decode", "-q", "--rm", str(sgl)]) == 0
    assert not sgl.exists()
    assert text_file.read_bytes() == TEXT


def test_rm_keeps_the_input_on_failure(text_file, tmp_path):
    blob = sigmalang.compress(TEXT, chunk_size=4096)
    bad = tmp_path / "bad.txt.sgl"
    bad.write_bytes(flip(blob, map_stream(blob).frames[3].payload_start + 1))
    assert main(["decode", "-q", "--rm", str(bad)]) == 1
    assert bad.exists() and not (tmp_path / "bad.txt").exists()
    text_file.with_name("notes.txt.sgl").write_bytes(b"in the way")
    assert main(["encode", "-q", "--rm", str(text_file)]) == 1
    assert text_file.read_bytes() == TEXT


def test_keep_is_the_default_and_explicit(text_file):
    assert main(["encode", "-q", "-k", str(text_file)]) == 0
    assert text_file.exists()
    with pytest.raises(SystemExit) as info:
        main(["encode", "-k", "--rm", str(text_file)])
    assert info.value.code == 2


# -- options ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "size"), [("64KiB", 65536), ("4MiB", 4 << 20), ("8KiB", 8192), ("4096", 4096)])
def test_chunk_sizes(text, size, tmp_path, capsys):
    data = mixed_bytes(300_000, seed=size)
    src = tmp_path / "data.bin"
    src.write_bytes(data)
    assert main(["encode", "-q", "--fast", "--chunk-size", text, str(src)]) == 0
    blob = (tmp_path / "data.bin.sgl").read_bytes()
    assert blob == sigmalang.compress(data, level=1, chunk_size=size, filters=True)
    assert main(["info", "--json", str(tmp_path / "data.bin.sgl")]) == 0
    assert json.loads(capsys.readouterr().out)["streams"][0]["chunk_size"] == size
    src.unlink()
    assert main(["decode", "-q", str(tmp_path / "data.bin.sgl")]) == 0
    assert src.read_bytes() == data


@pytest.mark.parametrize("bad", ["12XB", "0", "1", "1KiB", "4095", "abc", "65MiB", "-1", "1.5MiB", ""])
def test_bad_chunk_size_is_a_usage_error(bad, text_file, capsys):
    with pytest.raises(SystemExit) as info:
        main(["encode", "--chunk-size", bad, str(text_file)])
    assert info.value.code == 2
    assert "size" in capsys.readouterr().err
    assert not text_file.with_name("notes.txt.sgl").exists()


def test_parse_size():
    assert parse_size("64KiB") == parse_size("64k") == parse_size("64 KB") == 65536
    assert parse_size("1m") == 1 << 20
    assert parse_size("64MiB") == 64 << 20


LEVEL_OPTIONS = [
    (["encode", "-0"], 0),
    (["encode", "--fast"], 1),
    (["-5"], 5),
    (["encode", "--level", "7"], 7),
    (["-9", "-k"], 9),
    (["--best"], 9),
    (["-q2"], 2),
]


@pytest.mark.parametrize(("args", "level"), LEVEL_OPTIONS)
def test_level_options_are_read(args, level):
    _, opts = parse_args([*args, "-q", "notes.txt"])
    assert opts.level == level


@pytest.mark.parametrize(
    ("args", "level"),
    # each context-mixing level codes the file twice: test_level_options_are_read reads their options
    [pytest.param(*case, marks=[pytest.mark.slow] if case[1] >= 4 else []) for case in LEVEL_OPTIONS],
)
def test_levels(args, level, text_file, capsys):
    assert main([*args, "-q", str(text_file)]) == 0
    blob = text_file.with_name("notes.txt.sgl").read_bytes()
    assert blob == sigmalang.compress(TEXT, level=level, filters=True)
    assert main(["info", "--json", str(text_file) + ".sgl"]) == 0
    assert json.loads(capsys.readouterr().out)["streams"][0]["level"] == level


def test_old_level_spelling_still_works_with_a_note(text_file, capsys):
    assert main(["encode", "-l", "3", str(text_file)]) == 0
    err = capsys.readouterr().err
    assert "-l 3 is deprecated" in err and "--level 3" in err
    assert sigmalang.decompress(text_file.with_name("notes.txt.sgl").read_bytes()) == TEXT
    assert text_file.with_name("notes.txt.sgl").read_bytes() == sigmalang.compress(TEXT, level=3, filters=True)


@pytest.mark.parametrize("bad", [["encode", "--level", "10"], ["encode", "--level", "x"], ["-10"], ["-19"]])
def test_bad_level_is_a_usage_error(bad, text_file, capsys):
    with pytest.raises(SystemExit) as info:
        main([*bad, str(text_file)])
    assert info.value.code == 2
    assert "level" in capsys.readouterr().err
    assert not text_file.with_name("notes.txt.sgl").exists()


def test_json_output(text_file, capsys):
    assert main(["encode", "--json", str(text_file)]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    sgl = str(text_file) + ".sgl"
    assert result["bytes_in"] == len(TEXT)
    assert result["bytes_out"] == os.path.getsize(sgl)
    assert result["output"] == sgl and result["input"] == str(text_file)
    assert result["chunks"] >= 1 and result["elapsed"] > 0
    assert captured.err == ""
    text_file.unlink()
    assert main(["decode", "--json", sgl]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bytes_in"] == os.path.getsize(sgl) and result["bytes_out"] == len(TEXT)


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "{src}"],  # no .sgl suffix and no -o
        ["encode", "-c", "-o", "x", "{src}"],
        ["encode", "-o", "x", "{src}", "{src}"],
        ["encode", "--rm", "-"],
        ["decode", "-o", "{src}", "{src}"],  # input and output are the same file
    ],
)
def test_usage_errors_exit_2(args, text_file, capsys):
    argv = [a.replace("{src}", str(text_file)) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage:" in err
    assert text_file.read_bytes() == TEXT


def test_no_arguments_on_a_terminal_is_refused(monkeypatch, capsysbinary):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main([]) == 2  # as zstd: encode stdin to stdout, which is a terminal here
    captured = capsysbinary.readouterr()
    assert captured.out == b"" and b"terminal" in captured.err


# -- failures: one line, no output left behind --------------------------------------


@functools.cache
def damaged_inputs():
    blob = sigmalang.compress(TEXT, chunk_size=8192)  # coded once for the module
    frames = map_stream(blob).frames
    k = 4
    return {
        "damaged": (flip(blob, frames[k].payload_start + 10), [f"frame {k}", "CRC32C"]),
        "truncated": (blob[: frames[k].offset + 5], ["truncated", f"{k} complete frames"]),
        "garbage": (b"this is not a sigmalang stream at all\n" * 10, ["magic"]),
        "empty": (b"", ["empty"]),
        "trailing": (blob + b"junk", ["magic"]),
    }


@pytest.mark.parametrize("case", ["damaged", "truncated", "garbage", "empty", "trailing"])
def test_bad_input_fails_with_one_line_and_no_output(case, tmp_path, capsys):
    data, words = damaged_inputs()[case]
    src = tmp_path / "input.txt.sgl"
    src.write_bytes(data)
    assert main(["decode", str(src)]) == 1
    lines = err_lines(capsys.readouterr())
    assert len(lines) == 1, lines
    assert lines[0].startswith("sigmalang: ") and str(src) in lines[0]
    for word in words:
        assert word in lines[0]
    assert listing(tmp_path) == ["input.txt.sgl"]  # no output, no temporary file
    assert src.read_bytes() == data
    assert main(["decode", "-o", str(tmp_path / "named-output"), str(src)]) == 1
    assert listing(tmp_path) == ["input.txt.sgl"]


@pytest.mark.parametrize("case", ["damaged", "truncated", "garbage", "empty"])
def test_verify_and_info_fail_on_bad_input(case, tmp_path, capsys):
    data, _ = damaged_inputs()[case]
    src = tmp_path / "input.sgl"
    src.write_bytes(data)
    assert main(["verify", str(src)]) == 1
    assert main(["info", str(src)]) == 1 or case == "damaged"  # info checks the container, not frames
    assert capsys.readouterr().err


def test_verbose_adds_a_traceback(tmp_path, capsys):
    data, _ = damaged_inputs()["damaged"]
    src = tmp_path / "input.txt.sgl"
    src.write_bytes(data)
    assert main(["decode", "-v", str(src)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "SigmaFormatError" in err
    assert err.splitlines()[-1].startswith("sigmalang: ")


def test_missing_input_file(tmp_path, capsys):
    assert main(["encode", str(tmp_path / "nope.txt")]) == 1
    (line,) = err_lines(capsys.readouterr())
    assert "nope.txt" in line
    assert listing(tmp_path) == []


def test_one_bad_file_does_not_stop_the_others(tmp_path, capsys):
    good = tmp_path / "good.sgl"
    good.write_bytes(sigmalang.compress(b"fine\n"))
    bad = tmp_path / "bad.sgl"
    bad.write_bytes(b"garbage")
    assert main(["decode", "-q", str(bad), str(good)]) == 1
    assert (tmp_path / "good").read_bytes() == b"fine\n"
    assert not (tmp_path / "bad").exists()


# -- real processes ------------------------------------------------------------------


def run_cli(*args, stdin=b""):
    return subprocess.run(
        [sys.executable, "-m", "sigmalang", *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow  # 2 MB through two subprocesses
def test_pipe_stdin_to_stdout_round_trip():
    data = mixed_bytes(2_000_000, seed=8)
    enc = run_cli("encode", "--chunk-size", "256KiB", "-1", stdin=data)
    assert enc.returncode == 0, enc.stderr
    assert enc.stdout == sigmalang.compress(data, level=1, chunk_size=256 << 10, filters=True)
    assert enc.stderr == b""
    dec = run_cli("decode", "-", stdin=enc.stdout)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout == data


def test_process_decode_of_a_damaged_pipe_fails_with_one_line():
    data, _ = damaged_inputs()["damaged"]
    proc = run_cli("decode", "-c", stdin=data)
    assert proc.returncode == 1
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1 and "frame 4" in lines[0]


# Four processes. A process's exit statuses are also checked by
# test_process_decode_of_a_damaged_pipe_fails_with_one_line (1) and by test_cli_terminal.py, whose
# processes encode and decode files (0) and refuse compressed data from a terminal (2).
@pytest.mark.slow
def test_process_file_round_trip_and_usage_error(text_file):
    assert run_cli("encode", "-q", str(text_file)).returncode == 0
    text_file.unlink()
    assert run_cli("decode", "-q", str(text_file) + ".sgl").returncode == 0
    assert text_file.read_bytes() == TEXT
    proc = run_cli("decode", str(text_file))
    assert proc.returncode == 2
    proc = run_cli("encode", "--chunk-size", "lots", str(text_file))
    assert proc.returncode == 2 and b"size" in proc.stderr


@pytest.mark.parametrize(
    ("args", "built", "tty", "said"),
    [
        (["encode", "-f", "{f}"], False, True, True),  # the default level is a CM level
        (["encode", "-f", "-3", "{f}"], False, True, False),  # level 3 does not use the model
        (["encode", "-f", "-q", "{f}"], False, True, False),
        (["encode", "-f", "{f}"], True, True, False),  # compiled already
        (["encode", "-f", "{f}"], False, False, False),  # nobody watching standard error
    ],
)
def test_the_first_model_build_is_announced(text_file, monkeypatch, capsys, args, built, tty, said):
    """The first CM frame on a machine compiles the model for about a minute: a person at a
    terminal is told why nothing seems to happen; scripts and -q see nothing."""
    from sigmalang import _cm_native

    monkeypatch.setattr(_cm_native, "ready", lambda full=True: built)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    assert main([a.replace("{f}", str(text_file)) for a in args]) == 0
    assert ("compiling the model" in capsys.readouterr().err) == said


@pytest.mark.parametrize(
    ("args", "missing", "said"),
    [
        (["encode", "-f", "{f}"], "all", "up to two minutes"),  # the full set, and the set of running text
        (["encode", "-f", "{f}"], "running text", "about a minute"),
        (["encode", "-f", "-9", "{f}"], "all", "about a minute"),  # level 9 codes books with its full set
        (["encode", "-f", "-4", "{f}"], "all", "about a minute"),  # the copy for any set
        (["encode", "-f", "-4", "{f}"], "running text", None),
    ],
)
def test_the_first_model_build_says_how_long(text_file, monkeypatch, capsys, args, missing, said):
    """The message counts the compiled copies of the model the level may build: levels 5-8 code a
    book's wrap code with a copy of their own."""
    from sigmalang import _cm, _cm_native

    monkeypatch.setattr(_cm_native, "ready", lambda copy=9: missing != "all" and not copy & _cm.COPY_PARAGRAPHS)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main([a.replace("{f}", str(text_file)) for a in args]) == 0
    err = capsys.readouterr().err
    assert ("compiling the model" in err) == (said is not None)
    assert said is None or said in err


def test_one_worker_codes_in_a_thread_of_its_own_and_the_bytes_are_the_same(text_file, monkeypatch, capsys):
    """So that the main thread is free to act on Ctrl-C; a shared-context encode too, where it stays in
    order, one chunk at a time (not runs of 16 chunks, all held in memory, as on workers)."""
    import threading

    from sigmalang import _jobs

    where: list[str] = []

    def recording(job):
        def run(*args, **kwargs):
            where.append(threading.current_thread().name)
            return job(*args, **kwargs)

        return run

    monkeypatch.setattr("sigmalang._stream._encode_job", recording(_jobs.encode_job))
    monkeypatch.setattr("sigmalang._stream.encode_run_job", recording(_jobs.encode_run_job))
    assert main(["-1", "-q", "--chunk-size", "64KiB", str(text_file)]) == 0
    assert where and all(name.startswith("sigmalang-coder") for name in where)
    sgl = Path(str(text_file) + ".sgl")
    assert sgl.read_bytes() == sigmalang.compress(TEXT, level=1, chunk_size=64 << 10, filters=True)
    where.clear()
    assert main(["-1", "-v", "-f", "--shared-context", "--chunk-size", "64KiB", str(text_file)]) == 0
    assert "runs of" not in capsys.readouterr().err
    assert len(where) > 1 and all(name.startswith("sigmalang-coder") for name in where)
    assert sgl.read_bytes() == sigmalang.compress(TEXT, level=1, chunk_size=64 << 10, filters=True, shared_context=True)


@pytest.mark.parametrize("command", [["decode", "-c"], ["verify"], ["recover", "-o", "out"], ["encode", "--rm"]])
def test_one_worker_decodes_in_a_thread_of_its_own(command, tmp_path, monkeypatch, capsysbinary):
    import threading

    from sigmalang import _frames

    where: list[str] = []
    decode_frame = _frames.decode_frame

    def recording(*args, **kwargs):
        where.append(threading.current_thread().name)
        return decode_frame(*args, **kwargs)

    module = "sigmalang._stream" if command[0] in ("decode", "encode") else "sigmalang._recover"
    monkeypatch.setattr(f"{module}.decode_frame", recording)
    monkeypatch.chdir(tmp_path)
    sgl = tmp_path / "notes.sgl"
    sgl.write_bytes(sigmalang.compress(TEXT, level=1, chunk_size=64 << 10))
    if command[0] == "encode":  # --rm decodes what it wrote before it removes the input
        (tmp_path / "notes.txt").write_bytes(TEXT)
        command = ["-1", "--chunk-size", "64KiB", "--rm", "-o", str(tmp_path / "new.sgl")]
        sgl = tmp_path / "notes.txt"
    assert main([*command, "-q", str(sgl)]) == 0
    assert len(where) > 1 and all(name.startswith("sigmalang-coder") for name in where)
