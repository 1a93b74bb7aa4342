"""The resets between batches, as GeNN custom updates: they run where the state
lives (on the GPU, without a transfer), each group of them with one call.

- ``ResetVars`` (when a batch starts fresh): every neuron state variable back to
  its initial value, and the spikes of the last step forgotten (each synapse
  group's source spike count), so nothing is in flight;
- ``ResetInSyn`` (fresh, or with reset_in_syn_between_batches): every connection's
  input accumulator (GeNN's outPost, the inSyn of its postsynaptic code), its
  postsynaptic state (Exponential's decaying G) and, with delays, every slot of its
  dendritic delay buffer to zero;
- ``ResetReadouts`` (every batch): each readout accumulator to its start value."""
from __future__ import annotations

from pygenn import (CustomUpdateVarAccess, VarAccessMode, create_custom_update_model,
                    create_den_delay_var_ref, create_out_post_var_ref, create_psm_var_ref,
                    create_src_spike_count_var_ref, create_var_ref)

RESET_VARS = "ResetVars"
RESET_IN_SYN = "ResetInSyn"
RESET_READOUTS = "ResetReadouts"


class BatchResets:
    """Adds the reset custom updates to a pygenn ``model`` (before it is built) for
    ``pops`` ({pop: PopulationModel}) and ``conns`` ({conn: ConnectionModel}), and
    runs them. ``models`` keeps the custom update models alive: pygenn does not."""

    def __init__(self, model, pops, conns):
        self.model = model
        self.models = []
        self.groups = set()
        for index, state in enumerate(pops.values()):
            self._add_state_reset(f"r{index:04d}", state)
            self._add_readout_reset(f"o{index:04d}", state)
        for index, conn in enumerate(conns.values()):
            self._add_connection_resets(f"s{index:04d}", conn)

    def _add(self, name, group, update_code, var_refs, params=None, vars=None, values=None):
        """``var_refs``: {name: (type, target) or (type, target, access mode)}."""
        code = {"class_name": name, "update_code": update_code,
                "var_refs": [(ref, spec[0], *spec[2:]) for ref, spec in var_refs.items()]}
        if params:
            code["params"] = [(p, "scalar") for p in params]
        if vars:
            code["vars"] = [(v, type_, CustomUpdateVarAccess.READ_ONLY)
                            for v, type_ in vars.items()]
        self.models.append(create_custom_update_model(**code))
        self.model.add_custom_update(name, group, self.models[-1], params or {}, values or {},
                                     {ref: spec[1] for ref, spec in var_refs.items()})
        self.groups.add(group)

    def _add_state_reset(self, name, state):
        """Each state variable takes its initial value, kept per neuron in the update
        (initializers may give every neuron its own)."""
        definition = state.definition
        if not definition.state:
            return
        types = {var[0]: var[1] for var in definition.code["vars"]}
        self._add(name, RESET_VARS,
                  "".join(f"{var} = {var}Initial;\n" for var in definition.state),
                  {var: (types[var], create_var_ref(state.group, var))
                   for var in definition.state},
                  vars={f"{var}Initial": types[var] for var in definition.state},
                  values={f"{var}Initial": initial for var, initial in definition.state.items()})

    def _add_readout_reset(self, name, state):
        if state.definition.readout_start is None:
            return
        self._add(name, RESET_READOUTS, "Readout = Start;\n",
                  {"Readout": ("scalar", create_var_ref(state.group, "Readout"))},
                  params={"Start": state.definition.readout_start})

    def _add_connection_resets(self, name, conn):
        group = conn.group
        self._add(f"{name}spikes", RESET_VARS, "SpikeCount = 0;\n",
                  {"SpikeCount": ("uint32_t", create_src_spike_count_var_ref(group))})
        in_syn = {"InSyn": ("scalar", create_out_post_var_ref(group))}
        in_syn.update({var: ("scalar", create_psm_var_ref(group, var))
                       for var in conn.synapse.state})
        self._add(f"{name}in_syn", RESET_IN_SYN,
                  "".join(f"{var} = 0.0f;\n" for var in in_syn), in_syn)
        if conn.layout.delay_slots:
            # A broadcast write reaches every slot, not only the one read this step
            self._add(f"{name}den_delay", RESET_IN_SYN, "DenDelay = 0.0f;\n",
                      {"DenDelay": ("scalar", create_den_delay_var_ref(group),
                                    VarAccessMode.BROADCAST)})

    def run(self, group):
        if group in self.groups:
            self.model.custom_update(group)
