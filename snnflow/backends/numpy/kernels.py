"""The CPU engine's compiled kernels (Numba): one generic set for every network.

A network is not turned into code of its own. ``NumpyEngine`` describes it once,
at build, as integer tables (one row per population, per connection, per
variable recording) and flat float32 buffers (parameters, weights, state), and
these few jitted functions interpret the tables. They are compiled once per
machine (Numba's cache on disk), whatever the network, which keeps the first
compile of a process, and of the hundreds of small networks in the tests, cheap.

``run_steps`` runs a number of timesteps of the whole batch. Examples run in
parallel (``prange``), each one from the first step to the last on one thread,
in a fixed order of operations: an example's result is the same bit for bit
whatever the thread count and whichever examples share its batch. Everything
that depends only on the step (the time, input frames, few-spike thresholds,
readout weights) is computed by the engine in NumPy, with the reference code's
float32 arithmetic, and handed in per step."""
from __future__ import annotations

import sys

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

# Population kinds
IF, LI, SPIKE_INPUT, POISSON, BINARY, FS_INPUT, FS_RELU = range(7)
# Flags of a population
HAS_ALPHA, SCALE_I, REFRAC, INTEGRATE_REFRAC, RELATIVE, SIGNED, ADAPT, VALUE_INPUT, \
    FS_SIGNED = (1 << i for i in range(9))
# Population table columns
(P_KIND, P_N, P_FLAGS, P_V, P_REFRAC, P_A, P_FX, P_PARAM, P_SPIKES, P_LIST, P_NEG,
 P_INPUT, P_FRAMES, P_READOUT, P_READ_OFF, P_IN_START, P_IN_END, P_REC, P_SP,
 P_DRAWS, P_TIMES, P_PATH, P_COLUMNS) = range(23)
# Which update function a population's step takes (chosen once, by the tables)
(PATH_GENERAL, PATH_PLAIN, PATH_PLAIN_INPUT, PATH_SOURCE, PATH_SPIKE_TIMES) = range(5)
# Parameter rows (each n long) of a population, from its P_PARAM offset
(V_THRESH, V_RESET, RESET_STEP, ALPHA, INPUT_SCALE, TAU_REFRAC, BETA, RHO, BIAS,
 NUM_PARAMS) = range(10)
# Readout kinds
R_NONE, R_COUNT, R_VAR, R_AVG, R_AVG_EXP, R_SUM, R_MAX, R_FIRST = range(8)
# Connection table columns
(C_SRC, C_TGT, C_NPRE, C_NPOST, C_DENSE, C_W, C_IP, C_IX, C_INSYN, C_EXP, C_SCALE,
 C_NAGES, C_AGES, C_SLOTS, C_HIST, C_HCNT, C_HSTATE, C_SIGNED, C_COLUMNS) = range(19)
# Variable recording table columns
(V_OFF, V_N, V_NSEL, V_SEL, V_OUT, V_NPOS, V_POS, V_POSLEN, V_COLUMNS) = range(9)
# Per-step values handed in per population
S_FRAME, S_FS_STEP, S_FS_MODE = range(3)
NO_SPIKE = np.finfo(np.float32).max
# Spike flags are scanned eight at a time, as the bytes of a uint64 word
assert sys.byteorder == "little", "the CPU engine reads spike flags as little-endian words"


def spike_stride(n):
    """Bytes between two examples' spike flags of an n-neuron population: n
    rounded up to whole 8-byte words, so every example's flags start a word and
    its padding bytes stay 0."""
    return (n + 7) & ~7


_spike_stride = njit(cache=True, inline="always")(spike_stride)


