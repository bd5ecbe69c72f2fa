"""The ``format`` option (``encode --format auto|text|logs``): ``text`` never codes a chunk as log
records, ``logs`` codes every chunk as records at levels 1-9 (falling back to the bytes only where
a record code cannot be written, and to storing where coding does not shrink a chunk), ``auto`` is
the output as it always was; the same bytes through every API, worker count and executor."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest

import sigmalang
from conftest import mixed_bytes, read_text_file, service_log
from sigmalang import SigmaCompressor, StreamingEncoder, _codec
from sigmalang.cli import build_flat_parser, build_parser, main
from sigmalang.inspect import inspect_stream

LOG = service_log(600)  # about 50 KB of log lines: 7 frames of 8 KiB
CHUNK = 8 << 10


def coded_as(stream: bytes) -> set[str]:
    """The "transform+backend" pairs of a stream's frames, as ``sigmalang inspect`` reports them."""
    report = inspect_stream(io.BytesIO(stream), frames=0)[0].as_dict()
    return {group["transform"] + "+" + group["backend"] for group in report["by_backend"]}


def encode_stream(data: bytes, level: int, **options: object) -> bytes:
    out = io.BytesIO()
    StreamingEncoder(level, CHUNK, **options).encode_stream(io.BytesIO(data), out)  # type: ignore[arg-type]
    return out.getvalue()


