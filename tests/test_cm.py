"""The context-mixing backend: lossless for every input and parameter set, deterministic, strict
about its payload, and safe with bounds checking on (NUMBA_BOUNDSCHECK=1)."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import _backends, _cm
from sigmalang._backend_base import BackendError
from sigmalang._backends import CmBackend

FIXTURES = Path(__file__).parent / "fixtures"
DICKENS = (FIXTURES / "dickens-64k.txt").read_bytes()
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
COMPONENT_SETS = [0, 0x2FFFF, 0xFFFF, 0x1FFF, 0x121F, 0x7FF, 0x21F, 1 << 9, 1 << 10, 0x1E0, 0x01F, 0xC00, 1 << 12]
COMPONENT_SETS += [0xC000]
V = _cm.MODEL_VERSION  # the version writers write


def roundtrip(data: bytes, backend: CmBackend, prime: bytes = b"") -> bytes:
    payload = backend.encode(data, prime)
    assert backend.decode(payload, len(data), prime) == data
    return payload


@pytest.mark.parametrize("components", COMPONENT_SETS)
def test_fixtures_roundtrip_with_every_component_set(components: int) -> None:
    backend = CmBackend(components, 16)
    for data in (DICKENS[:20000], LOGS[:20000]):
        payload = roundtrip(data, backend)
        assert len(payload) < len(data) * 7 // 10


def test_more_components_and_memory_code_smaller() -> None:
    data = LOGS
    sets = ((0, 16), (0x21F, 16), (0x7FF, 16), (0x1FFF, 16), (0x1FFF, 20))
    sizes = [len(CmBackend(c, b).encode(data)) for c, b in sets]
    assert sizes[0] > sizes[1] > sizes[2] > sizes[3] >= sizes[4]


def test_output_is_deterministic_and_carries_its_parameters() -> None:
    first = CmBackend(0x21F, 18).encode(DICKENS[:5000])
    assert first == CmBackend(0x21F, 18).encode(DICKENS[:5000])
    assert first[:4] == bytes([2, 17, 0x9F, 0x04])  # version (2: no word context), hash bits, varint 0x21f
    # 5,000 bytes get 2^17 slots (16 per byte, rounded up to a power of two), below the 2^18 asked for.
    # The decoder reads the parameters from the payload, whatever its own instance's are.
    assert CmBackend(0x7FF, 22).decode(first, 5000) == DICKENS[:5000]


@pytest.mark.parametrize(
    ("components", "version"),
    [(0x2FFFF, 5), (0x20000, 5), (0xFFFF, 4), (0x4000, 4), (0x81FF, 4), (0x3FFF, 3), (0x1FFF, 3), (0x121F, 2)]
    + [(0x21F, 2), (0, 2)],
)
def test_writers_use_the_oldest_version_that_knows_the_set_else_2_without_the_word_context(
    components: int, version: int
) -> None:
    """Version 5 is written for a set with the word-skip context, 4 for one with a component only it
    has (the indirect or order-5 context); else version 3's order-8 context pays beside the word
    contexts only: a set without the word context (level 4's) is written in version 2, whose
    order-6 context codes prose smaller there."""
    payload = roundtrip(DICKENS[:3000], CmBackend(components, 16))
    assert payload[0] == version == _backends.cm_writer_version(components)
    assert payload == CmBackend(components, 16, version).encode(DICKENS[:3000])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(COMPONENT_SETS))
def test_any_bytes_roundtrip(data: bytes, components: int) -> None:
    roundtrip(data, CmBackend(components, 12))


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=600), st.binary(max_size=600))
def test_primed_coding_roundtrips(data: bytes, prime: bytes) -> None:
    roundtrip(data, CmBackend(0x7FF, 12), prime)


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=1500), st.binary(max_size=300), st.integers(-3, 40), st.sampled_from([0x3FFF, 0x7FF]))
def test_a_payload_within_a_limit_is_the_payload_and_a_longer_one_is_none(
    data: bytes, prime: bytes, slack: int, components: int
) -> None:
    """encode_at_most writes exactly encode's payload when that fits the limit, and None (the
    model stopped) when the payload is longer, for every limit around the payload's length."""
    backend = CmBackend(components, 14)
    payload = backend.encode(data, prime)
    limit = len(payload) + slack
    assert backend.encode_at_most(data, prime, limit) == (payload if slack >= 0 else None)
    assert backend.encode_at_most(data, prime, 0) is None


