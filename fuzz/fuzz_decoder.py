"""Coverage-guided fuzzing of every ΣLANG decoder with atheris (libFuzzer for Python).

    pip install -e '.[fuzz]'
    python fuzz/fuzz_decoder.py fuzz/corpus -max_total_time=600

The property: whatever the bytes, each decoder returns the original content or raises
SigmaFormatError (for the one-shot, incremental, indexed and streaming decoders), and the
recovery scan returns a report; any other exception, a hang or a crash is a finding. When the
first input byte is odd, every record's CRC32C is recomputed before decoding, so that damage
reaches the layers behind the checksums (record parsing, index checks, zstd).
"""

from __future__ import annotations

import io
import os

import atheris
from fuzzlib import fix_crcs, fuzz

with atheris.instrument_imports():
    import sigmalang
    from sigmalang._index import SeekTable
    from sigmalang._recover import scan
    from sigmalang._stream import StreamingDecoder

SEEDS = [
    b"",
    b"a",
    b"hello\n",
    b"line one\nline two\n" * 40,
    bytes(range(256)) * 8,
    b"".join(b"2024-03-01 12:%02d:%02d INFO block %d served\n" % (m, s, m * s) for m in range(20) for s in (1, 31)),
    "line one \u00e9\r\nline two \U0001f600\r\n".encode("utf-16") * 20,  # UTF-16 text: transform 6
]


class _Sink:
    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _expect_format_error(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return fn(*args)
    except (sigmalang.SigmaFormatError, sigmalang.SigmaCodebookError):
        return None


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    data = fix_crcs(raw[1:]) if raw[0] & 1 else raw[1:]
    whole = _expect_format_error(sigmalang.decompress, data)
    decomp = sigmalang.SigmaDecompressor()
    pieces = []
    try:
        for i in range(0, len(data), 7):
            if decomp.eof:
                break
            pieces.append(decomp.decompress(data[i : i + 7], 64))
            while not decomp.eof and not decomp.needs_input:
                pieces.append(decomp.decompress(b"", 64))
    except (sigmalang.SigmaFormatError, sigmalang.SigmaCodebookError):
        pieces = []
    if whole is not None and decomp.eof and not decomp.unused_data and b"".join(pieces) != whole:
        raise AssertionError("incremental and one-shot decoders disagree")
    _expect_format_error(StreamingDecoder().decode_stream, io.BytesIO(data), _Sink())
    table = _expect_format_error(SeekTable.from_file, io.BytesIO(data))
    if table is not None and len(table):
        _expect_format_error(table.read_frame, io.BytesIO(data), len(table) - 1)
    scan(io.BytesIO(data))


def write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for n, seed in enumerate(SEEDS):
        for level, chunk, shared in ((0, 64, 0), (1, 100, 0), (3, 300, 1), (6, 1 << 20, 0), (6, 200, 1), (9, 500, 0)):
            blob = sigmalang.compress(seed, level=level, chunk_size=chunk, shared_context=bool(shared))
            with open(os.path.join(directory, f"seed-{n}-{level}-{chunk}-{shared}"), "wb") as f:
                f.write(b"\x00" + blob)
                f.flush()


if __name__ == "__main__":
    fuzz(test_one_input, write_seeds)
