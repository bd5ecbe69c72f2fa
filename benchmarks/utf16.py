"""Text in UTF-16: what transform 6 (its code units coded as UTF-8) saves, beside the other tools.

    python benchmarks/utf16.py FILE... [--level 6] [--encoding utf-16]

Each FILE (text in UTF-8) is read, written in ``--encoding`` (``utf-16``: little-endian with a
byte order mark, as Windows writes it; ``utf-16-le``, ``utf-16-be``), and that is compressed by
sigmalang at ``--level`` as it is (transform 6 where the writer takes it), by sigmalang with
transform 6 turned off (the chunks coded as bytes, as before it), by xz -9 and by zpaq -4 and -5
(the ``bench`` extra), in one process, one after the other. The UTF-8 file itself at the same level
is the yardstick: transform 6 aims at what the text costs in UTF-8. Every sigmalang output is
decoded and compared. Times are wall-clock seconds of one run each (compare them within a row: the
machine may be shared). The table is markdown, ready to paste.
"""

from __future__ import annotations

import argparse
import lzma
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

import sigmalang  # noqa: E402
from sigmalang import _codec  # noqa: E402


def _timed(call: Callable[[], bytes]) -> tuple[bytes, float]:
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def _sigmalang(data: bytes, level: int, transform: bool) -> tuple[int, float]:
    real = _codec._utf16_body
    if not transform:
        _codec._utf16_body = lambda *args: None  # type: ignore[assignment]
    try:
        packed, seconds = _timed(lambda: sigmalang.compress(data, level))
    finally:
        _codec._utf16_body = real  # type: ignore[assignment]
    if sigmalang.decompress(packed) != data:
        raise SystemExit("round trip FAILED")
    return len(packed), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--level", type=int, default=6)
    parser.add_argument("--encoding", default="utf-16", choices=["utf-16", "utf-16-le", "utf-16-be"])
    args = parser.parse_args(argv)
    try:
        import zpaq
    except ImportError:
        zpaq = None
    level = args.level
    print(f"sigmalang -{level} on text written in {args.encoding}; bytes out (seconds to encode)")
    print()
    head = f"| file | UTF-8 bytes | -{level} on the UTF-8 | {args.encoding} bytes | -{level} "
    head += f"| -{level} without transform 6 | xz -9 | zpaq -4 | zpaq -5 | saved by transform 6 |"
    print(head)
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in args.files:
        utf8 = path.read_bytes()
        data = utf8.decode("utf-8", "surrogateescape").encode(args.encoding, "surrogatepass")
        base, base_s = _sigmalang(utf8, level, True)
        on, on_s = _sigmalang(data, level, True)
        off, off_s = _sigmalang(data, level, False)
        xz, xz_s = _timed(lambda: lzma.compress(data, preset=9))  # noqa: B023
        cells = [f"{base:,} ({base_s:.2f})", f"{len(data):,}", f"{on:,} ({on_s:.2f})", f"{off:,} ({off_s:.2f})"]
        cells.append(f"{len(xz):,} ({xz_s:.2f})")
        for zlevel in (4, 5):
            if zpaq is None:
                cells.append("n/a")
                continue
            packed, seconds = _timed(lambda: zpaq.compress(data, level=zlevel, threads=1, hints=False))  # noqa: B023
            cells.append(f"{len(packed):,} ({seconds:.2f})")
        cells.append(f"{1 - on / off:.1%}")
        print(f"| {path.name} | {len(utf8):,} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
