"""Neuron: base of the neuron models, which only describe; engines simulate."""
from __future__ import annotations

import numbers

from ..readouts import get_readout
from ..utils.value import value_descriptors


class Neuron:
    """A neuron model. ``readout`` (a name or a Readout) makes it usable as an output.

    Subclasses declare their per-neuron values (scalars, arrays of the population's
    shape or initializers) as ValueDescriptors named after GeNN's variables, as in
    mlGeNN; ``state`` names those that are state variables, reset to their initial
    value at the start of every example. ``genn_state`` names, by GeNN's name, the
    state variables that are not values (a refractory countdown)."""

    state: tuple = ()
    #: how an input population reads ``x``: "values" (one number per neuron per
    #: example), "spikes" (PreprocessedSpikes per example) or None (not an input)
    input_kind: str | None = None

    def __init__(self, readout=None):
        self.readout = get_readout(readout)

    @property
    def values(self) -> tuple:
        """The names of this model's per-neuron values."""
        return tuple(value_descriptors(type(self)))

    @property
    def genn_state(self) -> dict:
        """{GeNN name: snnflow name} of the state variables that are not values:
        a refractory countdown, for a model given ``tau_refrac``."""
        if getattr(self, "tau_refrac", None) is None:
            return {}
        return {"RefracTime": "refrac_time"}

    def _check_positive(self, name):
        """Time constants (ms) given as numbers must be positive."""
        value = getattr(self, name)
        if isinstance(value, numbers.Real) and not value > 0:
            raise ValueError(f"{type(self).__name__}.{name} must be > 0 ms, got {value!r}")

    def var_names(self) -> tuple:
        """The state variables a simulation of this model has."""
        return tuple(self.state) + tuple(self.genn_state.values())

    def genn_var_names(self) -> dict:
        """{GeNN variable name: (snnflow name, transform(value, dt) or None)} of
        everything VarRecorder can record from this model."""
        names = {}
        for name, descriptor in value_descriptors(type(self)).items():
            if getattr(self, name) is not None:
                names.update({g: (name, t) for g, t in descriptor.genn_transforms})
        names.update({g: (name, None) for g, name in self.genn_state.items()})
        if self.input_kind == "values":
            names["Input"] = ("input", None)
        return names

    def __repr__(self):
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.values)
        return f"{type(self).__name__}({args})"
