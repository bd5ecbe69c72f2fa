"""Search through the index filters gives exactly the lines ``decode | grep`` gives.

The reference is the whole decoded output split at line feeds, each line tested with Python's
``re`` (what ``sigmalang grep`` promises: ``LC_ALL=C grep`` with Python's regex syntax).
"""

from __future__ import annotations

import io
import json
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sigmalang
from sigmalang import _frames
from sigmalang._filter_items import fnv1a64
from sigmalang._filters import FilterBuilder, FrameFilter, decode_filters, literal_items
from sigmalang._index import SeekTable
from sigmalang._plan import can_span_lines, plan_patterns
from sigmalang._search import Search
from sigmalang._stream_records import StreamIndex

VECTORS = Path(__file__).parent / "vectors"
MANIFEST = json.loads((VECTORS / "manifest.json").read_text(encoding="utf-8"))

WORDS = ["INFO", "WARN", "ERROR", "error", "blk_123", "blk_124", "user", "sshd", "10.0.0.1", "a", "zz", "Zeta"]


def reference(
    data: bytes, patterns: list[bytes], *, fixed: bool = False, ignore_case: bool = False, invert: bool = False
) -> list[tuple[int, bytes]]:
    lines = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        lines.pop()
    flags = re.IGNORECASE if ignore_case else 0
    regexes = [re.compile(re.escape(p) if fixed else p, flags) for p in patterns]
    return [(n, line) for n, line in enumerate(lines, 1) if any(r.search(line) for r in regexes) != invert]


def found(stream: bytes, patterns: list[bytes], **options: Any) -> list[tuple[int, bytes]]:
    return list(Search(patterns, **options).lines(io.BytesIO(stream)))


