"""``sigmalang.core.streaming_encoder``: the original streaming module's API on the real pipeline.

The calls below are the ones the original module documented (its names, signatures, attributes
and return shapes); the assertions check that they now do real work: files decode back whole,
records are really parsed, and the estimates are the memory model's.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

import sigmalang
import sigmalang.core
from conftest import read_text_file
from sigmalang._container import MAGIC
from sigmalang._info import read_info
from sigmalang.core import streaming_encoder as legacy
from sigmalang.core.streaming_encoder import (
    BoundaryHandler,
    Chunk,
    ChunkedReader,
    ChunkState,
    StreamBuffer,
    StreamingDecoder,
    StreamingEncoder,
    StreamStats,
    estimate_memory_usage,
    get_optimal_chunk_size,
    get_streaming_vs_full_memory,
)

MiB = 1 << 20
TEXT = read_text_file("dickens-64k")


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_package_and_module_expose_the_same_names():
    assert set(sigmalang.core.__all__) == set(legacy.__all__)
    for name in legacy.__all__:
        assert getattr(sigmalang.core, name) is getattr(legacy, name), name


# -- ChunkedReader ------------------------------------------------------------------------------


def test_chunked_reader_cuts_fixed_size_chunks(tmp_path):
    data = bytes(range(256)) * 400  # 100 KiB
    reader = ChunkedReader(write(tmp_path / "in.bin", data), chunk_size=16384)
    assert reader.get_file_size() == reader.file_size == len(data)
    chunks = list(reader.read_chunks())
    assert [c.chunk_id for c in chunks] == list(range(7))
    assert [len(c.data) for c in chunks] == [16384] * 6 + [len(data) - 6 * 16384]
    assert [c.is_final for c in chunks] == [False] * 6 + [True]
    assert b"".join(c.data for c in chunks) == data
    assert reader.total_read == len(data)
    assert all(isinstance(c, Chunk) and c.state is ChunkState.FILLED for c in chunks)


def test_chunked_reader_exact_multiple_and_text(tmp_path):
    reader = ChunkedReader(write(tmp_path / "exact.bin", b"y" * (8192 * 5)), chunk_size=8192)
    chunks = list(reader.read_chunks())
    assert len(chunks) == 5 and len(chunks[-1].data) == 8192 and chunks[-1].is_final
    # Text is cut at exact sizes too (the original did not align chunks to lines).
    chunks = list(ChunkedReader(write(tmp_path / "t.txt", TEXT), chunk_size=1000).read_chunks())
    assert [len(c.data) for c in chunks[:-1]] == [1000] * (len(chunks) - 1)
    assert b"".join(c.data for c in chunks) == TEXT


def test_chunked_reader_empty_file_and_default_chunk_size(tmp_path):
    reader = ChunkedReader(write(tmp_path / "empty", b""))
    assert reader.chunk_size == 64 << 10
    assert list(reader.read_chunks()) == []
    with pytest.raises(FileNotFoundError):
        ChunkedReader(str(tmp_path / "missing"))


def test_chunk_progress_methods():
    chunk = Chunk(chunk_id=3, data=b"abcdef")
    assert chunk.get_remaining() == b"abcdef" and not chunk.is_complete()
    chunk.advance(4)
    assert chunk.get_remaining() == b"ef"
    chunk.advance(10)
    assert chunk.offset == 6 and chunk.is_complete() and chunk.get_remaining() == b""


# -- BoundaryHandler ----------------------------------------------------------------------------


def test_boundary_handler_complete_records():
    handler = BoundaryHandler()
    records, leftover = handler.try_extract_glyphs(b"\x00\x00")
    assert (records, leftover) == ([b"\x00\x00"], b"")
    assert not handler.has_pending() and handler.state == "IDLE"
    records, leftover = handler.try_extract_glyphs(b"\x00\x00\x01\x00\x02\x00")
    assert records == [b"\x00\x00", b"\x01\x00", b"\x02\x00"] and leftover == b""


def test_boundary_handler_partial_header_and_reset():
    handler = BoundaryHandler()
    assert handler.try_extract_glyphs(b"\x00") == ([], b"")
    assert handler.has_pending() and handler.pending_bytes == bytearray(b"\x00")
    assert handler.state == "PARTIAL_HEADER" and handler.boundary_crosses == 1
    handler.reset()
    assert not handler.has_pending() and handler.state == "IDLE"


def test_boundary_handler_length_and_payload_across_slices():
    record = b"\x05\xac\x02" + b"p" * 300  # primitive 5, a two-byte length (300), the payload
    handler = BoundaryHandler()
    assert handler.try_extract_glyphs(record[:2]) == ([], b"")  # the length is cut
    assert handler.pending_size == 2
    assert handler.try_extract_glyphs(record[2:100]) == ([], b"")
    assert handler.state == "PARTIAL_PAYLOAD"
    assert handler.try_extract_glyphs(record[100:]) == ([record], b"")
    assert handler.boundary_crosses == 2 and not handler.has_pending()


def test_boundary_handler_parses_real_stream_records_cut_anywhere():
    blob = sigmalang.compress(TEXT[:3000], chunk_size=512)
    body = blob[len(MAGIC) :]  # after the magic, a stream is glyph records
    whole, _ = BoundaryHandler().try_extract_glyphs(body)
    assert len(whole) > 6 and b"".join(whole) == body
    for cut in range(0, len(body), 97):
        handler = BoundaryHandler()
        first, _ = handler.try_extract_glyphs(body[:cut])
        second, _ = handler.try_extract_glyphs(body[cut:])
        assert first + second == whole


def test_boundary_handler_rejects_non_canonical_records():
    with pytest.raises(sigmalang.SigmaFormatError):
        BoundaryHandler().try_extract_glyphs(b"\x00\x80\x00")  # a padded length varint


# -- StreamBuffer -------------------------------------------------------------------------------


def test_stream_buffer_fifo_and_full():
    buffer = StreamBuffer("test", max_size=2)
    assert buffer.put(Chunk(chunk_id=0, data=b"chunk1"))
    assert buffer.put(Chunk(chunk_id=1, data=b"chunk2"))
    assert buffer.size() == 2 and buffer.is_full()
    assert buffer.put(Chunk(chunk_id=2, data=b"chunk3"), timeout=0) is False
    assert buffer.put(Chunk(chunk_id=2, data=b"chunk3"), timeout=0.01) is False
    first = buffer.get(timeout=0.1)
    assert first is not None and first.chunk_id == 0
    assert buffer.get().data == b"chunk2"
    assert buffer.get(timeout=0) is None  # empty: nothing to wait for with no time


def test_stream_buffer_close_drains_then_returns_none():
    buffer = StreamBuffer(name="test", max_size=3)
    assert buffer.state.name == "IDLE"
    buffer.put(b"last")
    buffer.close()
    assert buffer.state.name == "CLOSED"
    assert buffer.get() == b"last"
    assert buffer.get() is None
    assert buffer.put(b"late") is False


def test_stream_buffer_put_blocks_until_room():
    buffer = StreamBuffer("backpressure", max_size=1)
    buffer.put(1)
    done = threading.Event()

    def producer() -> None:
        buffer.put(2)  # blocks while the buffer is full
        done.set()

    thread = threading.Thread(target=producer)
    thread.start()
    assert not done.wait(0.1)
    assert buffer.get() == 1
    assert done.wait(5)
    thread.join()
    assert buffer.get() == 2


# -- StreamingEncoder / StreamingDecoder ---------------------------------------------------------


def test_encode_file_really_encodes_the_whole_file(tmp_path):
    src, dst = write(tmp_path / "in.txt", TEXT), str(tmp_path / "out.sgl")
    encoder = StreamingEncoder(chunk_size=16 << 10)
    stats = encoder.encode_file(src, dst, verbose=False)
    encoded = Path(dst).read_bytes()
    assert sigmalang.decompress(encoded) == TEXT
    assert stats is encoder.get_stats() is encoder.stats
    assert stats.total_bytes_read == len(TEXT)
    assert stats.total_bytes_encoded == len(encoded)
    info = read_info(io.BytesIO(encoded))[0]
    assert stats.total_chunks == info.frames >= len(TEXT) // (16 << 10) + 1  # chunks end at line ends
    assert stats.compression_ratio == pytest.approx(len(TEXT) / len(encoded))
    assert stats.compression_ratio > 2  # real compression, not a length prefix
    assert stats.total_glyphs == stats.total_chunks + 3  # header, frames, index, trailer
    assert stats.encode_time > 0 and stats.throughput_mbs() > 0
    assert stats.avg_chunk_size == len(TEXT) // stats.total_chunks
    assert stats.peak_memory_mb > 0
    assert isinstance(stats.details, sigmalang.StreamStats) and stats.details.bytes_in == len(TEXT)
    assert info.chunk_size == 16 << 10


def test_chunks_larger_than_64k_are_not_cut_short(tmp_path):
    data = TEXT * 5  # 320 KiB in one 512 KiB chunk
    src, dst = write(tmp_path / "in.txt", data), str(tmp_path / "out.sgl")
    stats = StreamingEncoder(chunk_size=512 << 10, level=1).encode_file(src, dst)
    assert stats.total_chunks == 1
    assert sigmalang.decompress(Path(dst).read_bytes()) == data


def test_encoder_defaults_and_options(tmp_path):
    encoder = StreamingEncoder()
    assert encoder.chunk_size == 64 << 10
    assert (encoder.output_buffer_size, encoder.use_buffer_pool, encoder.adaptive_chunking) == (8, True, True)
    src, dst = write(tmp_path / "in.txt", TEXT), str(tmp_path / "out.sgl")
    StreamingEncoder(32 << 10, level=1).encode_file(src, dst)
    info = read_info(io.BytesIO(Path(dst).read_bytes()))[0]
    assert (info.level, info.chunk_size, info.original_size) == (1, 32 << 10, len(TEXT))
    with pytest.raises(ValueError):
        StreamingEncoder(chunk_size=0)


def test_encode_file_replaces_existing_output(tmp_path):
    src, dst = write(tmp_path / "in.txt", b"new content\n"), write(tmp_path / "out.sgl", b"old")
    StreamingEncoder().encode_file(src, dst)
    assert sigmalang.decompress(Path(dst).read_bytes()) == b"new content\n"


@pytest.mark.parametrize("data", [b"", b"X"])
def test_encode_empty_and_one_byte_files(tmp_path, data):
    src, dst = write(tmp_path / "in", data), str(tmp_path / "out.sgl")
    stats = StreamingEncoder().encode_file(src, dst, verbose=False)
    assert stats.total_bytes_read == len(data)
    assert sigmalang.decompress(Path(dst).read_bytes()) == data


def test_encode_missing_file_raises_and_writes_nothing(tmp_path):
    dst = tmp_path / "out.sgl"
    with pytest.raises(FileNotFoundError):
        StreamingEncoder().encode_file(str(tmp_path / "missing.txt"), str(dst))
    assert not dst.exists()


def test_verbose_prints_progress(tmp_path, capsys):
    data = TEXT * 2  # 128 one-KiB chunks: one progress line
    src, dst = write(tmp_path / "in.txt", data), str(tmp_path / "out.sgl")
    stats = StreamingEncoder(chunk_size=1024, level=1).encode_file(src, dst, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert src in lines[0]
    assert sum("100 chunks" in line for line in lines) == 1
    assert f"ratio {stats.compression_ratio:.2f}" in lines[-1]
    assert sigmalang.decompress(Path(dst).read_bytes()) == data


def test_reset_starts_fresh_stats(tmp_path):
    encoder = StreamingEncoder()
    encoder.encode_file(write(tmp_path / "in", TEXT), str(tmp_path / "out"))
    assert encoder.get_stats().total_bytes_read == len(TEXT)
    encoder.reset()
    assert encoder.get_stats() == StreamStats()


@pytest.mark.slow
def test_encode_file_async_uses_worker_processes(tmp_path):
    src = write(tmp_path / "in.txt", TEXT)
    one, two = str(tmp_path / "one.sgl"), str(tmp_path / "two.sgl")
    StreamingEncoder(chunk_size=16 << 10, level=1).encode_file(src, one)
    stats = StreamingEncoder(chunk_size=16 << 10, level=1).encode_file_async(src, two, num_workers=2)
    assert isinstance(stats, StreamStats) and stats.details is not None and stats.details.workers == 2
    assert Path(two).read_bytes() == Path(one).read_bytes()  # the same bytes for every worker count


def test_decoder_decodes_what_the_encoder_wrote(tmp_path):
    src, enc, out = write(tmp_path / "in.txt", TEXT), str(tmp_path / "in.sgl"), tmp_path / "out.txt"
    encoded = StreamingEncoder(chunk_size=16 << 10).encode_file(src, enc)
    decoder = StreamingDecoder(chunk_size=4096)
    stats = decoder.decode_file(enc, str(out), sigma_encoder=None)
    assert out.read_bytes() == TEXT
    assert stats is decoder.stats
    assert stats.total_bytes_read == stats.total_bytes_encoded == encoded.total_bytes_encoded
    assert stats.total_chunks == encoded.total_chunks
    assert stats.compression_ratio == pytest.approx(encoded.compression_ratio)


def test_decoder_rejects_damage_and_leaves_no_output(tmp_path):
    blob = bytearray(sigmalang.compress(TEXT, chunk_size=16 << 10))
    blob[len(blob) // 2] ^= 0x01
    out = tmp_path / "out.txt"
    with pytest.raises(sigmalang.SigmaFormatError):
        StreamingDecoder().decode_file(write(tmp_path / "bad.sgl", bytes(blob)), str(out))
    assert not out.exists()


# -- StreamStats and the memory helpers ------------------------------------------------------------


def test_stream_stats_fields_and_throughput():
    stats = StreamStats()
    assert (stats.total_bytes_read, stats.total_bytes_encoded, stats.total_chunks) == (0, 0, 0)
    assert stats.throughput_mbs() == 0
    stats.total_bytes_read = MiB
    stats.encode_time = 1.0
    assert stats.throughput_mbs() == 1.0
    stats.read_time = stats.write_time = 0.5
    assert stats.throughput_mbs() == 0.5


def test_optimal_chunk_size_grows_with_the_file():
    sizes = [0, 1, 5 * MiB // 4, MiB, 50 * MiB, 100 * MiB, 500 * MiB, 2 << 30]
    chosen = [get_optimal_chunk_size(s) for s in sizes]
    assert all(64 << 10 <= c <= 4 << 20 for c in chosen)
    assert chosen == [sigmalang.get_optimal_chunk_size(input_size=s) for s in sizes]
    assert get_optimal_chunk_size(MiB) <= MiB
    assert get_optimal_chunk_size(100 * MiB) >= MiB
    assert sorted(chosen[3:]) == chosen[3:]
    with pytest.raises(TypeError):
        get_optimal_chunk_size("1GB")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        get_optimal_chunk_size(-1)


def test_estimate_memory_usage_has_the_original_keys():
    breakdown = estimate_memory_usage(1 << 30, MiB)
    assert set(breakdown) == {"chunk_buffer", "encoder_state", "output_buffer", "overhead"}
    assert breakdown["chunk_buffer"] == MiB
    assert all(isinstance(v, int) and v > 0 for v in breakdown.values())
    assert sum(breakdown.values()) == sigmalang.estimate_memory_usage(MiB, input_size=1 << 30).total
    small = sum(estimate_memory_usage(100 * MiB, 65536).values())
    assert 0 < small < sum(estimate_memory_usage(100 * MiB, 4 * MiB).values())
    with pytest.raises(ValueError):
        estimate_memory_usage(-1, MiB)
    with pytest.raises(ValueError):
        estimate_memory_usage(MiB, 0)
    with_workers = estimate_memory_usage(1 << 30, MiB, workers=2)
    assert sum(with_workers.values()) == sigmalang.estimate_memory_usage(MiB, 2, input_size=1 << 30).total


def test_streaming_vs_full_memory_has_the_original_keys():
    comparison = get_streaming_vs_full_memory(1 << 30)
    assert set(comparison) == {"streaming_mb", "full_load_mb", "reduction_ratio"}
    assert all(isinstance(v, float) for v in comparison.values())
    assert comparison["reduction_ratio"] > 10
    assert comparison["reduction_ratio"] == pytest.approx(comparison["full_load_mb"] / comparison["streaming_mb"])
    model = sigmalang.get_streaming_vs_full_memory(1 << 30, get_optimal_chunk_size(1 << 30))
    assert comparison["streaming_mb"] == model["streaming"] / MiB


def test_legacy_names_stay_out_of_the_main_package():
    assert sigmalang.StreamingEncoder is not StreamingEncoder
    assert not hasattr(sigmalang, "ChunkedReader") and not hasattr(sigmalang, "BoundaryHandler")
