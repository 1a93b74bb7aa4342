"""Scaling with layer size: one dense LeakyIntegrateFire layer of N neurons driven by
a PoissonInput population of N neurons (20 Hz) through an N x N Dense matrix,
batch 32, 500 timesteps of 1 ms; snnflow (the compiled engine), the engine it
replaced (bench/reference_engine.py) and the same layer in snnTorch, run by run
in turn; ratios are medians of the per-round ratios.

The largest sizes stay affordable by running fewer steps and scaling the time to
500 steps: snnTorch above TORCH_FULL_STEPS_UP_TO neurons (its cost per step is a
dense product, the same whatever the activity), the reference engine above
REFERENCE_FULL_STEPS_UP_TO (its cost per step follows the input spikes, a
stationary Poisson stream, and the layer's own spikes go nowhere). Each row says
which figures are scaled.

Run alone: python bench/layer_size.py [--quick] [--threads N]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

FULL_SIZES = (250, 500, 1000, 2000, 4000, 8000, 16000)
QUICK_SIZES = (250, 1000)
BATCH_SIZE = 32
TIMESTEPS = 500
QUICK_TIMESTEPS = 100
DT = 1.0
INPUT_RATE = 0.02          # spikes/ms (20 Hz): ~2% of the inputs spike per step
TAU_MEM = 20.0
V_THRESH = 1.0
# Mean drive and fluctuations per step independent of N (K inputs spike per step),
# so the layer fires ~2% of its neurons per step (20 Hz) at every size (recorded)
MEAN_DRIVE, DRIVE_STD = 0.04, 0.12
# snnTorch's cost per step does not depend on activity (dense products); past this
# size it runs fewer steps and its time is scaled to TIMESTEPS (recorded as such)
TORCH_FULL_STEPS_UP_TO = 2000
TORCH_LARGE_STEPS = 60
TORCH_LARGE_CHUNKS = 3     # ...timed as 3 runs of 20 steps, their sum scaled
REFERENCE_FULL_STEPS_UP_TO = 4000
REFERENCE_LARGE_STEPS = 100


def make_weights(n: int, seed: int):
    import numpy as np
    rng = np.random.default_rng(seed)
    inputs_per_step = INPUT_RATE * DT * n
    w = rng.standard_normal((n, n), dtype=np.float32)
    w *= np.float32(DRIVE_STD / np.sqrt(inputs_per_step))
    w += np.float32(MEAN_DRIVE / inputs_per_step)
    return w


def build_snnflow(w, timesteps, engine_class=None, batch_size=BATCH_SIZE):
    from snnflow import Connection, Network, Population
    from snnflow.compilers import InferenceCompiler
    from snnflow.connectivity import Dense
    from snnflow.neurons import LeakyIntegrateFire, PoissonInput
    n = w.shape[0]
    net = Network()
    with net:
        source = Population(PoissonInput(), n)
        layer = Population(LeakyIntegrateFire(v_thresh=V_THRESH, tau_mem=TAU_MEM,
                                              readout="spike_count"), n)
        Connection(source, layer, Dense(w))
    compiler = InferenceCompiler(evaluate_timesteps=timesteps, dt=DT, batch_size=batch_size)
    if engine_class is not None:
        compiler.engine_class = engine_class
    return compiler.compile(net), source, layer


def run_snnflow(compiled, source, layer, rates):
    predictions, _ = compiled.predict({source: rates}, layer, callbacks=[])
    return predictions[layer]


def build_torch(w):
    """snn.Leaky(beta=exp(-dt/tau_mem), subtract reset) fed by a Bernoulli input
    with snnflow's per-step spike probability, delivering the previous step's input
    spikes as snnflow does. snnTorch subtracts the threshold after the decay (snnflow
    before it), which changes the rate slightly, not the cost."""
    import math

    import snntorch as snn
    import torch
    n = w.shape[0]
    probability = 1.0 - math.exp(-INPUT_RATE * DT)

    class LeakyLayer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(n, n, bias=False)
            with torch.no_grad():
                self.fc.weight.copy_(torch.from_numpy(w).T)
            self.lif = snn.Leaky(beta=math.exp(-DT / TAU_MEM), threshold=V_THRESH,
                                 reset_mechanism="subtract")

        def forward(self, batch, timesteps):
            self.lif.reset_mem()
            spikes_in = torch.zeros(batch, n)
            counts = torch.zeros(batch, n)
            for _ in range(timesteps):
                current = self.fc(spikes_in)
                spikes_in = (torch.rand(batch, n) < probability).float()
                spikes, _ = self.lif(current)
                counts += spikes
            return counts

    return LeakyLayer().eval()


def run_torch(model, timesteps):
    import torch
    with torch.inference_mode():
        return model(BATCH_SIZE, timesteps).numpy()


def warm_up():
    """Load the compiled kernels (from Numba's cache, or compile them) and the
    reference engine's code paths on a small layer, so no timed run pays for it."""
    import numpy as np
    from reference_engine import ReferenceEngine
    w = make_weights(250, seed=0)
    rates = np.full((BATCH_SIZE, 250), INPUT_RATE, dtype=np.float32)
    for engine_class in (None, ReferenceEngine):
        run_snnflow(*build_snnflow(w, 10, engine_class), rates)


def measure(n: int, timesteps: int, rounds: int, torch_steps: int, reference_steps: int):
    import statistics

    import numpy as np
    from reference_engine import ReferenceEngine
    w = make_weights(n, seed=n)
    rates = np.full((BATCH_SIZE, n), INPUT_RATE, dtype=np.float32)
    compile_s, (compiled, source, layer) = common.timed(build_snnflow, w, timesteps)
    reference = build_snnflow(w, reference_steps, ReferenceEngine)
    model = build_torch(w)
    run_torch(model, 5)  # warm-up: first-call allocations and lazy imports
    flow_s, reference_s, torch_s, torch_chunk_s = [], [], [], []
    counts = torch_counts = None
    # Short torch runs when scaled: several short runs are less exposed to other
    # processes' load than one long one
    chunks = 1 if torch_steps == timesteps else TORCH_LARGE_CHUNKS
    for _ in range(rounds):
        seconds, counts = common.timed(run_snnflow, compiled, source, layer, rates)
        flow_s.append(seconds)
        seconds, _ = common.timed(run_snnflow, *reference, rates)
        reference_s.append(seconds * timesteps / reference_steps)
        chunk_s = []
        for _ in range(chunks):
            seconds, torch_counts = common.timed(run_torch, model, torch_steps // chunks)
            chunk_s.append(seconds)
        torch_chunk_s += chunk_s
        torch_s.append(sum(chunk_s) * timesteps / (chunks * (torch_steps // chunks)))
    del compiled, reference, model, w
    neuron_steps = BATCH_SIZE * timesteps * n
    # Expected synaptic events: input spikes times the N targets of each
    events = neuron_steps * (1.0 - np.exp(-INPUT_RATE * DT)) * n

    def figures(seconds):
        median = statistics.median(seconds)
        return {**common.summarize(seconds), "seconds_per_batch": median,
                "ns_per_neuron_step": median / neuron_steps * 1e9,
                "ns_per_synaptic_event": median / events * 1e9}
    return {
        "neurons": n, "batch_size": BATCH_SIZE, "timesteps": timesteps, "batches": 1,
        "rounds": rounds, "compile_s": compile_s,
        "output_rate_per_neuron_per_step": float(counts.sum() / neuron_steps),
        "snnflow": figures(flow_s),
        "reference": {**figures(reference_s), "steps_run": reference_steps,
                      "scaled_to_timesteps": reference_steps != timesteps},
        "snntorch": {**figures(torch_s), "steps_run": torch_steps,
                     "runs": rounds * chunks, "steps_per_run": torch_steps // chunks,
                     "chunk_seconds": [round(s, 6) for s in torch_chunk_s],
                     "scaled_to_timesteps": torch_steps != timesteps,
                     "output_rate_per_neuron_per_step":
                         float(torch_counts.sum() / (BATCH_SIZE * (torch_steps // chunks) * n))},
        "snnflow_speedup_over_reference": statistics.median(
            r / f for r, f in zip(reference_s, flow_s)),
        "snnflow_speedup_over_snntorch": statistics.median(
            t / f for t, f in zip(torch_s, flow_s)),
    }


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    import torch
    torch.set_num_threads(threads)
    sizes = QUICK_SIZES if quick else FULL_SIZES
    timesteps = QUICK_TIMESTEPS if quick else TIMESTEPS
    results = {"benchmark": "layer_size", "quick": quick, "threads": threads,
               "machine": common.machine_info(),
               "config": {"batch_size": BATCH_SIZE, "timesteps": timesteps, "dt": DT,
                          "input": f"PoissonInput rate {INPUT_RATE}/ms",
                          "neuron": f"LeakyIntegrateFire(v_thresh={V_THRESH}, "
                                    f"tau_mem={TAU_MEM}, readout='spike_count')",
                          "weights": f"N(mu, sigma) with mu = {MEAN_DRIVE}/K, "
                                     f"sigma = {DRIVE_STD}/sqrt(K), K = {INPUT_RATE}*N "
                                     f"(inputs spiking per step)",
                          "call": "compiled.predict({input: rates}, layer, callbacks=[])"},
               "sizes": []}
    warm_up()
    for n in sizes:
        rounds = 2 if quick else 3 if n >= 2000 else 5
        torch_steps = timesteps if n <= TORCH_FULL_STEPS_UP_TO else TORCH_LARGE_STEPS
        reference_steps = (timesteps if n <= REFERENCE_FULL_STEPS_UP_TO
                           else REFERENCE_LARGE_STEPS)
        row = measure(n, timesteps, rounds, torch_steps, reference_steps)
        results["sizes"].append(row)
        print(f"[layer_size] N={n:6d}: snnflow {row['snnflow']['seconds_per_batch']:8.3f} s/batch "
              f"({row['snnflow']['ns_per_synaptic_event']:6.3f} ns/event), reference "
              f"{row['reference']['ns_per_synaptic_event']:6.3f} ns/event"
              f"{' (scaled)' if row['reference']['scaled_to_timesteps'] else ''}, snnTorch "
              f"{row['snntorch']['seconds_per_batch']:8.3f} s/batch"
              f"{' (scaled)' if row['snntorch']['scaled_to_timesteps'] else ''}; speed-up "
              f"{row['snnflow_speedup_over_reference']:.2f}x reference, "
              f"{row['snnflow_speedup_over_snntorch']:.2f}x snnTorch; rate "
              f"{row['output_rate_per_neuron_per_step']:.3f}", flush=True)
    results["machine"]["load_average_end"] = common.os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("layer_size", run, __doc__.splitlines()[0])
