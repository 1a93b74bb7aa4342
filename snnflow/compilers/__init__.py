"""Compilers turn network descriptions into runnable compiled networks."""
from .compiled_inference_network import CompiledInferenceNetwork
from .compiled_network import CompiledNetwork
from .compiled_training_network import CompiledTrainingNetwork
from .compiler import Compiler
from .event_prop_compiler import EventPropCompiler
from .inference_compiler import InferenceCompiler

__all__ = ["Compiler", "CompiledInferenceNetwork", "CompiledNetwork", "CompiledTrainingNetwork",
           "EventPropCompiler", "InferenceCompiler"]
