"""GeNN models (neuron, postsynaptic, weight update) written from snnflow's.

Each function returns a Definition: the keyword arguments of pygenn's model
factory (code strings and variable lists: what shapes the generated code, and so
the build's content key) and the values the model is loaded with. Every value a
user can change (thresholds, time constants, initial state, weights) is a
per-neuron or per-synapse variable, not a compile-time constant, so one build
serves any values. The arithmetic is the NumPy engine's, statement by statement
(docs/models.md), and the values come from its kernels, which draw initializers
from the build generator in the same order."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pygenn import VarAccess

from ... import neurons, readouts, synapses
from ..numpy.neurons import (AdaptiveLeakyIntegrateFireKernel, FewSpikeReluInputKernel,
                             FewSpikeReluKernel, IntegrateFireKernel, LeakyIntegrateKernel,
                             neuron_kernel)
from ..numpy.readouts import time_scale
from ..numpy.synapses import synapse_kernel

F32 = np.float32
#: FirstSpikeTime's value until a spike: minus float32's largest, as the NumPy engine
NO_SPIKE = float(np.finfo(F32).max)
#: GeNN's names of the state variables snnflow names
STATE_NAMES = {"v": "V", "a": "A", "fx": "Fx", "refrac_time": "RefracTime"}


@dataclass
class Definition:
    """``code``: keyword arguments of the pygenn model factory. ``params``: values
    of its parameters (written into the code). ``constants``: per-neuron read-only
    values; ``state``: initial values of the state variables, restored at a reset;
    ``readout_start``: the readout variable's value at the start of a batch (None:
    the readout is V itself); ``negate_readout``: the readout is minus that variable;
    ``random``: the code draws random numbers (keyed per example)."""
    code: dict
    params: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    spiking: bool = True
    readout_start: float | None = None
    negate_readout: bool = False
    random: bool = False
    #: the model's values as the NumPy kernel resolved them (initializers drawn)
    values: dict = field(default_factory=dict)


# Readouts accumulate in the variable "Readout": in the update code after the
# integration (V as the threshold test sees it, before any reset) or in the reset
# code, which runs exactly for the neurons that spiked. Var reads V itself.
READOUT_CODE = {
    readouts.SpikeCount: ("", "Readout += 1.0f;\n", 0.0),
    # Spike times only grow, so the minimum is the first one
    readouts.FirstSpikeTime: ("", "Readout = fmin(Readout, t);\n", NO_SPIKE),
    readouts.AvgVar: ("Readout += ReadoutScale * V;\n", "", 0.0),
    # In double after the product t c, as the NumPy engine (and mlGeNN's C++)
    readouts.AvgVarExpWeight: ("Readout = (scalar)((double)Readout + exp((double)-(t * "
                               "ReadoutTimeScale)) * (double)ReadoutScale * (double)V);\n",
                               "", 0.0),
    readouts.SumVar: ("Readout += V;\n", "", 0.0),
    readouts.MaxVar: ("Readout = fmax(Readout, V);\n", "", 0.0),
}


def neuron_definition(pop, rng, dt, timesteps) -> Definition:
    """The GeNN model of ``pop``'s neuron model; draws its initializers from ``rng``."""
    model = pop.neuron
    _check_supported(model)
    if isinstance(model, neurons.SpikeInput):
        definition = _spike_input(pop)
    elif isinstance(model, neurons.BinarySpikeInput):
        definition = _binary_spike_input(pop)
    elif isinstance(model, neurons.PoissonInput):
        definition = _poisson_input(pop)
    else:
        kernel = neuron_kernel(model, pop.shape, rng, dt, seed_key=())
        if isinstance(kernel, IntegrateFireKernel):
            definition = _integrate_fire(kernel, pop, model.input_kind == "values")
        elif isinstance(kernel, LeakyIntegrateKernel):
            definition = _leaky_integrate(kernel, pop)
        elif isinstance(kernel, FewSpikeReluInputKernel):
            definition = _few_spike_relu_input(kernel, pop)
        elif isinstance(kernel, FewSpikeReluKernel):
            definition = _few_spike_relu(kernel, pop)
        else:
            raise TypeError(f"the genn engine has no model for {type(model).__name__}")
        definition.values = kernel.params
    if model.readout is not None:
        _add_readout(definition, model.readout, timesteps, dt)
    definition.code["class_name"] = type(model).__name__
    return definition


