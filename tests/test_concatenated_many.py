"""Many concatenated streams decode in time linear in their number (the bytes after each stream
are handed to the next stream's parser, not copied)."""

from __future__ import annotations

import time

import sigmalang


def _cpu_seconds(streams: int) -> float:
    data = sigmalang.compress(b"", 0) * streams
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        assert sigmalang.decompress(data) == b""
        best = min(best, time.process_time() - start)
    return best


def test_empty_streams_decode_in_linear_time() -> None:
    small, large = _cpu_seconds(2000), _cpu_seconds(16000)
    # 8 times the streams: linear work takes about 8 times as long, quadratic work 64 times.
    assert large < 20 * small, (small, large)


def test_unused_data_is_what_follows_the_stream() -> None:
    first, second = sigmalang.compress(b"one", 0), sigmalang.compress(b"two", 0)
    decomp = sigmalang.SigmaDecompressor()
    assert decomp.decompress(first + second[:5]) == b"one"
    assert decomp.eof and decomp.unused_data == second[:5]
    assert decomp.unused_data == second[:5]  # reading it takes nothing away
    rest = sigmalang.SigmaDecompressor(offset=len(first))
    assert rest.decompress(decomp.unused_data + second[5:]) == b"two"
    assert rest.eof and rest.unused_data == b""
