"""The operations the context-mixing kernel (:mod:`sigmalang._cm_kernel`) is built from, each
compiled inline into it: the hashes and contexts of docs/FORMAT.md §7.2, the word and line
histories, the slot hashes of a nibble and the slot search, the look-ahead at a byte's last bit,
the mixer's dot product and update, the clamps and the adaptive map update; and three LLVM
intrinsics: a prefetch hint (:func:`_prefetch`), the mixer's update as one vector operation
(:func:`_train_all`) and the three weight sets' dot products as vector operations (:func:`_dot3`).

numba's on-disk cache of the kernel is keyed by ``_cm_kernel.py``'s time stamp alone: after a
change here, delete that cache (``__pycache__``) or touch ``_cm_kernel.py``. The native kernel's
cache file (:mod:`sigmalang._cm_native`) is keyed by this file's content too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._cm import ANY, MIXER_SKIP, N_INPUTS, PARAGRAPHS, WEIGHT_LIMIT

# --- LLVM intrinsics ----------------------------------------------------------------------------


def _function(module: Any, fnty: Any, name: str) -> Any:
    """The LLVM function *name* (an intrinsic) declared in *module*."""
    return cgutils.get_or_insert_function(module, fnty, name)  # type: ignore[no-untyped-call]


def _prefetch_typing(typingctx: Any, arr: Any, index: Any) -> Any:
    """A hint that arr[index] will be read soon (LLVM's prefetch: read, high locality). It changes
    no value, and an address outside the array is harmless (a prefetch never faults); the kernel
    only passes indices it could also read."""
    sig = types.void(arr, index)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte_ptr = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr] + [ir.IntType(32)] * 3)
        fn = _function(builder.module, fnty, "llvm.prefetch.p0i8")
        address = builder.bitcast(builder.gep(data, [args[1]]), byte_ptr)
        i32 = ir.IntType(32)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


_prefetch: Any = intrinsic(_prefetch_typing)


# The mixer's update works on all N_INPUTS weights at once, and its dot products on all inputs of
# three weight sets: LLVM vector operations, which the compiler maps to the machine's SIMD
# instructions (it does not vectorise the plain loops by itself, since it cannot tell the weights
# and the inputs apart in memory). Integer results are exactly those of the scalar definitions in
# docs/FORMAT.md.
_I32, _I64 = ir.IntType(32), ir.IntType(64)
_V32 = ir.VectorType(_I32, N_INPUTS)


def _vector_at(context: Any, builder: Any, array_type: Any, array: Any, offset: Any) -> Any:
    """Pointer to the N_INPUTS int32 values array[offset : offset + N_INPUTS]."""
    data = context.make_array(array_type)(context, builder, array).data
    return builder.bitcast(builder.gep(data, [offset]), _V32.as_pointer())


def _train_all_typing(typingctx: Any, weights: Any, wbase: Any, x: Any, err: Any) -> Any:
    """weights[wbase + k] += (x[k] * err) >> 16, clamped to +-WEIGHT_LIMIT, for k below N_INPUTS, where
    *err* is the error times the learning rate. 32 bits suffice: |x| <= 2^11 and |err| < 2^12 * 40,
    and a weight stays within 2^23."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        w_ptr = _vector_at(context, builder, signature.args[0], args[0], args[1])
        w = builder.load(w_ptr, align=4)
        xs = builder.load(_vector_at(context, builder, signature.args[2], args[2], ir.Constant(_I64, 0)), align=4)
        e = builder.insert_element(ir.Constant(_V32, ir.Undefined), builder.trunc(args[3], _I32), ir.Constant(_I32, 0))
        e = builder.shuffle_vector(e, ir.Constant(_V32, ir.Undefined), ir.Constant(_V32, [0] * N_INPUTS))
        w = builder.add(w, builder.ashr(builder.mul(xs, e), ir.Constant(_V32, [16] * N_INPUTS)))
        hi = ir.Constant(_V32, [WEIGHT_LIMIT] * N_INPUTS)
        lo = ir.Constant(_V32, [-WEIGHT_LIMIT] * N_INPUTS)
        w = builder.select(builder.icmp_signed(">", w, hi), hi, w)
        w = builder.select(builder.icmp_signed("<", w, lo), lo, w)
        builder.store(w, w_ptr, align=4)
        return context.get_dummy_value()

    return types.void(weights, wbase, x, err), codegen


_train_all: Any = intrinsic(_train_all_typing)


def _dots_codegen(sets: int) -> Any:
    """The code of :func:`_dot3` (or :func:`_dot2`): *sets* weight sets' dot products with x."""

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        v64 = ir.VectorType(_I64, N_INPUTS)
        x_data = context.make_array(signature.args[-1])(context, builder, args[-1]).data
        xs = ir.Constant(_V32, ir.Undefined)
        for k in range(N_INPUTS):
            xk = builder.load_atomic(builder.gep(x_data, [ir.Constant(_I64, k)]), "unordered", 4)
            xs = builder.insert_element(xs, xk, ir.Constant(_I32, k))
        xs = builder.sext(xs, v64)
        fnty = ir.FunctionType(_I64, [v64])
        reduce = _function(builder.module, fnty, f"llvm.vector.reduce.add.v{N_INPUTS}i64")
        sums = []
        for j in range(1, sets + 1):
            w = builder.load(_vector_at(context, builder, signature.args[0], args[0], args[j]), align=4)
            sums.append(builder.call(reduce, [builder.mul(builder.sext(w, v64), xs)]))
        return context.make_tuple(builder, signature.return_type, sums)

    return codegen


def _dot3_typing(typingctx: Any, weights: Any, w1: Any, w2: Any, w3: Any, x: Any) -> Any:
    """(sum(x[k] * weights[w + k] for k below N_INPUTS) for w in (w1, w2, w3)): the three weight
    sets' dot products, each exact in 64 bits: every product is of two 32-bit values sign-extended
    to 64 bits, and the products are added in 64 bits. |x| <= 2^11 (stretched probabilities, the
    bias, and the match length input, at most 32 * 64) and |weight| < 2^23, so a product is below
    2^34 and a sum below 2^38; integer addition in any order gives the same sum. The products are
    vector operations (the compiler's 32 x 32 -> 64-bit multiplication, four at a time). The inputs
    are read one by one (unordered atomic loads, which the compiler does not merge into one vector
    load): they were just stored one by one, and a vector load of them would wait for those stores
    to reach the cache (about 10% of the coder's time). Touches weights[w : w + N_INPUTS] for each
    w, and x[0 : N_INPUTS]."""
    sig = types.UniTuple(types.int64, 3)(weights, w1, w2, w3, x)  # type: ignore[no-untyped-call]
    return sig, _dots_codegen(3)


def _dot2_typing(typingctx: Any, weights: Any, w1: Any, w2: Any, x: Any) -> Any:
    """:func:`_dot3` for two weight sets (w1, w2): the model without its third set. Touches
    weights[w : w + N_INPUTS] for each w, and x[0 : N_INPUTS]."""
    sig = types.UniTuple(types.int64, 2)(weights, w1, w2, x)  # type: ignore[no-untyped-call]
    return sig, _dots_codegen(2)


_dot3: Any = intrinsic(_dot3_typing)
_dot2: Any = intrinsic(_dot2_typing)


# --- numba functions ----------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _mix32(x: int) -> int:
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x297A2D39) & 0xFFFFFFFF
    x ^= x >> 13
    return x


