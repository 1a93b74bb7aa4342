"""mlGeNN's API surface on snnflow: module paths, the object model, model values and
their GeNN names, catalogues, filters, the callback list, the step-by-step
interface of compiled networks and custom updates. Expectations are worked out by
hand from mlGeNN's documented behaviour."""
import importlib
import pickle

import numpy as np
import pytest

import snnflow
from snnflow import Connection, InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.callbacks import (Callback, ConnVarRecorder, CustomUpdateOnBatchBegin,
                               CustomUpdateOnTimestepEnd, VarRecorder)
from snnflow.compilers import Compiler, InferenceCompiler
from snnflow.connectivity import Dense, OneToOne
from snnflow.initializers import Uniform, Wrapper, default_initializers
from snnflow.neurons import (BinarySpikeInput, IntegrateFire, IntegrateFireInput,
                             LeakyIntegrate, LeakyIntegrateFire)
from snnflow.synapses import Exponential
from snnflow.utils.callback_list import CallbackList
from snnflow.utils.decorators import network_default_params
from snnflow.utils.filter import ExampleFilter, get_neuron_filter_mask
from snnflow.utils.module import get_module_classes, get_object
from snnflow.utils.network import get_network_dag, get_underlying_conn, get_underlying_pop
from snnflow.utils.value import ValueDescriptor, get_genn_var_name, get_values

F32 = np.float32


# ------------------------------------------------------------ package faces

@pytest.mark.parametrize("name", ["callbacks", "compilers", "connectivity", "initializers",
                                  "losses", "metrics", "neurons", "optimisers", "readouts",
                                  "serialisers", "synapses", "utils"])
def test_import_snnflow_exposes_mlgenns_subpackages(name):
    assert getattr(snnflow, name) is importlib.import_module(f"snnflow.{name}")


@pytest.mark.parametrize("module, names", [
    ("snnflow.sequential_network", ["SequentialNetwork"]),
    ("snnflow.utils.filter", ["ExampleFilter", "get_neuron_filter_mask"]),
    ("snnflow.utils.value", ["ValueDescriptor", "get_genn_var_name", "get_values"]),
    ("snnflow.utils.module", ["get_module_classes", "get_object", "get_object_mapping"]),
    ("snnflow.utils.decorators", ["network_default_params"]),
    ("snnflow.utils.callback_list", ["CallbackList"]),
    ("snnflow.utils.network", ["get_underlying_pop", "get_underlying_conn",
                               "get_network_dag", "PopulationType", "ConnectionType"]),
    ("snnflow.metrics", ["MetricType", "MetricsType", "default_metrics"]),
    ("snnflow.initializers", ["Wrapper", "default_initializers"]),
    ("snnflow.compilers", ["Compiler", "InferenceCompiler"]),
])
def test_mlgenn_module_paths(module, names):
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"


# ------------------------------------------------------------ object model

def test_references_are_callable_as_mlgenns_weak_references():
    net = SequentialNetwork()
    with net:
        assert SequentialNetwork.get_prev_layer() is None
        inp = InputLayer(IntegrateFireInput(), 4)
        assert SequentialNetwork.get_prev_layer() is inp
        hidden = Layer(Dense(1.0), IntegrateFire(), 3)
        out = Layer(Dense(1.0), LeakyIntegrate(readout="var"), 2)
    assert inp.population() is inp.population
    assert hidden.connection().source() is inp.population()
    assert hidden.connection().target() is hidden.population()
    assert [c() for c in hidden.population().incoming_connections] == [hidden.connection]
    assert [c() for c in hidden.population().outgoing_connections] == [out.connection]
    assert inp.connection is None
    assert net.layers == [inp, hidden, out]
    assert get_underlying_pop(out) is out.population
    assert get_underlying_conn(out) is out.connection
    with pytest.raises(TypeError, match="incoming connection"):
        get_underlying_conn(inp)
    # References survive pickling (to a worker), unlike weak references
    copy = pickle.loads(pickle.dumps(net))
    assert copy.layers[1].connection().source() == inp.population


