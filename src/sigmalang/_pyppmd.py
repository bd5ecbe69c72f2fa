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
"""

from __future__ import annotations

import ctypes
import sys
import threading
import tracemalloc

import pyppmd

__all__ = ["encoder_state", "reclaim", "reclaim_enabled"]

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

_lock = threading.Lock()
_enabled: bool | None = None  # None until probed


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


def _probe() -> bool:
    """Whether deleting a ``Ppmd7Encoder`` leaves its state allocated in this pyppmd."""
    order, memory = 2, 1 << 11  # the smallest model pyppmd allows
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        encoder = pyppmd.Ppmd7Encoder(order, memory)
        blocks = encoder_state(encoder, order, memory)
        del encoder
        leaked = tracemalloc.get_traced_memory()[0] - before
    finally:
        if started:
            tracemalloc.stop()
    if blocks is None or leaked < _LEAK_AT_LEAST:
        return False
    for address in blocks:
        _PyMem_Free(address)
    return True


def reclaim_enabled() -> bool:
    """Whether this process frees what pyppmd's encoders leave behind (probed once)."""
    global _enabled
    if _enabled is None:
        with _lock:
            if _enabled is None:
                _enabled = _probe()
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