def test_a_limit_stops_the_model_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel is handed the limit (less the payload's header) as its output's room, so the
    model stops coding where the payload passes the limit instead of at the input's end."""
    backend = CmBackend(0x3FFF, 16)
    full = backend.encode(LOGS)
    rooms: list[int] = []
    real = _cm.code

    def spy(buf: object, start: int, decoding: bool, payload: object, out: object, *args: object, **kw: object) -> int:
        rooms.append(len(out))  # type: ignore[arg-type]
        return real(buf, start, decoding, payload, out, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_cm, "code", spy)
    assert backend.encode_at_most(LOGS, b"", len(full) // 10) is None
    assert rooms == [len(full) // 10 - 4]  # the header: version, table bits, a two-byte component set


def test_a_primed_payload_needs_its_primer() -> None:
    backend = CmBackend(0x7FF, 16)
    primed = roundtrip(LOGS[5000:8000], backend, LOGS[:5000])
    assert len(primed) < len(backend.encode(LOGS[5000:8000])) * 0.8  # the primer is used
    other = LOGS[:5000].swapcase()
    try:
        decoded = backend.decode(primed, 3000, other)
    except BackendError:
        return
    assert decoded != LOGS[5000:8000]


def test_repeats_are_coded_by_the_match_model() -> None:
    block = random.Random(5).randbytes(3000)
    with_match = len(CmBackend(1 << 9, 16).encode(block * 4))  # order 0 and the match model
    without = len(CmBackend(0, 16).encode(block * 4))
    assert with_match < 3000 * 1.25 < 3000 * 3.5 < without


def test_incompressible_input_grows_little() -> None:
    data = random.Random(1).randbytes(50_000)
    assert len(roundtrip(data, CmBackend(0x7FF, 16))) < len(data) * 1.01 + 16


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p[:2], "ends inside its parameters"),
        (lambda p: b"\x00" + p[1:], "unknown CM model version 0"),
        (lambda p: p[:1] + b"\x0b" + p[2:], "out of range"),
        (lambda p: p[:1] + b"\x19" + p[2:], "out of range"),
        (lambda p: b"\x01" + p[1:2] + b"\xff\x7f" + p[4:], "out of range"),  # bit 13 in version 1
        (lambda p: p[:2] + b"\xff\xff\x01" + p[4:], "out of range"),  # bit 14
        (lambda p: p[:2] + b"\xff\xff\xff\x01", "ends inside its parameters|out of range"),
        (lambda p: p[:4] + p[4:7], "does not end where expected"),
        (lambda p: p + b"\x00", "does not end where expected"),
        (lambda p: p[:-1], "does not end where expected"),
        (lambda p: p[:-1] + bytes([p[-1] ^ 0x80]), "does not end where expected"),
    ],
)
def test_damaged_payload_is_an_error(edit: object, message: str) -> None:
    backend = CmBackend(0x7FF, 16)
    payload = backend.encode(LOGS[:3000])
    with pytest.raises(Exception, match=message) as info:
        backend.decode(edit(payload), 3000)  # type: ignore[operator]
    assert isinstance(info.value, BackendError)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_payloads_never_crash(data: st.DataObject) -> None:
    """Any edit of a valid payload either decodes (to some bytes of the declared size) or raises
    BackendError: never another exception, never a wrong length."""
    backend = CmBackend(0x7FF, 12)
    payload = bytearray(backend.encode(LOGS[:1500]))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(3, len(payload) - 1))
        payload[at] = data.draw(st.integers(0, 255))
    size = data.draw(st.sampled_from([1500, 0, 1, 4000]))
    try:
        out = backend.decode(bytes(payload), size)
    except BackendError:
        return
    assert len(out) == size


