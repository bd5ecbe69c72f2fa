"""verify, recover, --salvage, --range and random access on damaged and intact multi-frame streams."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import sigmalang
from sigmalang._index import SeekTable
from sigmalang.cli import main

pytestmark = pytest.mark.slow  # every test works on a 3.5 MiB stream, some with process pools

FIXTURES = Path(__file__).parent / "fixtures"
MiB = 1 << 20


@pytest.fixture(scope="module")
def text() -> bytes:
    """About 3.5 MiB of real text, varied so that frames differ."""
    base = (FIXTURES / "dickens-64k.txt").read_bytes() + (FIXTURES / "loghub-small.log").read_bytes()
    parts, n = [], 0
    while sum(map(len, parts)) < 3 * MiB + MiB // 2:
        parts.append(b"%d " % n + base)
        n += 1
    return b"".join(parts)


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory, text: bytes) -> Path:
    """*text* encoded with default settings and --chunk-size 1MiB, through the CLI."""
    folder = tmp_path_factory.mktemp("recover")
    src = folder / "text.txt"
    src.write_bytes(text)
    assert main(["encode", "-q", "--chunk-size", "1MiB", str(src)]) == 0
    return folder / "text.txt.sgl"


def _damage_frame(stream: Path, frame: int, tmp_path: Path) -> tuple[Path, SeekTable]:
    blob = bytearray(stream.read_bytes())
    table = SeekTable.from_file(io.BytesIO(bytes(blob)))
    assert len(table) >= 4
    blob[table.offsets[frame] + table.record_sizes[frame] // 2] ^= 0x5A
    bad = tmp_path / "bad.sgl"
    bad.write_bytes(bytes(blob))
    return bad, table


def test_verify_names_the_damaged_frame(stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad, table = _damage_frame(stream, 2, tmp_path)
    assert main(["verify", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"frame 2 at byte offset {table.offsets[2]}" in err
    assert f"original bytes {table.original_offsets[2]}-{table.original_offsets[3]}" in err
    assert main(["verify", "--json", str(bad)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [d["number"] for d in report["streams"][0]["damaged"]] == [2]


def test_verify_accepts_an_intact_stream(stream: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(stream)]) == 0
    assert "OK" in capsys.readouterr().err


def test_recover_returns_every_other_frame_exactly(stream: Path, text: bytes, tmp_path: Path) -> None:
    bad, table = _damage_frame(stream, 1, tmp_path)
    out = tmp_path / "out.txt"
    assert main(["recover", "-q", str(bad), "-o", str(out)]) == 1
    lost = slice(table.original_offsets[1], table.original_offsets[2])
    assert out.read_bytes() == text[: lost.start] + text[lost.stop :]
    assert lost.stop - lost.start <= MiB  # at most one frame's worth lost


def test_recover_resynchronises_after_a_damaged_length(stream: Path, text: bytes, tmp_path: Path) -> None:
    blob = bytearray(stream.read_bytes())
    table = SeekTable.from_file(io.BytesIO(bytes(blob)))
    blob[table.offsets[2] + 2] ^= 0x7F  # inside the record's length varint
    bad = tmp_path / "bad.sgl"
    bad.write_bytes(bytes(blob))
    out = tmp_path / "out.txt"
    assert main(["recover", "-q", str(bad), "-o", str(out)]) == 1
    assert out.read_bytes() == text[: table.original_offsets[2]] + text[table.original_offsets[3] :]


def test_decode_of_damaged_stream_leaves_no_output_and_salvage_writes_prefix(
    stream: Path, text: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad, table = _damage_frame(stream, 2, tmp_path)
    out = tmp_path / "out.txt"
    assert main(["decode", str(bad), "-o", str(out)]) == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.sgl"]
    capsys.readouterr()
    assert main(["decode", "--salvage", str(bad), "-o", str(out)]) == 1
    assert out.read_bytes() == text[: table.original_offsets[2]]
    assert "salvaged" in capsys.readouterr().err


def test_truncated_stream_names_last_intact_frame(
    stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blob = stream.read_bytes()
    table = SeekTable.from_file(io.BytesIO(blob))
    cut = tmp_path / "cut.sgl"
    cut.write_bytes(blob[: table.offsets[3] + 10])
    assert main(["decode", str(cut), "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "after 3 complete frames" in err[0] and f"{table.original_offsets[3]} original bytes intact" in err[0]
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_seek_and_read_through_the_index(stream: Path, text: bytes, where: str) -> None:
    pos = {"start": 0, "middle": len(text) // 2 + 12345, "end": len(text) - 100}[where]
    with sigmalang.open(stream, "rb") as f:
        f.seek(pos)
        assert f.tell() == pos
        assert f.read(5000) == text[pos : pos + 5000]
        f.seek(-10, io.SEEK_END)
        assert f.read() == text[-10:]
        f.seek(pos)
        assert f.read(1) == text[pos : pos + 1]


def test_decode_range_writes_just_those_bytes(stream: Path, text: bytes, tmp_path: Path) -> None:
    out = tmp_path / "part"
    start, end = MiB - 7, 2 * MiB + 99
    assert main(["decode", "-q", "--range", f"{start}:{end}", str(stream), "-o", str(out)]) == 0
    assert out.read_bytes() == text[start:end]


def test_garbage_and_empty_input_fail_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, blob in {"empty.sgl": b"", "garbage.sgl": bytes(range(256)) * 10}.items():
        path = tmp_path / name
        path.write_bytes(blob)
        assert main(["decode", str(path)]) == 1
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
        assert not (tmp_path / name[:-4]).exists()
        assert main(["verify", str(path)]) == 1
        capsys.readouterr()


@pytest.mark.parametrize("damaged", [(), (1,), (0, 2), (3,)])
def test_scan_on_workers_reports_and_salvages_the_same(stream: Path, tmp_path: Path, damaged: tuple[int, ...]) -> None:
    """verify/recover -T N decode frames on workers; the report and the salvaged bytes must not depend on it."""
    from concurrent.futures import ThreadPoolExecutor

    from sigmalang._recover import scan

    blob = bytearray(stream.read_bytes())
    table = SeekTable.from_file(io.BytesIO(bytes(blob)))
    for frame in damaged:
        blob[table.offsets[frame] + table.record_sizes[frame] // 3] ^= 0x21
    one: list[bytes] = []
    many: list[bytes] = []
    alone = scan(io.BytesIO(bytes(blob)), one.append)
    with ThreadPoolExecutor(3) as pool:
        pooled = scan(io.BytesIO(bytes(blob)), many.append, executor=pool)
    assert pooled.as_dict() == alone.as_dict()
    assert b"".join(many) == b"".join(one)
    assert [d.number for d in alone.streams[0].damaged] == list(damaged)


def test_verify_with_worker_processes(stream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad, _ = _damage_frame(stream, 2, tmp_path)
    assert main(["verify", "--json", str(bad)]) == 1
    alone = json.loads(capsys.readouterr().out)
    assert main(["verify", "--json", "-T", "2", str(bad)]) == 1
    assert json.loads(capsys.readouterr().out) == alone
