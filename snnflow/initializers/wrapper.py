"""Wrapper: one of GeNN's variable initialisation snippets, by name."""
from __future__ import annotations

import numpy as np

from .initializer import Initializer

#: GeNN's built-in snippets the CPU engine draws itself: {name: (parameters, draw)}
BUILT_IN = {
    "Constant": (("constant",), lambda rng, shape, p: np.full(shape, p["constant"])),
    "Uniform": (("min", "max"), lambda rng, shape, p: rng.uniform(p["min"], p["max"], shape)),
    "Normal": (("mean", "sd"), lambda rng, shape, p: rng.normal(p["mean"], p["sd"], shape)),
    "Exponential": (("lambda",), lambda rng, shape, p: rng.exponential(1.0 / p["lambda"],
                                                                        shape)),
}


class Wrapper(Initializer):
    """GeNN's initialisation snippet ``snippet`` with ``param_vals``, as mlGeNN's
    Wrapper. The snippets in ``BUILT_IN`` are drawn by every engine; other names
    and pygenn snippet objects only where GeNN builds the model (backend="genn"),
    and a snippet with extra global parameters (``egp_vals``) nowhere yet."""

    def __init__(self, snippet, param_vals=None, egp_vals=None):
        self.snippet = snippet
        self.param_vals = dict(param_vals or {})
        self.egp_vals = dict(egp_vals or {})
        if snippet in BUILT_IN:
            expected = set(BUILT_IN[snippet][0])
            if set(self.param_vals) != expected:
                raise ValueError(f"Wrapper({snippet!r}) takes param_vals {sorted(expected)}, "
                                 f"got {sorted(self.param_vals)}")
        if self.egp_vals:
            raise ValueError(f"Wrapper({snippet!r}): snippets with extra global parameters "
                             f"(egp_vals) are not supported")

    def sample(self, rng, shape):
        if self.snippet not in BUILT_IN:
            raise ValueError(f"Wrapper: snnflow's CPU engine draws GeNN's snippets "
                             f"{sorted(BUILT_IN)}, not {self.snippet!r}")
        return BUILT_IN[self.snippet][1](rng, shape, self.param_vals).astype(np.float64)

    def __repr__(self):
        return f"Wrapper({self.snippet!r}, {self.param_vals!r})"
