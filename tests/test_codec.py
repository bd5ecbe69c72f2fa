"""The chunk codec: every level round-trips every input, never expands past the bound, and a
damaged frame body is a ChunkDecodeError."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import _codec, _levels
from sigmalang._backend_base import CM, PPMD, STORE, BackendError
from sigmalang._backend_ppmd import PpmdBackend
from sigmalang._backends import CmBackend
from sigmalang._codec import ChunkDecodeError, decode_chunk, encode_chunk
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_SEMANTIC, TRANSFORM_WRAPS

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
ALL_LEVELS = sorted(_levels.LEVELS)
# Levels 5 to 8 differ only in the model's largest table (and the stream's chunk size), and a table
# is sized to its chunk: on the inputs below, levels 5, 7 and 8 write exactly what level 6 writes.
# Those three are marked slow; the fast suite codes at every other level.
EACH_LEVEL = [pytest.param(level, marks=pytest.mark.slow) if level in (5, 7, 8) else level for level in ALL_LEVELS]


def roundtrip(data: bytes, level: int) -> _codec.EncodedChunk:
    encoded = encode_chunk(data, level)
    assert decode_chunk(encoded.transform, encoded.backend, encoded.data, len(data)) == data
    return encoded


@pytest.mark.parametrize("level", EACH_LEVEL)
@pytest.mark.parametrize("name", ["dickens-64k.txt", "loghub-small.log"])
def test_fixtures_roundtrip_at_every_level(name: str, level: int) -> None:
    data = (FIXTURES / name).read_bytes()
    encoded = roundtrip(data, level)
    if level:
        assert len(encoded.data) < len(data) // 2


def test_default_level_uses_the_context_mixing_model() -> None:
    encoded = roundtrip(DICKENS, _levels.DEFAULT_LEVEL)
    assert (encoded.transform, encoded.backend) == (TRANSFORM_WRAPS, CM)  # hard-wrapped prose
    unwrapped = DICKENS.replace(b"\r\n", b" ")
    assert (roundtrip(unwrapped, _levels.DEFAULT_LEVEL).transform, encoded.backend) == (TRANSFORM_LITERAL, CM)
    ppmd = encode_chunk(DICKENS, 3)
    assert (ppmd.transform, ppmd.backend) == (TRANSFORM_SEMANTIC, PPMD)
    assert len(encoded.data) < len(ppmd.data)  # the model beats PPMd over the glyph code


@pytest.mark.parametrize("level", EACH_LEVEL)
def test_incompressible_input_is_stored(level: int) -> None:
    data = os.urandom(100_000)
    encoded = roundtrip(data, level)
    assert (encoded.transform, encoded.backend) == (TRANSFORM_LITERAL, STORE)
    assert len(encoded.data) <= len(data) + len(data) // 1000 + 64


def _coded_lengths(monkeypatch: pytest.MonkeyPatch, refuse: int = -1) -> list[int]:
    """The length of each input the CM or PPMd codes from now on; the CM refuses inputs of *refuse* bytes."""
    seen: list[int] = []
    cm, ppmd = CmBackend.encode_at_most, PpmdBackend.encode

    def cm_spy(self: CmBackend, data: bytes, prime: bytes, limit: int | None) -> bytes | None:
        seen.append(len(data))
        if len(data) == refuse:
            raise BackendError("refused")
        return cm(self, data, prime, limit)

    def ppmd_spy(self: PpmdBackend, data: bytes, prime: bytes = b"") -> bytes:
        seen.append(len(data))
        return ppmd(self, data, prime)

    monkeypatch.setattr(CmBackend, "encode_at_most", cm_spy)
    monkeypatch.setattr(PpmdBackend, "encode", ppmd_spy)
    return seen


@pytest.mark.parametrize("level", [3, 4, 6, 9])
def test_a_chunk_the_model_cannot_shrink_is_stored_after_coding_a_sample(
    monkeypatch: pytest.MonkeyPatch, level: int
) -> None:
    data = random.Random(level).randbytes(1 << 20)
    seen = _coded_lengths(monkeypatch)
    encoded = roundtrip(data, level)
    assert (encoded.transform, encoded.backend, encoded.data) == (TRANSFORM_LITERAL, STORE, data)
    assert seen == [_codec.GUARD_PIECE] * _codec.GUARD_PIECES


def test_a_sample_the_backend_refuses_leaves_the_chunk_to_be_coded(monkeypatch: pytest.MonkeyPatch) -> None:
    data = random.Random(11).randbytes(256 << 10)
    seen = _coded_lengths(monkeypatch, refuse=_codec.GUARD_PIECE)
    encoded = roundtrip(data, 6)
    assert seen == [_codec.GUARD_PIECE, len(data)]  # the first piece refused, then the whole chunk
    assert encoded.backend == STORE  # which did not shrink


def test_text_is_coded_without_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    # above GUARD_MIN; bytes far from equally frequent, so no sample is coded (and no line feeds,
    # so no sample of a wrap code either)
    data = DICKENS.replace(b"\r\n", b" ") * 2
    assert len(data) >= _codec.GUARD_MIN
    seen = _coded_lengths(monkeypatch)
    assert roundtrip(data, 6).backend == CM
    assert seen == [len(data)]


def _repeats_itself(rng: random.Random) -> bytes:
    block = rng.randbytes(96 << 10)
    return block + rng.randbytes(64 << 10) + block  # the sample's pieces fall in different parts


def _pairs(rng: random.Random) -> bytes:
    return bytes(b for x in rng.randbytes(96 << 10) for b in (x, x ^ 0x5A))  # every byte tells the next


@pytest.mark.parametrize("level", [3, 6])
@pytest.mark.parametrize("make", [_repeats_itself, _pairs])
def test_a_chunk_with_structure_the_byte_counts_miss_is_coded(
    make: Callable[[random.Random], bytes], level: int
) -> None:
    data = make(random.Random(7))
    counts = Counter(data[: _codec.GUARD_PIECE])
    assert max(counts.values()) * 256 <= 2 * _codec.GUARD_PIECE  # as flat as random bytes
    encoded = roundtrip(data, level)
    assert encoded.backend == _levels.level_spec(level).backend
    assert len(encoded.data) < len(data) * 2 // 3


@pytest.mark.parametrize("level", [3, 6])
def test_a_chunk_that_repeats_its_context_is_coded(level: int) -> None:
    block = random.Random(3).randbytes(96 << 10)
    spec = _levels.level_spec(level)
    body = _codec.encode_body(block, spec, prime=block)
    assert (body.backend, body.primed) == (spec.backend, True)
    assert len(body.data) < len(block) // 10
    assert _codec.encode_body(block, spec).backend == STORE  # without the context: nothing to find


def test_a_chunk_shorter_than_the_guard_is_coded_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    line = b"structure a byte count misses\n"
    data = line * 4 + random.Random(5).randbytes(_codec.GUARD_MIN - 1 - 4 * len(line))
    seen = _coded_lengths(monkeypatch)
    assert roundtrip(data, 6).backend == STORE  # the model could not shrink it either
    assert seen == [len(data)]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from(ALL_LEVELS))
def test_random_bytes_roundtrip(data: bytes, level: int) -> None:
    encoded = roundtrip(data, level)
    assert len(encoded.data) <= len(data)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=800), st.sampled_from(ALL_LEVELS))
def test_random_unicode_roundtrip(text: str, level: int) -> None:
    roundtrip(text.encode("utf-8", "surrogatepass"), level)


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(
        [
            lambda b: b.replace(b"\n", b"\r\n"),
            lambda b: b.replace(b" ", b"\t", 50),
            lambda b: b.replace(b"\n", b"  \n"),
            lambda b: b.swapcase(),
            lambda b: b.replace(b"e", b"e7", 300),
            lambda b: b.replace(b"a", b"\xe9\xff", 40),
        ]
    ),
    st.integers(0, 60_000),
    st.sampled_from(ALL_LEVELS),
    st.booleans(),
)
def test_mutated_real_text_roundtrips(mutate, start: int, level: int, logs: bool) -> None:  # type: ignore[no-untyped-def]
    source = LOGS if logs else DICKENS
    start %= len(source) - 3000
    roundtrip(mutate(source[start : start + 3000]), level)


@pytest.mark.parametrize("level", [3, 6])
@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, 10**9), junk=st.binary(min_size=1, max_size=3))
def test_damaged_payload_is_a_chunk_decode_error(level: int, position: int, junk: bytes) -> None:
    data = LOGS[:5000]
    encoded = encode_chunk(data, level)
    position %= len(encoded.data)
    damaged = encoded.data[:position] + junk + encoded.data[position + len(junk) :]
    try:
        out = decode_chunk(encoded.transform, encoded.backend, damaged, len(data))
    except ChunkDecodeError:
        return
    assert len(out) == len(data)  # undetected here, caught by the frame's CRC


@pytest.mark.parametrize("payload", [b"", b"\xff\xff\xff\xff\xff\xff", b"\x80", b"\xff\xff\xff\x7f\x06\x10"])
def test_bad_semantic_prefix_is_a_chunk_decode_error(payload: bytes) -> None:
    with pytest.raises(ChunkDecodeError):
        decode_chunk(TRANSFORM_SEMANTIC, PPMD, payload, 1000)


def test_unknown_ids_are_chunk_decode_errors() -> None:
    with pytest.raises(ChunkDecodeError):
        decode_chunk(7, STORE, b"x", 1)
    with pytest.raises(ChunkDecodeError):
        decode_chunk(TRANSFORM_LITERAL, 9, b"x", 1)


def test_levels_are_documented_choices() -> None:
    assert _levels.level_spec(1).backend != PPMD  # level 1 is the fast one
    assert all(_levels.LEVELS[n].describe() for n in ALL_LEVELS)
    with pytest.raises(ValueError):
        _levels.level_spec(10)
