"""Compilers turn network descriptions into runnable compiled networks."""
from .compiled_inference_network import CompiledInferenceNetwork
from .compiled_network import CompiledNetwork
from .inference_compiler import InferenceCompiler

__all__ = ["CompiledInferenceNetwork", "CompiledNetwork", "InferenceCompiler"]
