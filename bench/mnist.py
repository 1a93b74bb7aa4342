"""784-128-10 IntegrateFire network of mlGeNN's simple_mnist example.

Measures, in one process so that the ratios share the machine's load:
  * snnflow examples/s (InferenceCompiler.evaluate, callbacks=[]) per batch size;
  * the dense matrix-multiply bound: numpy float32 matmuls of the network's shapes
    at the same batch size, T of them per example batch;
  * the equivalent snnTorch model (snn.Leaky, beta=1, subtract reset) on CPU;
  * agreement of snnflow and snnTorch output spike counts on the same examples;
  * a cProfile of snnflow's step at batch 128 (full run only).

Run alone: python bench/mnist.py [--quick] [--threads N]
"""
from __future__ import annotations

import cProfile
import importlib
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

NUM_IN, NUM_HIDDEN, NUM_OUT = 784, 128, 10
V_THRESH = 5.0
TIMESTEPS = 100
DT = 1.0
# Weight scale of a trained, converted MNIST network (Keras dense weights have a
# std of about 0.1): w1 ~ N(0.01, 0.1), w2 ~ N(0, 1). With 20%-dense image-like
# inputs and v_thresh=5 the input layer fires ~1.8% of its neurons per step, the
# hidden layer ~2.2% and the output ~3% (measured and recorded in each run).
W1_MEAN, W1_STD = 0.01, 0.1
W2_MEAN, W2_STD = 0.0, 1.0

FULL_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
QUICK_BATCHES = (1, 32, 128)
HEADLINE_BATCH = 128
MATMUL_LOOPS_PER_REPEAT = 4


def examples_for(batch_size: int, quick: bool) -> int:
    if quick:
        return {1: 8}.get(batch_size, 2 * batch_size)
    return max(64, min(2048, 8 * batch_size))


def make_problem(num_examples: int, seed: int = 1):
    import numpy as np
    rng = np.random.default_rng(seed)
    w1 = rng.normal(W1_MEAN, W1_STD, (NUM_IN, NUM_HIDDEN)).astype(np.float32)
    w2 = rng.normal(W2_MEAN, W2_STD, (NUM_HIDDEN, NUM_OUT)).astype(np.float32)
    x = common.image_like(num_examples, rng)
    y = rng.integers(0, NUM_OUT, num_examples)
    return w1, w2, x, y


# --------------------------------------------------------------------------- snnflow
def network(library, w1, w2, batch_size, record=False, timesteps=TIMESTEPS,
            **compiler_options):
    """The 784-128-10 network, written once against mlGeNN's API and built with
    ``library``'s (the package's name: "snnflow" or "ml_genn"); ``record``: every
    population records its spikes. (network, compiler, input, hidden, output)."""
    top = importlib.import_module(library)
    compilers = importlib.import_module(f"{library}.compilers")
    connectivity = importlib.import_module(f"{library}.connectivity")
    neurons = importlib.import_module(f"{library}.neurons")
    net = top.SequentialNetwork()
    with net:
        inp = top.InputLayer(neurons.IntegrateFireInput(v_thresh=V_THRESH), NUM_IN,
                             record_spikes=record)
        hid = top.Layer(connectivity.Dense(w1), neurons.IntegrateFire(v_thresh=V_THRESH),
                        NUM_HIDDEN, record_spikes=record)
        out = top.Layer(connectivity.Dense(w2),
                        neurons.IntegrateFire(v_thresh=V_THRESH, readout="spike_count"),
                        NUM_OUT, record_spikes=record)
    compiler = compilers.InferenceCompiler(evaluate_timesteps=timesteps, dt=DT,
                                           batch_size=batch_size, **compiler_options)
    return net, compiler, inp, hid, out


def build_snnflow(w1, w2, batch_size, timesteps=TIMESTEPS):
    net, compiler, inp, hid, out = network("snnflow", w1, w2, batch_size, timesteps=timesteps)
    return compiler.compile(net), inp, hid, out


def run_snnflow(compiled, inp, out, x, y):
    metrics, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
    return metrics[out].result


