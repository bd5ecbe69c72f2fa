"""Write the golden vectors for features the other generators do not reach (docs/FORMAT.md §7).

Run once when they are added; ``make_vectors.py`` keeps their manifest entries (they carry an
``origin``)::

    .venv/bin/python tests/vectors/make_format_vectors.py

Most streams here are assembled frame by frame (``StreamAssembler``) from a chosen transform and
backend, so that each shows one feature whatever today's levels would choose:

* PPMd: a model that fills its arena and restarts (``ppmd-restart``); a payload whose last byte
  was changed, one with a byte appended, one cut by two bytes, one cut by its last byte (each
  re-sealed with a valid CRC32C); parameters out of range (memory 1025 MiB, the primed-payload bit
  in an independent frame);
* PPMd frames that continue a shared context (§7.5): in the format this version writes (the range
  coder restarts after the primer; ``ppmd-primed``, and ``shared-context-l3-fresh`` from the
  level-3 writer) and in the earlier one (the coder went on; ``ppmd-primed-earlier``, and
  ``shared-codebook-l3``, written under :func:`vectorlib.earlier_ppmd_primer`), with damaged tails;
* the glyph code over zstd and over store (``semantic-zstd``, ``semantic-store``);
* version-2 glyph codes, stored so the code is visible in the file: FA line references
  (``semantic-v2-fa-lines``), every timestamp layout variant (``semantic-v2-timestamp-layouts``),
  and more than 64 timestamp forms (``semantic-v2-form-cap``);
* long-range frames: transform 2 at a reset point with references inside its own chunk and a
  stored rest, a continuing frame with L = 0 and a stored rest, and transform 3 (a semantic rest)
  (``long-range-crafted``);
* glyph codes decided in §7.4 and §7.5, stored so the code is visible: an ``FF b`` escape ends a
  digit run (``semantic-escape-ends-number``); in a shared-context stream without a codebook file,
  flag bit 4 extends the codebook of the last semantic frame since the reset point
  (``shared-previous-codebook``); and one damaged frame for each rule around them (a codebook
  reference with no base, a base whose one-byte count differs, a number marker without digits or
  without a number before it, TEMPORAL forms not carried from frame to frame);
* shared-context frames that ask for what they cannot have: a stored frame that continues, a
  context longer than the history; and a glyph code length over its bound.
"""

from __future__ import annotations

import ctypes
import sys

import pyppmd
from crc32c import crc32c
from vectorlib import (
    FIXTURES,
    HERE,
    Entry,
    assemble,
    damaged_entry,
    earlier_ppmd_primer,
    update_manifest,
    valid_entry,
)

import sigmalang
from sigmalang import _pyppmd, semantic
from sigmalang import primitives as P
from sigmalang._backend_base import PPMD, STORE, ZSTD
from sigmalang._backend_ppmd import PPMD_FRESH_CODER, PpmdBackend
from sigmalang._backends import ZstdBackend
from sigmalang._chunking import chunk_end
from sigmalang._container import StreamAssembler
from sigmalang._longrange import encode_list
from sigmalang._stream_records import StreamHeader
from sigmalang._wire import encode_glyph, encode_varint
from sigmalang.primitives import GlyphType
from sigmalang.semantic.codebook import Codebook, train_codebook

ORIGIN = "tests/vectors/make_format_vectors.py"
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
PROSE = (FIXTURES / "dickens-64k.txt").read_bytes()
BOOK_FILE = "logs-book.slb"


def ppmd_restarts(order: int, memory_mib: int, data: bytes) -> int:
    """How many times a PPMd model restarts while coding *data* (its text pointer moves back)."""
    encoder = pyppmd.Ppmd7Encoder(order, memory_mib << 20)
    blocks = _pyppmd.encoder_state(encoder, order, memory_mib << 20)
    assert blocks is not None
    text_at = blocks[0] + 3 * 8 + 64  # CPpmd7: 3 pointers, 7 ints, Size, GlueCount, Base, LoUnit, HiUnit, Text
    restarts, last = 0, ctypes.c_uint64.from_address(text_at).value
    for i in range(0, len(data), 4096):
        encoder.encode(data[i : i + 4096])
        now = ctypes.c_uint64.from_address(text_at).value
        restarts += now < last
        last = now
    encoder.flush(endmark=True)
    return restarts


