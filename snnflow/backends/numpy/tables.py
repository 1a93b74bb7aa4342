"""The network as the compiled kernels read it: integer tables and flat buffers.

``NetworkTables`` is built once per engine (parameters, weights, who connects to
whom); ``Buffers`` holds one batch's state, sized by its number of examples, each
variable a block whose (examples, neurons) view the engine hands out, so what
Python reads and writes between steps is what the kernels use."""
from __future__ import annotations

import numpy as np

from . import kernels as k
from . import neurons as nk
from . import readouts as rk
from .synapses import ExponentialKernel

F32 = np.float32

_READOUTS = {rk.SpikeCountKernel: k.R_COUNT, rk.VarKernel: k.R_VAR, rk.AvgVarKernel: k.R_AVG,
             rk.AvgVarExpWeightKernel: k.R_AVG_EXP, rk.SumVarKernel: k.R_SUM,
             rk.MaxVarKernel: k.R_MAX, rk.FirstSpikeTimeKernel: k.R_FIRST}
_STATE_COLUMNS = {"v": k.P_V, "refrac_time": k.P_REFRAC, "a": k.P_A, "fx": k.P_FX}


def _kind_and_flags(kernel):
    model = kernel.model
    if isinstance(kernel, nk.IntegrateFireKernel):
        flags = 0
        if kernel.alpha is not None:
            flags |= k.HAS_ALPHA
        if kernel.input_scale is not None:
            flags |= k.SCALE_I
        if kernel.tau_refrac is not None:
            flags |= k.REFRAC
        if kernel.integrate_during_refrac:
            flags |= k.INTEGRATE_REFRAC
        if kernel.relative_reset:
            flags |= k.RELATIVE
        if isinstance(kernel, nk.AdaptiveLeakyIntegrateFireKernel):
            flags |= k.ADAPT
        if model.input_kind is not None:
            flags |= k.VALUE_INPUT
        return k.IF, flags
    if isinstance(kernel, nk.LeakyIntegrateKernel):
        return k.LI, k.SCALE_I if kernel.input_scale is not None else 0
    if isinstance(kernel, nk.SpikeInputKernel):
        return k.SPIKE_INPUT, 0
    if isinstance(kernel, (nk.PoissonInputKernel, nk.BinarySpikeInputKernel)):
        kind = k.POISSON if isinstance(kernel, nk.PoissonInputKernel) else k.BINARY
        return kind, k.SIGNED if kernel.signed else 0
    if isinstance(kernel, nk.FewSpikeReluInputKernel):
        return k.FS_INPUT, k.FS_SIGNED if kernel.signed else 0
    if isinstance(kernel, nk.FewSpikeReluKernel):
        return k.FS_RELU, 0
    raise TypeError(f"the CPU engine has no kernel for {type(kernel).__name__}")


def _path(row):
    """The update function a population's step takes: a vectorised one where the
    model allows (see kernels.py), else the general per-neuron one."""
    kind, flags = row[k.P_KIND], row[k.P_FLAGS]
    unsynapsed = row[k.P_IN_START] == row[k.P_IN_END]
    no_readout = row[k.P_READOUT] == k.R_NONE
    if kind in (k.POISSON, k.BINARY) and not flags & k.SIGNED and no_readout \
            and row[k.P_FRAMES] == 1 and unsynapsed:
        return k.PATH_SOURCE
    if kind == k.SPIKE_INPUT and no_readout and unsynapsed:
        return k.PATH_SPIKE_TIMES
    if kind == k.LI or (kind == k.IF and not flags & (k.REFRAC | k.ADAPT)):
        # A value input without synapses reads its input and needs no current
        return k.PATH_PLAIN_INPUT if flags & k.VALUE_INPUT and unsynapsed else k.PATH_PLAIN
    return k.PATH_GENERAL


def _per_neuron(value, n):
    if value is None:
        return np.zeros(n, dtype=F32)
    return np.broadcast_to(np.asarray(value, dtype=F32), (n,))


