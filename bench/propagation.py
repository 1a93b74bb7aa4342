"""Propagation micro-benchmark: the NumPy step loop's spike delivery (Delivery.deliver
in bench/reference_models.py, the reference engine's; snnflow's Propagator.deliver
before the compiled engine) for a dense 784 x 128 matrix at batch 128, event-driven
vs dense-matmul mode, across spike fractions; checks the DENSE_SPIKE_FRACTION
break-even where the module has one.

The mode is forced by setting the module constant at run time (0 -> always the dense
product, 1 -> always event-driven); the file itself is not changed. Where the
module has no such constant (since commit da03630 deliver is event-driven only, for
batch-exact float32 sums), "dense" is the product the dense branch did,
``in_syn += spikes.astype(float32) @ matrix``, timed against deliver.

Also times deliver's two event-driven paths, the NumPy row gathering it uses up
to SMALL_BATCH examples and the scipy.sparse product above, per batch size, to
check that constant.

Run alone: python bench/propagation.py [--quick] [--threads N]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (sets thread limits before numpy loads)

NUM_PRE, NUM_POST = 784, 128
FRACTIONS = (0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2)
QUICK_FRACTIONS = (0.005, 0.02, 0.05, 0.1, 0.2)
MAIN_BATCH = 128


def deliver_function(propagation, propagator, mode):
    """``propagator.deliver`` forced into ``mode`` ("event" or "dense").

    With DENSE_SPIKE_FRACTION in the module, the mode is forced through it. Without
    it (the engine became event-driven only), "event" is deliver itself and "dense"
    is the dense branch the engine used to have: ``in_syn += spikes @ matrix``."""
    import numpy as np
    if hasattr(propagation, "DENSE_SPIKE_FRACTION"):
        def forced(spikes, spiking, in_syn):
            saved = propagation.DENSE_SPIKE_FRACTION
            propagation.DENSE_SPIKE_FRACTION = 1.0 if mode == "event" else 0.0
            try:
                propagator.deliver(spikes, spiking, in_syn)
            finally:
                propagation.DENSE_SPIKE_FRACTION = saved
        return forced
    if mode == "event":
        return propagator.deliver

    def dense(spikes, spiking, in_syn):
        if len(spiking) == 0:
            return
        in_syn += spikes.astype(np.float32) @ propagator.propagator.matrix
    return dense


def time_deliver(deliver, spikes, calls):
    import numpy as np
    spiking = np.flatnonzero(spikes)
    in_syn = np.zeros((spikes.shape[0], NUM_POST), dtype=np.float32)
    deliver(spikes, spiking, in_syn)
    elapsed, _ = common.timed(_loop, deliver, spikes, spiking, in_syn, calls)
    return elapsed / calls


def _loop(deliver, spikes, spiking, in_syn, calls):
    for _ in range(calls):
        deliver(spikes, spiking, in_syn)


def break_even(rows):
    """Spike fraction where event-driven delivery becomes slower than the dense
    product: a least-squares line through the event-driven times (they grow with
    the spikes) against the median dense time (it does not), so that one disturbed
    point does not move the answer."""
    import numpy as np
    fractions = np.array([row["fraction"] for row in rows])
    event = np.array([row["event_us"] for row in rows])
    dense = float(np.median([row["dense_us"] for row in rows]))
    if event[0] >= dense:
        return f"< {rows[0]['fraction']}"
    slope, intercept = np.polyfit(fractions, event, 1)
    crossing = (dense - intercept) / slope
    return float(crossing) if crossing <= rows[-1]["fraction"] else f"> {rows[-1]['fraction']}"


def sweep(batch_size, fractions, calls, repeats, seed=0):
    import numpy as np
    import reference_models as propagation
    from snnflow.backends.numpy.propagation import Propagator
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, (NUM_PRE, NUM_POST)).astype(np.float32)
    propagator = propagation.Delivery(Propagator(matrix))
    event_deliver = deliver_function(propagation, propagator, "event")
    dense_deliver = deliver_function(propagation, propagator, "dense")
    rows = []
    for fraction in fractions:
        spikes = rng.random((batch_size, NUM_PRE)) < fraction
        # Interleave the modes so that both see the same background load
        event, dense = [], []
        for _ in range(repeats):
            event.append(time_deliver(event_deliver, spikes, calls))
            dense.append(time_deliver(dense_deliver, spikes, calls))
        rows.append({"fraction": fraction, "spikes": int(spikes.sum()),
                     "event_us": min(event) * 1e6, "dense_us": min(dense) * 1e6,
                     "event_over_dense": min(event) / min(dense)})
    return {"batch_size": batch_size, "rows": rows, "break_even_fraction": break_even(rows),
            "configured_fraction": getattr(propagation, "DENSE_SPIKE_FRACTION",
                                           "none (deliver is event-driven only)")}


SMALL_BATCH_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 32)
SMALL_BATCH_FRACTIONS = (0.02, 0.05)


def small_batch_sweep(batch_sizes, fractions, calls, repeats, seed=1):
    """deliver's NumPy row-gathering path (used up to SMALL_BATCH examples) vs its
    scipy.sparse path, forced through the module constant, per batch size."""
    import numpy as np
    import reference_models as propagation
    from snnflow.backends.numpy.propagation import Propagator
    if not hasattr(propagation, "SMALL_BATCH"):
        return None
    rng = np.random.default_rng(seed)
    matrix = rng.normal(0.0, 0.1, (NUM_PRE, NUM_POST)).astype(np.float32)
    propagator = propagation.Delivery(Propagator(matrix))
    configured = propagation.SMALL_BATCH

    def forced(small):
        def deliver(spikes, spiking, in_syn):
            propagation.SMALL_BATCH = 10**9 if small else 0
            try:
                propagator.deliver(spikes, spiking, in_syn)
            finally:
                propagation.SMALL_BATCH = configured
        return deliver

    numpy_path, scipy_path = forced(True), forced(False)
    result = {"configured_small_batch": configured, "fractions": []}
    for fraction in fractions:
        rows = []
        for batch_size in batch_sizes:
            spikes = rng.random((batch_size, NUM_PRE)) < fraction
            gather, sparse = [], []
            for _ in range(repeats):
                gather.append(time_deliver(numpy_path, spikes, calls))
                sparse.append(time_deliver(scipy_path, spikes, calls))
            rows.append({"batch_size": batch_size, "numpy_us": min(gather) * 1e6,
                         "scipy_us": min(sparse) * 1e6,
                         "numpy_over_scipy": min(gather) / min(sparse)})
        faster = [row["batch_size"] for row in rows if row["numpy_over_scipy"] < 1.0]
        result["fractions"].append({
            "fraction": fraction, "rows": rows,
            "largest_batch_where_numpy_path_wins": max(faster) if faster else None})
    return result


def run(quick: bool = False, threads: int | None = None) -> dict:
    threads = threads or common.default_threads()
    limiter = common.limit_threads(threads)  # noqa: F841  (kept alive)
    fractions = QUICK_FRACTIONS if quick else FRACTIONS
    calls, repeats = (50, 2) if quick else (200, 5)
    results = {"benchmark": "propagation", "quick": quick, "threads": threads,
               "machine": common.machine_info(),
               "config": {"matrix": f"dense {NUM_PRE} x {NUM_POST} float32",
                          "calls_per_timing": calls, "repeats": repeats,
                          "timing": "best of repeats, per deliver call"},
               "sweeps": []}
    plan = [(MAIN_BATCH, threads)]
    if not quick:
        plan += [(MAIN_BATCH, 1), (32, threads), (1, threads)]
    for batch_size, sweep_threads in plan:
        with common.set_threads(sweep_threads):
            result = sweep(batch_size, fractions, calls, repeats)
        result["threads"] = sweep_threads
        results["sweeps"].append(result)
        print(f"[propagation] batch {batch_size}, {sweep_threads} thread(s): break-even "
              f"{result['break_even_fraction']} (configured {result['configured_fraction']})",
              flush=True)
        for row in result["rows"]:
            print(f"    {100 * row['fraction']:5.1f}%: event {row['event_us']:8.1f} us, "
                  f"dense {row['dense_us']:8.1f} us, ratio {row['event_over_dense']:.2f}",
                  flush=True)
    small = small_batch_sweep(SMALL_BATCH_SIZES[:4] if quick else SMALL_BATCH_SIZES,
                              SMALL_BATCH_FRACTIONS[:1] if quick else SMALL_BATCH_FRACTIONS,
                              calls, repeats)
    if small is not None:
        results["small_batch"] = small
        for entry in small["fractions"]:
            print(f"[propagation] small-batch path at {100 * entry['fraction']:.0f}% spikes: "
                  f"NumPy path faster up to batch "
                  f"{entry['largest_batch_where_numpy_path_wins']} (SMALL_BATCH = "
                  f"{small['configured_small_batch']})", flush=True)
            for row in entry["rows"]:
                print(f"    batch {row['batch_size']:3d}: numpy {row['numpy_us']:7.1f} us, "
                      f"scipy {row['scipy_us']:7.1f} us", flush=True)
    results["machine"]["load_average_end"] = common.os.getloadavg()
    return results


if __name__ == "__main__":
    common.script_main("propagation", run, __doc__.splitlines()[0])