def test_get_prev_layer_outside_a_sequential_network_is_an_error():
    with pytest.raises(RuntimeError, match="inside a 'with network:' block"):
        SequentialNetwork.get_prev_layer()


def test_network_default_params_fill_only_what_the_caller_leaves_out():
    defaults = {LeakyIntegrateFire: {"tau_mem": 7.0, "v_thresh": 0.5},
                Exponential: {"tau": 2.0}}
    assert Network.get_default_params(LeakyIntegrateFire) == {}
    net = Network(defaults)
    with net:
        assert Network.get_default_params(LeakyIntegrateFire) == defaults[LeakyIntegrateFire]
        assert Network.get_default_params(IntegrateFire) == {}
        plain = LeakyIntegrateFire()
        positional = LeakyIntegrateFire(2.0)
        keyword = LeakyIntegrateFire(tau_mem=3.0)
        synapse = Exponential()
    assert (plain.tau_mem, plain.v_thresh) == (7.0, 0.5)
    assert (positional.v_thresh, positional.tau_mem) == (2.0, 7.0)
    assert (keyword.tau_mem, keyword.v_thresh) == (3.0, 0.5)
    assert synapse.tau == 2.0
    assert LeakyIntegrateFire().tau_mem == 20.0  # outside the network: the signature's


def test_network_default_params_on_a_user_model():
    class Model:
        @network_default_params
        def __init__(self, a=1.0, b=0.0):
            self.a, self.b = a, b

    with Network({Model: {"a": 3.0, "b": 4.0}}):
        assert (Model().a, Model().b) == (3.0, 4.0)
        assert (Model(5.0).a, Model(5.0).b) == (5.0, 4.0)
        assert Model(b=1.0).b == 1.0


def test_record_spike_events_and_max_delay_steps_are_kept():
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), 2, record_spike_events=True)
        out = Layer(Dense(1.0), IntegrateFire(), 2, max_delay_steps=5)
    assert inp.population.record_spike_events
    assert out.connection.max_delay_steps == 5
    with Network():
        pop = Population(IntegrateFire(), 2)
        with pytest.raises(ValueError, match="max_delay_steps must be an int >= 0, got -1"):
            Connection(pop, pop, Dense(1.0), max_delay_steps=-1)


# ------------------------------------------------------------ values and GeNN names

class Model:
    x = ValueDescriptor("X")
    y = ValueDescriptor("Y")
    z = ValueDescriptor(("Z", lambda value, dt: value * dt), "Zraw")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z


def test_value_descriptors_name_and_transform_genn_variables():
    model = Model(1.0, [1, 2], 3.0)
    assert get_genn_var_name(model, "x") == "X"
    assert get_genn_var_name(model, "z") == "Zraw"
    with pytest.raises(AttributeError):
        get_genn_var_name(model, "nothing")
    values = get_values(model, [("X", "scalar"), ("Y", "scalar"), ("Z", "scalar")], 0.1)
    assert set(values) == {"X", "Y", "Z"}
    assert values["Z"] == pytest.approx(0.3)
    np.testing.assert_array_equal(values["Y"], [1, 2])


def test_value_descriptors_check_what_they_are_given():
    with pytest.raises(TypeError, match=r"Model.x must be a number, an array or an Initializer"):
        Model(object(), 1.0, 1.0)
    with pytest.raises(KeyError, match="unknown initializer 'gauss'"):
        Model("gauss", 1.0, 1.0)
    assert isinstance(Model("uniform", 1.0, 1.0).x, Uniform)
    with pytest.raises(TypeError, match="transformed into GeNN's"):
        Model(1.0, 1.0, Uniform())


