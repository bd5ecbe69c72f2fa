"""Write the log-records (transform 4) golden vectors: valid streams and damaged record codes.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The valid streams are written by ``sigmalang.compress``; transform 4 and the CM being
fully specified (docs/FORMAT.md §7.6, §7.2), today's writer must reproduce them byte for byte::

    .venv/bin/python tests/vectors/make_records_vectors.py
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable

from vectorlib import HERE, chunked, compressed_entry, damaged_entry, kinds, update_manifest, valid_entry

import sigmalang
from sigmalang import _frames, _records
from sigmalang._backend_base import CM
from sigmalang._backends import CmBackend
from sigmalang._levels import TRANSFORM_RECORDS
from sigmalang._wire import decode_varint, encode_varint

sys.path.insert(0, str(HERE.parent))
from conftest import service_log  # noqa: E402  (the test suite's sample log: the tests read the same lines)

ORIGIN = "tests/vectors/make_records_vectors.py"
CHUNK = 4096
# The record code version 6 vectors as today's writer writes them, their CM payloads in model
# version 4; the records6-* vectors with the suffix -cm3 hold the same streams with model version
# 3, and those without a suffix with model version 2: kept as they are (decoded, not rewritten).
CM_SUFFIX = "-cm4"


def damaged(data: bytes, edit: Callable[[bytes], bytes]) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte records frames whose frame 0 codes *edit* of its
    record code (the CM payload and the frame's CRC32C are made for the edited code, so only the
    record code's checks can notice). Returns the stream and frame 0's offset. The CM payloads are
    model version 2's, as when these vectors were first written."""
    backend = CmBackend(0x7FF, 16, version=2)

    def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
        records = _records.encode(chunk)
        if number == 0:
            records = edit(records)
        return TRANSFORM_RECORDS, CM, encode_varint(len(records)) + backend.encode(records)

    stream, offsets = chunked(data, CHUNK, 6, code)
    return stream, offsets[0]


def _table_end(code: bytes) -> int:
    """Where the template ids start in a record code: after the version, L, T, I and the table."""
    _, pos = decode_varint(code, 1) or (0, 0)
    table, pos = decode_varint(code, pos) or (0, 0)
    _, pos = decode_varint(code, pos) or (0, 0)
    return pos + table


def _clock_before_midnight(code: bytes) -> bytes:
    """The record code with the first difference in its first clock column made to reach before
    midnight."""
    first = re.search(rb"\n[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{3}\n", code)
    assert first is not None
    start = first.start() + 1
    for _ in range(40):  # the column's entries: clocks until it has found differences cheaper
        start = code.index(b"\n", start) + 1
        end = code.index(b"\n", start)
        if re.fullmatch(rb"-?[0-9]{1,8}", code[start:end]):
            return code[:start] + b"-99999999999" + code[end:]
    raise AssertionError("no difference in the clock column")


def _unused_template(code: bytes) -> bytes:
    """The record code with a template no line uses added at the end of its table (the ids keep
    their width)."""
    lines, pos = decode_varint(code, 1) or (0, 0)
    table, pos = decode_varint(code, pos) or (0, 0)
    ids, pos = decode_varint(code, pos) or (0, 0)
    templates = code[pos : pos + table].count(b"\n")
    assert _records.id_width(templates) == _records.id_width(templates + 1)
    extra = b"unused\x00template\n"
    head = code[:1] + encode_varint(lines) + encode_varint(table + len(extra)) + encode_varint(ids)
    return head + code[pos : pos + table] + extra + code[pos + table :]


def _first_entry_empty(code: bytes) -> bytes:
    """The record code with its first column's first entry written empty."""
    start = _records.parse(code)[3]
    return code[:start] + code[code.index(b"\n", start) :]


