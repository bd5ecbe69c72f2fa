"""Write the search-filter golden vectors (docs/FORMAT.md §18): streams whose index carries
per-frame filters (version 2, with a shared filter), one with a line that spans frames, one with a
damaged filter, and one with filters of version 1 (no shared filter), as earlier writers wrote them.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). Level 0 frames and the filters are fully specified, so today's writer must reproduce
the valid streams of version 2 byte for byte; the version 1 stream is written here with the
builder's ``version=1``. Each entry also records searches and the line numbers they
must find (``searches``), checked by ``tests/test_search.py``::

    .venv/bin/python tests/vectors/make_filter_vectors.py
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from vectorlib import Entry, fixture_lines, update_manifest, valid_entry

import sigmalang
from sigmalang import _frames
from sigmalang._filters import FilterBuilder, FrameFilter
from sigmalang._index import SeekTable

ORIGIN = "tests/vectors/make_filter_vectors.py"
CHUNK = 4096
SEARCHES = [("blk_", False), ("Verification succeeded", False), ("^[0-9]+ [0-9]+ WARN", False), ("nomatch", True)]


def _searches(data: bytes) -> list[dict[str, object]]:
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    out = []
    for pattern, fixed in SEARCHES:
        regex = re.compile(re.escape(pattern.encode()) if fixed else pattern.encode())
        found = [n for n, line in enumerate(lines, 1) if regex.search(line)]
        out.append({"pattern": pattern, "fixed": fixed, "lines": found})
    return out


def _damage_filter(stream: bytes, frame: int) -> bytes:
    """*stream* with one bit of *frame*'s filter flipped (the index's own CRC32C does not cover it)."""
    import io

    table = SeekTable.from_file(io.BytesIO(stream))
    f = table.filters[frame]
    assert f is not None and f.bits
    record = FrameFilter.encode(f)
    at = stream.rfind(record)
    assert at > 0 and stream.count(record) == 1
    pos = at + len(record) - 5  # the last byte of its bit array
    return stream[:pos] + bytes([stream[pos] ^ 0x10]) + stream[pos + 1 :]


@contextmanager
def version_1_filters() -> Iterator[None]:
    """While inside, writers build filters of version 1 (no shared filter)."""
    real = _frames.FilterBuilder
    _frames.FilterBuilder = lambda: FilterBuilder(version=1)  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        _frames.FilterBuilder = real  # type: ignore[misc]


def main() -> int:
    logs = fixture_lines("loghub-small.log", 12000)
    long_line = logs[:5000] + b"x" * 3000 + b" spans frames " + b"y" * 3000 + b"\n" + logs[5000:9000]
    valid = {
        "filters-log-l0": ("12 KB of loghub-small at level 0, 4 KiB frames, with search filters", logs),
        "filters-long-line-l0": ("logs with a 6 KB line that spans frames, level 0, with search filters", long_line),
    }
    streams = {}
    entries = []
    for name, (description, data) in valid.items():
        encoded = sigmalang.compress(data, 0, chunk_size=CHUNK, filters=True)
        assert sigmalang.decompress(encoded) == data
        streams[name] = encoded
        entries.append(_entry(name, description, data, encoded, True))
    damaged = _damage_filter(streams["filters-log-l0"], 1)
    description = "filters-log-l0 with a bit of frame 1's filter flipped: decodes as before; frame 1 is a candidate"
    entries.append(_entry("filters-damaged-l0", description, logs, damaged, False))
    with version_1_filters():
        old = sigmalang.compress(logs, 0, chunk_size=CHUNK, filters=True)
    description = "filters-log-l0 with filters of version 1 (no shared filter), as earlier writers wrote them"
    entries.append(_entry("filters-v1-log-l0", description, logs, old, False))
    update_manifest(entries, [])
    print(f"wrote {len(valid) + 2} filter vectors")
    return 0


def _entry(name: str, description: str, data: bytes, encoded: bytes, reproducible: bool) -> Entry:
    stream = {
        "writer": "sigmalang.compress",
        "level": 0,
        "chunk_size": CHUNK,
        "filters": True,
        "size": len(data),
        "encoded_size": len(encoded),
        "reproducible": reproducible,
    }
    return valid_entry(name, description, data, encoded, stream, ORIGIN, searches=_searches(data))


if __name__ == "__main__":
    raise SystemExit(main())
