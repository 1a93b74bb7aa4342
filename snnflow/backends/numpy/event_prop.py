"""EventProp on the NumPy engine: gradients of a loss on the readouts with respect
to every connection's weights (Wunderlich and Pehle 2021).

The forward pass is the engine's own simulation; a tape keeps what the adjoint
pass needs (spikes, the synaptic current of spiking neurons, readout traces).
The adjoint pass then runs backwards over the timesteps in float64:

* Between spikes the adjoints follow the transpose of the engine's linear
  updates exactly, so for weights onto non-spiking readouts (where the loss is
  linear in the weights, given the spikes) the gradient is the exact gradient
  of the simulated loss.
* At a spike of a hidden neuron the membrane adjoint jumps, as the continuous-
  time theory says: with Vdot- and Vdot+ the slopes of V just before and after
  the spike, lambda_V- = (Vdot+ lambda_V+ - drive) / Vdot-, where drive is what
  moving the spike changes downstream, sum over targets of
  w (lambda_I / tau_syn - kappa lambda_V), taken at the step the spike arrives.
  Spikes the discretisation produces with Vdot- <= 0 (no crossing in
  continuous time) carry no jump.
* dL/dw_ji sums lambda_I of target i at every step a spike of j arrives there.

Notation: per step V <- alpha V + k I, I = k_syn inSyn, inSyn <- beta inSyn (+
arriving weights), so in continuous time dV/dt = -V / tau_mem + kappa inSyn with
kappa = k k_syn / dt."""
from __future__ import annotations

import numpy as np
import scipy.sparse
from numba import njit

from ... import readouts

F64 = np.float64
#: Below this fraction of neurons spiking in a step, jumps are computed for the
#: spiking (example, neuron) pairs alone; above it, with whole matrix products
PAIRWISE_FRACTION = 0.125


class _Population:
    """The adjoint pass's view of one simulated population."""

    def __init__(self, state, dt):
        kernel = state.kernel
        self.pop = state.pop
        self.alpha = F64(kernel.alpha)
        self.inv_tau_mem = -np.log(np.asarray(kernel.alpha, dtype=F64)) / dt
        self.input_scale = F64(1.0) if kernel.input_scale is None else F64(kernel.input_scale)
        self.spiking = hasattr(kernel, "v_thresh")
        if self.spiking:
            self.v_thresh = np.asarray(kernel.v_thresh, dtype=F64)
            self.reset_step = np.asarray(kernel.reset_step, dtype=F64)
        self.outgoing = []


