"""What BatchProgressBar shows: one bar per evaluation, one line per training epoch
that never goes back to 0% under its label, and the validation metrics on it."""
import re

import numpy as np
import pytest

from snnflow import Connection, Network, Population
from snnflow.compilers import EventPropCompiler, InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import LeakyIntegrate, LeakyIntegrateFire, SpikeInput
from snnflow.synapses import Exponential
from snnflow.utils.data import linear_latency_encode_data


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    network = Network()
    with network:
        inputs = Population(SpikeInput(), 8)
        hidden = Population(LeakyIntegrateFire(v_thresh=1.0), 16)
        outputs = Population(LeakyIntegrate(readout="avg_var"), 3)
        Connection(inputs, hidden, Dense(rng.normal(0.3, 0.1, (8, 16))), Exponential(5.0))
        Connection(hidden, outputs, Dense(rng.normal(0.0, 0.1, (16, 3))), Exponential(5.0))
    x = linear_latency_encode_data(rng.uniform(0, 255, (64, 8)).astype(np.float32), 20.0,
                                   0.0, 1)
    return network, inputs, outputs, x, rng.integers(0, 3, 64)


def bar_states(err):
    """[(label, percent, the rest of the line)] in the order tqdm drew them."""
    states = []
    for segment in re.split(r"[\r\n]", err):
        match = re.match(r"\s*([a-z][a-z0-9 ]*?):\s+(\d+)%\|[^|]*\|(.*)", segment)
        if match:
            states.append((match[1], int(match[2]), match[3]))
    return states


def test_each_epoch_is_one_line_with_its_validation_metrics(problem, capsys):
    network, inputs, outputs, x, y = problem
    compiled = EventPropCompiler(30, "sparse_categorical_crossentropy",
                                 batch_size=16).compile(network)
    _, validation_metrics, _, _ = compiled.train_validate(
        {inputs: x}, {outputs: y}, {inputs: x[:32]}, {outputs: y[:32]}, num_epochs=3)
    states = bar_states(capsys.readouterr().err)
    labels = [label for label, _, _ in states]
    assert "train" not in labels
    for epoch in range(3):
        percents = [p for label, p, _ in states if label == f"epoch {epoch}"]
        assert percents[0] == 0 and percents[-1] == 100
        assert percents == sorted(percents), "an epoch's bar went back under its label"
        last = [rest for label, _, rest in states if label == f"epoch {epoch}"][-1]
        assert "sparse_categorical_accuracy=" in last
        assert "val_sparse_categorical_accuracy=" in last
    assert f"val_sparse_categorical_accuracy={validation_metrics[outputs].result:.4f}" in \
        [rest for label, _, rest in states if label == "epoch 2"][-1]


def test_an_evaluation_shows_one_bar(problem, capsys):
    network, inputs, outputs, x, y = problem
    compiled = InferenceCompiler(evaluate_timesteps=30, batch_size=16).compile(network)
    metrics, _ = compiled.evaluate({inputs: x}, {outputs: y})
    states = bar_states(capsys.readouterr().err)
    assert {label for label, _, _ in states} == {"evaluate"}
    assert states[0][1] == 0 and states[-1][1] == 100
    assert f"sparse_categorical_accuracy={metrics[outputs].result:.4f}" in states[-1][2]
