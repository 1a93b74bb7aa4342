"""Make the figures of docs/callbacks.md: a spike raster and a voltage trace.

A toy classifier of scikit-learn's 8x8 digits: every pixel is latency-coded
(one spike, brighter pixels earlier) into a SpikeInput population, which drives
ten leaky integrate-and-fire neurons through template weights (each neuron's
weights are its class's centred mean image). SpikeRecorder and VarRecorder
record one test example; matplotlib draws the figures from cb_data.

    python docs/examples/callbacks_plots.py    # writes docs/images/{raster,voltage}.png
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from snnflow import Connection, Network, Population  # noqa: E402
from snnflow.callbacks import SpikeRecorder, VarRecorder  # noqa: E402
from snnflow.compilers import InferenceCompiler  # noqa: E402
from snnflow.connectivity import Dense  # noqa: E402
from snnflow.neurons import LeakyIntegrateFire, SpikeInput  # noqa: E402
from snnflow.utils.data import linear_latency_encode_data  # noqa: E402

IMAGES = Path(__file__).resolve().parent.parent / "images"
TIMESTEPS = 40          # 40 ms at dt = 1 ms
LATENCY_WINDOW = 20.0   # ms: a full-brightness pixel fires at 0, the faintest near 20
EXAMPLE = 3             # the test example that is plotted


def load():
    digits = load_digits()
    images = (digits.images * (255 / 16)).astype(np.uint8)  # 4-bit -> 8-bit pixels
    return images[:1000], digits.target[:1000], images[1000:1200], digits.target[1000:1200]


def template_weights(images, labels):
    """(64, 10): class k's mean image, centred across classes, scaled to sum |w| = 8."""
    means = np.stack([images[labels == k].mean(0).ravel() for k in range(10)], 1) / 255
    means -= means.mean(1, keepdims=True)
    return (means / np.abs(means).sum(0) * 8).astype(np.float32)


def main():
    train_x, train_y, test_x, test_y = load()
    net = Network()
    with net:
        pixels = Population(SpikeInput(), (8, 8), record_spikes=True, name="pixels")
        digit = Population(LeakyIntegrateFire(v_thresh=1.0, tau_mem=20.0,
                                              readout="spike_count"),
                           10, record_spikes=True, name="digit")
        Connection(pixels, digit, Dense(template_weights(train_x, train_y)))
    compiled = InferenceCompiler(evaluate_timesteps=TIMESTEPS, dt=1.0,
                                 batch_size=64).compile(net)
    callbacks = ["batch_progress_bar",
                 SpikeRecorder(pixels, key="pixel_spikes", example_filter=EXAMPLE),
                 SpikeRecorder(digit, key="digit_spikes", example_filter=EXAMPLE),
                 VarRecorder(digit, "v", key="digit_v", example_filter=EXAMPLE)]
    metrics, cb_data = compiled.evaluate(
        {pixels: linear_latency_encode_data(test_x, max_time=LATENCY_WINDOW)},
        {digit: test_y}, callbacks=callbacks)
    print(f"test accuracy {metrics[digit].result:.3f}")

    label = int(test_y[EXAMPLE])
    # example_filter kept one example, so each list holds one entry
    pixel_times, pixel_ids = cb_data["pixel_spikes"][0][0], cb_data["pixel_spikes"][1][0]
    digit_times, digit_ids = cb_data["digit_spikes"][0][0], cb_data["digit_spikes"][1][0]
    v = cb_data["digit_v"][0]                      # (timesteps, 10) float32
    times = np.arange(v.shape[0]) * compiled.compiler.dt

    IMAGES.mkdir(parents=True, exist_ok=True)
    plot_raster(test_x[EXAMPLE], label, pixel_times, pixel_ids, digit_times, digit_ids)
    plot_voltage(label, times, v, digit_times, digit_ids)


def plot_raster(image, label, pixel_times, pixel_ids, digit_times, digit_ids):
    fig = plt.figure(figsize=(9, 5), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=(1, 4), height_ratios=(3, 2))
    ax_image = fig.add_subplot(grid[0, 0])
    ax_image.imshow(image, cmap="gray_r")
    ax_image.set_title(f"input (label {label})")
    ax_image.set_xticks([])
    ax_image.set_yticks([])
    ax_in = fig.add_subplot(grid[0, 1])
    ax_in.scatter(pixel_times, pixel_ids, s=12, marker="|", color="tab:blue")
    ax_in.set_ylabel("pixel id (row-major)")
    ax_in.set_ylim(-1, 64)
    ax_in.set_title("pixels: one latency-coded spike per lit pixel")
    ax_out = fig.add_subplot(grid[1, 1], sharex=ax_in)
    colours = np.where(digit_ids == label, "tab:red", "tab:gray")
    ax_out.scatter(digit_times, digit_ids, s=60, marker="|", c=colours)
    ax_out.axhspan(label - 0.5, label + 0.5, color="tab:red", alpha=0.1)
    ax_out.set_yticks(range(10))
    ax_out.set_ylim(-0.5, 9.5)
    ax_out.set_ylabel("digit neuron")
    ax_out.set_xlabel("time (ms)")
    ax_out.set_xlim(-1, TIMESTEPS)
    ax_out.set_title("output spikes (true class shaded)")
    fig.savefig(IMAGES / "raster.png", dpi=110)
    plt.close(fig)


def plot_voltage(label, times, v, digit_times, digit_ids):
    fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
    for neuron in range(v.shape[1]):
        own = neuron == label
        ax.plot(times, v[:, neuron], lw=2.2 if own else 1.0,
                color="tab:red" if own else "tab:gray", alpha=1.0 if own else 0.6,
                label=f"neuron {neuron} (true class)" if own else None, zorder=3 if own else 2)
    spiked = digit_times[digit_ids == label]
    ax.plot(spiked, np.full(len(spiked), 1.0), "v", color="tab:red", ms=8,
            label="its spikes (V reset by subtraction)")
    ax.axhline(1.0, ls="--", color="black", lw=1, label="v_thresh")
    ax.plot([], [], color="tab:gray", label="other digit neurons")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("membrane voltage v")
    ax.set_xlim(0, times[-1])
    ax.set_title("VarRecorder(digit, \"v\"): v after each timestep's update and reset")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(IMAGES / "voltage.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
