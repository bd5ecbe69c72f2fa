"""Give back the memory pyppmd's ``Ppmd7Encoder`` forgets to free.

pyppmd (1.3.1 and the releases before it) allocates two blocks with ``PyMem_Malloc`` when a
``Ppmd7Encoder`` is initialised: the PPMd state (``CPpmd7``, about 19 KiB, mostly its binary
context statistics) and the range coder (40 bytes). Its deallocator frees the model arena inside
the state but neither block, so every encoder leaks about 19 KiB. ΣLANG makes one encoder per
chunk, so a process's memory grew with its input: 20 MiB per GiB at 1 MiB chunks (docs/memory.md).

This module frees the two blocks after the encoder is gone, and only when it is safe to:

* once per process, a probe checks with :mod:`tracemalloc` that deleting an encoder really does
  leave the state allocated (a pyppmd that fixes the leak turns the reclaim off by itself, so
  nothing is ever freed twice);
* the object must have the layout the pointers are read from (the object header, then the lock,
  state and coder pointers: checked through the type's size), and each state block must hold the
  model order and memory size the encoder was built with (checked on every encoder);
* the caller frees only when it holds the last reference to the encoder (``reclaim`` checks the
  reference count), so the encoder's own deallocator has run before its blocks are freed.

Anything unexpected turns the reclaim off for that encoder or the process and the leak simply
stays; nothing else changes. The regression test is ``tests/test_backends.py`` (encoder leak).

A ``Ppmd7Decoder`` leaks too: the input a call leaves unread is copied into a block its
deallocator never frees. The backend gives each decoder its stream followed by a runway of zero
bytes (:mod:`sigmalang._backend_ppmd`), so that block held the runway, 64 KiB per PPMd frame
decoded. :func:`decoder_input` and :func:`reclaim_input` free it the same way, after a probe
(:func:`reclaim_input_enabled`) has seen, with :mod:`tracemalloc`, that a deleted decoder leaves it.

It also reaches the two range coders, which pyppmd's API does not expose (docs/FORMAT.md §7.3,
§7.5; docs/ppmd.md):

* :func:`restart_encoder` puts an encoder's range coder back in its initial state while its model
  keeps what it has learnt: how a frame that continues a shared context is coded;
* :class:`DecoderAccess` reads a decoder's *Code* and how much of its input it has not read (the
  one-spelling check without encoding again), and restarts its range decoder on a new stream.

Both are used only when :func:`coders_enabled` holds: once per process, a probe codes a fixed
primer and text and must get the known bytes below (the PPMd algorithm's output, the same in any
correct implementation), decode them back, and read the *Code* values a correct range decoder
has. Each object is also checked (type size, model order and size) before its fields are used.
Where the probe fails, the backend falls back to what the public API allows.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import pyppmd

__all__ = [
    "DecoderAccess",
    "coders_enabled",
    "decoder_access",
    "decoder_input",
    "encoder_state",
    "reclaim",
    "reclaim_enabled",
    "reclaim_input",
    "reclaim_input_enabled",
    "restart_encoder",
]

T = TypeVar("T")
_POINTER = ctypes.sizeof(ctypes.c_void_p)
_HEADER = object.__basicsize__
# PyObject_HEAD, then: PyThread_type_lock lock; CPpmd7 *cPpmd7; CPpmd7z_RangeEnc *rangeEnc;
# char inited, flushed (padded to a pointer).
_STATE_OFFSET = _HEADER + _POINTER
_CODER_OFFSET = _HEADER + 2 * _POINTER
_EXPECTED_SIZE = _HEADER + 4 * _POINTER
# Inside CPpmd7: three pointers, then unsigned OrderFall, InitEsc, PrevSuccess, MaxOrder,
# HiBitsFlag; Int32 RunLength, InitRL; UInt32 Size.
_MAX_ORDER_OFFSET = 3 * _POINTER + 12
_SIZE_OFFSET = 3 * _POINTER + 28
# What must stay allocated after an encoder is deleted for the probe to call it a leak: the
# state's BinSumm table alone is 16 KiB.
_LEAK_AT_LEAST = 16 << 10

_PyMem_Free = ctypes.pythonapi.PyMem_Free
_PyMem_Free.argtypes = [ctypes.c_void_p]
_PyMem_Free.restype = None

# Ppmd7Decoder: PyObject_HEAD; char *input_buffer; size_t input_buffer_size, in_begin, in_end;
# PyThread_type_lock lock; CPpmd7 *cPpmd7; CPpmd7z_RangeDec *rangeDec; BlocksOutputBuffer *;
# PyObject *unused_data; char needs_input, eof (padded to a pointer); OutBuffer *out; char inited,
# inited2 (padded).
_DECODER_SIZE = _HEADER + 12 * _POINTER
_INPUT_OFFSET, _INPUT_SIZE_OFFSET = _HEADER, _HEADER + _POINTER
_IN_BEGIN_OFFSET = _HEADER + 2 * _POINTER
_IN_END_OFFSET = _HEADER + 3 * _POINTER
_DECODER_STATE_OFFSET = _HEADER + 5 * _POINTER
_DECODER_CODER_OFFSET = _HEADER + 6 * _POINTER
_EOF_OFFSET = _HEADER + 9 * _POINTER + 1
# CPpmd7z_RangeDec: UInt32 Range, Code; IByteIn *Stream.
_RANGE_OFFSET, _CODE_OFFSET = 0, 4
# CPpmd7z_RangeEnc: UInt64 Low; UInt32 Range; Byte Cache; UInt64 CacheSize; IByteOut *Stream.
_LOW_OFFSET, _ENC_RANGE_OFFSET, _CACHE_OFFSET, _CACHE_SIZE_OFFSET = 0, 8, 12, 16

_lock = threading.Lock()
_input_lock = threading.Lock()
_input_enabled: bool | None = None  # None until probed
_coders_lock = threading.Lock()  # another lock: the coders' probe reclaims, which may probe the leak
_enabled: bool | None = None  # None until probed
_coders: bool | None = None  # None until probed


def encoder_state(encoder: object, order: int, memory: int) -> tuple[int, int] | None:
    """The addresses of *encoder*'s state and coder blocks, or ``None`` when they cannot be
    trusted (unexpected layout, or fields that do not match *order* and *memory*)."""
    if sys.implementation.name != "cpython" or type(encoder).__basicsize__ != _EXPECTED_SIZE:
        return None
    base = id(encoder)
    state = ctypes.c_void_p.from_address(base + _STATE_OFFSET).value
    coder = ctypes.c_void_p.from_address(base + _CODER_OFFSET).value
    if not state or not coder:
        return None
    if ctypes.c_uint32.from_address(state + _MAX_ORDER_OFFSET).value != order:
        return None
    if ctypes.c_uint32.from_address(state + _SIZE_OFFSET).value != memory:
        return None
    return state, coder


def _kept(make: Callable[[], tuple[object, T]]) -> tuple[T, int]:
    """Make a pyppmd object with *make* (which returns it and what it read from it), delete it,
    and return what was read and how many bytes of traced memory it left allocated."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made, read = make()
        del made
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started:
            tracemalloc.stop()
    return read, kept