class _Connection:
    """One trained connection. ``weight`` is the engine's own matrix (a dense array,
    or a CSR array for sparse connectivity). ``param`` is what the optimiser
    updates: the dense matrix itself; the CSR's per-synapse values; or, for a
    convolution, its kernel, whose entries every synapse of that entry shares
    (``entry``), written back into the matrix by ``sync``.

    ``delays``: the engine's whole-step delays (an int, or an array laid out as
    ``param``). ``delay_param`` (learnt delays only): the
    continuous float32 delays, in steps, that the delay optimiser updates; the
    engine delivers with each rounded to the nearest step, clipped to [0,
    ``max_delay``], as mlGeNN's."""

    def __init__(self, state, target, dt, max_delay=None):
        synapse = state.synapse
        self.conn = state.conn
        self.target = target
        self.entry = None
        self.param = None
        self.max_delay = max_delay
        self.bind(state)
        if self.dense:
            self.indptr = np.arange(0, self.weight.size + 1, self.weight.shape[1])
        self.delay_param = None
        if max_delay is not None:
            self.delay_param = np.array(np.broadcast_to(
                np.asarray(self.delays, dtype=np.float32), self.param.shape))
        self.beta = F64(synapse.decay)
        self.inv_tau_syn = -np.log(self.beta) / dt
        #: inSyn -> this step's current
        self.synapse_scale = F64(1.0) if synapse.scale is None else F64(synapse.scale)
        # inSyn -> V per step, and its continuous-time rate
        self.gain = target.input_scale * self.synapse_scale
        self.kappa = self.gain / dt

    def bind(self, state):
        """Take the engine's arrays (again, after the engine rebuilt its tables)."""
        self.state = state
        prop = state.propagator
        self.weight = prop.matrix  # the engine's own array, trained in place
        self.dense = isinstance(self.weight, np.ndarray)
        self.delays = state.synapses.delays
        #: The engine delivers from a copy sorted by delay, not from ``weight``:
        #: ``sync`` rebuilds it
        self.copied = getattr(prop, "stacked", prop.matrix) is not prop.matrix
        if self.dense:
            self.param = self.weight
            return
        indptr = self.weight.indptr
        self.indptr = indptr
        self.rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        self.cols = self.weight.indices
        if self.entry is None and self.param is None:
            self.entry = kernel_entries(state.conn, self.weight)
            if self.entry is not None:
                self.entry, kernel_shape = self.entry
                self.param = np.zeros(kernel_shape, dtype=np.float32)
                self.param.reshape(-1)[self.entry] = self.weight.data
        if self.entry is None:
            self.param = self.weight.data
        else:
            self.weight.data[...] = self.param.reshape(-1)[self.entry]

    @property
    def delayed(self) -> bool:
        """Whether the adjoint pass meets spikes at their delayed arrival (a
        connection learning delays does, from delays of 0 too)."""
        return bool(self.delay_param is not None or np.ndim(self.delays) or self.delays != 0)

    def engine_delays(self):
        """The whole-step delays the engine should deliver with: the learnt ones
        rounded half away from zero (C's round, as GeNN's) and clipped, else the
        fixed ones."""
        if self.delay_param is None:
            return self.state.synapses.delays
        return np.clip(np.floor(self.delay_param + 0.5), 0, self.max_delay).astype(np.int64)