@pytest.mark.parametrize(
    ("size", "bits"),
    [(0, 12), (100, 12), (5000, 17), (70_000, 21), pytest.param(300_000, 22, marks=pytest.mark.slow)],  # the largest
)
def test_tables_are_sized_to_the_input(size: int, bits: int) -> None:
    data = (LOGS * 6)[:size]
    payload = CmBackend(0x7FF, 22).encode(data)
    assert payload[1] == bits
    assert CmBackend().decode(payload, size) == data


def test_a_primer_longer_than_the_writers_window_is_refused() -> None:
    """Modelling a primer costs as much as decoding it: a frame cannot ask for more than 256 KiB."""
    backend = CmBackend(0x7FF, 12)
    prime = bytes(256 << 10)
    payload = roundtrip(b"abc", backend, prime)  # the limit itself is allowed
    with pytest.raises(BackendError, match="continues a context of 262,145 bytes"):
        backend.decode(payload, 3, prime + b"\0")


def test_parameters_are_checked_when_the_backend_is_made() -> None:
    with pytest.raises(ValueError, match="components"):
        CmBackend(1 << 16, 16)  # bit 16 is the codebook primer's, not a component
    with pytest.raises(ValueError, match="components"):
        CmBackend(1 << 18, 16)
    with pytest.raises(ValueError, match="components"):
        CmBackend(1 << 17, 16, version=4)  # the word-skip context is version 5's
    with pytest.raises(ValueError, match="components"):
        CmBackend(1 << 13, 16, version=1)  # the third weight set is version 2's
    with pytest.raises(ValueError, match="components"):
        CmBackend(1 << 14, 16, version=3)  # the indirect context is version 4's
    with pytest.raises(ValueError, match="version"):
        CmBackend(0x7FF, 16, version=6)
    with pytest.raises(ValueError, match="hash bits"):
        CmBackend(0x7FF, 25)


def test_state_table_follows_its_definition() -> None:
    """Every transition stays inside the allowed pairs, counts the new bit, and ages the other."""
    pairs = _cm.STATE_PAIRS
    assert len(pairs) == _cm.N_STATES == 239 and pairs[0] == (0, 0)
    for s, (n0, n1) in enumerate(pairs):
        for y in (0, 1):
            m0, m1 = pairs[_cm.STATE_NEXT[s, y]]
            same, other = (m1, m0) if y else (m0, m1)
            before_same, before_other = (n1, n0) if y else (n0, n1)
            assert same >= min(before_same, 1) and other <= before_other
            assert other == before_other or before_other > 2


def test_the_full_copys_input_numbers_are_the_components_own() -> None:
    """The full component set's copy numbers each hashed context's mixer input by arithmetic (a
    tuple indexed in a loop compiles to a jump table): the same numbers as HASHED_INPUT."""
    from sigmalang._cm_ops import _hashed_input

    assert [_hashed_input.py_func(k) for k in range(_cm.N_HASHED)] == list(_cm.HASHED_INPUT)


def test_squash_and_stretch_are_inverse() -> None:
    for p in range(1, 4095):
        assert _cm.SQUASH[_cm.STRETCH[p] + 2048] >= p
        assert _cm.STRETCH[p] == -2047 or _cm.SQUASH[_cm.STRETCH[p] - 1 + 2048] < p


