"""The NumPy engine as it was before the compiled kernels (kept as the reference
the compiled engine is checked and timed against): the whole network as batched
float32 NumPy arrays, stepped by a Python loop. The library's kernel classes give
the models' values and weights; reference_models.py adds what each does per step."""
from __future__ import annotations

import numpy as np

from reference_models import delivery, neuron_kernel, readout_kernel, synaptic_current
from snnflow.backends.engine import Engine
from snnflow.backends.numpy.propagation import propagator
from snnflow.backends.numpy.synapses import synapse_kernel
from snnflow.connectivity.connectivity import Synapses, connection_synapses

F32 = np.float32


class PopulationState:
    """A population's kernel, its (examples, neurons) state and last step's spikes."""

    def __init__(self, pop, kernel, readout):
        self.pop = pop
        self.kernel = kernel
        self.readout = readout
        self.state = {}
        self.spikes = None
        self.spiking = None
        #: last step's negative spikes (signed sources): (bool, flat indices) or None
        self.negative = None
        self.incoming = []


class ConnectionState:
    """A connection's weights (its propagator), their delivery (with the spikes
    its delays hold back), synapse kernel and (examples, n_post) inSyn."""

    def __init__(self, conn, synapses, propagator, synapse, negative_delivery=None):
        self.conn = conn
        self.synapses = synapses
        self.propagator = propagator
        self.delivery = delivery(propagator)
        #: delivers a signed source's negative spikes through the negated weights
        self.negative_delivery = negative_delivery
        self.synapse = synapse
        self.in_syn = None


class ReferenceEngine(Engine):
    """Simulates on the CPU with NumPy/SciPy; any batch size, float32 throughout.

    Per step (GeNN's order): every connection delivers the spikes its source
    emitted in the previous step, then each population turns its synaptic input
    into current, updates, spikes and resets, and its readout accumulates."""

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
            negative = None
            if getattr(conn.source.neuron, "signed_spikes", False):
                negative = delivery(propagator(Synapses(-synapses.matrix, synapses.delays)))
            state = ConnectionState(conn, synapses, propagator(synapses),
                                    synapse_kernel(conn.synapse, self.dt), negative)
            self.conns.append(state)
            self.pops[conn.target].incoming.append(state)
        self._timestep = 0
        self._num_examples = 0
        # {recorded population: its spike indices, step by step}; the timesteps
        # of those steps (shared by every recorded population)
        self._recorded_spikes = {}
        self._recorded_timesteps = []

    @property
    def timestep(self):
        return self._timestep

    def start_batch(self, inputs, example_indices):
        num_examples = len(example_indices)
        fresh = self.reset_vars_between_batches or num_examples != self._num_examples
        for state in self.pops.values():
            n = state.pop.num_neurons
            if fresh:
                state.state = {name: _filled((num_examples, n), value)
                               for name, value in state.kernel.initial_state().items()}
                state.spikes = np.zeros((num_examples, n), dtype=bool)
                state.spiking = np.zeros(0, dtype=np.int64)
                state.negative = None
            if state.readout is not None:
                state.readout.reset(num_examples, n)
        self.load_inputs(inputs, example_indices)
        for conn in self.conns:
            if fresh or self.reset_in_syn_between_batches:
                conn.in_syn = np.zeros((num_examples, conn.conn.target.num_neurons), dtype=F32)
                # Delayed spikes are input on its way: they go with it
                self._forget_in_flight(conn)
        if self.reset_time_between_batches:
            self._timestep = 0
        self._num_examples = num_examples
        for steps in self._recorded_spikes.values():
            steps.clear()
        self._recorded_timesteps.clear()

    def load_inputs(self, inputs, example_indices):
        for pop, values in inputs.items():
            self.pops[pop].kernel.load_input(values, example_indices)

    def custom_update(self, name):
        self.check_custom_update(name)
        resets = self.CUSTOM_UPDATES[name]
        for state in self.pops.values():
            if "vars" in resets:
                for var, initial in state.kernel.initial_state().items():
                    state.state[var][...] = initial
                state.spikes[...] = False
                state.spiking = np.zeros(0, dtype=np.int64)
                state.negative = None
            if "readouts" in resets and state.readout is not None:
                state.readout.reset(self._num_examples, state.pop.num_neurons)
        if "in_syn" in resets:
            for conn in self.conns:
                conn.in_syn[...] = 0.0
                self._forget_in_flight(conn)

    def reset_time(self):
        self._timestep = 0

    @staticmethod
    def _forget_in_flight(conn):
        conn.delivery.forget()
        if conn.negative_delivery is not None:
            conn.negative_delivery.forget()

    def connectivity(self, conn):
        matrix = next(c.propagator.matrix for c in self.conns if c.conn == conn)
        if isinstance(matrix, np.ndarray):
            return None
        coo = matrix.tocoo()
        return coo.row.astype(np.int64), coo.col.astype(np.int64)

    def step(self):
        t = F32(self._timestep) * F32(self.dt)
        for conn in self.conns:
            source = self.pops[conn.conn.source]
            conn.delivery.deliver(source.spikes, source.spiking, conn.in_syn)
            if conn.negative_delivery is not None:
                negative = source.negative
                if negative is None:
                    negative = (np.zeros_like(source.spikes), np.zeros(0, dtype=np.int64))
                conn.negative_delivery.deliver(*negative, conn.in_syn)
        for state in self.pops.values():
            isyn = None
            for conn in state.incoming:
                current = synaptic_current(conn.synapse, conn.in_syn)
                isyn = current if isyn is None else isyn + current
            if isyn is None:
                isyn = F32(0.0)
            spikes = state.kernel.update(state.state, isyn, t)
            if spikes is not None:
                state.spikes, state.spiking = spikes
                state.negative = state.kernel.negative
            if state.readout is not None:
                state.readout.update(state.state.get("v"), state.spikes, t)
            if spikes is not None:
                state.kernel.reset(state.state, state.spikes, state.spiking)
        # The kernels' index arrays are new each step (or never change): keeping
        # references is enough
        for pop, steps in self._recorded_spikes.items():
            steps.append(self.pops[pop].spiking)
        if self._recorded_spikes:
            self._recorded_timesteps.append(self._timestep)
        self._timestep += 1

    def spikes(self, pop):
        return self.pops[pop].spikes

    def record_spikes(self, pop):
        self._recorded_spikes.setdefault(pop, [])

    def batch_spikes(self, pop):
        steps = self._recorded_spikes[pop]
        flat = np.concatenate(steps) if steps else np.zeros(0, dtype=np.int64)
        timesteps = np.repeat(np.array(self._recorded_timesteps, dtype=np.int32),
                              [len(s) for s in steps])
        # Example by example (the engine interface's order), time order kept
        examples, ids = np.divmod(flat, pop.num_neurons)
        order = np.argsort(examples, kind="stable")
        return (timesteps[order], ids[order].astype(np.int32),
                np.bincount(examples, minlength=self._num_examples))

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
        try:
            return state.kernel.parameter(name, self._num_examples)
        except KeyError:
            raise KeyError(f"population {pop.name} has no value {name!r}; it has "
                           f"{sorted(state.kernel.params)}") from None

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
        return matrix if isinstance(matrix, np.ndarray) else matrix.toarray()


def _filled(shape, value):
    """A C-ordered float32 array of ``shape`` holding ``value`` (broadcast): kernels
    update state in place through flat views, which need C order."""
    array = np.empty(shape, dtype=F32)
    array[...] = value
    return array