def valid(
    name: str,
    data: bytes,
    blob: bytes,
    description: str,
    chunk: int,
    level: int,
    shared: bool,
    book: Codebook | None = None,
    writer: str = "tests/vectors/make_format_vectors.py (frames assembled one by one)",
) -> Entry:
    assert sigmalang.decompress(blob, codebook=book) == data, name
    stream = {
        "writer": writer,
        "level": level,
        "chunk_size": chunk,
        "size": len(data),
        "encoded_size": len(blob),
        "reproducible": False,
    }
    if shared:
        stream["shared_context"] = True
    entry = valid_entry(name, description, data, blob, stream, ORIGIN)
    if book is not None:
        entry["codebook"] = BOOK_FILE
    return entry


def damaged(
    name: str, blob: bytes, description: str, frame: int, offset: int, message: str, book: Codebook | None = None
) -> Entry:
    try:
        sigmalang.decompress(blob, codebook=book)
    except sigmalang.SigmaFormatError as exc:
        assert (exc.frame, exc.offset) == (frame, offset) and message in str(exc), (name, exc)
    else:
        raise AssertionError(f"{name} decodes")
    entry = damaged_entry(name, description, blob, frame, offset, message, ORIGIN)
    if book is not None:
        entry["codebook"] = BOOK_FILE
    return entry


def ppmd_vectors() -> tuple[list[Entry], list[Entry]]:
    good, bad = [], []
    # An order-16 model in 1 MiB restarts after about 40 KB of prose.
    data = PROSE[:64000]
    data = data[: data.rfind(b"\n") + 1]
    backend = PpmdBackend(16, 1)
    assert ppmd_restarts(16, 1, data) >= 1
    payload = backend.encode(data)
    blob, _ = assemble([(data, 0, PPMD, payload, False)], 1 << 16, 3, False)
    good.append(
        valid(
            "ppmd-restart",
            data,
            blob,
            f"{len(data)} bytes of prose in one PPMd frame, order 16, 1 MiB: the model fills its arena "
            f"and restarts ({ppmd_restarts(16, 1, data)} times) inside the frame",
            1 << 16,
            3,
            False,
        )
    )
    text = LOGS[:3000]
    text = text[: text.rfind(b"\n") + 1]
    payload = PpmdBackend(6, 16).encode(text)
    last = payload[:-1] + bytes([payload[-1] ^ 0x01])
    for name, data_, what in (
        ("bad-ppmd-last-byte", last, "the last byte of frame 0's PPMd payload changed (0x01 flipped)"),
        ("bad-ppmd-appended", payload + b"\x00", "frame 0's PPMd payload with one zero byte appended"),
        ("bad-ppmd-short", payload[:-2], "frame 0's PPMd payload without its last two bytes"),
        ("bad-ppmd-cut-last-byte", payload[:-1], "frame 0's PPMd payload without its last byte (00)"),
    ):
        blob, offsets = assemble([(text, 0, PPMD, data_, False)], 4096, 3, False)
        bad.append(
            damaged(
                name,
                blob,
                f"{what}; the frame's CRC32C is recomputed: a range decoder alone accepts it",
                0,
                offsets[0],
                "PPMd stream",
            )
        )
    for name, data_, what, message in (
        (
            "bad-ppmd-memory-huge",
            payload[:1] + encode_varint(1025) + payload[2:],
            "frame 0's PPMd payload names 1025 MiB of model memory, one more than a decoder allows",
            "PPMd parameters out of range: order 6, 1025 MiB",
        ),
        (
            "bad-ppmd-fresh-bit-unprimed",
            bytes([payload[0] | PPMD_FRESH_CODER]) + payload[1:],
            "frame 0 (independent) has bit 7 of its PPMd order byte set, which only a primed payload may",
            "PPMd parameters out of range: order 134, 16 MiB",
        ),
        (
            "bad-ppmd-memory-3-bytes",
            payload[:1] + encode_varint(1 << 14) + payload[2:],
            "frame 0's PPMd payload names 16384 MiB of model memory, a varint of 3 bytes where the field has at most 2",
            "PPMd payload ends inside its parameters",
        ),
    ):
        blob, offsets = assemble([(text, 0, PPMD, data_, False)], 4096, 3, False)
        bad.append(
            damaged(
                name,
                blob,
                f"{what}; CRC32C valid: refused before a model is allocated",
                0,
                offsets[0],
                message,
            )
        )
    return good, bad


