"""Experiment: would splitting the glyph code into sub-streams help PPMd? No format change.

::

    python benchmarks/substreams_experiment.py FILE|- [--name NAME] [--chunks 1M,4M] [--limit BYTES] [--jobs N]

    python benchmarks/substreams_experiment.py CORPUS/dickens.txt --chunks 1M,4M
    cat CORPUS/loghub/*.log | python benchmarks/substreams_experiment.py - --name loghub --chunks 1M,4M

Each chunk (cut at a line end as the codec cuts it, ``codec.chunk_end``) is turned into its glyph
code by the real transform (``sigmalang.semantic.encode``, the defaults every semantic level uses)
and coded as today: one PPMd stream, order 6, 64 MiB (``PpmdBackend(6, 64)``, verify off). The
same glyph code is then split, in several ways, into a *skeleton* and side streams:

=========  ==========================================================  ==========================
stream     what moves there                                            skeleton keeps
=========  ==========================================================  ==========================
``num``    the decimal digits of each ``FC digits`` delta, then ``0A``  ``FC``
``time``   the bytes after ``FB`` of each TEMPORAL glyph (k c… e)       ``FB``
``line``   the distance byte *d* of each ``F9 d`` / ``FA d``            ``F9`` / ``FA``
``ids``    the 1 or 2 code bytes of each reference                      its case prefix, then ``80``
``ids2``   the 2 code bytes of each two-byte reference (rarer words)    its case prefix, then the
                                                                       first two-byte lead byte
=========  ==========================================================  ==========================

The header and codebook stay at the start of the skeleton; escapes (``FF b``) and literals stay in
it. Every side stream is self-delimiting (``num`` by its ``0A``, ``time`` by its last byte
``C0``–``DF``, ``ids`` and ``ids2`` by the lead byte, ``line`` one byte each), and every placeholder says which
stream the next token comes from, so a decoder that has the streams rebuilds the glyph code; the
script does exactly that for every split and checks the result (``merge``).

**Side information** a decoder would need, counted in every split total: one byte naming the
split, ``varint(n)`` (decoded length) of each stream and ``varint(c)`` (coded length) of every stream
but the last (PPMd payloads are concatenated, so all but the last need their end). An empty stream
has no payload. The single stream is charged its ``varint(n)`` as today's frame body is. The
``num`` separators are inside the ``num`` stream and are coded with it.

Each stream is coded with PPMd order 6, 64 MiB; the "best" total codes each side stream with the
best of orders 2, 3, 4 and 6 (the order is in each payload already, so the choice costs nothing);
the skeleton always uses order 6. zstd -19 of the single code and of the split streams is printed
for comparison. Only sizes are printed, no times.
"""

from __future__ import annotations

import argparse
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from sigmalang import semantic
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._chunking import chunk_end
from sigmalang._wire import encode_varint
from sigmalang.semantic.codebook import CODE_BASE, CODE_END
from sigmalang.semantic.lines import TEMPORAL_TOKEN
from sigmalang.semantic.transform import CODE_END_2, VERSION_2, read_header

KINDS = ("num", "time", "line", "ids")
SPLITS: dict[str, tuple[str, ...]] = {
    "num": ("num",),
    "time": ("time",),
    "num+time": ("num", "time"),
    "num+time+line": ("num", "time", "line"),
    "ids": ("ids",),
    "ids2": ("ids2",),
    "all": ("num", "time", "line", "ids"),
}
SIDE_ORDERS = (2, 3, 4, 6)
PLACEHOLDER_REF = 0x80


def ref_codes(short: int, end_lead: int) -> bytes:
    """A regex (no group) for one reference's code bytes, without its case prefix."""
    codes = []
    if short:
        codes.append(rb"[\x%02x-\x%02x]" % (CODE_BASE, CODE_BASE + short - 1))
    if short < end_lead - CODE_BASE:
        codes.append(rb"[\x%02x-\x%02x][\x00-\xff]" % (CODE_BASE + short, end_lead - 1))
    return b"|".join(codes)


def tokenizer(version: int, short: int) -> re.Pattern[bytes]:
    """Every non-literal glyph of a body, one named group per kind (literals are the gaps)."""
    end_lead = CODE_END_2 if version == VERSION_2 else CODE_END
    parts = [rb"(?P<num>\xfc[0-9]+)", rb"(?P<esc>\xff[\x80-\xff])"]
    if version == VERSION_2:
        parts += [rb"(?P<line>[\xf9\xfa][\x80-\xff])", rb"(?P<time>" + TEMPORAL_TOKEN + rb")"]
    parts.append(rb"(?P<ids>[\xfd\xfe]?(?:" + ref_codes(short, end_lead) + rb"))")
    return re.compile(b"|".join(parts), re.DOTALL)


