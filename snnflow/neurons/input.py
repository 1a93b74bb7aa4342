"""Input: the base of neuron models driven by the example's values."""
from .neuron import Neuron


class Input(Neuron):
    """A model that reads one value per neuron per example from ``x`` (GeNN's
    variable ``Input``, recordable with ``VarRecorder(pop, genn_var="Input")``)."""

    input_kind = "values"