def _check_supported(model):
    """Refuse what the genn engine cannot run (it loads one value per neuron and
    example, and its connections only add weights)."""
    name = type(model).__name__
    if getattr(model, "input_frames", 1) > 1:
        raise TypeError(f"backend='genn' does not support input frames: {name} has "
                        f"input_frames={model.input_frames}; use backend='numpy'")
    if getattr(model, "signed_spikes", False):
        raise TypeError(f"backend='genn' does not support negative spikes: {name} has "
                        f"signed_spikes=True; use backend='numpy'")


def _per_neuron(value, pop):
    return np.broadcast_to(np.asarray(value, dtype=F32), (pop.num_neurons,)).copy()


def _integrate_fire(kernel, pop, driven_by_input) -> Definition:
    """IntegrateFire, LeakyIntegrateFire, their Input variants and
    AdaptiveLeakyIntegrateFire."""
    constants = {"Vthresh": kernel.v_thresh}
    current = "Input" if driven_by_input else "Isyn"
    integrate = ""
    if kernel.alpha is not None:
        constants["Alpha"] = kernel.alpha
        integrate += "V = Alpha * V;\n"
    if kernel.input_scale is not None:
        constants["InputScale"] = kernel.input_scale
        integrate += f"V += {current} * InputScale;\n"
    else:
        integrate += f"V += {current};\n"
    if kernel.relative_reset:
        constants["ResetStep"] = kernel.reset_step
        reset = "V -= ResetStep;\n"
    else:
        constants["Vreset"] = kernel.v_reset
        reset = "V = Vreset;\n"
    state = {"V": kernel.initial_state()["v"]}
    threshold = "V >= Vthresh"
    if isinstance(kernel, AdaptiveLeakyIntegrateFireKernel):
        # A decays whether or not V integrates, and raises the threshold
        constants.update(Beta=kernel.beta, Rho=kernel.rho)
        state["A"] = kernel.initial_state()["a"]
        threshold = "V >= Vthresh + Beta * A"
        reset += "A += 1.0f;\n"
    adapt = "A *= Rho;\n" if "A" in state else ""
    if kernel.tau_refrac is None:
        sim = integrate + adapt
    else:
        constants["TauRefrac"] = kernel.tau_refrac
        state["RefracTime"] = kernel.initial_state()["refrac_time"]
        # Refractory is decided at the start of the step, before the countdown
        sim = "const bool refractory = RefracTime > 0.0f;\n"
        sim += integrate if kernel.integrate_during_refrac else \
            f"if (!refractory) {{\n{integrate}}}\n"
        sim += adapt
        sim += "if (refractory) {\nRefracTime -= dt;\n}\n"
        threshold += " && RefracTime <= 0.0f"
        reset += "RefracTime = TauRefrac;\n"
    if driven_by_input:
        constants["Input"] = 0.0
    return _definition(pop, sim, threshold, reset, constants, state,
                       duplicated=("Input",) if driven_by_input else ())


def _leaky_integrate(kernel, pop) -> Definition:
    constants = {"Alpha": kernel.alpha, "Bias": kernel.bias}
    sim = "V = Alpha * V;\n"
    if kernel.input_scale is not None:
        constants["InputScale"] = kernel.input_scale
        sim += "V += Isyn * InputScale;\n"
    else:
        sim += "V += Isyn;\n"
    sim += "V += Bias;\n"
    definition = _definition(pop, sim, "", "", constants, {"V": kernel.initial_state()["v"]})
    definition.spiking = False
    return definition


# The step within a presentation and the value h its spike stands for, as the
# kernels: a 32-bit int shift, converted to float exactly (k <= 31)
FEW_SPIKE_STEP = "const int pipeStep = (int)(t / dt);\n"