def test_model_genn_names_are_mlgenns():
    lif = LeakyIntegrateFire(tau_refrac=2.0)
    names = lif.genn_var_names()
    assert {n: v for n, (v, _) in names.items()} == {
        "Vthresh": "v_thresh", "Vreset": "v_reset", "V": "v", "Alpha": "tau_mem",
        "TauRefrac": "tau_refrac", "RefracTime": "refrac_time"}
    assert "TauRefrac" not in LeakyIntegrateFire().genn_var_names()
    assert set(IntegrateFireInput().genn_var_names()) == {"Vthresh", "Vreset", "V", "Input"}
    assert set(LeakyIntegrate().genn_var_names()) == {"V", "Bias", "Alpha"}


def test_catalogues_hold_default_constructable_classes_by_snake_case_name():
    class Base:
        pass

    class NeedsArgument(Base):
        def __init__(self, value):
            pass

    class FirstSpikeTimeLike(Base):
        pass

    found = get_module_classes({"Base": Base, "NeedsArgument": NeedsArgument,
                                "FirstSpikeTimeLike": FirstSpikeTimeLike, "int": int}, Base)
    assert found == {"first_spike_time_like": FirstSpikeTimeLike}
    assert isinstance(get_object("first_spike_time_like", Base, "model", found),
                      FirstSpikeTimeLike)
    # A name is looked up even where a string is an instance of the base class
    assert isinstance(get_object("first_spike_time_like", object, "model", found),
                      FirstSpikeTimeLike)
    assert get_object(None, Base, "model", found) is None
    with pytest.raises(KeyError, match="unknown model 'other'"):
        get_object("other", Base, "model", found)
    assert sorted(default_initializers) == ["normal", "uniform"]


def test_wrapper_draws_genns_built_in_snippets():
    rng = np.random.default_rng(3)
    expected = np.random.default_rng(3).uniform(-1.0, 2.0, (4, 5))
    np.testing.assert_array_equal(Wrapper("Uniform", {"min": -1.0, "max": 2.0})
                                  .sample(rng, (4, 5)), expected)
    np.testing.assert_array_equal(Wrapper("Constant", {"constant": 0.25})
                                  .sample(rng, (3,)), [0.25] * 3)
    with pytest.raises(ValueError, match=r"takes param_vals \['mean', 'sd'\]"):
        Wrapper("Normal", {"mean": 0.0})
    with pytest.raises(ValueError, match="draws GeNN's snippets"):
        Wrapper("Gamma", {"a": 1.0}).sample(rng, (2,))


# ------------------------------------------------------------ filters

def test_example_filter_batch_masks():
    assert ExampleFilter(None).get_batch_mask(20, 2).tolist() == [True, True]
    # examples 0, 2 and 4; batches of 2: [0, 1], [2, 3], [4, 5], [6, 7]
    ints = ExampleFilter([0, 2, 4])
    assert [ints.get_batch_mask(b, 2).tolist() for b in range(4)] == \
        [[True, False], [True, False], [True, False], [False, False]]
    assert ExampleFilter(3).get_batch_mask(1, 3).tolist() == [True, False, False]
    mask = ExampleFilter([True, False, True, False, True])
    assert mask.get_batch_mask(2, 2).tolist() == [True, False]
    with pytest.raises(RuntimeError):
        ExampleFilter(["hello", 2, 4])
    with pytest.raises(IndexError, match="negative"):
        ExampleFilter([-1])


@pytest.mark.parametrize("spec, shape, expected", [
    (None, 3, [1, 1, 1]),
    (slice(0, None, 2), 5, [1, 0, 1, 0, 1]),
    ([0, 2, 4], 5, [1, 0, 1, 0, 1]),
    ([True, False, True], (3,), [1, 0, 1]),
    ((slice(0, None, 2), slice(0, None, 2)), (2, 3), [1, 0, 1, 0, 0, 0]),
    ([[0, 0], [0, 2]], (2, 3), [1, 0, 1, 0, 0, 0]),      # one index list per dimension
    ([[True, False, True], [False] * 3], (2, 3), [1, 0, 1, 0, 0, 0]),
])
def test_neuron_filter_masks(spec, shape, expected):
    np.testing.assert_array_equal(get_neuron_filter_mask(spec, shape), np.array(expected, bool))


