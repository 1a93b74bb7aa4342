"""The CPU engine: the network as tables run by compiled kernels (Numba)."""
from __future__ import annotations

import numpy as np

import os

import numba

from ..engine import Engine
from .kernels import P_REC, gather_spikes, run_steps, run_steps_serial
from .neurons import neuron_kernel
from ...connectivity.connectivity import Synapses, connection_synapses, uniform_delays
from .propagation import propagator
from .readouts import NO_SPIKE, FirstSpikeTimeKernel, readout_kernel
from .synapses import synapse_kernel
from .tables import NetworkTables, step_values

F32 = np.float32
#: Below this many neuron updates in one call, the examples run on the calling
#: thread: starting threads and waiting for the slowest costs more than they
#: save, and far more on a busy machine (a training step runs one timestep)
PARALLEL_MIN_NEURON_STEPS = 100_000


class PopulationState:
    """A population's kernel, its (examples, neurons) state and last step's spikes."""

    def __init__(self, pop, kernel, readout):
        self.pop = pop
        self.kernel = kernel
        self.readout = readout
        self.state = {}
        self.spikes = None
        self.incoming = []


class ConnectionState:
    """A connection's weights and delays (its propagator's matrices, which the
    tables copy), synapse kernel and (examples, n_post) inSyn."""

    def __init__(self, conn, synapses, propagator, synapse, signed=False):
        self.conn = conn
        self.synapses = synapses
        self.propagator = propagator
        #: the source emits negative spikes too, which the kernels deliver by
        #: subtracting the weights
        self.signed = signed
        self.synapse = synapse
        self.in_syn = None