def primed_frames(data: bytes, chunk: int, windows: list[int | None]) -> list[tuple[bytes, int, int, bytes, bool]]:
    """*data* in line-aligned chunks as literal PPMd frames (order 16, 1 MiB) of a shared-context
    stream: frame 0 a reset point, frame *k* continuing with L = the last ``windows[k - 1]`` bytes
    of the history (``None``: all of it)."""
    backend = PpmdBackend(16, 1)
    frames: list[tuple[bytes, int, int, bytes, bool]] = []
    history = b""
    pos = 0
    while end := chunk_end(data[pos:], chunk, final=True):
        piece = data[pos : pos + end]
        pos += end
        if not frames:
            frames.append((piece, 0, PPMD, backend.encode(piece), False))
        else:
            window = windows[len(frames) - 1]
            prime = history[-window:] if window else history
            frames.append((piece, 0, PPMD, encode_varint(len(prime)) + backend.encode(piece, prime), True))
        history += piece
    return frames


def ppmd_primed_vectors() -> tuple[list[Entry], list[Entry]]:
    """Shared-context PPMd frames in this version's primer format and in the earlier one."""
    good, bad = [], []
    data = PROSE[:80000]
    data = data[: data.rfind(b"\n") + 1]
    chunk = 16 << 10
    windows = [None, 5000, None, None]
    frames = primed_frames(data, chunk, windows)
    assert len(frames) == 5
    history = b"".join(f[0] for f in frames[:4])
    assert ppmd_restarts(16, 1, history) >= 1  # the last frame's model restarts while it learns its primer
    layout = (
        f"{len(data)} bytes of prose in {len(frames)} literal PPMd frames (order 16, 1 MiB) of a shared-context "
        "stream: frame 0 a reset point; frames 1, 3 and 4 continue with L = all the history, frame 2 with "
        f"its last 5000 bytes; frame 4 ({len(frames[4][0])} bytes) is primed with the {len(history)} bytes "
        "before it, over which the model fills its arena and restarts"
    )
    blob, offsets = assemble(frames, chunk, 3, True)
    good.append(
        valid(
            "ppmd-primed",
            data,
            blob,
            f"{layout}; each continuing payload has bit 7 of its order byte set: the model learns the "
            "primer, the range coder restarts (FORMAT.md §7.5)",
            chunk,
            3,
            True,
        )
    )
    orig, transform, backend, body, _ = frames[4]
    prefix = encode_varint(len(history))
    for name, new, what in (
        ("bad-ppmd-primed-last-byte", body[:-1] + bytes([body[-1] ^ 0x01]), "changed in its last byte (0x01 flipped)"),
        ("bad-ppmd-primed-appended", body + b"\x00", "followed by one zero byte"),
        ("bad-ppmd-primed-cut-last-byte", body[:-1], "cut by its last byte (00)"),
    ):
        assert new.startswith(prefix)
        damaged_blob, offsets = assemble([*frames[:4], (orig, transform, backend, new, True)], chunk, 3, True)
        bad.append(
            damaged(
                name,
                damaged_blob,
                f"ppmd-primed.sgl with frame 4's primed PPMd payload {what}, CRC32C recomputed",
                4,
                offsets[4],
                "PPMd stream does not end where expected",
            )
        )
    with earlier_ppmd_primer():
        earlier = primed_frames(data, chunk, windows)
    assert all(f[3] != g[3] for f, g in zip(frames[1:], earlier[1:], strict=True))
    blob, offsets = assemble(earlier, chunk, 3, True)
    good.append(
        valid(
            "ppmd-primed-earlier",
            data,
            blob,
            f"{layout}; the earlier primer format (bit 7 clear), which a reader must still decode: each "
            "stream goes on from the range coder that coded the primer (FORMAT.md §7.5)",
            chunk,
            3,
            True,
        )
    )
    orig, transform, backend, body, _ = earlier[4]
    damaged_blob, offsets = assemble(
        [*earlier[:4], (orig, transform, backend, body[:-1] + bytes([body[-1] ^ 0x01]), True)], chunk, 3, True
    )
    bad.append(
        damaged(
            "bad-ppmd-earlier-primer-last-byte",
            damaged_blob,
            "ppmd-primed-earlier.sgl with the last byte of frame 4's PPMd payload changed (0x01 flipped), "
            "CRC32C recomputed",
            4,
            offsets[4],
            "PPMd stream does not end where expected",
        )
    )
    text = PROSE[:20480]
    blob = sigmalang.compress(text, 3, chunk_size=1024, shared_context=True)
    good.append(
        valid(
            "shared-context-l3-fresh",
            text,
            blob,
            "20 KiB of Dickens, 1 KiB chunks, level 3 with shared context as this version writes it: "
            "continuing frames' PPMd coders restart after the primer (frames 0 and 16 are resets)",
            1024,
            3,
            True,
            writer="sigmalang.compress, shared context, level 3",
        )
    )
    return good, bad


