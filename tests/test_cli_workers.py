"""How many workers the command line codes a file on when -T is not given: one per frame, up to one
per CPU, for files of 8 MiB or more, within a quarter of the machine's memory; what it writes is
the same whatever the count."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

import sigmalang
from sigmalang import _cli_files, _cli_grep
from sigmalang._cli_files import AUTO_WORKERS_MIN, Options, coders
from sigmalang.cli import main

MiB = 1 << 20
THREAD = object()  # stands for the command line's own coding thread (opts.executor)


@pytest.fixture
def machine(monkeypatch):
    """A machine of 4 CPUs and 64 GiB, changed by setting cpus and memory."""
    state = SimpleNamespace(cpus=4, memory=64 << 30)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(state.cpus)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: state.cpus)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: SimpleNamespace(total=state.memory))
    return state


def _file(tmp_path: Path, size: int) -> str:
    path = tmp_path / f"in-{size}.txt"
    with open(path, "wb") as fout:
        fout.truncate(size)  # only its size is read
    return str(path)


def _encode(source: str, **options) -> tuple[int, object]:
    opts = Options("encode", [source], executor=THREAD, **options)
    return coders(opts, source, False)


def test_files_of_8_mib_and_more_get_a_worker_per_frame(tmp_path, machine):
    assert _encode(_file(tmp_path, AUTO_WORKERS_MIN - 1)) == (1, THREAD)
    assert _encode(_file(tmp_path, AUTO_WORKERS_MIN)) == (2, None)  # two 4 MiB frames
    assert _encode(_file(tmp_path, 9 * MiB)) == (3, None)
    assert _encode(_file(tmp_path, 64 * MiB)) == (4, None)  # one per CPU
    assert _encode(_file(tmp_path, 64 * MiB), level=9) == (4, None)
    assert _encode(_file(tmp_path, 20 * MiB), level=9) == (2, None)  # 16 MiB frames
    assert _encode(_file(tmp_path, 9 * MiB), chunk_size=8 * MiB) == (2, None)
    assert _encode(_file(tmp_path, 64 * MiB), level=3) == (4, None)
    assert _encode(_file(tmp_path, 64 * MiB), level=2) == (1, THREAD)  # tens of MB/s: not worth a pool
    assert _encode(_file(tmp_path, 64 * MiB), level=0) == (1, THREAD)
    machine.cpus = 1
    assert _encode(_file(tmp_path, 64 * MiB)) == (1, THREAD)


def test_what_is_not_worth_workers_stays_on_the_coding_thread(tmp_path, machine):
    big = _file(tmp_path, 64 * MiB)
    assert _encode("-") == (1, THREAD)  # standard input: its size is not known
    assert _encode(big, shared_context=True) == (1, THREAD)  # its frames are coded in order
    assert _encode(big, workers=1) == (1, THREAD)  # -T decides
    assert _encode(big, workers=3) == (3, THREAD)
    assert _encode(big, workers=0) == (0, THREAD)  # one per CPU, as -T 0 always meant
    assert _encode(big, scheduler="local") == (1, THREAD)  # a cluster's size is -T's


def test_workers_fit_in_a_quarter_of_the_memory(tmp_path, machine):
    from sigmalang._memory import estimate_memory_usage

    big = _file(tmp_path, 64 * MiB)
    three = estimate_memory_usage(4 * MiB, 3, 6).total
    machine.memory = 4 * three  # three workers fit, four do not
    assert _encode(big) == (3, None)
    machine.memory = 4 * three - 1
    assert _encode(big) == (2, None)
    machine.memory = 1 << 20
    assert _encode(big) == (1, THREAD)


def test_decoding_counts_the_frames_of_the_index(tmp_path, machine, monkeypatch):
    """As many workers as frames, from the index, for streams of the levels that are worth them
    (the level and chunk size from the stream's header)."""
    data = (b"a line of a log that repeats itself, 0123456789\n" * (9 * MiB // 48 + 1))[: 9 * MiB]
    source = tmp_path / "big.txt"
    source.write_bytes(data)
    stream = tmp_path / "big.sgl"
    assert main(["-1", "-q", "-T", "1", "--chunk-size", "3MiB", str(source), "-o", str(stream)]) == 0
    opts = Options("decode", [str(stream)], executor=THREAD)
    assert coders(opts, str(stream), True) == (1, THREAD)  # written at level 1: decoded as fast
    monkeypatch.setattr(_cli_files, "AUTO_LEVEL_MIN", 1)  # (level 3 and up code 9 MiB for seconds)
    assert coders(opts, str(stream), True) == (3, None)  # three frames of 3 MiB
    small = tmp_path / "small.sgl"
    small_source = tmp_path / "small.txt"
    small_source.write_bytes(data[: 2 * MiB])
    assert main(["-1", "-q", "-T", "1", "--chunk-size", "64KiB", str(small_source), "-o", str(small)]) == 0
    assert coders(opts, str(small), True) == (1, THREAD)  # 32 frames, but 2 MiB in all
    # grep: over the frames of all its files (standard input has no index, and counts for nothing)
    assert _cli_grep._auto_workers([str(small), "-"]) == 1
    assert _cli_grep._auto_workers([str(stream), str(small), "-"]) == 4  # 35 frames, 11 MiB; 4 CPUs
    machine.cpus = 2
    assert _cli_grep._auto_workers([str(stream)]) == 2


def test_the_default_writes_what_one_worker_writes(tmp_path, machine, monkeypatch, capsysbinary):
    """A file of three frames coded on three workers (processes), then decoded and searched on
    three: the same bytes as with -T 1."""
    used = []
    real = _cli_files.coders

    def spy(opts, source, decoding):
        found = real(opts, source, decoding)
        used.append(found[0])
        return found

    monkeypatch.setattr(_cli_files, "coders", spy)
    monkeypatch.setattr(_cli_files, "AUTO_LEVEL_MIN", 1)  # level 1: seconds less than level 3
    lines = b"".join(b"%08d GET /item/%d 200 %d\n" % (i, i * 37 % 1001, i * 13 % 997) for i in range(400_000))
    source = tmp_path / "access.log"
    source.write_bytes(lines[: 9 * MiB])
    auto, one = tmp_path / "auto.sgl", tmp_path / "one.sgl"
    assert main(["-1", "-q", str(source), "-o", str(auto)]) == 0
    assert main(["-1", "-q", "-T", "1", str(source), "-o", str(one)]) == 0
    assert auto.read_bytes() == one.read_bytes()
    back = tmp_path / "back.txt"
    assert main(["-d", "-q", str(auto), "-o", str(back)]) == 0
    assert back.read_bytes() == source.read_bytes()
    assert used == [3, 1, 3]
    capsysbinary.readouterr()
    found = []
    for workers in ([], ["-T", "1"]):
        assert main(["grep", *workers, "-n", " GET /item/77 200 ", str(auto)]) == 0
        found.append(capsysbinary.readouterr().out)
    assert found[0] == found[1] and found[0].count(b"\n") > 100


def test_an_input_of_unknown_size_is_read_ahead_to_choose(machine, monkeypatch):
    """Standard input (or a URL): its first 8 MiB are read to see whether it has them; whatever is
    found, the encoder then reads the input from its start."""
    data = bytes(range(256)) * (9 * MiB // 256)
    for size, expected in ((len(data), (4, None)), (AUTO_WORKERS_MIN - 1, (1, THREAD)), (0, (1, THREAD))):
        opts = Options("encode", ["-"], executor=THREAD)
        fin, workers, executor = _cli_files._encode_coders(opts, "-", io.BytesIO(data[:size]))
        assert (workers, executor) == expected
        assert fin.read() == data[:size]
    for options in ({"workers": 1}, {"level": 2}, {"shared_context": True}):
        given = io.BytesIO(data)
        opts = Options("encode", ["-"], executor=THREAD, **options)
        assert _cli_files._encode_coders(opts, "-", given) == (given, 1, THREAD)
        assert given.tell() == 0  # nothing read ahead


def test_standard_input_of_8_mib_is_coded_on_workers(tmp_path, machine, monkeypatch, capsysbinary):
    monkeypatch.setattr(_cli_files, "AUTO_LEVEL_MIN", 1)  # level 1: seconds less than level 3
    used = []
    real = _cli_files.auto_workers
    monkeypatch.setattr(_cli_files, "auto_workers", lambda *args: used.append(real(*args)) or used[-1])
    data = b"".join(b"%08d GET /item/%d 200\n" % (i, i * 37 % 1001) for i in range(400_000))[: 9 * MiB]
    written = []
    for workers in ([], ["-T", "1"]):
        monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data)))
        capsysbinary.readouterr()
        assert main(["-1", "-q", "-c", *workers]) == 0
        written.append(capsysbinary.readouterr().out)
    assert written[0] == written[1] and sigmalang.decompress(written[0]) == data
    assert used == [2, 4]  # two would be worth reading ahead for, then one per CPU
