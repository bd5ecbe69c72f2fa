"""Backend 2, PPMd variant H (docs/FORMAT.md §7.3), via ``pyppmd``: :class:`PpmdBackend`, the
limits of its parameters, and what keeps pyppmd's faults out of the output and the process (the
encoder fed in slices, the decoder given a runway and drained before it is freed, and run in a
process of its own: :mod:`sigmalang._ppmd_guard`).
Re-exported by :mod:`sigmalang._backends`.
"""

from __future__ import annotations

import sys

import pyppmd

from . import _pyppmd
from ._backend_base import PPMD, BackendError
from ._wire import encode_varint, read_varint

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
# Bit 7 of a primed payload's order byte: its range coder starts afresh after the primer, the model
# having learnt it (docs/FORMAT.md §7.5, what this version writes); clear in a primed payload, the
# coder continues from coding the primer (what sigmalang wrote before, still read).
PPMD_FRESH_CODER = 0x80
PPMD_RUNWAY = 64 << 10  # zero bytes after a stream being decoded (PpmdBackend._decode_stream)
_RUNWAY = bytes(PPMD_RUNWAY)


class PpmdBackend:
    """PPMd variant H (Ppmd7) via ``pyppmd``, with its parameters in the payload.

    Payload: ``order`` (1 byte; with bit 7 set in a primed payload, PPMD_FRESH_CODER) | model
    memory in MiB (LEB128 varint, 1-2 bytes) | the PPMd stream, which ends with PPMd's end mark and the
    coder's flush. The decoder reads exactly *size* symbols, then requires the end mark, every
    byte of the stream read and the range decoder's Code at 0: the encoder's one spelling
    (docs/FORMAT.md §7.3). With *verify*, every encoding is checked before it is returned: an
    encoding whose encode() calls each returned less than PPMD_BLOCK bytes lost nothing (see
    above); any other is decoded again, and one that does not round-trip raises
    :class:`BackendError` instead of being returned.
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
        """The payload for *data*; with *prime*, the model first learns *prime* by coding it, and
        the range coder then starts afresh on *data* (docs/FORMAT.md §7.5): the payload is an
        ordinary stream of a model that knows the primer. When the verify step decodes, it does so
        exactly as a decoder will. Raises :class:`BackendError` where this pyppmd's range coder
        cannot be restarted (the caller then codes the chunk another way)."""
        first = self.order | (PPMD_FRESH_CODER if prime else 0)
        pieces = self._code(self.order, self.memory_mib, prime, data, restart=bool(prime))
        payload = b"".join([bytes([first]), encode_varint(self.memory_mib), *pieces])
        if self.verify and not all(len(piece) < PPMD_BLOCK for piece in pieces):
            self.full_checks += 1
            try:
                good = self.decode_in_process(payload, len(data), prime) == data  # its own output
            except BackendError:
                good = False
            if not good:
                raise BackendError("PPMd output failed its round-trip check")
        return payload

    def _code(self, order: int, memory_mib: int, prime: bytes, data: bytes, *, restart: bool) -> list[bytes]:
        """What one encoder writes for *data* after it has coded *prime*, in the pieces its calls
        returned, the end mark and the flush included; what it wrote for *prime* is left out. With
        *restart*, its range coder restarts between the two, else (the primer format sigmalang
        wrote before, §7.5) it goes on."""
        encoder = pyppmd.Ppmd7Encoder(order, memory_mib << 20)
        blocks = _pyppmd.encoder_state(encoder, order, memory_mib << 20)
        try:
            self._feed(encoder, prime)  # the primer's output is not part of the payload
            if restart and not _pyppmd.restart_encoder(blocks):
                raise BackendError("this pyppmd's range coder cannot be restarted: PPMd cannot continue a context")
            pieces = self._feed(encoder, data)
            pieces.append(encoder.flush(endmark=True))
            return pieces
        finally:
            references = sys.getrefcount(encoder)
            del encoder
            _pyppmd.reclaim(blocks, references)  # what pyppmd does not free of an encoder (_pyppmd.py)

    def _primer(self, order: int, memory_mib: int, prime: bytes, *, flush: bool) -> bytes:
        """What an encoder writes for *prime* alone: with *flush*, the whole stream of *prime*
        without an end mark (a decoder learns the primer by decoding it), else only the bytes it
        has written when it has coded *prime* (the primer P of the earlier format, §7.5)."""
        encoder = pyppmd.Ppmd7Encoder(order, memory_mib << 20)
        blocks = _pyppmd.encoder_state(encoder, order, memory_mib << 20)
        try:
            pieces = self._feed(encoder, prime)
            if flush:
                pieces.append(encoder.flush(endmark=False))
            return b"".join(pieces)
        finally:
            references = sys.getrefcount(encoder)
            del encoder
            _pyppmd.reclaim(blocks, references)

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
        """The *size* bytes *data* encodes (after *prime*), decoded as :meth:`decode_in_process`
        does but in a fresh process, so that a fault of pyppmd's native code on a damaged or
        hostile payload cannot reach this one (:mod:`sigmalang._ppmd_guard`); in this process
        where that is not available."""
        from . import _ppmd_guard

        out = _ppmd_guard.decode(data, size, prime)
        return self.decode_in_process(data, size, prime) if out is None else out

    def decode_in_process(self, data: bytes, size: int, prime: bytes = b"") -> bytes:
        """The *size* bytes *data* encodes, after checking that *data* is exactly what the encoder
        writes for them (docs/FORMAT.md §7.3): one spelling, so a payload whose last bytes were
        altered, cut or extended is an error even where PPMd's range decoder would not notice.

        The check reads the range decoder's state (:mod:`sigmalang._pyppmd`): every byte read, none
        past the stream, Code 0. With a pyppmd whose decoder it cannot read, it encodes the output
        again and compares instead. With *prime*, the model first learns it: by decoding the
        encoder's flushed stream of it, after which the range decoder restarts on the payload's
        stream (bit 7 of the order byte set), or, in the earlier format, by decoding the bytes
        the encoder had written for it, which the payload's stream continues (§7.5). One model is
        allocated at a time; every decoder is drained before it is freed (:func:`_drain`).
        """
        order, memory_mib, fresh, start = self._parameters(data, bool(prime))
        stream = bytes(data[start:])  # bytes, to be joined with the primer and the runway
        try:
            primer = self._primer(order, memory_mib, prime, flush=fresh) if prime else b""
            out, checked = self._decode_stream(order, memory_mib, stream, size, prime, primer, fresh)
            if not checked and self._spelling(order, memory_mib, prime, out) != stream:
                raise BackendError("PPMd stream does not end where expected")
        except BackendError:
            raise
        except Exception as exc:  # pyppmd raises ValueError, PpmdError, MemoryError, ...
            raise BackendError(f"PPMd: {exc}") from None
        return out

    def _spelling(self, order: int, memory_mib: int, prime: bytes, out: bytes) -> bytes:
        """The stream the encoder writes for *out* after *prime* in the earlier primer format (or
        with no primer): the one-spelling check of a decoder that cannot read its range decoder."""
        return b"".join(self._code(order, memory_mib, prime, out, restart=False))

    @staticmethod
    def _decode_stream(
        order: int, memory_mib: int, stream: bytes, size: int, prime: bytes, primer: bytes, fresh: bool
    ) -> tuple[bytes, bool]:
        """The *size* symbols of *stream* (after learning *prime* from *primer*), then the end
        mark; and whether the one spelling was checked here (else the caller encodes again).

        The decoder is given its input followed by PPMD_RUNWAY zero bytes, so that a damaged stream
        that reads past its end finds bytes there instead of leaving pyppmd's decoding thread
        waiting for input, the state in which pyppmd 1.3.1 corrupts the heap (:func:`_drain`). A
        valid stream reads none of them.
        """
        coded = stream if fresh or not prime else primer + stream  # the range coder's stream
        if len(coded) < 5 or coded[0] != 0 or coded[1:5] == b"\xff\xff\xff\xff":
            raise BackendError("PPMd stream does not start with 00 and a code below FFFFFFFF")
        decoder = pyppmd.Ppmd7Decoder(order, memory_mib << 20)
        access = _pyppmd.decoder_access(decoder, order, memory_mib << 20)
        try:
            if fresh:
                if access is None:
                    raise BackendError("this pyppmd's range decoder cannot be restarted: primed PPMd cannot be decoded")
                rest = stream[5:] + _RUNWAY
                learnt = decoder.decode(primer + rest, len(prime))
                if learnt != prime or access.unread() != len(rest) or access.code() != 0:
                    raise BackendError("PPMd model could not learn its context")  # never with a valid primer
                access.restart(int.from_bytes(stream[1:5], "big"))
                out = decoder.decode(b"", size) if size else b""
            else:
                total = len(prime) + size
                out = decoder.decode(coded + _RUNWAY, total) if total else b""
                if len(out) == total and out[: len(prime)] != prime:
                    raise BackendError("PPMd stream does not continue its context")
                out = out[len(prime) :]
            if len(out) != size:
                raise BackendError(f"PPMd stream ends {size - len(out)} bytes early")
            more = b"" if out or prime else coded + _RUNWAY  # the first call must bring the input
            if decoder.decode(more, 1):
                raise BackendError("PPMd stream does not end where expected")
            if access is not None:
                if access.unread() != PPMD_RUNWAY or access.code() != 0:
                    raise BackendError("PPMd stream does not end where expected")
                return out, True
            if not decoder.eof or len(decoder.unused_data) != PPMD_RUNWAY:
                raise BackendError("PPMd stream does not end where expected")
            return out, False
        finally:
            _drain(decoder)
            unread = _pyppmd.decoder_input(decoder)  # what pyppmd keeps of the runway and never frees
            del access
            references = sys.getrefcount(decoder)
            del decoder
            _pyppmd.reclaim_input(unread, references)

    @staticmethod
    def _parameters(data: bytes, primed: bool = False) -> tuple[int, int, bool, int]:
        """Order, memory in MiB, whether the coder restarts after a primer, where the stream starts."""
        if not data:
            raise BackendError("PPMd payload is empty")
        order = data[0]
        fresh = primed and bool(order & PPMD_FRESH_CODER)
        order &= ~PPMD_FRESH_CODER if primed else 0xFF
        # 1-1024 takes 1 or 2 bytes (FORMAT.md §7.3): a longer or padded varint is an error, as a cut one
        memory_mib, start = read_varint(data, 1, 2, lambda _: BackendError("PPMd payload ends inside its parameters"))
        if not PPMD_MIN_ORDER <= order <= PPMD_MAX_ORDER or not 1 <= memory_mib <= PPMD_MAX_MEMORY_MIB:
            raise BackendError(f"PPMd parameters out of range: order {order}, {memory_mib} MiB")
        return order, memory_mib, fresh, start

    def memory_usage(self) -> int:
        """Bytes of model memory one encoder or decoder allocates."""
        return self.memory_mib << 20


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
