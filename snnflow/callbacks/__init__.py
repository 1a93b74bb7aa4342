"""Callbacks: custom logic and recording during training and inference."""
from .callback import Callback
from .callback_list import CallbackList, get_callback
from .progress_bar import BatchProgressBar

default_callbacks = [BatchProgressBar]

__all__ = ["Callback", "CallbackList", "BatchProgressBar", "get_callback"]