class NumpyEngine(Engine):
    """Simulates on the CPU: the network as tables and flat float32 buffers, run by
    the compiled kernels of ``kernels.py`` (Numba); any batch size.

    Per step (GeNN's order): every connection delivers the spikes its source
    emitted in the previous step, then each population turns its synaptic input
    into current, updates, spikes and resets, and its readout accumulates.
    ``run`` runs many steps in one call to compiled code; ``step`` runs one."""

    #: keeps variables of selected neurons and steps itself (``record_var``)
    records_vars = True

    def __init__(self, network, **options):
        super().__init__(network, **options)
        # One generator, drawn in description order, makes builds reproducible
        rng = np.random.default_rng(self.rng_seed)
        self.pops = {}
        for index, pop in enumerate(network.populations):
            kernel = neuron_kernel(pop.neuron, pop.shape, rng, self.dt,
                                   seed_key=(self.rng_seed, index))
            readout = (None if pop.neuron.readout is None
                       else readout_kernel(pop.neuron.readout, self.evaluate_timesteps))
            self.pops[pop] = PopulationState(pop, kernel, readout)
        self.conns = []
        for conn in network.connections:
            synapses = connection_synapses(conn, rng)
            state = ConnectionState(conn, synapses, propagator(synapses),
                                    synapse_kernel(conn.synapse, self.dt),
                                    getattr(conn.source.neuron, "signed_spikes", False))
            self.conns.append(state)
            self.pops[conn.target].incoming.append(state)
        self._timestep = 0
        self._num_examples = 0
        self._num_neurons = sum(pop.num_neurons for pop in network.populations)
        self._threads = 1
        self._tables = NetworkTables(self)
        self._buffers = None
        # Spike recording: {population: slot}; the engine timesteps of the batch's steps
        self._recorded = {}
        self._batch_step = 0
        self._batch_timesteps = []
        self._var_recordings = []
        self._step_cache = {}

    @property
    def timestep(self):
        return self._timestep

    def start_batch(self, inputs, example_indices):
        num_examples = len(example_indices)
        # New tables (set_delays) need buffers laid out for them
        stale = self._buffers is None or self._buffers.tables is not self._tables
        fresh = self.reset_vars_between_batches or stale or num_examples != self._num_examples
        if stale or num_examples != self._num_examples:
            self._buffers = self._tables.allocate(self, num_examples)
        self._num_examples = num_examples
        if fresh:
            self._reset_vars()
        for state in self.pops.values():
            if state.readout is not None:
                self._reset_readout(state)
        self.load_inputs(inputs, example_indices)
        if fresh or self.reset_in_syn_between_batches:
            self._reset_in_syn()
        if self.reset_time_between_batches:
            self._timestep = 0
        self._batch_step = 0
        self._batch_timesteps = []
        self._threads = _set_threads()
        self._buffers.rec_pos[...] = 0
        self._var_recordings = []
        self._buffers.set_var_recordings([])

    def load_inputs(self, inputs, example_indices):
        for pop, values in inputs.items():
            self.pops[pop].kernel.load_input(values, example_indices)
        self._buffers.load_inputs(self, inputs)

    def _reset_vars(self):
        buffers = self._buffers
        for state in self.pops.values():
            for var, initial in state.kernel.initial_state().items():
                state.state[var][...] = initial
            state.spikes[...] = False
        buffers.counts[...] = 0

    def _reset_readout(self, state):
        if isinstance(state.readout, FirstSpikeTimeKernel):
            state.readout.value[...] = NO_SPIKE
        elif state.readout.value is not None:
            state.readout.value[...] = 0.0

    def _reset_in_syn(self):
        # Delayed spikes are input on its way: they go with it
        self._buffers.in_syn[...] = 0.0
        self._buffers.hist_state[...] = 0

    def custom_update(self, name):
        self.check_custom_update(name)
        resets = self.CUSTOM_UPDATES[name]
        if "vars" in resets:
            self._reset_vars()
        if "readouts" in resets:
            for state in self.pops.values():
                if state.readout is not None:
                    self._reset_readout(state)
        if "in_syn" in resets:
            self._reset_in_syn()

    def reset_time(self):
        self._timestep = 0

    def connectivity(self, conn):
        matrix = next(c.propagator.matrix for c in self.conns if c.conn == conn)
        if isinstance(matrix, np.ndarray):
            return None
        coo = matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64)

    def set_delays(self, delays: dict):
        """Between batches, give connections new delays: {Connection: whole steps,
        an int or an array laid out as its weights (the dense matrix's shape, or
        its CSR data)}. Each connection's delivery is rebuilt from its current
        weights (``propagator.matrix``) and the tables with it, so arrays taken
        from the engine before (weight views) must be taken again; the next batch
        starts from the initial state, while the last batch's results stay
        readable until then. Delays are checked against the connection's
        max_delay_steps."""
        for conn, values in delays.items():
            state = next(c for c in self.conns if c.conn == conn)
            values = np.asarray(values)
            matrix = state.propagator.matrix
            layout = matrix.shape if isinstance(matrix, np.ndarray) else matrix.data.shape
            if values.ndim and values.shape != layout:
                raise ValueError(f"connection {conn.name}: delays of shape {values.shape}, "
                                 f"expected {layout} (laid out as its weights)")
            if not np.issubdtype(values.dtype, np.integer) or np.min(values, initial=0) < 0 \
                    or (conn.max_delay_steps is not None
                        and np.max(values, initial=0) > conn.max_delay_steps):
                raise ValueError(f"connection {conn.name}: delays must be whole steps in "
                                 f"[0, max_delay_steps={conn.max_delay_steps}], got "
                                 f"{values.dtype} values in [{np.min(values, initial=0)}, "
                                 f"{np.max(values, initial=0)}]")
            state.synapses = Synapses(matrix, uniform_delays(values.astype(np.int64)))
            state.propagator = propagator(state.synapses)
        self._tables = NetworkTables(self)
        for pop, slot in self._recorded.items():
            self._tables.pops[self._tables.index[pop], P_REC] = slot
        # The batch's buffers stay readable (recorders read them after the
        # update); the next batch gets buffers sized for the new delays

    def step(self):
        self.run(1)

    def run(self, timesteps):
        """Run ``timesteps`` steps of the batch in compiled code, without returning
        to Python in between."""
        if timesteps <= 0:
            return
        tables, buffers = self._tables, self._buffers
        step_t, step_i, step_f, step_d = self._step_values(self._timestep, timesteps)
        buffers.prepare(timesteps, self._batch_step + timesteps, len(self._recorded),
                        self.evaluate_timesteps)
        parallel = self._threads > 1 and self._num_examples > 1 and \
            self._num_examples * timesteps * self._num_neurons >= PARALLEL_MIN_NEURON_STEPS
        kernel = run_steps if parallel else run_steps_serial
        kernel(self._num_examples, timesteps, self._batch_step, step_t, step_i, step_f,
               step_d, F32(self.dt), buffers.pops, tables.params, buffers.conns,
               tables.conn_f, tables.incoming, tables.ages, tables.weights, tables.indptr,
               tables.indices, tables.data, buffers.state, buffers.in_syn, buffers.readout,
               buffers.spikes, buffers.spike_words, buffers.lists, buffers.counts,
               buffers.hist, buffers.hist_cnt, buffers.hist_state, buffers.inputs,
               buffers.silent, buffers.draws, buffers.sp_next, buffers.sp_end,
               buffers.sp_times, buffers.rec_idx, buffers.rec_off, buffers.rec_cnt,
               buffers.rec_pos, buffers.rec_steps, buffers.vrec, buffers.vrec_sel,
               buffers.vrec_pos, buffers.vrec_out, buffers.scratch)
        self._batch_timesteps.append((self._timestep, timesteps))
        self._batch_step += timesteps
        self._timestep += timesteps

    def _step_values(self, first, count):
        """What depends only on the step, for steps first .. first + count - 1,
        computed with the reference's float32 arithmetic (cached)."""
        key = (first, count)
        values = self._step_cache.get(key)
        if values is None:
            if len(self._step_cache) > 4096:
                self._step_cache.clear()
            values = step_values(self, first, count)
            self._step_cache[key] = values
        return values

    def spikes(self, pop):
        return self.pops[pop].spikes.copy()

    def record_spikes(self, pop):
        if pop not in self._recorded:
            self._recorded[pop] = len(self._recorded)
            self._tables.pops[self._tables.index[pop], P_REC] = self._recorded[pop]
            if self._buffers is not None:
                self._buffers.rec_steps = 0

    def batch_spikes(self, pop):
        buffers = self._buffers
        if buffers.rec_steps == 0 or self._batch_step == 0:
            return (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32),
                    np.zeros(self._num_examples, dtype=np.int64))
        slot = self._recorded[pop]
        counts = buffers.rec_pos[slot].copy()
        starts = np.concatenate([[0], np.cumsum(counts)])
        timesteps = np.empty(starts[-1], dtype=np.int32)
        ids = np.empty(starts[-1], dtype=np.int32)
        gather_spikes(self._num_examples, pop.num_neurons, self._batch_step, buffers.rec_idx,
                      buffers.rec_off, buffers.rec_cnt, slot, buffers.rec_steps,
                      np.concatenate([np.arange(first, first + count, dtype=np.int32)
                                      for first, count in self._batch_timesteps]),
                      starts, timesteps, ids)
        return timesteps, ids, counts

    def record_var(self, pop, name, neurons, timesteps):
        """Keep state variable ``name`` of ``neurons`` (sorted indices) of ``pop``
        after each of the batch's steps whose number (from the batch's first step)
        ``timesteps`` (a boolean mask) selects, for ``batch_var``; called before the
        batch's first step. Returns a handle for ``batch_var``."""
        self._var(pop, name)
        self._var_recordings.append((pop, name, np.asarray(neurons, dtype=np.int64),
                                     np.asarray(timesteps, dtype=bool)))
        self._buffers.set_var_recordings(self._var_recordings)
        return len(self._var_recordings) - 1

    def batch_var(self, handle):
        """float32 (examples, selected steps, selected neurons) of a variable
        recording: a fresh array for every batch."""
        return self._buffers.var_values(handle)

    def get_var(self, pop, name):
        return self._var(pop, name)

    def set_var(self, pop, name, values):
        np.copyto(self._var(pop, name), np.asarray(values, dtype=F32))

    def _var(self, pop, name):
        state = self.pops[pop].state
        if name not in state:
            raise KeyError(f"population {pop.name} has no state variable {name!r}; "
                           f"it has {sorted(state)}")
        return state[name]

    def get_value(self, pop, name):
        state = self.pops[pop]
        kernel = state.kernel
        if name == "input" and kernel.frames > 1 and self._batch_step:
            kernel._show_frame(F32(self._timestep - 1) * F32(self.dt))
        try:
            return kernel.parameter(name, self._num_examples)
        except KeyError:
            raise KeyError(f"population {pop.name} has no value {name!r}; it has "
                           f"{sorted(kernel.params)}") from None

    def readout(self, pop):
        state = self.pops[pop]
        return state.readout.result(state.state.get("v")).reshape((-1,) + pop.shape)

    def get_conn_var(self, conn, name):
        state = next(c for c in self.conns if c.conn == conn)
        if name == "delay":
            return state.synapses.dense_delays()
        if name != "weight":
            raise KeyError(f"connection {conn.name} has no variable {name!r}; it has "
                           f"['delay', 'weight']")
        matrix = state.propagator.matrix
        return matrix.copy() if isinstance(matrix, np.ndarray) else matrix.toarray()


def _set_threads():
    """Honour a thread limit set for this process (a Dask worker's nanny sets
    OMP_NUM_THREADS=1) unless Numba's own is given; the threads to use."""
    threads = numba.get_num_threads()
    if THREAD_LIMIT is not None and threads > THREAD_LIMIT:
        numba.set_num_threads(THREAD_LIMIT)
        return THREAD_LIMIT
    return threads


def _thread_limit(environ):
    if "NUMBA_NUM_THREADS" in environ:
        return None
    try:
        return max(1, int(environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return None


#: The process's thread limit as it started. Read once: a Dask nanny started in
#: this process sets OMP_NUM_THREADS=1 in its environment for the workers it
#: spawns, which must not make the driver's own runs single-threaded
THREAD_LIMIT = _thread_limit(os.environ)


def _filled(shape, value):
    """A C-ordered float32 array of ``shape`` holding ``value`` (broadcast): kernels
    update state in place through flat views, which need C order."""
    array = np.empty(shape, dtype=F32)
    array[...] = value
    return array
