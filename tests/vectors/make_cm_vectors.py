"""Write the context-mixing (backend 3) golden vectors: valid streams and damaged CM payloads.

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``). The valid streams are written by ``sigmalang.compress`` and, the model being fully
specified (docs/FORMAT.md §7.2), today's writer must reproduce them byte for byte::

    .venv/bin/python tests/vectors/make_cm_vectors.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from vectorlib import (
    FIXTURES,
    HERE,
    Entry,
    chunked,
    compressed_entry,
    damaged_entry,
    fixture_lines,
    update_manifest,
    valid_entry,
)

import sigmalang
from sigmalang import _backends, _records
from sigmalang._backend_base import CM
from sigmalang._backends import CM_BOOK, CM_TREES, CmBackend
from sigmalang._levels import TRANSFORM_LITERAL, TRANSFORM_RECORDS
from sigmalang._wire import encode_varint
from sigmalang.semantic.codebook import Codebook, load_codebook, train_codebook

ORIGIN = "tests/vectors/make_cm_vectors.py"
BOOK_FILE = "logs-book.slb"
SAMPLE_BOOK_FILE = "logs-sample-book.slb"
TRAIN = 40000  # the sample book is trained on this much of loghub-small; its stream codes what follows
CHUNK = 4096
TREE_IN_ORDER = bytes(d | (d + 1 if d < 15 else 15) << 4 for d in range(1, 16, 2))  # depths 1, 2, ..., 15, 15


def damaged(data: bytes, edit: Callable[[bytes], bytes]) -> tuple[bytes, int]:
    """A level-6 stream of *data* in CHUNK-byte frames whose frame 0 holds *edit* of its CM payload
    (the frame's CRC32C is computed over the edited payload, so only the model can notice).
    Returns the stream and frame 0's offset. The payloads are model version 2's, as when these
    vectors were first written: damage is found the same way in every version."""
    backend = CmBackend(0x7FF, 16, version=2)

    def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
        payload = backend.encode(chunk)
        return TRANSFORM_LITERAL, CM, edit(payload) if number == 0 else payload

    stream, offsets = chunked(data, CHUNK, 6, code)
    return stream, offsets[0]


def _book_entry(name: str, description: str, text: bytes, book: Codebook, book_file: str, level: int = 6) -> Entry:
    """A reproducible stream of *text* at *level* in CHUNK-byte frames written with *book*."""
    encoded = sigmalang.compress(text, level, chunk_size=CHUNK, codebook=book)
    assert sigmalang.decompress(encoded, codebook=book) == text
    stream = {
        "writer": "sigmalang.compress",
        "level": level,
        "chunk_size": CHUNK,
        "shared_context": False,
        "size": len(text),
        "encoded_size": len(encoded),
        "reproducible": True,
    }
    entry = valid_entry(name, description, text, encoded, stream, ORIGIN)
    entry["codebook"] = book_file
    return entry


def book_entry(logs: bytes, level: int = 6) -> Entry:
    """cm4-book-l6 (cm5-book-l9 at level 9, model version 5): the logs with the codebook
    logs-book.slb: every CM payload primed with the book's words (bit 16 of S); from the third
    frame on, each model starts from one that read the book once (its state kept between calls)."""
    name = "cm4-book-l6" if level == 6 else f"cm5-book-l{level}"
    description = f"the 12 KB of logs at level {level} with the codebook logs-book.slb: CM frames primed with its words"
    return _book_entry(name, description, logs, load_codebook(HERE / BOOK_FILE), BOOK_FILE, level)


def sample_book_entry() -> Entry:
    """cm4-book-sample-l6: 12 KB of loghub-small at level 6 with logs-sample-book.slb, a version-2
    codebook file (words and an 8 KiB sample) trained on the 40 KB before them: every CM payload
    primed with the words, then the sample."""
    logs = (FIXTURES / "loghub-small.log").read_bytes()
    train, text = logs[:TRAIN], logs[TRAIN : TRAIN + 12000]
    text = text[: text.rfind(b"\n") + 1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.log"
        path.write_bytes(train)
        book = train_codebook([path], words=300, short=64, min_count=4, sample_size=8192)
    assert book.to_bytes()[8] == 2 and len(book.sample) > 7000
    (HERE / SAMPLE_BOOK_FILE).write_bytes(book.to_bytes())
    description = (
        f"12 KB of logs at level 6 with the version-2 codebook {SAMPLE_BOOK_FILE} (words and an 8 KiB sample):"
        " CM frames primed with its words, then its sample"
    )
    return _book_entry("cm4-book-sample-l6", description, text, book, SAMPLE_BOOK_FILE)


def trees_entry(prose: bytes, components: int = 0xFFFF) -> Entry:
    """cm4-ffff-trees-l6: the 9 KB of dickens in CHUNK-byte frames, each CM payload (level 6's set)
    with byte trees of its own (bit 18 of S, docs/FORMAT.md §7.2), as the writer gives an input of
    1 MiB or more: the frames are written by CmBackend with that bound lowered, so compress() does
    not reproduce them; tests/test_cm_spec.py checks the trees' coding against the spec. With
    *components* 0x9e7f (level 6's set for paragraphs), cm4-9e7f-canonical-trees-l6: the trees are
    Huffman codes in canonical order (bit 17 of the trees' mask)."""
    canonical = components == 0x9E7F
    name = "cm4-9e7f-canonical-trees-l6" if canonical else "cm4-ffff-trees-l6"
    saved = _backends.CM_TREES_MIN
    _backends.CM_TREES_MIN = 1
    try:
        backend = CmBackend(components, 16)
        payloads = []

        def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
            payloads.append(backend.encode(chunk))
            return TRANSFORM_LITERAL, CM, payloads[-1]

        encoded, _ = chunked(prose, CHUNK, 6, code)
    finally:
        _backends.CM_TREES_MIN = saved
    assert all(p[2] & 0x80 and _backends.read_varint(p, 2, 3, ValueError)[0] & CM_TREES for p in payloads)
    fields = [_backends.read_varint(p, 2, 3, ValueError)[1] for p in payloads]
    assert all(_backends.read_trees(p, at)[1] == canonical for p, at in zip(payloads, fields, strict=True))
    assert sigmalang.decompress(encoded) == prose
    stream = {
        "writer": f"CmBackend({components:#x}, 16) with byte trees, literal frames",
        "level": 6,
        "chunk_size": CHUNK,
        "shared_context": False,
        "size": len(prose),
        "encoded_size": len(encoded),
        "reproducible": False,
    }
    description = "9 KB of dickens, 4 KiB frames, each CM payload with byte trees of its own (bit 18 of S)"
    if canonical:
        description += ", Huffman codes in canonical order (bit 17 of the trees' mask), components 0x9e7f"
    return valid_entry(name, description, prose, encoded, stream, ORIGIN)


def record_trees_entry(logs: bytes) -> Entry:
    """cm4-records-row-trees-l6: the 12 KB of logs in 8 KiB frames, each a record code (transform
    4) whose CM payload (level 6's set) gives the trees of the rows that save the most decisions
    and not tree 0 (its mask's bit 0 clear), as the writer gives a record code of 512 KiB or more
    whose trees save 1/16 of its decisions: written by CmBackend with those bounds lowered (these
    codes' trees save 1/18), so compress() does not reproduce them."""
    saved = _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE
    _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE = 1, 64
    try:
        backend = CmBackend(0xFFFF, 16).for_record_code()
        payloads = []

        def code(number: int, chunk: bytes) -> tuple[int, int, bytes]:
            record_code = _records.encode(chunk)
            payloads.append(backend.encode(record_code))
            return TRANSFORM_RECORDS, CM, encode_varint(len(record_code)) + payloads[-1]

        encoded, _ = chunked(logs, 2 * CHUNK, 6, code)
    finally:
        _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE = saved
    for p in payloads:
        components, at = _backends.read_varint(p, 2, 3, ValueError)
        assert components & CM_TREES
        mask = _backends.read_varint(p, at, 3, ValueError)[0]
        assert not mask & 1 and mask & 0xFFFE and _backends.read_trees(p, at)[0][0] == (4,) * 16
    assert sigmalang.decompress(encoded) == logs
    stream = {
        "writer": "CmBackend(0xffff, 16).for_record_code() with byte trees, records frames",
        "level": 6,
        "chunk_size": 2 * CHUNK,
        "shared_context": False,
        "size": len(logs),
        "encoded_size": len(encoded),
        "reproducible": False,
    }
    description = (
        "12 KB of logs, 8 KiB records frames, each CM payload with the byte trees of some rows and not"
        " tree 0 (bit 0 of the trees' mask clear)"
    )
    return valid_entry("cm4-records-row-trees-l6", description, logs, encoded, stream, ORIGIN)


def main() -> int:
    logs = fixture_lines("loghub-small.log", 12000)
    prose = fixture_lines("dickens-64k.txt", 9000)
    # cm-log-l6, cm-prose-l4 and cm-shared-l6 hold the same inputs written with the component sets
    # of before components 11 and 12 (0x7ff, 0x21f), cm-1fff-log-l6, cm-121f-prose-l4 and
    # cm-1fff-shared-l6 written with model version 1, cm2-3fff-log-l6, cm2-3fff-shared-l6 and
    # the cm2 book vectors with model version 2, and the cm3 vectors with model version 3: kept as
    # they are, decoded but not rewritten.
    # cm2-121f-prose-l4 is still written: level 4's set has no word context, and writers code it
    # in version 2.
    # The cm5 vectors are written at level 9 (model version 5, with the word-skip context); their
    # logs are coded as text (format "text"), so that every frame holds the model's payload.
    valid: dict[str, tuple[str, bytes, int, bool] | tuple[str, bytes, int, bool, str]] = {
        "cm4-ffff-log-l6": (
            "12 KB of loghub-small at level 6 (model version 4, components 0xffff, 2^22 slots), 4 KiB frames",
            logs,
            6,
            False,
        ),
        "cm5-2ffff-log-l9": (
            "the 12 KB of logs at level 9 as text (model version 5, components 0x2ffff), 4 KiB frames",
            logs,
            9,
            False,
            "text",
        ),
        "cm5-2ffff-prose-l9": ("9 KB of dickens at level 9 (model version 5), 4 KiB frames", prose, 9, False),
        "cm5-2ffff-shared-l9": (
            "the 12 KB of logs at level 9 as text with shared context: primed CM frames of model version 5",
            logs,
            9,
            True,
            "text",
        ),
        "cm2-121f-prose-l4": (
            "9 KB of dickens at level 4 (components 0x121f, 2^20 slots), 4 KiB frames",
            prose,
            4,
            False,
        ),
        "cm4-ffff-shared-l6": ("the 12 KB of logs at level 6 with shared context: primed CM frames", logs, 6, True),
    }
    bad = {
        "bad-cm-version": ("frame 0's CM payload names model version 6", lambda p: b"\x06" + p[1:], "unknown CM model"),
        "bad-cm-hash-bits": ("frame 0's CM payload asks for 2^25 slots", lambda p: p[:1] + b"\x19" + p[2:], "CM param"),
        "bad-cm-components": (
            "frame 0's CM payload names component bit 14",
            lambda p: p[:2] + b"\xff\xff\x01" + p[4:],
            "CM param",
        ),
        "bad-cm-appended": ("frame 0's CM payload has one byte appended", lambda p: p + b"\x00", "does not end"),
        "bad-cm-last-byte": (
            "the last byte of frame 0's CM payload is changed",
            lambda p: p[:-1] + bytes([p[-1] ^ 1]),
            "does not end",
        ),
        "bad-cm-short": ("frame 0's CM payload lost its last byte", lambda p: p[:-1], "does not end"),
        "bad-cm-tree-flat": (
            "frame 0's CM payload gives byte tree 0 as the flat tree (bit 18 of S)",
            lambda p: p[:2] + encode_varint(0x7FF | CM_TREES) + b"\x01" + b"\x44" * 8 + p[4:],
            "given flat",
        ),
        "bad-cm-tree-depths": (
            "frame 0's CM payload gives byte tree 0 leaf depths that make no tree",
            lambda p: p[:2] + encode_varint(0x7FF | CM_TREES) + b"\x01" + b"\x33" * 8 + p[4:],
            "make no tree",
        ),
        "bad-cm-tree-canonical-in-order": (
            "frame 0's CM payload gives byte tree 0 depths that never fall (1, 2, ..., 15, 15) and marks the trees"
            " canonical (bit 17 of the mask): the same tree in either order, which has one spelling, without the bit",
            lambda p: p[:2] + encode_varint(0x7FF | CM_TREES) + encode_varint(1 | 1 << 17) + TREE_IN_ORDER + p[4:],
            "read the same in value order",
        ),
        "bad-cm-tree-canonical-none": (
            "frame 0's CM payload's byte trees mask has bit 17 (canonical order) and names no tree",
            lambda p: p[:2] + encode_varint(0x7FF | CM_TREES) + encode_varint(1 << 17) + p[4:],
            "out of range",
        ),
        "bad-cm-book-without-book": (
            "frame 0's CM payload says it was primed with the codebook (bit 16), and the stream names none",
            lambda p: p[:2] + encode_varint(0x7FF | CM_BOOK) + p[4:],
            "names none",
        ),
    }
    good = [
        compressed_entry(name, spec[0], spec[1], spec[2], CHUNK, spec[3], ORIGIN, *spec[4:])
        for name, spec in valid.items()
    ]
    good += [book_entry(logs), book_entry(logs, 9), sample_book_entry(), trees_entry(prose), trees_entry(prose, 0x9E7F)]
    good.append(record_trees_entry(logs))
    broken = []
    for name, (description, edit, message) in bad.items():
        stream, offset = damaged(logs, edit)
        description += "; the frame's CRC32C is recomputed"
        broken.append(damaged_entry(name, description, stream, 0, offset, message, ORIGIN))
    update_manifest(good, broken)
    print(f"wrote {len(valid)} valid and {len(bad)} damaged CM vectors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
