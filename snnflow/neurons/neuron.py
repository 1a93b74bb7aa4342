"""Neuron: base of the neuron models, which only describe; engines simulate."""
from __future__ import annotations

from ..readouts import get_readout
from ..utils.value import check_value


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

    def __init__(self, readout=None):
        self.readout = get_readout(readout)

    def _set_values(self, **values):
        """Store per-neuron values, refusing what can never be one."""
        for name, value in values.items():
            setattr(self, name, check_value(value, f"{type(self).__name__}.{name}"))
        tau_mem = values.get("tau_mem")
        if isinstance(tau_mem, (int, float)) and not tau_mem > 0:
            raise ValueError(f"{type(self).__name__}.tau_mem must be > 0 ms, got {tau_mem!r}")

    def var_names(self) -> tuple:
        """The state variables a simulation of this model has (what VarRecorder reads)."""
        return tuple(self.state)

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.values)
        return f"{type(self).__name__}({args})"