@pytest.mark.parametrize("version", _cm.MODEL_VERSIONS)
@pytest.mark.parametrize("components", [_cm.COMPONENTS_ALL, 0x121F, 0])
def test_costs_add_up_to_the_payload_and_change_no_byte(components: int, version: int) -> None:
    backend = CmBackend(components & _cm.COMPONENTS_OF[version], 14, version)
    for data in (DICKENS[:20000], LOGS[:20000], bytes(3000)):
        payload = backend.encode(data)
        decoded, costs = backend.decode_costs(payload, len(data))
        assert decoded == data and costs.shape == (len(data),) and costs.min() >= 0
        bits = int(costs.sum()) / _cm.COST_SCALE
        coded = (len(payload) - 3) * 8  # after the version, table size and component set
        assert coded - 64 - coded / 100 <= bits <= coded + coded / 100, (bits, coded)  # the coder ends with 4 bytes
        assert backend.encode(data) == payload  # costs are read, never fed back


def _run_code(buf: bytes, start: int, components: int, version: int, primed: _cm.Primed | None = None) -> bytes:
    import numpy as np

    array = np.frombuffer(buf, dtype=np.uint8).copy()
    out = np.zeros(len(buf) * 2 + 64, dtype=np.uint8)
    written = _cm.code(array, start, False, np.zeros(0, np.uint8), out, components, 12, version=version, primed=primed)
    return out[:written].tobytes()


texts = st.binary(max_size=2500) | st.text(alphabet="ab c1=\n", max_size=2500).map(str.encode)


@settings(max_examples=40, deadline=None)
@given(
    primer=st.binary(min_size=1, max_size=2500)
    | st.text(alphabet="ab c1=\n", min_size=1, max_size=2500).map(str.encode),
    context=st.binary(max_size=400),
    data=texts,
    components=st.sampled_from([0x2FFFF, 0xFFFF, 0x3FFF, 0x121F, 0x7FF, 0x2200, 0xC000, 0x20060, 0]),
)
def test_a_primed_model_codes_what_reading_the_primer_codes(
    primer: bytes, context: bytes, data: bytes, components: int
) -> None:
    """For any primer, frame context, input and component set: a model primed once (_cm.prime)
    encodes and decodes, any number of times, exactly what a model that reads the primer does."""
    import numpy as np

    version = V if components & ~_cm.COMPONENTS_V1 or components == 0x3FFF else 1
    start = len(primer) + len(context)
    buf = primer + context + data
    payload = _run_code(buf, start, components, version)
    primed = _cm.prime(primer, components, 12, version)
    for _ in range(2):  # the primed model's own tables are never changed
        assert _run_code(buf, start, components, version, primed) == payload
        back = np.zeros(len(buf), dtype=np.uint8)
        back[:start] = np.frombuffer(buf[:start], dtype=np.uint8)
        pay = np.frombuffer(payload, dtype=np.uint8).copy()
        assert (
            _cm.code(back, start, True, pay, np.zeros(0, np.uint8), components, 12, version=version, primed=primed) == 0
        )
        assert back.tobytes() == buf


def test_a_primed_model_in_use_elsewhere_is_copied_into_new_tables() -> None:
    """A call made while another one holds the primed model's working tables (another thread)
    copies into tables of its own: the same bytes, and the working tables are not touched."""
    buf = LOGS[:5000]
    payload = _run_code(buf, 3000, 0x3FFF, V)
    primed = _cm.prime(LOGS[:3000], 0x3FFF, 12)
    assert _run_code(buf, 3000, 0x3FFF, V, primed) == payload and primed.work  # made on first use
    work = [table.copy() for table in primed.work]
    with primed.busy:
        assert _run_code(buf, 3000, 0x3FFF, V, primed) == payload
    assert all((a == b).all() for a, b in zip(work, primed.work, strict=True))
    assert _run_code(buf, 3000, 0x3FFF, V, primed) == payload  # and reused