def semantic_vectors() -> list[Entry]:
    out = []
    text = LOGS[:6000]
    text = text[: text.rfind(b"\n") + 1]
    code = semantic.encode(text)
    body = encode_varint(len(code))
    for name, backend, data in (
        ("semantic-zstd", ZSTD, body + ZstdBackend(19).encode(code)),
        ("semantic-store", STORE, body + code),
    ):
        level = 2 if backend == ZSTD else 0
        blob, _ = assemble([(text, 1, backend, data, False)], 8192, level, False)
        label = "zstd" if backend == ZSTD else "store"
        out.append(
            valid(
                name,
                text,
                blob,
                f"{len(text)} bytes of logs as one semantic frame (transform 1) over {label}",
                8192,
                level,
                False,
            )
        )
    # FA: line references after the number stage (flag bit 2), only with coded_bank.
    lines = [
        b"2015-10-18 18:01:47,978 INFO worker %d finished task %d of job 7 in %d ms\n" % (i % 3, i, 10 + i)
        for i in range(40)
    ]
    text = b"".join(lines)
    code = semantic.encode(text, bank=False, coded_bank=True, temporal=False)
    assert code[0] == 2 and code[1] & 0x04 and b"\xfa" in code
    blob, _ = assemble([(text, 1, STORE, encode_varint(len(code)) + code, False)], 8192, 0, False)
    out.append(
        valid(
            "semantic-v2-fa-lines",
            text,
            blob,
            "log lines that differ only in their numbers: a stored version-2 glyph code with FA line "
            "references (the line as the quantity stage sees it)",
            8192,
            0,
            False,
        )
    )
    stamps = [
        b"2015-10-18T18:01:47.978Z",
        b"2015-10-18 18:01:47,978",
        b"20171223-22:15:29:606",
        b"17/06/09 20:10:40",
        b"2017.06.09_20:10:40",
        b"2017/06/09-20:10:40.5",
        b"03-17 16:13:38.811",
        b"10.30 16:49:06",
        b"12/30 16:49:06Z",
        b"Jun 14 15:16:01",
        b"Jun  4 15:16:01",
        b"Sun Dec 04 04:47:44 2005",
        b"Dec  4 04:47:44 2005",
        b"2016-02-29 23:59:59.123456789",
    ]
    lines = []
    for i in range(6):
        for s in stamps:
            lines.append(s + b" event %d\n" % i)
    lines.append(b"2023-02-30 10:00:00 is no date and stays literal\n")
    lines.append(b"x2015-10-18 18:01:47 is glued to a letter and stays literal\n")
    text = b"".join(lines)
    code = semantic.encode(text)
    assert code[0] == 2 and code[1] & 0x08
    blob, _ = assemble([(text, 1, STORE, encode_varint(len(code)) + code, False)], 8192, 0, False)
    out.append(
        valid(
            "semantic-v2-timestamp-layouts",
            text,
            blob,
            "every timestamp layout variant (separators, 2- and 4-digit years, fractions with . , :, Z, "
            "space-padded days, weekday and year suffix), six times each: a stored glyph code with TEMPORAL glyphs",
            8192,
            0,
            False,
        )
    )
    forms = []
    for digits in range(1, 10):
        for sep in b".,:":
            for tsep in b"T ":
                for zone in (b"", b"Z"):
                    forms.append((b"2015-10-18%c18:01:47%c%s" % (tsep, sep, b"1" * digits), zone))
    forms = forms[:70]
    lines = [f + z + b" a\n" for f, z in forms] + [f[:-1] + b"2" + z + b" b\n" for f, z in forms]
    text = b"".join(lines)
    code = semantic.encode(text)
    assert code[0] == 2 and code[1] & 0x08 and len(forms) > 64
    blob, _ = assemble([(text, 1, STORE, encode_varint(len(code)) + code, False)], 8192, 0, False)
    out.append(
        valid(
            "semantic-v2-form-cap",
            text,
            blob,
            f"{len(forms)} timestamp forms, each twice: the first 64 get form numbers 0-63 and TEMPORAL "
            "glyphs, the later ones none and stay literal",
            8192,
            0,
            False,
        )
    )
    return out