class NetworkTables:
    """What does not change while the network runs (weights change only in place)."""

    def __init__(self, engine):
        states = list(engine.pops.values())
        self.states = states
        self.index = {state.pop: i for i, state in enumerate(states)}
        self.pops = np.zeros((len(states), k.P_COLUMNS), dtype=np.int64)
        self.pops[:, k.P_REC] = -1
        params, offset, incoming = [], 0, []
        for i, state in enumerate(states):
            kernel, n = state.kernel, state.pop.num_neurons
            kind, flags = _kind_and_flags(kernel)
            row = self.pops[i]
            row[k.P_KIND], row[k.P_N], row[k.P_FLAGS] = kind, n, flags
            row[k.P_FRAMES] = kernel.frames
            row[k.P_READOUT] = k.R_NONE if state.readout is None else \
                _READOUTS[type(state.readout)]
            values = [getattr(kernel, name, None) for name in
                      ("v_thresh", "v_reset", "reset_step", "alpha", "input_scale",
                       "tau_refrac", "beta", "rho", "bias")]
            row[k.P_PARAM] = offset
            params.extend(_per_neuron(v, n) for v in values)
            offset += k.NUM_PARAMS * n
            row[k.P_IN_START] = len(incoming)
            incoming.extend(engine.conns.index(c) for c in state.incoming)
            row[k.P_IN_END] = len(incoming)
            row[k.P_PATH] = _path(row)
        self.params = np.concatenate(params) if params else np.zeros(0, F32)
        self.incoming = np.array(incoming, dtype=np.int64)
        self._build_connections(engine)
        self.scratch = max([self.scratch] + [s.pop.num_neurons for s in states])

    def _build_connections(self, engine):
        conns = engine.conns
        self.conns = np.zeros((len(conns), k.C_COLUMNS), dtype=np.int64)
        self.conn_f = np.zeros((len(conns), 2), dtype=F32)
        dense, indptr, indices, data, ages = [], [], [], [], []
        sizes = {"dense": 0, "indptr": 0, "csr": 0}
        dense_conns = []
        self.scratch = 1
        for c, state in enumerate(conns):
            row = self.conns[c]
            prop = state.propagator
            row[k.C_SRC] = self.index[state.conn.source]
            row[k.C_TGT] = self.index[state.conn.target]
            n_pre, n_post = prop.matrix.shape
            row[k.C_NPRE], row[k.C_NPOST] = n_pre, n_post
            self.scratch = max(self.scratch, n_post)
            row[k.C_SIGNED] = state.signed
            if isinstance(state.synapse, ExponentialKernel):
                row[k.C_EXP] = 1
                self.conn_f[c, 0] = state.synapse.decay
                if state.synapse.scale is not None:
                    row[k.C_SCALE] = 1
                    self.conn_f[c, 1] = state.synapse.scale
            delayed = hasattr(prop, "ages")
            matrix, is_dense = (prop.stacked, prop.stacked_dense) if delayed else \
                (prop.matrix, prop.dense)
            conn_ages = prop.ages if delayed else np.zeros(1, dtype=np.int64)
            row[k.C_NAGES], row[k.C_AGES] = len(conn_ages), sum(len(a) for a in ages)
            ages.append(np.asarray(conn_ages, dtype=np.int64))
            row[k.C_SLOTS] = int(conn_ages.max()) + 1 if delayed else 0
            if is_dense:
                row[k.C_DENSE], row[k.C_W] = 1, sizes["dense"]
                dense.append(np.ascontiguousarray(matrix, dtype=F32).ravel())
                sizes["dense"] += matrix.size
                dense_conns.append((state, delayed, row[k.C_W], matrix.shape))
            else:
                row[k.C_IP], row[k.C_IX] = sizes["indptr"], sizes["csr"]
                indptr.append(matrix.indptr.astype(np.int64))
                indices.append(matrix.indices.astype(np.int32))
                data.append(matrix.data.astype(F32))
                sizes["indptr"] += len(matrix.indptr)
                sizes["csr"] += len(matrix.data)
        self.weights = np.concatenate(dense) if dense else np.zeros(0, F32)
        self.indptr = np.concatenate(indptr) if indptr else np.zeros(0, np.int64)
        self.indices = np.concatenate(indices) if indices else np.zeros(0, np.int32)
        self.data = np.concatenate(data) if data else np.zeros(0, F32)
        self.ages = np.concatenate(ages) if ages else np.zeros(0, np.int64)
        # The propagators' dense matrices become views of the kernels' weights, so
        # what trains them in place (EventProp) changes what the kernels deliver
        for state, delayed, offset, shape in dense_conns:
            view = self.weights[offset:offset + shape[0] * shape[1]].reshape(shape)
            if delayed:
                # One delay for every synapse: the stacked matrix is the matrix
                state.propagator.stacked = view
            state.propagator.matrix = view

    def allocate(self, engine, num_examples):
        return Buffers(self, engine, num_examples)