@pytest.mark.parametrize("spec, shape, error", [
    ([True, False], 7, ValueError),              # a mask must have the whole shape
    ([1, 3, 5], 5, IndexError),
    ([[0, 0], [0, 4]], (2, 3), IndexError),
    ([[0, 0], [0, 2], [0, 0]], (2, 3), IndexError),
    (["hello", 2], 5, TypeError),
])
def test_neuron_filter_mask_errors(spec, shape, error):
    with pytest.raises(error):
        get_neuron_filter_mask(spec, shape)
    if error is not IndexError:
        # mlGeNN raises RuntimeError here: code catching that still works
        with pytest.raises(RuntimeError):
            get_neuron_filter_mask(spec, shape)


# ------------------------------------------------------------ callback list

def test_callback_list_hook_methods_and_keys():
    calls = []

    class Logger(Callback):
        def on_batch_begin(self, batch):
            calls.append(("batch", batch))

        def on_timestep_end(self, timestep):
            calls.append(("step", timestep))

        def get_data(self):
            return None, "data"

    callbacks = CallbackList([Logger(), Logger()])
    callbacks.on_batch_begin(3)
    callbacks.on_timestep_end(7)
    callbacks.on_test_begin()  # nobody listens: nothing happens
    assert calls == [("batch", 3), ("batch", 3), ("step", 7), ("step", 7)]
    with pytest.warns(UserWarning, match="without a key"):
        assert callbacks.get_data() == {0: "data", 1: "data"}

    class Fixed(Callback):
        def get_data(self):
            return "key", 1
    with pytest.raises(KeyError, match="'key'"):
        CallbackList([Fixed(), Fixed()]).get_data()


# ------------------------------------------------------------ recorders by GeNN name

def threshold_network(v_thresh, batch_size=2):
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), 4)
        out = Layer(Dense(0.0), LeakyIntegrateFire(v_thresh=v_thresh, tau_mem=[5.0, 10.0, 20.0],
                                                   readout="var"), 3)
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=batch_size,
                                 dt=0.5).compile(net)
    return compiled, inp, out


def test_var_recorder_reads_parameters_inputs_and_transforms_by_genn_name():
    compiled, inp, out = threshold_network(v_thresh=np.array([0.5, 1.5, 2.5]))
    x = np.arange(20, dtype=float).reshape(5, 4) / 10
    callbacks = [VarRecorder(inp, genn_var="Input", key="in", neuron_filter=[1, 3]),
                 VarRecorder(out, genn_var="Vthresh", key="thresh", example_filter=[0, 4]),
                 VarRecorder(out, "v_thresh", key="by_name", example_filter=4),
                 VarRecorder(out, genn_var="Alpha", key="alpha", example_filter=0)]
    _, data = compiled.evaluate({inp: x}, {out: np.zeros((5, 3))}, "mean_square_error",
                                callbacks=callbacks)
    assert len(data["in"]) == 5 and len(data["thresh"]) == 2
    for example in range(5):
        np.testing.assert_array_equal(data["in"][example], np.tile(x[example, [1, 3]], (2, 1))
                                      .astype(F32))
    for trace in data["thresh"] + data["by_name"]:
        np.testing.assert_array_equal(trace, [[0.5, 1.5, 2.5]] * 2)
    # Alpha = exp(-dt / tau_mem) in double precision, then rounded to float32
    np.testing.assert_array_equal(data["alpha"][0], np.tile(
        np.exp(-0.5 / np.array([5.0, 10.0, 20.0])).astype(F32), (2, 1)))