def long_range_vector() -> Entry:
    a = PROSE[:400]
    b = PROSE[1000:1200]
    chunk0 = a + a  # a reset point: one reference inside its own chunk
    data0 = encode_list([(400, 400, 400)]) + a  # transform 2, stored rest, no L (continues = 0)
    chunk1 = b + a  # continues with L = 0: copies a from frame 0, stored rest
    data1 = encode_varint(0) + encode_list([(200, 200 + 800, 400)]) + b
    text = LOGS[:1500]
    text = text[: text.rfind(b"\n") + 1]
    chunk2 = text + a  # transform 3: a semantic rest over store, primed with nothing (L = 0)
    code = semantic.encode(text)
    data2 = encode_varint(0) + encode_list([(len(text), len(text) + 1400, 400)]) + encode_varint(len(code)) + code
    frames = [(chunk0, 2, STORE, data0, False), (chunk1, 2, STORE, data1, True), (chunk2, 3, STORE, data2, True)]
    data = chunk0 + chunk1 + chunk2
    blob, _ = assemble(frames, 4096, 1, True)
    return valid(
        "long-range-crafted",
        data,
        blob,
        "shared context: frame 0 is a reset point with transform 2, a reference inside its own chunk and a "
        "stored rest; frame 1 continues with L = 0, a reference into frame 0 and a stored rest; frame 2 has "
        "transform 3 (a stored glyph code as the rest) with L = 0",
        4096,
        1,
        True,
    )


def codebook_vectors() -> list[Entry]:
    """A codebook file (``logs-book.slb``), a stream of independent frames whose version-1 glyph
    code references it, and a shared-context stream written with it."""
    book = train_codebook([FIXTURES / "loghub-small.log"], words=300, short=64, min_count=4, sample_size=0)
    (HERE / BOOK_FILE).write_bytes(book.to_bytes())
    text = LOGS[:4000]
    text = text[: text.rfind(b"\n") + 1]
    code = semantic.encode(text, book=book, bank=False, temporal=False)
    assert code[0] == 1 and code[1] & 0x10
    assembler = StreamAssembler(StreamHeader(chunk_size=4096, level=0, codebook_id=book.id))
    blob = assembler.start() + assembler.frame(text, 1, STORE, encode_varint(len(code)) + code) + assembler.finish()
    assert sigmalang.decompress(blob, codebook=book) == text
    one = valid(
        "semantic-v1-codebook",
        text,
        blob,
        f"a version-1 glyph code (stored) whose references index the codebook file {BOOK_FILE} "
        "(flag bit 4) plus the frame's own extension words",
        4096,
        0,
        False,
        book,
    )
    text = LOGS[:12000]
    text = text[: text.rfind(b"\n") + 1]
    with earlier_ppmd_primer():  # written before the fresh-coder primer: kept byte for byte
        blob = sigmalang.compress(text, 3, chunk_size=4096, codebook=book, shared_context=True, workers=1)
    two = valid(
        "shared-codebook-l3",
        text,
        blob,
        f"logs at level 3 with shared context and the codebook file {BOOK_FILE}: continuing semantic "
        "frames whose flag bit 4 means the file's words, not the previous frame's (PPMd in the earlier "
        "primer format, FORMAT.md §7.5)",
        4096,
        3,
        True,
        book,
    )
    return [one, two]


