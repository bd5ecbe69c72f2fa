"""Coverage-guided fuzzing of the context-mixing decoder (backend 3, ``CmBackend``) with atheris.

    pip install -e '.[fuzz]'
    NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(mktemp -d) python fuzz/fuzz_cm.py fuzz/corpus-cm -max_total_time=600 \
        -rss_limit_mb=4096

The property: whatever the bytes, ``CmBackend.decode(payload, size, prime)`` returns exactly
*size* bytes or raises BackendError, and ``sigmalang.decompress`` of a stream holding CM frames
returns bytes or raises SigmaFormatError (SigmaCodebookError for a header naming a codebook);
never another exception, a hang or a crash. With ``NUMBA_BOUNDSCHECK=1`` (and a fresh
``NUMBA_CACHE_DIR``, so the kernel is compiled again with the checks) an out-of-range table index
is an IndexError, i.e. a finding, instead of a silent read or write outside the table.

Input layout. Byte 0 chooses the mode: bit 0 clear, a CM payload; bit 0 set, a ΣLANG stream.

* payload mode: bytes 1-2 are the declared size (little-endian, 14 bits: at most 16,383), byte 3
  the primer length / 16 (the primer is a prefix of a fixed log text, the one the seeds were primed
  with); the rest is the payload. With bit 1 of byte 0 set, the payload's parameters are first made
  valid (its version if it names one, else the newest; hash bits 12-16; the component bits that
  version knows; a canonical varint), so that mutations reach the coded bytes; without it they
  are passed on as they are, except that hash bits 17-24 become 12-16 (the tables are allocated
  on every call: large ones would only slow the search).
  With bit 2 of byte 0 set, the backend has a codebook primer (a fixed 6,000-byte text; valid
  parameters then include bit 16, "primed with the codebook"): its third payload with the same
  parameters on keeps a model that has read the primer (``_cm.prime``), and the kernel goes on from
  that model's saved state, the path a stream with a book takes for small frames.
* stream mode: the rest is a stream; with bit 1 set, every record's CRC32C is recomputed first.
  Streams whose header asks for chunks over 16 KiB are skipped, which bounds the decoding time.

Compiling every copy of the kernel the seeds need with bounds checks leaves the process at about 3.3
GB (numba's and LLVM's memory, before the first input), above libFuzzer's default limit of 2 GB:
hence ``-rss_limit_mb``. The numba kernel is invisible to the coverage instrumentation, so the
harness reports how far a decode got (decoded bytes, bucketed) through a few instrumented branches:
mutations that get further into a payload are kept in the corpus. Seeds: valid payloads of real text
(slices of ``tests/fixtures``) at hash bits 12-16 with several component sets, plain and primed,
with byte trees of their own (docs/FORMAT.md §7.2; in canonical order for a set of running text) and
without, and level-6 streams (``sigmalang.compress(data, level, chunk_size=4096)`` at levels 6 and
9, plain and with shared context).
"""

from __future__ import annotations

import os
from pathlib import Path

import atheris

# The kernel (sigmalang._cm) and numba are imported first, uninstrumented: numba compiles the
# kernel (and its own implementations of builtins) from their bytecode, which the instrumentation
# would change.
import numba  # noqa: F401
from fuzzlib import fix_crcs, fuzz, records

from sigmalang import _cm

with atheris.instrument_imports():
    import sigmalang
    from sigmalang import _backends, compress, decompress
    from sigmalang._backend_base import BackendError
    from sigmalang._backends import CM_BOOK, CM_TREES, CM_VERSION, CM_VERSIONS, CmBackend, cm_writer_version
    from sigmalang._stream_records import StreamHeader
    from sigmalang._wire import encode_varint

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
LOGS = (FIXTURES / "loghub-small.log").read_bytes()
PROSE = (FIXTURES / "dickens-64k.txt").read_bytes()
PRIMER = LOGS[-4080:]  # byte 3 of an input takes a prefix of this, in steps of 16 bytes
BOOK = LOGS[:6000]  # the codebook primer of inputs with bit 2 of byte 0 set
SIZE_MASK = (1 << 14) - 1
STREAM_CHUNK_LIMIT = 16 << 10
COMPONENT_SETS = (0x7FF, 0xFFFF, 0x2FFFF, 0x21F, 0x000, 0x200, 0x400, 0x1E0, 0x01F, 0x3FF, 0x3FFF, 0x2200, 0xC000)
COMPONENT_SETS += (0x20060, 0x9E7F, 0x29E7F, 0x121F)  # the sets of running text, level 4's
EVERY_VERSION = 3  # the first sets are seeded in every model version that knows them, plain and primed

