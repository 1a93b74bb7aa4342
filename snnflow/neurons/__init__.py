"""Neuron models (descriptions; the engines in snnflow.backends simulate them)."""
from .adaptive_leaky_integrate_fire import AdaptiveLeakyIntegrateFire
from .binary_spike_input import BinarySpikeInput
from .few_spike_relu import FewSpikeRelu
from .few_spike_relu_input import FewSpikeReluInput
from .input import Input
from .integrate_fire import IntegrateFire
from .integrate_fire_input import IntegrateFireInput
from .leaky_integrate import LeakyIntegrate
from .leaky_integrate_fire import LeakyIntegrateFire
from .leaky_integrate_fire_input import LeakyIntegrateFireInput
from .neuron import Neuron
from .poisson_input import PoissonInput
from .spike_input import SpikeInput
from ..utils.module import get_module_classes, get_object

default_neurons = get_module_classes(globals(), Neuron)


def get_neuron(neuron):
    return get_object(neuron, Neuron, "neuron model", default_neurons)


__all__ = ["Neuron", "AdaptiveLeakyIntegrateFire", "BinarySpikeInput", "FewSpikeRelu",
           "FewSpikeReluInput", "IntegrateFire", "IntegrateFireInput", "Input",
           "LeakyIntegrate", "LeakyIntegrateFire", "LeakyIntegrateFireInput",
           "PoissonInput", "SpikeInput", "default_neurons", "get_neuron"]