def test_var_recorder_errors_name_what_the_model_has():
    compiled, inp, out = threshold_network(1.0)
    with pytest.raises(KeyError, match=r"no GeNN variable 'Vthreshold'; it has \['Alpha', "
                                       r"'V', 'Vreset', 'Vthresh'\]"):
        VarRecorder(out, genn_var="Vthreshold")
    with pytest.raises(ValueError, match="exactly one"):
        VarRecorder(out, "v", genn_var="V")
    with pytest.raises(ValueError, match="exactly one"):
        VarRecorder(out)


def test_conn_var_recorder_takes_a_layer_and_genns_weight_name():
    weight = np.outer(np.arange(4.0), np.arange(3.0)).astype(F32)
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), 4)
        out = Layer(Dense(weight), IntegrateFire(readout="var"), 3)
    compiled = InferenceCompiler(evaluate_timesteps=2, batch_size=3).compile(net)
    _, data = compiled.evaluate({inp: np.zeros((3, 4))}, {out: np.zeros((3, 3))},
                                "mean_square_error",
                                callbacks=[ConnVarRecorder(out, genn_var="g", key="w",
                                                           src_neuron_filter=slice(0, None, 2))])
    assert len(data["w"]) == 3
    for trace in data["w"]:
        np.testing.assert_array_equal(trace, np.broadcast_to(weight[::2], (2, 2, 3)))
    with pytest.raises(TypeError, match="incoming connection"):
        ConnVarRecorder(inp, genn_var="g")


# ------------------------------------------------------------ step-by-step interface

def integrator():
    """BinarySpikeInput -> OneToOne(1) -> IntegrateFire (never spikes) reading V:
    after t steps, V = t * x (an input spike of step s arrives in step s + 1)."""
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), 3)
        out = Layer(OneToOne(1.0), IntegrateFire(v_thresh=1e9, readout="var"))
    return net, inp, out


def test_set_input_step_time_and_get_readout_as_mlgenn():
    net, inp, out = integrator()
    compiled = InferenceCompiler(evaluate_timesteps=4, batch_size=2).compile(net)
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=float)
    compiled.set_input({inp: x})
    steps = []

    class Steps(Callback):
        def on_timestep_begin(self, timestep):
            steps.append(timestep)

    for _ in range(4):
        compiled.step_time(CallbackList([Steps()]))
    assert steps == [0, 1, 2, 3]
    np.testing.assert_array_equal(compiled.get_readout(out), 3 * x)
    [readout] = compiled.get_readout([out])
    np.testing.assert_array_equal(readout, 3 * x)
    # New inputs of the same batch size keep the state: one more step adds 2 * x
    compiled.set_input({inp: 2 * x})
    compiled.step_time()
    compiled.step_time()
    np.testing.assert_array_equal(compiled.get_readout(out), 3 * x + 2 * x)
    # "Reset" puts V back to its initial 0 and reset_time the clock
    compiled.custom_update("Reset")
    compiled.reset_time()
    assert compiled.engine.timestep == 0
    np.testing.assert_array_equal(compiled.get_readout(out), np.zeros_like(x))


def test_set_input_refuses_a_batch_larger_than_batch_size():
    net, inp, _ = integrator()
    compiled = InferenceCompiler(evaluate_timesteps=4, batch_size=2).compile(net)
    with pytest.raises(ValueError, match="1 to batch_size=2 examples, got 3"):
        compiled.set_input({inp: np.zeros((3, 3))})


def test_custom_update_callbacks_run_at_their_hook_through_the_filter():
    net, inp, out = integrator()
    compiled = InferenceCompiler(evaluate_timesteps=5, batch_size=2).compile(net)
    x = np.ones((3, 3))
    # Resetting after steps 0..2 zeroes V and forgets step 2's input spikes, so only
    # step 3's spikes, delivered in step 4, remain: V = x
    metrics, _ = compiled.evaluate(
        {inp: x}, {out: x}, "mean_square_error",
        callbacks=[CustomUpdateOnTimestepEnd("ResetVars", lambda t: t <= 2)])
    assert metrics[out].result == 0.0
    with pytest.raises(KeyError, match=r"no custom update 'Rest'; it has \['Reset', "):
        compiled.evaluate({inp: x}, {out: x}, "mean_square_error",
                          callbacks=[CustomUpdateOnBatchBegin("Rest")])
    with pytest.raises(TypeError, match="filter_fn must be callable"):
        CustomUpdateOnBatchBegin("Reset", 3)


