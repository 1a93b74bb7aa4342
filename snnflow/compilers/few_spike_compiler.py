"""FewSpikeCompiler: ANNs converted to few-spike SNNs (Stöckl and Maass 2021), as
mlGeNN's: every population codes its value over k timesteps, and the layers work
as a pipeline, one example (batch) per presentation of k steps."""
from __future__ import annotations

import copy
from dataclasses import dataclass

from .. import readouts, synapses
from ..neurons import FewSpikeRelu, FewSpikeReluInput
from ..utils.network import get_network_dag, get_underlying_pop
from .compiled_few_spike_network import CompiledFewSpikeNetwork
from .compiler import Compiler
from .validation import check_positive_int


@dataclass
class Pipeline:
    """A network laid out as a pipeline: ``network``, a copy of the user's whose
    neuron models know what feeds them and whose connections carry the delays
    that align every path; ``depths``, {population: presentations between an
    example entering the inputs and reaching the population}; ``inputs``."""
    network: object
    depths: dict
    inputs: list


class FewSpikeCompiler(Compiler):
    """Compile networks of FewSpikeReluInput and FewSpikeRelu populations joined by
    Delta synapses, with ``var`` readouts, for pipelined few-spike inference.

    Each batch is presented for ``k`` timesteps. A population at depth d (d
    presentations from the inputs) works on the batch presented d presentations
    before, so a connection that skips layers gets a delay of k steps per layer
    skipped, and an output at depth d is read d batches after its input went in.
    The state runs on from batch to batch (it is the pipeline). ``compile`` needs
    the network's ``inputs`` and ``outputs``. ``prefer_in_memory_connect`` chooses,
    in mlGeNN, how GeNN stores connectivity; it never changes results and has no
    effect here. See Compiler for the other arguments."""

    def __init__(self, k=10, dt=1.0, batch_size=1, rng_seed=0, kernel_profiling=False,
                 prefer_in_memory_connect=True, backend="numpy"):
        super().__init__(dt, batch_size, rng_seed, kernel_profiling, backend)
        check_positive_int(k, "k")
        if k > 31:
            raise ValueError(f"k must be at most 31 (GeNN's code shifts a 32-bit int by "
                             f"k - 1), got {k!r}")
        self.k = k
        self.prefer_in_memory_connect = bool(prefer_in_memory_connect)

    @property
    def evaluate_timesteps(self) -> int:
        """Timesteps of one presentation: k."""
        return self.k

    def options(self) -> dict:
        # Time restarts with every presentation; state and spikes in flight run on
        return {"dt": self.dt, "batch_size": self.batch_size, "evaluate_timesteps": self.k,
                "rng_seed": self.rng_seed, "reset_time_between_batches": True,
                "reset_vars_between_batches": False, "reset_in_syn_between_batches": False}

    def compile(self, network, name=None, inputs=None, outputs=None):
        """Build ``network`` as a pipeline from ``inputs`` to ``outputs`` (each a
        population or layer, or a list of them)."""
        if inputs is None or outputs is None:
            raise TypeError("FewSpikeCompiler.compile needs the network's inputs= and "
                            "outputs= (populations or layers) to lay out the pipeline")
        pipeline = plan_pipeline(network, inputs, outputs, self.k)
        return super().compile(pipeline.network, name, pipeline=pipeline)

    def check_network(self, network):
        for pop in network.populations:
            if pop.shape is None:
                raise ValueError(f"population {pop.name} has no shape")

    def create_compiled_network(self, network, engine, name, pipeline):
        return CompiledFewSpikeNetwork(network, engine, self, name, pipeline.depths,
                                       pipeline.inputs)