def _once(lock: threading.Lock, current: Callable[[], bool | None], probe: Callable[[], bool]) -> bool:
    """*probe*'s answer, computed by one thread (the first to find *current* unset); any surprise
    from pyppmd counts as False."""
    with lock:
        value = current()
        if value is None:
            try:
                value = probe()
            except Exception:
                value = False
    return value


def _probe() -> bool:
    """Whether deleting a ``Ppmd7Encoder`` leaves its state allocated in this pyppmd."""
    order, memory = 2, 1 << 11  # the smallest model pyppmd allows

    def make() -> tuple[object, tuple[int, int] | None]:
        encoder = pyppmd.Ppmd7Encoder(order, memory)
        return encoder, encoder_state(encoder, order, memory)

    blocks, leaked = _kept(make)
    if blocks is None or leaked < _LEAK_AT_LEAST:
        return False
    for address in blocks:
        _PyMem_Free(address)
    return True


def decoder_input(decoder: object) -> int | None:
    """The address of *decoder*'s block of unread input (read after its last ``decode()`` call),
    or ``None`` when it has none or its layout is not the expected one."""
    if sys.implementation.name != "cpython" or type(decoder).__basicsize__ != _DECODER_SIZE:
        return None
    base = id(decoder)
    address = ctypes.c_void_p.from_address(base + _INPUT_OFFSET).value
    size = ctypes.c_size_t.from_address(base + _INPUT_SIZE_OFFSET).value
    end = ctypes.c_size_t.from_address(base + _IN_END_OFFSET).value
    if not address or size == 0 or end > size:
        return None
    return int(address)


def reclaim_input(address: int | None, references: int) -> None:
    """Free a decoder's block of unread input (from :func:`decoder_input`) once the decoder has
    been deleted: *references* is ``sys.getrefcount(decoder)`` taken right before the caller's
    ``del``, and the block is freed only if that dropped the last reference (a count of 2)."""
    if address is None or references != 2 or not reclaim_input_enabled():
        return
    _PyMem_Free(address)


