"""Readouts turn an output population's state into one vector per example."""
from .avg_var import AvgVar
from .avg_var_exp_weight import AvgVarExpWeight
from .first_spike_time import FirstSpikeTime
from .max_var import MaxVar
from .readout import Readout
from .spike_count import SpikeCount
from .sum_var import SumVar
from .var import Var
from ..utils.module import get_module_classes, get_object

default_readouts = get_module_classes(globals(), Readout)


def get_readout(readout):
    return get_object(readout, Readout, "readout", default_readouts)


__all__ = ["Readout", "AvgVar", "AvgVarExpWeight", "FirstSpikeTime", "MaxVar", "SpikeCount",
           "SumVar", "Var", "default_readouts", "get_readout"]
