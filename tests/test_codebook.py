"""Trained codebooks: the book file, ``sigmalang train``, streams that name a book, and their errors."""

from __future__ import annotations

import io
import json
import struct
from collections import Counter
from pathlib import Path

import pytest
from crc32c import crc32c
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang import semantic
from sigmalang._backend_base import STORE
from sigmalang._container import StreamAssembler
from sigmalang._levels import TRANSFORM_SEMANTIC
from sigmalang._stream import StreamingDecoder, StreamingEncoder
from sigmalang._stream_records import StreamHeader
from sigmalang._wire import encode_varint
from sigmalang.cli import main
from sigmalang.semantic.codebook import (
    BOOK_MAGIC,
    CODE_BYTES,
    MAX_BOOK_SIZE,
    SAMPLE_LINE_MAX,
    SAMPLE_MAX,
    Codebook,
    LineSampler,
    WordCounter,
    load_codebook,
    parse_book,
    train_codebook,
)
from sigmalang.semantic.transform import FLAG_BOOK

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = FIXTURES / "dickens-64k.txt"
LOGS = FIXTURES / "loghub-small.log"
TEXT = DICKENS.read_bytes()
HALF = TEXT.rfind(b"\n", 0, len(TEXT) // 2) + 1


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Codebook:
    """A book trained on the first half of the dickens fixture (tests encode the second half)."""
    path = tmp_path_factory.mktemp("book") / "first.txt"
    path.write_bytes(TEXT[:HALF])
    return train_codebook([path], min_count=4)


@pytest.fixture(scope="module")
def log_book() -> Codebook:
    return train_codebook([LOGS], min_count=4)


def book_file(body: bytes) -> bytes:
    """*body* (everything after the magic, before the CRC) as a file with a valid CRC."""
    data = BOOK_MAGIC + body
    return data + struct.pack("<I", crc32c(data))


# -- the book file -------------------------------------------------------------------


def test_book_bytes_round_trip_and_identity(book: Codebook) -> None:
    assert len(book.words) > 50 and book.words[0] == b"the"
    data = book.to_bytes()
    assert data.startswith(BOOK_MAGIC) and parse_book(data) == book
    assert len(book.id) == 16 and book.id == Codebook.from_bytes(data).id
    other = Codebook(book.words[:-1], book.short)
    assert other.id != book.id


def test_book_files_of_version_2_hold_the_sample() -> None:
    """Golden bytes: a book without a sample is a version-1 file (the ids of books written before
    samples existed do not change); with one, version 2 puts it between the word count and the words."""
    words = Codebook((b"the", b"and"), 96)
    assert words.to_bytes() == book_file(b"\x01\x60\x02the\nand\n")
    both = Codebook((b"the", b"and"), 96, b"x=1\n\xff\n")
    assert both.to_bytes() == book_file(b"\x02\x60\x02\x06x=1\n\xff\nthe\nand\n")
    assert parse_book(both.to_bytes()) == both and both.id != words.id
    assert MAX_BOOK_SIZE == 2_325_524  # the largest valid file, FORMAT.md §17
    assert parse_book(book_file(b"\x02\x60\x00\x01\n")) == Codebook((), 96, b"\n")  # no words, any sample bytes
    largest = Codebook((), 0, b"a" * SAMPLE_MAX)
    assert parse_book(largest.to_bytes()) == largest and len(largest.to_bytes()) < MAX_BOOK_SIZE
    with pytest.raises(ValueError, match="at most"):
        Codebook((), 0, b"a" * (SAMPLE_MAX + 1)).to_bytes()


def _book_body(version: int, short: int, words: list[bytes], sample: bytes, off: tuple[int, int]) -> bytes:
    """A book file's body with its counts right, or off by *off* (word count, sample length)."""
    body = bytes([version, short]) + encode_varint(max(0, len(words) + off[0]))
    if version != 1:
        body += encode_varint(max(0, len(sample) + off[1])) + sample
    return body + b"".join(word + b"\n" for word in words)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200)
    | st.builds(
        _book_body,
        st.sampled_from([1, 2, 2, 2, 3]),
        st.integers(0, 125),
        st.lists(st.from_regex(rb"[a-z]{1,4}", fullmatch=True), max_size=6, unique=True)
        | st.lists(st.from_regex(rb"[a-c]{1,2}|[a-c]-", fullmatch=True), max_size=6),
        st.binary(min_size=1, max_size=12) | st.binary(max_size=2),
        st.sampled_from([(0, 0), (0, 0), (0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]),
    ),
    st.sampled_from([True, True, True, False]),
)
def test_any_bytes_are_a_canonical_book_or_refused(body: bytes, crc: bool) -> None:
    """A file is refused with a SigmaCodebookError, or it is the one encoding of the book it holds."""
    data = book_file(body) if crc else BOOK_MAGIC + body
    try:
        book = parse_book(data)
    except sigmalang.SigmaCodebookError:
        return
    assert book.to_bytes() == data