@intrinsic
def _trailing_zeros(typingctx, word):
    """LLVM's count-trailing-zeros of an integer (one instruction on x86 and ARM)."""
    if not isinstance(word, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        [value] = args
        function = builder.module.declare_intrinsic(
            "llvm.cttz", [value.type], ir.FunctionType(value.type, [value.type, ir.IntType(1)]))
        return builder.call(function, [value, ir.Constant(ir.IntType(1), 0)])
    return word(word), codegen


@njit(cache=True, inline="always", _nrt=False)
def _list_spikes(words, sp0, n, lists, l0):
    """Write the indices of the set flags among n flags from byte ``sp0`` (a word
    boundary) to ``lists[l0:]`` in ascending order; returns how many. Whole words
    of silent neurons cost one test: at the usual few % of neurons spiking a
    step, a byte-by-byte scan spends most of a step mispredicting branches."""
    count = np.uint64(0)
    w0 = np.uint64(sp0) >> np.uint64(3)
    out = np.uint64(l0)
    for w in range(np.uint64((n + 7) >> 3)):
        word = words[w0 + w]
        while word != 0:
            lists[out + count] = (w << np.uint64(3)) + (_trailing_zeros(word) >> np.uint64(3))
            count += np.uint64(1)
            word &= word - np.uint64(1)
    return np.int64(count)


@njit(cache=True, inline="always", _nrt=False)
def _add_row(conns, c, row, acc, a0, sign, weights, indptr, indices, data):
    """acc[a0:] += sign * row ``row`` of connection c's (stacked) matrix, in column
    order. Offsets, not slices (a slice is a new array whose reference count
    threads update atomically), and unsigned indices, which need no wraparound
    test, so the dense loop vectorises."""
    npost = conns[c, C_NPOST]
    ua = np.uint64(a0)
    if conns[c, C_DENSE]:
        ub = np.uint64(conns[c, C_W] + row * npost)
        if sign > 0:
            for j in range(np.uint64(npost)):
                acc[ua + j] += weights[ub + j]
        else:
            for j in range(np.uint64(npost)):
                acc[ua + j] -= weights[ub + j]
    else:
        ip = conns[c, C_IP] + row
        ix = np.uint64(conns[c, C_IX])
        start, stop = np.uint64(indptr[ip]), np.uint64(indptr[ip + 1])
        if sign > 0:
            for k in range(start, stop):
                acc[ua + np.uint64(indices[ix + k])] += data[ix + k]
        else:
            for k in range(start, stop):
                acc[ua + np.uint64(indices[ix + k])] -= data[ix + k]


@njit(cache=True, inline="always", _nrt=False)
def _add_into(target, t0, tmp, n):
    """target[t0:t0 + n] += tmp[:n]."""
    ut = np.uint64(t0)
    for j in range(np.uint64(n)):
        target[ut + j] += tmp[j]


@njit(cache=True, inline="always", _nrt=False)
def _deliver(e, E, c, sign, pops, conns, ages, weights, indptr, indices, data, in_syn,
             lists, counts, hist, hist_cnt, hist_state, tmp):
    """One delivery (the positive spikes, or a signed source's negative ones) of
    connection c for example e: the arriving rows summed from 0, in the order of
    the reference (oldest emission step first, then ascending source neuron),
    then added to inSyn."""
    src = conns[c, C_SRC]
    npre = conns[c, C_NPRE]
    npost = conns[c, C_NPOST]
    n_src = pops[src, P_N]
    side = 0 if sign > 0 else 1
    list_off = pops[src, P_LIST if sign > 0 else P_NEG] + e * n_src
    count = counts[src, e, side]
    g = conns[c, C_INSYN] + e * npost
    slots = conns[c, C_SLOTS]
    if slots == 0:
        if count == 0:
            return
        # A Delta synapse's inSyn is +0 here (its current cleared it): summing in
        # place is the sum from 0, added to it
        if sign > 0 and not conns[c, C_EXP]:
            if conns[c, C_DENSE]:
                # The hot path of most networks, with unsigned offsets throughout
                # (a signed index costs a wraparound test per access)
                un, ug, uw = np.uint64(npost), np.uint64(g), np.uint64(conns[c, C_W])
                ul = np.uint64(list_off)
                for k in range(np.uint64(count)):
                    row = uw + np.uint64(lists[ul + k]) * un
                    for j in range(un):
                        in_syn[ug + j] += weights[row + j]
                return
            for k in range(count):
                _add_row(conns, c, lists[list_off + k], in_syn, g, sign, weights, indptr,
                         indices, data)
            return
        for j in range(npost):
            tmp[j] = 0.0
        for k in range(count):
            _add_row(conns, c, lists[list_off + k], tmp, 0, sign, weights, indptr, indices,
                     data)
        _add_into(in_syn, g, tmp, npost)
        return
    # Delays: this example's ring of the source's spikes of the last `slots` steps
    hs = conns[c, C_HSTATE] + (e * 2 + side) * 2
    head = (hist_state[hs] + 1) % slots
    hist_state[hs] = head
    if hist_state[hs + 1] < slots:
        hist_state[hs + 1] += 1
    filled = hist_state[hs + 1]
    base = conns[c, C_HIST] + ((e * 2 + side) * slots) * n_src
    cbase = conns[c, C_HCNT] + (e * 2 + side) * slots
    for k in range(count):
        hist[base + head * n_src + k] = lists[list_off + k]
    hist_cnt[cbase + head] = count
    for j in range(npost):
        tmp[j] = 0.0
    arrived = 0
    for b in range(conns[c, C_NAGES]):
        age = ages[conns[c, C_AGES] + b]
        if age >= filled:
            continue
        slot = (head - age) % slots
        m = hist_cnt[cbase + slot]
        for k in range(m):
            _add_row(conns, c, hist[base + slot * n_src + k] + b * npre, tmp, 0, sign,
                     weights, indptr, indices, data)
        arrived += m
    if arrived:
        _add_into(in_syn, g, tmp, npost)


@njit(cache=True, inline="always", _nrt=False)
def _currents(e, p, pops, conns, conn_f, incoming, in_syn, isyn):
    """isyn[:n] = the float32 sum, in connection order, of population p's incoming
    synapses' currents for example e; each synapse clears or decays its inSyn."""
    n = pops[p, P_N]
    un = np.uint64(n)
    start, end = pops[p, P_IN_START], pops[p, P_IN_END]
    if start == end:
        for j in range(un):
            isyn[j] = 0.0
        return
    for q in range(start, end):
        c = incoming[q]
        g0 = np.uint64(conns[c, C_INSYN] + e * n)
        first = q == start
        if conns[c, C_EXP]:
            decay = conn_f[c, 0]
            scale = conn_f[c, 1]
            scaled = conns[c, C_SCALE] != 0
            for j in range(un):
                g = in_syn[g0 + j]
                current = g * scale if scaled else g
                in_syn[g0 + j] = g * decay
                isyn[j] = current if first else isyn[j] + current
        elif first:
            for j in range(un):
                isyn[j] = in_syn[g0 + j]
                in_syn[g0 + j] = 0.0
        else:
            for j in range(un):
                isyn[j] = isyn[j] + in_syn[g0 + j]
                in_syn[g0 + j] = 0.0


@njit(cache=True, inline="always", _nrt=False)
def _update_plain(e, p, s, pops, params, state, readout, spikes, words, lists, counts,
                  inputs, isyn, step_t, step_i, step_f, step_d):
    """Population p's step for example e where it is IntegrateFire-like without a
    refractory period or adaptation, or LeakyIntegrate: the same arithmetic as
    ``_update``, in passes over the neurons that the compiler can vectorise."""
    kind = pops[p, P_KIND]
    n = pops[p, P_N]
    un = np.uint64(n)
    flags = pops[p, P_FLAGS]
    pp = pops[p, P_PARAM]
    v0 = np.uint64(pops[p, P_V] + e * n)
    sp0 = np.uint64(pops[p, P_SPIKES] + e * _spike_stride(n))
    alpha = np.uint64(pp + ALPHA * n)
    scale = np.uint64(pp + INPUT_SCALE * n)
    if kind == LI:
        bias = np.uint64(pp + BIAS * n)
        if flags & SCALE_I:
            for j in range(un):
                state[v0 + j] = (state[v0 + j] * params[alpha + j]
                                 + isyn[j] * params[scale + j]) + params[bias + j]
        else:
            for j in range(un):
                state[v0 + j] = (state[v0 + j] * params[alpha + j] + isyn[j]) + params[bias + j]
    else:
        source = isyn
        x0 = np.uint64(0)
        if flags & VALUE_INPUT:
            source = inputs
            x0 = np.uint64(pops[p, P_INPUT] + (e * pops[p, P_FRAMES]
                                               + step_i[s, p, S_FRAME]) * n)
        threshold = np.uint64(pp + V_THRESH * n)
        has_alpha = (flags & HAS_ALPHA) != 0
        scale_i = (flags & SCALE_I) != 0
        for j in range(un):
            v = state[v0 + j]
            if has_alpha:
                v = v * params[alpha + j]
            if scale_i:
                v = v + source[x0 + j] * params[scale + j]
            else:
                v = v + source[x0 + j]
            state[v0 + j] = v
            spikes[sp0 + j] = v >= params[threshold + j]
    _readout(e, p, s, pops, state, readout, spikes, step_t, step_f, step_d)
    count = 0
    if kind != LI:
        l0 = pops[p, P_LIST] + e * n
        count = _list_spikes(words, np.int64(sp0), n, lists, l0)
        relative = (flags & RELATIVE) != 0
        reset = pp + (RESET_STEP if relative else V_RESET) * n
        # Signed offsets: uint64 with a signed index would be float64 in Numba
        first = pops[p, P_V] + e * n
        for k in range(count):
            j = np.int64(lists[l0 + k])
            if relative:
                state[first + j] = state[first + j] - params[reset + j]
            else:
                state[first + j] = params[reset + j]
    counts[p, e, 0] = count
    counts[p, e, 1] = 0


@njit(cache=True, inline="always", _nrt=False)
def _update_source(e, p, s, pops, spikes, words, lists, counts, inputs, silent, draws,
                   nsteps):
    """Population p's step for example e where it is an unsigned PoissonInput or
    BinarySpikeInput of one frame, without synapses or readout: the flags in one
    pass the compiler can vectorise, then the list. The same tests as ``_update``."""
    kind = pops[p, P_KIND]
    n = pops[p, P_N]
    un = np.uint64(n)
    sp0 = np.uint64(pops[p, P_SPIKES] + e * _spike_stride(n))
    in0 = np.uint64(pops[p, P_INPUT] + (e * pops[p, P_FRAMES]) * n)
    if kind == POISSON:
        d0 = np.uint64(pops[p, P_DRAWS] + (e * nsteps + s) * n)
        for j in range(un):
            spikes[sp0 + j] = (draws[d0 + j] >= silent[in0 + j]) & (inputs[in0 + j] > 0)
    else:
        for j in range(un):
            spikes[sp0 + j] = inputs[in0 + j] > 0
    counts[p, e, 0] = _list_spikes(words, np.int64(sp0), n, lists, pops[p, P_LIST] + e * n)
    counts[p, e, 1] = 0


@njit(cache=True, inline="always", _nrt=False)
def _update_spike_times(e, p, s, pops, spikes, words, lists, counts, sp_next, sp_end,
                        sp_times, step_t):
    """Population p's step for example e where it is a SpikeInput without synapses
    or readout: each neuron emits its next pending spike if that is due (the test
    of ``_update``), with unsigned offsets; then the list."""
    n = pops[p, P_N]
    un = np.uint64(n)
    t = step_t[s]
    sp0 = np.uint64(pops[p, P_SPIKES] + e * _spike_stride(n))
    pending = np.uint64(pops[p, P_SP] + e * n)
    times = np.uint64(pops[p, P_TIMES])
    for j in range(un):
        k = sp_next[pending + j]
        due = k < sp_end[pending + j] and sp_times[times + np.uint64(k)] <= t
        if due:
            sp_next[pending + j] = k + 1
        spikes[sp0 + j] = due
    counts[p, e, 0] = _list_spikes(words, np.int64(sp0), n, lists, pops[p, P_LIST] + e * n)
    counts[p, e, 1] = 0


@njit(cache=True, inline="always", _nrt=False)
def _readout(e, p, s, pops, state, readout, spikes, step_t, step_f, step_d):
    """The readout's step: from V and the spikes after the update, before the reset."""
    rkind = pops[p, P_READOUT]
    if rkind == R_NONE or rkind == R_VAR:
        return
    n = pops[p, P_N]
    un = np.uint64(n)
    r0 = np.uint64(pops[p, P_READ_OFF] + e * n)
    v0 = np.uint64(pops[p, P_V] + e * n)
    sp0 = np.uint64(pops[p, P_SPIKES] + e * _spike_stride(n))
    if rkind == R_COUNT:
        for j in range(un):
            if spikes[sp0 + j]:
                readout[r0 + j] = readout[r0 + j] + np.float32(1.0)
    elif rkind == R_FIRST:
        t = step_t[s]
        for j in range(un):
            if spikes[sp0 + j] and readout[r0 + j] == NO_SPIKE:
                readout[r0 + j] = t
    elif rkind == R_AVG:
        scale = step_f[s, p, 2]
        for j in range(un):
            readout[r0 + j] = readout[r0 + j] + scale * state[v0 + j]
    elif rkind == R_AVG_EXP:
        weight = step_d[s, p]
        for j in range(un):
            readout[r0 + j] = np.float32(np.float64(readout[r0 + j])
                                         + weight * np.float64(state[v0 + j]))
    elif rkind == R_SUM:
        for j in range(un):
            readout[r0 + j] = readout[r0 + j] + state[v0 + j]
    else:  # R_MAX
        for j in range(un):
            v = state[v0 + j]
            if v > readout[r0 + j] or v != v:
                readout[r0 + j] = v


@njit(cache=True, _nrt=False)
def _update(e, p, s, pops, params, conns, conn_f, incoming, in_syn, state, readout, spikes,
            lists, counts, inputs, silent, draws, nsteps, sp_next, sp_end, sp_times,
            step_t, step_i, step_f, step_d, dt):
    """Population p's step for example e: synaptic currents, neuron update,
    readout, reset; its spikes into its list (ascending) and flags."""
    kind = pops[p, P_KIND]
    n = pops[p, P_N]
    flags = pops[p, P_FLAGS]
    t = step_t[s]
    pp = pops[p, P_PARAM]
    v0 = pops[p, P_V] + e * n
    sp0 = pops[p, P_SPIKES] + e * _spike_stride(n)
    l0 = pops[p, P_LIST] + e * n
    ln0 = pops[p, P_NEG] + e * n
    frame = step_i[s, p, S_FRAME]
    frames = pops[p, P_FRAMES]
    in0 = pops[p, P_INPUT] + (e * frames + frame) * n
    rkind = pops[p, P_READOUT]
    r0 = pops[p, P_READ_OFF] + e * n
    fs_value = step_f[s, p, 0]
    fs_weight = step_f[s, p, 1]
    fs_step = step_i[s, p, S_FS_STEP]
    fs_lt = step_i[s, p, S_FS_MODE]
    exp_weight = step_d[s, p]
    in_start = pops[p, P_IN_START]
    in_end = pops[p, P_IN_END]
    count = 0
    negative = 0
    spiking_model = kind != LI
    for j in range(n):
        # The float32 sum of the incoming currents, in connection order (every
        # synapse runs, even where an input model then ignores the sum)
        isyn = np.float32(0.0)
        for q in range(in_start, in_end):
            c = incoming[q]
            gi = conns[c, C_INSYN] + e * conns[c, C_NPOST] + j
            g = in_syn[gi]
            if conns[c, C_EXP]:
                current = g * conn_f[c, 1] if conns[c, C_SCALE] else g
                in_syn[gi] = g * conn_f[c, 0]
            else:
                current = g
                in_syn[gi] = 0.0
            isyn = current if q == in_start else isyn + current
        spike = False
        neg = False
        v = np.float32(0.0)
        if kind == IF:
            if flags & VALUE_INPUT:
                isyn = inputs[in0 + j]
            v = state[v0 + j]
            refractory = False
            if flags & REFRAC:
                refractory = state[pops[p, P_REFRAC] + e * n + j] > 0
            if not (refractory and not (flags & INTEGRATE_REFRAC)):
                if flags & HAS_ALPHA:
                    v = v * params[pp + ALPHA * n + j]
                if flags & SCALE_I:
                    v = v + isyn * params[pp + INPUT_SCALE * n + j]
                else:
                    v = v + isyn
            threshold = params[pp + V_THRESH * n + j]
            if flags & ADAPT:
                ai = pops[p, P_A] + e * n + j
                a = state[ai] * params[pp + RHO * n + j]
                state[ai] = a
                threshold = threshold + params[pp + BETA * n + j] * a
            if flags & REFRAC:
                ri = pops[p, P_REFRAC] + e * n + j
                refrac = state[ri]
                if refractory:
                    refrac = refrac - dt
                state[ri] = refrac
                spike = v >= threshold and refrac <= 0
            else:
                spike = v >= threshold
        elif kind == LI:
            v = state[v0 + j] * params[pp + ALPHA * n + j]
            if flags & SCALE_I:
                v = v + isyn * params[pp + INPUT_SCALE * n + j]
            else:
                v = v + isyn
            v = v + params[pp + BIAS * n + j]
        elif kind == SPIKE_INPUT:
            k = sp_next[pops[p, P_SP] + e * n + j]
            if k < sp_end[pops[p, P_SP] + e * n + j] and sp_times[pops[p, P_TIMES] + k] <= t:
                spike = True
                sp_next[pops[p, P_SP] + e * n + j] = k + 1
        elif kind == POISSON or kind == BINARY:
            x = inputs[in0 + j]
            if kind == POISSON:
                fired = draws[pops[p, P_DRAWS] + (e * nsteps + s) * n + j] >= silent[in0 + j]
            else:
                fired = x != 0
            spike = fired and x > 0
            neg = fired and x < 0 and (flags & SIGNED) != 0
        elif kind == FS_INPUT:
            v = state[v0 + j]
            if fs_step == 0:
                v = inputs[in0 + j]
            spike = v < fs_value if fs_lt else v >= fs_value
        else:  # FS_RELU
            fi = pops[p, P_FX] + e * n + j
            fx = state[fi] + isyn * fs_weight
            v = state[v0 + j]
            if fs_step == 0:
                v = fx
                fx = np.float32(0.0)
            state[fi] = fx
            spike = v >= fs_value
        # Readout: after the update and threshold test, before the reset
        if rkind != R_NONE:
            ri = r0 + j
            if rkind == R_COUNT:
                if spike:
                    readout[ri] = readout[ri] + np.float32(1.0)
            elif rkind == R_AVG:
                readout[ri] = readout[ri] + step_f[s, p, 2] * v
            elif rkind == R_AVG_EXP:
                readout[ri] = np.float32(np.float64(readout[ri]) + exp_weight * np.float64(v))
            elif rkind == R_SUM:
                readout[ri] = readout[ri] + v
            elif rkind == R_MAX:
                if v > readout[ri] or v != v:
                    readout[ri] = v
            elif rkind == R_FIRST:
                if spike and readout[ri] == NO_SPIKE:
                    readout[ri] = t
        # Reset
        if spike:
            if kind == IF:
                if flags & RELATIVE:
                    v = v - params[pp + RESET_STEP * n + j]
                else:
                    v = params[pp + V_RESET * n + j]
                if flags & REFRAC:
                    state[pops[p, P_REFRAC] + e * n + j] = params[pp + TAU_REFRAC * n + j]
                if flags & ADAPT:
                    ai = pops[p, P_A] + e * n + j
                    state[ai] = state[ai] + np.float32(1.0)
            elif kind == FS_INPUT or kind == FS_RELU:
                v = v - fs_value
            lists[l0 + count] = j
            count += 1
        if neg:
            lists[ln0 + negative] = j
            negative += 1
        if kind == IF or kind == LI or kind == FS_INPUT or kind == FS_RELU:
            state[v0 + j] = v
        if spiking_model:
            spikes[sp0 + j] = spike
    counts[p, e, 0] = count
    counts[p, e, 1] = negative


@njit(cache=True, _nrt=False)
def _run_example(e, E, nsteps, batch_step, step_t, step_i, step_f, step_d, dt,
              pops, params, conns, conn_f, incoming, ages, weights, indptr, indices, data,
              state, in_syn, readout, spikes, words, lists, counts, hist, hist_cnt,
              hist_state, inputs, silent, draws, sp_next, sp_end, sp_times,
              rec_idx, rec_off, rec_cnt, rec_pos, rec_steps, vrec, vrec_sel, vrec_pos, vrec_out,
              scratch):
    """``nsteps`` timesteps of example e of the batch (``batch_step``: how many
    steps this batch has run before). Spikes of recorded populations go to
    ``rec_idx`` (per example, in step order) with per-step counts in ``rec_cnt``;
    the recorded variables' selected neurons at their selected steps to ``vrec_out``."""
    num_pops = pops.shape[0]
    num_conns = conns.shape[0]
    tmp = scratch[0, e]
    isyn = scratch[1, e]
    for s in range(nsteps):
        for c in range(num_conns):
            _deliver(e, E, c, 1, pops, conns, ages, weights, indptr, indices, data,
                     in_syn, lists, counts, hist, hist_cnt, hist_state, tmp)
            if conns[c, C_SIGNED]:
                _deliver(e, E, c, -1, pops, conns, ages, weights, indptr, indices, data,
                         in_syn, lists, counts, hist, hist_cnt, hist_state, tmp)
        for p in range(num_pops):
            path = pops[p, P_PATH]
            if path == PATH_SOURCE:
                _update_source(e, p, s, pops, spikes, words, lists, counts, inputs,
                               silent, draws, nsteps)
            elif path == PATH_SPIKE_TIMES:
                _update_spike_times(e, p, s, pops, spikes, words, lists, counts, sp_next,
                                    sp_end, sp_times, step_t)
            elif path == PATH_PLAIN or path == PATH_PLAIN_INPUT:
                # A value input without synapses reads its input, not isyn
                if path == PATH_PLAIN:
                    _currents(e, p, pops, conns, conn_f, incoming, in_syn, isyn)
                _update_plain(e, p, s, pops, params, state, readout, spikes, words,
                              lists, counts, inputs, isyn, step_t, step_i, step_f, step_d)
            else:
                _update(e, p, s, pops, params, conns, conn_f, incoming, in_syn, state,
                        readout, spikes, lists, counts, inputs, silent, draws, nsteps,
                        sp_next, sp_end, sp_times, step_t, step_i, step_f, step_d, dt)
            slot = pops[p, P_REC]
            if slot >= 0:
                n = pops[p, P_N]
                m = np.uint64(counts[p, e, 0])
                pos = rec_pos[slot, e]
                base = np.uint64(rec_off[slot] + e * (n * rec_steps) + pos)
                l0 = np.uint64(pops[p, P_LIST] + e * n)
                for k in range(m):
                    rec_idx[base + k] = lists[l0 + k]
                rec_pos[slot, e] = pos + np.int64(m)
                rec_cnt[(slot * E + e) * rec_steps + batch_step + s] = m
        b = batch_step + s
        for r in range(vrec.shape[0]):
            if b >= vrec[r, V_POSLEN]:
                continue
            position = vrec_pos[vrec[r, V_POS] + b]
            if position < 0:
                continue
            n = vrec[r, V_N]
            nsel = np.uint64(vrec[r, V_NSEL])
            src = np.uint64(vrec[r, V_OFF] + e * n)
            out = np.uint64(vrec[r, V_OUT] + (e * vrec[r, V_NPOS] + position) * nsel)
            if nsel == n:
                # Every neuron (the selection is sorted and unique): a plain copy
                for k in range(nsel):
                    vrec_out[out + k] = state[src + k]
            else:
                sel = np.uint64(vrec[r, V_SEL])
                for k in range(nsel):
                    vrec_out[out + k] = state[src + np.uint64(vrec_sel[sel + k])]


# The entry points release the interpreter lock while they run (nogil): a store's
# writer thread, or a Dask worker's event loop, then runs beside the simulation
# instead of waiting for the whole call to end.
@njit(parallel=True, cache=True, nogil=True, _nrt=False)
def run_steps(E, *args):
    """``_run_example`` for every example of the batch, in parallel threads."""
    for e in prange(E):
        _run_example(e, E, *args)


@njit(cache=True, nogil=True, _nrt=False)
def run_steps_serial(E, *args):
    """``_run_example`` for every example, on the calling thread (one example, or
    one thread: no parallel region to start)."""
    for e in range(E):
        _run_example(e, E, *args)


@njit(parallel=True, cache=True, nogil=True, _nrt=False)
def gather_spikes(E, n, steps, rec_idx, rec_off, rec_cnt, slot, rec_steps, timesteps, starts,
                  out_steps, out_ids):
    """One recorded population's spikes of the batch's ``steps`` steps into
    ``out_steps`` (int32 timestep, ``timesteps`` giving each step's) and
    ``out_ids`` (int32 neuron), example by example from ``starts[e]`` (the sums of
    the examples' counts before e), each example's in time order and neurons
    ascending within a step: the order the kernels keep them in, so a copy, one
    example per thread."""
    for e in prange(E):
        src = np.uint64(rec_off[slot] + e * (n * rec_steps))
        k = np.uint64(starts[e])
        counts = np.uint64((slot * E + e) * rec_steps)
        for s in range(steps):
            m = np.uint64(rec_cnt[counts + np.uint64(s)])
            t = timesteps[s]
            for i in range(m):
                out_steps[k + i] = t
                out_ids[k + i] = rec_idx[src + i]
            src += m
            k += m
