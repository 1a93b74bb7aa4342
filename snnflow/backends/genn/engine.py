"""GennEngine: the network as one GeNN model, built by pygenn and run on GeNN's
best available backend (CUDA where present, else the single-threaded CPU one)."""
from __future__ import annotations

import os

import numpy as np
import pygenn
from pygenn import (GeNNModel, create_neuron_model, create_postsynaptic_model,
                    create_weight_update_model, init_postsynaptic, init_weight_update)
from pygenn.genn_model import backend_modules

from ...connectivity.connectivity import connection_synapses
from ..engine import Engine
from .build_cache import MODEL_NAME, build_cache, content_key
from .connectivity import SynapseLayout
from .models import (STATE_NAMES, WEIGHT_UPDATE, neuron_definition, poisson_keys,
                     postsynaptic_definition)
from .resets import RESET_IN_SYN, RESET_READOUTS, RESET_VARS, BatchResets
from .spike_arrays import RecordingBuffer

F32 = np.float32
#: pygenn lists its backends best first
BACKEND = next(iter(backend_modules))
#: GPU backends simulate any batch size; the CPU one one example at a time
BATCHED_BACKENDS = ("cuda", "hip", "opencl")


def device_preferences() -> tuple[dict, tuple]:
    """GeNN's backend preferences and what of them identifies the device a build is
    for. On CUDA the model runs on one chosen GPU, the first this process sees
    (a dask-cuda worker sees only its own) unless SNNFLOW_GENN_DEVICE names another,
    rather than the one GeNN's default would pick when it builds; the device's
    identity goes into the build's key, so a build never serves another GPU.
    SNNFLOW_GENN_BLOCK_SIZE=manual skips GeNN's block-size search (one compiler run
    less per build; GeNN's default block sizes instead of tuned ones)."""
    if BACKEND != "cuda":
        return {}, (BACKEND,)
    from pygenn import cuda_backend
    device = int(os.environ.get("SNNFLOW_GENN_DEVICE", "0"))
    preferences = {"device_select_method": cuda_backend.DeviceSelect.MANUAL,
                   "manual_device_id": device}
    if os.environ.get("SNNFLOW_GENN_BLOCK_SIZE") == "manual":
        preferences["block_size_select_method"] = cuda_backend.BlockSizeSelect.MANUAL
    return preferences, (BACKEND, os.environ.get("CUDA_VISIBLE_DEVICES"), device,
                         os.environ.get("SNNFLOW_GENN_BLOCK_SIZE"))


class PopulationModel:
    """A population's neuron group, its definition and, if it spikes, its recording."""

    def __init__(self, pop, group, definition):
        self.pop = pop
        self.group = group
        self.definition = definition
        self.recording = None


class ConnectionModel:
    """A connection's synapse group, its synapses as described (delays never change
    during a run, so they are read from here), weight layout and postsynaptic
    definition. ``models`` keeps the group's pygenn models alive: the group does not."""

    def __init__(self, conn, group, synapses, layout, synapse, models):
        self.conn = conn
        self.group = group
        self.synapses = synapses
        self.layout = layout
        self.synapse = synapse
        self.models = models