def split(code: bytes, kinds: tuple[str, ...]) -> tuple[bytes, dict[str, bytes]]:
    """The skeleton and the side streams of *code* with the glyphs of *kinds* moved out."""
    version, _flags, book, pos = read_header(code, versions=True)
    skeleton = [code[:pos]]
    streams: dict[str, list[bytes]] = {k: [] for k in kinds}
    last = pos
    lead = bytes([CODE_BASE + book.short])  # ids2's placeholder: the first two-byte lead, unused then
    for m in tokenizer(version, book.short).finditer(code, pos):
        kind = m.lastgroup
        tok = m.group()
        if kind == "ids" and "ids2" in streams:
            kind = "ids2" if len(tok) - (tok[0] in (0xFD, 0xFE)) == 2 else ""
        if kind not in streams:
            continue
        skeleton.append(code[last : m.start()])
        if kind == "num":
            skeleton.append(tok[:1])
            streams[kind].append(tok[1:] + b"\n")
        elif kind in ("ids", "ids2"):
            prefix = tok[:1] if tok[0] in (0xFD, 0xFE) else b""
            skeleton.append(prefix + (lead if kind == "ids2" else bytes([PLACEHOLDER_REF])))
            streams[kind].append(tok[len(prefix) :])
        else:  # time, line: marker stays, the rest moves
            skeleton.append(tok[:1])
            streams[kind].append(tok[1:])
        last = m.end()
    skeleton.append(code[last:])
    return b"".join(skeleton), {k: b"".join(v) for k, v in streams.items()}


def merge(skeleton: bytes, streams: dict[str, bytes]) -> bytes:
    """What a decoder does: rebuild the glyph code from the skeleton and the side streams."""
    version, _flags, book, pos = read_header(skeleton, versions=True)
    end_lead = CODE_END_2 if version == VERSION_2 else CODE_END
    codes = ref_codes(book.short, end_lead)
    parts = [rb"(?P<esc>\xff[\x80-\xff])"]
    parts.append(rb"(?P<num>\xfc(?![0-9]))" if "num" in streams else rb"(?P<keepnum>\xfc[0-9]+)")
    if version == VERSION_2:
        parts.append(rb"(?P<line>[\xf9\xfa])" if "line" in streams else rb"(?P<keepline>[\xf9\xfa][\x80-\xff])")
        parts.append(rb"(?P<time>\xfb)" if "time" in streams else rb"(?P<keeptime>" + TEMPORAL_TOKEN + rb")")
    one_byte = ref_codes(book.short, CODE_BASE + book.short) if book.short else b""
    two_byte = book.short < end_lead - CODE_BASE
    if "ids" in streams:
        parts.append(rb"(?P<ids>[\xfd\xfe]?\x80)")
    elif "ids2" in streams and two_byte:  # the lead alone is the placeholder; one-byte references stay
        parts.append(rb"(?P<ids2>[\xfd\xfe]?\x%02x)" % (CODE_BASE + book.short))
        if one_byte:
            parts.append(rb"(?P<keepids>[\xfd\xfe]?(?:" + one_byte + rb"))")
    else:
        parts.append(rb"(?P<keepids>[\xfd\xfe]?(?:" + codes + rb"))")
    readers = {
        "num": re.compile(rb"[0-9]+(?=\n)"),
        "time": re.compile(rb"[\x80-\xbf]{1,11}[\xc0-\xdf]"),
        "line": re.compile(rb"[\x80-\xff]"),
        "ids": re.compile(codes, re.DOTALL),
    }
    if two_byte:
        readers["ids2"] = re.compile(rb"[\x%02x-\x%02x][\x00-\xff]" % (CODE_BASE + book.short, end_lead - 1), re.DOTALL)
    at = dict.fromkeys(streams, 0)
    out = [skeleton[:pos]]
    last = pos
    for m in re.compile(b"|".join(parts), re.DOTALL).finditer(skeleton, pos):
        kind = m.lastgroup
        if kind not in streams:
            continue
        out.append(skeleton[last : m.end() - (1 if kind in ("ids", "ids2") else 0)])
        taken = readers[kind].match(streams[kind], at[kind])
        if taken is None:
            raise ValueError(f"stream {kind} ends early")
        out.append(taken.group())
        at[kind] = taken.end() + (1 if kind == "num" else 0)
        last = m.end()
    out.append(skeleton[last:])
    if any(at[k] != len(s) for k, s in streams.items()):
        raise ValueError("a side stream has bytes left over")
    return b"".join(out)


