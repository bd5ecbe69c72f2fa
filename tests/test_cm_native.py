"""The CM kernel's machine code loaded from its own cache, without numba: the same bytes as numba's
dispatcher for every input, a process that codes without importing numba, and cache files that are
checked before their code is run.

The comparisons with numba's dispatcher are marked slow: the dispatcher compiles the kernel again
(about 20 s of CPU in each process, after any change to the model's sources). The fast suite checks
the machine code against the sample digest here and against the plain-Python model of
test_cm_spec.py, which it must agree with byte for byte."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmalang import _cm, _cm_native, _elf

ELF_LOADER = _elf.HERE
DICKENS = (Path(__file__).parent / "fixtures" / "dickens-64k.txt").read_bytes()
COMPONENT_SETS = [0, 0x2FFFF, 0xFFFF, 0x29E7F, 0x9E7F, 0x1FFF, 0x121F, 0x7FF, 0x21F, 1 << 9, 1 << 10, 0x1E0]
COMPONENT_SETS += [0xC00, 0x20060]
NUMBA = pytest.mark.slow  # runs numba's dispatcher, which compiles the kernel on first use


def encode(data: bytes, components: int, kind: str, prime: int = 0, version: int = _cm.MODEL_VERSION) -> bytes:
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    out = np.zeros(len(data) * 2 + 64, dtype=np.uint8)
    empty = np.zeros(0, dtype=np.uint8)
    written = _cm.code(buf, prime, False, empty, out, components, 12, kind=kind, version=version)
    assert written >= 0
    return out[:written].tobytes()


def decode(
    payload: bytes, data_prefix: bytes, size: int, components: int, kind: str, version: int = _cm.MODEL_VERSION
) -> tuple[int, bytes]:
    buf = np.zeros(len(data_prefix) + size, dtype=np.uint8)
    buf[: len(data_prefix)] = np.frombuffer(data_prefix, dtype=np.uint8)
    pay = np.frombuffer(payload, dtype=np.uint8).copy()
    empty = np.zeros(0, dtype=np.uint8)
    status = _cm.code(buf, len(data_prefix), True, pay, empty, components, 12, kind=kind, version=version)
    return status, buf[len(data_prefix) :].tobytes()


@NUMBA
@pytest.mark.parametrize("size", [3000, 30000])
@pytest.mark.parametrize("components", [_cm.COMPONENTS_ALL, 0x121F])
def test_both_kernels_count_the_same_costs(components: int, size: int) -> None:
    data = (Path(__file__).parent / "fixtures" / "loghub-small.log").read_bytes()[:size]
    payload = encode(data, components, "numba")
    found = []
    for kind in ("numba", "native"):
        buf = np.zeros(len(data), dtype=np.uint8)
        costs = np.zeros(len(data), dtype=np.int32)
        pay = np.frombuffer(payload, dtype=np.uint8).copy()
        assert _cm.code(buf, 0, True, pay, np.zeros(0, np.uint8), components, 12, kind=kind, costs=costs) == 0
        assert buf.tobytes() == data
        found.append(costs)
    assert np.array_equal(found[0], found[1]) and found[0].sum() > 0


def test_the_native_kernel_loads_here() -> None:
    for copy in _cm.COPIES:
        assert _cm_native.load(copy) is not None
    assert _cm.kernel("native") is not _cm.kernel("numba")


def test_the_native_kernel_codes_the_sample_digest() -> None:
    assert _cm_native.sample_digest("native") == _cm_native.SAMPLE_DIGEST
    assert _cm_native.sample_digest("native", 7) == _cm_native.SAMPLE_DIGEST_V3
    for copy in _cm.COPIES:
        run = _cm_native.load(copy)
        assert run is not None and _cm_native._sample_digest(run, copy) == _cm_native._expected(copy)


@pytest.mark.parametrize("copy", [c for c in _cm.COPIES if c & _cm.COPY_PARAGRAPHS] + [_cm.COPY_FAST])
def test_the_copies_for_smaller_sets_code_as_the_copy_for_any_set(copy: int) -> None:
    """The full sets of versions 4 and 5 without the column, field and indirect contexts and the third weight
    set, and level 4's set, have compiled copies of their own, which code and decode the bytes the copy for
    any set does."""
    from sigmalang._backends import cm_writer_version
    from sigmalang._levels import level_spec

    components, version = _cm.FULL_SETS[copy], _cm.FULL_VERSIONS[copy]
    if copy & _cm.COPY_PARAGRAPHS:
        assert components == _cm.FULL_SETS[copy & ~_cm.COPY_PARAGRAPHS] & ~_cm.PARAGRAPH_OFF
        other = _cm.FULL_SETS[copy & ~_cm.COPY_PARAGRAPHS]
    else:  # what level 4 writes, in the version its writer chooses; no other version or set uses the copy
        assert components == level_spec(4).backend_level and cm_writer_version(components) == version == 2
        assert _cm.full_copy(components, 3) == _cm.full_copy(components & ~(1 << _cm.C_RATE), 2) == 0
        other = _cm.COMPONENTS_V3
    assert _cm.full_copy(components, version) == copy and _cm_native._name(copy) != _cm_native._name(0)
    data = DICKENS[:12000] + (Path(__file__).parent / "fixtures" / "loghub-small.log").read_bytes()[:8000]
    payloads = []
    for run in (_cm_native.load(copy), _cm_native.load(0)):
        assert run is not None
        _cm._kernels["copy"] = run
        try:
            payloads.append(encode(data, components, "copy", 100, version))
            assert decode(payloads[-1], data[:100], len(data) - 100, components, "copy", version) == (0, data[100:])
        finally:
            del _cm._kernels["copy"]
    assert payloads[0] == payloads[1] == encode(data, components, "native", 100, version)
    assert payloads[0] != encode(data, other, "native", 100, version)


@NUMBA
def test_the_sample_digest_is_what_both_kernels_code() -> None:
    """A new kernel file is checked against SAMPLE_DIGEST instead of numba's dispatcher: the
    constant must be what the dispatcher codes (update it whenever the model changes)."""
    assert _cm_native.sample_digest("numba") == _cm_native.SAMPLE_DIGEST
    assert _cm_native.sample_digest("numba", 9) == _cm_native.SAMPLE_DIGEST_V4
    assert _cm_native.sample_digest("numba", 7) == _cm_native.SAMPLE_DIGEST_V3
    assert _cm_native.sample_digest("native") == _cm_native.SAMPLE_DIGEST
    for copy in _cm.COPIES:  # every compiled copy of the model, each with every component of its version
        run = _cm_native.load(copy)
        assert run is not None and _cm_native._sample_digest(run, copy) == _cm_native._expected(copy)
    # The any-set copy codes versions 3's and 4's full sets as the copies for them do.
    assert _cm_native._sample_digest(_cm_native.load(0), 7) == _cm_native.SAMPLE_DIGEST_V3  # type: ignore[arg-type]
    assert _cm_native._sample_digest(_cm_native.load(0), 9) == _cm_native.SAMPLE_DIGEST_V4  # type: ignore[arg-type]
    # and the sets of running text and level 4's
    for copy in (_cm.COPY_PARAGRAPHS | _cm.N_HASHED, _cm.COPY_PARAGRAPHS | 9, _cm.COPY_FAST):
        assert _cm_native.sample_digest("numba", copy) == _cm_native._expected(copy)


@NUMBA
@settings(max_examples=40, deadline=None)
@given(
    st.binary(max_size=3000), st.sampled_from(COMPONENT_SETS), st.integers(0, 400), st.sampled_from(_cm.MODEL_VERSIONS)
)
def test_native_and_numba_kernels_code_the_same_bytes(data: bytes, components: int, prime: int, version: int) -> None:
    components &= _cm.COMPONENTS_OF[version]  # the components the version knows (a full set uses its copy)
    prime = min(prime, len(data))
    native = encode(data, components, "native", prime, version)
    assert native == encode(data, components, "numba", prime, version)
    for kind in ("native", "numba"):
        assert decode(native, data[:prime], len(data) - prime, components, kind, version) == (0, data[prime:])


@NUMBA
@settings(max_examples=40, deadline=None)
@given(st.binary(min_size=5, max_size=400), st.integers(0, 2**16), st.sampled_from(_cm.MODEL_VERSIONS))
def test_native_and_numba_kernels_agree_on_damaged_payloads(payload: bytes, size: int, version: int) -> None:
    size %= 2000
    native = decode(payload, b"", size, 0x7FF, "native", version)
    assert native == decode(payload, b"", size, 0x7FF, "numba", version)


def test_the_kernel_checks_its_arrays() -> None:
    with pytest.raises(TypeError):
        _cm.code(np.zeros(4, dtype=np.int32), 0, False, np.zeros(0, np.uint8), np.zeros(9, np.uint8), 0, 12)
    with pytest.raises(ValueError):
        _cm.code(np.zeros(4, dtype=np.uint8), 5, False, np.zeros(0, np.uint8), np.zeros(9, np.uint8), 0, 12)
    with pytest.raises(ValueError):
        _cm.code(np.zeros(4, dtype=np.uint8), 0, False, np.zeros(0, np.uint8), np.zeros(9, np.uint8), 0, 11)
    run = _cm.kernel("native")
    with pytest.raises(TypeError):
        run(np.zeros(4, np.uint8), 0, False, np.zeros(0, np.uint8), np.zeros(9, np.uint8), 0)


def test_a_process_with_the_cache_codes_without_importing_numba() -> None:
    script = textwrap.dedent(
        """
        import sys
        import sigmalang
        data = b"a line of text, then another line of text\\n" * 200
        assert sigmalang.decompress(sigmalang.compress(data, level=6)) == data
        print("numba" in sys.modules, "llvmlite.binding" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    numba, llvm = result.stdout.split()
    assert numba == "False"
    if ELF_LOADER:  # the machine code is loaded by sigmalang._elf: LLVM's library is not loaded either
        assert llvm == "False"


def _cached_object() -> tuple[str, bytes]:
    _cm.kernel("native")  # builds the cache file if it is missing
    for folder in _cm_native._cache_dirs():
        path = folder / _cm_native._name(True)
        if path.exists():
            return _cm_native._parse(path.read_bytes())
    pytest.skip("no kernel cache file here")


@pytest.mark.skipif(not ELF_LOADER, reason="the ELF loader handles x86-64 Linux objects")
def test_the_elf_loader_loads_the_kernel_as_the_jit_linker_does() -> None:
    symbol, obj = _cached_object()
    assert _elf.load(obj, symbol, _cm_native._external) is not None
    other = obj[:18] + (183).to_bytes(2, "little") + obj[20:]  # another machine (AArch64)
    assert _elf.load(other, symbol, _cm_native._external) is None
    assert _elf.load(obj, symbol, lambda name: None) is None  # an outside symbol it cannot find
    assert _elf.load(obj, "no such symbol", _cm_native._external) is None


@pytest.mark.skipif(not ELF_LOADER, reason="the ELF loader handles x86-64 Linux objects")
@settings(max_examples=150, deadline=None)
@given(cut=st.integers(0, 1 << 16), flips=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(1, 255)), max_size=4))
def test_the_elf_loader_refuses_damaged_objects_without_crashing(cut: int, flips: list[tuple[int, int]]) -> None:
    """Loading only copies and patches bytes (nothing runs): a damaged object is either loaded,
    refused (None) or reported (ValueError), never a crash or another exception."""
    symbol, obj = _cached_object()
    damaged = bytearray(obj[: cut % (len(obj) + 1)])
    for at, mask in flips:
        if damaged:
            damaged[at % len(damaged)] ^= mask
    try:
        address = _elf.load(bytes(damaged), symbol, _cm_native._external)
    except ValueError:
        return
    assert address is None or address > 0


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:-1],
        lambda blob: b"X" + blob[1:],
        lambda blob: blob[:40] + bytes([blob[40] ^ 1]) + blob[41:],
        lambda blob: blob[:-32] + hashlib.sha256(b"other").digest(),
        lambda blob: b"",
    ],
)
def test_damaged_cache_files_are_refused(damage: object) -> None:
    blob = _cm_native._serialise("entry", b"\x7fELF object code")
    assert _cm_native._parse(blob) == ("entry", b"\x7fELF object code")
    with pytest.raises(ValueError):
        _cm_native._parse(damage(blob))  # type: ignore[operator]