def test_training_is_deterministic(tmp_path: Path) -> None:
    a = train_codebook([DICKENS, LOGS], min_count=4)
    b = train_codebook([DICKENS, LOGS], min_count=4, read_size=997)  # pieces cut words anywhere
    assert a.to_bytes() == b.to_bytes() and a.id == b.id
    assert train_codebook([LOGS, DICKENS], min_count=4).id != a.id  # ties keep first-seen order
    assert 64000 < len(a.sample) <= 64 << 10 and a.sample.endswith(LOGS.read_bytes()[-1000:])
    assert train_codebook([DICKENS, LOGS], min_count=4, sample_size=0).sample == b""


def _sample_of(data: bytes, size: int, piece: int, max_entries: int = 1 << 15) -> bytes:
    sampler = LineSampler(size, max_entries)
    for i in range(0, len(data), piece):
        sampler.feed(data[i : i + piece])
    sampler.end()
    return sampler.sample()


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=3000) | st.text(alphabet="ab 12=:\n", max_size=3000).map(str.encode),
    st.integers(0, 2000),
    st.integers(1, 700),
)
def test_a_sample_does_not_depend_on_how_the_text_is_read(data: bytes, size: int, piece: int) -> None:
    """For any bytes, size and read size: the same sample as from the text read whole, at most
    *size* bytes, made of whole lines of the text (examples) and then a suffix of the text."""
    sample = _sample_of(data, size, len(data) or 1)
    assert _sample_of(data, size, piece) == sample
    assert len(sample) <= size
    if len(data) <= size // 2:  # every line fits as an example or the tail holds it all
        assert sample.endswith(data)
    lines = data.splitlines(keepends=True)
    head = sample
    while head and not data.endswith(head):
        line = next(x for x in lines if head.startswith(x))  # an example is a line of the text
        head = head[len(line) :]


