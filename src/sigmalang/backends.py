"""Entropy backends behind one small interface: ``encode(bytes) -> bytes`` and
``decode(bytes, size) -> bytes``, where *size* is the exact decoded length.

Backends know nothing of glyphs or frames. Each has a one-byte id that frames store.

*prime* (shared-context frames, docs/FORMAT.md §7.5) is input that both sides
already have: the backend's model is trained on it first, so the encoding of *data* can refer to
it, and the payload holds only what encodes *data*. Store cannot be primed.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Protocol

import pyppmd
import zstandard

from . import _pyppmd
from .glyph import encode_varint, read_varint

__all__ = [
    "BACKENDS",
    "CM",
    "CmBackend",
    "MIN_PAYLOAD",
    "PPMD",
    "STORE",
    "ZSTD",
    "Backend",
    "BackendError",
    "PpmdBackend",
    "StoreBackend",
    "ZstdBackend",
    "get_backend",
]

STORE = 0
ZSTD = 1
PPMD = 2
CM = 3


class BackendError(Exception):
    """A backend could not decode its input (damaged data); the caller adds the location."""


class Backend(Protocol):
    id: int
    name: str

    def encode(self, data: bytes, prime: bytes = b"") -> bytes: ...

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes: ...


class StoreBackend:
    id = STORE
    name = "store"

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        if prime:
            raise ValueError("store cannot be primed")
        return bytes(data)

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        if prime:
            raise BackendError("a stored frame cannot continue a context")
        if len(data) != size:
            raise BackendError(f"stored data is {len(data)} bytes, expected {size}")
        return bytes(data)


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class ZstdBackend:
    """Zstandard via the ``zstandard`` package, single-threaded so output is deterministic."""

    id = ZSTD
    name = "zstd"

    def __init__(self, level: int = 3):
        self.level = level
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True, write_checksum=False)
        # A frame never holds more than its chunk, so the window never needs to exceed 64 MiB.
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=1 << 26)

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        if not prime:
            return bytes(self._compressor.compress(data))
        compressor = zstandard.ZstdCompressor(
            level=self.level,
            dict_data=_raw_dict(prime),
            write_content_size=True,
            write_checksum=False,
            write_dict_id=False,
        )
        return bytes(compressor.compress(data))

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        if size == 0:
            if data:
                raise BackendError("zstd data present for an empty chunk")
            return b""
        if data[:4] != ZSTD_MAGIC:  # also refuses skippable frames (magic 0x184D2A5?)
            raise BackendError("zstd data does not start with a Zstandard frame")
        try:
            params = zstandard.get_frame_parameters(data)
            if params.content_size != size:
                raise BackendError(f"zstd frame declares {params.content_size} bytes, expected {size}")
            if params.dict_id:
                raise BackendError("zstd frame names a dictionary")
            decompressor = self._decompressor
            if prime:
                decompressor = zstandard.ZstdDecompressor(dict_data=_raw_dict(prime), max_window_size=1 << 26)
            out = decompressor.decompress(data, max_output_size=size, allow_extra_data=False)
        except zstandard.ZstdError as exc:
            raise BackendError(f"zstd: {exc}") from None
        if len(out) != size:
            raise BackendError(f"zstd decoded {len(out)} bytes, expected {size}")
        return bytes(out)

    def memory_usage(self) -> int:
        """Bytes of native memory the compression context uses, as zstd estimates it."""
        params = zstandard.ZstdCompressionParameters.from_level(self.level)
        return int(params.estimated_compression_context_size())


def _raw_dict(prime: bytes) -> zstandard.ZstdCompressionDict:
    """*prime* as a raw-content zstd dictionary (no entropy tables, id 0: nothing to name)."""
    return zstandard.ZstdCompressionDict(prime, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


# pyppmd 1.3.1 loses output bytes in some encode() calls: seen here with 256 KiB and 512 KiB
# calls on dickens (a 4 MiB chunk came out 2 bytes short), elsewhere with 1 MiB calls. Each call
# collects its output in blocks, the first of PPMD_BLOCK bytes, and grows the list only between
# symbols; a symbol whose bytes overflow a full block loses the rest (`Writer` in pyppmd's
# Buffer.c returns without writing). So a call whose output is shorter than PPMD_BLOCK never lost
# a byte, and the encoder is fed 16 KiB slices, whose output stays below it on any real input.
PPMD_BLOCK = 32 << 10
PPMD_SLICE = 16 << 10
PPMD_MIN_ORDER, PPMD_MAX_ORDER = 2, 64
PPMD_MAX_MEMORY_MIB = 1024  # a decoder refuses to allocate a model larger than this
PPMD_RUNWAY = 64 << 10  # zero bytes after a stream being decoded (PpmdBackend._decode_stream)
_RUNWAY = bytes(PPMD_RUNWAY)


class PpmdBackend:
    """PPMd variant H (Ppmd7) via ``pyppmd``, with its parameters in the payload.

    Payload: ``order`` (1 byte) | model memory in MiB (LEB128 varint) | the PPMd stream, which ends
    with PPMd's end mark. The decoder reads exactly *size* bytes and then requires the end mark, so
    a stream that is one byte short or long is an error, not silent damage. With *verify*, every
    encoding is checked before it is returned: an encoding whose encode() calls each returned less
    than PPMD_BLOCK bytes lost nothing (see above); any other is decoded again, and one that does
    not round-trip raises :class:`BackendError` instead of being returned.
    """

    id = PPMD
    name = "ppmd"

    def __init__(self, order: int = 6, memory_mib: int = 16, *, verify: bool = False):
        if not PPMD_MIN_ORDER <= order <= PPMD_MAX_ORDER:
            raise ValueError(f"PPMd order must be {PPMD_MIN_ORDER}-{PPMD_MAX_ORDER}, got {order}")
        if not 1 <= memory_mib <= PPMD_MAX_MEMORY_MIB:
            raise ValueError(f"PPMd memory must be 1-{PPMD_MAX_MEMORY_MIB} MiB, got {memory_mib}")
        self.order = order
        self.memory_mib = memory_mib
        self.verify = verify
        self.full_checks = 0  # encodings that the output lengths could not clear and were decoded
        self._buffers: dict[int, bytearray] = {}

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        """The payload for *data*; with *prime*, the stream continues PPMd's encoding of *prime*
        and the payload leaves out the bytes that encoding *prime* alone writes (docs/FORMAT.md
        §7.5). When the verify step decodes, it does so exactly as a decoder will."""
        encoder = pyppmd.Ppmd7Encoder(self.order, self.memory_mib << 20)
        blocks = _pyppmd.encoder_state(encoder, self.order, self.memory_mib << 20)
        pieces = self._feed(encoder, prime)  # their output is the primer, which the payload leaves out
        primed = len(pieces)
        pieces += self._feed(encoder, data)
        pieces.append(encoder.flush(endmark=True))
        references = sys.getrefcount(encoder)
        del encoder
        _pyppmd.reclaim(blocks, references)  # what pyppmd does not free of an encoder (_pyppmd.py)
        payload = b"".join([bytes([self.order]), encode_varint(self.memory_mib), *pieces[primed:]])
        if self.verify and not all(len(piece) < PPMD_BLOCK for piece in pieces):
            self.full_checks += 1
            try:
                good = self.decode(payload, len(data), prime) == data
            except BackendError:
                good = False
            if not good:
                raise BackendError("PPMd output failed its round-trip check")
        return payload

    def _feed(self, encoder: pyppmd.Ppmd7Encoder, data: bytes) -> list[bytes]:
        """Feed *data* in PPMD_SLICE slices (then power-of-two pieces); the outputs in order."""
        out = []
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            left = len(view) - pos
            size = PPMD_SLICE if left >= PPMD_SLICE else 1 << (left.bit_length() - 1)
            out.append(encoder.encode(self._staged(view[pos : pos + size])))
            pos += size
        return out

    def _staged(self, piece: memoryview) -> bytearray:
        """*piece* (a power-of-two length) copied into this backend's reused buffer of that length.

        pyppmd 1.3.1's ``Ppmd7Encoder.encode()`` never releases the buffer of its argument, so the
        argument stays alive for good: fed fresh slices, a process's memory grew with its input
        (benchmarks/memory.py, docs/memory.md). Fed only these buffers, at most one per power of
        two up to PPMD_SLICE, the leak is bounded.
        """
        buffer = self._buffers.get(len(piece))
        if buffer is None:
            buffer = self._buffers[len(piece)] = bytearray(len(piece))
        buffer[:] = piece  # same length: no resize of a buffer pyppmd still holds
        return buffer

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        """The *size* bytes *data* encodes, after checking that *data* is exactly what the encoder
        writes for them (docs/FORMAT.md §7.3): one spelling, so a payload whose last bytes were
        altered, cut or extended is an error even where PPMd's range decoder would not notice.

        The check encodes the output again. With *prime*, that same encoder first codes the
        primer and so also gives the bytes the payload leaves out (§7.5), and the decoded primer
        must be *prime*. The decoder is always drained before it is freed (:func:`_drain`).
        """
        order, memory_mib, start = self._parameters(data)
        body = bytes(data[start:])  # bytes: see _decode_stream
        encoder = pyppmd.Ppmd7Encoder(order, memory_mib << 20)
        blocks = _pyppmd.encoder_state(encoder, order, memory_mib << 20)
        try:
            primer = b"".join(self._feed(encoder, prime))  # what coding the primer alone writes
            out = self._decode_stream(order, memory_mib, primer + body if prime else body, len(prime) + size)
            if prime and out[: len(prime)] != prime:
                raise BackendError("PPMd stream does not continue its context")
            pieces = self._feed(encoder, out[len(prime) :])
            pieces.append(encoder.flush(endmark=True))
        except BackendError:
            raise
        except Exception as exc:  # pyppmd raises ValueError, PpmdError, MemoryError, ...
            raise BackendError(f"PPMd: {exc}") from None
        finally:
            references = sys.getrefcount(encoder)
            del encoder
            _pyppmd.reclaim(blocks, references)
        if b"".join(pieces) != body:
            raise BackendError("PPMd stream does not end where expected")
        return bytes(out[len(prime) :])

    @staticmethod
    def _decode_stream(order: int, memory_mib: int, stream: bytes, total: int) -> bytes:
        """Exactly *total* symbols of *stream*, then the end mark, with every byte of *stream*
        read and none past it.

        The decoder is given *stream* followed by PPMD_RUNWAY zero bytes, so that a damaged stream
        that reads past its end finds bytes there instead of leaving pyppmd's decoding thread
        waiting for input, the state in which pyppmd 1.3.1 corrupts the heap (:func:`_drain`). A
        valid stream reads none of them: what is left after the end mark must be all of them.
        """
        decoder = pyppmd.Ppmd7Decoder(order, memory_mib << 20)
        try:
            # One call for the whole chunk: pulling the output in slices with empty input after
            # the first call was seen to raise "Corrupted input data" on valid 4 MiB streams.
            out = decoder.decode(stream + _RUNWAY, total) if total else b""
            if len(out) != total:
                raise BackendError(f"PPMd stream ends {total - len(out)} bytes early")
            if decoder.decode(b"" if total else stream + _RUNWAY, 1) or not decoder.eof:
                raise BackendError("PPMd stream does not end where expected")
            if len(decoder.unused_data) != PPMD_RUNWAY:
                raise BackendError("PPMd stream does not end where expected")
            return out
        finally:
            _drain(decoder)

    @staticmethod
    def _parameters(data: bytes) -> tuple[int, int, int]:
        if not data:
            raise BackendError("PPMd payload is empty")
        order = data[0]
        memory_mib, start = read_varint(data, 1, 3, lambda _: BackendError("PPMd payload ends inside its parameters"))
        if not PPMD_MIN_ORDER <= order <= PPMD_MAX_ORDER or not 1 <= memory_mib <= PPMD_MAX_MEMORY_MIB:
            raise BackendError(f"PPMd parameters out of range: order {order}, {memory_mib} MiB")
        return order, memory_mib, start

    def memory_usage(self) -> int:
        """Bytes of model memory one encoder or decoder allocates."""
        return self.memory_mib << 20


CM_VERSION = 1
# The longest primer a CM frame may ask for. Modelling a primer costs as much as decoding, before
# the payload can be checked, so a decoder bounds it; writers prime with at most 256 KiB.
CM_MAX_PRIME = 256 << 10
CM_SLOTS_PER_BYTE_BITS = 4  # tables sized to 16 slots per input byte when that is below the level's size
CM_DEFAULT_COMPONENTS = 0x1FFF
CM_DEFAULT_HASH_BITS = 22


class CmBackend:
    """Our context-mixing model (``_cm``), with its parameters in the payload.

    Payload: model version (1 byte, 1) | hash-table size as a power of two (1 byte, 12-24) |
    component set (LEB128 varint, a subset of ``_cm.COMPONENTS_ALL``) | the arithmetic-coded
    bits. The decoder checks the parameters before it allocates anything, decodes exactly *size*
    bytes and requires the coded bits to end exactly at the payload's end.
    """

    id = CM
    name = "cm"

    def __init__(self, components: int = CM_DEFAULT_COMPONENTS, hash_bits: int = CM_DEFAULT_HASH_BITS):
        from . import _cm

        if components & ~_cm.COMPONENTS_ALL:
            raise ValueError(f"unknown CM components {components:#x}")
        if not _cm.HASH_BITS_MIN <= hash_bits <= _cm.HASH_BITS_MAX:
            raise ValueError(f"CM hash bits must be {_cm.HASH_BITS_MIN}-{_cm.HASH_BITS_MAX}, got {hash_bits}")
        self.components = components
        self.hash_bits = hash_bits

    def encode(self, data: bytes, prime: bytes = b"") -> bytes:
        import numpy as np

        from . import _cm

        if len(prime) > CM_MAX_PRIME:  # no decoder would accept it; the codec falls back to zstd
            raise BackendError(f"CM primer of {len(prime):,} bytes is longer than {CM_MAX_PRIME:,}")
        buf = np.frombuffer(prime + data, dtype=np.uint8).copy()
        hash_bits = self.table_bits(len(buf))
        # Coded bits can exceed the input only slightly (12 bits per bit at the very worst, far
        # less in practice): past this bound the caller stores the chunk anyway.
        out = np.empty(len(data) + (len(data) >> 3) + 64, dtype=np.uint8)
        written = _cm.code(buf, len(prime), False, _no_array(), out, self.components, hash_bits)
        header = bytes([CM_VERSION, hash_bits]) + encode_varint(self.components)
        if written < 0:
            raise BackendError("CM output larger than its bound")
        return header + out[:written].tobytes()

    def table_bits(self, size: int) -> int:
        """The hash-table size (a power of two) the encoder uses for *size* bytes of primer and
        input: a small input gets small tables, the same model with far less memory to touch."""
        from . import _cm

        return max(_cm.HASH_BITS_MIN, min(self.hash_bits, size.bit_length() + CM_SLOTS_PER_BYTE_BITS))

    def decode(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        import numpy as np

        from . import _cm

        components, hash_bits, start = self._parameters(data)
        if len(prime) > CM_MAX_PRIME:
            raise BackendError(f"CM frame continues a context of {len(prime):,} bytes, more than {CM_MAX_PRIME:,}")
        buf = np.zeros(len(prime) + size, dtype=np.uint8)
        buf[: len(prime)] = np.frombuffer(prime, dtype=np.uint8)
        payload = np.frombuffer(data, dtype=np.uint8)[start:].copy()
        result = _cm.code(buf, len(prime), True, payload, _no_array(), components, hash_bits)
        if result != 0:
            raise BackendError("CM stream does not end where expected")
        return buf[len(prime) :].tobytes()

    @staticmethod
    def _parameters(data: bytes) -> tuple[int, int, int]:
        from . import _cm

        if len(data) < 3:
            raise BackendError("CM payload ends inside its parameters")
        if data[0] != CM_VERSION:
            raise BackendError(f"unknown CM model version {data[0]}")
        hash_bits = data[1]
        components, start = read_varint(data, 2, 3, lambda _: BackendError("CM payload ends inside its parameters"))
        if not _cm.HASH_BITS_MIN <= hash_bits <= _cm.HASH_BITS_MAX or components & ~_cm.COMPONENTS_ALL:
            raise BackendError(f"CM parameters out of range: {hash_bits} hash bits, components {components:#x}")
        return components, hash_bits, start

    def memory_usage(self) -> int:
        """Bytes of model tables one encoder or decoder allocates."""
        from . import _cm

        return _cm.model_memory(self.hash_bits)


def _no_array() -> Any:
    import numpy as np

    return np.zeros(0, dtype=np.uint8)


BACKENDS = {STORE: "store", ZSTD: "zstd", PPMD: "ppmd", CM: "cm"}
# The shortest payload a backend ever writes: a chunk no longer than this is stored without trying.
MIN_PAYLOAD = {CM: 7}  # 3 bytes of parameters and the coder's 4 final bytes


_local = threading.local()


def get_backend(backend_id: int, level: int = 0, memory_mib: int = 0, *, verify: bool = False) -> Backend:
    """A backend instance, cached per thread (codec contexts are not thread-safe).

    *level* is the backend's own level (zstd level, PPMd model order) and *memory_mib* the PPMd
    model size; both only matter for encoding, since decoders read what they need from the
    payload. Raises ``KeyError`` for an unknown id.
    """
    cache: dict[tuple[int, int, int, bool], Backend] = _local.__dict__.setdefault("backends", {})
    key = (backend_id, level, memory_mib, verify)
    backend = cache.get(key)
    if backend is None:
        if backend_id == STORE:
            backend = StoreBackend()
        elif backend_id == ZSTD:
            backend = ZstdBackend(level or 3)
        elif backend_id == PPMD:
            backend = PpmdBackend(level or 6, memory_mib or 16, verify=verify)
        elif backend_id == CM:
            backend = CmBackend(level or CM_DEFAULT_COMPONENTS, memory_mib or CM_DEFAULT_HASH_BITS)
        else:
            raise KeyError(backend_id)
        cache[key] = backend
    return backend


# Zero bytes fed one at a time to a decoder left waiting for input before it is given up on.
_DRAIN_BYTES = 4096
_stranded: list[pyppmd.Ppmd7Decoder] = []  # decoders that never stopped asking for input


def _drain(decoder: pyppmd.Ppmd7Decoder) -> None:
    """Let a decoder that a damaged stream left waiting for input finish before it is freed.

    pyppmd 1.3.1 decodes in a thread that, when the input runs out inside a symbol, waits for more;
    freeing the decoder then cancels that thread without waiting for it, and the thread's last
    steps write into freed memory: glibc aborts the process later ("double free or corruption",
    "corrupted size vs. prev_size"; tests/test_ppmd_damaged.py). Fed one byte per call, the thread
    ends at the first symbol that byte completes (a symbol takes at most about 2 bytes per context
    it escapes through, so well under _DRAIN_BYTES); a decoder still waiting after that is kept
    alive instead of freed: a leak, never a corrupted heap.
    """
    for _ in range(_DRAIN_BYTES):
        if decoder.eof or not decoder.needs_input:
            return
        try:
            decoder.decode(b"\0", 1)
        except Exception:  # an error ends the thread as well
            return
    _stranded.append(decoder)
