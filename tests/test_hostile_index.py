"""Streams whose frames and index agree on sizes the header forbids: every reader rejects them
with the forward reader's error, before allocating anything by the sizes they claim.

The damaged golden vectors (tests/vectors) hold the same faults; these tests add the command line
(one line, no traceback) under an address-space limit, and the recovery scan.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import sigmalang
from sigmalang._recover import scan

VECTORS = Path(__file__).resolve().parent / "vectors"
MANIFEST = {e["name"]: e for e in json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))["damaged"]}
HOSTILE = ["bad-frame-and-index-huge", "bad-cm-frame-and-index-huge", "bad-frame-and-index-empty", "bad-chunk-size-one"]
LIMIT = 2 << 30  # address space for the command line: far below what the streams claim


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NUMBA_DISABLE_JIT=os.environ.get("NUMBA_DISABLE_JIT", "0"))
    return subprocess.run(
        [sys.executable, "-m", "sigmalang", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        preexec_fn=_limit_memory if sys.platform == "linux" else None,
    )


@pytest.mark.parametrize("name", HOSTILE)
def test_random_access_reader_raises_the_forward_error(name: str) -> None:
    entry = MANIFEST[name]
    data = (VECTORS / entry["file"]).read_bytes()
    with pytest.raises(sigmalang.SigmaFormatError) as forward:
        sigmalang.decompress(data)
    with pytest.raises(sigmalang.SigmaFormatError) as indexed, sigmalang.open(io.BytesIO(data)) as f:
        f.seek(0, io.SEEK_END)
        f.seek(0)
        f.read()
    assert str(indexed.value) == str(forward.value)
    assert entry["message"] in str(forward.value)


@pytest.mark.parametrize("name", HOSTILE)
def test_scan_reports_the_frame_damaged_without_decoding_it(name: str) -> None:
    data = (VECTORS / MANIFEST[name]["file"]).read_bytes()
    out = bytearray()
    result = scan(io.BytesIO(data), out.extend)
    assert not result.ok
    assert len(out) == result.intact_bytes < 1 << 20


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="address-space limit through setrlimit")
@pytest.mark.parametrize("name", ["bad-frame-and-index-huge", "bad-cm-frame-and-index-huge"])
@pytest.mark.parametrize("command", [["decode", "-c", "--range", "0:10"], ["decode", "-c"], ["verify"], ["recover"]])
def test_cli_says_one_line(name: str, command: list[str], tmp_path: Path) -> None:
    source = tmp_path / MANIFEST[name]["file"]
    source.write_bytes((VECTORS / MANIFEST[name]["file"]).read_bytes())
    extra = ["-o", str(tmp_path / "out")] if command == ["recover"] else []
    done = _cli(*command, *extra, str(source))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert "exceeds the chunk size" in done.stderr + done.stdout
    if command[0] == "decode":
        assert done.stderr.count("\n") == 1