def test_a_primed_model_is_used_only_where_it_fits() -> None:
    primed = _cm.prime(LOGS[:3000], 0x3FFF, 12)
    buf = LOGS[:5000]
    with pytest.raises(ValueError, match="other parameters"):
        _run_code(buf, 4000, 0x121F, V, primed)
    with pytest.raises(ValueError, match="does not start with"):
        _run_code(b"x" + buf[1:], 4000, 0x3FFF, V, primed)
    with pytest.raises(ValueError, match="does not start with"):
        _run_code(buf, 2000, 0x3FFF, V, primed)  # the primer is longer than what is modelled
    broken = _cm.prime(LOGS[:3000], 0x3FFF, 12)
    broken.state[9] = 3000  # a match position past the primer: the kernel refuses it
    with pytest.raises(ValueError, match="does not fit"):
        _run_code(buf, 4000, 0x3FFF, V, broken)
    with pytest.raises(ValueError, match="empty primer"):
        _cm.prime(b"", 0x3FFF, 12)


def test_a_codebook_primer_is_modelled_once_per_thread_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """The book's primer is modelled for a thread's third payload that reads it, kept, and copied
    for the next ones; the payloads are the same bytes as without keeping, and decode. A payload
    too large to keep for drops the kept model."""
    from sigmalang import _backends

    monkeypatch.setattr(_backends._local, "primed", None, raising=False)
    monkeypatch.setattr(_backends._local, "seen", (None, 0), raising=False)
    made = []
    real = _cm.prime
    monkeypatch.setattr(_cm, "prime", lambda *args: made.append(args) or real(*args))
    book = LOGS[:20000]
    backend = CmBackend().with_book(book)
    pieces = [LOGS[20000 + 3000 * i : 21500 + 3000 * i] for i in range(4)]
    payloads = [backend.encode(piece) for piece in pieces[:2]]
    assert not made  # a small file coded two ways keeps nothing
    payloads += [backend.encode(piece) for piece in pieces[2:]]
    assert len(made) == 1 and _backends._local.primed.primer == book
    assert [backend.decode(p, len(piece)) for p, piece in zip(payloads, pieces, strict=True)] == pieces
    assert len(made) == 1  # the decoder's payloads use the same kept model
    backend.encode((LOGS * 2)[:90000])  # with the book, more than five times it: read as before
    assert _backends._local.primed is None
    monkeypatch.setattr(_backends, "CM_KEEP_MAX_BITS", 0)  # nothing kept: each reads the book
    assert [backend.encode(piece) for piece in pieces] == payloads
    assert [backend.decode(p, len(piece)) for p, piece in zip(payloads, pieces, strict=True)] == pieces
    assert len(made) == 1


# --- Byte trees ---------------------------------------------------------------------------------


def _trees_of(payload: bytes) -> list[tuple[int, ...]] | None:
    """The byte trees a payload carries, or None."""
    components, at = _backends.read_varint(payload, 2, 3, ValueError)
    return _backends.read_trees(payload, at)[0] if components & _backends.CM_TREES else None


@pytest.mark.parametrize("components", [0xFFFF, 0x2FFFF, 0x9E7F, 0x121F, 0x7FF])
def test_byte_trees_roundtrip_and_take_fewer_decisions(monkeypatch: pytest.MonkeyPatch, components: int) -> None:
    monkeypatch.setattr(_backends, "CM_TREES_MIN", 1000)
    backend = CmBackend(components, 16)
    for text in (DICKENS, LOGS):
        payload = roundtrip(text, backend)
        trees = _trees_of(payload)
        assert trees is not None and trees[0] != _cm.FLAT_DEPTHS
        counts = [text.count(bytes([b])) for b in range(256)]
        assert 16 * _cm.tree_decisions(trees, counts) <= 15 * 8 * len(text)
        flat = backend.without_trees().encode(text)
        assert _trees_of(flat) is None and backend.decode(flat, len(text)) == text


