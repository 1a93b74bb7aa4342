"""Neuron: base of the neuron models, which only describe; engines simulate."""
from __future__ import annotations

from ..readouts import get_readout
from ..utils.values import check_value


class Neuron:
    """A neuron model. ``readout`` (a name or a Readout) makes it usable as an output.

    Subclasses list their per-neuron values (scalars, arrays of the population's
    shape or initializers) in ``values``; ``state`` names those that are state
    variables, reset to their initial value at the start of every example."""

    values: tuple = ()
    state: tuple = ()
    #: how an input population reads ``x``: "values" (one number per neuron per
    #: example), "spikes" (PreprocessedSpikes per example) or None (not an input)
    input_kind: str | None = None

    def __init__(self, readout=None, **values):
        self.readout = get_readout(readout)
        for name, value in values.items():
            setattr(self, name, check_value(value, f"{type(self).__name__}.{name}"))

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.values)
        return f"{type(self).__name__}({args})"


class SpikingNeuron(Neuron):
    """Shared arguments of the integrate-and-fire family (threshold, reset, refractoriness)."""

    def __init__(self, v_thresh=1.0, v_reset=0.0, v=0.0, tau_refrac=None,
                 relative_reset=True, integrate_during_refrac=True, readout=None,
                 **values):
        super().__init__(readout, v_thresh=v_thresh, v_reset=v_reset, v=v, **values)
        if tau_refrac is not None:
            check_value(tau_refrac, f"{type(self).__name__}.tau_refrac")
        self.tau_refrac = tau_refrac
        self.relative_reset = bool(relative_reset)
        self.integrate_during_refrac = bool(integrate_during_refrac)