class Buffers:
    """One batch's state: every block (examples, neurons) in one flat buffer per
    kind, each block's C-ordered view handed to the engine's states."""

    def __init__(self, tables, engine, E):
        self.tables = tables
        self.E = E
        self.pops = tables.pops.copy()
        self.poisson = np.flatnonzero(self.pops[:, k.P_KIND] == k.POISSON)
        self.conns = tables.conns.copy()
        states = tables.states
        sizes = {"state": 0, "spikes": 0, "lists": 0, "readout": 0, "inputs": 0, "sp": 0}

        def take(kind, size):
            offset = sizes[kind]
            sizes[kind] += size
            return offset

        for i, state in enumerate(states):
            row, n = self.pops[i], state.pop.num_neurons
            for var in state.kernel.initial_state():
                row[_STATE_COLUMNS[var]] = take("state", E * n)
            row[k.P_SPIKES] = take("spikes", E * k.spike_stride(n))
            row[k.P_LIST] = take("lists", E * n)
            row[k.P_NEG] = take("lists", E * n) if row[k.P_FLAGS] & k.SIGNED and \
                row[k.P_KIND] in (k.POISSON, k.BINARY) else row[k.P_LIST]
            if row[k.P_READOUT] not in (k.R_NONE, k.R_VAR):
                row[k.P_READ_OFF] = take("readout", E * n)
            if row[k.P_KIND] in (k.IF, k.POISSON, k.BINARY, k.FS_INPUT):
                row[k.P_INPUT] = take("inputs", E * row[k.P_FRAMES] * n)
            if row[k.P_KIND] == k.SPIKE_INPUT:
                row[k.P_SP] = take("sp", E * n)
        self.state = np.zeros(sizes["state"], dtype=F32)
        self.spikes = np.zeros(sizes["spikes"], dtype=np.bool_)
        #: the same flags as whole words, which the kernels scan (blocks start on words)
        self.spike_words = self.spikes.view(np.uint64)
        self.lists = np.zeros(max(sizes["lists"], 1), dtype=np.int32)
        self.counts = np.zeros((len(states), E, 2), dtype=np.int64)
        self.readout = np.zeros(sizes["readout"], dtype=F32)
        self.inputs = np.zeros(sizes["inputs"], dtype=F32)
        self.silent = np.zeros(sizes["inputs"], dtype=F32)
        self.sp_next = np.zeros(sizes["sp"], dtype=np.int64)
        self.sp_end = np.zeros(sizes["sp"], dtype=np.int64)
        self.sp_times = np.zeros(0, dtype=F32)
        self.draws = np.zeros(0, dtype=F32)
        for i, state in enumerate(states):
            row, n = self.pops[i], state.pop.num_neurons
            state.state = {var: self.state[row[_STATE_COLUMNS[var]]:
                                           row[_STATE_COLUMNS[var]] + E * n].reshape(E, n)
                           for var in state.kernel.initial_state()}
            stride = k.spike_stride(n)
            state.spikes = self.spikes[row[k.P_SPIKES]:row[k.P_SPIKES] + E * stride] \
                .reshape(E, stride)[:, :n]
            if state.readout is not None:
                state.readout.value = None if row[k.P_READOUT] == k.R_VAR else \
                    self.readout[row[k.P_READ_OFF]:row[k.P_READ_OFF] + E * n].reshape(E, n)
        in_syn, hist, hist_cnt, hist_state = 0, 0, 0, 0
        for c in range(len(engine.conns)):
            row = self.conns[c]
            row[k.C_INSYN] = in_syn
            in_syn += E * row[k.C_NPOST]
            slots = row[k.C_SLOTS]
            if slots:
                n_src = self.pops[row[k.C_SRC], k.P_N]
                row[k.C_HIST], row[k.C_HCNT], row[k.C_HSTATE] = hist, hist_cnt, hist_state
                hist += E * 2 * slots * n_src
                hist_cnt += E * 2 * slots
                hist_state += E * 2 * 2
        self.in_syn = np.zeros(in_syn, dtype=F32)
        for c, conn in enumerate(engine.conns):
            offset, n_post = self.conns[c, k.C_INSYN], self.conns[c, k.C_NPOST]
            conn.in_syn = self.in_syn[offset:offset + E * n_post].reshape(E, n_post)
        self.hist = np.zeros(hist, dtype=np.int32)
        self.hist_cnt = np.zeros(hist_cnt, dtype=np.int32)
        self.hist_state = np.zeros(hist_state, dtype=np.int64)
        #: per example: the sum of arriving rows, and the synaptic current
        self.scratch = np.empty((2, E, tables.scratch), dtype=F32)
        self.rec_steps = 0
        self.rec_idx = np.zeros(0, dtype=np.int32)
        self.rec_off = np.zeros(0, dtype=np.int64)
        self.rec_cnt = np.zeros(0, dtype=np.int32)
        self.rec_pos = np.zeros((0, E), dtype=np.int64)
        self.set_var_recordings([])

    def load_inputs(self, engine, inputs):
        E = self.E
        times_changed = False
        for pop, values in inputs.items():
            i = self.tables.index[pop]
            row, n = self.pops[i], pop.num_neurons
            kernel = self.tables.states[i].kernel
            kind = row[k.P_KIND]
            if kind == k.SPIKE_INPUT:
                self.sp_next[row[k.P_SP]:row[k.P_SP] + E * n] = kernel.next.ravel()
                self.sp_end[row[k.P_SP]:row[k.P_SP] + E * n] = kernel.end.ravel()
                times_changed = True
                continue
            size = E * row[k.P_FRAMES] * n
            block = slice(row[k.P_INPUT], row[k.P_INPUT] + size)
            values = np.asarray(values, dtype=F32)
            self.inputs[block] = values.ravel()
            if kind == k.POISSON:
                self.silent[block] = np.exp(-np.abs(values) * kernel.dt).astype(F32).ravel()
        if times_changed:
            times, offset = [], 0
            for i, state in enumerate(self.tables.states):
                if self.pops[i, k.P_KIND] == k.SPIKE_INPUT and hasattr(state.kernel, "times"):
                    self.pops[i, k.P_TIMES] = offset
                    times.append(state.kernel.times)
                    offset += len(state.kernel.times)
            self.sp_times = np.concatenate(times) if times else np.zeros(0, F32)

    def prepare(self, nsteps, needed_steps, slots, evaluate_timesteps):
        """Before running ``nsteps`` steps: the Poisson draws of those steps and
        room to record the batch's first ``needed_steps`` steps of ``slots``
        recorded populations. Cheap when there is nothing to do: a training step
        calls it once per timestep."""
        draws, offset = [], 0
        for i in self.poisson:
            state = self.tables.states[i]
            n = state.pop.num_neurons
            self.pops[i, k.P_DRAWS] = offset
            # One float32 draw per neuron per step from each example's stream,
            # in step order, as the reference draws them
            draws.append(np.stack([s.random((nsteps, n), dtype=F32)
                                   for s in state.kernel.streams]).ravel())
            offset += self.E * nsteps * n
        if draws:
            self.draws = np.concatenate(draws) if len(draws) > 1 else draws[0]
        if slots and (needed_steps > self.rec_steps or len(self.rec_off) != slots):
            self.pops[:, k.P_REC] = self.tables.pops[:, k.P_REC]
            self._grow_recording(slots, max(needed_steps, evaluate_timesteps,
                                            2 * self.rec_steps))

    def _grow_recording(self, slots, steps):
        E = self.E
        sizes = np.zeros(slots, dtype=np.int64)
        for i in range(len(self.pops)):
            slot = self.pops[i, k.P_REC]
            if slot >= 0:
                sizes[slot] = E * self.pops[i, k.P_N] * steps
        rec_off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        # Reserved, not touched: pages are only used as spikes are written
        rec_idx = np.empty(int(sizes.sum()), dtype=np.int32)
        rec_cnt = np.zeros(slots * E * steps, dtype=np.int32)
        rec_pos = np.zeros((slots, E), dtype=np.int64)
        old_slots, old_steps = len(self.rec_off), self.rec_steps
        if old_steps:
            old_cnt = self.rec_cnt.reshape(old_slots, E, old_steps)
            rec_cnt.reshape(slots, E, steps)[:old_slots, :, :old_steps] = old_cnt
            rec_pos[:old_slots] = self.rec_pos
            for i in range(len(self.pops)):
                slot, n = self.pops[i, k.P_REC], self.pops[i, k.P_N]
                if 0 <= slot < old_slots:
                    for e in range(E):
                        m = self.rec_pos[slot, e]
                        old = self.rec_off[slot] + e * n * old_steps
                        new = rec_off[slot] + e * n * steps
                        rec_idx[new:new + m] = self.rec_idx[old:old + m]
        self.rec_idx, self.rec_off, self.rec_cnt, self.rec_pos = rec_idx, rec_off, rec_cnt, \
            rec_pos
        self.rec_steps = steps

    def set_var_recordings(self, recordings):
        E = self.E
        table = np.zeros((len(recordings), k.V_COLUMNS), dtype=np.int64)
        selections, positions, out = [], [], 0
        sel_offset, pos_offset = 0, 0
        for r, (pop, name, neurons, mask) in enumerate(recordings):
            i = self.tables.index[pop]
            row = table[r]
            row[k.V_OFF] = self.pops[i, _STATE_COLUMNS[name]]
            row[k.V_N] = pop.num_neurons
            row[k.V_NSEL], row[k.V_SEL] = len(neurons), sel_offset
            npos = int(mask.sum())
            row[k.V_NPOS], row[k.V_OUT] = npos, out
            row[k.V_POS], row[k.V_POSLEN] = pos_offset, len(mask)
            selections.append(neurons)
            positions.append(np.where(mask, np.cumsum(mask) - 1, -1).astype(np.int64))
            sel_offset += len(neurons)
            pos_offset += len(mask)
            out += E * npos * len(neurons)
        self.vrec = table
        self.vrec_sel = np.concatenate(selections) if selections else np.zeros(0, np.int64)
        self.vrec_pos = np.concatenate(positions) if positions else np.zeros(0, np.int64)
        # Fresh for every batch: a sink may keep the views handed out
        self.vrec_out = np.empty(out, dtype=F32)

    def var_values(self, handle):
        row = self.vrec[handle]
        size = self.E * row[k.V_NPOS] * row[k.V_NSEL]
        return self.vrec_out[row[k.V_OUT]:row[k.V_OUT] + size].reshape(
            self.E, row[k.V_NPOS], row[k.V_NSEL])


