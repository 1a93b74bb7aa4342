"""Every user mistake raises a specific error, naming what was wrong, before any
simulation starts."""
import numpy as np
import pytest

from snnflow import InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.compilers import InferenceCompiler
from snnflow.connectivity import Conv2D, Dense, OneToOne
from snnflow.neurons import IntegrateFire, IntegrateFireInput, LeakyIntegrate, SpikeInput
from snnflow.utils.data import preprocess_spikes


def small_network(readout="spike_count"):
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(v_thresh=1.0), 4)
        out = Layer(Dense(np.ones((4, 3))), IntegrateFire(readout=readout), 3)
    return net, inp, out


class NoSimulation:
    """Wraps an engine and fails the test if a batch is started."""

    def __init__(self, compiled):
        self.started = False
        original = compiled.engine.start_batch

        def start_batch(*args):
            self.started = True
            return original(*args)
        compiled.engine.start_batch = start_batch


@pytest.fixture
def compiled():
    net, inp, out = small_network()
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=2).compile(net)
    guard = NoSimulation(compiled)
    yield compiled, inp, out
    assert not guard.started, "an error case started simulating"


def test_wrong_input_shape(compiled):
    compiled, inp, out = compiled
    with pytest.raises(ValueError, match=r"x\[Pop0\] has shape \(3, 5\), expected"):
        compiled.evaluate({inp: np.zeros((3, 5))}, {out: np.zeros(3, int)}, callbacks=[])


def test_x_y_size_mismatch(compiled):
    compiled, inp, out = compiled
    with pytest.raises(ValueError, match="x has 3 examples but y has 2"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros(2, int)}, callbacks=[])


@pytest.mark.parametrize("labels, bad", [([0, 3, 1], "3"), ([0, -1, 1], "-1")])
def test_labels_out_of_range(compiled, labels, bad):
    compiled, inp, out = compiled
    with pytest.raises(ValueError, match=rf"holds label {bad}, expected labels in \[0, 3\)"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.array(labels)}, callbacks=[])


def test_unknown_metric_name(compiled):
    compiled, inp, out = compiled
    with pytest.raises(KeyError, match="unknown metric 'accuracy'"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros(3, int)},
                          metrics="accuracy", callbacks=[])


def test_unknown_callback_name(compiled):
    compiled, inp, out = compiled
    with pytest.raises(KeyError, match="unknown callback 'progress'"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros(3, int)},
                          callbacks=["progress"])


def test_unknown_readout_name():
    with pytest.raises(KeyError, match="unknown readout 'spikes'"):
        IntegrateFire(readout="spikes")


def test_unknown_neuron_and_synapse_names():
    net = Network()
    with net:
        with pytest.raises(KeyError, match="unknown neuron model 'lif'"):
            Population("lif", 3)
        a = Population("integrate_fire", 3)
        with pytest.raises(KeyError, match="unknown synapse model 'alpha'"):
            from snnflow import Connection
            Connection(a, a, OneToOne(1.0), synapse="alpha")


def test_spike_input_over_max_spikes():
    net = Network()
    with net:
        inp = Population(SpikeInput(max_spikes=5), 2)
        out = Population(IntegrateFire(readout="spike_count"), 2)
        from snnflow import Connection
        Connection(inp, out, OneToOne(1.0))
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=2).compile(net)
    guard = NoSimulation(compiled)
    trains = [preprocess_spikes([0, 1, 2], [0, 1, 0], 2)] * 4
    with pytest.raises(ValueError, match="batch of examples 0..1 has 6 spikes, more than "
                                         "SpikeInput max_spikes=5"):
        compiled.evaluate({inp: trains}, {out: np.zeros(4, int)}, callbacks=[])
    assert not guard.started


@pytest.mark.parametrize("argument, value", [("batch_size", 0), ("evaluate_timesteps", 0),
                                             ("batch_size", 1.5)])
def test_compiler_counts_must_be_positive(argument, value):
    kwargs = {"evaluate_timesteps": 10, argument: value}
    with pytest.raises(ValueError, match=f"{argument} must be an int >= 1, got {value}"):
        InferenceCompiler(**kwargs)


def test_dense_weight_shape_mismatch():
    net = SequentialNetwork()
    with net:
        InputLayer(IntegrateFireInput(), 4)
        with pytest.raises(ValueError, match=r"Dense weight of connection Conn0 has shape "
                                             r"\(3, 3\), expected \(4, 3\)"):
            Layer(Dense(np.ones((3, 3))), IntegrateFire(), 3)


def test_conv_kernel_shape_mismatch():
    net = SequentialNetwork()
    with net:
        InputLayer(IntegrateFireInput(), (5, 5, 2))
        with pytest.raises(ValueError, match=r"Conv2D weight of connection Conn0 has shape "
                                             r"\(3, 3, 1, 4\), expected \(3, 3, 2, 4\)"):
            Layer(Conv2D(np.ones((3, 3, 1, 4)), 4, 3), IntegrateFire())


def test_input_to_non_input_population(compiled):
    compiled, inp, out = compiled
    with pytest.raises(ValueError, match="IntegrateFire is not an input neuron model"):
        compiled.evaluate({out: np.zeros((3, 3))}, {out: np.zeros(3, int)}, callbacks=[])


def test_output_without_readout():
    net = SequentialNetwork()
    with net:
        inp = InputLayer(IntegrateFireInput(), 4)
        out = Layer(Dense(np.ones((4, 3))), IntegrateFire(), 3)
    compiled = InferenceCompiler(evaluate_timesteps=5).compile(net)
    with pytest.raises(ValueError, match="Pop1.*has no readout"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros(3, int)}, callbacks=[])


def test_spike_readout_on_non_spiking_model():
    net = SequentialNetwork()
    with net:
        InputLayer(IntegrateFireInput(), 4)
        Layer(Dense(np.ones((4, 3))), LeakyIntegrate(readout="spike_count"), 3)
    with pytest.raises(ValueError, match="needs a spiking neuron model"):
        InferenceCompiler(evaluate_timesteps=5).compile(net)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be 'numpy' or 'genn', got 'cuda'"):
        InferenceCompiler(evaluate_timesteps=5, backend="cuda")


def test_mse_target_shape(compiled):
    compiled, inp, out = compiled
    with pytest.raises(ValueError, match=r"y\[Pop1\] has shape \(3, 2\)"):
        compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros((3, 2))},
                          metrics="mean_square_error", callbacks=[])


def test_tau_mem_must_be_positive():
    with pytest.raises(ValueError, match="tau_mem must be > 0 ms, got 0"):
        LeakyIntegrate(tau_mem=0)


def test_rng_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="rng_seed must be an int >= 0, got -1"):
        InferenceCompiler(evaluate_timesteps=5, rng_seed=-1)