_last: list[tuple[object, int]] = []  # (buf, result) of the last kernel call
_code = _cm.code


def _recording_code(buf, start, decoding, payload, out, components, hash_bits, **options):  # type: ignore[no-untyped-def]
    result = _code(buf, start, decoding, payload, out, components, hash_bits, **options)
    _last[:] = [(buf[start:], result)]
    return result


_cm.code = _recording_code


def _branches(n: int):  # type: ignore[no-untyped-def]
    """An instrumented function with one branch per value 0 .. n - 1: each value it is called with
    is a distinct edge for the coverage feedback."""
    arms = "".join(f"    {'if' if v == 0 else 'elif'} v == {v}:\n        return {v}\n" for v in range(n))
    namespace: dict[str, object] = {}
    exec(f"def branch(v):\n{arms}    return -1\n", namespace)
    return atheris.instrument_func(namespace["branch"])


_reached_branch = _branches(64)
_kinds_branch = _branches(10)


def _progress(decoded: bytes, result: int) -> None:
    """Tell the coverage feedback how far the kernel got: the decoded bytes up to the last
    non-zero one (in steps of half a power of two), whether it ended well, and how many distinct
    byte values it produced (by powers of two)."""
    reached = len(decoded.rstrip(b"\x00"))
    bucket = reached.bit_length() * 2 + (reached >> max(reached.bit_length() - 2, 0) & 1)
    _reached_branch(bucket + (32 if result == 0 else 0))
    _kinds_branch(len(set(decoded[:reached])).bit_length())


def _valid_parameters(payload: bytes, book: int = 0) -> bytes:
    """*payload* with its parameters made valid: its version if it is one (else the newest); hash
    bits 12-16; the components that version knows (and *book*, CM_BOOK or 0), and CM_TREES if it
    has it (its tree field is left as it is)."""
    if len(payload) < 2:
        return payload
    components = 0
    rest = 2
    for shift in (0, 7, 14):
        if rest >= len(payload):
            break
        components |= (payload[rest] & 0x7F) << shift
        rest += 1
        if not payload[rest - 1] & 0x80:
            break
    version = payload[0] if payload[0] in CM_VERSIONS else CM_VERSION
    header = bytes([version, 12 + payload[1] % 5])
    header += encode_varint(components & (_cm.COMPONENTS_OF[version] | CM_TREES) | book)
    return header + payload[rest:]


def _chunks_small(data: bytes) -> bool:
    """True unless a valid stream header asks for chunks over STREAM_CHUNK_LIMIT."""
    for glyph, _ in records(data):
        try:
            header = StreamHeader.decode(glyph)
        except sigmalang.SigmaFormatError:
            continue
        if header.chunk_size > STREAM_CHUNK_LIMIT:
            return False
    return True


def _fuzz_payload(raw: bytes) -> None:
    if len(raw) < 4:
        return
    size = int.from_bytes(raw[1:3], "little") & SIZE_MASK
    prime = PRIMER[: raw[3] * 16]
    payload = raw[4:]
    booked = bool(raw[0] & 4)
    if raw[0] & 2:
        payload = _valid_parameters(payload, CM_BOOK if booked else 0)
    elif len(payload) >= 2 and 17 <= payload[1] <= 24:
        payload = payload[:1] + bytes([12 + payload[1] % 5]) + payload[2:]
    _last.clear()
    try:
        out = (CmBackend().with_book(BOOK) if booked else CmBackend()).decode(payload, size, prime)
    except BackendError:
        out = None
    if _last:
        decoded, result = _last[0]
        _progress(bytes(decoded), result)  # type: ignore[call-overload]
    if out is not None and len(out) != size:
        raise AssertionError(f"decoded {len(out)} bytes, not the {size} declared")


