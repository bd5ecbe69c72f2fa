"""The reliability harness (fuzz/reliability.py) in small: mutated streams through every decoder
entry point give the same bytes or a SigmaError, and a worker that aborts is recorded with its
input while the run goes on. The long run is a documented command (docs/robustness.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "fuzz" / "reliability.py"


def _run(out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(HARNESS), "--out", str(out), "--jobs", "1", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)


@pytest.mark.slow
def test_mutated_streams_find_nothing(tmp_path: Path) -> None:
    done = _run(tmp_path, "--cases", "60", "--batch", "30", "--seed", "7")
    summary = json.loads(done.stdout)
    findings = (tmp_path / "findings.jsonl").read_text() if (tmp_path / "findings.jsonl").exists() else ""
    assert summary == {**summary, "cases": 60, "findings": 0, "aborts": 0}, findings[:2000]
    assert done.returncode == 0


@pytest.mark.slow
def test_an_aborting_worker_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    env = dict(os.environ, SIGMALANG_FUZZ_ABORT_AT="5")
    done = _run(tmp_path, "--cases", "12", "--batch", "12", env=env)
    summary = json.loads(done.stdout)
    assert done.returncode == 1
    assert summary["cases"] == 12 and summary["aborts"] == 1 and summary["findings"] == 1
    finding = json.loads((tmp_path / "findings.jsonl").read_text())
    assert finding["case"] == 5 and "worker died" in finding["problems"][0]
    replay = subprocess.run(
        [sys.executable, str(HARNESS), "--replay", "5"], capture_output=True, text=True, timeout=300
    )
    assert json.loads(replay.stdout)["size"] == len(bytes.fromhex(finding["input"]))


@pytest.mark.slow
def test_a_spinning_case_is_a_timeout_and_a_waiting_worker_a_hang(tmp_path: Path) -> None:
    # A case's limit counts CPU time (a case that spins uses it up); a worker that waits is hung
    # after --wait-limit seconds of wall time without a new case.
    env = dict(os.environ, SIGMALANG_FUZZ_SPIN_AT="2", SIGMALANG_FUZZ_SLEEP_AT="6")
    done = _run(tmp_path, "--cases", "10", "--batch", "10", "--case-timeout", "1", "--wait-limit", "8", env=env)
    summary = json.loads(done.stdout)
    assert done.returncode == 1
    findings = {
        f["case"]: f["problems"] for f in map(json.loads, (tmp_path / "findings.jsonl").read_text().splitlines())
    }
    assert findings == {2: ["timeout: over 1.0 s of CPU"], 6: ["hang"]}
    assert summary["cases"] == 10 and summary["aborts"] == 1
