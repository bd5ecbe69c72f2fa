"""Compare sigmalang with the compressors people use, on the same files, in one run.

    python benchmarks/compare.py FILES... [--concat] [--levels 1,6,9] [--chunk-size 16MiB] [--shared-context]
                                 [--chart out.png]

Prints a markdown table: ratio (input / output bytes), encode and decode speed (MB/s of input,
10**6 bytes), and peak RSS of the process doing the work. Every measurement runs in its own
child process, so peak RSS is that tool's alone:

* sigmalang levels: a child Python process calls ``sigmalang.compress(data, level, chunk_size)``
  and ``sigmalang.decompress`` in-process (one worker; the stream format is the CLI's), timing
  the calls only, not interpreter start-up or file reading (a 4 KiB call first loads the compiled
  model, which numba compiles and caches on disk the first time sigmalang runs);
* gzip, bzip2, xz, zstd: the CLI binaries reading the file and writing a temporary file (if a
  binary is missing, the Python module in a child process); brotli -11 via the ``brotli`` package;
* zpaq -4 and -5 (context mixing) via the ``zpaq`` package, one thread, no hints;
* PPMd alone: ``pyppmd`` order 6 with 16 MB of model memory, fed in 16 KiB slices (larger
  slices were seen to lose bytes; a failed round trip is shown in the table, not hidden).

Every output is decoded and compared with the input; a mismatch aborts the run. Under each
table, each sigmalang level's ratio and speeds as multiples of xz -9's and zpaq -5's in the same
run. Speeds on a shared machine are noisy: the ratios are the robust numbers, and so are speeds
taken as multiples of another tool's in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# A child that times one Python codec in-process and prints JSON.
CHILD = r"""
import json, resource, sys, time
kind, path, arg = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(path, "rb").read()
if kind == "sigmalang":
    import sigmalang
    level, chunk, shared = (int(x) for x in arg.split(":"))
    size = chunk or None  # 0: the level's own chunk size
    enc = lambda d: sigmalang.compress(d, level=level, chunk_size=size, shared_context=bool(shared))
    dec = sigmalang.decompress
    dec(enc(data[:4096]))  # load the compiled model (compiled and cached on disk by the first run ever)
elif kind == "zpaq":
    import zpaq
    enc = lambda d: zpaq.compress(d, level=int(arg), threads=1, hints=False)
    dec = zpaq.decompress
elif kind == "ppmd":
    import pyppmd
    order, mem = (int(x) for x in arg.split(":"))
    def enc(d):
        e = pyppmd.Ppmd7Encoder(order, mem)
        out = [e.encode(d[i:i + (16 << 10)]) for i in range(0, len(d), 16 << 10)]
        return b"".join(out) + e.flush(endmark=True)
    def dec(c):
        return pyppmd.Ppmd7Decoder(order, mem).decode(c, len(data))
else:
    import importlib
    mod = importlib.import_module(kind)
    if kind == "brotli":
        enc = lambda d: mod.compress(d, quality=int(arg))
    elif kind == "lzma":
        enc = lambda d: mod.compress(d, preset=int(arg))
    elif kind == "zstandard":
        enc = lambda d: mod.ZstdCompressor(level=int(arg)).compress(d)
    else:
        enc = lambda d: mod.compress(d, int(arg))
    dec = mod.ZstdDecompressor().decompress if kind == "zstandard" else mod.decompress
