"""evaluate, evaluate_batch_iter and predict agree; metrics merge exactly."""
import numpy as np
import pytest

from snnflow import InputLayer, Layer, SequentialNetwork
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.metrics import MeanSquareError, SparseCategoricalAccuracy
from snnflow.neurons import IntegrateFire, IntegrateFireInput, LeakyIntegrate


@pytest.fixture
def problem():
    rng = np.random.default_rng(8)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 12)
        hid = Layer(Dense(rng.normal(0.2, 0.5, (12, 16))), IntegrateFire(v_thresh=1.0))
        out = Layer(Dense(rng.normal(0.0, 0.5, (16, 3))), LeakyIntegrate(readout="sum_var"))
    x = rng.random((23, 12))
    y = rng.integers(0, 3, 23)
    compiler = InferenceCompiler(evaluate_timesteps=10, batch_size=5)
    return net, inp, hid, out, x, y, compiler


def test_evaluate_batch_iter_equals_evaluate(problem):
    net, inp, hid, out, x, y, compiler = problem
    with compiler.compile(net) as compiled:
        expected, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[])
        batches = [({inp: x[s:s + 5]}, {out: y[s:s + 5]}) for s in range(0, 23, 5)]
        got, _ = compiled.evaluate_batch_iter([inp], [out], iter(batches), num_batches=5,
                                              callbacks=[])
        # sequences in input/output order are accepted too
        plain, _ = compiled.evaluate_batch_iter(inp, out, [(b[0][inp], b[1][out])
                                                           for b in batches], callbacks=[])
    assert got[out].state == expected[out].state == plain[out].state
    with pytest.raises(ValueError, match="holds 6 examples, more than batch_size=5"):
        compiled.evaluate_batch_iter(inp, out, [(x[:6], y[:6])], callbacks=[])


def test_metrics_are_keyed_by_what_the_user_passed(problem):
    net, inp, hid, out, x, y, compiler = problem
    metrics, _ = compiler.compile(net).evaluate({inp: x}, {out: y}, callbacks=[])
    assert list(metrics) == [out]
    predictions, _ = compiler.compile(net).predict({inp: x}, out, callbacks=[])
    assert list(predictions) == [out] and predictions[out].shape == (23, 3)
    # accuracy recomputed from the predictions
    assert metrics[out].result == np.mean(np.argmax(predictions[out], axis=1) == y)


def test_metric_states_merge_exactly(problem):
    net, inp, hid, out, x, y, compiler = problem
    compiled = compiler.compile(net)
    targets = np.random.default_rng(1).random((23, 3))
    for metric, labels in ((SparseCategoricalAccuracy(), y), (MeanSquareError(), targets)):
        whole, _ = compiled.evaluate({inp: x}, {out: labels}, metrics=metric, callbacks=[])
        first, _ = compiled.evaluate({inp: x[:9]}, {out: labels[:9]}, metrics=metric,
                                     callbacks=[])
        rest, _ = compiled.evaluate({inp: x[9:]}, {out: labels[9:]}, metrics=metric,
                                    callbacks=[])
        merged = first[out].merge(rest[out])
        assert merged.state == pytest.approx(whole[out].state, rel=1e-12)
        assert merged.result == pytest.approx(whole[out].result, rel=1e-12)
