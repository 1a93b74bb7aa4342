"""The layer of Open Neuromorphic's SNN library benchmark (open-neuromorphic.org,
"Spiking Neural Network (SNN) Library Benchmarks"): one fully connected layer of
N = 16,000 neurons followed by LIF neurons, batch 16, 500 time steps, forward
pass only, on this CPU: snnflow against snnTorch and Norse.

The torch models are the benchmark's: snnTorch ``nn.Linear(N, N)`` then
``snntorch.Leaky(beta=0.95)`` stepped through time; Norse
``nn.Linear(N, N)`` then ``LIFBoxCell`` with the benchmark's parameters
(tau_mem_inv 100, v_th 1, v_reset 0, dt 1 ms), here stepped through time with its
state (the benchmark hands the whole (T, B, N) tensor to the cell in one call,
which runs one step over T x B rows, not a recurrence). Both run under
``torch.inference_mode()`` (forward only) in eager mode: the benchmark's
``torch.compile`` for Norse targeted CUDA graphs.

Inputs differ in kind: the benchmark feeds Gaussian noise, a dense analogue input
that an event-driven engine has no use for. Every library here gets spikes
instead: snnflow a PoissonInput population of N neurons at 20 Hz (2% per 1 ms
step) through the N x N Dense matrix of bench/layer_size.py into a
LeakyIntegrateFire layer (tau_mem 20 ms, v_thresh 1, so ~2% fire per step), the
torch models the same Bernoulli spike rate. Their cost is a dense product per
step, the same whatever the input; snnflow's follows the input spikes (time per
synaptic event is recorded, to scale to other rates).

snnTorch and Norse run TORCH_STEPS_PER_RUN steps per run, scaled to 500 steps
(a 500-step run of a 16k x 16k dense product takes about half a minute per
library here); snnflow runs all 500. The three run in turn, round by round; the
ratios are medians of per-round ratios.

Run alone: python bench/open_neuromorphic.py [--quick] [--threads N]
"""
from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

NEURONS, QUICK_NEURONS = 16000, 2000
BATCH_SIZE = 16
TIMESTEPS, QUICK_TIMESTEPS = 500, 100
TORCH_STEPS_PER_RUN = 20
ROUNDS, QUICK_ROUNDS = 3, 2


def _linear(w):
    """A torch Linear layer holding ``w`` (n_in, n_out) as its weight, bias zero."""
    import torch
    fc = torch.nn.Linear(w.shape[0], w.shape[1])
    with torch.no_grad():
        fc.weight.copy_(torch.from_numpy(w).T)
        fc.bias.zero_()
    return fc


def build_snntorch(w):
    """The benchmark's snnTorch model, weights from ``w`` (bias zero)."""
    import snntorch
    import torch

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = _linear(w)
            self.lif = snntorch.Leaky(beta=0.95)

        def forward(self, x):
            mem = self.lif.init_leaky()
            output = []
            for step in x:
                spikes, mem = self.lif(self.fc(step), mem)
                output.append(spikes)
            return torch.stack(output)

    return Model().eval()


def build_norse(w):
    """The benchmark's Norse model, stepped through time with its state."""
    import torch
    from norse.torch import LIFBoxParameters
    from norse.torch.module.lif_box import LIFBoxCell

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = _linear(w)
            self.lif = LIFBoxCell(LIFBoxParameters(
                tau_mem_inv=torch.tensor([100.0]), v_leak=torch.tensor([0.0]),
                v_th=torch.tensor([1.0]), v_reset=torch.tensor([0.0]),
                alpha=torch.tensor([100.0])))

        def forward(self, x):
            state = None
            output = []
            for step in x:
                spikes, state = self.lif(self.fc(step), state)
                output.append(spikes)
            return torch.stack(output)

    return Model().eval()