def _few_spike_relu_input(kernel, pop) -> Definition:
    k = kernel.k
    sim = FEW_SPIKE_STEP + "if (pipeStep == 0) {\nV = Input;\n}\n"
    if not kernel.signed:
        sim += f"const scalar h = Scale * (scalar)(1 << ({k - 1} - pipeStep));\n"
        threshold, reset = "V >= h", "V -= h;\n"
    else:
        sim += ("const bool positive = (pipeStep % 2) == 0;\n"
                f"const scalar h = Scale * (scalar)(1 << ({k // 2 - 1} - pipeStep / 2));\n")
        threshold = "(positive && V >= h) || (!positive && V < -h)"
        reset = "if (positive) {\nV -= h;\n}\nelse {\nV += h;\n}\n"
    return _definition(pop, sim, threshold, reset, {"Scale": kernel.scale, "Input": 0.0},
                       {"V": 0.0}, duplicated=("Input",))


def _few_spike_relu(kernel, pop) -> Definition:
    k = kernel.k
    sim = FEW_SPIKE_STEP + f"const scalar h = Scale * (scalar)(1 << ({k - 1} - pipeStep));\n"
    if kernel.source_signed:
        sim += ("const scalar d = (((pipeStep % 2) == 0) ? -1.0f : 1.0f) * SrcScale * "
                f"(scalar)(1 << ((({k} - pipeStep) % {k}) / 2));\n")
    else:
        sim += f"const scalar d = SrcScale * (scalar)(1 << (({k} - pipeStep) % {k}));\n"
    sim += "Fx += Isyn * d;\nif (pipeStep == 0) {\nV = Fx;\nFx = 0.0f;\n}\n"
    return _definition(pop, sim, "V >= h", "V -= h;\n",
                       {"Scale": kernel.scale, "SrcScale": kernel.source_scale},
                       {"V": 0.0, "Fx": 0.0})


def _spike_input(pop) -> Definition:
    """Replays spike trains from one time array: each neuron's pending spikes are
    SpikeTimes[StartSpike:EndSpike], at most one emitted per step (none at a reset)."""
    code = {"vars": [("StartSpike", "unsigned int"), ("EndSpike", "unsigned int")],
            "extra_global_params": [("SpikeTimes", "scalar*")],
            "sim_code": "",
            "threshold_condition_code": "StartSpike != EndSpike && t >= SpikeTimes[StartSpike]",
            "reset_code": "StartSpike++;\n"}
    none = np.zeros(pop.num_neurons, dtype=np.uint32)
    return Definition(code, state={"StartSpike": none, "EndSpike": none})


def _mix32(var) -> str:
    """Statements scrambling uint32 ``var`` (C. Wellons' lowbias32 hash). Right
    shifts are written as divisions: GeNN 5.4's code scanner reads ">>" wrongly."""
    return (f"{var} ^= {var} / 65536u;\n{var} *= 0x7feb352du;\n{var} ^= {var} / 32768u;\n"
            f"{var} *= 0x846ca68bu;\n{var} ^= {var} / 65536u;\n")


# A counter-based uniform number per (example, neuron, step of the example): a hash
# of the step and the neuron's id, mixed with the example's key, top 24 bits
POISSON_DRAW = ("const uint32_t step = (uint32_t)rint(t / dt) - FirstStep;\n"
                "uint32_t draw = step * 0x9e3779b9u + id;\n" + _mix32("draw") +
                "draw ^= ExampleKey;\n" + _mix32("draw") +
                "Uniform = (scalar)(draw / 256u) * 5.9604644775390625e-08f;\n")


def _poisson_input(pop) -> Definition:
    """Spikes with probability 1 - exp(-rate dt) per step; rates <= 0 never. Each
    draw is a hash of (the example's key, the neuron, the step since the example's
    inputs were loaded), so an example's spikes do not depend on its batch, its
    position in it or its shard; the keys (``poisson_keys``) come from rng_seed,
    the population and the global example index. Not the NumPy engine's draws."""
    definition = _definition(pop, POISSON_DRAW, "Input > 0.0f && Uniform >= exp(-Input * dt)",
                             "", {"Input": 0.0}, {"Uniform": 0.0}, duplicated=("Input",))
    definition.code["vars"] += [(name, "uint32_t", VarAccess.READ_ONLY_SHARED_NEURON)
                                for name in ("ExampleKey", "FirstStep")]
    definition.constants.update(ExampleKey=np.uint32(0), FirstStep=np.uint32(0))
    definition.random = True
    return definition


