"""The CM kernel's machine code, cached on disk and loaded without importing numba.

numba's own cache keeps the compiled kernel, but loading it initialises numba's whole compiler
(about a second, and some 130 MiB of memory in every process that codes a frame). This module
keeps the same machine code, behind a C entry point (:func:`native_entry`), in
a file of its own, and loads it itself (:mod:`sigmalang._elf`, for x86-64 ELF objects) or with llvmlite's JIT linker:
a process that finds the file needs neither numba's compiler nor its memory, and on x86-64 Linux
not LLVM either.

The file is specific to this machine and these sources: its name carries a SHA-256 of the model's
sources, the numba and llvmlite versions, the Python version and the host CPU's name and features
(and ``NUMBA_CPU_NAME`` and ``NUMBA_CPU_FEATURES`` where they are set: numba then compiles for the
processor they name), so any change makes a new file. Its content ends with a SHA-256 of the rest,
checked before the code is linked. A new file is first loaded and run by a separate process, and kept only when that
process codes a sample exactly as numba's dispatcher does; any failure leaves numba's dispatcher
in use (:func:`sigmalang._cm.kernel`).

Layout: ``MAGIC`` | symbol length (u16, little-endian) | symbol (ASCII) | object file | SHA-256.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ._cm import KERNEL_ARRAYS

MAGIC = b"SGLCMK1\n"
_HERE = Path(__file__).resolve().parent
_SOURCES = ("_cm.py", "_cm_kernel.py", "_cm_ops.py", "_cm_native.py")

# Runtime helpers the compiled entry point refers to only on paths taken when the kernel raises an
# exception, which it never does (it raises nothing and allocates nothing): they are bound to a
# function that does nothing, so that linking never depends on numba's runtime.
_UNREACHABLE = (
    "numba_gil_ensure",
    "numba_gil_release",
    "numba_runtime_build_excinfo_struct",
    "numba_unpickle",
    "numba_do_raise",
    "NRT_Free",
    "NRT_MemInfo_call_dtor",
)
_NOTHING = ctypes.CFUNCTYPE(None)(lambda: None)
_CPU_FIELDS: tuple[str, ...] = (
    "vendor_id",
    "cpu family",
    "model",
    "model name",
    "flags",
    "Features",
    "CPU implementer",
)
_CPU_FIELDS += ("CPU architecture", "CPU variant", "CPU part", "isa")
_alive: list[Any] = []  # the JIT engines whose code is in use: freed with the process

Kernel = Callable[..., int]


def _llvm() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    return llvm


def _host_facts() -> tuple[Any, ...]:
    """What identifies this machine's processor for the compiled code: on Linux, the first
    processor's name and feature flags from /proc/cpuinfo (read without loading LLVM, about 50 MiB);
    elsewhere, LLVM's host CPU name and features."""
    with contextlib.suppress(OSError):
        first = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").split("\n\n")[0]
        fields = [line.split(":", 1) for line in first.splitlines() if ":" in line]
        facts = tuple((k.strip(), v.strip()) for k, v in fields if k.strip() in _CPU_FIELDS)
        if facts:
            return facts
    llvm = _llvm()
    return (llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())


def _key() -> str:
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((_HERE / name).read_bytes())
    for package in ("numba", "llvmlite"):
        digest.update(metadata.version(package).encode())
    facts: tuple[object, ...] = (platform.system(), platform.machine(), sys.version_info[:2], _host_facts())
    # numba compiles for the processor these name where they are set (a benchmark sets them: code
    # that valgrind can run); the key then names them, and the host's own code keeps its key.
    named = tuple(os.environ.get(name) for name in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES"))
    if named != (None, None):
        facts += named
    digest.update(repr(facts).encode())
    return digest.hexdigest()[:32]


def _cache_dirs() -> list[Path]:
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sigmalang"
    return [_HERE / "__pycache__", user]


def _parse(blob: bytes) -> tuple[str, bytes]:
    """The symbol and object code of a cache file's content; ValueError if it is not intact."""
    if len(blob) < len(MAGIC) + 2 + 32 or not blob.startswith(MAGIC):
        raise ValueError("not a kernel cache file")
    body, digest = blob[:-32], blob[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError("kernel cache file damaged")
    (length,) = struct.unpack_from("<H", body, len(MAGIC))
    start = len(MAGIC) + 2
    symbol = body[start : start + length].decode("ascii")
    return symbol, body[start + length :]


def _serialise(symbol: str, obj: bytes) -> bytes:
    body = MAGIC + struct.pack("<H", len(symbol)) + symbol.encode("ascii") + obj
    return body + hashlib.sha256(body).digest()


def _external(name: str) -> int | None:
    """Where the symbol *name* that the object refers to is in this process (None if nowhere)."""
    if name in _UNREACHABLE:
        return ctypes.cast(_NOTHING, ctypes.c_void_p).value
    try:
        return ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, name))
    except ValueError:
        return None