def strict_vectors() -> list[Entry]:
    """One damaged frame for each rule the reader was made strict on (FORMAT.md §16)."""
    out = []
    text = b"alpha beta gamma 12 delta\nalpha beta gamma 19 delta\n"
    cases = [
        (
            "bad-glyph-word-not-letters",
            bytes([1, 0, 2, 1]) + b"gam3a\n" + text,
            "codebook word 0 is not ASCII letters",
            "a stored glyph code whose own codebook word `gam3a` holds a digit",
        ),
        (
            "bad-glyph-word-twice",
            bytes([1, 0, 2, 2]) + b"beta\nbeta\n" + text,
            "holds a word twice",
            "a stored glyph code whose codebook lists `beta` twice",
        ),
        (
            "bad-number-delta-leading-zero",
            bytes([1, 2, 2, 0]) + text.replace(b"19", b"\xfc07"),
            "leading zero",
            "a stored glyph code whose number delta is written `07`",
        ),
    ]
    for name, code, message, what in cases:
        blob, offsets = assemble([(text, 1, STORE, encode_varint(len(code)) + code, False)], 4096, 0, False)
        out.append(damaged(name, blob, what + " (frame CRC32C valid)", 0, offsets[0], message))
    zdata = ZstdBackend(3).encode(text)
    skip = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + b"skip"
    blob, offsets = assemble([(text, 0, ZSTD, skip + zdata, False)], 4096, 1, False)
    out.append(
        damaged(
            "bad-zstd-skippable",
            blob,
            "a zstd frame after a 12-byte skippable frame (frame CRC32C valid)",
            0,
            offsets[0],
            "does not start with a Zstandard frame",
        )
    )
    # frame 0 with an original offset of 2^64 as a 10-byte varint (80 ... 80 02)
    good, offsets = assemble([(text, 0, STORE, text, False)], 4096, 0, False)
    record = offsets[0]
    head = good[:record]
    body = encode_varint(0) + b"\x80" * 9 + b"\x02" + encode_varint(len(text)) + bytes([0, 0]) + text
    frame = encode_glyph(GlyphType.COMPOSITE, P.FRAME, body + crc32c(body).to_bytes(4, "little"))
    out.append(
        damaged(
            "bad-varint-above-64-bits",
            head + frame,
            "frame 0's original offset is the 10-byte varint of 2^64 (CRC32C valid)",
            0,
            record,
            "above 2^64",
        )
    )
    return out


def glyph_code(version: int, flags: int, short: int, words: list[bytes], body: bytes) -> bytes:
    """A glyph code (FORMAT.md §7.4) written out field by field."""
    return bytes([version, flags, short]) + encode_varint(len(words)) + b"".join(w + b"\n" for w in words) + body


def stored_code(code: bytes) -> bytes:
    """The data of a transform-1 frame over store: the code's length, then the code."""
    return encode_varint(len(code)) + code


