"""Few-spike coding (FewSpikeReluInput, FewSpikeRelu) and FewSpikeCompiler's pipeline,
against references written from the coding's equations (Stöckl and Maass 2021, as
mlGeNN's models): a value V is coded over k steps, step i spiking if V >= h_i and then
V <- V - h_i, h_i = alpha 2^-(i+1); a FewSpikeRelu sums its sources' spikes weighted by
their h into Fx over one presentation, and codes that sum in the next."""
import numpy as np
import pytest

from snnflow import Connection, InputLayer, Layer, Network, Population, SequentialNetwork
from snnflow.callbacks import Callback, SpikeRecorder, VarRecorder
from snnflow.compilers import CompiledFewSpikeNetwork, FewSpikeCompiler, InferenceCompiler
from snnflow.connectivity import Dense
from snnflow.neurons import FewSpikeRelu, FewSpikeReluInput, IntegrateFire
from snnflow.synapses import Exponential

F32 = np.float32


# -------------------------------------------------------------------- references

def step_values(alpha, k, signed=False):
    """h_i of each of the k steps (negative for the negative steps of signed input)."""
    if not signed:
        return alpha * 2.0 ** -(np.arange(k) + 1.0)
    half = alpha * 2.0 ** -(np.arange(k) // 2 + 1.0)
    return np.where(np.arange(k) % 2 == 0, half, -half)


def code(values, alpha, k, signed=False):
    """Spikes (k, ...) coding ``values`` as the few-spike neurons do, in float64."""
    v = np.array(values, dtype=np.float64)
    bits = []
    for h in step_values(alpha, k, signed):
        spike = v >= h if h > 0 else v < h
        v = v - spike * h
        bits.append(spike)
    return np.array(bits)


def decode(bits, alpha, k, signed=False, last=True):
    """The value the spikes stand for; without the last step's spike if not ``last``
    (it reaches the next layer in the next presentation, after a readout)."""
    h = step_values(alpha, k, signed)[:None if last else -1]
    return np.tensordot(h, bits[:len(h)], axes=1)


def chain_reference(x, layers, k, signed=False):
    """Readout (Fx at the end of the output's presentation) of input -> FewSpikeRelu
    layers: layers = [(weight, alpha of the layer's source), ...]. Also the spikes
    of each population, (k, examples, n)."""
    value, spikes = x, []
    for depth, (weight, source_alpha) in enumerate(layers):
        bits = code(value, source_alpha, k, signed and depth == 0)
        spikes.append(bits)
        last = depth < len(layers) - 1
        value = decode(bits, source_alpha, k, signed and depth == 0, last) @ weight
    return value, spikes


def dyadic(rng, shape, bits=3, scale=1.0):
    """Weights with few mantissa bits: every float32 sum of the tests is exact."""
    return (rng.integers(-2 ** bits, 2 ** bits, shape) / 2 ** bits * scale).astype(F32)


def chain(k, alphas, sizes, weights, signed=False, record=False):
    """FewSpikeReluInput(sizes[0]) -> FewSpikeRelu ... -> FewSpikeRelu(readout var)."""
    net = Network()
    with net:
        pops = [Population(FewSpikeReluInput(k=k, alpha=alphas[0], signed_input=signed),
                           sizes[0], record_spikes=record)]
        for i, (alpha, size) in enumerate(zip(alphas[1:], sizes[1:])):
            last = i == len(sizes) - 2
            pops.append(Population(FewSpikeRelu(k=k, alpha=alpha,
                                                readout="var" if last else None),
                                   size, record_spikes=record))
            Connection(pops[-2], pops[-1], Dense(weights[i]))
    return net, pops


# ------------------------------------------------------------------- the coding

def test_coding_hand_worked():
    # alpha 4, k 4: steps stand for 2, 1, 0.5, 0.25. 3.3 -> 2 + 1 + 0.25 (1101);
    # 5 saturates at 3.75 (1111); a negative value never spikes
    bits = code([3.3, 5.0, -1.0], 4.0, 4)
    assert bits.T.astype(int).tolist() == [[1, 1, 0, 1], [1, 1, 1, 1], [0, 0, 0, 0]]
    # signed, k 4: even steps +2, +1, odd steps -2, -1: -1.3 -> -1 (0001), 2.2 -> 2 (1000)
    bits = code([-1.3, 2.2], 4.0, 4, signed=True)
    assert bits.T.astype(int).tolist() == [[0, 0, 0, 1], [1, 0, 0, 0]]


def test_input_spikes_hand_worked():
    net, (inp, out) = chain(4, [4.0, 4.0], [3, 1], [np.ones((3, 1), F32)], record=True)
    compiled = FewSpikeCompiler(k=4).compile(net, inputs=inp, outputs=out)
    _, cb_data = compiled.predict({inp: np.array([[3.3, 5.0, -1.0]])}, [out],
                                  callbacks=[SpikeRecorder(inp, key="in")])
    times, ids = cb_data["in"][0][0], cb_data["in"][1][0]
    assert sorted(zip(times.tolist(), ids.tolist())) == \
        [(0.0, 0), (0.0, 1), (1.0, 0), (1.0, 1), (2.0, 1), (3.0, 0), (3.0, 1)]


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_chain_against_exact_reference(signed, batch_size):
    """Dyadic weights and power-of-two alphas make every float32 sum exact: the
    engine's readouts and spikes equal the float64 reference exactly."""
    rng = np.random.default_rng(1)
    k, alphas, sizes = 8, [4.0, 8.0, 4.0, 16.0], [6, 5, 4, 3]
    weights = [dyadic(rng, (a, b)) for a, b in zip(sizes, sizes[1:])]
    net, pops = chain(k, alphas, sizes, weights, signed, record=True)
    x = rng.uniform(-3.0 if signed else -0.5, 4.5, (7, 6))
    compiled = FewSpikeCompiler(k=k, batch_size=batch_size).compile(
        net, inputs=pops[0], outputs=pops[-1])
    assert compiled.pop_pipeline_depth == {pops[0]: 0, pops[1]: 0, pops[2]: 1, pops[3]: 2}
    recorders = [SpikeRecorder(p, key=p.name) for p in pops[:-1]]
    predictions, cb_data = compiled.predict({pops[0]: x}, [pops[-1]], callbacks=recorders)
    expected, spikes = chain_reference(x, list(zip(weights, alphas)), k, signed)
    np.testing.assert_array_equal(predictions[pops[-1]], expected.astype(F32))
    assert np.ptp(expected) > 1.0
    # The inputs' spikes of each example sit in its own presentation of k steps
    for pop, bits in zip(pops, spikes[:1]):
        for e in range(len(x)):
            times, ids = cb_data[pop.name][0][e], cb_data[pop.name][1][e]
            raster = np.zeros((k, pop.num_neurons), bool)
            raster[times.astype(int), ids] = True
            np.testing.assert_array_equal(raster, bits[:, e])


def test_relu_network_within_few_spike_quantisation():
    """Random weights: the readout is the ReLU network's output layer's input,
    relu(relu(x W1) W2) W3, up to the coding's resolution at each layer."""
    rng = np.random.default_rng(2)
    k, sizes = 12, [10, 20, 15, 4]
    weights = [rng.normal(0.0, 1.0 / np.sqrt(a), (a, b)).astype(F32)
               for a, b in zip(sizes, sizes[1:])]
    x = rng.uniform(0.0, 1.0, (40, 10))
    hidden1 = np.maximum(x @ weights[0], 0)
    hidden2 = np.maximum(hidden1 @ weights[1], 0)
    alphas = [1.0, 1.01 * hidden1.max(), 1.01 * hidden2.max(), 1.0]
    net, pops = chain(k, alphas, sizes, weights)
    compiled = FewSpikeCompiler(k=k, batch_size=8).compile(net, inputs=pops[0],
                                                           outputs=pops[-1])
    y = compiled.predict({pops[0]: x}, [pops[-1]], callbacks=[])[0][pops[-1]]
    # Each layer codes with error below its last step's value alpha 2^-k, except
    # the last hidden one, which is read without its last step (2 alpha 2^-k)
    error = alphas[0] * 2.0 ** -k * np.abs(weights[0]).sum(axis=0).max()
    error = (error + alphas[1] * 2.0 ** -k) * np.abs(weights[1]).sum(axis=0).max()
    error = (error + 2 * alphas[2] * 2.0 ** -k) * np.abs(weights[2]).sum(axis=0).max()
    np.testing.assert_array_less(np.abs(y - hidden2 @ weights[2]), error)
    assert error < 0.05 * np.abs(hidden2 @ weights[2]).max()


# ------------------------------------------------------------- delay balancing

def branched(rng, k=8):
    """Branches of depth 3, 2 and 1 from the input to one output (delays 0, k, 2k
    balance them) and a second output on the shortest branch."""
    net = Network()
    weights = {}
    with net:
        inp = Population(FewSpikeReluInput(k=k, alpha=4.0), 3)
        ends = []
        for depth in (3, 2, 1):
            pop, path = inp, []
            for _ in range(depth):
                hidden = Population(FewSpikeRelu(k=k, alpha=8.0), 3)
                path.append(dyadic(rng, (3, 3)))
                Connection(pop, hidden, Dense(path[-1]))
                pop = hidden
            ends.append(pop)
            weights[depth] = path
        out = Population(FewSpikeRelu(k=k, alpha=8.0, readout="var"), 2)
        for depth, end in zip((3, 2, 1), ends):
            weights[depth] = weights[depth] + [dyadic(rng, (3, 2))]
            Connection(end, out, Dense(weights[depth][-1]))
        side = Population(FewSpikeRelu(k=k, alpha=8.0, readout="var"), 2)
        weights["side"] = weights[1][:1] + [dyadic(rng, (3, 2))]
        Connection(ends[2], side, Dense(weights["side"][-1]))
    return net, inp, out, side, weights


@pytest.mark.parametrize("batch_size", [1, 2])
def test_delay_balancing_aligns_every_branch(batch_size):
    rng = np.random.default_rng(3)
    k = 8
    net, inp, out, side, weights = branched(rng, k)
    compiled = FewSpikeCompiler(k=k, batch_size=batch_size).compile(
        net, inputs=inp, outputs=[out, side])
    depths = compiled.pop_pipeline_depth
    assert (depths[out], depths[side]) == (3, 1)
    # What skips layers waits k steps per layer skipped
    delays = {(c.source.name, c.target.name): c.connectivity.delay
              for c in compiled.network.connections}
    assert [delays[(c.source.name, c.target.name)] for c in out.incoming_connections] == \
        [0, k, 2 * k]
    assert all(c.connectivity.delay == 0 for c in net.connections)  # the user's untouched
    x = rng.uniform(0.0, 3.5, (5, 3))
    y = compiled.predict({inp: x}, [out, side], callbacks=[])[0]
    alphas = [4.0, 8.0, 8.0, 8.0]
    expected = sum(chain_reference(x, list(zip(weights[depth], alphas)), k)[0]
                   for depth in (3, 2, 1))
    np.testing.assert_array_equal(y[out], expected.astype(F32))
    np.testing.assert_array_equal(
        y[side], chain_reference(x, list(zip(weights["side"], alphas)), k)[0].astype(F32))
    # Without the delays the branches would mix examples: the outputs differ by example
    assert len({tuple(row) for row in y[out]}) == len(x)


def test_a_sequential_network_and_several_inputs():
    rng = np.random.default_rng(4)
    k = 6
    net = SequentialNetwork()
    w1, w2 = dyadic(rng, (4, 3)), dyadic(rng, (3, 2))
    with net:
        inp = InputLayer(FewSpikeReluInput(k=k, alpha=2.0), 4)
        Layer(Dense(w1), FewSpikeRelu(k=k, alpha=4.0))
        out = Layer(Dense(w2), FewSpikeRelu(k=k, alpha=4.0, readout="var"))
    x = rng.uniform(0.0, 2.0, (3, 4))
    compiled = FewSpikeCompiler(k=k).compile(net, inputs=inp, outputs=out)
    y = compiled.predict({inp: x}, [out], callbacks=[])[0][out]
    np.testing.assert_array_equal(y, chain_reference(x, [(w1, 2.0), (w2, 4.0)], k)[0]
                                  .astype(F32))
    # Two inputs into one population
    net = Network()
    with net:
        a = Population(FewSpikeReluInput(k=k, alpha=2.0), 2)
        b = Population(FewSpikeReluInput(k=k, alpha=2.0), 3)
        out = Population(FewSpikeRelu(k=k, alpha=4.0, readout="var"), 2)
        Connection(a, out, Dense(w1[:2, :2]))
        Connection(b, out, Dense(w1[:3, :2]))
    xa, xb = rng.uniform(0, 2, (4, 2)), rng.uniform(0, 2, (4, 3))
    y = FewSpikeCompiler(k=k).compile(net, inputs=[a, b], outputs=out).predict(
        {a: xa, b: xb}, [out], callbacks=[])[0][out]
    expected = chain_reference(xa, [(w1[:2, :2], 2.0)], k)[0] + \
        chain_reference(xb, [(w1[:3, :2], 2.0)], k)[0]
    np.testing.assert_array_equal(y, expected.astype(F32))


# --------------------------------------------------------- the compiled network

class Batches(Callback):
    def __init__(self):
        self.begun, self.examples = [], []

    def set_params(self, compiled_network, num_batches=None, **kwargs):
        self.compiled, self.num_batches = compiled_network, num_batches

    def on_batch_begin(self, batch):
        self.begun.append(batch)
        self.examples.append(self.compiled.batch_examples.tolist())


def test_evaluate_predict_and_batch_iter_agree_and_drain_the_pipeline():
    rng = np.random.default_rng(5)
    k = 8
    net, inp, out, side, _ = branched(rng, k)
    x = rng.uniform(0.0, 3.5, (7, 3))
    compiled = FewSpikeCompiler(k=k, batch_size=3).compile(net, inputs=inp,
                                                           outputs=[out, side])
    y, _ = compiled.predict({inp: x}, [out, side], callbacks=[])
    targets = {out: rng.normal(size=(7, 2)), side: rng.normal(size=(7, 2))}
    batches = Batches()
    metrics, _ = compiled.evaluate({inp: x}, targets, "mean_square_error",
                                   callbacks=[batches])
    for pop in (out, side):
        assert metrics[pop].result == pytest.approx(np.mean((y[pop] - targets[pop]) ** 2))
    # Three batches, then three presentations of no example until the depth-3 output
    # has read the last batch
    assert batches.num_batches == 6 and batches.begun == list(range(6))
    assert batches.examples == [[0, 1, 2], [3, 4, 5], [6], [], [], []]
    # The same examples one batch at a time, or in another batch size
    data = [(x[i:i + 3], (targets[out][i:i + 3], targets[side][i:i + 3]))
            for i in range(0, 7, 3)]
    iterated, _ = compiled.evaluate_batch_iter(inp, [out, side], iter(data), 3,
                                               "mean_square_error", callbacks=[])
    assert {p: m.result for p, m in iterated.items()} == \
        {p: m.result for p, m in metrics.items()}
    single = FewSpikeCompiler(k=k).compile(net, inputs=inp, outputs=[out, side])
    again, _ = single.predict({inp: x}, [out, side], callbacks=[])
    for pop in (out, side):
        np.testing.assert_array_equal(again[pop], y[pop])
    # A second run on the same compiled network gives the same results
    np.testing.assert_array_equal(single.predict({inp: x}, [out], callbacks=[])[0][out],
                                  y[out])


def test_recorders_see_each_presentation():
    rng = np.random.default_rng(6)
    k = 4
    w = [dyadic(rng, (3, 2))]
    net, (inp, out) = chain(k, [2.0, 2.0], [3, 2], w)
    x = rng.uniform(0.0, 2.0, (5, 3))
    compiled = FewSpikeCompiler(k=k, batch_size=2).compile(net, inputs=inp, outputs=out)
    _, cb_data = compiled.predict({inp: x}, [out], callbacks=[
        VarRecorder(inp, "v", key="v"), VarRecorder(out, "fx", key="fx",
                                                    example_filter=[1, 4])])
    assert len(cb_data["v"]) == 5 and cb_data["v"][0].shape == (k, 3)
    # The input's V at the first step is the example's value less the first spike
    first = np.where(x >= 1.0, x - 1.0, x).astype(F32)
    np.testing.assert_allclose(np.stack(cb_data["v"])[:, 0], first, rtol=1e-6)
    assert len(cb_data["fx"]) == 2


def test_spike_recorders_skip_the_padding_slots():
    """The last batch holds one example; the padding slots of a deeper population
    still work on the previous batch's examples, and are not recorded."""
    rng = np.random.default_rng(7)
    k = 4
    net, pops = chain(k, [2.0, 2.0, 2.0], [3, 3, 2], [np.eye(3, dtype=F32),
                                                      dyadic(rng, (3, 2))], record=True)
    x = rng.uniform(1.0, 2.0, (7, 3))
    compiled = FewSpikeCompiler(k=k, batch_size=3).compile(net, inputs=pops[0],
                                                           outputs=pops[-1])
    _, cb_data = compiled.predict({pops[0]: x}, [pops[-1]], callbacks=[
        SpikeRecorder(p, key=p.name) for p in pops[:2]])
    counts = {p.name: [len(t) for t in cb_data[p.name][0]] for p in pops[:2]}
    assert len(counts["Pop0"]) == len(counts["Pop1"]) == 7
    # Pop1 codes, one presentation late, what Pop0 coded: in presentation b it
    # spikes for the examples of presentation b - 1 (none in the first)
    assert counts["Pop1"][:3] == [0, 0, 0]
    assert counts["Pop1"][3:6] == counts["Pop0"][:3]
    assert counts["Pop1"][6] == counts["Pop0"][3]


# ------------------------------------------------------------------------ errors

@pytest.mark.parametrize("make,error,match", [
    (lambda: FewSpikeRelu(k=0), ValueError, "k must be an int from 1 to 31 .*got 0"),
    (lambda: FewSpikeReluInput(k=32), ValueError, "k must be an int from 1 to 31 .*got 32"),
    (lambda: FewSpikeRelu(k=2.5), ValueError, "k must be an int"),
    (lambda: FewSpikeRelu(alpha=0), ValueError, "alpha must be a number > 0"),
    (lambda: FewSpikeReluInput(alpha=-1.0), ValueError, "alpha must be a number > 0"),
    (lambda: FewSpikeReluInput(k=7, signed_input=True), ValueError, "needs an even k"),
    (lambda: FewSpikeCompiler(k=0), ValueError, "k must be an int >= 1, got 0"),
    (lambda: FewSpikeCompiler(k=40), ValueError, "k must be at most 31"),
])
def test_out_of_range_parameters(make, error, match):
    with pytest.raises(error, match=match):
        make()


def few_spike_pair(**out_args):
    net = Network()
    with net:
        inp = Population(FewSpikeReluInput(k=4, alpha=2.0), 2)
        out = Population(FewSpikeRelu(k=4, alpha=2.0, **out_args), 2)
        conn = Connection(inp, out, Dense(np.eye(2)))
    return net, inp, out, conn


def test_network_mistakes_are_refused_before_building():
    compiler = FewSpikeCompiler(k=4)
    net, inp, out, _ = few_spike_pair(readout="var")
    with pytest.raises(TypeError, match="needs the network's inputs= and outputs="):
        compiler.compile(net)
    with pytest.raises(TypeError, match="needs the network's inputs="):
        compiler.compile(net, inputs=inp)
    with pytest.raises(ValueError, match="has k=4, but the compiler .* k=5"):
        FewSpikeCompiler(k=5).compile(net, inputs=inp, outputs=out)
    with pytest.raises(ValueError, match="inputs must be exactly the FewSpikeReluInput"):
        compiler.compile(net, inputs=out, outputs=out)
    net, inp, out, _ = few_spike_pair()
    with pytest.raises(ValueError, match="output population Pop1 has no readout"):
        compiler.compile(net, inputs=inp, outputs=out)
    net, inp, out, _ = few_spike_pair(readout="avg_var")
    with pytest.raises(TypeError, match="'var' readout"):
        compiler.compile(net, inputs=inp, outputs=out)
    net, inp, out, _ = few_spike_pair(readout="var")
    with net:
        other = Population(IntegrateFire(), 2)
        Connection(out, other, Dense(1.0))
    with pytest.raises(TypeError, match="Pop2 is IntegrateFire: FewSpikeCompiler compiles"):
        compiler.compile(net, inputs=inp, outputs=out)
    net, inp, out, _ = few_spike_pair(readout="var")
    with net:
        Population(FewSpikeRelu(k=4), 2)
    with pytest.raises(ValueError, match=r"populations \['Pop2'\] cannot be reached"):
        compiler.compile(net, inputs=inp, outputs=out)
    net, inp, out, _ = few_spike_pair(readout="var")
    with net:
        Connection(out, out, Dense(np.eye(2)))
    with pytest.raises(ValueError, match="cannot be reached from inputs"):
        compiler.compile(net, inputs=inp, outputs=out)


def test_synapse_delay_and_source_mistakes_are_refused():
    compiler = FewSpikeCompiler(k=4)
    net = Network()
    with net:
        inp = Population(FewSpikeReluInput(k=4, alpha=2.0), 2)
        out = Population(FewSpikeRelu(k=4, readout="var"), 2)
        Connection(inp, out, Dense(np.eye(2)), synapse=Exponential(2.0))
    with pytest.raises(TypeError, match="Delta synapses, not Exponential"):
        compiler.compile(net, inputs=inp, outputs=out)
    net = Network()
    with net:
        inp = Population(FewSpikeReluInput(k=4, alpha=2.0), 2)
        out = Population(FewSpikeRelu(k=4, readout="var"), 2)
        Connection(inp, out, Dense(np.eye(2), delay=3))
    with pytest.raises(ValueError, match="FewSpikeCompiler sets the delays"):
        compiler.compile(net, inputs=inp, outputs=out)
    # Per-synapse delays too (an array once failed with numpy's "truth value of an
    # array is ambiguous"); all-zero arrays are no delay at all
    for delay, refused in [([[0, 1], [0, 0]], True), ([[0, 0], [0, 0]], False)]:
        net = Network()
        with net:
            inp = Population(FewSpikeReluInput(k=4, alpha=2.0), 2)
            out = Population(FewSpikeRelu(k=4, readout="var"), 2)
            Connection(inp, out, Dense(np.eye(2), delay=delay))
        if refused:
            with pytest.raises(ValueError, match="FewSpikeCompiler sets the delays"):
                compiler.compile(net, inputs=inp, outputs=out)
        else:
            compiler.compile(net, inputs=inp, outputs=out)
    for second, match in [(FewSpikeReluInput(k=4, alpha=3.0), "different alphas"),
                          (FewSpikeReluInput(k=4, alpha=2.0, signed_input=True),
                           "mix signed and unsigned")]:
        net = Network()
        with net:
            a = Population(FewSpikeReluInput(k=4, alpha=2.0), 2)
            b = Population(second, 2)
            out = Population(FewSpikeRelu(k=4, readout="var"), 2)
            Connection(a, out, Dense(np.eye(2)))
            Connection(b, out, Dense(np.eye(2)))
        with pytest.raises(ValueError, match=match):
            compiler.compile(net, inputs=[a, b], outputs=out)


def test_few_spike_models_run_under_the_few_spike_compiler_only():
    net, inp, out, _ = few_spike_pair()
    with pytest.raises(TypeError, match="runs in networks compiled by FewSpikeCompiler"):
        InferenceCompiler(evaluate_timesteps=4).compile(net)


def test_compiler_arguments_as_mlgenn():
    compiler = FewSpikeCompiler(k=6, dt=1.0, batch_size=4, rng_seed=3, kernel_profiling=False,
                                prefer_in_memory_connect=False)
    assert (compiler.k, compiler.batch_size, compiler.evaluate_timesteps) == (6, 4, 6)
    net, inp, out, _ = few_spike_pair(readout="var")
    compiled = FewSpikeCompiler(k=4).compile(net, "named", inputs=inp, outputs=out)
    assert isinstance(compiled, CompiledFewSpikeNetwork) and compiled.name == "named"
    assert compiled.k == 4
    x = np.array([[1.0, 0.5]])
    with compiled:
        compiled.predict({inp: x}, [out], callbacks=[])
        np.testing.assert_array_equal(compiled.get_readout(out), [[1.0, 0.5]])
