"""Readouts turn an output population's state into one vector per example."""
from .avg_var import AvgVar
from .first_spike_time import FirstSpikeTime
from .max_var import MaxVar
from .readout import Readout
from .spike_count import SpikeCount
from .sum_var import SumVar
from .var import Var
from ..utils.names import resolve

default_readouts = [AvgVar, FirstSpikeTime, MaxVar, SpikeCount, SumVar, Var]


def get_readout(readout):
    return None if readout is None else resolve(readout, Readout, default_readouts, "readout")


__all__ = ["Readout", "AvgVar", "FirstSpikeTime", "MaxVar", "SpikeCount", "SumVar",
           "Var", "get_readout"]