@njit(cache=True, inline="always")
def _hash(a: int, b: int, k: int) -> int:
    return _mix32((_mix32((a + k * 0x3C6EF372) & 0xFFFFFFFF) + b) & 0xFFFFFFFF)


@njit(cache=True, inline="always")
def _slot_hashes(
    ctx: np.ndarray,
    active: np.ndarray,
    n_active: int,
    full: int,
    c0: int,
    hashes: np.ndarray,
    slots: np.ndarray,
    slot_mask: int,
    fetch: bool,
) -> None:
    """Each hashed component's slot hash for the nibble that starts at partial byte c0. Each lookup
    is likely a cache miss in a large table: with *fetch*, every component's slot group is
    requested here, so that the misses overlap, well before the slots are probed."""
    for k in range(n_active):
        h = _mix32((ctx[_ix(_context(k, active, full))] + c0 * 0x9E3779B1) & 0xFFFFFFFF)
        hashes[k] = h
        if fetch:
            _prefetch(slots, (h & slot_mask) << 4)


@njit(cache=True, inline="always")
def _context(k: int, active: np.ndarray, full: int) -> int:
    """The number (in HASHED_BIT's order) of the k-th hashed context in use: for any set (*full*
    ANY), active[k]; for a full set (FULL, a constant then) and level 4's (FAST) k; for the set of
    running text (PARAGRAPHS) k, past the column, field and indirect contexts (5, 6 and 7), which
    that set leaves out."""
    if full == ANY:
        return active[k]  # type: ignore[no-any-return]
    if full == PARAGRAPHS and k >= 5:
        return k + 3
    return k


