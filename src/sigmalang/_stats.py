"""What one streaming encode or decode did: sizes, records, workers, time and peak memory."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

__all__ = ["StreamStats"]


@dataclass
class StreamStats:
    """What one encode or decode did. Times in seconds, sizes in bytes, memory as RSS bytes."""

    bytes_in: int = 0
    bytes_out: int = 0
    chunks: int = 0
    records: int = 0  # container records written or read: header, frames, index, trailer
    workers: int = 1
    started: float = field(default_factory=time.perf_counter)
    finished: float = 0.0
    peak_memory: int = 0
    notes: list[str] = field(default_factory=list)  # what ``--verbose`` shows, e.g. a fallback taken
    decoding: bool = False  # the input is the encoded side (bytes_in encoded, bytes_out original)
    _last_sample: float = field(default=0.0, repr=False)

    @property
    def glyphs(self) -> int:
        """The former name of :attr:`records`; use that."""
        return self.records

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def throughput(self) -> float:
        """Bytes read per second (``bytes_in / elapsed``; not MB/s): original bytes when encoding,
        encoded bytes when decoding."""
        return self.bytes_in / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ratio(self) -> float:
        """Original size over encoded size, for encoding and decoding alike (below 1 when the encoded
        side is the larger); 0.0 when the encoded side is empty."""
        original, encoded = (self.bytes_out, self.bytes_in) if self.decoding else (self.bytes_in, self.bytes_out)
        return original / encoded if encoded else 0.0

    def sample_memory(self, force: bool = False) -> None:
        """Record RSS of this process and its children (psutil), at most every 0.2 s."""
        now = time.perf_counter()
        if not force and now - self._last_sample < 0.2:
            return
        self._last_sample = now
        proc = psutil.Process()
        rss = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                rss += child.memory_info().rss
        self.peak_memory = max(self.peak_memory, rss)

    def finish(self) -> StreamStats:
        self.sample_memory(force=True)
        self.finished = time.perf_counter()
        return self

    def as_dict(self) -> dict[str, Any]:
        hidden = ("started", "finished", "decoding")
        out = {k: v for k, v in asdict(self).items() if not k.startswith("_") and k not in hidden}
        if not self.notes:
            del out["notes"]
        out.update(
            glyphs=self.records,  # the former name of "records", kept for readers of this dict
            elapsed=round(self.elapsed, 6),
            throughput=round(self.throughput, 1),
            ratio=round(self.ratio, 4),
        )
        return out
