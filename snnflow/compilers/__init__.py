"""Compilers turn network descriptions into runnable compiled networks."""
from .compiled_few_spike_network import CompiledFewSpikeNetwork
from .compiled_inference_network import CompiledInferenceNetwork
from .compiled_network import CompiledNetwork
from .compiled_training_network import CompiledTrainingNetwork
from .compiler import Compiler
from .event_prop_compiler import EventPropCompiler
from .few_spike_compiler import FewSpikeCompiler
from .inference_compiler import InferenceCompiler

__all__ = ["Compiler", "CompiledFewSpikeNetwork", "CompiledInferenceNetwork", "CompiledNetwork",
           "CompiledTrainingNetwork", "EventPropCompiler", "FewSpikeCompiler",
           "InferenceCompiler"]
