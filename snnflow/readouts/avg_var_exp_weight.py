from .readout import Readout


class AvgVarExpWeight(Readout):
    """Mean of ``v`` over the example's timesteps, weighted by exp(-t / (T dt)) for
    the step at time t of T (Nowotny et al. 2024), as mlGeNN's: each step adds
    float32(exp(-t c)) * float32(1 / T) * v, c = float32(1 / (T dt)), after the
    update and before any reset. Early steps count more than late ones."""