def semantic_rule_vectors() -> tuple[list[Entry], list[Entry]]:
    """Stored glyph codes for the quantity and codebook rules of §7.4 and §7.5."""
    good, bad = [], []
    # An FF b escape ends a digit run: "12 FF e9 34" holds two numbers, so the deltas of the next
    # line add 1 to 12 and to 34 (one number 1234 would have no second number to add to).
    text = b"t12\xe934 ok\nt13\xe935 ok\n"
    code = glyph_code(1, 0x03, 0, [], b"t12\xff\xe934 ok\nt\xfc1\xff\xe9\xfc1 ok\n")
    blob, _ = assemble([(text, 1, STORE, stored_code(code), False)], 4096, 0, False)
    good.append(
        valid(
            "semantic-escape-ends-number",
            text,
            blob,
            "a stored version-1 glyph code whose line `t12 FF e9 34` holds two numbers, 12 and 34: the "
            "escape ends the digit run, and the next line's two deltas (FC 1) give 13 and 35",
            4096,
            0,
            False,
        )
    )
    # Shared context without a codebook file: flag bit 4 extends the previous semantic frame's
    # codebook. Frames 1-3 continue with L = 0 (transforms 2 and 3 over store, §6.3), each with one
    # reference copying the start of frame 0.
    t0 = b"alpha beta gamma\n"
    c0 = glyph_code(1, 0, 2, [b"alpha", b"beta", b"gamma"], b"\x80 \x81 \x82\x00\n")
    t1 = b"Alpha delta gamma\n"  # delta: the frame's own word, rank 3 after the base's three
    c1 = glyph_code(1, 0x10, 2, [b"delta"], b"\xfd\x80 \x82\x01 \x82\x00\n")
    t2 = b"no words here\n"
    t3 = b"delta beta\n"  # rank 3: frame 1's codebook, base and extension, is the base here
    c3 = glyph_code(1, 0x10, 2, [], b"\x82\x01 \x81\n")
    copy = t0[:5]

    def long_frame(rest: bytes, transform: int, data: bytes, history: int) -> tuple[bytes, int, int, bytes, bool]:
        # the rest, then a copy of frame 0's first bytes: *history* original bytes since the reset
        matches = encode_list([(len(rest), len(rest) + history, len(copy))])
        return (rest + copy, transform, STORE, encode_varint(0) + matches + data, True)

    f0 = (t0, 1, STORE, stored_code(c0), False)
    f1 = long_frame(t1, 3, stored_code(c1), len(t0))
    f2 = long_frame(t2, 2, t2, len(t0) + len(f1[0]))
    f3 = long_frame(t3, 3, stored_code(c3), len(t0) + len(f1[0]) + len(f2[0]))
    frames = [f0, f1, f2, f3]
    blob, _ = assemble(frames, 4096, 1, True)
    good.append(
        valid(
            "shared-previous-codebook",
            b"".join(f[0] for f in frames),
            blob,
            "shared context, no codebook file, stored glyph codes: frame 0 (a reset point) has its own "
            "codebook alpha beta gamma; frame 1 sets flag bit 4 and extends it with delta; frame 2 is "
            "not semantic; frame 3 sets bit 4 and references delta, so its base is frame 1's whole "
            "codebook (frames 1-3 continue with L = 0, each copying frame 0's first 5 bytes)",
            4096,
            1,
            True,
        )
    )
    # Damaged: the same frames with one rule broken each.
    reset = (b"a reset point\n", 0, STORE, b"a reset point\n", False)
    g3 = long_frame(t3, 3, stored_code(c3), len(reset[0]))
    blob, offsets = assemble([f0, reset, (g3[0], 3, STORE, g3[3], True)], 4096, 1, True)
    bad.append(
        damaged(
            "bad-shared-book-bit-after-reset",
            blob,
            "shared context, no codebook file: frame 2 sets glyph-code flag bit 4, but the only semantic "
            "frame before it (frame 0) is before the reset point at frame 1, so there is no base codebook "
            "(stored glyph codes, CRC32C valid)",
            2,
            offsets[2],
            "glyph code refers to the stream's codebook, and none was given",
        )
    )
    c1_short = glyph_code(1, 0x10, 3, [b"delta"], b"\xfd\x80 \x83\x00 \x82\n")
    h1 = long_frame(t1, 3, stored_code(c1_short), len(t0))
    blob, offsets = assemble([f0, h1], 4096, 1, True)
    bad.append(
        damaged(
            "bad-shared-book-short-mismatch",
            blob,
            "shared context, no codebook file: frame 1 extends frame 0's codebook (flag bit 4) but "
            "says 3 one-byte codes where frame 0's codebook has 2 (stored glyph codes, CRC32C valid)",
            1,
            offsets[1],
            "glyph code has 3 one-byte codes, the codebook 2",
        )
    )
    blob, offsets = assemble([(t1, 1, STORE, stored_code(c1), False)], 4096, 0, False)
    bad.append(
        damaged(
            "bad-book-bit-without-book",
            blob,
            "independent frames, no codebook file: frame 0's glyph code sets flag bit 4 (stored, CRC32C valid)",
            0,
            offsets[0],
            "glyph code refers to the stream's codebook, and none was given",
        )
    )
    book = Codebook.from_bytes((HERE / BOOK_FILE).read_bytes())
    wrong = book.short + 1
    code = glyph_code(1, 0x10, wrong, [], b"\x80\n")
    assembler = StreamAssembler(StreamHeader(chunk_size=4096, level=0, codebook_id=book.id))
    start = assembler.start()
    blob = start + assembler.frame(book.words[0] + b"\n", 1, STORE, stored_code(code)) + assembler.finish()
    bad.append(
        damaged(
            "bad-codebook-short-mismatch",
            blob,
            f"a stream that names {BOOK_FILE} ({book.short} one-byte codes): frame 0's glyph code sets "
            f"flag bit 4 with {wrong} one-byte codes (stored, CRC32C valid)",
            0,
            len(start),
            f"glyph code has {wrong} one-byte codes, the codebook {book.short}",
            book,
        )
    )
    text = b"alpha 12 beta\nalpha 19 beta\n"
    for name, body, message, what in (
        (
            "bad-number-marker-without-digits",
            b"alpha 12 beta\nalpha \xfc beta\n",
            "stray marker",
            "a number marker FC followed by a space, not a digit: no delta, a stray byte",
        ),
        (
            "bad-number-delta-without-number",
            b"alpha 12 beta\nalpha 12 \xfc7 beta\n",
            "no number to add to",
            "the second delta of line 2 has no second number in line 1 to add to",
        ),
    ):
        code = glyph_code(1, 0x02, 0, [], body)
        blob, offsets = assemble([(text, 1, STORE, stored_code(code), False)], 4096, 0, False)
        bad.append(damaged(name, blob, f"a stored glyph code: {what} (CRC32C valid)", 0, offsets[0], message))
    # TEMPORAL forms are not carried: frame 1 continues frame 0, which saw form 0, and names it.
    s0 = b"2015-10-18 18:01:47 start\n"
    d0 = glyph_code(2, 0x08, 0, [], s0)
    d1 = glyph_code(2, 0x08, 0, [], b"\xfb\x80\xc2 next\n")  # form 0, delta +1 s
    t1 = b"2015-10-18 18:01:48 next\n"
    g1 = long_frame(t1, 3, stored_code(d1), len(s0))
    blob, offsets = assemble([(s0, 1, STORE, stored_code(d0), False), (g1[0], 3, STORE, g1[3], True)], 4096, 1, True)
    bad.append(
        damaged(
            "bad-shared-temporal-form-carried",
            blob,
            "shared context: frame 1 continues frame 0, whose glyph code saw a timestamp of form 0, and "
            "has a TEMPORAL glyph naming form 0: forms are not carried from frame to frame (stored "
            "version-2 glyph codes, CRC32C valid)",
            1,
            offsets[1],
            "TEMPORAL glyph names form 0, not seen in the frame",
        )
    )
    return good, bad