def _jit_link(symbol: str, obj: bytes) -> int:
    """*obj* linked by llvmlite's JIT linker; the address of *symbol*."""
    llvm = _llvm()
    nothing = ctypes.cast(_NOTHING, ctypes.c_void_p).value
    for name in _UNREACHABLE:
        llvm.add_symbol(name, nothing)
    machine = llvm.Target.from_default_triple().create_target_machine()
    engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), machine)
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    address = engine.get_function_address(symbol)
    if not address:
        raise ValueError("kernel entry point not found")
    _alive.append(engine)
    return int(address)


def _link(symbol: str, obj: bytes) -> Kernel:
    """The entry point of *obj*, linked into this process, as a Python callable with the
    kernel's signature (arrays are passed as pointer and length). An x86-64 ELF object is loaded by
    :mod:`sigmalang._elf` (no LLVM in the process); any other kind by llvmlite's JIT linker."""
    from . import _elf

    address = _elf.load(obj, symbol, _external)
    if address is None:
        address = _jit_link(symbol, obj)
    pointer, integer = ctypes.c_void_p, ctypes.c_int64
    argtypes = [pointer, integer, integer, integer, pointer, integer, pointer, integer, integer, integer]
    argtypes += [pointer, integer] * len(KERNEL_ARRAYS)
    entry = ctypes.CFUNCTYPE(integer, *argtypes)(address)  # called without the GIL
    dtypes = [np.dtype(dtype) for _, dtype in KERNEL_ARRAYS]

    def run(
        buf: np.ndarray,
        start: int,
        decoding: bool,
        payload: np.ndarray,
        out: np.ndarray,
        components: int,
        version: int,
        *arrays: np.ndarray,
    ) -> int:
        if len(arrays) != len(dtypes):
            raise TypeError(f"the kernel takes {len(dtypes)} tables, got {len(arrays)}")
        args: list[int] = [buf.ctypes.data, buf.shape[0], start, int(decoding)]
        args += [payload.ctypes.data, payload.shape[0], out.ctypes.data, out.shape[0], components, version]
        for array, dtype in zip((buf, payload, out, *arrays), [np.dtype(np.uint8)] * 3 + dtypes, strict=True):
            if array.dtype != dtype or array.ndim != 1 or not array.flags.c_contiguous:
                raise TypeError(f"kernel table of {array.dtype}, shape {array.shape}: expected contiguous {dtype}")
        for array in arrays:
            args += [array.ctypes.data, array.shape[0]]
        return int(entry(*args))

    return run


def _sample() -> bytes:
    """A few kilobytes that exercise every component: text, a table, repeats."""
    lines = [f"{i:05d},user{i % 7},GET /item/{i * 37 % 101} 200 {i * 13 % 997}ms\n" for i in range(120)]
    return ("The quick brown fox jumps over the lazy dog. " * 20 + "".join(lines)).encode()


def _self_test(path: str, copy: int) -> int:
    """Run in a separate process: link *path* (the model's compiled *copy*) and code the sample;
    print its payload's digest."""
    print(_sample_digest(_link(*_parse(Path(path).read_bytes())), copy))
    return 0


# The payload's SHA-256 when the sample is coded with every component at 2^14 slots, in the newest
# model version (SAMPLE_DIGEST), in version 4 (SAMPLE_DIGEST_V4) and in version 3 (SAMPLE_DIGEST_V3).
# The model is integer arithmetic, specified in docs/FORMAT.md §7.2, so this is the same on every
# machine: a new kernel file is checked against it, without compiling the model a second time for
# numba's dispatcher (a first run then compiles once, not twice). tests/test_cm_native.py checks
# that the dispatcher codes the sample to these digests, so a change of the model cannot forget
# them. The copies of the model for version 5's full set and for any set code the sample to
# SAMPLE_DIGEST, the copy for version 4's full set to SAMPLE_DIGEST_V4 and the copy for versions 2
# and 3's full set to SAMPLE_DIGEST_V3; the copies for version 5's and version 4's full sets without
# the column, field and indirect contexts and the third weight set (_cm.PARAGRAPH_OFF) to
# SAMPLE_DIGEST_PARAGRAPHS and SAMPLE_DIGEST_V4_PARAGRAPHS; the copy for level 4's set (version 2)
# to SAMPLE_DIGEST_FAST.
SAMPLE_DIGEST = "0bcee4aaa1931c833ba310d0206e998675eb576007df98d939cfdbd20889992d"
SAMPLE_DIGEST_V4 = "79ea1a7f52006aa23c732802bea1c12f523e0126d16efd8f2a3125ecb0670ecf"
SAMPLE_DIGEST_V3 = "d503ee9bd921add87442f15c72da7c2f1aafcc324b28b89828cba9f8404f3d74"
SAMPLE_DIGEST_PARAGRAPHS = "127151923e0698f593459e704891b3cb51f2f79462be3793046710d9dd7d456a"
SAMPLE_DIGEST_V4_PARAGRAPHS = "c09e7807553555c649b8fee43472ae3ead8caa340db163275fa5d5e29f2ed755"
SAMPLE_DIGEST_FAST = "a175e1dabdf4384a8d32de069212fdd72cfd290019a6bede48ce8335c30e7f9c"