@njit(cache=True, inline="always")
def _hashed_input(k: int) -> int:
    """HASHED_INPUT[k], the mixer input of hashed context k, by arithmetic: indexed with a variable,
    the tuple compiles to a jump table, an indirect branch for every component at every bit."""
    return k + 3 if k < 7 else k + 6


@njit(cache=True, inline="always")
def _followers(c4: int, t1: np.ndarray, t2: np.ndarray) -> int:
    """The indirect context's bytes for the next byte (model version 4): the byte that followed the
    last two bytes (c4's low 16 bits) the last time they were seen, and above it the byte that
    followed the last byte; 0 where none did (or before version 4, which keeps none)."""
    return np.int64(t2[_ix((c4 & 0xFFFF) << 8)]) | (np.int64(t1[_ix((c4 & 0xFF) << 8)]) << 8)  # type: ignore[return-value]


@njit(cache=True, inline="always")
def _contexts(
    c4: int,
    c8: int,
    word: int,
    word_prev: int,
    word_prev2: int,
    above: int,
    col: int,
    field: int,
    v3: bool,
    ind: int,
    ctx: np.ndarray,
    full: int,
    n_full: int,
) -> None:
    """The hashed components' contexts for the next byte (docs/FORMAT.md §7.2), into ctx[0:10]: c4
    and c8 are the last eight bytes, *word_prev2* the word before *word_prev*, *above* the byte above
    in the previous line, at column *col*; *v3*: model version 3 or later, whose third context is
    order 8 instead of 6; *ind*: the indirect context's bytes (:func:`_followers`). A copy for a
    full set (*full*, *n_full* as :func:`sigmalang._cm_kernel._model` takes them) computes only the
    contexts it reads (:func:`_reads`); the others keep what they held."""
    c1 = c4 & 0xFF
    ctx[0] = _hash(c4 & 0xFFFFFF, 0, 3)
    ctx[1] = _hash(c4, 0, 4)
    ctx[2] = _hash(c4, c8 if v3 else c8 & 0xFFFF, 6)
    if _reads(3, full, n_full):
        ctx[3] = _hash(word, c1 if word == 0 else 0, 7)
    if _reads(4, full, n_full):
        ctx[4] = _hash(word, word_prev, 8)
    if _reads(5, full, n_full):
        ctx[5] = _hash(above | (c1 << 8), min(col, 255), 9)
    if _reads(6, full, n_full):
        ctx[6] = _hash(field, c1 | (above << 8), 10)
    if _reads(7, full, n_full):
        ctx[7] = _hash(ind | (c1 << 16), 0, 13)
    if _reads(8, full, n_full):
        ctx[8] = _hash(c4, c8 & 0xFF, 14)
    if _reads(9, full, n_full):
        ctx[9] = _hash(word, word_prev2, 15)


@njit(cache=True, inline="always")
def _reads(i: int, full: int, n_full: int) -> bool:
    """Whether the copy of the model for *full* and *n_full* (constants where the kernel is compiled
    for a full set) reads hashed context i: the copy for any set (ANY) may read every one; a full
    set's copy (FULL) and level 4's (FAST) the first *n_full*; the copies for running text
    (PARAGRAPHS) the first five and, past the column, field and indirect contexts (5, 6 and 7) they
    leave out, the next n_full - 5 (:func:`_context`)."""
    if full == ANY:
        return True
    if full == PARAGRAPHS:
        return i < 5 or (i >= 8 and i - 3 < n_full)
    return i < n_full


@njit(cache=True, inline="always")
def _histories(
    byte: int,
    pos: int,
    word: int,
    word_prev: int,
    word_prev2: int,
    line_start: int,
    prev_line_start: int,
    field: int,
) -> tuple[int, int, int, int, int, int]:
    """The word and line histories after *byte*, at *pos*: (word, word_prev, word_prev2,
    line_start, prev_line_start, field)."""
    lower = byte | 32
    if 97 <= lower <= 122 or byte >= 128:
        word = _hash(word, lower, 12)
    elif word != 0:
        word_prev2 = word_prev
        word_prev = word
        word = 0
    if byte == 10:
        prev_line_start = line_start
        line_start = pos + 1
        field = 0
    elif byte == 32 or byte == 9 or byte == 44 or byte == 59 or byte == 124:
        field += 1
    return word, word_prev, word_prev2, line_start, prev_line_start, field