def ppmd(data: bytes, order: int) -> int:
    return len(PpmdBackend(order, 64).encode(data)) if data else 0


def zstd19(data: bytes) -> int:
    return len(zstandard.ZstdCompressor(level=19).compress(data)) if data else 0


def side_info(lengths: list[int], coded: list[int]) -> int:
    """Split id byte, varint(n) per stream, varint(coded length) of all streams but the last."""
    return 1 + sum(len(encode_varint(n)) for n in lengths) + sum(len(encode_varint(c)) for c in coded[:-1])


@dataclass
class SplitResult:
    raw: dict[str, int] = field(default_factory=dict)  # stream -> its length (skeleton included)
    o6: dict[str, int] = field(default_factory=dict)  # stream -> PPMd order 6 bytes
    best: dict[str, int] = field(default_factory=dict)  # stream -> best PPMd bytes (side: orders 2-6)
    best_order: dict[str, int] = field(default_factory=dict)
    zstd: dict[str, int] = field(default_factory=dict)
    side_o6: int = 0
    side_best: int = 0
    side_zstd: int = 0


@dataclass
class ChunkResult:
    index: int
    size: int
    glyph: int
    version: int
    single: int = 0  # varint(n) + PPMd order 6
    single_zstd: int = 0
    splits: dict[str, SplitResult] = field(default_factory=dict)


def measure(args: tuple[int, bytes]) -> ChunkResult:
    index, chunk = args
    if not semantic.worth_trying(chunk):
        raise SystemExit(f"chunk {index}: the codec would not use the semantic transform here")
    code = semantic.encode(chunk)
    res = ChunkResult(index, len(chunk), len(code), code[0])
    head = len(encode_varint(len(code)))
    res.single = head + ppmd(code, 6)
    res.single_zstd = head + zstd19(code)
    for name, kinds in SPLITS.items():
        skeleton, streams = split(code, kinds)
        if merge(skeleton, streams) != code:
            raise AssertionError(f"chunk {index}: split {name} does not merge back")
        out = SplitResult()
        for key, data in [("skel", skeleton), *streams.items()]:
            out.raw[key] = len(data)
            out.o6[key] = ppmd(data, 6)
            out.zstd[key] = zstd19(data)
            if key == "skel" or not data:
                out.best[key], out.best_order[key] = out.o6[key], 6
            else:
                sizes = {o: (out.o6[key] if o == 6 else ppmd(data, o)) for o in SIDE_ORDERS}
                order = min(sizes, key=lambda o: (sizes[o], o))
                out.best[key], out.best_order[key] = sizes[order], order
        lengths = list(out.raw.values())
        out.side_o6 = side_info(lengths, list(out.o6.values()))
        out.side_best = side_info(lengths, list(out.best.values()))
        out.side_zstd = side_info(lengths, list(out.zstd.values()))
        res.splits[name] = out
    return res


def chunks(data: bytes, size: int) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        end = chunk_end(memoryview(data)[pos:], size, final=True)
        out.append((len(out), data[pos : pos + end]))
        pos += end
    return out


def gain(single: int, total: int) -> str:
    return f"{100.0 * (single - total) / single:+.2f}%"


def parse_size(text: str) -> int:
    units = {"K": 10, "M": 20}
    return int(text[:-1]) << units[text[-1].upper()] if text[-1].upper() in units else int(text)