class SpikeCounter:
    """Callback counting each example's spikes per population (for rates and the
    snnTorch comparison; not used while timing)."""

    def __init__(self, layers):
        from snnflow.utils.network import get_underlying_pop
        self.pops = {layer: get_underlying_pop(layer) for layer in layers}
        self.counts = {layer: [] for layer in layers}

    def set_params(self, compiled_network=None, **_):
        self.compiled = compiled_network

    def on_batch_begin(self, batch):
        self.current = {layer: 0 for layer in self.pops}

    def on_timestep_end(self, timestep):
        engine = self.compiled.engine
        for layer, pop in self.pops.items():
            self.current[layer] = self.current[layer] + engine.spikes(pop).sum(axis=1)

    def on_batch_end(self, batch, metrics):
        for layer in self.pops:
            self.counts[layer].append(self.current[layer])

    def totals(self, layer):
        import numpy as np
        return np.concatenate(self.counts[layer])


def snnflow_activity(w1, w2, x, y, batch_size):
    """Per-example spike totals per layer and output spike counts."""
    from snnflow.callbacks import Callback
    compiled, inp, hid, out = build_snnflow(w1, w2, batch_size)
    counter = type("Counter", (SpikeCounter, Callback), {})([inp, hid, out])
    compiled.evaluate({inp: x}, {out: y}, callbacks=[counter])
    predictions, _ = compiled.predict({inp: x}, out, callbacks=[])
    return ({name: counter.totals(layer) for name, layer in
             (("input", inp), ("hidden", hid), ("output", out))}, predictions[out])


# --------------------------------------------------------------------------- snnTorch
def if_reset_mechanism() -> str:
    """snnTorch's reset that matches snnflow's IntegrateFire: "zero" where it sets V
    to v_reset (= 0, as mlGeNN's), "subtract" where it subtracts the threshold."""
    from snnflow.neurons import IntegrateFire
    return "subtract" if getattr(IntegrateFire, "relative_reset", True) else "zero"


def build_torch(w1, w2):
    """The same network in snnTorch: snn.Leaky with beta=1 (no leak) is
    IntegrateFire, with the reset snnflow's IntegrateFire has (see
    if_reset_mechanism); the input layer is an integrate-and-fire population
    driven by the image as a constant current, as IntegrateFireInput. Each layer
    receives the spikes its source emitted in the previous step, as GeNN/snnflow
    deliver them, so the spike trains match step for step. snnTorch spikes on
    V > threshold, snnflow on V >= threshold: equal only off exact ties."""
    import snntorch as snn
    import torch
    reset = if_reset_mechanism()

    class IntegrateFireNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(NUM_IN, NUM_HIDDEN, bias=False)
            self.fc2 = torch.nn.Linear(NUM_HIDDEN, NUM_OUT, bias=False)
            with torch.no_grad():
                self.fc1.weight.copy_(torch.from_numpy(w1.T))
                self.fc2.weight.copy_(torch.from_numpy(w2.T))
            self.lif_in = snn.Leaky(beta=1.0, threshold=V_THRESH, reset_mechanism=reset)
            self.lif_hid = snn.Leaky(beta=1.0, threshold=V_THRESH, reset_mechanism=reset)
            self.lif_out = snn.Leaky(beta=1.0, threshold=V_THRESH, reset_mechanism=reset)

        def forward(self, x, timesteps=TIMESTEPS, hidden_counts=False):
            batch = x.shape[0]
            for lif in (self.lif_in, self.lif_hid, self.lif_out):
                lif.reset_mem()
            spikes_in = torch.zeros(batch, NUM_IN)
            spikes_hid = torch.zeros(batch, NUM_HIDDEN)
            counts = torch.zeros(batch, NUM_OUT)
            hidden = torch.zeros(batch)
            for _ in range(timesteps):
                current_hid = self.fc1(spikes_in)
                current_out = self.fc2(spikes_hid)
                spikes_in, _ = self.lif_in(x)
                spikes_hid, _ = self.lif_hid(current_hid)
                spikes_out, _ = self.lif_out(current_out)
                counts += spikes_out
                if hidden_counts:
                    hidden += spikes_hid.sum(dim=1)
            return (counts, hidden) if hidden_counts else counts

    return IntegrateFireNet().eval()