def _probe_input() -> bool:
    """Whether deleting a ``Ppmd7Decoder`` leaves its block of unread input allocated (and if so,
    frees the probe's own)."""
    unread = 1 << 20

    def make() -> tuple[object, int | None]:
        decoder = pyppmd.Ppmd7Decoder(2, 1 << 11)  # the smallest model pyppmd allows
        decoder.decode(bytes(5 + unread), 1)  # one symbol: the rest of the input stays unread
        return decoder, decoder_input(decoder)

    address, kept = _kept(make)
    if address is None or kept < unread:
        return False
    _PyMem_Free(address)
    return True


def reclaim_input_enabled() -> bool:
    """Whether this process frees the unread input that pyppmd's decoders leave behind (probed once)."""
    global _input_enabled
    if _input_enabled is None:
        _input_enabled = _once(_input_lock, lambda: _input_enabled, _probe_input)
    return _input_enabled


def reclaim_enabled() -> bool:
    """Whether this process frees what pyppmd's encoders leave behind (probed once)."""
    global _enabled
    if _enabled is None:
        _enabled = _once(_lock, lambda: _enabled, _probe)
    return _enabled


def reclaim(blocks: tuple[int, int] | None, references: int) -> None:
    """Free *blocks* (from :func:`encoder_state`) of an encoder that has just been deleted.

    The caller passes ``sys.getrefcount(encoder)`` taken right before its ``del encoder``; the
    blocks are freed only if that ``del`` dropped the last reference (a count of 2: the caller's
    name and getrefcount's argument), so the deallocator, which reads the state, has run.
    """
    if blocks is None or references != 2 or not reclaim_enabled():
        return
    for address in blocks:
        _PyMem_Free(address)


def _state_matches(state: int | None, order: int, memory: int) -> bool:
    return bool(state) and (
        ctypes.c_uint32.from_address(state + _MAX_ORDER_OFFSET).value == order  # type: ignore[operator]
        and ctypes.c_uint32.from_address(state + _SIZE_OFFSET).value == memory  # type: ignore[operator]
    )


def _restart_coder(coder: int) -> None:
    """A range encoder's initial state (Low 0, Range 0xFFFFFFFF, Cache 0, CacheSize 1)."""
    ctypes.c_uint64.from_address(coder + _LOW_OFFSET).value = 0
    ctypes.c_uint32.from_address(coder + _ENC_RANGE_OFFSET).value = 0xFFFFFFFF
    ctypes.c_uint8.from_address(coder + _CACHE_OFFSET).value = 0
    ctypes.c_uint64.from_address(coder + _CACHE_SIZE_OFFSET).value = 1


def restart_encoder(blocks: tuple[int, int] | None) -> bool:
    """Put the range encoder of an encoder (*blocks* from :func:`encoder_state`) back in its initial
    state, its model untouched: what it has written stays written, what it held back (Low, Cache
    and the pending bytes) is dropped, and the next bytes it writes start a new range-coded stream
    (docs/FORMAT.md §7.5). False, and nothing changed, where that cannot be done safely."""
    if blocks is None or not coders_enabled():
        return False
    _restart_coder(blocks[1])
    return True


class DecoderAccess:
    """The range decoder of one live ``Ppmd7Decoder``, between two ``decode()`` calls (the decoding
    thread has then finished). Holds a reference to the decoder."""

    __slots__ = ("_base", "_coder", "decoder")

    def __init__(self, decoder: object, coder: int) -> None:
        self.decoder = decoder
        self._base = id(decoder)
        self._coder = coder

    def unread(self) -> int:
        """Bytes of the input given so far that the range decoder has not read."""
        begin = ctypes.c_size_t.from_address(self._base + _IN_BEGIN_OFFSET).value
        end = ctypes.c_size_t.from_address(self._base + _IN_END_OFFSET).value
        return end - begin

    def code(self) -> int:
        """The range decoder's *Code*: the bytes read, as a number, less the encoder's *Low*
        (docs/FORMAT.md §7.3); 0 after the last symbol of a stream in its one spelling."""
        return ctypes.c_uint32.from_address(self._coder + _CODE_OFFSET).value

    def restart(self, code: int) -> None:
        """Start the range decoder on a new stream whose first five bytes, ``00`` and *code*
        big-endian, the caller has read: Range 0xFFFFFFFF, Code *code*, as 7-Zip's
        ``RangeDec_Init`` leaves them. The model keeps what it has learnt. pyppmd's *eof* flag,
        which it sets whenever Code is 0 after a call, is cleared."""
        ctypes.c_uint32.from_address(self._coder + _RANGE_OFFSET).value = 0xFFFFFFFF
        ctypes.c_uint32.from_address(self._coder + _CODE_OFFSET).value = code
        ctypes.c_uint8.from_address(self._base + _EOF_OFFSET).value = 0