def run_torch(model, x):
    import torch
    with torch.inference_mode():
        return model(x)


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    import numpy as np
    import torch
    torch.set_num_threads(threads)

    import layer_size
    n = QUICK_NEURONS if quick else NEURONS
    timesteps = QUICK_TIMESTEPS if quick else TIMESTEPS
    rounds = QUICK_ROUNDS if quick else ROUNDS
    torch_steps = min(TORCH_STEPS_PER_RUN, timesteps)
    probability = 1.0 - math.exp(-layer_size.INPUT_RATE * layer_size.DT)
    results = {"benchmark": "open_neuromorphic_layer", "quick": quick, "threads": threads,
               "machine": common.machine_info(),
               "config": {"neurons": n, "batch_size": BATCH_SIZE, "timesteps": timesteps,
                          "rounds": rounds, "torch_steps_per_run": torch_steps,
                          "input_spike_probability_per_step": probability,
                          "snnflow": "PoissonInput(N) -> Dense(N x N) -> LeakyIntegrateFire("
                                     f"tau_mem={layer_size.TAU_MEM}, v_thresh="
                                     f"{layer_size.V_THRESH}), predict(callbacks=[])",
                          "snntorch": "nn.Linear(N, N) + snntorch.Leaky(beta=0.95)",
                          "norse": "nn.Linear(N, N) + LIFBoxCell(tau_mem_inv=100, v_th=1)",
                          "torch_mode": "eager, torch.inference_mode()"}}

    layer_size.warm_up()
    w = layer_size.make_weights(n, seed=n)
    rates = np.full((BATCH_SIZE, n), layer_size.INPUT_RATE, dtype=np.float32)
    compiled, source, layer = layer_size.build_snnflow(w, timesteps, batch_size=BATCH_SIZE)
    models = {"snntorch": build_snntorch(w), "norse": build_norse(w)}
    del w
    generator = torch.Generator().manual_seed(0)
    x = (torch.rand(torch_steps, BATCH_SIZE, n, generator=generator) < probability).float()
    for model in models.values():
        run_torch(model, x[:2])  # warm-up: first-call allocations, lazy imports

    seconds = {"snnflow": [], "snntorch": [], "norse": []}
    spikes = {}
    for _ in range(rounds):
        elapsed, counts = common.timed(layer_size.run_snnflow, compiled, source, layer, rates)
        seconds["snnflow"].append(elapsed)
        spikes["snnflow"] = float(counts.sum() / (BATCH_SIZE * timesteps * n))
        for name, model in models.items():
            elapsed, output = common.timed(run_torch, model, x)
            seconds[name].append(elapsed * timesteps / torch_steps)
            spikes[name] = float(output.sum() / output.numel())
    del compiled, models

    events = BATCH_SIZE * timesteps * probability * n * n
    for name, times in seconds.items():
        median = statistics.median(times)
        results[name] = {**common.summarize(times), "seconds_per_batch": median,
                         "ms_per_step": median / timesteps * 1e3,
                         "spikes_per_neuron_per_step": spikes[name],
                         "scaled_from_steps": None if name == "snnflow" else torch_steps}
    results["snnflow"]["ns_per_synaptic_event"] = (results["snnflow"]["seconds_per_batch"]
                                                   / events * 1e9)
    for other in ("snntorch", "norse"):
        results[f"snnflow_over_{other}"] = statistics.median(
            o / f for o, f in zip(seconds[other], seconds["snnflow"]))
    print(f"[open_neuromorphic] N={n}, batch {BATCH_SIZE}, {timesteps} steps: "
          + ", ".join(f"{name} {results[name]['seconds_per_batch']:.2f} s"
                      for name in seconds)
          + f" (medians; torch libraries scaled from {torch_steps} steps): snnflow "
          f"{results['snnflow_over_snntorch']:.1f}x snnTorch, "
          f"{results['snnflow_over_norse']:.1f}x Norse", flush=True)
    results["machine"]["load_average_end"] = common.os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("open_neuromorphic", run, __doc__.splitlines()[0])