def _sample_set(copy: int) -> tuple[int, int]:
    """The component set and model version the sample is coded with to check a *copy* of the
    model: a full copy's own (``_cm.FULL_SETS``), the newest version's full set for the copy for any set."""
    from . import _cm

    return _cm.FULL_SETS.get(copy, _cm.COMPONENTS_ALL), _cm.FULL_VERSIONS.get(copy, _cm.MODEL_VERSION)


def _sample_digest(run: Kernel, copy: int) -> str:
    """The digest of the sample's payload coded by the kernel *run*, with every component of the
    version *copy* is for (:func:`_sample_set`)."""
    from . import _cm

    components, version = _sample_set(copy)
    saved = _cm._kernels.copy()
    _cm._kernels["sample"] = run
    try:
        data = np.frombuffer(_sample(), dtype=np.uint8).copy()
        out = np.zeros(len(data) * 2 + 64, dtype=np.uint8)
        empty = np.zeros(0, dtype=np.uint8)
        written = _cm.code(data, 0, False, empty, out, components, 14, kind="sample", version=version)
    finally:
        _cm._kernels.clear()
        _cm._kernels.update(saved)
    return hashlib.sha256(out[:written].tobytes()).hexdigest()


def sample_digest(kind: str, copy: int = 10) -> str:
    """The digest of the sample's payload coded by :func:`sigmalang._cm.kernel` of *kind*, with the
    set and version that check *copy* (:func:`_sample_set`)."""
    from . import _cm

    return _sample_digest(_cm.kernel(kind), copy)


def _expected(copy: int) -> str:
    from . import _cm

    paragraphs = _cm.COPY_PARAGRAPHS
    return {
        7: SAMPLE_DIGEST_V3,
        9: SAMPLE_DIGEST_V4,
        paragraphs | _cm.N_HASHED: SAMPLE_DIGEST_PARAGRAPHS,
        paragraphs | 9: SAMPLE_DIGEST_V4_PARAGRAPHS,
        _cm.COPY_FAST: SAMPLE_DIGEST_FAST,
    }.get(copy, SAMPLE_DIGEST)


def _works(path: str, copy: int) -> bool:
    """Whether the cache file at *path*, linked by a separate process, codes the sample into the
    payload whose digest its *copy* of the model must write (a crash there cannot take this
    process down)."""
    expected = _expected(copy)
    command = [sys.executable, "-c", f"from sigmalang._cm_native import _self_test; _self_test({path!r}, {copy})"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_HERE.parent), os.environ.get("PYTHONPATH", "")])}
    check = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    return check.returncode == 0 and check.stdout.strip() == expected