class GennEngine(Engine):
    """Simulates with GeNN, float32 throughout, in GeNN's (and the NumPy engine's)
    order: delivery of last step's spikes, then each population's update, threshold
    test, readout and reset. State lives on the device; reads pull on demand."""

    device = f"GeNN's {BACKEND}"
    max_batch_size = None if BACKEND in BATCHED_BACKENDS else 1

    def __init__(self, network, **options):
        super().__init__(network, **options)
        preferences, device_key = device_preferences()
        model = GeNNModel("float", MODEL_NAME, backend=BACKEND, **preferences)
        model.dt = self.dt
        model.timing_enabled = self.kernel_profiling
        model.batch_size = self.batch_size
        # Drawn in the NumPy engine's order, so initializers give the same numbers
        rng = np.random.default_rng(self.rng_seed)
        self.pops = {}
        structure = [pygenn.__version__, device_key, self.dt, self.batch_size]
        for index, pop in enumerate(network.populations):
            definition = neuron_definition(pop, rng, self.dt, self.evaluate_timesteps)
            group = model.add_neuron_population(
                f"p{index:04d}", pop.num_neurons, create_neuron_model(**definition.code),
                definition.params, {**definition.state, **definition.constants,
                                    **self._readout_init(definition, pop)})
            if definition.code["class_name"] == "SpikeInput":
                # Room for the batch's spikes (compiled networks check the budget)
                group.extra_global_params["SpikeTimes"].set_init_values(
                    np.zeros(pop.neuron.max_spikes, dtype=F32))
            group.spike_recording_enabled = definition.spiking
            self.pops[pop] = PopulationModel(pop, group, definition)
            structure.append((pop.num_neurons, definition.code, definition.params))
        self.conns = {}
        for index, conn in enumerate(network.connections):
            synapses = connection_synapses(conn, rng)
            layout = SynapseLayout(conn, synapses)
            synapse = postsynaptic_definition(conn.synapse, self.dt)
            weight_update, weight_vars = layout.weight_update(WEIGHT_UPDATE)
            models = (create_weight_update_model(**weight_update),
                      create_postsynaptic_model(**synapse.code))
            # Zero-padded names keep GeNN's order of incoming currents the creation order
            group = model.add_synapse_population(
                f"c{index:04d}", layout.matrix_type, self.pops[conn.source].group,
                self.pops[conn.target].group,
                init_weight_update(models[0], {}, weight_vars),
                init_postsynaptic(models[1], synapse.params, synapse.state))
            if layout.delay_slots:
                group.max_dendritic_delay_timesteps = layout.delay_slots
            if layout.matrix_type == "SPARSE":
                group.set_sparse_connections(layout.pre, layout.post)
                # After the connections, which set it to the longest row (maybe 0)
                group.max_connections = layout.max_row_length
            self.conns[conn] = ConnectionModel(conn, group, synapses, layout, synapse, models)
            structure.append((network.populations.index(conn.source),
                              network.populations.index(conn.target), layout.structure(),
                              synapse.code, synapse.params))
        self.resets = BatchResets(model, self.pops, self.conns)
        self.key = content_key(structure)
        build_cache.build(model, self.key, self)
        model.load(num_recording_timesteps=self.evaluate_timesteps)
        for state in self.pops.values():
            if state.definition.spiking:
                state.recording = RecordingBuffer(model, state.group, state.pop.num_neurons,
                                                  self.batch_size, self.evaluate_timesteps)
        self.model = model
        self._num_examples = 0
        self._first_timestep = 0
        self._spikes = {}
        # Whether the recording buffers were pulled since the last step
        self._pulled = False

    @staticmethod
    def _readout_init(definition, pop):
        if definition.readout_start is None:
            return {}
        return {"Readout": np.full(pop.num_neurons, definition.readout_start, dtype=F32)}

    @property
    def timestep(self):
        return self.model.timestep

    def start_batch(self, inputs, example_indices):
        num_examples = len(example_indices)
        fresh = self.reset_vars_between_batches or num_examples != self._num_examples
        if fresh:
            self.resets.run(RESET_VARS)
        if fresh or self.reset_in_syn_between_batches:
            self.resets.run(RESET_IN_SYN)
        self.resets.run(RESET_READOUTS)
        if self.reset_time_between_batches:
            self.model.timestep = 0
        # After the clock is set: a PoissonInput counts its steps from here
        self.load_inputs(inputs, example_indices)
        self._first_timestep = self.model.timestep
        self._num_examples = num_examples
        self._spikes = {}
        self._pulled = False

    def load_inputs(self, inputs, example_indices):
        # The examples' data comes from the host: a push, not a custom update
        for pop, values in inputs.items():
            self._load_input(self.pops[pop], values, example_indices)

    def custom_update(self, name):
        self.check_custom_update(name)
        resets = self.CUSTOM_UPDATES[name]
        for reset, group in (("vars", RESET_VARS), ("in_syn", RESET_IN_SYN),
                             ("readouts", RESET_READOUTS)):
            if reset in resets:
                self.resets.run(group)

    def reset_time(self):
        self.model.timestep = 0

    def connectivity(self, conn):
        layout = self.conns[conn].layout
        if layout.matrix_type != "SPARSE":
            return None
        return np.asarray(layout.pre, dtype=np.int64), np.asarray(layout.post, dtype=np.int64)

    def _load_input(self, state, values, example_indices):
        group = state.group
        num_examples = len(example_indices)
        if state.definition.code["class_name"] == "SpikeInput":
            self._load_spike_trains(state, values)
            return
        if state.definition.random:
            # Each example's draws restart from its own key, as the NumPy engine's streams
            index = self.network.populations.index(state.pop)
            keys = group.vars["ExampleKey"].view.reshape(self.batch_size)
            keys[:num_examples] = poisson_keys(self.rng_seed, index, example_indices)
            group.vars["FirstStep"].view[...] = self.model.timestep
            for name in ("ExampleKey", "FirstStep"):
                group.vars[name].push_to_device()
        batch = group.vars["Input"].view.reshape(self.batch_size, -1)
        batch[...] = 0.0
        batch[:num_examples] = np.asarray(values, dtype=F32).reshape(num_examples, -1)
        group.vars["Input"].push_to_device()

    def _load_spike_trains(self, state, trains):
        """One time array for the batch; each neuron's pending spikes are
        times[start:end], as the NumPy engine keeps them."""
        group = state.group
        n = state.pop.num_neurons
        start = np.zeros((self.batch_size, n), dtype=np.uint32)
        end = np.zeros((self.batch_size, n), dtype=np.uint32)
        offset = 0
        for example, train in enumerate(trains):
            ends = np.asarray(train.end_spikes, dtype=np.int64) + offset
            start[example] = np.concatenate([[offset], ends[:-1]])
            end[example] = ends
            offset += len(train.spike_times)
        times = group.extra_global_params["SpikeTimes"]
        if offset:
            times.view[:offset] = np.concatenate([np.asarray(t.spike_times, dtype=F32)
                                                  for t in trains])
        times.push_to_device()
        for name, value in (("StartSpike", start), ("EndSpike", end)):
            var = group.vars[name]
            var.view[...] = value.reshape(var.view.shape)
            var.push_to_device()

    def step(self):
        self.model.step_time()
        self._spikes = {}
        self._pulled = False

    def spikes(self, pop):
        state = self.pops[pop]
        if state.recording is None:
            return np.zeros((self._num_examples, pop.num_neurons), dtype=bool)
        if pop not in self._spikes:
            self._spikes[pop] = state.recording.spikes(self.model.timestep - 1)[
                :self._num_examples]
        return self._spikes[pop]

    def record_spikes(self, pop):
        """Nothing to do: every spiking population records into its GeNN buffer
        (turning recording on or off would change the build)."""

    def batch_spikes(self, pop):
        state = self.pops[pop]
        if state.recording is None:
            return (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32),
                    np.zeros(self._num_examples, dtype=np.int64))
        first, stop = self._first_timestep, self.model.timestep
        # One pull brings every population's buffer: the batch's first reader pulls
        pulled = self._pulled
        self._pulled = True
        return state.recording.steps(first, stop, self._num_examples, pulled)

    def get_var(self, pop, name):
        return self._batch_values(self._state_var(pop, name))

    def get_value(self, pop, name):
        state = self.pops[pop]
        if name == "input" and "Input" in state.group.vars:
            return self._batch_values(state.group.vars["Input"])
        if name not in state.definition.values:
            raise KeyError(f"population {pop.name} has no value {name!r}; it has "
                           f"{sorted(state.definition.values)}")
        return np.broadcast_to(np.asarray(state.definition.values[name], dtype=F32),
                               (self._num_examples, pop.num_neurons))

    def set_var(self, pop, name, values):
        var = self._state_var(pop, name)
        view = var.view.reshape(self.batch_size, -1)
        view[:self._num_examples] = np.asarray(values, dtype=F32)
        var.push_to_device()

    def _state_var(self, pop, name):
        names = pop.neuron.var_names()
        if name not in names:
            raise KeyError(f"population {pop.name} has no state variable {name!r}; "
                           f"it has {sorted(names)}")
        return self.pops[pop].group.vars[STATE_NAMES[name]]

    def readout(self, pop):
        state = self.pops[pop]
        if state.definition.readout_start is None:
            values = self.get_var(pop, "v")
        else:
            values = self._batch_values(state.group.vars["Readout"])
            if state.definition.negate_readout:
                values = -values
        return values.reshape((-1,) + pop.shape)

    def _batch_values(self, var):
        """float32 (examples, neurons) of a per-example variable, pulled now."""
        var.pull_from_device()
        return var.view.reshape(self.batch_size, -1)[:self._num_examples].copy()

    def get_conn_var(self, conn, name):
        model = self.conns[conn]
        if name == "delay":
            return model.synapses.dense_delays()
        if name != "weight":
            raise KeyError(f"connection {conn.name} has no variable {name!r}; it has "
                           f"['delay', 'weight']")
        return model.layout.dense(model.group)
