"""StreamBuffer, ChunkedReader, StreamingEncoder/StreamingDecoder and StreamStats."""

from __future__ import annotations

import functools
import io
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from conftest import ShortReadIO, mixed_bytes, read_text_file
from sigmalang._chunking import ChunkedReader, line_window
from sigmalang._errors import SigmaFormatError, SigmaTruncatedError
from sigmalang._info import read_info
from sigmalang._pipeline import StreamBuffer
from sigmalang._stats import StreamStats
from sigmalang._stream import StreamingDecoder, StreamingEncoder

WAIT = 10.0  # generous upper bound for a thread to finish; never reached when the code is right


def wait_until(predicate, timeout=WAIT):
    """Wait (briefly yielding the CPU) until *predicate* holds; fail after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


def in_thread(fn):
    """Run *fn* in a thread; return (thread, result dict with 'value' or 'error', done Event)."""
    result: dict[str, object] = {}
    done = threading.Event()

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:
            result["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result, done


def in_get(buf):
    """Call ``buf.get()`` in a thread and wait until that thread runs; return (result dict, done Event)."""
    started = threading.Event()

    def consumer():
        started.set()
        return buf.get(timeout=WAIT)

    _, result, done = in_thread(consumer)
    started.wait(WAIT)
    return result, done


# -- StreamBuffer ------------------------------------------------------------


def test_buffer_is_fifo():
    buf: StreamBuffer[int] = StreamBuffer(10)
    for i in range(10):
        buf.put(i)
    assert len(buf) == 10
    assert [buf.get() for _ in range(10)] == list(range(10))


def test_buffer_needs_a_positive_size():
    with pytest.raises(ValueError):
        StreamBuffer(0)


def test_put_blocks_while_full_until_a_get():
    buf: StreamBuffer[str] = StreamBuffer(1)
    buf.put("a")
    _, result, done = in_thread(lambda: buf.put("b"))
    wait_until(lambda: buf.full_waits == 1)  # the putter is inside put(), waiting
    assert not done.is_set()
    assert len(buf) == 1
    assert buf.get() == "a"
    assert done.wait(WAIT)
    assert "error" not in result
    assert buf.get(timeout=WAIT) == "b"


def test_get_blocks_while_empty_until_a_put():
    buf: StreamBuffer[str] = StreamBuffer(2)
    result, done = in_get(buf)
    buf.put("x")
    assert done.wait(WAIT)
    assert result == {"value": "x"}


def test_timeouts_raise_timeout_error():
    buf: StreamBuffer[int] = StreamBuffer(1)
    with pytest.raises(TimeoutError):
        buf.get(timeout=0.01)
    buf.put(1)
    with pytest.raises(TimeoutError):
        buf.put(2, timeout=0.01)
    assert buf.get() == 1


def test_close_lets_get_drain_then_raises_closed():
    buf: StreamBuffer[int] = StreamBuffer(5)
    buf.put(1)
    buf.put(2)
    buf.close()
    with pytest.raises(StreamBuffer.Closed):
        buf.put(3)
    assert buf.get() == 1
    assert buf.get() == 2
    with pytest.raises(StreamBuffer.Closed):
        buf.get()
    with pytest.raises(StreamBuffer.Closed):
        buf.get(timeout=0.01)
    assert not buf.cancelled


def test_close_wakes_a_blocked_get():
    buf: StreamBuffer[int] = StreamBuffer(1)
    result, done = in_get(buf)
    buf.close()
    assert done.wait(WAIT)
    assert isinstance(result.get("error"), StreamBuffer.Closed)


def test_cancel_wakes_a_blocked_put():
    buf: StreamBuffer[int] = StreamBuffer(1)
    buf.put(1)
    _, result, done = in_thread(lambda: buf.put(2, timeout=WAIT))
    wait_until(lambda: buf.full_waits == 1)
    buf.cancel()
    assert done.wait(WAIT)
    assert isinstance(result.get("error"), StreamBuffer.Closed)
    assert buf.cancelled
    assert len(buf) == 0


def test_cancel_wakes_a_blocked_get_and_drops_items():
    buf: StreamBuffer[int] = StreamBuffer(1)
    result, done = in_get(buf)
    buf.cancel()
    assert done.wait(WAIT)
    assert isinstance(result.get("error"), StreamBuffer.Closed)
    buf2: StreamBuffer[int] = StreamBuffer(3)
    buf2.put(1)
    buf2.cancel()
    with pytest.raises(StreamBuffer.Closed):
        buf2.get()


def test_high_water_and_full_waits():
    buf: StreamBuffer[int] = StreamBuffer(3)
    assert (buf.high_water, buf.full_waits) == (0, 0)
    buf.put(1)
    buf.put(2)
    buf.get()
    buf.put(3)
    assert buf.high_water == 2
    buf.put(4)
    assert buf.high_water == 3
    with pytest.raises(TimeoutError):
        buf.put(5, timeout=0.01)
    assert buf.full_waits == 1
    assert buf.high_water == 3


def test_producer_consumer_keeps_order_under_backpressure():
    buf: StreamBuffer[int] = StreamBuffer(4)
    n = 5000

    def producer():
        for i in range(n):
            buf.put(i, timeout=WAIT)
        buf.close()

    thread, result, done = in_thread(producer)
    got = []
    while True:
        try:
            got.append(buf.get(timeout=WAIT))
        except StreamBuffer.Closed:
            break
    assert done.wait(WAIT) and "error" not in result
    assert got == list(range(n))
    assert buf.high_water <= 4


# -- ChunkedReader -----------------------------------------------------------


def chunks_of(source, chunk_size, align_lines=True):
    return list(ChunkedReader(source, chunk_size, align_lines=align_lines))


def check_chunks(chunks, data, chunk_size, align_lines=True):
    assert b"".join(c.data for c in chunks) == data
    assert [c.number for c in chunks] == list(range(len(chunks)))
    offset = 0
    for c in chunks:
        assert c.offset == offset
        assert 1 <= len(c.data) <= chunk_size
        offset += len(c.data)
    assert [c.is_final for c in chunks] == [False] * (len(chunks) - 1) + [True] * bool(chunks)
    if not align_lines:
        assert all(len(c.data) == chunk_size for c in chunks[:-1])
        return
    window = line_window(chunk_size)
    for c in chunks[:-1]:
        region = data[c.offset + chunk_size - window : c.offset + chunk_size] if window else b""
        if b"\n" in region:
            # the chunk ends after the last line feed in the window: no line is split
            assert c.data.endswith(b"\n")
            assert c.offset + len(c.data) == c.offset + chunk_size - window + region.rfind(b"\n") + 1
        else:
            assert len(c.data) == chunk_size


def test_empty_input_yields_no_chunk():
    assert chunks_of(io.BytesIO(b""), 10) == []
    assert chunks_of(ShortReadIO(b"", 1), 10) == []


def test_one_byte_is_one_final_chunk():
    (chunk,) = chunks_of(io.BytesIO(b"x"), 10)
    assert chunk == (0, 0, b"x", True)


@pytest.mark.parametrize("chunk_size", [1, 2, 8, 64, 1000])
@pytest.mark.parametrize("fill", [b"a", b"line\n", b"\n"])
def test_exact_multiples_of_the_chunk_size(chunk_size, fill):
    data = (fill * (3 * chunk_size))[: 3 * chunk_size]
    chunks = chunks_of(io.BytesIO(data), chunk_size)
    check_chunks(chunks, data, chunk_size)
    unaligned = chunks_of(io.BytesIO(data), chunk_size, align_lines=False)
    check_chunks(unaligned, data, chunk_size, align_lines=False)
    assert len(unaligned) == 3


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=3000) | st.lists(st.sampled_from([b"ab", b"cd\n", b"\n", b"xyzxyz", b"\r\n"])).map(b"".join),
    st.integers(min_value=1, max_value=600),
    st.integers(min_value=1, max_value=700),
    st.booleans(),
)
def test_chunks_cover_input_and_do_not_depend_on_read_sizes(data, chunk_size, max_read, align_lines):
    reference = chunks_of(io.BytesIO(data), chunk_size, align_lines)
    check_chunks(reference, data, chunk_size, align_lines)
    assert chunks_of(ShortReadIO(data, max_read), chunk_size, align_lines) == reference
    assert chunks_of(ShortReadIO(data, max_read, seed=max_read), chunk_size, align_lines) == reference


@pytest.mark.parametrize("name", ["dickens-64k", "loghub-small"])
@pytest.mark.parametrize("chunk_size", [1024, 4096, 10000])
def test_text_chunks_end_at_line_ends(name, chunk_size):
    data = read_text_file(name)
    reference = chunks_of(io.BytesIO(data), chunk_size)
    check_chunks(reference, data, chunk_size)
    if name.startswith("dickens"):
        assert all(c.data.endswith(b"\n") for c in reference)  # prose: every window holds a line end
    assert chunks_of(ShortReadIO(data, 1000, seed=1), chunk_size) == reference
    assert chunks_of(ShortReadIO(data, 7), chunk_size) == reference


def test_reader_works_on_a_real_pipe():
    import os

    data = mixed_bytes(300_000, seed=3)
    read_fd, write_fd = os.pipe()

    def feed():
        with os.fdopen(write_fd, "wb") as w:
            for i in range(0, len(data), 4093):
                w.write(data[i : i + 4093])
                w.flush()

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=0) as r:
        chunks = chunks_of(r, 50_000)
    thread.join(WAIT)
    assert chunks == chunks_of(io.BytesIO(data), 50_000)
    check_chunks(chunks, data, 50_000)


def test_reader_counts_bytes_read():
    reader = ChunkedReader(ShortReadIO(b"x" * 1000, 33), 100)
    assert sum(len(c.data) for c in reader) == 1000
    assert reader.bytes_read == 1000


# -- StreamingEncoder / StreamingDecoder --------------------------------------


def encode(data, src_factory=io.BytesIO, **kwargs):
    out = io.BytesIO()
    stats = StreamingEncoder(**kwargs).encode_stream(src_factory(data), out)
    return out.getvalue(), stats


def decode(blob, src_factory=io.BytesIO, **kwargs):
    out = io.BytesIO()
    stats = StreamingDecoder(**kwargs).decode_stream(src_factory(blob), out)
    return out.getvalue(), stats


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5000), st.integers(min_value=1, max_value=2048), st.sampled_from([0, 1, 6]))
def test_streaming_round_trip_matches_compress(data, chunk_size, level):
    blob, _ = encode(data, level=level, chunk_size=chunk_size)
    assert blob == sigmalang.compress(data, level=level, chunk_size=chunk_size)
    assert decode(blob)[0] == data


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=4000), st.integers(min_value=1, max_value=512), st.integers(min_value=1, max_value=300))
def test_streaming_from_short_reads(data, chunk_size, max_read):
    blob, _ = encode(data, lambda d: ShortReadIO(d, max_read, seed=max_read), level=1, chunk_size=chunk_size)
    assert blob == sigmalang.compress(data, level=1, chunk_size=chunk_size)
    decoded, _ = decode(blob, lambda b: ShortReadIO(b, max_read), read_size=max_read)
    assert decoded == data


@functools.cache
def _loghub_stream() -> bytes:
    return sigmalang.compress(read_text_file("loghub-small"), chunk_size=4096)  # coded once for the read sizes


@pytest.mark.parametrize("read_size", [1, 7, 1000, 1 << 20])
def test_decoder_read_size_does_not_matter(read_size, loghub_small):
    assert decode(_loghub_stream(), read_size=read_size)[0] == loghub_small


def test_decoder_handles_concatenated_streams():
    parts = [b"first part\n" * 100, b"", bytes(range(256)) * 10]
    blob = b"".join(sigmalang.compress(p, chunk_size=333) for p in parts)
    assert decode(blob, read_size=100)[0] == b"".join(parts)


def test_decoder_rejects_empty_and_truncated_input():
    with pytest.raises(SigmaTruncatedError):
        decode(b"")
    blob = sigmalang.compress(b"abc" * 1000, chunk_size=500)
    with pytest.raises(SigmaTruncatedError):
        decode(blob[:-1])
    with pytest.raises(SigmaFormatError):
        decode(blob + b"garbage")


def test_encode_file_and_decode_file(tmp_path, dickens_64k):
    src = tmp_path / "in.txt"
    src.write_bytes(dickens_64k)
    enc_stats = StreamingEncoder(level=3, chunk_size=8192).encode_file(src, tmp_path / "in.txt.sgl")
    assert (tmp_path / "in.txt.sgl").read_bytes() == sigmalang.compress(dickens_64k, level=3, chunk_size=8192)
    dec_stats = StreamingDecoder().decode_file(tmp_path / "in.txt.sgl", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_bytes() == dickens_64k
    assert enc_stats.bytes_in == dec_stats.bytes_out == len(dickens_64k)
    with pytest.raises(FileExistsError):
        StreamingDecoder().decode_file(tmp_path / "in.txt.sgl", tmp_path / "out.txt")
    StreamingDecoder().decode_file(tmp_path / "in.txt.sgl", tmp_path / "out.txt", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "in.txt.sgl", "out.txt"]


def test_decode_file_leaves_nothing_on_damage(tmp_path):
    blob = bytearray(sigmalang.compress(b"hello\n" * 5000, chunk_size=1000))
    blob[len(blob) // 2] ^= 0x55
    (tmp_path / "bad.sgl").write_bytes(blob)
    with pytest.raises(SigmaFormatError):
        StreamingDecoder().decode_file(tmp_path / "bad.sgl", tmp_path / "bad")
    assert [p.name for p in tmp_path.iterdir()] == ["bad.sgl"]


def test_async_file_api(tmp_path):
    import asyncio

    data = mixed_bytes(50_000, seed=9)
    (tmp_path / "a").write_bytes(data)

    async def run():
        await StreamingEncoder(chunk_size=4096).encode_file_async(tmp_path / "a", tmp_path / "a.sgl")
        await StreamingDecoder().decode_file_async(tmp_path / "a.sgl", tmp_path / "b")

    asyncio.run(run())
    assert (tmp_path / "b").read_bytes() == data


def test_bad_options_are_value_errors():
    with pytest.raises(ValueError):
        StreamingEncoder(level=10)
    with pytest.raises(ValueError):
        StreamingEncoder(chunk_size=0)
    with pytest.raises(ValueError):
        StreamingEncoder(workers=-1)


# -- StreamStats -------------------------------------------------------------


def test_stats_are_filled_in():
    data = mixed_bytes(200_000, seed=5)
    blob, enc = encode(data, level=1, chunk_size=16384)
    assert enc.bytes_in == len(data)
    assert enc.bytes_out == len(blob)
    chunks = list(ChunkedReader(io.BytesIO(data), 16384))
    assert enc.chunks == len(chunks) > 1
    assert enc.records > enc.chunks
    assert enc.elapsed > 0 and enc.throughput > 0 and enc.peak_memory > 0
    assert enc.ratio == pytest.approx(len(data) / len(blob))
    decoded, dec = decode(blob)
    assert decoded == data
    assert dec.bytes_in == len(blob) and dec.bytes_out == len(data)
    assert dec.chunks == enc.chunks
    assert dec.records >= dec.chunks
    assert dec.elapsed > 0 and dec.throughput > 0 and dec.peak_memory > 0
    as_dict = enc.as_dict()
    for key in ("bytes_in", "bytes_out", "chunks", "records", "elapsed", "throughput", "ratio", "peak_memory"):
        assert key in as_dict
    assert not any(k.startswith("_") for k in as_dict)


def test_ratio_is_original_over_encoded_even_when_the_encoding_is_larger():
    data = bytes(range(256)) * 8  # incompressible at this size: the stream is larger than the input
    blob, enc = encode(data, level=0, chunk_size=1024)
    assert len(blob) > len(data)
    assert enc.ratio == pytest.approx(len(data) / len(blob)) and enc.ratio < 1
    _, dec = decode(blob)
    assert dec.ratio == pytest.approx(len(data) / len(blob))
    assert enc.as_dict()["ratio"] == dec.as_dict()["ratio"] == round(enc.ratio, 4)
    assert "decoding" not in dec.as_dict()


def test_encoder_stats_count_every_glyph_record():
    data = mixed_bytes(200_000, seed=5)
    _, enc = encode(data, level=1, chunk_size=16384)
    records = len(list(ChunkedReader(io.BytesIO(data), 16384))) + 3  # header, frames, index, trailer
    assert enc.records == records


def test_stats_of_empty_input():
    blob, stats = encode(b"")
    assert stats.bytes_in == 0 and stats.chunks == 0
    assert stats.bytes_out == len(blob) > 0  # an empty stream still has its header, index and trailer
    assert stats.records == 3
    assert stats.ratio == 0.0  # no input, no ratio (and no division by zero)
    assert stats.as_dict()["ratio"] == 0.0
    assert decode(blob)[0] == b""


def test_stats_elapsed_stops_at_finish():
    stats = StreamStats().finish()
    assert stats.elapsed == stats.elapsed > 0
    assert stats.peak_memory > 0


def test_read_info_without_decoding(dickens_64k):
    blob = sigmalang.compress(dickens_64k, level=2, chunk_size=10_000) + sigmalang.compress(b"x", level=0)
    first, second = read_info(io.BytesIO(blob), read_size=333)
    assert (first.level, first.chunk_size, first.original_size) == (2, 10_000, len(dickens_64k))
    assert first.frames == len(list(ChunkedReader(io.BytesIO(dickens_64k), 10_000)))
    assert first.encoded_size + second.encoded_size == len(blob)
    assert (second.level, second.frames, second.original_size) == (0, 1, 1)
    with pytest.raises(SigmaTruncatedError):
        read_info(io.BytesIO(blob[:-3]))


def test_an_interrupt_does_not_wait_for_a_writer_blocked_on_a_pipe_no_one_reads():
    """Ctrl-C while the writer is stuck and its queue full: the writer's thread is left (a daemon)
    instead of keeping the caller forever."""
    import os
    import signal

    from sigmalang._pipeline import STUCK_WRITER_S

    release, stuck = threading.Event(), threading.Event()

    class Stalled:
        def write(self, data: bytes) -> None:
            stuck.set()
            release.wait(WAIT)  # as a write to a full pipe whose reader has stopped reading

        def flush(self) -> None:
            pass

    pressed: list[float] = []

    def ctrl_c() -> None:
        if stuck.wait(WAIT):
            time.sleep(0.3)  # the queue fills behind the stuck write
            pressed.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=ctrl_c, daemon=True)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            StreamingEncoder(0, 4096).encode_stream(io.BytesIO(b"x" * (4 << 20)), Stalled())
        assert time.monotonic() - pressed[0] < STUCK_WRITER_S + 3.0  # not until the write is released
    finally:
        release.set()
        interrupter.join(WAIT)