def native_entry(copy: int) -> tuple[str, bytes]:
    """Compile one of :func:`~sigmalang._cm_kernel._run`'s copies of the model behind a C entry
    point: *copy* (one of ``_cm.COPIES``) is the number of hashed contexts of the full component
    set it is for (the set and those bounds then constants; with ``_cm.COPY_PARAGRAPHS`` added, that
    set without ``_cm.PARAGRAPH_OFF``; ``_cm.COPY_FAST``, level 4's set), or 0 for the copy for any set.
    Returns the entry point's symbol name and its machine code (an object file for this machine).
    The entry takes ``_run``'s arguments, each array as a pointer and a length
    (in ``KERNEL_ARRAYS``' order after the first six), and the integers as int64. Each copy is
    compiled only when a process first needs it: the default levels never compile the general one.
    numba is imported here, when a cache file is built, never when one is loaded."""
    from numba import cfunc, njit, types
    from numba.np.numpy_support import carray, from_dtype

    from . import _cm
    from ._cm_kernel import _model

    pointer: Any = types.CPointer
    u8p = pointer(types.uint8)
    i64 = types.int64
    params = [
        "buf_p",
        "buf_n",
        "start",
        "decoding",
        "payload_p",
        "payload_n",
        "out_p",
        "out_n",
        "components",
        "version",
    ]
    argtypes = [u8p, i64, i64, i64, u8p, i64, u8p, i64, i64, i64]
    views = ["carray(buf_p, (buf_n,))", "start", "decoding != 0", "carray(payload_p, (payload_n,))"]
    views.append("carray(out_p, (out_n,))")
    if copy & _cm.COPY_PARAGRAPHS:  # the set and its hashed contexts constants
        n_full = (copy & ~_cm.COPY_PARAGRAPHS) - 3  # the column, field and indirect contexts left out
        views.append(f"{_cm.FULL_SETS[copy]}, version, {_cm.PARAGRAPHS}, {n_full}")
    elif copy:
        kind = _cm.FAST if copy == _cm.COPY_FAST else _cm.FULL
        views.append(f"{_cm.FULL_SETS[copy]}, version, {kind}, {copy}")
    else:
        views.append(f"components, version, {_cm.ANY}, 0")
    arrays = []
    for name, dtype in KERNEL_ARRAYS:
        params += [f"{name}_p", f"{name}_n"]
        argtypes += [pointer(from_dtype(np.dtype(dtype))), i64]
        arrays.append(f"carray({name}_p, ({name}_n,))")
    split = len(KERNEL_ARRAYS) // 2  # _model takes them as two tuples (tables, work), as _run passes them
    views += [f"({', '.join(arrays[:split])})", f"({', '.join(arrays[split:])})"]
    source = f"def entry({', '.join(params)}):\n    return model({', '.join(views)})\n"
    # A fresh compilation, not numba's on-disk cache of _run: that cache is keyed by _cm_kernel.py's
    # time stamp alone, and would not notice a change to the constants in _cm.py or to _cm_ops.py.
    namespace: dict[str, Any] = {"carray": carray, "model": njit(_model.py_func, inline="always")}
    exec(source, namespace)  # a Python function with one named parameter per C argument
    compiled = cfunc(types.int64(*argtypes))(namespace["entry"])
    library: Any = compiled._library  # type: ignore[attr-defined]
    return str(compiled.native_name), bytes(library._get_compiled_object())


def _build(name: str, copy: int) -> tuple[str, bytes] | None:
    """Compile the entry point of one *copy* of the model with numba, check it in a separate
    process and store it in the first cache folder that takes it; None if the check fails."""
    symbol, obj = native_entry(copy)
    blob = _serialise(symbol, obj)
    for folder in _cache_dirs():
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".cm-kernel-", dir=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(blob)
                os.chmod(temporary, 0o644)  # readable by every user of a shared installation, like .pyc files
                if not _works(temporary, copy):
                    return None
                os.replace(temporary, folder / name)
                return symbol, obj
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
    return None


def _name(copy: int) -> str:
    from . import _cm

    kind = {0: "any", _cm.COPY_FAST: "fast", 7: "full3", 9: "full4"}.get(copy & ~_cm.COPY_PARAGRAPHS, "full")
    return f"cm-kernel-{kind}{'-paragraphs' if copy & _cm.COPY_PARAGRAPHS else ''}-{_key()}.bin"


def ready(copy: int = 9) -> bool:
    """Whether this machine has the cache file of the model's *copy* (by default the one for
    version 4's full component set, the default level's; else the first frame that needs it builds it,
    which takes most of a minute). True where numba's dispatcher is asked for instead, or on any
    doubt."""
    from . import _cm

    if any(os.environ.get(name, "0") not in ("", "0") for name in _cm._NUMBA_SWITCHES):
        return True
    try:
        return _cached(_name(copy)) is not None
    except Exception:
        return True


def load(copy: int) -> Kernel | None:
    """The machine code of the model's *copy* (one of ``_cm.COPIES``), from the cache (built and
    checked first if missing), or None if it cannot be used here (the caller then uses numba's
    dispatcher)."""
    try:
        name = _name(copy)
        found = _cached(name)
        if found is None:
            # One process builds while the others (a new pool's workers, all starting at once) wait
            # for its file, instead of each compiling the model for most of a minute.
            with _build_lock():
                found = _cached(name) or _build(name, copy)
        if found is None:
            return None
        return _link(*found)
    except Exception:  # any failure: numba's dispatcher codes the same bytes
        return None


def _cached(name: str) -> tuple[str, bytes] | None:
    for folder in _cache_dirs():
        with contextlib.suppress(OSError, ValueError):
            return _parse((folder / name).read_bytes())
    return None


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """An exclusive lock on a file beside the cache files, held while the kernel is built; no lock
    where none can be taken (no ``fcntl``, or no folder we may write)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    for folder in _cache_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / ".cm-kernel.lock", "a+b")  # noqa: SIM115  (held across the yield)
        except OSError:
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
            except OSError:
                yield
                return
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    yield
