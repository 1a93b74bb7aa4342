"""Callbacks: custom logic and recording during training and inference."""
from .callback import Callback
from .callback_list import CallbackList, get_callback
from .checkpoint import Checkpoint
from .conn_var_recorder import ConnVarRecorder
from .optimiser_param_schedule import OptimiserParamSchedule
from .progress_bar import BatchProgressBar
from .recorder import Recorder
from .spike_recorder import SpikeRecorder
from .var_recorder import VarRecorder

default_callbacks = [BatchProgressBar, Checkpoint]

__all__ = ["Callback", "CallbackList", "BatchProgressBar", "Checkpoint", "ConnVarRecorder",
           "OptimiserParamSchedule", "Recorder", "SpikeRecorder", "VarRecorder", "get_callback"]