def poisson_keys(rng_seed, population, example_indices) -> np.ndarray:
    """uint32 key of each example's draws: splitmix64 of (seed, population, example)."""
    with np.errstate(over="ignore"):
        x = (np.uint64(rng_seed) * np.uint64(0x9E3779B97F4A7C15)
             ^ np.uint64(population) * np.uint64(0xD1B54A32D192ED03)) \
            + np.asarray(example_indices, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(32)).astype(np.uint32)


def _binary_spike_input(pop) -> Definition:
    return _definition(pop, "", "Input > 0.0f", "", {"Input": 0.0}, {},
                       duplicated=("Input",))


def _definition(pop, sim, threshold, reset, constants, state, duplicated=()) -> Definition:
    """``duplicated``: the constants that differ per example of a batch (inputs)."""
    code_vars = [(name, "scalar") for name in state]
    code_vars += [(name, "scalar", VarAccess.READ_ONLY_DUPLICATE if name in duplicated
                   else VarAccess.READ_ONLY) for name in constants]
    code = {"vars": code_vars, "sim_code": sim, "threshold_condition_code": threshold,
            "reset_code": reset}
    return Definition(code, constants={n: _per_neuron(v, pop) for n, v in constants.items()},
                      state={n: _per_neuron(v, pop) for n, v in state.items()})


def _add_readout(definition, readout, timesteps, dt):
    if type(readout) is readouts.Var:
        return
    sim, reset, start = READOUT_CODE[type(readout)]
    code = definition.code
    code["vars"] = code["vars"] + [("Readout", "scalar")]
    code["sim_code"] += sim
    code["reset_code"] += reset
    params = {}
    if type(readout) in (readouts.AvgVar, readouts.AvgVarExpWeight):
        # 1/T computed in double and rounded, as the NumPy engine and mlGeNN
        params["ReadoutScale"] = float(F32(1.0 / timesteps))
    if type(readout) is readouts.AvgVarExpWeight:
        params["ReadoutTimeScale"] = float(time_scale(dt, timesteps))
    if params:
        code["params"] = code.get("params", []) + [(name, "scalar") for name in params]
        definition.params.update(params)
    definition.readout_start = start
    definition.negate_readout = type(readout) is readouts.FirstSpikeTime


def postsynaptic_definition(synapse, dt) -> Definition:
    """Delta: all of inSyn is this step's current. Exponential: inSyn only collects
    this step's deliveries, which join the decaying accumulator G before the
    current is taken, so G grows by the sum of the step's weights as the NumPy
    engine's accumulator does (adding them one by one to G would round differently)."""
    if type(synapse) is synapses.Delta:
        return Definition({"class_name": "Delta",
                           "sim_code": "injectCurrent(inSyn);\ninSyn = 0.0f;\n"})
    if type(synapse) is synapses.Exponential:
        kernel = synapse_kernel(synapse, dt)
        params = {"Decay": float(kernel.decay)}
        current = "G"
        if kernel.scale is not None:
            params["Scale"] = float(kernel.scale)
            current = "G * Scale"
        code = {"class_name": "Exponential", "params": [(p, "scalar") for p in params],
                "vars": [("G", "scalar")],
                "sim_code": f"G += inSyn;\ninSyn = 0.0f;\ninjectCurrent({current});\n"
                            f"G *= Decay;\n"}
        return Definition(code, params=params, state={"G": 0.0})
    raise TypeError(f"the genn engine has no model for synapse {type(synapse).__name__}")


#: Every connection: a spike adds its synapse's weight to the target's inSyn
WEIGHT_UPDATE = {"class_name": "StaticWeight", "vars": [("g", "scalar", VarAccess.READ_ONLY)],
                 "pre_spike_syn_code": "addToPost(g);\n"}
