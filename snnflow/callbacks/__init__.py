"""Callbacks: custom logic and recording during training and inference."""
from .callback import Callback
from .checkpoint import Checkpoint
from .conn_var_recorder import ConnVarRecorder
from .custom_update import (CustomUpdate, CustomUpdateOnBatchBegin, CustomUpdateOnBatchEnd,
                            CustomUpdateOnEpochBegin, CustomUpdateOnEpochEnd,
                            CustomUpdateOnTimestepBegin, CustomUpdateOnTimestepEnd)
from .optimiser_param_schedule import OptimiserParamSchedule
from .progress_bar import BatchProgressBar
from .recorder import Recorder
from .spike_recorder import SpikeRecorder
from .var_recorder import VarRecorder

from ..utils.module import get_module_classes  # noqa: E402

# Recorder is the recorders' base, not a callback to name
default_callbacks = {name: cls for name, cls in get_module_classes(globals(), Callback).items()
                     if cls is not Recorder}

__all__ = ["Callback", "BatchProgressBar", "Checkpoint", "ConnVarRecorder", "CustomUpdate",
           "CustomUpdateOnBatchBegin", "CustomUpdateOnBatchEnd", "CustomUpdateOnEpochBegin",
           "CustomUpdateOnEpochEnd", "CustomUpdateOnTimestepBegin", "CustomUpdateOnTimestepEnd",
           "OptimiserParamSchedule", "Recorder", "SpikeRecorder", "VarRecorder",
           "default_callbacks"]