def _fuzz_stream(raw: bytes) -> None:
    data = fix_crcs(raw[1:]) if raw[0] & 2 else raw[1:]
    if not _chunks_small(data):
        return
    try:
        out = decompress(data)
    except (sigmalang.SigmaFormatError, sigmalang.SigmaCodebookError):
        return
    if not isinstance(out, bytes):
        raise AssertionError(f"decompress returned {type(out).__name__}")


def test_one_input(raw: bytes) -> None:
    if not raw:
        return
    if raw[0] & 1:
        _fuzz_stream(raw)
    else:
        _fuzz_payload(raw)


def _texts() -> list[bytes]:
    def lines(data: bytes, start: int, size: int) -> bytes:
        piece = data[start : start + size]
        return piece[: piece.rfind(b"\n") + 1] or piece

    return [
        b"",
        b"a",
        b"hello\n",
        lines(LOGS, 0, 600),
        lines(LOGS, 20000, 3000),
        lines(PROSE, 1000, 2500),
        lines(PROSE, 30000, 6000),
        b"ab" * 500 + b"\n" * 200,
    ]


def write_seeds(directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    seeds: dict[str, bytes] = {}
    for n, text in enumerate(_texts()):
        for k, components in enumerate(COMPONENT_SETS):
            bits = 12 + (n + k) % 5
            for primer_steps in (0, 40, 255) if k < EVERY_VERSION else (0,):
                prime = PRIMER[: primer_steps * 16]
                control = bytes([2 * (k % 2)]) + len(text).to_bytes(2, "little") + bytes([primer_steps])
                # every model version, or the newest and the one writers choose (each its compiled copy)
                for version in (
                    CM_VERSIONS if k < EVERY_VERSION else sorted({CM_VERSION, cm_writer_version(components)})
                ):
                    if components & ~_cm.COMPONENTS_OF[version]:
                        continue  # a component that version does not know
                    payload = CmBackend(components, bits, version).encode(text, prime)
                    seeds[f"cm-{n}-{components:03x}-{bits}-{primer_steps}-v{version}"] = control + payload
    saved, _backends.CM_TREES_MIN = _backends.CM_TREES_MIN, 1  # payloads with byte trees of their own
    for n, text in enumerate(_texts()):
        for k, components in enumerate(COMPONENT_SETS[:4] + (0x9E7F,)):  # 0x9e7f: trees in canonical order
            payload = CmBackend(components, 12 + (n + k) % 5).encode(text)
            seeds[f"cm-trees-{n}-{components:03x}"] = bytes([2]) + len(text).to_bytes(2, "little") + b"\x00" + payload
    _backends.CM_TREES_MIN = saved
    for n, text in enumerate(_texts()[1:6]):
        for k, components in enumerate(COMPONENT_SETS[:4] + (0x3FFF, 0xC000)):
            payload = CmBackend(components, 12 + k).with_book(BOOK).encode(text)
            seeds[f"cm-book-{n}-{components:03x}"] = bytes([6]) + len(text).to_bytes(2, "little") + b"\x00" + payload
    for n, text in enumerate(_texts()[3:]):
        for shared in (False, True):
            for level in (6, 9):  # model versions 4 and 5
                stream = compress(text * (1 + shared), level, chunk_size=4096, shared_context=shared)
                seeds[f"stream-{n}-{int(shared)}-l{level}"] = b"\x03" + stream
    for name, seed in seeds.items():
        with open(os.path.join(directory, f"seed-{name}"), "wb") as f:
            f.write(seed)


if __name__ == "__main__":
    fuzz(test_one_input, write_seeds)