def run_torch(model, x, batch_size):
    import torch
    outputs = []
    with torch.inference_mode():
        tensor = torch.from_numpy(x)
        for start in range(0, len(x), batch_size):
            outputs.append(model(tensor[start:start + batch_size]))
    return torch.cat(outputs).numpy()


def torch_activity(model, x, batch_size):
    import torch
    counts, hidden = [], []
    with torch.inference_mode():
        tensor = torch.from_numpy(x)
        for start in range(0, len(x), batch_size):
            c, h = model(tensor[start:start + batch_size], hidden_counts=True)
            counts.append(c)
            hidden.append(h)
    return torch.cat(counts).numpy(), torch.cat(hidden).numpy()


# --------------------------------------------------------------------------- matmul bound
def matmul_loop(w1, w2, batch_size, timesteps=TIMESTEPS, seed=2):
    """A pure dense loop: per step (B, 784) @ (784, 128) and (B, 128) @ (128, 10) in
    numpy float32, the products a dense (non event-driven) engine must do."""
    import numpy as np
    rng = np.random.default_rng(seed)
    spikes_in = (rng.random((batch_size, NUM_IN)) < 0.02).astype(np.float32)
    spikes_hid = (rng.random((batch_size, NUM_HIDDEN)) < 0.03).astype(np.float32)

    def loop():
        for _ in range(timesteps):
            spikes_in @ w1
            spikes_hid @ w2
    return loop


def matmul_bound(seconds, batch_size, timesteps=TIMESTEPS):
    """The examples/s a dense-matmul engine could reach at most, from the best of
    the timed T-step loops (one loop = one batch)."""
    best = min(seconds)
    flops_per_example = 2 * timesteps * (NUM_IN * NUM_HIDDEN + NUM_HIDDEN * NUM_OUT)
    return {"flops_per_example": flops_per_example,
            "seconds_per_batch": common.summarize(seconds),
            "sgemm_gflops": flops_per_example * batch_size / best / 1e9,
            "bound_examples_per_s": batch_size / best}


# --------------------------------------------------------------------------- processes
def _process_worker(w1, w2, x, y, batch_size, rounds, barrier, queue):
    compiled, inp, _, out = build_snnflow(w1, w2, batch_size)
    run_snnflow(compiled, inp, out, x[:batch_size], y[:batch_size])
    spans = []
    for _ in range(rounds):
        barrier.wait()
        start = time.perf_counter()
        run_snnflow(compiled, inp, out, x, y)
        spans.append((start, time.perf_counter()))
    queue.put(spans)