@pytest.mark.slow
def test_a_damaged_cache_file_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cm_native, "_cache_dirs", lambda: [tmp_path])
    name = _cm_native._name(0)
    (tmp_path / name).write_bytes(b"SGLCMK1\n damaged")
    run = _cm_native.load(0)
    assert run is not None
    _cm_native._parse((tmp_path / name).read_bytes())  # rebuilt, intact
    data = bytes(range(256)) * 20
    monkeypatch.setitem(_cm._kernels, "native", run)
    assert encode(data, 0x7FF, "native") == encode(data, 0x7FF, "numba")


def test_processes_starting_together_build_the_kernel_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers of a new pool all load the kernel at once: one builds it, the others wait for its
    file (the lock is a file lock, so threads with their own open files stand in for processes)."""
    import threading
    import time

    builds: list[str] = []

    def build(name: str, copy: int) -> tuple[str, bytes]:
        builds.append(name)
        time.sleep(0.3)  # long enough for every other loader to reach the lock
        (tmp_path / name).write_bytes(_cm_native._serialise("entry", b"object code"))
        return "entry", b"object code"

    monkeypatch.setattr(_cm_native, "_cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(_cm_native, "_key", lambda: "test")
    monkeypatch.setattr(_cm_native, "_build", build)
    monkeypatch.setattr(_cm_native, "_link", lambda symbol, obj: (symbol, obj))
    loaded: list[object] = []
    threads = [threading.Thread(target=lambda: loaded.append(_cm_native.load(9))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["cm-kernel-full4-test.bin"]
    assert loaded == [("entry", b"object code")] * 4


def test_ready_says_whether_the_kernel_file_is_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cm_native, "_cache_dirs", lambda: [tmp_path])
    monkeypatch.setattr(_cm_native, "_key", lambda: "test")
    monkeypatch.delenv("NUMBA_BOUNDSCHECK", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    assert not _cm_native.ready()
    (tmp_path / "cm-kernel-full4-test.bin").write_bytes(_cm_native._serialise("entry", b"object code"))
    assert _cm_native.ready() and not _cm_native.ready(0) and not _cm_native.ready(7) and not _cm_native.ready(10)
    (tmp_path / "cm-kernel-full4-test.bin").write_bytes(b"damaged")
    assert not _cm_native.ready()
    monkeypatch.setenv("NUMBA_BOUNDSCHECK", "1")  # numba's dispatcher is asked for: no file needed
    assert _cm_native.ready()


def test_a_processor_named_to_numba_has_a_cache_key_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """numba compiles for the processor NUMBA_CPU_NAME and NUMBA_CPU_FEATURES name, so code compiled
    that way (benchmarks/cm_instructions.py: code valgrind can run) is cached apart from the host's,
    whose key is the same as when neither is set."""
    monkeypatch.delenv("NUMBA_CPU_NAME", raising=False)
    monkeypatch.delenv("NUMBA_CPU_FEATURES", raising=False)
    host = _cm_native._key()
    monkeypatch.setenv("NUMBA_CPU_NAME", "haswell")
    monkeypatch.setenv("NUMBA_CPU_FEATURES", "")
    haswell = _cm_native._key()
    monkeypatch.setenv("NUMBA_CPU_FEATURES", "+avx2")
    assert len({host, haswell, _cm_native._key()}) == 3
    monkeypatch.delenv("NUMBA_CPU_NAME")
    monkeypatch.delenv("NUMBA_CPU_FEATURES")
    assert _cm_native._key() == host