def test_evaluate_batch_is_one_batch_of_evaluate():
    net, inp, out = integrator()
    compiled = InferenceCompiler(evaluate_timesteps=4, batch_size=2).compile(net)
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=float)
    metrics, cb_data = compiled.evaluate_batch({inp: x}, {out: 3 * x}, "mean_square_error")
    assert metrics[out].result == 0.0 and cb_data == {}
    with pytest.raises(ValueError, match="x holds 3 examples, more than batch_size=2"):
        compiled.evaluate_batch({inp: np.zeros((3, 3))}, {out: np.zeros((3, 3))})


def test_save_connectivity_writes_the_synapses_of_sparse_connections(tmp_path):
    from snnflow.serialisers import Numpy
    net, inp, out = integrator()
    with net:
        Layer(Dense(np.ones((3, 2))), IntegrateFire(), 2)
    compiled = InferenceCompiler(evaluate_timesteps=1).compile(net)
    compiled.save_connectivity(("run",), Numpy(tmp_path))
    saved = Numpy(tmp_path).deserialise(("run", "connectivity"))
    conn = out.connection.name
    assert sorted(saved) == [f"{conn}-post_ind", f"{conn}-pre_ind"]  # Dense: all pairs
    np.testing.assert_array_equal(saved[f"{conn}-pre_ind"], [0, 1, 2])
    np.testing.assert_array_equal(saved[f"{conn}-post_ind"], [0, 1, 2])


def test_compiler_options_mlgenn_accepts_change_no_result():
    net, inp, out = integrator()
    x = np.array([[1, 0, 1]], dtype=float)
    plain = InferenceCompiler(evaluate_timesteps=3).compile(net)
    other = InferenceCompiler(evaluate_timesteps=3, kernel_profiling=True,
                              prefer_in_memory_connect=False).compile(net)
    assert isinstance(other.compiler, Compiler)
    np.testing.assert_array_equal(plain.predict({inp: x}, out)[0][out],
                                  other.predict({inp: x}, out)[0][out])


def test_network_dag_orders_populations_after_their_sources():
    net = Network()
    with net:
        a = Population(BinarySpikeInput(), 1)
        b = Population(IntegrateFire(), 1)
        c = Population(IntegrateFire(), 1)
        d = Population(IntegrateFire(), 1)
        lone = Population(IntegrateFire(), 1)
        Connection(a, b, Dense(1.0))
        Connection(b, d, Dense(1.0))
        Connection(a, c, Dense(1.0))
        Connection(c, d, Dense(1.0))
    order = get_network_dag(a, d)
    assert order[0] == a and order[-1] == d and set(order) == {a, b, c, d}
    with pytest.raises(ValueError, match=r"outputs \['Pop4'\] cannot be reached"):
        get_network_dag([a], [lone])


def test_conn_var_recorder_reads_delays_by_genn_name():
    delays = np.array([[0, 3], [2, 1], [4, 0]])
    net = SequentialNetwork()
    with net:
        inp = InputLayer(BinarySpikeInput(), 3)
        out = Layer(Dense(0.5, delay=delays), IntegrateFire(readout="var"), 2)
    compiled = InferenceCompiler(evaluate_timesteps=2).compile(net)
    _, data = compiled.evaluate({inp: np.zeros((1, 3))}, {out: np.zeros((1, 2))},
                                "mean_square_error",
                                callbacks=[ConnVarRecorder(out, genn_var="d", key="d")])
    np.testing.assert_array_equal(data["d"][0], np.broadcast_to(delays, (2, 3, 2)))
