"""Damaged streams: every decoder returns the original or raises SigmaFormatError, nothing else."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang._index import SeekTable
from sigmalang._recover import scan
from sigmalang._stream import StreamingDecoder

pytestmark = pytest.mark.slow  # fuzzing: thousands of damaged streams

TEXT = b"".join(b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(400))
STREAMS = {
    "store": sigmalang.compress(TEXT, level=0, chunk_size=1024),
    "zstd": sigmalang.compress(TEXT, level=1, chunk_size=2048),
    "concat": sigmalang.compress(TEXT[:3000], level=1, chunk_size=1000) + sigmalang.compress(b"tail\n", level=0),
}
ORIGINAL = {"store": TEXT, "zstd": TEXT, "concat": TEXT[:3000] + b"tail\n"}


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def flush(self) -> None:
        pass


def _frame_spans(blob: bytes) -> list[tuple[int, int]]:
    table = SeekTable.from_file(io.BytesIO(blob))
    return [(table.offsets[i], table.offsets[i] + table.record_sizes[i]) for i in range(len(table))]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(STREAMS)))
    blob = bytearray(STREAMS[name])
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "swap"]))
        if not blob:
            break
        at = draw(st.integers(0, len(blob) - 1))
        if kind == "flip":
            blob[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del blob[at:]
        elif kind == "insert":
            blob[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del blob[at : at + draw(st.integers(1, 64))]
        else:
            spans = _frame_spans(STREAMS[name])
            i, j = sorted(draw(st.lists(st.integers(0, len(spans) - 1), min_size=2, max_size=2, unique=True)))
            (a0, a1), (b0, b1) = spans[i], spans[j]
            src = STREAMS[name]
            blob = bytearray(src[:a0] + src[b0:b1] + src[a1:b0] + src[a0:a1] + src[b1:])
    return name, bytes(blob)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_stream_decodes_to_original_or_raises_format_error(case: tuple[str, bytes]) -> None:
    name, blob = case
    with contextlib.suppress(sigmalang.SigmaFormatError):
        assert sigmalang.decompress(blob) == ORIGINAL[name]
    sink = _Sink()
    try:
        StreamingDecoder().decode_stream(io.BytesIO(blob), sink)
        assert bytes(sink.data) == ORIGINAL[name]
    except sigmalang.SigmaFormatError:
        pass
    try:
        with sigmalang.open(io.BytesIO(blob)) as f:
            assert f.read() == ORIGINAL[name]
    except sigmalang.SigmaFormatError:
        pass


@settings(max_examples=200, deadline=None)
@given(mutated())
def test_recovery_scan_never_raises_and_returns_only_original_bytes(case: tuple[str, bytes]) -> None:
    name, blob = case
    pieces: list[bytes] = []
    result = scan(io.BytesIO(blob), pieces.append)
    if result.ok:
        assert b"".join(pieces) == ORIGINAL[name]
    # whatever was salvaged is made of intact frames (one piece each), each a run of the original
    for piece in pieces:
        assert piece in ORIGINAL[name]
    assert sum(map(len, pieces)) == result.intact_bytes
    for stream in result.streams:
        assert stream.intact_bytes <= len(ORIGINAL[name])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_format_errors(blob: bytes) -> None:
    with pytest.raises(sigmalang.SigmaFormatError):
        sigmalang.decompress(blob)
    assert not scan(io.BytesIO(blob)).ok