class EventProp:
    """Tape and adjoint pass for one batch at a time on a NumpyEngine.

    ``losses`` maps output populations to Loss objects. ``reg_lambdas`` maps hidden
    populations to (upper, lower) strengths: a neuron whose mean spike count over
    the batch (over all ranks) is c gets lambda (c - ``reg_nu_upper``), with the
    upper strength above nu and the lower one below it, added to each of its jumps,
    pushing the weights onto it down (or up). ``max_spikes`` bounds the spikes of
    one neuron in one example. With ``per_timestep_loss`` the loss is applied to V
    at every step and averaged. ``reduce_sum`` sums a value over the ranks of a
    data-parallel run (identity in one process)."""

    def __init__(self, engine, losses, reg_lambdas=None, reg_nu_upper=0.0,
                 max_spikes=None, per_timestep_loss=False, reduce_sum=None,
                 delay_conns=None):
        self.engine = engine
        self.dt = engine.dt
        self.timesteps = engine.evaluate_timesteps
        self.losses = losses
        self.reg_lambdas = {pop: lams for pop, lams in (reg_lambdas or {}).items()
                            if any(lams)}
        self.reg_nu_upper = reg_nu_upper
        self.max_spikes = max_spikes
        self.per_timestep_loss = per_timestep_loss
        self.reduce_sum = reduce_sum or (lambda value: value)
        # Input populations only replay data: they need spikes on tape, no adjoint
        self.pops = {pop: _Population(state, self.dt) for pop, state in engine.pops.items()
                     if pop.neuron.input_kind is None}
        _share_sparse_weights(engine)
        self.conns = []
        self.incoming = {pop: [] for pop in self.pops}
        delay_conns = delay_conns or {}
        for state in engine.conns:
            conn = _Connection(state, self.pops[state.conn.target], self.dt,
                               delay_conns.get(state.conn))
            self.conns.append(conn)
            self.incoming[state.conn.target].append(conn)
            if state.conn.source in self.pops:
                self.pops[state.conn.source].outgoing.append(conn)
        # In the network's order, so every check reports the same population first
        sources = {c.conn.source for c in self.conns}
        #: Outputs read by their first spike: the loss moves those spikes
        self.first_spike = [pop for pop in losses
                            if isinstance(pop.neuron.readout, readouts.FirstSpikeTime)]
        self.sources = [pop for pop in engine.pops if pop in sources or pop in self.first_spike]
        self.traced = [pop for pop in losses
                       if type(pop.neuron.readout) in (readouts.MaxVar, readouts.Var)
                       or per_timestep_loss]

    def weights(self) -> dict:
        """{Connection: its trained float32 parameters} (live, not a copy): the
        weight matrix of a Dense connection, the per-synapse weights of sparse
        connectivity (in the CSR matrix's order), a convolution's kernel."""
        return {c.conn: c.param for c in self.conns}

    def delays(self) -> dict:
        """{Connection: its learnt float32 delays, in steps} (live), laid out as
        ``weights()``'s, for the connections that learn their delays."""
        return {c.conn: c.delay_param for c in self.conns if c.delay_param is not None}

    def sync(self):
        """Make the engine deliver with what the optimisers changed: kernels written
        back into the matrices; learnt delays clipped to [0, max_delay_steps], as
        mlGeNN's optimiser clamps them; connections the engine delivers from a
        copy sorted by delay (per-synapse or learnt delays) rebuilt, with the
        delays rounded (``engine_delays``)."""
        for c in self.conns:
            if c.entry is not None:
                c.weight.data[...] = c.param.reshape(-1)[c.entry]
            if c.delay_param is not None:
                np.clip(c.delay_param, 0.0, c.max_delay, out=c.delay_param)
        rebuild = {c.conn: c.engine_delays() for c in self.conns
                   if c.copied or c.delay_param is not None}
        if rebuild:
            self.engine.set_delays(rebuild)
            _share_sparse_weights(self.engine)
            states = {state.conn: state for state in self.engine.conns}
            for c in self.conns:
                c.bind(states[c.conn])

    def start_batch(self):
        self.spikes = {pop: [] for pop in self.sources}
        self.current = {pop: [] for pop, p in self.pops.items() if p.spiking}
        self.trace = {pop: [] for pop in self.traced}

    def record_step(self):
        """Keep what the adjoint pass needs from the step the engine just ran."""
        engine_pops = self.engine.pops
        for pop, steps in self.spikes.items():
            steps.append(engine_pops[pop].spikes.copy())
        for pop, steps in self.current.items():
            # Each synapse has just decayed its inSyn once: undo that to get this
            # step's current
            steps.append(sum(c.state.in_syn * (c.synapse_scale / c.beta)
                             for c in self.incoming[pop]))
        for pop, steps in self.trace.items():
            steps.append(engine_pops[pop].state["v"].astype(F64))

    def check_spike_budget(self):
        """Refuse a batch in which a neuron spiked more than max_spikes times in one
        example (mlGeNN's backward pass would drop the extra spikes)."""
        if self.max_spikes is None:
            return
        for pop, steps in self.spikes.items():
            if not steps:
                continue
            counts = np.sum(steps, axis=0, dtype=np.int64)
            busiest = int(counts.max(initial=0))
            if busiest > self.max_spikes:
                example, neuron = np.unravel_index(np.argmax(counts), counts.shape)
                raise ValueError(
                    f"population {pop.name}: neuron {neuron} spiked {busiest} times in one "
                    f"example (batch position {example}), more than "
                    f"EventPropCompiler max_spikes={self.max_spikes}; raise max_spikes to "
                    f"at least {busiest} (or regularise the spike counts)")

    def gradients(self, y_true: dict, scale=1.0, num_examples_total=None):
        """(loss, {Connection: float64 weight gradient}, {Connection: float64
        delay gradient}) for the batch on tape, the delay gradients (dL/d delay in
        steps, laid out as the weights') for the connections that learn delays;
        ``y_true`` maps each output population to this batch's labels or targets.
        The loss is the batch mean times ``scale`` (a rank's share of a batch split
        over ranks: its examples / the whole batch's); regularisation averages
        spike counts over ``num_examples_total`` examples (this batch's when None)."""
        self._spike_drive = {}
        loss, drive = self._loss_gradients(y_true, scale)
        num_examples = len(next(iter(y_true.values())))
        self._num_examples_total = num_examples_total or num_examples
        adjoint_v = {pop: np.zeros((num_examples, p.pop.num_neurons))
                     for pop, p in self.pops.items()}
        adjoint_syn = {c: np.zeros((num_examples, c.target.pop.num_neurons))
                       for c in self.conns}
        grads = {c: np.zeros(c.weight.shape if c.dense else c.weight.nnz) for c in self.conns}
        row_sum = np.empty(max((g.shape[-1] for g in grads.values()), default=0))
        self._weights = {c: c.weight.astype(F64) for c in self.conns}
        # Delayed connections keep the adjoints of the steps their spikes may
        # arrive at: (inSyn adjoint, dL/d arrival time per unit weight), one slot
        # per step, the slots of steps past the example's end left at 0
        history = {c: np.zeros((2, int(np.max(c.delays)) + 2, num_examples,
                                c.target.pop.num_neurons))
                   for c in self.conns if c.delayed}
        delay_grads = {c: np.zeros(c.param.shape) for c in self.conns
                       if c.delay_param is not None}
        spike_counts = self._mean_spike_counts()
        for step in range(len(next(iter(self.spikes.values()), [])) - 1, -1, -1):
            # This step's spikes on delayed connections meet the adjoints of the
            # steps they arrive at, all computed already
            self._arrival_drive = {c: self._delayed_arrivals(c, step, hist, grads[c],
                                                             delay_grads.get(c))
                                   for c, hist in history.items()}
            new_v = {}
            for pop, p in self.pops.items():
                adjoint = p.alpha * adjoint_v[pop]
                if pop in drive:
                    adjoint += drive[pop](step)
                if p.spiking:
                    adjoint = self._jump(p, step, adjoint, adjoint_v, adjoint_syn,
                                         spike_counts[pop])
                new_v[pop] = adjoint
            for c in self.conns:
                adjoint_syn[c] = c.gain * new_v[c.target.pop] + c.beta * adjoint_syn[c]
                if c in history:
                    slots = history[c]
                    slot = step % slots.shape[1]
                    slots[0, slot] = adjoint_syn[c]
                    slots[1, slot] = (adjoint_syn[c] * c.inv_tau_syn
                                      - c.kappa * new_v[c.target.pop])
                elif step > 0:
                    # Spikes of step - 1 arrived at this step
                    arrived = self.spikes[c.conn.source][step - 1]
                    if arrived.any():
                        if c.dense:
                            _add_arrived_rows(grads[c], arrived, adjoint_syn[c], row_sum)
                        else:
                            grads[c] += np.einsum("bs,bs->s", arrived[:, c.rows],
                                                  adjoint_syn[c][:, c.cols])
            adjoint_v = new_v
        return loss, {c.conn: (g if c.entry is None else
                               np.bincount(c.entry, g, minlength=c.param.size)
                               .reshape(c.param.shape))
                      for c, g in grads.items()}, \
            {c.conn: g for c, g in delay_grads.items()}

    def _delayed_arrivals(self, c, step, history, grad, delay_grad):
        """For the spikes of ``step`` on delayed connection ``c``, each arriving
        through synapse (i, j) of delay d at step + 1 + d: add the inSyn adjoint of
        j there to dL/dw_ij; add w_ij (lambda_I / tau_syn - kappa lambda_V) of j
        there, what moving the arrival later by one step costs (times dt), to
        dL/dd_ij; return, per spiking (example, neuron) pair in np.nonzero order,
        the sum of the latter over the neuron's synapses (its spike's drive)."""
        spikes = self.spikes[c.conn.source][step]
        if not spikes.any():
            return None
        examples, neurons = np.nonzero(spikes)
        num_slots = history.shape[1]
        if c.dense:
            num_post = c.weight.shape[1]
            if np.ndim(c.delays) == 0:
                slot = (step + 1 + c.delays) % num_slots
                adjoint_syn, rate = history[0, slot, examples], history[1, slot, examples]
            else:
                slot = (step + 1 + c.delays[neurons]) % num_slots
                index = (slot, examples[:, None], np.arange(num_post))
                adjoint_syn, rate = history[0][index], history[1][index]
            weighted = self._weights[c][neurons] * rate
            pattern = scipy.sparse.csr_array(
                (np.ones(len(neurons)), (neurons, np.arange(len(neurons)))),
                shape=(c.weight.shape[0], len(neurons)))
            grad += pattern @ adjoint_syn
            if delay_grad is not None:
                delay_grad += self.dt * (pattern @ weighted)
            return weighted.sum(axis=1)
        counts = c.indptr[neurons + 1] - c.indptr[neurons]
        pair = np.repeat(np.arange(len(neurons)), counts)
        firsts = np.repeat(c.indptr[neurons] - (np.cumsum(counts) - counts), counts)
        synapse = firsts + np.arange(len(pair))
        delays = c.delays if np.ndim(c.delays) == 0 else c.delays[synapse]
        index = ((step + 1 + delays) % num_slots, examples[pair], c.cols[synapse])
        weighted = self._weights[c].data[synapse] * history[1][index]
        np.add.at(grad, synapse, history[0][index])
        if delay_grad is not None:
            np.add.at(delay_grad, synapse, self.dt * weighted)
        return np.bincount(pair, weighted, minlength=len(neurons))

    def _jump(self, p, step, adjoint, adjoint_v, adjoint_syn, mean_counts):
        """The membrane adjoint just before ``step``'s spikes, from the one after;
        computed at the spiking (example, neuron) pairs only."""
        spikes = self.spikes[p.pop][step] if p.pop in self.spikes else None
        if spikes is None or not spikes.any():
            return adjoint
        examples, neurons = np.nonzero(spikes)
        # Few spikes: the drive of each spiking pair alone; many: whole products
        pairwise = len(examples) < PAIRWISE_FRACTION * spikes.size
        drive = np.zeros(len(examples))
        for c in p.outgoing:
            if c in self._arrival_drive:
                if self._arrival_drive[c] is not None:
                    drive += self._arrival_drive[c]
                continue
            # adjoint_v and adjoint_syn still hold the next step's values, when
            # this step's spikes arrive
            if c.dense:
                _add_spike_drive(drive, examples, neurons, self._weights[c], adjoint_syn[c],
                                 adjoint_v[c.target.pop], c.inv_tau_syn, c.kappa)
            elif pairwise:
                rate = (adjoint_syn[c][examples] * c.inv_tau_syn
                        - c.kappa * adjoint_v[c.target.pop][examples])
                drive += np.asarray(self._weights[c][neurons].multiply(rate)
                                    .sum(axis=1)).ravel()
            else:
                rate = adjoint_syn[c] * c.inv_tau_syn - c.kappa * adjoint_v[c.target.pop]
                drive += (self._weights[c] @ rate.T).T[examples, neurons]
        if p.pop in self._spike_drive:
            # The loss of a first-spike readout: dL/dt of the neuron's first spike
            first_step, dloss_dt = self._spike_drive[p.pop]
            drive += np.where(first_step[examples, neurons] == step,
                              dloss_dt[examples, neurons], 0.0)
        if p.pop in self.reg_lambdas:
            upper, lower = self.reg_lambdas[p.pop]
            excess = _per_neuron(mean_counts, neurons) - self.reg_nu_upper
            drive -= np.where(excess > 0, upper, lower) * excess
        slope_before = (_per_neuron(p.input_scale, neurons)
                        * self.current[p.pop][step][examples, neurons] / self.dt
                        - _per_neuron(p.v_thresh * p.inv_tau_mem, neurons))
        slope_after = slope_before + _per_neuron(p.reset_step * p.inv_tau_mem, neurons)
        # Spikes without a crossing in continuous time (slope <= 0) carry no jump
        crossing = slope_before > 0
        examples, neurons = examples[crossing], neurons[crossing]
        jumped = adjoint.copy()
        jumped[examples, neurons] = ((slope_after[crossing] * adjoint[examples, neurons]
                                      - drive[crossing]) / slope_before[crossing])
        return jumped

    def _mean_spike_counts(self):
        counts = {}
        for pop in self.pops:
            if pop in self.reg_lambdas and pop in self.spikes:
                total = np.sum(self.spikes[pop], axis=(0, 1), dtype=np.float64)
                counts[pop] = self.reduce_sum(total) / self._num_examples_total
            else:
                counts[pop] = 0.0
        return counts

    def _first_spike_loss(self, pop, loss, labels, scale):
        """The loss of a first_spike_time readout (the negated time of each
        neuron's first spike, ms). A neuron that never spiked counts as spiking at
        the end of the example, and has no spike whose time its gradient could
        move. The gradient enters the adjoint at the first spike, as dL/dt."""
        spikes = np.stack(self.spikes[pop])
        spiked = spikes.any(axis=0)
        first_step = np.where(spiked, np.argmax(spikes, axis=0), -1)
        end = -self.timesteps * self.dt
        readout = np.where(spiked, self.engine.readout(pop).reshape(spiked.shape), end)
        value, gradient = loss.value_and_gradient(labels, readout)
        # r = -t: dL/dt = -dL/dr
        self._spike_drive[pop] = (first_step, -scale * gradient * spiked)
        return value

    def _loss_gradients(self, y_true, scale=1.0):
        """The batch's loss and, per output, a function step -> dL/dV at that step."""
        total = 0.0
        drive = {}
        for pop, loss in self.losses.items():
            readout = pop.neuron.readout
            labels = y_true[pop]
            if isinstance(readout, readouts.Var) or self.per_timestep_loss:
                # Per-timestep loss, averaged over the example's steps; targets of
                # shape (examples, timesteps, ...) give each step its own
                trace = self.trace[pop]
                per_step_targets = np.ndim(labels) == 3
                per_step = [loss.value_and_gradient(labels[:, step] if per_step_targets
                                                    else labels, v)
                            for step, v in enumerate(trace)]
                total += scale * sum(value for value, _ in per_step) / len(trace)
                gradients = [g * (scale / len(trace)) for _, g in per_step]
                drive[pop] = gradients.__getitem__
                continue
            if isinstance(readout, readouts.FirstSpikeTime):
                total += scale * self._first_spike_loss(pop, loss, labels, scale)
                continue
            value, gradient = loss.value_and_gradient(
                labels, self.engine.readout(pop).reshape(len(labels), -1))
            total += scale * value
            gradient = gradient * scale
            if isinstance(readout, readouts.AvgVar):
                drive[pop] = _constant(gradient / self.timesteps)
            elif isinstance(readout, readouts.AvgVarExpWeight):
                drive[pop] = _exp_weighted(gradient, self.timesteps, self.dt)
            elif isinstance(readout, readouts.SumVar):
                drive[pop] = _constant(gradient)
            else:  # MaxVar: the first step that reached the maximum, if above 0
                trace = np.stack(self.trace[pop])
                first_max = np.argmax(trace, axis=0)
                reached = np.take_along_axis(trace, first_max[None], axis=0)[0] > 0
                drive[pop] = _at_step(gradient * reached, first_max)
        return total, drive