def test_byte_trees_only_where_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not below CM_TREES_MIN, not with a primer or a codebook, not where they save too few
    decisions (bytes of every value alike), not for a backend made without them."""
    monkeypatch.setattr(_backends, "CM_TREES_MIN", 4000)
    backend = CmBackend(0xFFFF, 16)
    assert _trees_of(backend.encode(DICKENS[:3999])) is None
    assert _trees_of(backend.encode(DICKENS[:4000])) is not None
    assert _trees_of(roundtrip(DICKENS[:9000], backend, DICKENS[-500:])) is None
    assert _trees_of(backend.with_book(LOGS[:2000]).encode(DICKENS[:9000])) is None
    assert _trees_of(backend.encode(random.Random(3).randbytes(9000))) is None
    assert _trees_of(backend.without_trees().encode(DICKENS[:9000])) is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=256, max_size=256))
def test_writers_trees_are_trees_for_any_counts(counts: list[int]) -> None:
    trees = _cm.tree_depths(counts)
    table = _cm.tree_table(trees)  # raises for depths that make no tree
    assert len(trees) == _cm.N_TREES and table.shape == (_cm.TREE_SIZE,)
    assert all(1 <= d <= 15 for tree in trees for d in tree)
    assert all(sum(2 ** (15 - d) for d in tree) == 2**15 for tree in trees)  # every leaf reached once
    if len(set(counts)) == 1:
        assert trees == [_cm.FLAT_DEPTHS] * _cm.N_TREES
    if _cm.canonical_trees(counts):  # Huffman codes: trees in canonical order, no longer a path than any tree's
        huffman = _cm.tree_depths(counts, canonical=True)
        _cm.tree_table(huffman, canonical=True)
        assert all(sum(2 ** (15 - d) for d in tree) == 2**15 for tree in huffman)
        assert _cm.tree_decisions(huffman, counts) <= _cm.tree_decisions(trees, counts)


TREE_IN_ORDER = bytes.fromhex("21436587a9cbedff")  # depths 1, 2, ..., 15, 15: one tree read either way


def test_canonical_trees_only_for_running_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sets for paragraphs get Huffman-shaped trees in canonical order (bit 17 of the mask),
    unless bytes from 0x80 up are 1/64 of the input or more; other sets get trees in value order.
    Each decodes, and the canonical trees take fewer decisions than the trees in value order."""
    monkeypatch.setattr(_backends, "CM_TREES_MIN", 1000)
    counts = [DICKENS.count(bytes([b])) for b in range(256)]
    for components, canonical in ((0x9E7F, True), (0x29E7F, True), (0xFFFF, False), (0x121F, False)):
        backend = CmBackend(components, 16)
        payload = roundtrip(DICKENS, backend)
        at = _backends.read_varint(payload, 2, 3, ValueError)[1]
        trees, marked = _backends.read_trees(payload, at)[:2]
        assert marked == canonical
        cut = _cm.tree_depths(counts)
        assert (_cm.tree_decisions(trees, counts) < _cm.tree_decisions(cut, counts)) == canonical
    utf8 = "Ein Fuß über die Straße, läuft außen herum. ".encode() * 60
    payload = roundtrip(utf8, CmBackend(0x9E7F, 16))
    given, at = _backends.read_varint(payload, 2, 3, ValueError)
    assert given & _backends.CM_TREES and not _backends.read_trees(payload, at)[1]