def context_vectors() -> list[Entry]:
    """Frames that ask for what a reader cannot give them: a stored frame that continues, a context
    longer than the history, a glyph code longer than its bound."""
    out = []
    text = b"one line of text\n"
    first = (text, 0, STORE, text, False)
    for name, data, message, what in (
        (
            "bad-stored-continues",
            encode_varint(5) + text,
            "a stored frame cannot continue a context",
            "frame 1 (transform 0, store) continues with L = 5",
        ),
        (
            "bad-context-length-cut",
            b"\x80",
            "continuing frame has no valid context length",
            "frame 1 continues, and its data is one byte 80: a context length that does not end",
        ),
        (
            "bad-context-too-long",
            encode_varint(len(text) + 1) + text,
            f"context of {len(text) + 1} bytes asked for, {len(text)} available",
            f"frame 1 continues with L = {len(text) + 1}, one more than the {len(text)} bytes of history",
        ),
    ):
        blob, offsets = assemble([first, (text, 0, STORE, data, True)], 4096, 1, True)
        out.append(damaged(name, blob, f"shared context: {what} (CRC32C valid)", 1, offsets[1], message))
    code = glyph_code(1, 0, 0, [], text)
    size = 4 * len(text) + 65
    blob, offsets = assemble([(text, 1, STORE, encode_varint(size) + code, False)], 4096, 0, False)
    out.append(
        damaged(
            "bad-code-length-huge",
            blob,
            f"frame 0 (transform 1) gives its glyph code a length of {size} bytes, one more than "
            f"4 x {len(text)} + 64 (CRC32C valid)",
            0,
            offsets[0],
            f"code of {size} bytes is too long for a {len(text)}-byte chunk",
        )
    )
    return out


def main() -> int:
    good, bad = ppmd_vectors()
    more_good, more_bad = ppmd_primed_vectors()
    good += more_good
    bad += more_bad
    good += semantic_vectors()
    good.append(long_range_vector())
    good += codebook_vectors()
    bad += strict_vectors()
    more_good, more_bad = semantic_rule_vectors()
    good += more_good
    bad += more_bad
    bad += context_vectors()
    update_manifest(good, bad)
    print("wrote", ", ".join(sorted({e["name"] for e in good + bad})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