def test_the_sample_holds_each_frequent_template_once_then_the_last_lines() -> None:
    common = b"".join(b"2024-01-01 10:00:%02d INFO job %d done in %d ms\n" % (i % 60, i, i * 7) for i in range(300))
    rare = b"WARN disk /dev/sda%d almost full\n" % 3
    odd = b"x" * (SAMPLE_LINE_MAX + 10) + b"\n"  # longer than an example may be
    cut = common.index(b"\n", 5000) + 1
    text = common[:cut] + rare + odd + common[cut:]
    sample = _sample_of(text, 4096, 333)
    latest = common[common.rindex(b"\n", 0, -1) + 1 :]  # the latest example of its template
    examples = rare + latest  # the rare template first, then the common one
    assert sample.startswith(examples) and b"job 299 " in latest
    assert text.endswith(sample[len(examples) :]) and 4000 < len(sample) <= 4096
    assert b"xxx" not in sample
    # bounded: more templates than kept are counted, the rarer ones dropped
    many = b"".join(b"word%s here\n" % bytes([97 + i % 26, 97 + i // 26 % 26, 97 + i // 676 % 26]) for i in range(5000))
    sampler = LineSampler(2048, max_entries=64)
    sampler.feed(many)
    assert len(sampler.counts) <= 64 and len(sampler.examples) == len(sampler.counts)
    with pytest.raises(ValueError):
        LineSampler(SAMPLE_MAX + 1)


def test_word_counter_joins_cut_words_and_stays_bounded() -> None:
    whole = WordCounter()
    whole.feed(TEXT)
    whole.end()
    pieces = WordCounter()
    for i in range(0, len(TEXT), 7):
        pieces.feed(TEXT[i : i + 7])
    pieces.end()
    assert pieces.counts == whole.counts == Counter(semantic.codebook.WORD.findall(TEXT))
    small = WordCounter(max_entries=100)
    for i in range(0, len(TEXT), 4096):
        small.feed(TEXT[i : i + 4096])
        assert len(small.counts) <= 100
    small.end()
    assert small.pruned > 0
    top = [w for w, _ in whole.counts.most_common(5)]
    assert all(small.counts[w] > 0 for w in top)  # frequent words survive the pruning
    assert all(small.counts[w] <= whole.counts[w] for w in small.counts)  # counts only too low


def test_long_runs_of_letters_are_not_words(tmp_path: Path) -> None:
    counter = WordCounter()
    for piece in (b"ab " + b"x" * 50, b"x" * 50, b"y ab\n"):
        counter.feed(piece)
    counter.end()
    assert counter.counts == Counter({b"ab": 2})


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "bad magic"),
        (b"\xce\xa3LG\r\n\x1a\n\x01\x60\x00" + b"\0" * 4, "bad magic"),  # a stream, not a book
        (BOOK_MAGIC + b"\x01", "truncated"),
        (book_file(b"\x01\x60\x02the\nand\n")[:-1] + b"\0", "CRC32C mismatch"),
        (book_file(b"\x03\x60\x00"), "unsupported codebook version 3"),
        (book_file(b"\x02\x60\x00"), "truncated sample length"),
        (book_file(b"\x02\x60\x00\x80"), "truncated sample length"),
        (book_file(b"\x02\x60\x00\x00"), "a sample of 0 bytes"),  # an empty sample is version 1
        (book_file(b"\x02\x60\x00\x81\x80\x10"), "a sample of 262,145 bytes"),
        (book_file(b"\x02\x60\x00\x05abcd"), "truncated sample"),
        (book_file(b"\x02\x60\x01\x02a\n-the\n"), "word 0 is not"),  # the sample is 2 bytes, not 3
        (book_file(b"\x01\x7d\x00"), "125 one-byte codes"),
        (book_file(b"\x01\x60\x80\x80\x80\x01"), "word count"),
        (book_file(b"\x01\x7c\x7d"), "do not fit"),  # 125 words, 124 one-byte codes and no more
        (book_file(b"\x01\x60\x03the\nand\n"), "header says 3"),
        (book_file(b"\x01\x60\x02the\nand"), "final LF"),
        (book_file(b"\x01\x60\x02the\na-d\n"), "word 1 is not"),
        (book_file(b"\x01\x60\x01" + b"a" * 65 + b"\n"), "word 0 is not"),
        (book_file(b"\x01\x60\x01\n"), "word 0 is not"),
        (book_file(b"\x01\x60\x02the\nthe\n"), "appears twice"),
        (b"\0" * (MAX_BOOK_SIZE + 1), "more than a codebook file can hold"),
    ],
)
def test_hostile_book_files_are_refused(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "bad.book"
    path.write_bytes(data)
    with pytest.raises(sigmalang.SigmaCodebookError, match=problem) as info:
        load_codebook(path)
    assert str(path) in str(info.value)
    assert parse_book(
        book_file(b"\x01\x7c\x7c" + b"".join(b"w%s\n" % bytes([65 + i // 26, 97 + i % 26]) for i in range(124)))
    )


# -- streams with a book -------------------------------------------------------------


def test_api_round_trip_and_ratio(book: Codebook, tmp_path: Path) -> None:
    data = TEXT[HALF:]
    level = 3  # the glyph-code level: the context-mixing levels code bytes and use no codebook
    blob = sigmalang.compress(data, level, codebook=book)
    assert sigmalang.decompress(blob, codebook=book) == data
    path = tmp_path / "b.book"
    path.write_bytes(book.to_bytes())
    assert sigmalang.decompress(blob, codebook=str(path)) == data  # a path is loaded
    assert sigmalang.compress(data, level, codebook=path) == blob
    assert len(blob) < len(sigmalang.compress(data, level))  # the frame carries no word list
    assert sigmalang.decompress(sigmalang.compress(data), codebook=book) == data  # a book not needed is unused


def test_incremental_and_file_api(book: Codebook, tmp_path: Path) -> None:
    data = TEXT[HALF:]
    comp = sigmalang.SigmaCompressor(6, chunk_size=8192, codebook=book)
    blob = b"".join(comp.compress(data[i : i + 5000]) for i in range(0, len(data), 5000)) + comp.flush()
    assert blob == sigmalang.compress(data, chunk_size=8192, codebook=book)
    decomp = sigmalang.SigmaDecompressor(codebook=book)
    assert b"".join(decomp.decompress(blob[i : i + 999]) for i in range(0, len(blob), 999)) == data
    assert decomp.eof
    path = tmp_path / "t.sgl"
    with sigmalang.open(path, "wb", chunk_size=8192, codebook=book) as f:
        f.write(data)
    with sigmalang.open(path, "rb", codebook=book) as f:
        assert f.read() == data
        f.seek(100)
        assert f.read(50) == data[100:150]
    with sigmalang.open(path, "rb") as f, pytest.raises(sigmalang.SigmaCodebookError, match=book.id.hex()):
        f.read()


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: a process pool
def test_streaming_round_trip(book: Codebook, log_book: Codebook, workers: int) -> None:
    data = TEXT[HALF:] + LOGS.read_bytes()
    out = io.BytesIO()
    StreamingEncoder(6, 16384, workers=workers, codebook=book).encode_stream(io.BytesIO(data), out)
    assert out.getvalue() == sigmalang.compress(data, chunk_size=16384, codebook=book)  # same for any worker count
    plain = sigmalang.compress(data[:30000], chunk_size=16384)
    both = out.getvalue() + plain  # a stream with the book, then one without
    back = io.BytesIO()
    StreamingDecoder(workers=workers, codebook=book).decode_stream(io.BytesIO(both), back)
    assert back.getvalue() == data + data[:30000]
    for wrong in (None, log_book):
        with pytest.raises(sigmalang.SigmaCodebookError) as info:
            StreamingDecoder(workers=workers, codebook=wrong).decode_stream(io.BytesIO(both), io.BytesIO())
        assert book.id.hex() in str(info.value)
        if wrong is not None:
            assert wrong.id.hex() in str(info.value)


def test_missing_and_wrong_book(book: Codebook, log_book: Codebook) -> None:
    blob = sigmalang.compress(TEXT[HALF:], codebook=book)
    with pytest.raises(sigmalang.SigmaCodebookError, match=f"needs codebook {book.id.hex()}, and none was given"):
        sigmalang.decompress(blob)
    with pytest.raises(sigmalang.SigmaCodebookError, match=f"and codebook {log_book.id.hex()} was given"):
        sigmalang.decompress(blob, codebook=log_book)


def _stream(code: bytes, size: int, book_id: bytes) -> bytes:
    """A stream of one semantic frame holding *code* stored as it is (backend store)."""
    asm = StreamAssembler(StreamHeader(chunk_size=1 << 16, level=6, codebook_id=book_id))
    body = encode_varint(len(code)) + code
    return asm.start() + asm.frame(b"x" * size, TRANSFORM_SEMANTIC, STORE, body) + asm.finish()


def test_reference_past_the_book_is_a_format_error(book: Codebook) -> None:
    small = Codebook((b"alpha", b"beta"), 96)
    header = bytes([1, FLAG_BOOK, 96, 0])
    assert semantic.decode(header + b"\x80 \x81", book=small) == b"alpha beta"
    with pytest.raises(semantic.SemanticDecodeError, match="not in the codebook"):
        semantic.decode(header + b"\x82", book=small)
    with pytest.raises(semantic.SemanticDecodeError, match="none was given"):
        semantic.decode(header + b"\x80")
    with pytest.raises(semantic.SemanticDecodeError, match="one-byte codes"):
        semantic.decode(bytes([1, FLAG_BOOK, 95, 0]) + b"\x80", book=small)
    full = Codebook(small.words, 124)
    with pytest.raises(semantic.SemanticDecodeError, match="does not fit"):
        semantic.decode(bytes([1, FLAG_BOOK, 124, 123]) + b"w\n" * 123, book=full)
    # in a stream: a clean SigmaFormatError, never other bytes
    with pytest.raises(sigmalang.SigmaFormatError, match="not in the codebook"):
        sigmalang.decompress(_stream(header + b"\x82", 1, small.id), codebook=small)
    # a frame using a book in a stream that names none is not decoded with the book given
    with pytest.raises(sigmalang.SigmaFormatError, match="none was given"):
        sigmalang.decompress(_stream(header + b"\x80", 5, b""), codebook=small)


def test_extension_words_and_flag(book: Codebook) -> None:
    data = b"".join(b"zyxwvut qqqq zyxwvut the %s\n" % (b"x" * i) for i in range(40))  # lines differ
    code = semantic.encode(data, book=book)
    assert code[1] & FLAG_BOOK and b"zyxwvut\n" in code  # a frame word missing from the book
    assert b"the\n" not in code  # the book's words are not repeated
    assert semantic.decode(code, book=book) == data
    bare = semantic.encode(data, book=book, extend=False)
    assert b"zyxwvut" in bare and bare[3] == 0 and semantic.decode(bare, book=book) == data


words = st.from_regex(rb"[A-Za-z]{1,8}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(
    st.binary(max_size=1500) | st.text(alphabet="abcdeTHE XY12\n.é", max_size=1500).map(str.encode),
    st.lists(words, max_size=40, unique=True),
    st.integers(0, CODE_BYTES),
    st.booleans(),
)
def test_any_input_round_trips_with_any_small_book(data: bytes, ws: list[bytes], short: int, extend: bool) -> None:
    book = Codebook(tuple(ws), short)
    assert parse_book(book.to_bytes()) == book
    code = semantic.encode(data, min_count=2, book=book, extend=extend)
    assert semantic.decode(code, len(data), book=book) == data
    if data:
        blob = sigmalang.compress(data, 4, chunk_size=512, codebook=book)
        assert sigmalang.decompress(blob, codebook=book) == data


# -- the command line ----------------------------------------------------------------


def test_cli_train_encode_decode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample, text = tmp_path / "first.txt", tmp_path / "second.txt"
    sample.write_bytes(TEXT[:HALF])
    text.write_bytes(TEXT[HALF:])
    bk = tmp_path / "d.book"
    assert main(["train", str(sample), "-o", str(bk), "--words", "500", "--sample-size", "8KiB"]) == 0
    out = capsys.readouterr().out
    book = load_codebook(bk)
    assert f"{len(book.words)} words" in out and book.id.hex() in out and len(book.words) <= 500
    assert f"and {len(book.sample):,} bytes of sample lines" in out and 8000 < len(book.sample) <= 8192
    for bad in ("300KiB", "-1", "8 parsecs"):
        with pytest.raises(SystemExit):
            main(["train", str(sample), "-o", str(tmp_path / "x.book"), "--sample-size", bad])
        assert "--sample-size" in capsys.readouterr().err
    assert main(["train", "-q", str(sample), "-o", str(tmp_path / "w.book"), "--sample-size", "0"]) == 0
    assert (tmp_path / "w.book").read_bytes()[8] == 1  # no sample: a version-1 file
    assert main(["info", str(bk)]) == 0  # what a book holds, and the id a stream names
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{bk}: ΣLANG codebook v2, {len(book.words)} words") and book.id.hex() in line
    assert f"{len(book.sample):,} bytes of sample lines, {bk.stat().st_size:,} bytes" in line
    assert main(["info", "--json", str(tmp_path / "w.book")]) == 0
    facts = json.loads(capsys.readouterr().out)["codebook"]
    assert facts["version"] == 1 and facts["sample"] == 0 and facts["id"] == load_codebook(tmp_path / "w.book").id.hex()
    damaged = tmp_path / "bad.book"
    damaged.write_bytes(bk.read_bytes()[:-1] + b"\0")
    assert main(["info", str(damaged)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "CRC32C mismatch" in line and str(damaged) in line
    assert main(["train", str(sample), "-o", str(bk)]) == 1  # never overwritten without -f
    assert "exists" in capsys.readouterr().err
    assert load_codebook(bk) == book
    assert main(["encode", "-q", "-D", str(bk), str(text)]) == 0
    sgl = tmp_path / "second.txt.sgl"
    text.unlink()
    assert main(["info", str(sgl)]) == 0
    assert f"needs codebook {book.id.hex()}" in capsys.readouterr().out
    assert main(["decode", str(sgl)]) == 1  # no book
    (line,) = capsys.readouterr().err.splitlines()
    assert f"needs codebook {book.id.hex()}, and none was given" in line and not text.exists()
    other = tmp_path / "other.book"
    assert main(["train", "-q", str(LOGS), "-o", str(other)]) == 0
    assert main(["decode", "-D", str(other), str(sgl)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert f"and codebook {load_codebook(other).id.hex()} was given" in line and not text.exists()
    assert main(["verify", "-q", "-D", str(bk), str(sgl)]) == 0
    assert main(["decode", "-q", "-D", str(bk), str(sgl)]) == 0  # with workers: the test below
    assert text.read_bytes() == TEXT[HALF:]


def test_a_long_chunk_of_log_lines_is_judged_without_the_book(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pieces a long chunk is judged on (records or bytes) are coded without the book's primer,
    which would favour bytes; the chunk itself is coded with it."""
    from sigmalang._backends import CmBackend

    logs = LOGS.read_bytes()
    data = b"".join(b"%06d " % i + line + b"\n" for i, line in enumerate(logs.splitlines() * 6))[: 400 << 10]
    book = Codebook((b"the",), 96, logs[:8000])
    primed = []
    real = CmBackend.encode_at_most  # every CM coding goes through it (encode too)
    monkeypatch.setattr(CmBackend, "encode_at_most", lambda self, *a: primed.append(bool(self.book)) or real(self, *a))
    blob = sigmalang.compress(data, 6, codebook=book)
    assert sigmalang.decompress(blob, codebook=book) == data
    assert len(primed) >= 9 and not any(primed[:8]) and primed[-1]  # the pieces, then the chunk


def test_memory_estimates_count_a_book(book: Codebook, tmp_path: Path) -> None:
    """With a book, the CM's tables are sized for its primer and a frame, and a stream of several
    small frames holds a kept model beside a frame's copy of it; one small frame keeps none."""
    from sigmalang import _cm
    from sigmalang._backends import CmBackend

    tables = _cm.model_memory(CmBackend().table_bits(8192 + len(book.primer())))
    alone = sigmalang.estimate_memory_usage(8192, input_size=8192)
    one = sigmalang.estimate_memory_usage(8192, input_size=8192, codebook=book)
    many = sigmalang.estimate_memory_usage(8192, input_size=80000, codebook=book)
    assert alone.parts["codec"] < one.parts["codec"] and many.parts["codec"] - one.parts["codec"] == tables
    path = tmp_path / "b.book"
    book.save(path)
    assert sigmalang.estimate_memory_usage(8192, input_size=80000, codebook=path) == many


def test_cli_inspect_with_a_book_at_the_context_mixing_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_book: Codebook
) -> None:
    """inspect -D reads what each frame's model spent on a stream with a book: a frame of records
    and a frame of bytes, both primed with the book."""
    bk, src = tmp_path / "l.book", tmp_path / "l.log"
    bk.write_bytes(log_book.to_bytes())
    src.write_bytes(LOGS.read_bytes()[:20000])
    for form in ("logs", "text"):
        sgl = tmp_path / f"{form}.sgl"
        assert main(["encode", "-q", "-6", "--format", form, "-D", str(bk), str(src), "-o", str(sgl)]) == 0
        capsys.readouterr()
        assert main(["inspect", "-D", str(bk), str(sgl)]) == 0
        out = capsys.readouterr().out
        if form == "logs":
            assert "records+cm: 1 frame" in out and "coded as log records" in out
        else:
            assert "literal+cm: 1 frame" in out and "the model (cm)" in out


def test_cli_damaged_book(tmp_path: Path, capsys: pytest.CaptureFixture[str], book: Codebook) -> None:
    bk = tmp_path / "d.book"
    data = bytearray(book.to_bytes())
    data[20] ^= 1
    bk.write_bytes(bytes(data))
    text = tmp_path / "t.txt"
    text.write_bytes(TEXT)
    assert main(["encode", "-D", str(bk), str(text)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert "CRC32C mismatch" in line and str(bk) in line
    assert not (tmp_path / "t.txt.sgl").exists()


@pytest.mark.parametrize("workers", ["1", pytest.param("2", marks=pytest.mark.slow)])  # 2: a process pool
def test_cli_verify_recover_and_range_with_a_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], book: Codebook, workers: str
) -> None:
    """decode, verify/recover (the scan) on workers too, and --range (the index) decode book streams with -D."""
    data = TEXT[HALF:]
    bk, src = tmp_path / "d.book", tmp_path / "t.txt"
    bk.write_bytes(book.to_bytes())
    src.write_bytes(data)
    assert main(["encode", "-q", "--chunk-size", "8KiB", "-D", str(bk), str(src)]) == 0
    sgl = tmp_path / "t.txt.sgl"
    blob = bytearray(sgl.read_bytes())
    blob[len(blob) // 2] ^= 0x40  # one damaged frame in the middle
    bad = tmp_path / "bad.sgl"
    bad.write_bytes(bytes(blob))
    assert main(["verify", "-q", "-T", workers, "-D", str(bk), str(sgl)]) == 0
    back = tmp_path / "back.txt"
    assert main(["decode", "-q", "-T", workers, "-D", str(bk), str(sgl), "-o", str(back)]) == 0
    assert back.read_bytes() == data
    assert main(["verify", "-q", "-T", workers, "-D", str(bk), str(bad)]) == 1
    capsys.readouterr()
    out = tmp_path / "rec.txt"
    assert main(["recover", "-q", "-T", workers, "-D", str(bk), str(bad), "-o", str(out)]) == 1
    salvaged = out.read_bytes()
    assert 0 < len(salvaged) < len(data) and salvaged[:1000] == data[:1000] and salvaged[-1000:] == data[-1000:]
    capsys.readouterr()
    assert main(["recover", "-T", workers, str(bad), "-o", str(tmp_path / "none.txt")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert f"needs codebook {book.id.hex()}, and none was given" in line
    assert not (tmp_path / "none.txt").exists()
    part = tmp_path / "part.txt"
    assert main(["decode", "-q", "-D", str(bk), "--range", "20000:30000", str(sgl), "-o", str(part)]) == 0
    assert part.read_bytes() == data[20000:30000]


def test_random_access_checks_the_book(book: Codebook, log_book: Codebook, tmp_path: Path) -> None:
    data = TEXT[HALF:]
    path = tmp_path / "t.sgl"
    path.write_bytes(sigmalang.compress(data, chunk_size=8192, codebook=book) + sigmalang.compress(b"plain\n" * 9))
    with sigmalang.open(path, "rb", codebook=book) as f:
        f.seek(len(data) - 10)
        assert f.read() == data[-10:] + b"plain\n" * 9
        f.seek(5000)
        assert f.read(10) == data[5000:5010]
    with sigmalang.open(path, "rb", codebook=log_book) as f, pytest.raises(sigmalang.SigmaCodebookError):
        f.seek(9000)
        f.read(10)


def test_book_with_version_2_stages(log_book: Codebook) -> None:
    """A stream codebook combines with the Σ-bank and TEMPORAL glyphs of glyph code version 2,
    and a book too large for version 2's code space makes the frame fall back to version 1."""
    from sigmalang.semantic.transform import FLAG_TEMPORAL, VERSION, VERSION_2

    data = LOGS.read_bytes()
    code = semantic.encode(data, book=log_book)
    assert code[0] == VERSION_2 and code[1] & FLAG_BOOK and code[1] & FLAG_TEMPORAL
    assert semantic.decode(code, len(data), book=log_book) == data
    letters = b"abcdefghijklmnopqrstuvwxyz"
    big = Codebook(
        tuple(b"w" + bytes([letters[i % 26], letters[i // 26 % 26], letters[i // 676]]) for i in range(7000)), 96
    )
    assert len(big.words) > 96 + (121 - 96) * 256
    code = semantic.encode(data, book=big)
    assert code[0] == VERSION and code[1] & FLAG_BOOK
    assert semantic.decode(code, len(data), book=big) == data
    with pytest.raises(ValueError, match="does not fit"):
        semantic.encode(data, book=Codebook(big.words * 2, 96))


def test_cli_inspect_with_a_book(tmp_path: Path, capsys: pytest.CaptureFixture[str], book: Codebook) -> None:
    bk, src = tmp_path / "d.book", tmp_path / "t.txt"
    bk.write_bytes(book.to_bytes())
    src.write_bytes(TEXT[HALF:])
    # level 3 writes glyph codes, which use the book (the context-mixing levels code bytes)
    assert main(["inspect", "--json", "-3", "-D", str(bk), str(src)]) == 0  # text, encoded in memory with the book
    text_report = json.loads(capsys.readouterr().out)
    assert main(["encode", "-q", "-3", "-D", str(bk), str(src)]) == 0
    sgl = tmp_path / "t.txt.sgl"
    assert main(["inspect", "--json", "-D", str(bk), str(sgl)]) == 0
    stream_report = json.loads(capsys.readouterr().out)
    for report in (text_report, stream_report):
        (stream,) = report["streams"]
        assert stream["semantic_frames"] == 1 and stream["codebook"]["top"][0]["word"] == book.words[0].decode()
    assert stream_report["streams"][0]["encoded_size"] == sgl.stat().st_size
    assert main(["inspect", str(sgl)]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert f"needs codebook {book.id.hex()}, and none was given" in line


def test_cm_frames_are_primed_with_the_codebook(book: Codebook) -> None:
    """At the context-mixing levels the codebook primes the model: its words, read before each
    frame, make a small piece of text from the same kind of source smaller; every CM payload
    says so (bit 16 of its component set), and a stream that names no codebook cannot claim it."""
    from sigmalang._backend_base import BackendError
    from sigmalang._backends import CM_BOOK, CmBackend
    from sigmalang._wire import read_varint

    piece = TEXT[HALF : HALF + 8000]
    alone, primed = sigmalang.compress(piece, 6), sigmalang.compress(piece, 6, codebook=book)
    assert len(primed) < len(alone) - 100
    assert sigmalang.decompress(primed, codebook=book) == piece
    with pytest.raises(sigmalang.SigmaCodebookError):
        sigmalang.decompress(primed)
    payload = CmBackend().with_book(book.primer()).encode(piece)
    assert read_varint(payload, 2, 3, ValueError)[0] & CM_BOOK
    assert CmBackend().with_book(book.primer()).decode(payload, len(piece)) == piece
    with pytest.raises(BackendError, match="names none"):
        CmBackend().decode(payload, len(piece))
    plain = CmBackend().encode(piece)  # without the bit, a book given to the decoder is not used
    assert not read_varint(plain, 2, 3, ValueError)[0] & CM_BOOK
    assert CmBackend().with_book(book.primer()).decode(plain, len(piece)) == piece


def test_the_codebook_primer_is_the_words_in_rank_order_cut_at_64_kib_then_the_sample() -> None:
    book = Codebook((b"the", b"and", b"of"), 2)
    assert book.primer() == b"the and of "
    long = Codebook(tuple(b"w%05d" % i for i in range(20000)), 96)
    assert long.primer() == b"".join(b"w%05d " % i for i in range(20000))[: 64 << 10]
    assert Codebook(long.words, 96, b"a=1\n").primer() == long.primer() + b"a=1\n"
    assert Codebook((), 0, b"a=1\n").primer() == b"a=1\n"


def test_a_sample_primes_small_logs_far_better_than_words_alone(tmp_path: Path) -> None:
    """A book trained on every other 4,000-byte piece of the log fixture (logs of several systems,
    one after another): with its sample, the pieces in between code much smaller than with its
    words alone, and decode."""
    logs = LOGS.read_bytes()
    cuts = [0] + [logs.rfind(b"\n", 0, at) + 1 for at in range(4000, len(logs), 4000)] + [len(logs)]
    pieces = [logs[a:b] for a, b in zip(cuts, cuts[1:], strict=False)]
    train = tmp_path / "train.log"
    train.write_bytes(b"".join(pieces[0::2]))
    sampled, words = (train_codebook([train], min_count=4, sample_size=n) for n in (16 << 10, 0))
    assert sampled.words == words.words and len(sampled.sample) > 15 << 10
    sizes = {}
    for name, book in (("sample", sampled), ("words", words)):
        sizes[name] = 0
        for piece in pieces[1::2]:
            blob = sigmalang.compress(piece, 6, codebook=book)
            assert sigmalang.decompress(blob, codebook=book) == piece
            sizes[name] += len(blob)
    assert sizes["sample"] < 0.8 * sizes["words"], sizes