# Reassociating the dot product's sum lets it vectorise (its float64 order is a
# BLAS's choice in the products it replaces); NaNs and infinities keep their meaning
@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _add_spike_drive(drive, examples, neurons, weight, adjoint_syn, adjoint_v, inv_tau_syn,
                     kappa):
    """drive[k] += sum over targets j of weight[i, j] (adjoint_syn[e, j] / tau_syn -
    kappa adjoint_v[e, j]) for the k-th spiking pair (e, i) = (examples[k],
    neurons[k]) of a dense connection: a dot product per spike, not a matrix
    product per step."""
    rate = adjoint_syn * inv_tau_syn - kappa * adjoint_v
    num_post = np.uint64(weight.shape[1])
    for k in range(len(examples)):
        row = weight[np.uint64(neurons[k])]
        rates = rate[np.uint64(examples[k])]
        total = 0.0
        for j in range(num_post):
            total += row[j] * rates[j]
        drive[k] += total


@njit(cache=True)
def _add_arrived_rows(grad, arrived, adjoint_syn, row_sum):
    """grad[i] += the sum over examples e (ascending) of adjoint_syn[e] where the
    spike of source i arrived in example e: event-driven, as few spikes cost far
    less than the dense outer product. ``row_sum``: scratch of a row's length."""
    num_examples, num_pre = arrived.shape
    num_post = np.uint64(adjoint_syn.shape[1])
    for i in range(num_pre):
        started = False
        for e in range(num_examples):
            if arrived[e, i]:
                adjoint = adjoint_syn[np.uint64(e)]
                if started:
                    for j in range(num_post):
                        row_sum[j] += adjoint[j]
                else:
                    for j in range(num_post):
                        row_sum[j] = adjoint[j]
                    started = True
        if started:
            row = grad[np.uint64(i)]
            for j in range(num_post):
                row[j] += row_sum[j]