@njit(cache=True, inline="always")
def _walk(slots: np.ndarray, slot: np.ndarray, sm: np.ndarray, tree: np.ndarray, t: int) -> int:
    """The decoder's guess of the nibble whose slots were just found, for its look-ahead (prefetch
    only: no output depends on it): down the nibble's tree (*t*), at each node the likelier value by the
    state of the highest of the first three hashed contexts that has seen the nibble (order 8, 4
    or 3: a slot whose first node's state is not 0), as its state map gives it (the top bit of the
    22-bit probability); -1 where none has. The nodes read are 1 to 15, inside each slot. For the
    copies with every one of those three contexts, where the k-th is context k (state map 3 + k)."""
    k = 2
    while k >= 0 and slots[_ix(slot[k] + 1)] == 0:
        k -= 1
    if k < 0:
        return -1
    at = slot[k]
    base = (3 + k) << 8
    node = 1
    for _ in range(15):
        child = tree[_ix((((t << 4) | node) << 1) | (sm[_ix(base + slots[_ix(at + node)])] >> 31))] & 31
        if child >= 16:
            return int(child & 15)
        node = child
    return -1


@njit(cache=True, inline="always")
def _look_ahead(
    c0: int,
    pos: int,
    c4: int,
    c8: int,
    history: tuple[int, int, int, int, int, int],
    v3: bool,
    buf: np.ndarray,
    ahead: np.ndarray,
    active: np.ndarray,
    n_active: int,
    full: int,
    n_full: int,
    hashes: np.ndarray,
    slots: np.ndarray,
    match_table: np.ndarray,
    t1: np.ndarray,
    t2: np.ndarray,
    use2: int,
    y: int,
) -> None:
    """For the byte at *pos* whose first seven bits are *c0* (with its leading 1) and whose last
    bit is *y* (the byte as it is known, or as the model expects it): the next byte's contexts
    (into *ahead*, N_HASHED of them), their first nibble's slot hashes (into *hashes*, free once
    the byte's second nibble's slots are found), and a request for the tables they will read
    (those slot groups, the match table entry, and with *use2* the order-2 states). Those reads,
    likely cache misses, then overlap the byte's last bits instead of stalling the next byte's
    first; when the byte turns out otherwise, the byte boundary computes the contexts itself. *history* is
    (word, word_prev, word_prev2, line_start, prev_line_start, field) before the byte; *v3* as for
    :func:`_contexts`. In buf, the byte at *pos* is not yet written when decoding, nor in *t1* and
    *t2* as the follower of the bytes before it (version 4): where the next byte's indirect context
    reads the entry it will be written to, it takes the byte."""
    slot_mask = (slots.shape[0] >> 4) - 1
    byte = ((c0 << 1) | y) & 0xFF
    n4 = ((c4 << 8) | byte) & 0xFFFFFFFF
    n8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF
    _prefetch(match_table, _hash(n4, n8 & 0xFFFF, 11) & (match_table.shape[0] - 1))
    if use2:
        for j in range(4):
            _prefetch(t2, ((n4 & 0xFFFF) << 8) + j * 64)
    word, word_prev, word_prev2, line_start, prev_line_start, field = history
    word, word_prev, word_prev2, line_start, prev_line_start, field = _histories(
        byte, pos, word, word_prev, word_prev2, line_start, prev_line_start, field
    )
    col = pos + 1 - line_start
    above = 0
    if prev_line_start + col < line_start and (_reads(5, full, n_full) or _reads(6, full, n_full)):
        above = byte if prev_line_start + col == pos else buf[_ix(prev_line_start + col)]
    ind = 0
    if _reads(7, full, n_full):
        ind = _followers(n4, t1, t2)
        if (n4 & 0xFFFF) == (c4 & 0xFFFF):  # the last two bytes equal to this one
            ind = (ind & 0xFF00) | byte
        if byte == (c4 & 0xFF):
            ind = (ind & 0xFF) | (byte << 8)
    _contexts(n4, n8, word, word_prev, word_prev2, above, col, field, v3, ind, ahead, full, n_full)
    _slot_hashes(ahead, active, n_active, full, 1, hashes, slots, slot_mask, True)


