"""EventPropCompiler: builds a network for training with EventProp, as mlGeNN's."""
from __future__ import annotations

from numbers import Number


from .. import readouts
from ..connectivity import Conv2D, Dense, FixedProbability
from ..losses import RelativeMeanSquareError, SparseCategoricalCrossentropy, get_loss
from ..neurons import LeakyIntegrate, LeakyIntegrateFire, LeakyIntegrateFireInput
from ..optimisers import get_optimiser
from ..synapses import Exponential
from ..utils.network import get_underlying_conn, get_underlying_pop
from .compiled_training_network import CompiledTrainingNetwork
from .inference_compiler import InferenceCompiler
from .validation import check_network, check_positive_int

TRAINABLE_CONNECTIVITY = (Dense, FixedProbability, Conv2D)
#: Connectivity with a delay per synapse, whose delays can be learnt (a
#: convolution's synapses share a kernel, so mlGeNN refuses delays on it)
DELAY_CONNECTIVITY = (Dense, FixedProbability)
TRAINABLE_READOUTS = (readouts.AvgVar, readouts.AvgVarExpWeight, readouts.SumVar,
                      readouts.MaxVar, readouts.Var)

#: The model defaults EventProp's gradients assume, as mlGeNN's: absolute reset,
#: no integration while refractory, and inputs scaled by (1 - alpha).
#: ``Network(default_params)`` applies them to every model built inside it.
default_params = {
    LeakyIntegrate: {"scale_i": True},
    LeakyIntegrateFire: {"relative_reset": False, "integrate_during_refrac": False,
                         "scale_i": True},
    LeakyIntegrateFireInput: {"relative_reset": False, "integrate_during_refrac": False,
                              "scale_i": True},
    Exponential: {"scale_i": True}}


