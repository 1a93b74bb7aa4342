"""Checks on compiler arguments and networks, run before anything is built."""
from __future__ import annotations

from .. import readouts
from ..neurons import LeakyIntegrate


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


SPIKE_READOUTS = (readouts.SpikeCount, readouts.FirstSpikeTime)


def check_network(network):
    if not network.populations:
        raise ValueError("the network has no populations")
    for pop in network.populations:
        if pop.shape is None:
            raise ValueError(f"population {pop.name} has no shape")
        readout = pop.neuron.readout
        if isinstance(readout, SPIKE_READOUTS) and isinstance(pop.neuron, LeakyIntegrate):
            raise ValueError(f"population {pop.name}: readout {readout!r} needs a spiking "
                             f"neuron model, not {type(pop.neuron).__name__}")
        if readout is not None and "v" not in pop.neuron.state and \
                not isinstance(readout, SPIKE_READOUTS):
            raise ValueError(f"population {pop.name}: readout {readout!r} reads 'v', which "
                             f"{type(pop.neuron).__name__} does not have")