def test_record_codes_get_row_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    """A record code from CM_RECORD_TREES_MIN bytes on gets its rows' trees, and only those that
    save 1/CM_ROW_TREES_SAVE of its decisions: tree 0 stays flat; shorter, primed, or from a
    backend made without trees, none; the same bytes as text get every tree cut."""
    from sigmalang import _codec, _records
    from sigmalang._levels import LEVELS

    code = _records.encode(LOGS)
    monkeypatch.setattr(_backends, "CM_RECORD_TREES_MIN", len(code))
    monkeypatch.setattr(_backends, "CM_TREES_MIN", 1000)
    counts = [code.count(bytes([b])) for b in range(256)]
    backend = CmBackend(0xFFFF, 16).for_record_code()
    trees = _trees_of(roundtrip(code, backend))
    assert trees is not None and trees[0] == _cm.FLAT_DEPTHS
    assert 16 * _cm.tree_decisions(trees, counts) <= 15 * 8 * len(code)
    cut = _cm.tree_depths(counts)
    given = [row for row in range(16) if trees[1 + row] != _cm.FLAT_DEPTHS]
    assert given and all(trees[1 + row] == cut[1 + row] for row in given)
    for row in range(16):
        saved = sum(n * (4 - d) for n, d in zip(counts[16 * row : 16 * row + 16], cut[1 + row], strict=True))
        assert (row in given) == (cut[1 + row] != _cm.FLAT_DEPTHS and 50 * saved >= 8 * len(code))
    assert _trees_of(CmBackend(0xFFFF, 16).encode(code)) == cut  # as any other input: every tree
    assert _trees_of(roundtrip(code[:-1], backend)) is None
    assert _trees_of(roundtrip(code, backend, LOGS[:300])) is None
    assert _trees_of(backend.without_trees().encode(code)) is None
    assert _trees_of(backend.with_book(LOGS[:2000]).encode(code)) is None
    # The codec's records frames are coded this way.
    body = _codec._records_body(LOGS, LEVELS[6], b"", None, code)
    assert body is not None and body.coded == code
    assert _trees_of(body.data[len(_backends.encode_varint(len(code))) :]) == trees


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=256, max_size=256))
def test_row_trees_are_trees_for_any_counts(counts: list[int]) -> None:
    trees = _backends._row_trees(counts)
    _cm.tree_table(trees)  # raises for depths that make no tree
    assert len(trees) == _cm.N_TREES and trees[0] == _cm.FLAT_DEPTHS
    assert _cm.tree_decisions(trees, counts) <= 8 * sum(counts)


def test_flat_trees_are_the_bits() -> None:
    """With every tree flat, the k-th decision of a byte is its k-th bit: payloads without trees
    code as before trees existed (the vectors check the bytes)."""
    table = _cm.FLAT_TREE
    for t in range(_cm.N_TREES):
        for v in range(16):
            assert table[_cm.TREE_PATHS + (t << 4 | v)] == v << 4 | 4
        for n in range(1, 16):
            for y in (0, 1):
                assert table[(t << 4 | n) << 1 | y] & 31 == 2 * n + y


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p, at: p[:at] + b"\x00" + p[at + 1 :], "out of range"),  # no tree given
        (lambda p, at: p[:at] + b"\x01" + b"\x44" * 8 + p[at + 1 :], "given flat"),
        (lambda p, at: p[:at] + b"\x01" + b"\x11" * 8 + p[at + 1 :], "make no tree"),
        (lambda p, at: p[:at] + b"\x01" + b"\x33" * 8 + p[at + 1 :], "make no tree"),
        (lambda p, at: p[:at] + b"\x80\x80\x08" + p[at + 1 :], "out of range"),  # canonical, and no tree given
        (lambda p, at: p[:at] + b"\x81\x80\x10" + p[at + 1 :], "out of range"),  # an 18th tree: 2^18 and up
        (lambda p, at: p[:at] + b"\x81\x80\x08" + TREE_IN_ORDER + p[at + 1 :], "the same in value order"),
        (lambda p, at: p[:at] + b"\x81\x80\x08" + b"\x12" * 8 + p[at + 1 :], "make no tree"),
        (lambda p, at: p[: at + 5], "ends inside its byte trees"),
        (lambda p, at: p[:at], "ends inside its byte trees"),
    ],
)
def test_damaged_byte_trees_are_errors(monkeypatch: pytest.MonkeyPatch, edit: object, message: str) -> None:
    monkeypatch.setattr(_backends, "CM_TREES_MIN", 1000)
    backend = CmBackend(0x7FF, 16)
    payload = backend.encode(LOGS[:3000])
    at = _backends.read_varint(payload, 2, 3, ValueError)[1]  # the tree field's mask
    with pytest.raises(BackendError, match=message):
        backend.decode(edit(payload, at), 3000)  # type: ignore[operator]


