"""The callback contract of the spec: hooks by inspection, set_params/get_data,
keys, names of default-constructable callbacks, and the progress bar."""
import numpy as np
import pytest

from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.callbacks import BatchProgressBar, Callback
from snnflow.utils.callback_list import CallbackList
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import IntegrateFire, IntegrateFireInput

HOOKS = ("on_test_begin", "on_test_end", "on_train_begin", "on_train_end", "on_epoch_begin",
         "on_epoch_end", "on_batch_begin", "on_batch_end", "on_timestep_begin",
         "on_timestep_end")


@pytest.fixture
def network():
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 2)
        out = Layer(Dense(np.array([[1.0, 0.0], [0.0, 1.0]])),
                    IntegrateFire(v_thresh=1.0, readout="spike_count"), 2)
    # Example k drives neuron k % 2 harder, so the label k % 2 is always right
    x = np.array([[0.9, 0.2], [0.2, 0.9]] * 4)[:7]
    y = np.arange(7) % 2
    return net, inp, out, x, y


def compile_net(net, batch_size=3, timesteps=4):
    return InferenceCompiler(evaluate_timesteps=timesteps, batch_size=batch_size).compile(net)


class MyCallback(Callback):
    """The spec's example, completed: records something on every batch end."""

    def __init__(self, key):
        self.key = key

    def set_params(self, data, **kwargs):
        data[self.key] = []
        self._data = data[self.key]

    def on_batch_end(self, batch, metrics):
        self._data.append(batch)

    def get_data(self):
        return self.key, self._data


def test_spec_custom_callback(network):
    net, inp, out, x, y = network
    metrics, cb_data = compile_net(net).evaluate({inp: x}, {out: y},
                                                 callbacks=[MyCallback("mine")])
    assert cb_data == {"mine": [0, 1, 2]}
    assert metrics[out].result == 1.0


class Logger:
    """Not derived from Callback: hooks are found by inspection alone."""

    def __init__(self):
        self.calls = []

    def set_params(self, compiled_network, num_batches, data, **kwargs):
        self.calls.append(("set_params", num_batches))

    def on_test_begin(self):
        self.calls.append(("on_test_begin",))

    def on_batch_begin(self, batch):
        self.calls.append(("on_batch_begin", batch))

    def on_timestep_begin(self, timestep):
        self.calls.append(("on_timestep_begin", timestep))

    def on_timestep_end(self, timestep):
        self.calls.append(("on_timestep_end", timestep))

    def on_batch_end(self, batch, metrics):
        self.calls.append(("on_batch_end", batch, sorted(m.state["total"]
                                                         for m in metrics.values())))

    def on_test_end(self, metrics):
        self.calls.append(("on_test_end", [m.result for m in metrics.values()]))


def test_hook_order_and_arguments(network):
    net, inp, out, x, y = network
    logger = Logger()
    compile_net(net, batch_size=3, timesteps=3).evaluate({inp: x}, {out: y},
                                                        callbacks=[logger])
    expected = [("set_params", 3), ("on_test_begin",)]
    for batch, total in enumerate([3, 6, 7]):
        expected.append(("on_batch_begin", batch))
        for t in range(3):
            expected += [("on_timestep_begin", t), ("on_timestep_end", t)]
        expected.append(("on_batch_end", batch, [total]))
    expected.append(("on_test_end", [1.0]))
    assert logger.calls == expected


def test_predict_calls_the_same_hooks(network):
    net, inp, out, x, y = network
    logger = Logger()
    y_pred, _ = compile_net(net, batch_size=4, timesteps=3).predict({inp: x}, out,
                                                                    callbacks=[logger])
    assert [c[0] for c in logger.calls].count("on_batch_end") == 2
    assert logger.calls[-1] == ("on_test_end", [])
    assert y_pred[out].shape == (7, 2)


def test_base_class_defines_no_hooks_and_missing_hooks_cost_nothing():
    assert not any(hasattr(Callback(), hook) for hook in HOOKS)
    callbacks = CallbackList([MyCallback("k")], compiled_network=None, num_batches=1)
    assert callbacks.hooks["on_timestep_begin"] == []
    assert callbacks.hooks["on_timestep_end"] == []
    assert len(callbacks.hooks["on_batch_end"]) == 1


def test_default_is_a_fresh_progress_bar_per_call(network, monkeypatch):
    net, inp, out, x, y = network
    made = []
    original = BatchProgressBar.set_params

    def tracking(self, **kwargs):
        made.append(self)
        original(self, **kwargs)
    monkeypatch.setattr(BatchProgressBar, "set_params", tracking)
    compiled = compile_net(net)
    compiled.evaluate({inp: x}, {out: y})
    compiled.evaluate({inp: x}, {out: y})
    compiled.predict({inp: x}, [out])
    assert len(made) == 3 and len({id(bar) for bar in made}) == 3


def test_progress_bar_counts_batches_and_shows_metrics(network, capsys):
    net, inp, out, x, y = network
    compile_net(net).evaluate({inp: x}, {out: y}, callbacks=["batch_progress_bar"])
    err = capsys.readouterr().err
    assert "3/3" in err
    assert "sparse_categorical_accuracy=1.0000" in err


def test_callbacks_must_be_a_list(network):
    net, inp, out, x, y = network
    with pytest.raises(TypeError, match="callbacks must be a list"):
        compile_net(net).evaluate({inp: x}, {out: y}, callbacks="batch_progress_bar")