def decoder_access(decoder: object, order: int, memory: int) -> DecoderAccess | None:
    """A :class:`DecoderAccess` for *decoder* (a ``Ppmd7Decoder`` of *order* and *memory*), or
    ``None`` when its fields cannot be trusted."""
    if not coders_enabled():
        return None
    return _access(decoder, order, memory)


def _access(decoder: object, order: int, memory: int) -> DecoderAccess | None:
    if sys.implementation.name != "cpython" or type(decoder).__basicsize__ != _DECODER_SIZE:
        return None
    base = id(decoder)
    state = ctypes.c_void_p.from_address(base + _DECODER_STATE_OFFSET).value
    coder = ctypes.c_void_p.from_address(base + _DECODER_CODER_OFFSET).value
    if not coder or not _state_matches(state, order, memory):
        return None
    return DecoderAccess(decoder, coder)


# The probe's known answer: with order 4 and 1 MiB, the model that has coded _PROBE_PRIMER codes
# _PROBE_TEXT, from a range coder in its initial state, as _PROBE_PRIMED; the same coder flushed
# (no end mark) after the primer alone writes _PROBE_PRIMER_CODED; a fresh model codes the text
# as _PROBE_PLAIN. Any correct Ppmd7 and 7z range coder gives these bytes.
_PROBE_ORDER, _PROBE_MEMORY = 4, 1 << 20
_PROBE_PRIMER = b"sigmalang primes a model with the history; " * 3
_PROBE_TEXT = b"a model primed with the history codes it shorter\n"
_PROBE_PRIMED = bytes.fromhex("00da73386122592ec016a8b2d7397678efd8d32eb61800")
_PROBE_PRIMER_CODED = bytes.fromhex(
    "0072f46aa588f66dfc2ad410ef7a7a8cd4a0b20219bcbcf58c11ce0063a8f5a8623472d0cfaf92651b3b00000000"
)
_PROBE_PLAIN = bytes.fromhex(
    "0060bf13489cc1d8ac7fac7fb941f574d842af24ac9297f69bfacbdda9da6062daac9214f303c229c4806d1800"
)
_PROBE_RUNWAY = bytes(64)


def _probe_coders() -> bool:
    """Whether restarting an encoder and reading and restarting a decoder do what they must."""
    order, memory = _PROBE_ORDER, _PROBE_MEMORY
    encoder = pyppmd.Ppmd7Encoder(order, memory)
    blocks = encoder_state(encoder, order, memory)
    if blocks is None:
        return False
    encoder.encode(_PROBE_PRIMER)
    _restart_coder(blocks[1])
    primed = encoder.encode(_PROBE_TEXT) + encoder.flush(endmark=True)
    references = sys.getrefcount(encoder)
    del encoder
    reclaim(blocks, references)
    if primed != _PROBE_PRIMED:
        return False
    # A stream in its one spelling ends with Code 0 and every byte read; one whose last byte is
    # one more decodes alike and ends with Code 1.
    for last, code in ((0, 0), (1, 1)):
        stream = _PROBE_PLAIN[:-1] + bytes([_PROBE_PLAIN[-1] + last])
        decoder = pyppmd.Ppmd7Decoder(order, memory)
        access = _access(decoder, order, memory)
        if access is None or decoder.decode(stream + _PROBE_RUNWAY, len(_PROBE_TEXT)) != _PROBE_TEXT:
            return False
        if decoder.decode(b"", 1) != b"" or access.unread() != len(_PROBE_RUNWAY) or access.code() != code:
            return False
    # The model learns the primer from its flushed coding, then the decoder restarts on the
    # primed stream.
    decoder = pyppmd.Ppmd7Decoder(order, memory)
    access = _access(decoder, order, memory)
    rest = _PROBE_PRIMED[5:] + _PROBE_RUNWAY
    if access is None or decoder.decode(_PROBE_PRIMER_CODED + rest, len(_PROBE_PRIMER)) != _PROBE_PRIMER:
        return False
    if access.unread() != len(rest) or access.code() != 0:
        return False
    access.restart(int.from_bytes(_PROBE_PRIMED[1:5], "big"))
    if decoder.eof or decoder.decode(b"", len(_PROBE_TEXT)) != _PROBE_TEXT or decoder.decode(b"", 1) != b"":
        return False
    return access.unread() == len(_PROBE_RUNWAY) and access.code() == 0


def coders_enabled() -> bool:
    """Whether this process may use :func:`restart_encoder` and :func:`decoder_access` (probed once)."""
    global _coders
    if _coders is None:
        _coders = _once(_coders_lock, lambda: _coders, _probe_coders)  # else the public API only
    return _coders