@pytest.mark.slow
def test_kernel_with_bounds_checking(tmp_path: Path) -> None:
    """The kernel recompiled with NUMBA_BOUNDSCHECK=1: any out-of-range index raises IndexError
    instead of reading or writing outside a table. Valid, primed and mutated payloads, component
    sets that use every component, every model version, the smallest tables."""
    script = textwrap.dedent(
        """
        import random
        import numba
        assert numba.config.BOUNDSCHECK == 1
        from sigmalang._backend_base import BackendError
        from sigmalang._backends import CmBackend
        rng = random.Random(7)
        texts = [open(p, "rb").read()[:6000] for p in ARGS]
        texts += [rng.randbytes(3000), bytes(5000), b"ab" * 2000 + b"\\n" * 900]
        sets = [(c, 2) for c in (0, 0x7FF, 0x21F, 0x400, 0x200, 0x3FFF, 0x2200)] + [(0x1FFF, 1), (0x21F, 1)]
        sets += [(0xFFFF, 4), (0xC000, 4), (0x3FFF, 3), (0x2FFFF, 5), (0x20060, 5)]
        for components, version in sets:
            backend = CmBackend(components, 12, version)
            for text in texts:
                prime = text[:700]
                payload = backend.encode(text, prime)
                assert backend.decode(payload, len(text), prime) == text
                assert backend.decode_costs(backend.encode(text), len(text))[0] == text
                for _ in range(15):
                    bad = bytearray(payload)
                    bad[rng.randrange(3, len(bad))] ^= 1 << rng.randrange(8)
                    try:
                        backend.decode(bytes(bad), len(text) + rng.choice((0, 1, 500)), prime)
                    except BackendError:
                        pass
        from sigmalang import _backends, _records
        _backends.CM_TREES_MIN = 1000  # byte trees of the input's own (in canonical order for 0x9e7f), and damaged ones
        _backends.CM_RECORD_TREES_MIN, _backends.CM_TREES_SAVE = 1000, 1 << 20  # and a record code's row trees
        cases = [(CmBackend(c, 12, v), text) for c, v in sets + [(0x9E7F, 4)] for text in texts[:2]]
        cases.append((CmBackend(0xFFFF, 12, 4).for_record_code(), _records.encode(texts[1])))
        for backend, text in cases:
            payload = backend.encode(text)
            assert payload[2] & 0x80 and backend.decode(payload, len(text)) == text
            for _ in range(15):
                bad = bytearray(payload)
                bad[rng.randrange(3, min(len(bad), 80))] ^= 1 << rng.randrange(8)
                try:
                    backend.decode(bytes(bad), len(text))
                except BackendError:
                    pass
        _backends.CM_TREES_MIN = 1 << 40
        for components in (0x2FFFF, 0xFFFF, 0x3FFF, 0x21F):  # a codebook's primer, kept from the third payload on
            book = CmBackend(components, 12).with_book(texts[1][:3000])
            for text in texts:
                piece = text[:1500]
                for _ in range(3):
                    payload = book.encode(piece)
                    assert book.decode(payload, len(piece)) == piece
                bad = bytearray(payload)
                bad[rng.randrange(3, len(bad))] ^= 1 << rng.randrange(8)
                try:
                    book.decode(bytes(bad), len(piece))
                except BackendError:
                    pass
        print("bounds-checked run ok")
        """
    ).replace("ARGS", repr([str(FIXTURES / "dickens-64k.txt"), str(FIXTURES / "loghub-small.log")]))
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "bounds-checked run ok" in result.stdout
