"""Prototype: log records as templates and columns, coded by the CM, against the CM on bytes.

    python benchmarks/logs_proto.py FILES... [--variants a,b,...]

A line is split into constant text and variables (tokens that hold a digit); the constants form
the line's template. The record code is: the template table, one template id per line, then each
column's values (numbers as deltas against the column's previous number). Every record code is
checked to decode back to the input. The variant ``inline`` keeps the bytes in line order and
only writes numbers as differences against their column. Prints one markdown row per file: bytes, then the ratio
(input bytes / CM payload bytes) of each variant.

The escapes of the template table, the spelling of numbers and the adaptive columns' state are the
product's (``sigmalang._records``, transform 4); the switches around them are what this script adds.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sigmalang import _records  # noqa: E402
from sigmalang._backends import CmBackend  # noqa: E402
from sigmalang._wire import decode_varint, encode_varint  # noqa: E402

DELIMS_WIDE = rb" \t\r\[\](){}<>=,;:\"'|/@"
DELIMS_DOT = DELIMS_WIDE + rb"._\-"
DELIMS_UNDER = DELIMS_WIDE + rb"_"
DELIMS_UNDER_DASH = DELIMS_WIDE + rb"_\-"
NUMBER = re.compile(rb"(?:0|[1-9][0-9]{0,17})\Z")
DELTA = re.compile(rb"-?(0|[1-9][0-9]*)\Z")


def var_pattern(delims: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"((?<![^" + delims + rb"])[^" + delims + rb"\n]*[0-9][^" + delims + rb"\n]*)")


esc = _records._escape
unesc = _records._unescape


class Column:
    """A column's number state: its previous number, recent numbers, and the adaptive choice."""

    __slots__ = ("prev", "recent", "raw_cost", "delta_cost")

    def __init__(self) -> None:
        self.prev = 0
        self.recent: list[int] = []
        self.raw_cost = 0
        self.delta_cost = 0

    def use_delta(self) -> bool:
        return self.delta_cost < self.raw_cost

    def see(self, v: int) -> None:
        d = v - self.prev
        self.raw_cost += 1 if v in self.recent else len(str(v))
        self.delta_cost += len(str(d))
        self.prev = v
        if v not in self.recent:
            self.recent = [v, *self.recent[:3]]


def encode_inline(data: bytes, delims: bytes = DELIMS_WIDE) -> bytes:
    pat = var_pattern(delims)
    cols: dict[object, Column] = {}
    out = []
    for line in data.split(b"\n"):
        parts = pat.split(line)
        for k in range(1, len(parts), 2):
            tok = parts[k]
            key = tuple(parts[0:k:2])
            col = cols.get(key)
            if col is None:
                col = cols[key] = Column()
            if NUMBER.match(tok):
                v = int(tok)
                if col.use_delta():
                    parts[k] = b"+" + str(v - col.prev).encode() if v >= col.prev else str(v - col.prev).encode()
                col.see(v)
            elif tok[:1] in b"+-~":
                parts[k] = b"~" + tok
        out.append(b"".join(parts))
    return b"\n".join(out)


def decode_inline(code: bytes, delims: bytes = DELIMS_WIDE) -> bytes:
    pat = var_pattern(delims)
    cols: dict[object, Column] = {}
    out = []
    for line in code.split(b"\n"):
        parts = pat.split(line)
        for k in range(1, len(parts), 2):
            tok = parts[k]
            key = tuple(parts[0:k:2])
            col = cols.get(key)
            if col is None:
                col = cols[key] = Column()
            if tok[:1] == b"~":
                parts[k] = tok[1:]
                continue
            if NUMBER.match(tok):
                v = int(tok)
            elif tok[:1] in b"+-":
                v = col.prev + int(tok)
                parts[k] = str(v).encode()
            else:
                continue
            col.see(v)
        out.append(b"".join(parts))
    return b"\n".join(out)


def encode(
    data: bytes, delims: bytes = DELIMS_WIDE, delta: int = 1, prefix_cols: bool = True, split: bool = True
) -> list[bytes]:
    """Sections: header, templates, ids, columns (columns one per section when *split*)."""
    pat = var_pattern(delims)
    templates: dict[tuple[bytes, ...], int] = {}
    table: list[bytes] = []
    ids = bytearray()
    cols: dict[object, list[bytes]] = {}
    prev: dict[object, int] = {}
    lines = data.split(b"\n")
    for line in lines:
        parts = pat.split(line)
        consts = tuple(parts[0::2])
        tid = templates.get(consts)
        if tid is None:
            tid = templates[consts] = len(table)
            table.append(b"\x00".join(esc(c) for c in consts) + b"\n")
        ids += encode_varint(tid)
        for k, tok in enumerate(parts[1::2]):
            key = consts[: k + 1] if prefix_cols else (tid, k)
            col = cols.get(key)
            if col is None:
                col = cols[key] = []
                prev[key] = 0
            if delta == 2:  # the product's adaptive rule, applied per column below
                col.append(tok)
            elif delta and NUMBER.match(tok):
                v = int(tok)
                col.append(str(v - prev[key]).encode() + b"\n")
                prev[key] = v
            elif delta and (DELTA.match(tok) or tok[:1] == b'"'):
                col.append(b'"' + tok + b"\n")
            else:
                col.append(tok + b"\n")
    head = encode_varint(len(lines))
    body = [b"".join(table), bytes(ids)]
    code_column = (lambda tokens: _records._column_code([tokens], False)) if delta == 2 else b"".join
    colbytes = [code_column(c) for c in cols.values()]
    return [head, *body, *(colbytes if split else [b"".join(colbytes)])]