def step_values(engine, first, count):
    """(time, ints, float32s, float64s) of steps first .. first + count - 1 for
    every population: the input frame shown, the few-spike step, threshold and
    weight, the readouts' factors; the reference's scalar arithmetic, step by step."""
    states = list(engine.pops.values())
    dt = F32(engine.dt)
    step_t = np.arange(first, first + count).astype(F32) * dt
    step_i = np.zeros((count, len(states), 3), dtype=np.int64)
    step_f = np.zeros((count, len(states), 3), dtype=F32)
    step_d = np.zeros((count, len(states)), dtype=np.float64)
    for p, state in enumerate(states):
        kernel, readout = state.kernel, state.readout
        few_spike = isinstance(kernel, (nk.FewSpikeReluInputKernel, nk.FewSpikeReluKernel))
        for s in range(count):
            t = F32(first + s) * dt
            if kernel.frames > 1:
                step_i[s, p, k.S_FRAME] = min(int(F32(t) / kernel._frame_span),
                                              kernel.frames - 1)
            if few_spike:
                step_i[s, p, k.S_FS_STEP], step_f[s, p, 0], step_f[s, p, 1], \
                    step_i[s, p, k.S_FS_MODE] = _few_spike_step(kernel, t)
            if isinstance(readout, rk.AvgVarKernel):
                step_f[s, p, 2] = readout.scale
            elif isinstance(readout, rk.AvgVarExpWeightKernel):
                scale = rk.time_scale(dt, readout.timesteps)
                weight = 1.0 if not t else np.exp(-np.float64(F32(t) * scale))
                step_d[s, p] = weight * readout.scale
    return step_t, step_i, step_f, step_d


def _few_spike_step(kernel, t):
    """(step, threshold compared, weight of arriving spikes, 1 where the
    threshold test is V < threshold) of a few-spike kernel at time t."""
    step = nk._pipeline_step(t, kernel.dt)
    if isinstance(kernel, nk.FewSpikeReluInputKernel):
        if not kernel.signed:
            return step, kernel.scale * F32(1 << (kernel.k - 1 - step)), F32(0), 0
        value = kernel.scale * F32(1 << (kernel.k // 2 - 1 - step // 2))
        return (step, value, F32(0), 0) if step % 2 == 0 else (step, -value, F32(0), 1)
    k_ = kernel.k
    value = kernel.scale * F32(1 << (k_ - 1 - step))
    if kernel.source_signed:
        sign = F32(-1.0) if step % 2 == 0 else F32(1.0)
        weight = sign * kernel.source_scale * F32(1 << (((k_ - step) % k_) // 2))
    else:
        weight = kernel.source_scale * F32(1 << ((k_ - step) % k_))
    return step, value, weight, 0
