"""Prometheus metrics for the streaming pipeline (``pip install 'sigmalang[metrics]'``).

::

    from sigmalang.metrics import Metrics
    metrics = Metrics()                       # its own CollectorRegistry, not the global one
    StreamingEncoder(metrics=metrics).encode_file("app.log", "app.log.sgl")
    metrics.serve(9100)                       # or metrics.write_textfile("sigmalang.prom")

Every series is labelled ``direction="encode"|"decode"``:

=========================================  ======================================================
``sigmalang_bytes_in_total``               bytes read (original on encode, encoded on decode)
``sigmalang_bytes_out_total``              bytes written
``sigmalang_frames_total``                 frames written (encode) or decoded (decode)
``sigmalang_errors_total{kind}``           runs that ended in an error, by exception class
``sigmalang_frame_seconds``                histogram: seconds to code one job where it ran
``sigmalang_frames_in_flight``             jobs submitted and not yet written
``sigmalang_queue_depth``                  records waiting for the writer thread
``sigmalang_worker_rss_bytes``             resident memory of this process's worker processes
=========================================  ======================================================

The library logs to the ``sigmalang`` logger, which is silent until the application configures
logging. Nothing here is imported by the core: the pipeline calls :meth:`Metrics.watch`.
"""

from __future__ import annotations

import os
from typing import Any

import psutil

from ._extras import require

_prom = require("prometheus_client", "sigmalang.metrics")

__all__ = ["Metrics"]

_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _worker_rss() -> float:
    """Resident bytes of every process below this one (a process pool, a local cluster)."""
    total = 0
    try:
        children = psutil.Process(os.getpid()).children(recursive=True)
    except psutil.Error:
        return 0.0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.Error:  # it ended meanwhile
            continue
    return float(total)


class Metrics:
    """The pipeline's counters, histograms and gauges, in *registry* (a new one by default)."""

    def __init__(self, registry: Any = None):
        self.registry = registry if registry is not None else _prom.CollectorRegistry(auto_describe=True)
        r = self.registry
        labels = ["direction"]
        self.bytes_in = _prom.Counter("sigmalang_bytes_in", "Bytes read", labels, registry=r)
        self.bytes_out = _prom.Counter("sigmalang_bytes_out", "Bytes written", labels, registry=r)
        self.frames = _prom.Counter("sigmalang_frames", "Frames coded", labels, registry=r)
        self.errors = _prom.Counter("sigmalang_errors", "Runs ended by an error", [*labels, "kind"], registry=r)
        self.frame_seconds = _prom.Histogram(
            "sigmalang_frame_seconds", "Seconds to code one job where it ran", labels, buckets=_BUCKETS, registry=r
        )
        self.in_flight = _prom.Gauge(
            "sigmalang_frames_in_flight", "Jobs submitted, not yet written", labels, registry=r
        )
        self.queue_depth = _prom.Gauge("sigmalang_queue_depth", "Records waiting for the writer", labels, registry=r)
        self.worker_rss = _prom.Gauge("sigmalang_worker_rss_bytes", "Resident bytes of worker processes", registry=r)
        self.worker_rss.set_function(_worker_rss)
        self._server: Any = None
        for direction in ("encode", "decode"):  # every series exists from the first scrape, at 0
            for metric in (self.bytes_in, self.bytes_out, self.frames, self.in_flight, self.queue_depth):
                metric.labels(direction)
            self.frame_seconds.labels(direction)

    def watch(self, direction: str) -> _Watch:
        """One run's reporter (the pipeline calls this)."""
        return _Watch(self, direction)

    def serve(self, port: int, addr: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` over HTTP from a daemon thread; returns the port (``0``: any free one)."""
        server, thread = _prom.start_http_server(port, addr=addr, registry=self.registry)
        self._server = (server, thread)
        return int(server.server_port)

    def stop(self) -> None:
        """Stop the HTTP server, if :meth:`serve` started one."""
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self._server = None

    def write_textfile(self, path: str) -> None:
        """Write the registry in the text format to *path*, atomically (node exporter's textfile collector)."""
        _prom.write_to_textfile(path, self.registry)

    def text(self) -> str:
        """The registry in Prometheus' text format."""
        return str(_prom.generate_latest(self.registry).decode())


class _Watch:
    """What one encode or decode run reports (prometheus_client's metrics are thread-safe)."""

    def __init__(self, metrics: Metrics, direction: str):
        self._m = metrics
        self._direction = direction

    def in_flight(self, count: int) -> None:
        self._m.in_flight.labels(self._direction).set(count)

    def item_seconds(self, seconds: float) -> None:
        self._m.frame_seconds.labels(self._direction).observe(seconds)

    def frame(self, bytes_in: int, bytes_out: int) -> None:
        d = self._direction
        self._m.bytes_in.labels(d).inc(bytes_in)
        self._m.bytes_out.labels(d).inc(bytes_out)
        self._m.frames.labels(d).inc()

    def queue_depth(self, count: int) -> None:
        self._m.queue_depth.labels(self._direction).set(count)

    def error(self, exc: BaseException) -> None:
        self._m.errors.labels(self._direction, type(exc).__name__).inc()
        self._m.in_flight.labels(self._direction).set(0)