line_text = st.lists(st.sampled_from(WORDS + ["", " ", ": ", "-", "=", "[x]"]), max_size=8).map(lambda ws: " ".join(ws))
log_text = st.builds(
    lambda lines, tail, long: (
        "\n".join(lines[:3] + ["q" * long + " long line " * (long // 50)] + lines[3:]).encode() + tail
    ),
    st.lists(line_text, max_size=120),
    st.sampled_from([b"", b"\n", b"no newline at the end"]),
    st.sampled_from([0, 0, 700, 5000]),
)
regex_patterns = st.sampled_from(
    [
        b"ERROR",
        b"error",
        b"blk_12[34]",
        b"^INFO",
        b"WARN$",
        b"user +sshd",
        b"(ERROR|WARN) user",
        b"10\\.0\\.0",
        b"z+",
        b"a.b",
        b"",
        b"long line",
        b"q{3}",
        b"\\bZeta\\b",
        b"[^ ]+=",
        b"x]",
        b"(?:INFO|nothere) [a-z]+",
        b"(?i)error",
        b"(?i:zeta) ",
        b"a (?i:ERROR)",
        b"\\d+",
    ]
)


@contextmanager
def filter_version(version: int) -> Iterator[None]:
    """While inside, writers build filters of *version* (1: no shared filter, as earlier writers)."""
    real = _frames.FilterBuilder
    _frames.FilterBuilder = lambda: FilterBuilder(version=version)  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        _frames.FilterBuilder = real  # type: ignore[misc]


def encode(data: bytes, level: int, chunk: int, filters: bool | int, version: int = 2) -> bytes:
    """*data* compressed; *filters* ``True`` or a filter version (1 or 2) writes filters."""
    if filters is True or filters is False:
        with filter_version(version):
            return sigmalang.compress(data, level, chunk_size=chunk, filters=filters)
    return encode(data, level, chunk, True, filters)


@given(
    parts=st.lists(log_text, min_size=1, max_size=3),
    patterns=st.lists(regex_patterns, min_size=1, max_size=2),
    chunk=st.sampled_from([64, 300, 1024, 4096]),
    level=st.sampled_from([0, 1]),
    filters=st.lists(st.sampled_from([False, 1, 2, 2]), min_size=3, max_size=3),
    ignore_case=st.booleans(),
    invert=st.booleans(),
)
@settings(max_examples=150)
def test_search_equals_decode_then_grep(
    parts: list[bytes],
    patterns: list[bytes],
    chunk: int,
    level: int,
    filters: list[bool | int],
    ignore_case: bool,
    invert: bool,
) -> None:
    """Concatenated streams (without filters, with filters of version 1 or 2), lines that span
    frames and streams."""
    stream = b"".join(encode(p, level, chunk, f) for p, f in zip(parts, filters, strict=False))
    data = b"".join(parts)
    expected = reference(data, patterns, ignore_case=ignore_case, invert=invert)
    assert found(stream, patterns, ignore_case=ignore_case, invert=invert) == expected


@given(
    data=log_text,
    chunk=st.sampled_from([64, 512, 4096]),
    pick=st.tuples(st.integers(0, 10**6), st.integers(1, 30)),
    version=st.sampled_from([1, 2]),
)
def test_fixed_string_search_equals_decode_then_grep(
    data: bytes, chunk: int, pick: tuple[int, int], version: int
) -> None:
    """Fixed strings cut from the text itself (so most searches find something), -F and -i."""
    start = pick[0] % max(1, len(data))
    needle = data[start : start + pick[1]].split(b"\n")[0] or b"ERROR"
    stream = encode(data, 1, chunk, version)
    for ignore_case in (False, True):
        expected = reference(data, [needle], fixed=True, ignore_case=ignore_case)
        assert found(stream, [needle], fixed=True, ignore_case=ignore_case) == expected


@given(
    data=log_text,
    patterns=st.lists(regex_patterns, min_size=1, max_size=2),
    seed=st.integers(0, 2**32 - 1),
    version=st.sampled_from([1, 2]),
)
@settings(max_examples=60)
def test_damaged_filters_never_hide_a_match(data: bytes, patterns: list[bytes], seed: int, version: int) -> None:
    """Any byte of the filter extension changed: the stream still decodes, and search finds the
    same lines (a filter that fails its CRC32C makes its frame a candidate; a damaged shared
    filter makes every frame one)."""
    stream = encode(data, 1, 256, version)
    table = SeekTable.from_file(io.BytesIO(stream))
    if not len(table):
        return
    ext_len = len(_index(stream).extension)
    index_end = len(stream) - 14
    pos = index_end - ext_len + seed % ext_len
    damaged = stream[:pos] + bytes([stream[pos] ^ (1 << (seed >> 20) % 8)]) + stream[pos + 1 :]
    assert sigmalang.decompress(damaged) == data
    assert found(damaged, patterns) == reference(data, patterns)


def _index(stream: bytes) -> StreamIndex:
    table = SeekTable.from_file(io.BytesIO(stream))
    assert table.filters is not None
    from sigmalang._wire import read_record

    size = struct.unpack("<Q", stream[-12:-4])[0]
    parsed = read_record(stream[-14 - size : -14])
    assert parsed is not None
    return StreamIndex.decode(parsed[0])


def test_filters_skip_frames_without_the_literal() -> None:
    lines = [b"%06d INFO routine work on node %d" % (i, i % 7) for i in range(4000)]
    lines[2500] = b"002500 ERROR disk quota exceeded on node 3"
    data = b"\n".join(lines) + b"\n"
    stream = encode(data, 1, 8192, True)
    search = Search([b"quota exceeded"])
    assert list(search.lines(io.BytesIO(stream))) == [(2501, lines[2500])]
    assert search.stats.frames > 10
    assert search.stats.decoded <= 3
    plain = Search([b"quota exceeded"])
    assert list(plain.lines(io.BytesIO(encode(data, 1, 8192, False)))) == [(2501, lines[2500])]
    assert plain.stats.decoded == plain.stats.frames


def test_shared_filter_holds_what_every_first_frame_holds() -> None:
    """Version 2: the vocabulary every frame repeats goes to the shared filter, a frame's own
    filter keeps the rest, and a rare word is found in its frame only; the filters stay within
    1/64 of the frame records. Version 1 streams of the same text are searched alike."""
    lines = [b"%06d INFO routine work on node %d for tenant t%d" % (i, i % 7, i // 500) for i in range(20000)]
    lines[15000] = b"015000 ERROR tenant xylophone quota exceeded"
    data = b"\n".join(lines) + b"\n"
    for version in (1, 2):
        stream = encode(data, 1, 16384, version)
        index = _index(stream)
        assert index.extension[0] == version
        frames = decode_filters(index.extension, index.count)
        assert frames is not None and all(frames)
        search = Search([b"xylophone"])
        assert list(search.lines(io.BytesIO(stream))) == [(15001, lines[15000])]
        assert search.stats.frames > 20 and search.stats.decoded <= 2
        records = sum(SeekTable.from_file(io.BytesIO(stream)).record_sizes)
        assert len(index.extension) <= records / 64 + 16 * index.count
    shared = frames[0].shared
    assert shared is not None and shared.bits
    assert all(f.shared is shared for f in frames)
    word = literal_items(b" routine ")
    assert shared.may_contain(word)
    assert all(f.may_contain(word) for f in frames)


def test_unfiltered_and_inverted_searches_decode_every_frame() -> None:
    data = b"".join(b"line %d\n" % i for i in range(3000))
    stream = encode(data, 1, 4096, True)
    for search in (Search([b"l.ne"]), Search([b"line 7"], invert=True), Search([b"line 7"], filters=False)):
        list(search.lines(io.BytesIO(stream)))
        assert search.stats.decoded == search.stats.frames
        assert search.stats.scanned_all


def test_byte_range_equals_decoded_range_then_grep() -> None:
    data = b"".join(b"%d alpha beta %d\n" % (i, i * 7) for i in range(2000))
    stream = encode(data, 1, 1024, True)
    for start, end in [(0, 100), (555, 20000), (10, len(data)), (len(data), len(data))]:
        job = Search([b"alpha beta 7"], byte_range=(start, end))
        assert list(job.lines(io.BytesIO(stream))) == reference(data[start:end], [b"alpha beta 7"])
    with pytest.raises(ValueError, match="past the end"):
        list(Search([b"x"], byte_range=(0, len(data) + 1)).lines(io.BytesIO(stream)))


def test_non_seekable_input_is_searched_front_to_back() -> None:
    data = b"".join(b"%d gamma\n" % i for i in range(500))
    stream = encode(data, 1, 1024, True)

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(stream)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk = self.inner.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    assert found_in(Pipe(), [b"^4.*gamma"]) == reference(data, [b"^4.*gamma"])


def found_in(fp: Any, patterns: list[bytes]) -> list[tuple[int, bytes]]:
    return list(Search(patterns).lines(fp))


def test_public_search_is_lazy_and_typed(tmp_path: Path) -> None:
    data = "".join(f"{i} résumé ok\n" for i in range(300)).encode()
    path = tmp_path / "x.sgl"
    path.write_bytes(encode(data, 1, 1024, True))
    it = sigmalang.search(path, "résumé ok$")
    assert next(it) == (1, "0 résumé ok")
    assert list(sigmalang.search(str(path), b"^29[0-9] ", fixed=False))[0] == (291, b"290 r\xc3\xa9sum\xc3\xa9 ok")
    assert len(list(sigmalang.search(path, "RÉSUMÉ", ignore_case=True))) == 0  # ASCII case only, as on bytes
    with path.open("rb") as fp:
        expected = reference(data, [b"1 r", b"2 r"], fixed=True)
        assert [n for n, _ in sigmalang.search(fp, ["1 r", "2 r"], fixed=True)] == [n for n, _ in expected]


# -- the filter format, from the specification ------------------------------------------------


def test_fnv1a64_known_values() -> None:
    assert fnv1a64(b"") == 0xCBF29CE484222325
    assert fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert fnv1a64(b"foobar") == 0x85944171F73967E8


def _member(f: FrameFilter, item: bytes) -> bool:
    """Whether *item* may be in the frame's own filter or the shared one (version 2), the Bloom
    membership written from docs/FORMAT.md §18, independently of the implementation."""
    return (f.shared is not None and _in_bits(f.shared, item)) or _in_bits(f, item)


def _in_bits(f: FrameFilter, item: bytes) -> bool:
    if not f.bits:
        return False
    h = 0xCBF29CE484222325
    for byte in item:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    m = 8 * len(f.bits)
    return all(
        f.bits[p // 8] >> (p % 8) & 1 for p in (((h % 2**32) + j * ((h >> 32) | 1)) % m for j in range(f.hashes))
    )


@pytest.mark.parametrize("name", ["filters-log-l0", "filters-long-line-l0"])
def test_vector_filters_hold_every_word_and_trigram_of_their_lines(name: str) -> None:
    stream = (VECTORS / f"{name}.sgl").read_bytes()
    data = (VECTORS / f"{name}.out").read_bytes()
    table = SeekTable.from_file(io.BytesIO(stream))
    for i in range(len(table)):
        f = table.filters[i]
        assert f is not None and f.bits is not None and f.shared is not None
        start, end = table.original_offsets[i], table.original_offsets[i] + table.original_sizes[i]
        assert f.lines == data.count(b"\n", start, end) and f.ends_line == (data[end - 1] == 0x0A)
        covered = data[start : data.find(b"\n", end - 1) + 1 or len(data)].lower()  # up to its last line's end
        for word in set(re.findall(rb"[a-z0-9_]+", covered)) - set(re.findall(rb"\b[0-9]+\b", covered)):
            assert _member(f, b"\x01" + word)
        for line in covered.split(b"\n"):
            trigrams = {line[k : k + 3] for k in range(len(line) - 2)}
            assert all(_member(f, b"\x02" + t) for t in trigrams if not re.search(rb"[0-9]", t))


def _vector_searches() -> list[Any]:
    return [pytest.param(e, id=e["name"]) for e in MANIFEST["valid"] if "searches" in e]


@pytest.mark.parametrize("entry", _vector_searches())
def test_vector_searches_find_recorded_lines(entry: dict[str, Any]) -> None:
    stream = (VECTORS / entry["file"]).read_bytes()
    for s in entry["searches"]:
        lines = [n for n, _ in found(stream, [s["pattern"].encode()], fixed=s["fixed"])]
        assert lines == s["lines"], s["pattern"]


def test_damaged_filter_vector_has_one_unusable_filter() -> None:
    table = SeekTable.from_file(io.BytesIO((VECTORS / "filters-damaged-l0.sgl").read_bytes()))
    assert [i for i, f in enumerate(table.filters) if f is None] == [1]


def test_extension_with_damaged_header_or_unknown_version_gives_no_filters() -> None:
    ext = _index(encode(b"a b c\n" * 500, 1, 1024, True)).extension
    frames = decode_filters(ext, 3)
    assert frames is not None and all(frames)
    assert decode_filters(bytes([3]) + ext[1:], 3) is None
    assert decode_filters(bytes([1]) + ext[1:], 3) is None
    assert decode_filters(ext[:2] + bytes([ext[2] ^ 1]) + ext[3:], 3) is None
    assert decode_filters(ext, 4) is None
    assert decode_filters(ext[:-1], 3) is None


# -- planning ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "fragments"),
    [
        (b"ERROR", [b"ERROR"]),
        (b"disk (quota) exceeded", [b"disk quota exceeded"]),
        (b"^abc\\d+xyz$", [b"abc", b"xyz"]),
        (b"(foo|barr) baz", [b"foo", b"barr", b" baz"]),
        (b"a.b", []),
        (b"ab|c", []),
        (b"(?:abc)?def", [b"def"]),
        (b"x(abc)*", []),
        (b"(?=abc)", []),
    ],
)
def test_plan_keeps_the_fragments_every_match_contains(pattern: bytes, fragments: list[bytes]) -> None:
    assert sorted(plan_patterns([pattern], fixed=False, flags=0).fragments()) == sorted(fragments)


def test_short_fragments_inside_words_give_no_information() -> None:
    assert literal_items(b"ab").hashes == ()
    assert len(literal_items(b" ab ").hashes) == 3  # the word "ab" and the trigrams " ab" and "ab "
    assert len(literal_items(b" 12 ").hashes) == 0  # no digit in any item
    assert not plan_patterns([b"ab"], fixed=True, flags=0).informative()


@pytest.mark.parametrize(
    ("pattern", "spans"),
    [
        (b"abc", False),
        (b"a\\sb", True),
        (b"[^x]", True),
        (b"a.b", False),
        (b"(?s)a.b", True),
        (b"\\Aabc", True),
        (b"\\w+\\d", False),
        (b"a\\nb", True),
        (b"^x$", False),
    ],
)
def test_can_span_lines_is_conservative(pattern: bytes, spans: bool) -> None:
    assert can_span_lines([pattern], 0) == spans