def process_throughput(w1, w2, x, y, batch_size, processes, rounds):
    """Aggregate examples/s of ``processes`` single-threaded processes, each running
    all of ``x`` at the same time (what Dask workers with one thread each give)."""
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    saved = {name: common.os.environ.get(name) for name in common.THREAD_VARIABLES}
    for name in common.THREAD_VARIABLES:
        common.os.environ[name] = "1"
    try:
        barrier, queue = context.Barrier(processes), context.Queue()
        workers = [context.Process(target=_process_worker,
                                   args=(w1, w2, x, y, batch_size, rounds, barrier, queue))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        spans = [queue.get() for _ in workers]
        for worker in workers:
            worker.join()
    finally:
        for name, value in saved.items():
            if value is None:
                common.os.environ.pop(name, None)
            else:
                common.os.environ[name] = value
    seconds = [max(s[r][1] for s in spans) - min(s[r][0] for s in spans)
               for r in range(rounds)]
    return {"processes": processes, "threads_per_process": 1, "batch_size": batch_size,
            "examples_per_process": len(x), "rounds": rounds,
            **common.summarize(seconds),
            "examples_per_s": processes * len(x) / min(seconds)}


# --------------------------------------------------------------------------- profile
def profile_snnflow(w1, w2, x, y, batch_size, top=14):
    compiled, inp, _, out = build_snnflow(w1, w2, batch_size)
    run_snnflow(compiled, inp, out, x[:batch_size], y[:batch_size])
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _ = common.timed(run_snnflow, compiled, inp, out, x, y)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        short = "/".join(Path(filename).parts[-2:]) if filename != "~" else ""
        rows.append({"function": f"{short}:{line}({name})" if short else name,
                     "ncalls": ncalls, "tottime_s": round(tottime, 4),
                     "cumtime_s": round(cumtime, 4)})
    by_total = sorted(rows, key=lambda r: -r["tottime_s"])[:top]
    by_cumulative = [r for r in sorted(rows, key=lambda r: -r["cumtime_s"])
                     if "snnflow" in r["function"] or "backends" in r["function"]][:top]
    return {"batch_size": batch_size, "examples": len(x), "timesteps": TIMESTEPS,
            "profiled_seconds": seconds, "top_tottime": by_total,
            "top_cumtime_snnflow": by_cumulative}


# --------------------------------------------------------------------------- driver
def compare(w1, w2, x, y, batch_size):
    """snnflow vs snnTorch spike counts on the same examples."""
    import numpy as np
    flow_counts, flow_out = snnflow_activity(w1, w2, x, y, batch_size)
    torch_out, torch_hidden = torch_activity(build_torch(w1, w2), x, batch_size)
    n = len(x)
    flow_hidden = flow_counts["hidden"]
    return {
        "examples": n,
        "rates_per_neuron_per_step": {
            name: float(flow_counts[name].sum() / (n * TIMESTEPS * size))
            for name, size in (("input", NUM_IN), ("hidden", NUM_HIDDEN), ("output", NUM_OUT))},
        "torch_hidden_rate": float(torch_hidden.sum() / (n * TIMESTEPS * NUM_HIDDEN)),
        "torch_output_rate": float(torch_out.sum() / (n * TIMESTEPS * NUM_OUT)),
        "output_counts_identical_examples": float(np.mean(np.all(flow_out == torch_out,
                                                                 axis=1))),
        "output_counts_max_abs_diff": float(np.abs(flow_out - torch_out).max()),
        "hidden_totals_identical_examples": float(np.mean(flow_hidden == torch_hidden)),
        "hidden_totals_max_abs_diff": float(np.abs(flow_hidden - torch_hidden).max()),
        "argmax_agreement": float(np.mean(flow_out.argmax(1) == torch_out.argmax(1))),
        "accuracy_snnflow": float(np.mean(flow_out.argmax(1) == y)),
        "accuracy_snntorch": float(np.mean(torch_out.argmax(1) == y)),
    }


def measure_batch(w1, w2, x, y, batch_size, num_examples, repeats):
    """Interleaved snnflow / snnTorch / matmul-bound timings at one batch size."""
    x, y = x[:num_examples], y[:num_examples]
    compile_s, (compiled, inp, _, out) = common.timed(build_snnflow, w1, w2, batch_size)
    model = build_torch(w1, w2)
    # One warm-up batch each: first-call allocations and lazy imports
    run_snnflow(compiled, inp, out, x[:batch_size], y[:batch_size])
    run_torch(model, x[:batch_size], batch_size)
    loop = matmul_loop(w1, w2, batch_size)
    loop()
    # Interleaved, so that all three see the same background load; the matmul loop
    # is short, so it is timed several times per round
    flow, torch_s, dense = [], [], []
    for _ in range(repeats):
        flow.append(common.timed(run_snnflow, compiled, inp, out, x, y)[0])
        torch_s.append(common.timed(run_torch, model, x, batch_size)[0])
        dense += [common.timed(loop)[0] for _ in range(MATMUL_LOOPS_PER_REPEAT)]
    bound = matmul_bound(dense, batch_size)
    flow_rate = num_examples / min(flow)
    torch_rate = num_examples / min(torch_s)
    return {
        "batch_size": batch_size, "examples": num_examples, "timesteps": TIMESTEPS,
        "repeats": repeats, "compile_s": compile_s,
        "snnflow": {**common.summarize(flow), "examples_per_s": flow_rate},
        "snntorch": {**common.summarize(torch_s), "examples_per_s": torch_rate},
        "matmul": bound,
        "fraction_of_matmul_bound": flow_rate / bound["bound_examples_per_s"],
        "snnflow_over_snntorch": flow_rate / torch_rate,
    }


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    import torch
    torch.set_num_threads(threads)

    batches = QUICK_BATCHES if quick else FULL_BATCHES
    num_examples = max(examples_for(b, quick) for b in batches)
    w1, w2, x, y = make_problem(num_examples)
    results = {"benchmark": "mnist_784_128_10", "quick": quick, "threads": threads,
               "machine": common.machine_info(),
               "config": {"timesteps": TIMESTEPS, "dt": DT, "v_thresh": V_THRESH,
                          "w1": f"N({W1_MEAN}, {W1_STD})", "w2": f"N({W2_MEAN}, {W2_STD})",
                          "input": "20% non-zero pixels in 2-4 Gaussian blobs, "
                                   "values uniform in (0, 1]",
                          "callbacks": "[]", "metric": "sparse_categorical_accuracy",
                          "snntorch_model": f"snn.Leaky(beta=1.0, threshold={V_THRESH}, "
                                            f"reset_mechanism={if_reset_mechanism()!r}) "
                                            f"x3, nn.Linear(bias=False) x2"}}

    check_examples = 64 if quick else 512
    print(f"[mnist] snnflow vs snnTorch agreement on {check_examples} examples", flush=True)
    results["agreement"] = compare(w1, w2, x[:check_examples], y[:check_examples],
                                   HEADLINE_BATCH)
    print(f"  {results['agreement']}", flush=True)

    results["batches"] = []
    for batch_size in batches:
        repeats = 2 if quick else 7 if batch_size == HEADLINE_BATCH else 5
        row = measure_batch(w1, w2, x, y, batch_size, examples_for(batch_size, quick), repeats)
        results["batches"].append(row)
        print(f"[mnist] batch {batch_size:4d}: snnflow {row['snnflow']['examples_per_s']:8.0f} "
              f"ex/s, snnTorch {row['snntorch']['examples_per_s']:8.0f} ex/s "
              f"(ratio {row['snnflow_over_snntorch']:.2f}), matmul bound "
              f"{row['matmul']['bound_examples_per_s']:8.0f} ex/s "
              f"({row['matmul']['sgemm_gflops']:.1f} GFLOP/s) -> "
              f"{100 * row['fraction_of_matmul_bound']:.0f}% of bound", flush=True)

    if not quick:
        with common.set_threads(1):
            row = measure_batch(w1, w2, x, y, HEADLINE_BATCH,
                                examples_for(HEADLINE_BATCH, quick), 3)
        row["threads"] = 1
        results["single_thread_batch_128"] = row
        print(f"[mnist] 1 thread, batch 128: snnflow {row['snnflow']['examples_per_s']:.0f} "
              f"ex/s, snnTorch {row['snntorch']['examples_per_s']:.0f} ex/s, matmul bound "
              f"{row['matmul']['bound_examples_per_s']:.0f} ex/s", flush=True)
        results["two_processes_batch_128"] = process_throughput(
            w1, w2, x[:1024], y[:1024], HEADLINE_BATCH, processes=2, rounds=3)
        print(f"[mnist] 2 processes x 1 thread, batch 128: "
              f"{results['two_processes_batch_128']['examples_per_s']:.0f} ex/s in all",
              flush=True)
        results["profile"] = profile_snnflow(w1, w2, x[:512], y[:512], HEADLINE_BATCH)
        results["profile_batch_1"] = profile_snnflow(w1, w2, x[:32], y[:32], 1)

    results["mlgenn_genn_cpu_reference"] = {
        "examples_per_s": 580, "batch_size": 1,
        "source": "figure given by the project (mlGeNN on GeNN's CPU backend, this "
                  "machine); not measured by this suite"}
    results["machine"]["load_average_end"] = common.os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("mnist", run, __doc__.splitlines()[0])