# -- what each format writes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "backend"),
    # Level 6 is level 4's model with more components; the log is coded as records at level 6 by
    # test_auto_is_the_default_and_still_chooses_records_at_the_cm_levels.
    [(1, "zstd"), (3, "ppmd"), (4, "cm"), pytest.param(6, "cm", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("shared", [False, True])
def test_logs_codes_every_chunk_as_records_and_text_none(level, backend, shared):
    logs = sigmalang.compress(LOG, level, chunk_size=CHUNK, shared_context=shared, format="logs")
    text = sigmalang.compress(LOG, level, chunk_size=CHUNK, shared_context=shared, format="text")
    assert coded_as(logs) == {f"records+{backend}"}
    assert not any(pair.startswith("records+") for pair in coded_as(text))
    assert sigmalang.decompress(logs) == LOG
    assert sigmalang.decompress(text) == LOG


@pytest.mark.parametrize("shared", [False, True])
def test_auto_is_the_default_and_still_chooses_records_at_the_cm_levels(shared):
    auto = sigmalang.compress(LOG, 6, chunk_size=CHUNK, shared_context=shared, format="auto")
    assert auto == sigmalang.compress(LOG, 6, chunk_size=CHUNK, shared_context=shared)
    assert "records+cm" in coded_as(auto)
    # At level 3 (PPMd) too, where records code logs smaller and faster; at zstd's levels 1-2, auto
    # codes bytes, whose decoding is many times as fast.
    level3 = sigmalang.compress(LOG, 3, chunk_size=CHUNK, shared_context=shared)
    assert "records+ppmd" in coded_as(level3) and sigmalang.decompress(level3) == LOG
    assert len(level3) < len(sigmalang.compress(LOG, 3, chunk_size=CHUNK, shared_context=shared, format="text"))
    assert coded_as(sigmalang.compress(LOG, 1, chunk_size=CHUNK)) == {"literal+zstd"}


def test_level_3_codes_record_codes_at_their_own_ppmd_order():
    """A records frame's PPMd payload names the level's order for record codes (a writer's choice
    the payload records), a glyph code's the level's own order."""
    from sigmalang._levels import level_spec
    from sigmalang._wire import read_varint

    spec = level_spec(3)
    assert spec.records_level > spec.backend_level
    body = _codec.encode_body(LOG, spec, form="logs")
    start = read_varint(body.data, 0, 5, ValueError)[1]  # the record code's length comes first
    assert body.transform == 4 and body.data[start] == spec.records_level
    text = _codec.encode_body(LOG, spec, form="text")
    start = read_varint(text.data, 0, 5, ValueError)[1]  # so does the glyph code's
    assert text.transform == 1 and text.data[start] == spec.backend_level
    assert sigmalang.decompress(sigmalang.compress(LOG, 3, format="logs")) == LOG


def test_level_3_mixes_glyph_code_and_records_frames_in_a_shared_context_stream():
    """Prose chunks (glyph code, whose codebook a continuing frame may carry on) and log chunks
    (records) alternate in one shared-context stream at level 3: every frame decodes in order, a
    codebook carried across a records frame included."""
    prose = read_text_file("dickens-64k")[: 3 * CHUNK]
    data = b"".join(prose[k * CHUNK : (k + 1) * CHUNK] + LOG[k * CHUNK : (k + 1) * CHUNK] for k in range(3))
    stream = sigmalang.compress(data, 3, chunk_size=CHUNK, shared_context=True)
    assert {"records+ppmd", "semantic+ppmd"} <= coded_as(stream)
    assert sigmalang.decompress(stream) == data


def test_logs_never_writes_a_frame_larger_than_storing_it():
    noise = mixed_bytes(6 * CHUNK, seed=7)  # binary: its record code is no smaller than it
    for level in (1, 3, 6):
        logs = sigmalang.compress(noise, level, chunk_size=CHUNK, format="logs")
        assert len(logs) <= len(sigmalang.compress(noise, 0, chunk_size=CHUNK))
        assert sigmalang.decompress(logs) == noise


def test_logs_falls_back_to_the_bytes_where_the_record_code_cannot_be_written(monkeypatch):
    monkeypatch.setattr(_codec, "_records_body", lambda data, spec, prime, book: None)
    for level in (1, 6):
        out = sigmalang.compress(LOG, level, chunk_size=CHUNK, format="logs")
        assert out == sigmalang.compress(LOG, level, chunk_size=CHUNK, format="text")
        assert sigmalang.decompress(out) == LOG


def test_logs_looks_for_no_long_range_references():
    twice = LOG + LOG  # the second copy is all long-range matches for a shared-context writer
    auto = sigmalang.compress(twice, 1, chunk_size=CHUNK, shared_context=True)
    logs = sigmalang.compress(twice, 1, chunk_size=CHUNK, shared_context=True, format="logs")
    assert any(pair.startswith("long+") for pair in coded_as(auto))
    assert coded_as(logs) == {"records+zstd"}
    assert sigmalang.decompress(logs) == twice


# -- the same bytes through every API, worker count and executor -------------------------------


@pytest.mark.parametrize("form", ["text", "logs"])
@pytest.mark.parametrize("shared", [False, True])
def test_same_bytes_through_every_api_and_a_thread_pool(form, shared):
    level = 4
    expected = sigmalang.compress(LOG, level, chunk_size=CHUNK, shared_context=shared, format=form)
    assert encode_stream(LOG, level, shared_context=shared, format=form) == expected
    with ThreadPoolExecutor(3) as threads:
        assert encode_stream(LOG, level, shared_context=shared, format=form, executor=threads) == expected
        comp = SigmaCompressor(level, chunk_size=CHUNK, shared_context=shared, format=form, executor=threads)
        assert b"".join(comp.compress(LOG[i : i + 5000]) for i in range(0, len(LOG), 5000)) + comp.flush() == expected
    out = io.BytesIO()
    with sigmalang.open(out, "wb", level=level, chunk_size=CHUNK, shared_context=shared, format=form) as f:
        f.write(LOG)
    assert out.getvalue() == expected


@pytest.mark.slow
@pytest.mark.parametrize("shared", [False, True])
def test_same_bytes_for_any_worker_count(shared):
    expected = sigmalang.compress(LOG, 1, chunk_size=CHUNK, shared_context=shared, format="logs")
    assert sigmalang.compress(LOG, 1, chunk_size=CHUNK, shared_context=shared, format="logs", workers=2) == expected
    assert encode_stream(LOG, 1, shared_context=shared, format="logs", workers=3) == expected


# -- refused values -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["xml", "LOGS", "", None, 1])
def test_an_unknown_format_is_a_value_error(bad):
    with pytest.raises(ValueError, match="format must be one of 'auto', 'text', 'logs'"):
        sigmalang.compress(LOG, format=bad)
    with pytest.raises(ValueError, match="format must be"):
        StreamingEncoder(format=bad)


def test_logs_at_level_0_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="level of 1 to 9"):
        sigmalang.compress(LOG, 0, format="logs")
    with pytest.raises(ValueError, match="level of 1 to 9"):
        SigmaCompressor(0, format="logs")
    target = tmp_path / "x.sgl"
    with pytest.raises(ValueError, match="level of 1 to 9"):
        sigmalang.open(target, "wb", level=0, format="logs")
    assert not target.exists()  # options are checked before the file is made
    assert sigmalang.decompress(sigmalang.compress(LOG, 0, format="text")) == LOG


def test_format_is_for_writing(tmp_path):
    target = tmp_path / "x.sgl"
    target.write_bytes(sigmalang.compress(LOG, 1))
    with pytest.raises(ValueError, match="format is for writing"):
        sigmalang.open(target, "rb", format="logs")


# -- the command line ---------------------------------------------------------------------


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "app.log"
    path.write_bytes(LOG)
    return path


@pytest.mark.parametrize("form", ["text", "logs"])
@pytest.mark.parametrize("level", ["-1", "-4"])
def test_cli_format(form, level, log_file):
    assert main(["encode", "-q", level, "--format", form, "--chunk-size", "8KiB", str(log_file)]) == 0
    written = log_file.with_name("app.log.sgl").read_bytes()
    pairs = coded_as(written)
    if form == "logs":
        assert pairs == {"records+" + ("zstd" if level == "-1" else "cm")}
    else:
        assert not any(pair.startswith("records+") for pair in pairs)
    expected = sigmalang.compress(LOG, int(level[1:]), chunk_size=CHUNK, filters=True, format=form)
    assert written == expected
    log_file.unlink()
    assert main(["-d", "-q", str(log_file) + ".sgl"]) == 0
    assert log_file.read_bytes() == LOG


def test_cli_auto_is_the_default(log_file, tmp_path):
    assert main(["encode", "-q", "-4", "--chunk-size", "8KiB", "-o", str(tmp_path / "a.sgl"), str(log_file)]) == 0
    args = ["-q", "-4", "--format", "auto", "--chunk-size", "8KiB", "-o", str(tmp_path / "b.sgl"), str(log_file)]
    assert main(args) == 0
    assert (tmp_path / "a.sgl").read_bytes() == (tmp_path / "b.sgl").read_bytes()
    assert (tmp_path / "a.sgl").read_bytes() == sigmalang.compress(LOG, 4, chunk_size=CHUNK, filters=True)


@pytest.mark.parametrize(
    "args",
    [
        ["encode", "-0", "--format", "logs", "{src}"],
        ["-0", "--format", "logs", "{src}"],
        ["-d", "--format", "logs", "{src}.sgl"],
        ["-t", "--format", "text", "{src}.sgl"],
    ],
)
def test_cli_format_usage_errors(args, log_file, capsys):
    log_file.with_name("app.log.sgl").write_bytes(sigmalang.compress(LOG, 1))
    before = sorted(p.name for p in log_file.parent.iterdir())
    assert main([a.replace("{src}", str(log_file)) for a in args]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("usage:")
    assert len([line for line in err if line.startswith("sigmalang:")]) == 1 and "--format" in err[-1]
    assert sorted(p.name for p in log_file.parent.iterdir()) == before


@pytest.mark.parametrize("args", [["encode", "--format", "xml"], ["--format", "xml"], ["decode", "--format", "logs"]])
def test_cli_unknown_format_is_a_usage_error(args, log_file, capsys):
    with pytest.raises(SystemExit) as info:
        main([*args, str(log_file)])
    assert info.value.code == 2
    assert "--format" in capsys.readouterr().err
    assert not log_file.with_name("app.log.sgl").exists()


def test_cli_help_lists_the_formats():
    encode = next(a for a in build_parser()._actions if a.dest == "command").choices["encode"]
    for parser in (build_flat_parser(), encode):
        text = " ".join(parser.format_help().split())
        assert "--format {auto,text,logs}" in text


def test_cli_inspect_with_format(log_file, capsys):
    assert main(["inspect", "--json", "-1", "--format", "logs", "--chunk-size", "8KiB", str(log_file)]) == 0
    assert '"transform": "records", "backend": "zstd"' in capsys.readouterr().out
