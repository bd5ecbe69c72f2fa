"""A long-range frame whose match list is as long as it can be (one-byte matches) decodes within
docs/FORMAT.md §12's memory bound: a few times the chunk size, nothing per match.

The stream is built by hand (no writer makes such a list) and decoded in a fresh interpreter,
whose Python heap peak (tracemalloc) is compared with the chunk size.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import sigmalang
from sigmalang._backend_base import STORE
from sigmalang._frames import FrameWriter
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_LONG_LITERAL
from sigmalang._longrange import encode_list
from sigmalang._wire import encode_varint

CHUNK = 256 << 10


def one_byte_matches_stream(chunk_size: int = CHUNK) -> tuple[bytes, bytes]:
    """A shared-context stream: a stored reset frame, then a frame of one repeated byte whose
    every byte but the first is a one-byte match of the byte before it: as many matches as a
    record of the chunk size can list (3 bytes each); and the stream's content."""
    first = bytes(range(256)) * (chunk_size // 256)
    size = (chunk_size - 32) // 3
    second = b"x" * size
    matches = [(i, 1, 1) for i in range(1, size)]
    body = encode_varint(0) + encode_list(matches) + b"x"  # context length 0, the list, the rest stored
    assert len(body) <= chunk_size + 31 - 12  # within the record limit, so a reader takes it in
    writer = FrameWriter(0, chunk_size, shared_context=True)
    records = [writer.start(), writer.record(first, TRANSFORM_LITERAL, STORE, first)]
    records.append(writer.record(second, TRANSFORM_LONG_LITERAL, STORE, body, True))
    return b"".join([*records, writer.finish()]), first + second


def test_one_byte_matches_decode() -> None:
    stream, content = one_byte_matches_stream(64 << 10)
    assert sigmalang.decompress(stream) == content


_MEASURE = """
import json, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
import sigmalang
from test_long_range_memory import one_byte_matches_stream, CHUNK
stream, content = one_byte_matches_stream()
tracemalloc.start()
out = sigmalang.decompress(stream)
peak = tracemalloc.get_traced_memory()[1]
assert out == content
print(json.dumps({"peak": peak, "input": len(stream), "output": len(out), "chunk": CHUNK}))
"""


@pytest.mark.slow
def test_one_byte_matches_stay_within_the_memory_bound() -> None:
    tests_dir = str(__import__("pathlib").Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, "-c", _MEASURE, tests_dir], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    # decompress() holds its input and output, plus a few chunk-sized copies while a frame is
    # decoded; one tuple per match (about 87,000 of them) would add some 30 × the chunk size.
    assert figures["peak"] < figures["input"] + figures["output"] + 6 * CHUNK, figures