def main() -> int:
    logs = service_log(300)
    odd = logs[:3000].replace(b"\n", b"\r\n").replace(b"INFO", b"\xff\xfe\t007 7.50") + b"\x01 no line feed 42"
    messages = [b"request done", b"cache miss", b"request failed: timeout", b"user logged in"]
    json_lines = b"".join(
        b'{"time":"2024-05-01T10:%02d:%02d.%03dZ","level":"%s","pid":%d,"msg":"%s","path":"/api/v1/items/%d"}\n'
        % (
            i // 60 % 60,
            i % 60,
            i * 37 % 1000,
            b"info" if i % 7 else b"warn",
            4000 + i % 3,
            messages[i * i % 4],
            i * 13,
        )
        for i in range(400)
    )
    valid = {
        "records6-log-l6": ("300 lines of a service log at level 6: records frames, 4 KiB frames", logs, 6, False),
        "records6-shared-l6": (
            "the same log with shared context: records frames primed with the template tables of the frames before",
            logs,
            6,
            True,
        ),
        "records6-odd-l6": (
            "CRLF, tabs, non-UTF-8, padded numbers, no final line feed, level 6 with format='logs'",
            odd,
            6,
            False,
        ),
    }
    bad = {
        "bad-records-version": ("frame 0's record code names version 8", lambda c: b"\x08" + c[1:], "version"),
        "bad-records-repeat-first": (
            "frame 0's record code has an empty first entry in its first column (a repeat of nothing)",
            _first_entry_empty,
            "repeats nothing",
        ),
        "bad-records-template-id": (
            "frame 0's first template id is past the table",
            lambda c: c[: _table_end(c)] + b"\x7f" + c[_table_end(c) + 1 :],
            "not in the table",
        ),
        "bad-records-template-unused": (
            "frame 0's template table has one more template, which no line uses",
            _unused_template,
            "used by no line",
        ),
        "bad-records-clock-range": (
            "frame 0's record code has a clock difference that reaches before midnight",
            _clock_before_midnight,
            "clock",
        ),
        "bad-records-column-short": (
            "frame 0's record code lost its last byte (the last value's line feed)",
            lambda c: c[:-1],
            "column ends",
        ),
        "bad-records-column-extra": (
            "frame 0's record code has one more value byte at the end",
            lambda c: c + b"x",
            "after the last column",
        ),
    }
    valid["records6-json-l6"] = (
        "400 JSON lines at level 6 in 16 KiB frames: quoted values as fields, keys in the templates",
        json_lines,
        6,
        False,
    )
    clocks = [b"23:59:59", b"00:00:00,5", b"07:08:09:123456789", b"07:08:09.1234567890", b"99:59:59.000"]
    clocks += [b"12:60:00", b"1:23:45", b"12:34:567", b"12:34:56:78:90", b"T01:02:03Z", b"x12:34:56."]
    clock_lines = b"".join(
        b"%02d:%02d:%02d.%03d step %d %s\n" % (8 + i // 600, i // 10 % 60, i * 7 % 60, i * 211 % 1000, i, clock)
        for i, clock in enumerate(clocks * 110 + clocks[:10])
    )
    valid["records6-clocks-l6"] = (
        "1,200 lines, each starting with a clock and holding a clock or a near-clock of another form, "
        "level 6 with format='logs' in 16 KiB frames",
        clock_lines,
        6,
        False,
    )
    parts = (b"admin", b"oracle", b"test", b"guest", b"ubnt")
    users = [b"%s%s%s" % (a, b[:2], c[-2:]) for a in parts for b in parts for c in parts]  # 125 names
    sshd = b"".join(
        b"Dec 10 06:%02d:%02d LabSZ sshd[%d]: %s\n"
        % (
            i // 60,
            i % 60,
            24000 + i * 7 % 90,
            (b"Invalid user %s from 10.0.%d.%d" % (users[i // 2 % len(users)], i % 7, i * 13 % 250))
            if i % 3
            else b"Failed password for root from 10.0.%d.%d port %d ssh2" % (i % 7, i * 13 % 250, 40000 + i * 37),
        )
        for i in range(330)
    )
    grouped = _records.parse(_records.encode(sshd))[1]
    assert (b"Dec ", b" ", b" LabSZ sshd[", b"]: Invalid user ", b" from ", b"") in grouped and len(grouped) < 9
    valid["records6-groups-l6"] = (
        "330 sshd lines, 100 user names that fail about twice each: the name is a field of one template "
        "(word groups, a writer's choice), level 6 with format='logs' in 16 KiB frames",
        sshd,
        6,
        False,
    )
    proxy = b"".join(
        b"[10.30 16:%02d:%02d] app.exe - proxy.example.org:%d close, %d bytes%s sent, "
        b"from /10.1.%d.%d:%d to /10.1.%d.%d:443 \x01tag%d\n"
        % (
            i // 60,
            i % 60,
            5000 + i % 7,
            size,
            b" (%s KB)" % _records._rescaled(size, 2) if size >= 1024 else b"",
            i % 5,
            i * 7 % 250,
            40000 + i * 37 % 9000,
            i % 5,
            i * 7 % 250,
            i % 3,
        )
        for i, size in enumerate(i * 7919 % 60000 for i in range(300))
    )
    referred = _records.encode(proxy)
    assert referred[0] == 7 and b"\x01C\n" in referred and b"\x012\n" in referred and b"\x01\x01tag" in referred
    valid["records7-refs-l6"] = (
        "300 proxy lines whose sizes are shown again in KB and whose source address is repeated as the "
        "destination, and a value that begins with byte 1: version 7 references, level 6 with format='logs' "
        "in 16 KiB frames",
        proxy,
        6,
        False,
    )
    good = []
    for base, (description, data, level, shared) in valid.items():
        # JSON lines take records from about 16 KiB; the odd lines are too short for records to win
        long_chunk = ("records6-json-l6", "records6-clocks-l6", "records6-groups-l6", "records7-refs-l6")
        chunk = 16384 if base in long_chunk else CHUNK
        as_logs = ("records6-odd-l6", "records6-clocks-l6", "records6-groups-l6", "records7-refs-l6")
        form = "logs" if base in as_logs else "auto"
        name = base + CM_SUFFIX
        good.append(compressed_entry(name, description, data, level, chunk, shared, ORIGIN, form))
        assert b"records+cm" in json.dumps(kinds((HERE / f"{name}.sgl").read_bytes())).encode()
    good.append(_table_primed(logs))
    for name, level, backend in (("records-zstd-l1", 1, "zstd"), ("records-ppmd-l3", 3, "ppmd")):
        if (HERE / f"{name}.sgl").exists():  # written once: zstd and PPMd streams are only decoded
            continue
        encoded = sigmalang.compress(logs, level, chunk_size=CHUNK, format="logs")
        stream = {"writer": "sigmalang.compress", "level": level, "chunk_size": CHUNK, "shared_context": False}
        stream |= {"size": len(logs), "encoded_size": len(encoded), "reproducible": False, "format": "logs"}
        description = f"the 300-line log at level {level} with format='logs': record codes coded by {backend}"
        good.append(valid_entry(name, description, logs, encoded, stream, ORIGIN))
        assert f"records+{backend}" in json.dumps(kinds(encoded))
    broken = []
    for name, (description, edit, message) in bad.items():
        stream, offset = damaged(logs, edit)
        description += "; its CM payload and the frame's CRC32C are made for the edited code"
        broken.append(damaged_entry(name, description, stream, 0, offset, message, ORIGIN))
    update_manifest(good, broken)
    print(f"wrote {len(valid)} valid and {len(bad)} damaged records vectors")
    return 0


def _table_primed(logs: bytes) -> dict[str, object]:
    """records6-shared-table-l6-cm4: the shared-context log with each continuing frame primed with the
    template table of the frame before it alone, as writers do from 1.5 MiB chunks on (lowered to
    every chunk here, so that 4 KiB frames show it)."""
    name = "records6-shared-table-l6" + CM_SUFFIX
    saved = _frames.TABLE_PRIMER
    _frames.TABLE_PRIMER = 0
    try:
        encoded = sigmalang.compress(logs, 6, chunk_size=CHUNK, shared_context=True)
    finally:
        _frames.TABLE_PRIMER = saved
    assert sigmalang.decompress(encoded) == logs
    stream = {"writer": "sigmalang.compress", "level": 6, "chunk_size": CHUNK, "shared_context": True}
    stream |= {"size": len(logs), "encoded_size": len(encoded), "reproducible": False}
    description = (
        "the same log with shared context, each continuing frame primed with the template table of the "
        "frame before it alone (context length L = that table's length), as writers do from 1.5 MiB chunks on"
    )
    return valid_entry(name, description, logs, encoded, stream, ORIGIN)


if __name__ == "__main__":
    sys.exit(main())