class EventPropCompiler(InferenceCompiler):
    """Compile networks for training with EventProp's exact gradients, with
    mlGeNN 2.x's arguments.

    Networks: spike or value inputs, LeakyIntegrateFire hidden populations (feed-
    forward or recurrent, no refractory period) and LeakyIntegrate outputs with an
    ``avg_var``, ``avg_var_exp_weight``, ``sum_var``, ``max_var`` or ``var`` readout
    (``var`` trains on the loss of every timestep, averaged; with
    ``mean_square_error`` its targets may be a trace per example, (timesteps,
    neurons)), all joined by Dense connections with Exponential synapses. Every
    connection's weights are trained.

    ``losses`` is a loss (name or Loss) for every output, or a dict {output: loss}.
    ``optimiser`` a name or Optimiser. ``reg_lambda_upper``/``reg_lambda_lower``
    (a number, or a dict {population: number}) with ``reg_nu_upper`` push hidden
    neurons whose spike count per example (averaged over the batch) is above
    ``reg_nu_upper`` down, and those below it up. ``max_spikes`` bounds the spikes
    one neuron may emit in one example (mlGeNN's backward-pass buffer): a neuron
    that emits more stops training with an error naming its population (always,
    so ``strict_buffer_checking`` changes nothing). ``per_timestep_loss`` applies
    sparse_categorical_crossentropy to V at every timestep (averaged) instead of
    to the readout. ``communicator`` (``communicators.MPI()``) trains data-parallel:
    ``batch_size`` is the whole batch, each rank simulates its share. ``ttfs_alpha``
    and ``softmax_temperature`` shape mlGeNN's time-to-first-spike loss, which
    snnflow does not train yet (a first_spike_time readout is refused).
    Connections may have synaptic delays (Dense and FixedProbability; whole
    steps), their weights trained through them. ``delay_learn_conns`` (Connections
    or Layers) also learn their delays, each kept as a continuous number of steps,
    updated by ``delay_optimiser`` (a name or Optimiser; the weights' optimiser
    when None) from EventProp's delay gradient (Meszaros, Knight and Nowotny
    2025), clipped to [0, the connection's ``max_delay_steps``] and rounded to
    the nearest step for the next batch's simulation, as mlGeNN's. ``deep_r_*``
    (deep-R, an e-prop method) is refused when used. ``kernel_profiling`` and
    GeNN's own keyword arguments are accepted and change nothing on the NumPy
    engine."""

    def __init__(self, example_timesteps, losses, optimiser="adam", reg_lambda_upper=0.0,
                 reg_lambda_lower=0.0, reg_nu_upper=0.0, max_spikes=500,
                 strict_buffer_checking=False, per_timestep_loss=False, dt=1.0,
                 ttfs_alpha=0.01, softmax_temperature=1.0, batch_size=1, rng_seed=0,
                 kernel_profiling=False, communicator=None, delay_optimiser=None,
                 delay_learn_conns=(), deep_r_conns=(), deep_r_l1_strength=0.01,
                 deep_r_record_rewirings=None, backend="numpy", **genn_kwargs):
        if backend != "numpy":
            raise ValueError(f"EventPropCompiler trains on the numpy backend only, got "
                             f"backend={backend!r}")
        if deep_r_conns or deep_r_record_rewirings:
            raise ValueError("EventPropCompiler: deep_r_conns/deep_r_record_rewirings "
                             "(deep-R rewiring) are not supported; snnflow trains with "
                             "EventProp only, and deep-R belongs with e-prop")
        self.delay_optimiser = (None if delay_optimiser is None
                                else get_optimiser(delay_optimiser))
        if isinstance(delay_learn_conns, (str, bytes)) or \
                not hasattr(delay_learn_conns, "__iter__"):
            raise TypeError(f"delay_learn_conns must be a sequence of Connections or "
                            f"Layers, got {delay_learn_conns!r}")
        #: The connections that learn their delays, in the order given
        try:
            self.delay_learn_conns = list(dict.fromkeys(get_underlying_conn(c)
                                                        for c in delay_learn_conns))
        except TypeError as error:
            raise TypeError(f"delay_learn_conns: {error}") from None
        self.communicator = communicator
        num_ranks = 1 if communicator is None else communicator.num_ranks
        batch_size = check_positive_int(batch_size, "batch_size")
        if batch_size % num_ranks:
            raise ValueError(f"batch_size={batch_size} must be a multiple of the "
                             f"communicator's {num_ranks} ranks (each rank simulates "
                             f"batch_size / num_ranks examples of every batch)")
        #: The whole batch the gradient is averaged over, all ranks together
        self.full_batch_size = batch_size
        super().__init__(example_timesteps, dt=dt, batch_size=batch_size // num_ranks,
                         rng_seed=rng_seed, kernel_profiling=kernel_profiling,
                         backend=backend)
        self.example_timesteps = self.evaluate_timesteps
        if isinstance(losses, dict):
            self.losses = {output: get_loss(loss) for output, loss in losses.items()}
        else:
            self.losses = get_loss(losses)
        self.optimiser = get_optimiser(optimiser)
        self.reg_lambda_upper = _check_lambda(reg_lambda_upper, "reg_lambda_upper")
        self.reg_lambda_lower = _check_lambda(reg_lambda_lower, "reg_lambda_lower")
        self.reg_nu_upper = _check_non_negative(reg_nu_upper, "reg_nu_upper")
        self.max_spikes = check_positive_int(max_spikes, "max_spikes")
        self.strict_buffer_checking = bool(strict_buffer_checking)
        self.per_timestep_loss = bool(per_timestep_loss)
        self.ttfs_alpha = _check_non_negative(ttfs_alpha, "ttfs_alpha")
        if isinstance(softmax_temperature, bool) or \
                not isinstance(softmax_temperature, Number) or not softmax_temperature > 0:
            raise ValueError(f"softmax_temperature must be a number > 0, got "
                             f"{softmax_temperature!r}")
        self.softmax_temperature = float(softmax_temperature)
        #: GeNN's model options (e.g. selectGPUByDeviceID): no effect on the NumPy engine
        self.genn_kwargs = genn_kwargs

    def reg_lambdas(self, pop) -> tuple[float, float]:
        """(upper, lower) regularisation strengths of hidden population ``pop``."""
        return tuple(lam.get(pop, 0.0) if isinstance(lam, dict) else lam
                     for lam in (self.reg_lambda_upper, self.reg_lambda_lower))

    def check_network(self, network):
        check_network(network)
        losses = self._losses_for(network)
        for pop in network.populations:
            _check_trainable_population(pop)
        for pop, loss in losses.items():
            if self.per_timestep_loss and not (
                    isinstance(loss, SparseCategoricalCrossentropy)
                    and isinstance(pop.neuron.readout, (readouts.AvgVar, readouts.SumVar))):
                raise ValueError(f"population {pop.name}: per_timestep_loss=True trains "
                                 f"sparse_categorical_crossentropy on avg_var or sum_var "
                                 f"readouts only, got {loss!r} on {pop.neuron.readout!r}")
            if isinstance(pop.neuron.readout, readouts.FirstSpikeTime) and \
                    not isinstance(loss, RelativeMeanSquareError):
                raise ValueError(f"population {pop.name}: a first_spike_time readout is "
                                 f"trained with RelativeMeanSquareError, got {loss!r} "
                                 f"(mlGeNN's time-to-first-spike cross-entropy, with "
                                 f"ttfs_alpha and phantom spikes, is not implemented)")
        for lam in (self.reg_lambda_upper, self.reg_lambda_lower):
            for key in (lam if isinstance(lam, dict) else {}):
                if get_underlying_pop(key) not in network.populations:
                    raise ValueError(f"reg_lambda names population "
                                     f"{get_underlying_pop(key).name}, which is not in "
                                     f"this network")
        for conn in self.delay_learn_conns:
            if conn not in network.connections:
                raise ValueError(f"delay_learn_conns names connection {conn.name}, which is "
                                 f"not in this network")
            if not isinstance(conn.connectivity, DELAY_CONNECTIVITY):
                raise ValueError(f"connection {conn.name} in delay_learn_conns: delays are "
                                 f"learnt on Dense and FixedProbability connectivity (a "
                                 f"delay per synapse), got "
                                 f"{type(conn.connectivity).__name__}")
            if not conn.max_delay_steps:
                raise ValueError(f"connection {conn.name} in delay_learn_conns has no room "
                                 f"for delays: give the Connection max_delay_steps >= 1 (the "
                                 f"largest delay it may learn, in steps), got "
                                 f"max_delay_steps={conn.max_delay_steps!r}")
        for conn in network.connections:
            if conn.connectivity.has_delays and \
                    not isinstance(conn.connectivity, DELAY_CONNECTIVITY):
                raise ValueError(f"connection {conn.name}: EventPropCompiler trains "
                                 f"connections with synaptic delays on Dense and "
                                 f"FixedProbability connectivity only, got "
                                 f"{type(conn.connectivity).__name__} with delay="
                                 f"{conn.connectivity.delay!r}")
            if not isinstance(conn.connectivity, TRAINABLE_CONNECTIVITY):
                raise ValueError(f"connection {conn.name}: EventPropCompiler trains Dense, "
                                 f"FixedProbability and Conv2D connectivity, got "
                                 f"{type(conn.connectivity).__name__}")
            if not isinstance(conn.synapse, Exponential):
                raise ValueError(f"connection {conn.name}: EventPropCompiler needs "
                                 f"Exponential synapses, got {type(conn.synapse).__name__}")

    def create_compiled_network(self, network, engine, name) -> CompiledTrainingNetwork:
        return CompiledTrainingNetwork(network, engine, self, self._losses_for(network), name)

    def _losses_for(self, network) -> dict:
        """{output population: Loss} for every readout population."""
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
        if neuron.readout is not None and not isinstance(neuron.readout,
                                                         readouts.FirstSpikeTime):
            raise ValueError(f"population {pop.name}: a LeakyIntegrateFire output is "
                             f"trained with the first_spike_time readout, got "
                             f"{neuron.readout!r}")
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


def _check_non_negative(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, Number) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _check_lambda(value, name):
    """A number, or {population: number} (keys reduced to their populations)."""
    if isinstance(value, dict):
        return {get_underlying_pop(pop): _check_non_negative(lam, f"{name}[{pop!r}]")
                for pop, lam in value.items()}
    return _check_non_negative(value, name)
