"""EventPropCompiler: builds a network for training with EventProp, as mlGeNN's."""
from __future__ import annotations

import numpy as np

from .. import readouts
from ..connectivity import Dense
from ..losses import get_loss
from ..neurons import LeakyIntegrate, LeakyIntegrateFire
from ..optimisers import get_optimiser
from ..synapses import Exponential
from .compiled_training_network import CompiledTrainingNetwork
from .inference_compiler import InferenceCompiler
from .validation import check_network

TRAINABLE_READOUTS = (readouts.AvgVar, readouts.SumVar, readouts.MaxVar, readouts.Var)


class EventPropCompiler(InferenceCompiler):
    """Compile networks for training with EventProp's exact gradients.

    Networks: spike or value inputs, LeakyIntegrateFire hidden populations (feed-
    forward or recurrent, no refractory period) and LeakyIntegrate outputs with an
    ``avg_var``, ``sum_var``, ``max_var`` or ``var`` readout (``var`` trains on the
    loss of every timestep, averaged), all joined by Dense connections with
    Exponential synapses. Every connection's weights are trained.

    ``losses`` is a loss (name or Loss) for every output, or a dict {output: loss}.
    ``optimiser`` a name or Optimiser. ``reg_lambda_upper`` and ``reg_nu_upper``
    push hidden neurons that fire more than ``reg_nu_upper`` spikes per example
    (averaged over the batch) back down."""

    def __init__(self, example_timesteps, losses, optimiser="adam", reg_lambda_upper=0.0,
                 reg_nu_upper=0.0, dt=1.0, batch_size=1, rng_seed=0, backend="numpy"):
        if backend != "numpy":
            raise ValueError(f"EventPropCompiler trains on the numpy backend only, got "
                             f"backend={backend!r}")
        super().__init__(example_timesteps, dt=dt, batch_size=batch_size, rng_seed=rng_seed,
                         backend=backend)
        if isinstance(losses, dict):
            self.losses = {output: get_loss(loss) for output, loss in losses.items()}
        else:
            self.losses = get_loss(losses)
        self.optimiser = get_optimiser(optimiser)
        for name, value in (("reg_lambda_upper", reg_lambda_upper),
                            ("reg_nu_upper", reg_nu_upper)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.reg_lambda_upper = float(reg_lambda_upper)
        self.reg_nu_upper = float(reg_nu_upper)

    def check_network(self, network):
        check_network(network)
        self._losses_for(network)
        for pop in network.populations:
            _check_trainable_population(pop)
        for conn in network.connections:
            if np.any(np.asarray(conn.connectivity.delay, dtype=object) != 0):
                raise ValueError(f"connection {conn.name}: EventPropCompiler does not train "
                                 f"connections with synaptic delays yet, got delay="
                                 f"{conn.connectivity.delay!r}")
            if not isinstance(conn.connectivity, Dense):
                raise ValueError(f"connection {conn.name}: EventPropCompiler trains Dense "
                                 f"connectivity only, got {type(conn.connectivity).__name__}")
            if not isinstance(conn.synapse, Exponential):
                raise ValueError(f"connection {conn.name}: EventPropCompiler needs "
                                 f"Exponential synapses, got {type(conn.synapse).__name__}")

    def create_compiled_network(self, network, engine, name) -> CompiledTrainingNetwork:
        return CompiledTrainingNetwork(network, engine, self, self._losses_for(network), name)

    def _losses_for(self, network) -> dict:
        """{output population: Loss} for every readout population."""
        from ..utils.network import get_underlying_pop
        outputs = [p for p in network.populations if p.neuron.readout is not None]
        if not outputs:
            raise ValueError("the network has no readout population to train")
        if not isinstance(self.losses, dict):
            return {pop: self.losses for pop in outputs}
        losses = {}
        for key, loss in self.losses.items():
            pop = get_underlying_pop(key)
            if pop not in outputs:
                raise ValueError(f"losses names population {pop.name}, which is not a "
                                 f"readout population of this network (those are "
                                 f"{[p.name for p in outputs]})")
            losses[pop] = loss
        missing = [p.name for p in outputs if p not in losses]
        if missing:
            raise ValueError(f"losses has no entry for readout population(s) {missing}")
        return losses


def _check_trainable_population(pop):
    neuron = pop.neuron
    if neuron.input_kind is not None:
        return
    if isinstance(neuron, LeakyIntegrateFire):
        if neuron.readout is not None:
            raise ValueError(f"population {pop.name}: EventPropCompiler trains readouts "
                             f"of LeakyIntegrate populations only")
        if neuron.tau_refrac is not None:
            raise ValueError(f"population {pop.name}: EventPropCompiler does not support "
                             f"a refractory period (tau_refrac={neuron.tau_refrac!r})")
        return
    if isinstance(neuron, LeakyIntegrate):
        if not isinstance(neuron.readout, TRAINABLE_READOUTS):
            raise ValueError(f"population {pop.name}: a LeakyIntegrate population needs "
                             f"one of the readouts avg_var, sum_var, max_var or var to be "
                             f"trained, got {neuron.readout!r}")
        return
    raise ValueError(f"population {pop.name}: EventPropCompiler trains LeakyIntegrateFire "
                     f"hidden and LeakyIntegrate output populations, not "
                     f"{type(neuron).__name__}")