def report(name: str, size_name: str, results: list[ChunkResult]) -> None:
    total = ChunkResult(-1, sum(r.size for r in results), sum(r.glyph for r in results), 0)
    total.single = sum(r.single for r in results)
    total.single_zstd = sum(r.single_zstd for r in results)
    for split_name in SPLITS:
        agg = SplitResult()
        for r in results:
            one = r.splits[split_name]
            for attr in ("raw", "o6", "best", "zstd"):
                mine, theirs = getattr(agg, attr), getattr(one, attr)
                for k, v in theirs.items():
                    mine[k] = mine.get(k, 0) + v
            for k, o in one.best_order.items():
                agg.best_order.setdefault(k, o)
                if agg.best_order[k] != o:
                    agg.best_order[k] = 0  # differs between chunks
            agg.side_o6 += one.side_o6
            agg.side_best += one.side_best
            agg.side_zstd += one.side_zstd
        total.splits[split_name] = agg

    print(f"\n### {name}, chunk {size_name}: PPMd bytes per chunk (split totals include side information)\n")
    head = "| input | chunk | bytes | v | glyph code | single o6 |"
    rule = "| --- | ---: | ---: | ---: | ---: | ---: |"
    for s in SPLITS:
        head += f" {s} o6 | {s} best | gain |"
        rule += " ---: | ---: | ---: |"
    print(head)
    print(rule)
    for r in [*results, total]:
        label = "all" if r.index < 0 else str(r.index)
        row = f"| {name} | {label} | {r.size:,} | {r.version or '-'} | {r.glyph:,} | {r.single:,} |"
        for s in SPLITS:
            sp = r.splits[s]
            o6 = sum(sp.o6.values()) + sp.side_o6
            best = sum(sp.best.values()) + sp.side_best
            row += f" {o6:,} | {best:,} | {gain(r.single, best)} |"
        print(row)

    print(f"\n### {name}, chunk {size_name}: streams summed over the chunks (raw bytes → PPMd o6 / best order)\n")
    print("| split | stream | raw | o6 | best | order | zstd -19 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| single | glyph code | {total.glyph:,} | {total.single:,} | {total.single:,} | 6 | {total.single_zstd:,} |"
    )
    for s in SPLITS:
        sp = total.splits[s]
        for k in sp.raw:
            order = sp.best_order[k] or "mixed"
            print(f"| {s} | {k} | {sp.raw[k]:,} | {sp.o6[k]:,} | {sp.best[k]:,} | {order} | {sp.zstd[k]:,} |")
        print(f"| {s} | side info | | {sp.side_o6:,} | {sp.side_best:,} | | {sp.side_zstd:,} |")
        o6 = sum(sp.o6.values()) + sp.side_o6
        best = sum(sp.best.values()) + sp.side_best
        zs = sum(sp.zstd.values()) + sp.side_zstd
        print(
            f"| {s} | **total** | {sum(sp.raw.values()):,} | {o6:,} ({gain(total.single, o6)}) "
            f"| {best:,} ({gain(total.single, best)}) | | {zs:,} ({gain(total.single_zstd, zs)}) |"
        )
    # an encoder that tries every split per chunk and keeps the smallest (single: +1 byte naming it)
    adaptive = 0
    picks: dict[str, int] = {}
    for r in results:
        options = {"single": r.single + 1}
        options.update({s: sum(sp.best.values()) + sp.side_best for s, sp in r.splits.items()})
        pick = min(options, key=lambda k: (options[k], k != "single"))
        adaptive += options[pick]
        picks[pick] = picks.get(pick, 0) + 1
    chosen = ", ".join(f"{k} x{n}" for k, n in picks.items())
    print(f"\nadaptive: {name} chunk {size_name}: {adaptive:,} ({gain(total.single, adaptive)}), chunks: {chosen}")
    print(
        f"summary: {name} chunk {size_name}: {total.size:,} B, single PPMd o6 {total.single:,} "
        f"(ratio {total.size / total.single:.3f}); "
        + "; ".join(
            f"{s} {sum(sp.best.values()) + sp.side_best:,} ({gain(total.single, sum(sp.best.values()) + sp.side_best)})"
            for s, sp in total.splits.items()
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="input file, or - for stdin")
    parser.add_argument("--name", help="label in the tables (default: the file's name)")
    parser.add_argument("--chunks", default="4M", help="chunk sizes, comma-separated (e.g. 1M,4M)")
    parser.add_argument("--limit", type=parse_size, help="use only the first BYTES of the input")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (chunks in parallel)")
    args = parser.parse_args()
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    if args.limit:
        data = data[: args.limit]
    name = args.name or ("stdin" if args.file == "-" else Path(args.file).name)
    print(f"# {' '.join(sys.argv)}\n# input {name}: {len(data):,} bytes", flush=True)
    for size_name in args.chunks.split(","):
        work = chunks(data, parse_size(size_name))
        if args.jobs > 1:
            with ProcessPoolExecutor(args.jobs) as pool:
                results = list(pool.map(measure, work))
        else:
            results = [measure(w) for w in work]
        report(name, size_name, results)


if __name__ == "__main__":
    main()
