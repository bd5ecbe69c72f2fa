"""Prometheus metrics of a real run: /metrics scraped over HTTP on localhost while an encode runs,
the text file checked with prometheus_client's own parser, and JSON progress lines."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import read_text_file
from sigmalang import StreamingDecoder, StreamingEncoder, WorkerError
from sigmalang.cli import main
from sigmalang.metrics import Metrics


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_counters_histogram_and_gauges_after_an_encode_and_a_decode():
    data = read_text_file("loghub-small")
    metrics = Metrics()
    out = io.BytesIO()
    stats = StreamingEncoder(1, 4 << 10, metrics=metrics).encode_stream(io.BytesIO(data), out)
    StreamingDecoder(metrics=metrics).decode_stream(io.BytesIO(out.getvalue()), io.BytesIO())
    s = _samples(metrics.text())
    assert _value(s, "sigmalang_bytes_in_total", direction="encode") == len(data)
    assert _value(s, "sigmalang_frames_total", direction="encode") == stats.chunks
    assert _value(s, "sigmalang_frame_seconds_count", direction="encode") == stats.chunks
    assert _value(s, "sigmalang_bytes_out_total", direction="decode") == len(data)
    assert _value(s, "sigmalang_bytes_in_total", direction="decode") < len(out.getvalue())  # frame bodies only
    assert _value(s, "sigmalang_frames_in_flight", direction="encode") == 0
    assert ("sigmalang_worker_rss_bytes", ()) in s


def test_a_registry_of_its_own_not_the_global_one():
    from prometheus_client import REGISTRY

    metrics = Metrics()
    assert metrics.registry is not REGISTRY
    assert "sigmalang_frames_total" not in REGISTRY._names_to_collectors
    Metrics()  # a second one does not clash with the first


def test_errors_are_counted_by_kind():
    metrics = Metrics()
    with pytest.raises(Exception) as caught:
        StreamingDecoder(metrics=metrics).decode_stream(io.BytesIO(b"not a stream at all"), io.BytesIO())
    kind = type(caught.value).__name__
    assert _value(_samples(metrics.text()), "sigmalang_errors_total", direction="decode", kind=kind) == 1
    assert kind != WorkerError.__name__


def test_textfile_is_valid_exposition_format(tmp_path):
    src = tmp_path / "a.log"
    src.write_bytes(read_text_file("loghub-small"))
    prom = tmp_path / "sigmalang.prom"
    assert main(["-1", "-q", "--chunk-size", "4KiB", "--metrics-textfile", str(prom), str(src)]) == 0
    s = _samples(prom.read_text())
    assert _value(s, "sigmalang_bytes_in_total", direction="encode") == src.stat().st_size
    assert _value(s, "sigmalang_frames_total", direction="encode") >= 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _scrape(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return _samples(response.read().decode())
    except OSError:
        return None


@pytest.mark.slow
def test_metrics_port_scraped_twice_during_an_encode_shows_counters_advancing(tmp_path):
    src = tmp_path / "big.log"
    src.write_bytes(read_text_file("loghub-sample") * 6)  # about 2.5 MB: a run of many seconds at -4
    port = _free_port()
    cmd = [sys.executable, "-m", "sigmalang", "-4", "--chunk-size", "16KiB", "--metrics-port", str(port)]
    cmd += ["--progress", "json", str(src)]
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    frames: list[float] = []
    bytes_in: list[float] = []
    try:
        deadline = time.monotonic() + 300
        while len(frames) < 2 and process.poll() is None and time.monotonic() < deadline:
            scraped = _scrape(port)
            if scraped is not None:
                count = _value(scraped, "sigmalang_frames_total", direction="encode")
                if count > (frames[-1] if frames else 0):
                    frames.append(count)
                    bytes_in.append(_value(scraped, "sigmalang_bytes_in_total", direction="encode"))
            time.sleep(0.2)
        _, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert len(frames) == 2 and frames[1] > frames[0] > 0
    assert bytes_in[1] > bytes_in[0] > 0
    progress = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert progress and all(p["direction"] == "encode" for p in progress)
    assert [p["bytes_in"] for p in progress] == sorted(p["bytes_in"] for p in progress)


def test_the_sigmalang_logger_is_silent_unless_the_application_configures_logging():
    code = "import logging, sigmalang\nlogging.getLogger('sigmalang').warning('should not be printed')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stderr == ""
    code += "\nlogging.basicConfig()\nlogging.getLogger('sigmalang').warning('now printed')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stderr.strip() == "WARNING:sigmalang:now printed"