t = time.perf_counter(); packed = enc(data); t_enc = time.perf_counter() - t
t = time.perf_counter(); back = dec(packed); t_dec = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"size": len(packed), "enc": t_enc, "dec": t_dec, "rss": rss, "failed": back != data}))
"""

# name, CLI argv (encode), CLI argv (decode), fallback (module, arg)
CLI_TOOLS = [
    ("gzip -9", ["gzip", "-9", "-c"], ["gzip", "-d", "-c"], ("gzip", "9")),
    ("gzip -6", ["gzip", "-6", "-c"], ["gzip", "-d", "-c"], ("gzip", "6")),
    ("bzip2 -9", ["bzip2", "-9", "-c"], ["bzip2", "-d", "-c"], ("bz2", "9")),
    ("xz -9", ["xz", "-9", "-c", "-T1"], ["xz", "-d", "-c"], ("lzma", "9")),
    ("zstd -19 --long", ["zstd", "-19", "--long", "-c", "-q", "-T1"], ["zstd", "-dcq", "--long"], ("zstandard", "19")),
]


def run_cli(argv: list[str], src: Path, dst: Path) -> tuple[float, int]:
    """Run *argv* with *src* on stdin and *dst* as stdout; return (seconds, peak RSS bytes).

    Peak RSS comes from GNU time when it is there (a child forked from this Python process would
    report the parent's pages as its own high-water mark), else from ``wait4``.
    """
    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r") as report, src.open("rb") as fin, dst.open("wb") as fout:
        wrapped = [gnu_time, "-f", "%M", "-o", report.name, *argv] if os.path.exists(gnu_time) else argv
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=fin, stdout=fout)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        rss = usage.ru_maxrss * 1024
        if wrapped is not argv:
            rss = int(report.read().split()[-1]) * 1024
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(argv)} failed with exit status {os.waitstatus_to_exitcode(status)}")
    return elapsed, rss


def measure_cli(name: str, enc: list[str], dec: list[str], path: Path, tmp: Path) -> dict[str, float]:
    packed, unpacked = tmp / "packed", tmp / "unpacked"
    t_enc, rss_enc = run_cli(enc, path, packed)
    t_dec, rss_dec = run_cli(dec, packed, unpacked)
    if unpacked.read_bytes() != path.read_bytes():
        raise SystemExit(f"{name}: round trip FAILED")
    return {"size": packed.stat().st_size, "enc": t_enc, "dec": t_dec, "rss": max(rss_enc, rss_dec)}


def measure_child(kind: str, arg: str, path: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path), arg], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"{kind} {arg}: {out.stderr.strip()}")
    result: dict[str, float] = json.loads(out.stdout)
    return result


def parse_size(text: str) -> int:
    units = {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "k": 1 << 10, "m": 1 << 20}
    lower = text.strip().lower()
    for unit, factor in units.items():
        if lower.endswith(unit):
            return int(float(lower[: -len(unit)]) * factor)
    return int(lower)


def tools(levels: list[int], chunk_size: int, shared: bool = False, zpaq: bool = True) -> list[tuple[str, str, object]]:
    """(name, kind, spec) for every measurement, in table order."""
    out: list[tuple[str, str, object]] = []
    for level in levels:
        out.append((f"sigmalang -{level}", "child", ("sigmalang", f"{level}:{chunk_size}:0")))
        if shared:
            out.append((f"sigmalang -{level} --shared-context", "child", ("sigmalang", f"{level}:{chunk_size}:1")))
    for name, enc, dec, fallback in CLI_TOOLS:
        if shutil.which(enc[0]):
            out.append((name, "cli", (enc, dec)))
        else:
            out.append((name + " (py)", "child", fallback))
    try:
        import brotli  # noqa: F401

        out.append(("brotli -11", "child", ("brotli", "11")))
    except ImportError:
        print("brotli not installed: pip install 'sigmalang[bench]' to include it", file=sys.stderr)
    out.append(("PPMd o6 16MB", "child", ("ppmd", f"6:{16 << 20}")))
    if zpaq:
        try:
            import zpaq as _zpaq  # noqa: F401

            out += [("zpaq -4", "child", ("zpaq", "4")), ("zpaq -5", "child", ("zpaq", "5"))]
        except ImportError:
            print("zpaq not installed: pip install 'sigmalang[bench]' to include it", file=sys.stderr)
    return out


def measure_all(
    path: Path, levels: list[int], chunk_size: int, shared: bool = False, zpaq: bool = True
) -> list[dict[str, object]]:
    size = path.stat().st_size
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        for name, how, spec in tools(levels, chunk_size, shared, zpaq):
            if how == "cli":
                enc, dec = spec  # type: ignore[misc]
                r = measure_cli(name, enc, dec, path, Path(tmpdir))
            else:
                kind, arg = spec  # type: ignore[misc]
                r = measure_child(kind, arg, path)
            rows.append(
                {
                    "tool": name,
                    "ratio": size / r["size"],
                    "enc": size / r["enc"] / 1e6,
                    "dec": size / r["dec"] / 1e6,
                    "rss": r["rss"] / (1 << 20),
                    "bytes": int(r["size"]),
                    "failed": bool(r.get("failed")),
                }
            )
            print(f"  {name}: done", file=sys.stderr, flush=True)
    return rows


def print_table(title: str, size: int, rows: list[dict[str, object]]) -> None:
    print(f"\n### {title} ({size:,} bytes)\n")
    print("| tool | ratio | encode MB/s | decode MB/s | peak RSS MiB | output bytes |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        tool = f"{r['tool']} (round trip FAILED)" if r.get("failed") else r["tool"]
        print(f"| {tool} | {r['ratio']:.3f} | {r['enc']:.2f} | {r['dec']:.2f} | {r['rss']:.0f} | {r['bytes']:,} |")
    print_against(rows)
    sys.stdout.flush()


def print_against(rows: list[dict[str, object]], peers: tuple[str, ...] = ("xz -9", "zpaq -5")) -> None:
    """Each sigmalang level's ratio and speeds as multiples of those of *peers* in the same run
    (the figures the project's goals are stated in)."""
    found = {r["tool"]: r for r in rows if r["tool"] in peers}
    if not found:
        return
    print()
    for r in rows:
        if str(r["tool"]).startswith("sigmalang"):
            against = "; ".join(
                f"{name}: ratio {_times(r, p, 'ratio')}, encode {_times(r, p, 'enc')}, decode {_times(r, p, 'dec')}"
                for name, p in found.items()
            )
            print(f"{r['tool']} against {against}")


def _times(row: dict[str, object], peer: dict[str, object], key: str) -> str:
    mine, theirs = float(row[key]), float(peer[key])  # type: ignore[arg-type]
    return f"{mine / theirs:.2f}x" if theirs else "-"


def draw_chart(results: list[tuple[str, list[dict[str, object]]]], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("the chart needs matplotlib: pip install 'sigmalang[bench]'") from None
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.5), squeeze=False)
    for ax, (title, rows) in zip(axes[0], results, strict=True):
        for r in rows:
            own = str(r["tool"]).startswith("sigmalang")
            ax.scatter(r["enc"], r["ratio"], marker="o" if own else "s", color="C3" if own else "C0")
            ax.annotate(str(r["tool"]), (r["enc"], r["ratio"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("encode MB/s (log)")
        ax.set_ylabel("ratio")
        ax.set_title(title, fontsize=9)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--concat", action="store_true", help="measure the files concatenated, as one input")
    parser.add_argument("--levels", default="1,3,6,9", help="sigmalang levels, comma-separated (default 1,3,6,9)")
    parser.add_argument(
        "--chunk-size", type=parse_size, default=None, help="sigmalang chunk size (default: each level's)"
    )
    parser.add_argument(
        "--shared-context", action="store_true", help="also each level with --shared-context (frames decode in order)"
    )
    parser.add_argument("--no-zpaq", action="store_true", help="leave out zpaq -4/-5 (the slowest tools)")
    parser.add_argument("--chart", metavar="PATH", help="also write a PNG chart of ratio against encode speed")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "src"))
    from sigmalang import DEFAULT_CHUNK_SIZE

    chunk_size = args.chunk_size or 0
    levels = [int(x) for x in args.levels.split(",") if x]
    what = f"{chunk_size:,} bytes" if chunk_size else f"each level's own (default {DEFAULT_CHUNK_SIZE:,} bytes)"
    print(f"sigmalang chunk size {what}, one worker; {os.cpu_count()} CPUs")
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        inputs: list[tuple[str, Path]] = []
        if args.concat:
            joined = Path(tmpdir) / "concat"
            with joined.open("wb") as out:
                for f in args.files:
                    out.write(f.read_bytes())
            inputs.append((f"{len(args.files)} files concatenated", joined))
        else:
            inputs += [(f.name, f) for f in args.files]
        for title, path in inputs:
            rows = measure_all(path, levels, chunk_size, args.shared_context, not args.no_zpaq)
            print_table(title, path.stat().st_size, rows)
            results.append((title, rows))
    if args.chart:
        draw_chart(results, args.chart)
        print(f"\nchart written to {args.chart}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