def plan_pipeline(network, inputs, outputs, k) -> Pipeline:
    """Check that ``network`` is a few-spike network and lay it out (mlGeNN's
    delay balancing): in topological order from the inputs, a population's depth is
    the largest over its sources of (source depth + 1), inputs having depth 0 and
    counting as depth -1 for their targets; each connection is delayed by k steps
    per presentation its source is ahead of that."""
    input_pops = [get_underlying_pop(i) for i in _as_list(inputs)]
    output_pops = [get_underlying_pop(o) for o in _as_list(outputs)]
    _check_models(network, input_pops, output_pops, k)
    order = get_network_dag(input_pops, output_pops)
    unreached = [p.name for p in network.populations if p not in order]
    if unreached:
        raise ValueError(f"populations {unreached} cannot be reached from the inputs "
                         f"{[p.name for p in input_pops]} (or sit on a loop): a few-spike "
                         f"network is a feed-forward pipeline from its inputs")
    depths, next_depth, delays = {}, {}, {}
    for pop in order:
        if not pop.incoming_connections:
            depths[pop], next_depth[pop] = 0, 0
            continue
        depth = max(next_depth[c.source] for c in pop.incoming_connections)
        depths[pop], next_depth[pop] = depth, depth + 1
        for conn in pop.incoming_connections:
            delays[conn] = (depth - next_depth[conn.source]) * k
    pipelined = _pipelined_copy(network, delays)
    by_pop = {p: p for p in pipelined.populations}
    return Pipeline(pipelined, {by_pop[p]: d for p, d in depths.items()},
                    [by_pop[p] for p in input_pops])


def _check_models(network, input_pops, output_pops, k):
    for pop in network.populations:
        neuron = pop.neuron
        if not isinstance(neuron, (FewSpikeRelu, FewSpikeReluInput)):
            raise TypeError(f"population {pop.name} is {type(neuron).__name__}: "
                            f"FewSpikeCompiler compiles FewSpikeRelu and FewSpikeReluInput "
                            f"populations only")
        if neuron.k != k:
            raise ValueError(f"population {pop.name} has k={neuron.k}, but the compiler "
                             f"presents each batch for k={k} timesteps; they must match")
        if isinstance(neuron, FewSpikeReluInput) != (pop in input_pops):
            raise ValueError(f"population {pop.name} ({type(neuron).__name__}): the inputs "
                             f"must be exactly the FewSpikeReluInput populations "
                             f"{[p.name for p in input_pops]} were given")
        if neuron.readout is not None and not isinstance(neuron.readout, readouts.Var):
            raise TypeError(f"population {pop.name}: few-spike outputs are read with the "
                            f"'var' readout (their decoded value), not {neuron.readout!r}")
        if isinstance(neuron, FewSpikeRelu):
            neuron.upstream(pop)
    for pop in output_pops:
        if pop.neuron.readout is None:
            raise ValueError(f"output population {pop.name} has no readout; give it "
                             f"FewSpikeRelu(readout='var')")
    for conn in network.connections:
        if not isinstance(conn.synapse, synapses.Delta):
            raise TypeError(f"connection {conn.name}: few-spike networks use Delta "
                            f"synapses, not {type(conn.synapse).__name__}")
        if conn.connectivity.has_delays:
            raise ValueError(f"connection {conn.name} has delay "
                             f"{conn.connectivity.delay!r}: FewSpikeCompiler sets the "
                             f"delays of a few-spike network itself")


def _pipelined_copy(network, delays):
    """A copy of ``network`` (its populations and connections equal to the user's)
    whose FewSpikeRelu models carry their sources' (alpha, signed input), and
    whose connections carry their pipeline delays. Weight arrays are shared."""
    shared = {id(c.connectivity.weight): c.connectivity.weight for c in network.connections}
    pipelined = copy.deepcopy(network, shared)
    for pop in pipelined.populations:
        # Models may be shared between populations that differ in their sources
        pop.neuron = copy.copy(pop.neuron)
        pop.neuron._upstream = pop.neuron.upstream(pop) \
            if isinstance(pop.neuron, FewSpikeRelu) else None
    for conn in pipelined.connections:
        conn.connectivity = copy.copy(conn.connectivity)
        conn.connectivity.delay = delays[conn]
        conn.max_delay_steps = delays[conn]
    return pipelined


def _as_list(items):
    return list(items) if isinstance(items, (list, tuple)) else [items]
