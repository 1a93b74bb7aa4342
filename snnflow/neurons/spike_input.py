from .input import Input


class SpikeInput(Input):
    """Emits given spike trains (from :func:`snnflow.utils.data.preprocess_spikes`).

    At most one spike per neuron per timestep: a neuron emits its next pending
    spike in the first step whose time t*dt has reached it. ``max_spikes`` bounds
    the spikes of one batch, as GeNN's spike buffer does."""

    input_kind = "spikes"

    def __init__(self, max_spikes=1000000, readout=None):
        super().__init__(readout)
        if not isinstance(max_spikes, int) or max_spikes < 1:
            raise ValueError(f"SpikeInput: max_spikes must be a positive int, got {max_spikes!r}")
        self.max_spikes = max_spikes

    def __repr__(self):
        return f"SpikeInput(max_spikes={self.max_spikes})"