def decode(head: bytes, table: bytes, ids: bytes, colstream: bytes, delta: int = 1, prefix_cols: bool = True) -> bytes:
    n, _ = decode_varint(head, 0)
    temps = [tuple(unesc(c) for c in t.split(b"\x00")) for t in table.split(b"\n")[:-1]]
    # Column order is first appearance: replay the ids to find which column each value goes to.
    order: dict[object, int] = {}
    seq = []
    pos = 0
    tids = []
    for _ in range(n):
        tid, pos = decode_varint(ids, pos)
        tids.append(tid)
        consts = temps[tid]
        for k in range(len(consts) - 1):
            key = consts[: k + 1] if prefix_cols else (tid, k)
            if key not in order:
                order[key] = len(order)
            seq.append(order[key])
    counts = [0] * len(order)
    for c in seq:
        counts[c] += 1
    values: list[list[bytes]] = []
    p = 0
    for c in counts:
        vs = []
        for _ in range(c):
            e = colstream.index(b"\n", p)
            vs.append(colstream[p:e])
            p = e + 1
        values.append(vs)
    if delta == 2:
        runs = ([b"\n".join(v)] if v else [] for v in values)
        values = [[t for run in _records._tokens(iter(r), False, False) for t in run] for r in runs]
    at = [0] * len(order)
    prev = [0] * len(order)
    out = []
    i = 0
    for tid in tids:
        consts = temps[tid]
        pieces = [consts[0]]
        for k in range(1, len(consts)):
            c = seq[i]
            i += 1
            v = values[c][at[c]]
            at[c] += 1
            if delta != 2 and delta and DELTA.match(v):
                prev[c] += int(v)
                v = str(prev[c]).encode()
            elif delta and v[:1] == b'"':
                v = v[1:]
            pieces.append(v)
            pieces.append(consts[k])
        out.append(b"".join(pieces))
    return b"\n".join(out)


VARIANTS = {
    "cols-prefix-delta": dict(delims=DELIMS_WIDE, delta=True, prefix_cols=True),
    "cols-prefix-raw": dict(delims=DELIMS_WIDE, delta=False, prefix_cols=True),
    "cols-tmpl-delta": dict(delims=DELIMS_WIDE, delta=True, prefix_cols=False),
    "cols-prefix-adaptive": dict(delims=DELIMS_WIDE, delta=2, prefix_cols=True),
    "dots-prefix-delta": dict(delims=DELIMS_DOT, delta=True, prefix_cols=True),
    "dots-prefix-adaptive": dict(delims=DELIMS_DOT, delta=2, prefix_cols=True),
    "under-prefix-adaptive": dict(delims=DELIMS_UNDER, delta=2, prefix_cols=True),
    "underdash-prefix-adaptive": dict(delims=DELIMS_UNDER_DASH, delta=2, prefix_cols=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--split", action="store_true", help="also code each column alone")
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    cm = CmBackend()
    cm.encode(b"warm-up")
    print("| file | bytes | CM on bytes | " + " | ".join(names) + " |")
    print("| --- | ---: | ---: |" + " ---: |" * len(names))
    tot = [0] * (len(names) + 2)
    for path in args.files:
        data = path.read_bytes()
        raw = len(cm.encode(data))
        cells = []
        for j, name in enumerate(names):
            if name == "inline":  # the bytes in line order, numbers as column differences
                code = encode_inline(data)
                if decode_inline(code) != data:
                    raise SystemExit(f"{path.name} {name}: does not round-trip")
                size = len(cm.encode(code))
                tot[j + 2] += size
                cells.append(f"{len(data) / size:.2f}")
                continue
            opts = VARIANTS[name]
            t = time.process_time()
            secs = encode(data, **opts)  # type: ignore[arg-type]
            tt = time.process_time() - t
            dec = decode(secs[0], secs[1], secs[2], b"".join(secs[3:]), opts["delta"], opts["prefix_cols"])  # type: ignore[arg-type]
            if dec != data:
                raise SystemExit(f"{path.name} {name}: does not round-trip")
            size = len(cm.encode(b"".join(secs)))
            tot[j + 2] += size
            cells.append(f"{len(data) / size:.2f}")
            print(
                f"  {name}: sections {[len(s) for s in secs[:3]]} cols {len(secs) - 3} transform {tt:.2f}s",
                file=sys.stderr,
            )
        tot[0] += len(data)
        tot[1] += raw
        print(f"| {path.name} | {len(data):,} | {len(data) / raw:.2f} | " + " | ".join(cells) + " |", flush=True)
    print(
        f"| all (sum) | {tot[0]:,} | {tot[0] / tot[1]:.2f} | " + " | ".join(f"{tot[0] / t:.2f}" for t in tot[2:]) + " |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
