"""The context-mixing model's compiled kernel (numba): one function, :func:`_run`, both encodes and
decodes, following docs/FORMAT.md §7.2 step by step (the model itself is :func:`_model`, compiled
for each full component set, the sets of running text, level 4's set and any set); the operations
it is built from, each compiled inline into it, are in :mod:`sigmalang._cm_ops`; the tables and constants it uses are in
:mod:`sigmalang._cm`, which also loads the compiled code (see :mod:`sigmalang._cm_native`).

Safety without bounds checks (numba compiles none): every table index is reduced by a mask or
taken from a value whose range the table was sized for, whatever the input bytes are. The tests
also run the kernel with ``NUMBA_BOUNDSCHECK=1``, which does not reach inside the vector
operations of the mixer's update and dot products (:func:`~sigmalang._cm_ops._train_all`,
:func:`~sigmalang._cm_ops._dot3`, :func:`~sigmalang._cm_ops._dot2`): they touch weights[F : F + N]
for a weight set's start F (a multiple of N = N_INPUTS below the table's end) and the N inputs.
The copies for running text name their hashed contexts by :func:`~sigmalang._cm_ops._context`,
below N_HASHED for every k below their n_full (level 4's copy: k itself, below 3). The decoder's
guess in the copies for running text (:func:`~sigmalang._cm_ops._walk`) reads nodes 1-15 of the
slots just found for orders 3, 4 and 8 and entries of their state maps (below 6 × 256): in range
by construction, and not reached by the bounds-checked tests (numba's dispatcher runs those sets
on the copy for any set, which makes no such guess). The byte trees' table (*tree*, TREE_SIZE entries) is read
at ((t << 4 | n) << 1 | y) for a tree t of at most 16 and a node n of at most 15 (each taken from
an entry by a mask), and at TREE_PATHS + (t << 4) + a nibble: in range by construction; the table
comes from :func:`sigmalang._cm.tree_table`, whose trees (checked) lead every nibble to a leaf in at
most 15 decisions. Prefetch hints
(:func:`~sigmalang._cm_ops._prefetch`) read nothing and cannot fault. The kernel allocates nothing:
its caller passes every table and working array.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._cm import (
    ANY,
    APM_RATE,
    C_KNOWN,
    C_MATCH,
    C_MIXER2,
    C_MIXER3,
    C_ORDER1,
    C_ORDER2,
    C_RATE,
    COMPONENTS_ALL,
    COMPONENTS_V3,
    COMPONENTS_V4,
    FAST,
    FINAL_RATE,
    FINAL_WEIGHTS,
    FULL,
    HASHED_BIT,
    HASHED_INPUT,
    LR_END,
    LR_START,
    LR_STEP,
    MATCH_INPUT,
    MATCH_INPUT_MAX,
    MATCH_MIN,
    MIXER_SETS,
    N_HASHED,
    N_INPUTS,
    PARAGRAPHS,
    STATE_MAP_LIMIT,
    STATE_SIZE,
    THIRD_SETS,
    TREE_PATHS,
)
from ._cm_ops import (
    _clamp_logit,
    _clamp_weight,
    _context,
    _contexts,
    _dot,
    _dot2,
    _dot3,
    _find_slots,
    _followers,
    _hash,
    _hashed_input,
    _histories,
    _ix,
    _look_ahead,
    _prefetch,
    _reads,
    _slot_hashes,
    _train,
    _update,
    _walk,
)

# --- the kernel ---------------------------------------------------------------------------------


@njit(cache=True)
def _run(
    buf: np.ndarray,
    start: int,
    decoding: bool,
    payload: np.ndarray,
    out: np.ndarray,
    components: int,
    version: int,
    slots: np.ndarray,
    t1: np.ndarray,
    t2: np.ndarray,
    match_table: np.ndarray,
    apm: np.ndarray,
    sm: np.ndarray,
    weights: np.ndarray,
    squash: np.ndarray,
    stretch: np.ndarray,
    state_next: np.ndarray,
    priority: np.ndarray,
    rate: np.ndarray,
    scratch: np.ndarray,
    maps: np.ndarray,
    x: np.ndarray,
    cost_of: np.ndarray,
    costs: np.ndarray,
    state: np.ndarray,
    tree: np.ndarray,
) -> int:
    """Model buf[0:start] (no coding), then code buf[start:]: encode into *out*, or decode from
    *payload* into buf. Returns the bytes written (encoding) or -1 if *out* is too small; when
    decoding, 0 if the payload was consumed exactly, else -2 (damage). The tables come zeroed or
    initialised (:func:`code`); so do the small working arrays: *scratch* (int64, 8 rows of
    N_HASHED), *maps* (uint32, the order-0 map then the match model's map, 256 + 64 entries at
    2^31) and *x* (int32, N_INPUTS): the kernel allocates nothing. *cost_of* and *costs* are for
    inspection and change no output byte: see :func:`sigmalang._cm.code`.

    *state* (int64, STATE_SIZE entries, or empty) carries the model between two calls: at the end
    the kernel stores there the position it reached and the model's state between bytes (the
    histories and the match), and a call whose state[0] is 1 starts from them at that position
    instead of from byte 0, with the tables as the earlier call left them (the caller copies them):
    a primer modelled once serves many frames (:func:`sigmalang._cm.prime`). The stored values are
    checked against the buffer before they are used (-3 if they do not fit it).

    The full component set of model version 5 (levels 7-9) has a copy of the model compiled for it
    alone: with the set known when compiling, the component loops have fixed bounds and fixed
    offsets (about 10% faster). So have the full set of version 4 (nine hashed contexts: levels 5
    and 6) and that of versions 2 and 3 (seven), which levels 5-9 wrote before version 4, the
    version read at run time. The native kernel also has copies for the sets writers use for
    running text, the full sets of versions 4 and 5 without the column, field and indirect contexts
    and the third weight set (sigmalang._cm.PARAGRAPH_OFF), and one for level 4's set in version 2
    (sigmalang._cm.COMPONENTS_FAST), which this function runs on the path for any set. Every copy
    comes from :func:`_model` and codes the same bytes (:func:`sigmalang._cm.full_copy` names them)."""
    tables = (slots, t1, t2, match_table, apm, sm, weights, squash, stretch)
    work = (state_next, priority, rate, scratch, maps, x, cost_of, costs, state, tree)
    if components == COMPONENTS_ALL and version >= 5:
        return _model(buf, start, decoding, payload, out, COMPONENTS_ALL, version, FULL, N_HASHED, tables, work)
    if components == COMPONENTS_V4 and version >= 4:
        return _model(buf, start, decoding, payload, out, COMPONENTS_V4, version, FULL, 9, tables, work)
    if components == COMPONENTS_V3 and (version == 2 or version == 3):
        return _model(buf, start, decoding, payload, out, COMPONENTS_V3, version, FULL, 7, tables, work)
    return _model(buf, start, decoding, payload, out, components, version, ANY, 0, tables, work)


@njit(cache=True, inline="always")
def _model(
    buf: np.ndarray,
    start: int,
    decoding: bool,
    payload: np.ndarray,
    out: np.ndarray,
    components: int,
    version: int,
    full: int,
    n_full: int,
    tables: tuple[np.ndarray, ...],
    work: tuple[np.ndarray, ...],
) -> int:
    """:func:`_run`'s model; *full* (a constant where it is called) says that *components* is any
    set (ANY), or (a constant then too) the full set of its version, whose first *n_full* hashed
    contexts are all on (FULL), or the set of running text (PARAGRAPHS: the full set of version 4
    or 5 without the column, field and indirect contexts and the third weight set; *n_full*
    contexts, the first five and those after the three it leaves out), or level 4's set in
    version 2 (FAST: orders 1-6, the match model and the rate schedule, one weight set; *n_full*
    is 3)."""
    slots, t1, t2, match_table, apm, sm, weights, squash, stretch = tables
    state_next, priority, rate, scratch, maps, x, cost_of, costs, state, tree = work
    end = buf.shape[0]
    slot_mask = (slots.shape[0] >> 4) - 1
    match_mask = match_table.shape[0] - 1
    t0 = maps[0:256]
    match_sm = maps[256:320]

    active = scratch[0:N_HASHED]  # the hashed components in use
    x_at = scratch[N_HASHED : 2 * N_HASHED]  # their mixer inputs
    sm_at = scratch[2 * N_HASHED : 3 * N_HASHED]  # and where their state maps start in sm
    n_active = n_full if full else 0  # a full set's: n_full contexts, each named by _context
    for i in range(0 if full else N_HASHED):
        if (components >> HASHED_BIT[i]) & 1:
            active[n_active] = i
            x_at[n_active] = HASHED_INPUT[i]
            sm_at[n_active] = (3 + i) << 8
            n_active += 1
    use1 = 1 if full else (components >> C_ORDER1) & 1
    use2 = 1 if full else (components >> C_ORDER2) & 1
    use_match = 1 if full else (components >> C_MATCH) & 1
    use_mixer2 = 0 if full == FAST else (1 if full else (components >> C_MIXER2) & 1)
    use_known = 0 if full == FAST else (1 if full else (components >> C_KNOWN) & 1)
    use_rate = 1 if full else (components >> C_RATE) & 1
    use_mixer3 = 0 if full == FAST else (components >> C_MIXER3) & 1  # a constant in every copy for a full set too
    sets = full == FULL or full == PARAGRAPHS  # the weight sets computed at once below
    lr = 16
    wbase2 = 0
    p_mix2 = 2048
    dot1 = 0
    dot2 = 0
    # Each version's changes below are constants in the copies for a full set where every version
    # that copy runs has them (:func:`_run` chooses a copy by version too): the copies with nine or
    # more hashed contexts run versions 4 and 5 only, the one with seven versions 2 and 3.
    # Version 2: the final mixer (its weights, three per partial byte, after the weight sets), the
    # APM's precision (22 bits, 16 after interpolation) and the coder's (16-bit probabilities).
    v2 = full or version >= 2
    # Version 3: the order-8 context in place of order 6, and the match length as a 13th input.
    v3 = full != FAST and ((full == FULL and n_full >= 9) or full == PARAGRAPHS or version >= 3)
    # Version 4: the bytes that last followed each order-2 and order-1 context are kept (in the
    # entries of T2 and T1 no state uses), for the indirect context.
    v4 = full != FAST and ((full == FULL and n_full >= 9) or full == PARAGRAPHS or version >= 4)
    use_final = v2 and (use_mixer2 or use_mixer3)
    final_base = weights.shape[0] - FINAL_WEIGHTS
    wf = 0
    dot3 = 0
    p_mix3 = 2048
    wbase3 = 0
    apm_bits = 22 if v2 else 16
    p_bits = 16 if v2 else 12
    p_max = (1 << p_bits) - 1
    # Inspection only: each byte's cost added to costs[pos] when costs is as long as buf (see
    # sigmalang._cm.code), from cost_of (4096 entries) at the probability of the actual bit.
    track = costs.shape[0] == end and cost_of.shape[0] == 4096

    ctx = scratch[3 * N_HASHED : 4 * N_HASHED]  # context hash of each hashed component, per byte
    slot = scratch[4 * N_HASHED : 5 * N_HASHED]  # byte offset of each component's current slot
    hashes = scratch[5 * N_HASHED : 6 * N_HASHED]  # each component's slot hash for this nibble
    # x: the mixer inputs (stretched: |x| < 2^11)
    st = scratch[6 * N_HASHED : 7 * N_HASHED]  # byte offset in slots of each hashed component's state
    # The next byte's context hashes, computed before the byte ends for the byte it is known or
    # expected to be (so that their slot groups can be requested early), then taken at the byte
    # boundary if the byte is that one (guess_byte).
    ahead = scratch[7 * N_HASHED : 8 * N_HASHED]
    guess_byte = -1  # the byte whose next contexts are in *ahead*
    guess = -1  # the byte as known or expected at the nibble boundaries (-1: none)
    guess4 = 0  # the c0 at the second nibble's boundary whose slot hashes are in *hashes* (0: none)
    st1 = 0  # index in t1 of the order-1 state
    st2 = 0  # index in t2 of the order-2 state

    x1 = 0
    x2 = 0xFFFFFFFF
    xv = 0
    n_out = 0
    n_in = 0
    if decoding:
        if payload.shape[0] < 4:
            return -2
        for _ in range(4):
            xv = (xv << 8) | payload[n_in]
            n_in += 1

    c4 = 0  # last four bytes, most recent in the low byte
    c8 = 0  # the four before them
    word = 0
    word_prev = 0
    word_prev2 = 0
    line_start = 0
    prev_line_start = 0
    field = 0
    match_ptr = 0
    match_len = 0
    x[11] = 256  # the bias; x[12], the match length, stays 0 before version 3
    first = 0
    keep = state.shape[0] >= STATE_SIZE
    if keep and state[0] == 1:  # go on from where an earlier call over the same bytes stopped
        first = state[1]
        c4 = state[2] & 0xFFFFFFFF
        c8 = state[3] & 0xFFFFFFFF
        word = state[4] & 0xFFFFFFFF
        word_prev = state[5] & 0xFFFFFFFF
        line_start = state[6]
        prev_line_start = state[7]
        field = state[8]
        match_ptr = state[9]
        match_len = state[10]
        word_prev2 = state[11] & 0xFFFFFFFF
        if not (0 < first <= start and 0 <= prev_line_start <= line_start <= first and field >= 0):
            return -3
        if not (0 <= match_len <= 65535 and 0 <= match_ptr < first):
            return -3

    for pos in range(first, end):
        coding = pos >= start
        # --- byte boundary: contexts of the next byte ---
        # Unless the look-ahead (the last byte's last decisions) expected another byte, the tables this byte reads first
        # are already requested. Else the match table entry, likely a cache miss, is needed only
        # after the context hashes: request it first.
        h6 = _hash(c4, c8 & 0xFFFF, 11) & match_mask
        c1 = c4 & 0xFF
        missed = pos == first or c1 != guess_byte
        if missed:
            _prefetch(match_table, h6)
        c2 = (c4 >> 8) & 0xFF
        col = pos - line_start
        if missed:
            above = 0  # the byte above, for the column and field contexts
            if prev_line_start + col < line_start and (_reads(5, full, n_full) or _reads(6, full, n_full)):
                above = buf[_ix(prev_line_start + col)]
            ind = _followers(c4, t1, t2) if _reads(7, full, n_full) else 0
            _contexts(c4, c8, word, word_prev, word_prev2, above, col, field, v3, ind, ctx, full, n_full)
            _slot_hashes(ctx, active, n_active, full, 1, hashes, slots, slot_mask, True)
        else:  # contexts and first slot hashes computed during the last byte (_look_ahead)
            for k in range(N_HASHED):
                if _reads(k, full, n_full):
                    ctx[k] = ahead[k]
        # match model: follow the current match, or look the context up
        if match_len > 0 and buf[_ix(match_ptr)] == c1:
            match_len += 1
            match_ptr += 1
        else:
            match_len = 0
        if pos >= MATCH_MIN:
            if match_len == 0:
                cand = match_table[_ix(h6)]
                if cand > 0:
                    n = 0
                    while n < 32 and n < cand and buf[_ix(cand - 1 - n)] == buf[_ix(pos - 1 - n)]:
                        n += 1
                    if n >= MATCH_MIN:
                        match_len = n
                        match_ptr = cand
            match_table[_ix(h6)] = pos
        if match_len > 65535:
            match_len = 65535
        predicted = (buf[_ix(match_ptr)] | 256) if match_len > 0 and use_match else 0
        if match_len < 16:
            len_bucket = match_len
        else:
            len_bucket = min(16 + ((match_len - 16) >> 3), 31)
        mix_sel = 0 if match_len == 0 else (1 if match_len < 16 else (2 if match_len < 32 else 3))
        base1 = c1 << 8
        base2 = ((c2 << 8) | c1) << 8
        if use2 and missed:  # the byte's order-2 states: 256 bytes, likely not cached
            for j in range(4):
                _prefetch(t2, base2 + j * 64)

        if use_rate:
            lr = LR_START - (pos >> LR_STEP)
            if lr < LR_END:
                lr = LR_END
        # The byte is coded as two nibbles, each as the decisions down its tree (docs/FORMAT.md
        # §7.2): the first nibble's tree is tree 0, the second's tree 1 + the first nibble. *n* is
        # the node (1-15) in the nibble's tree and *d* its depth; *c0* names the node in the byte's
        # tables (the partial byte with its leading 1 when the trees are the flat ones, where each
        # decision is the next bit of the byte).
        c0 = 1
        byte_known = not decoding or not coding
        byte = buf[_ix(pos)] if byte_known else 0
        second = False
        hi = 0
        t = 0
        n = 1
        d = 0
        path = tree[_ix(TREE_PATHS + (byte >> 4))]  # the known byte's decisions (bits, count)
        way = 0  # the match model's byte's decisions in this nibble's tree
        while True:
            # This decision's APM row (66 bytes) and weight set, likely outside the nearest caches, are
            # needed only after the inputs are computed: request them now.
            a_row = ((c1 << 8) | c0) * 33
            _prefetch(apm, a_row)
            _prefetch(apm, a_row + 16)
            _prefetch(apm, a_row + 32)
            _prefetch(weights, ((mix_sel << 8) | c0) * N_INPUTS)
            # --- nibble boundary: find each hashed component's slot ---
            if second and d == 0 and c0 != guess4:  # else computed before, and the groups requested
                _slot_hashes(ctx, active, n_active, full, c0, hashes, slots, slot_mask, True)
            if d == 0:
                _find_slots(hashes, n_active, slots, slot_mask, priority, slot)
                # What the byte's second nibble and the next byte read is requested as soon as the
                # slot hashes are free, for the byte where it is known (encoding, or modelling a
                # primer), else for the match model's byte while the bits so far agree with it,
                # else, in the copies for running text, for the nibble a high-order context's
                # states lead to (_walk; in the other copies the encoder ran slower with it).
                guess = byte if byte_known else ((predicted & 0xFF) if predicted > 0 else -1)
                if full == PARAGRAPHS and guess < 0:
                    nibble = _walk(slots, slot, sm, tree, t)
                    if nibble >= 0:
                        guess = (hi << 4) | nibble if second else nibble << 4
                if not second:
                    guess_byte = -1
                    guess4 = 0x10 | (guess >> 4) if guess >= 0 else 0
                    if guess4:
                        _slot_hashes(ctx, active, n_active, full, guess4, hashes, slots, slot_mask, True)
            node = n
            # --- predict ---
            x[0] = stretch[_ix(t0[_ix(c0)] >> 20)]
            if use1:
                st1 = base1 | c0
                x[1] = stretch[_ix(sm[_ix(256 + t1[_ix(st1)])] >> 20)]
            if use2:
                st2 = base2 | c0
                x[2] = stretch[_ix(sm[_ix(512 + t2[_ix(st2)])] >> 20)]
            known = 0
            for k in range(n_active):
                at = slot[k] + node
                st[k] = at
                sk = slots[_ix(at)]
                known += sk != 0
                x[_ix(_hashed_input(_context(k, active, full)) if full else x_at[k])] = stretch[
                    _ix(sm[_ix(((3 + _context(k, active, full)) << 8 if full else sm_at[k]) + sk)] >> 20)
                ]
            expected = -1
            if predicted > 0:  # each decision so far went the match model's byte's way
                if d == 0:
                    way = tree[_ix(TREE_PATHS + (t << 4) + ((predicted & 15) if second else ((predicted >> 4) & 15)))]
                expected = (way >> (4 + (way & 15) - 1 - d)) & 1
                x[10] = stretch[_ix(match_sm[_ix(len_bucket * 2 + expected)] >> 20)]
                if v3:
                    x[12] = (expected * 2 - 1) * min(match_len, MATCH_INPUT_MAX) * MATCH_INPUT
            else:
                x[10] = 0
                x[12] = 0
            wbase = ((mix_sel << 8) | c0) * N_INPUTS
            if sets:  # the two or three sets at once, each input read once
                wbase2 = (MIXER_SETS + ((known << 8) | c1)) * N_INPUTS
                if use_mixer3:
                    wbase3 = (THIRD_SETS + ((min(col, 31) << 3) | min(field, 7))) * N_INPUTS
                    s1, s2, s3 = _dot3(weights, wbase, wbase2, wbase3, x)
                    dot3 = _clamp_logit(s3 >> 16)
                    p_mix3 = squash[_ix(dot3 + 2048)]
                else:
                    s1, s2 = _dot2(weights, wbase, wbase2, x)
                dot = _clamp_logit(s1 >> 16)
                dot2 = _clamp_logit(s2 >> 16)
                p_mix2 = squash[_ix(dot2 + 2048)]
            else:
                dot = _clamp_logit(_dot(weights, wbase, x) >> 16)
            p_mix = squash[_ix(dot + 2048)]
            p_mix1 = p_mix
            dot1 = dot
            if use_mixer2 and not full:  # a second weight set, chosen by the previous byte
                wbase2 = (MIXER_SETS + (((known << 8) | c1) if use_known else c1)) * N_INPUTS
                dot2 = _clamp_logit(_dot(weights, wbase2, x) >> 16)
                p_mix2 = squash[_ix(dot2 + 2048)]
            if use_mixer3 and not full:  # a third, chosen by the column and field numbers (version 2)
                wbase3 = (THIRD_SETS + ((min(col, 31) << 3) | min(field, 7))) * N_INPUTS
                dot3 = _clamp_logit(_dot(weights, wbase3, x) >> 16)
                p_mix3 = squash[_ix(dot3 + 2048)]
            if use_final:  # the sets combined by a final mixer, by partial byte
                wf = final_base + 3 * c0
                acc = dot1 * weights[_ix(wf)]
                if use_mixer2:
                    acc += dot2 * weights[_ix(wf + 1)]
                if use_mixer3:
                    acc += dot3 * weights[_ix(wf + 2)]
                dot = _clamp_logit(acc >> 16)
                p_mix = squash[_ix(dot + 2048)]
            elif use_mixer2:  # version 1: the two sets averaged
                dot = (dot + dot2) >> 1
                p_mix = squash[_ix(dot + 2048)]
            # APM: interpolate between two of 33 bins on the stretched probability
            sv = dot + 2048
            wt = sv & 127
            a = (((c1 << 8) | c0) * 33) + (sv >> 7)
            p_apm = (np.int64(apm[_ix(a)]) * (128 - wt) + np.int64(apm[_ix(a + 1)]) * wt) >> (apm_bits + 7 - p_bits)
            if v2:  # 16 bits
                p = (p_mix * 16 + 7 * p_apm + 4) >> 3
            else:  # 12 bits
                p = (p_mix + 3 * p_apm + 2) >> 2
            if p < 1:
                p = 1
            if p > p_max:
                p = p_max
            # The next byte's contexts and tables, for the byte guessed at the second nibble's
            # boundary (*guess*), else, where none was or the decisions went otherwise, requests
            # made once a decision is predicted and before it is coded, for its likelier value (p is
            # the probability of a 1) where that leads to a leaf: in the first nibble, the second
            # nibble's slot groups (their hashes serve its boundary when the decision went that
            # way; bit 3 where the trees are flat); in the second, the next byte's contexts and
            # tables (bit 7). Requesting for both values was slower: twice the requests, and twice
            # the contexts at bit 7.
            likely = p >> (p_bits - 1)
            goes = 0  # the likelier value's child where it is a leaf (16 + the nibble)
            if not byte_known:
                goes = tree[_ix((((t << 4) | n) << 1) | likely)] & 31
            if not second and goes >= 16 and goes != guess4:
                guess4 = goes
                _slot_hashes(ctx, active, n_active, full, guess4, hashes, slots, slot_mask, True)
            ahead_for = -1
            if second and d == 0:
                ahead_for = guess
            elif second and goes >= 16 and ((hi << 4) | (goes & 15)) != guess_byte:
                ahead_for = (hi << 4) | (goes & 15)
            if ahead_for >= 0:
                guess_byte = ahead_for
                history = (word, word_prev, word_prev2, line_start, prev_line_start, field)
                _look_ahead(
                    (ahead_for >> 1) | 0x80,
                    pos,
                    c4,
                    c8,
                    history,
                    v3,
                    buf,
                    ahead,
                    active,
                    n_active,
                    full,
                    n_full,
                    hashes,
                    slots,
                    match_table,
                    t1,
                    t2,
                    use2,
                    ahead_for & 1,
                )
            # --- code the bit ---
            if coding:
                xmid = x1 + ((x2 - x1) >> p_bits) * p + ((((x2 - x1) & p_max) * p) >> p_bits)
                if decoding:
                    y = 1 if xv <= xmid else 0
                else:
                    y = (path >> (4 + (path & 15) - 1 - d)) & 1
                if y:
                    x2 = xmid
                else:
                    x1 = xmid + 1
                if track:
                    costs[_ix(pos)] += cost_of[_ix((p if y else p_max + 1 - p) >> (p_bits - 12))]
                while ((x1 ^ x2) & 0xFF000000) == 0:
                    if decoding:
                        if n_in >= payload.shape[0]:
                            return -2  # a valid payload is never read past its end
                        xv = ((xv << 8) & 0xFFFFFFFF) | payload[n_in]
                        n_in += 1
                    else:
                        if n_out >= out.shape[0]:
                            return -1
                        out[n_out] = x2 >> 24
                        n_out += 1
                    x1 = (x1 << 8) & 0xFFFFFFFF
                    x2 = ((x2 << 8) & 0xFFFFFFFF) | 0xFF
            else:
                y = (path >> (4 + (path & 15) - 1 - d)) & 1
            # --- update ---
            _train(weights, wbase, x, (y << 12) - p_mix1, lr)
            if use_mixer2:
                _train(weights, wbase2, x, (y << 12) - p_mix2, lr)
            if use_mixer3:
                _train(weights, wbase3, x, (y << 12) - p_mix3, lr)
            if use_final:
                err = (y << 12) - p_mix
                weights[_ix(wf)] = _clamp_weight(weights[_ix(wf)] + ((dot1 * err) >> FINAL_RATE))
                if use_mixer2:
                    weights[_ix(wf + 1)] = _clamp_weight(weights[_ix(wf + 1)] + ((dot2 * err) >> FINAL_RATE))
                if use_mixer3:
                    weights[_ix(wf + 2)] = _clamp_weight(weights[_ix(wf + 2)] + ((dot3 * err) >> FINAL_RATE))
            b = a + (wt >> 6)
            apm[_ix(b)] += ((y << apm_bits) - np.int64(apm[_ix(b)])) >> APM_RATE
            t0[_ix(c0)] = _update(t0[_ix(c0)], y, 255, rate)
            if use1:
                s = t1[_ix(st1)]
                sm[_ix(256 + s)] = _update(sm[_ix(256 + s)], y, STATE_MAP_LIMIT, rate)
                t1[_ix(st1)] = state_next[_ix(2 * s + y)]
            if use2:
                s = t2[_ix(st2)]
                sm[_ix(512 + s)] = _update(sm[_ix(512 + s)], y, STATE_MAP_LIMIT, rate)
                t2[_ix(st2)] = state_next[_ix(2 * s + y)]
            for k in range(n_active):
                at = st[k]
                s = slots[_ix(at)]
                e = ((3 + _context(k, active, full)) << 8 if full else sm_at[k]) + s
                sm[_ix(e)] = _update(sm[_ix(e)], y, STATE_MAP_LIMIT, rate)
                slots[_ix(at)] = state_next[_ix(2 * s + y)]
            if expected >= 0:
                j = len_bucket * 2 + expected
                match_sm[_ix(j)] = _update(match_sm[_ix(j)], y, STATE_MAP_LIMIT, rate)
                if y != expected:
                    predicted = 0
            child = tree[_ix((((t << 4) | n) << 1) | y)]
            if (child & 31) < 16:  # down the nibble's tree; the child's place in the byte's tables above
                n = child & 15
                d += 1
                c0 = (child >> 5) & 0xFF
            elif second:
                byte = (hi << 4) | (child & 15)
                break
            else:  # the first nibble is known: the second one's tree
                hi = child & 15
                second = True
                t = 1 + hi
                n = 1
                d = 0
                c0 = 16 | hi
                path = tree[_ix(TREE_PATHS + (t << 4) + (byte & 15))]
        if decoding and coding:
            buf[_ix(pos)] = byte
        # --- after the byte: histories ---
        if v4 and _reads(7, full, n_full):  # the byte that followed the last two bytes, and the last byte
            t2[_ix((c4 & 0xFFFF) << 8)] = byte
            t1[_ix((c4 & 0xFF) << 8)] = byte
        c8 = ((c8 << 8) | (c4 >> 24)) & 0xFFFFFFFF
        c4 = ((c4 << 8) | byte) & 0xFFFFFFFF
        word, word_prev, word_prev2, line_start, prev_line_start, field = _histories(
            byte, pos, word, word_prev, word_prev2, line_start, prev_line_start, field
        )
    if keep:
        state[1] = end
        state[2] = c4
        state[3] = c8
        state[4] = word
        state[5] = word_prev
        state[6] = line_start
        state[7] = prev_line_start
        state[8] = field
        state[9] = match_ptr
        state[10] = match_len
        state[11] = word_prev2
    if decoding:
        if n_in != payload.shape[0] or xv != x1:
            return -2
        return 0
    for _ in range(4):
        if n_out >= out.shape[0]:
            return -1
        out[n_out] = x1 >> 24
        n_out += 1
        x1 = (x1 << 8) & 0xFFFFFFFF
    return n_out