def _constant(value):
    return lambda step: value


def _at_step(value, steps):
    return lambda step: np.where(steps == step, value, 0.0)


def _exp_weighted(value, timesteps, dt):
    """dL/dV of AvgVarExpWeight's readout: the weight the readout kernel gives each
    step, float32(exp(-t c)) / T at t = step dt, c = float32(1 / (T dt))."""
    f32 = np.float32
    c = f32(1.0 / (float(f32(dt)) * timesteps))
    scale = F64(f32(1.0 / timesteps))

    def drive(step):
        weight = 1.0 if step == 0 else np.exp(-F64(f32(f32(step * dt) * c)))
        return value * (weight * scale)
    return drive


def kernel_entries(conn, matrix):
    """(flat kernel entry of each of ``matrix``'s CSR values, kernel shape) for a
    convolution, whose synapses share a kernel; None for other connectivity."""
    connectivity = conn.connectivity
    if not hasattr(connectivity, "_kernel_shape"):
        return None
    import copy
    kernel_shape = connectivity._kernel_shape(conn.source.shape)
    size = int(np.prod(kernel_shape))
    # The same synapses, each holding its entry's number (+1: CSR drops zeros);
    # float32 holds them exactly below 2**24
    numbered = copy.copy(connectivity)
    numbered.weight = (np.arange(size, dtype=np.float64) + 1).reshape(kernel_shape)
    synapses = numbered.synapses(conn.source.shape, conn.target.shape, None)
    entries = np.asarray(synapses.matrix.data, dtype=np.int64) - 1
    if synapses.matrix.nnz != matrix.nnz or not np.array_equal(synapses.matrix.indices,
                                                               matrix.indices):
        raise ValueError(f"connection {conn.name}: could not map its synapses to its kernel")
    return entries, tuple(kernel_shape)


def _per_neuron(value, neurons):
    """A parameter (a number or one value per neuron) at the given neurons."""
    value = np.asarray(value)
    return value if value.ndim == 0 else value[neurons]


def _share_sparse_weights(engine):
    """Make each sparse matrix's values a view of the compiled engine's copy of
    them (the engine keeps its dense matrices as views already), so that
    training them in place changes what the engine delivers. The engine lays the
    CSR values of its connections end to end, in order; each segment is checked
    before it is shared."""
    data = getattr(getattr(engine, "_tables", None), "data", None)
    if data is None:
        return
    offset = 0
    for state in engine.conns:
        prop = state.propagator
        matrix = getattr(prop, "stacked", prop.matrix)
        if isinstance(matrix, np.ndarray):
            continue
        segment = data[offset:offset + matrix.nnz]
        offset += matrix.nnz
        if matrix is not prop.matrix or np.shares_memory(matrix.data, data):
            # A copy sorted by delay is rebuilt by EventProp.sync instead
            continue
        if not np.array_equal(segment, matrix.data):
            raise RuntimeError(f"connection {state.conn.name}: the engine's sparse weights "
                               f"are not laid out as EventProp expects, so training them "
                               f"would not reach the simulation")
        prop.matrix.data = segment