@njit(cache=True, inline="always")
def _find_slots(
    hashes: np.ndarray, n_active: int, slots: np.ndarray, slot_mask: int, priority: np.ndarray, slot: np.ndarray
) -> None:
    """Each hashed component's slot for this nibble (byte offset in *slots*, into *slot*): of the
    slots b, b ^ 1 and b ^ 2 of its group (one 64-byte line), the one whose check byte matches,
    else the first of lowest priority, emptied and given the check byte."""
    for k in range(n_active):
        h = hashes[k]
        check = h >> 24
        g0 = (h & slot_mask) << 4
        g1 = g0 ^ 16
        g2 = g0 ^ 32
        if slots[_ix(g0)] == check:
            at = g0
        elif slots[_ix(g1)] == check:
            at = g1
        elif slots[_ix(g2)] == check:
            at = g2
        else:  # replace the first of lowest priority
            at = g0
            low = priority[_ix(slots[_ix(g0 + 1)])]
            pr = priority[_ix(slots[_ix(g1 + 1)])]
            if pr < low:
                low = pr
                at = g1
            if priority[_ix(slots[_ix(g2 + 1)])] < low:
                at = g2
            for j in range(16):
                slots[_ix(at + j)] = 0
            slots[_ix(at)] = check
        slot[k] = at


@njit(cache=True, inline="always")
def _ix(i: int) -> int:
    """A table index as an unsigned integer. Every index in the kernel is non-negative by
    construction; indexing with an unsigned value spares the negative-index wraparound numba
    otherwise compiles into every access (worth about 5% of the coder's time)."""
    return np.uint64(i)  # type: ignore[return-value]


@njit(cache=True, inline="always")
def _dot(weights: np.ndarray, wbase: int, x: np.ndarray) -> int:
    """sum(x[k] * weights[wbase + k] for k below N_INPUTS), in 64 bits. Scalar on purpose: the inputs
    were just stored one by one, and a vector load of them would wait for those stores to reach
    the cache (about 10% of the coder's time)."""
    acc = 0
    for k in range(N_INPUTS):
        acc += np.int64(x[k]) * weights[_ix(wbase + k)]
    return acc


@njit(cache=True, inline="always")
def _train(weights: np.ndarray, wbase: int, x: np.ndarray, err: int, lr: int) -> None:
    """One weight set moved along its inputs by the error at learning rate *lr* (16ths; skipped
    when the error is tiny). At lr = 16 this is (x * err) >> 12, the rate without component 12."""
    if -MIXER_SKIP <= err <= MIXER_SKIP:
        return
    _train_all(weights, wbase, x, err * lr)


@njit(cache=True, inline="always")
def _clamp_logit(d: int) -> int:
    """A mixer's output in the stretched domain, clamped to -2047..2047."""
    if d > 2047:
        return 2047
    if d < -2047:
        return -2047
    return d


@njit(cache=True, inline="always")
def _clamp_weight(w: int) -> int:
    if w > WEIGHT_LIMIT:
        return WEIGHT_LIMIT
    if w < -WEIGHT_LIMIT:
        return -WEIGHT_LIMIT
    return w


@njit(cache=True, inline="always")
def _update(entry: int, y: int, limit: int, rate: np.ndarray) -> int:
    """An adaptive map entry (22-bit probability p above a 10-bit count n) moved toward bit *y*: p by
    (((y << 22) - p) * rate[n]) >> 17, and n by one while below *limit*. The step is added to the
    entry as it is, shifted above the count, instead of taking the entry apart and joining p and n
    again: the low 10 bits of a value shifted left by 10 are zero, so adding n (below 1024, as
    *limit* is) gives the same bits as or-ing it in, whatever the sign of the step. (y << 22) - p is
    taken from the entry as it is too: ((y << 32) + 1023 - entry) >> 10 is (y << 22) - p plus
    (1023 - n) >> 10, which is 0 (one constant per bit for every map, where p needs a shift)."""
    e: int = np.int64(entry)  # type: ignore[assignment]
    n = e & 1023
    step = (((((y << 32) | 1023) - e) >> 10) * rate[_ix(n)]) >> 17
    return int(e + (step << 10) + (1 if n < limit else 0))
