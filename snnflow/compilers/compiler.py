"""Compiler: the base of the compilers, which build a network on an engine."""
from __future__ import annotations

from ..backends import get_engine_class
from .validation import check_network, check_positive_int


class Compiler:
    """What every compiler shares, as mlGeNN's Compiler: the timestep ``dt`` (ms),
    ``batch_size``, ``rng_seed`` (initializers and Poisson draws), the engine
    (``backend``: "numpy", the default, or "genn") and ``kernel_profiling``, which
    makes GeNN time its kernels (``compiled.engine.model`` then reports them, as
    mlGeNN's ``genn_model`` does); the NumPy engine has no kernels to time.

    Subclasses say which options decide the simulation (``options``) and what a
    compiled network is (``create_compiled_network``)."""

    def __init__(self, dt=1.0, batch_size=1, rng_seed=0, kernel_profiling=False,
                 backend="numpy"):
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if isinstance(dt, bool) or not isinstance(dt, (int, float)) or not dt > 0:
            raise ValueError(f"dt must be a positive number of ms, got {dt!r}")
        self.dt = float(dt)
        if isinstance(rng_seed, bool) or not isinstance(rng_seed, int) or rng_seed < 0:
            raise ValueError(f"rng_seed must be an int >= 0, got {rng_seed!r}")
        self.rng_seed = rng_seed
        self.kernel_profiling = bool(kernel_profiling)
        self.engine_class = get_engine_class(backend)
        self.backend = backend

    def options(self) -> dict:
        """Everything that decides the simulation (engines take it as keywords)."""
        raise NotImplementedError

    def check_network(self, network):
        """Refuse, before anything is built, a network this compiler cannot run."""
        check_network(network)

    def compile(self, network, name=None, **kwargs):
        """Build ``network`` on the engine; ``name`` labels the compiled network
        (mlGeNN names GeNN's build folder with it)."""
        self.check_network(network)
        limit = self.engine_class.max_batch_size
        if limit is not None and self.batch_size > limit:
            raise ValueError(f"batch_size={self.batch_size} is more than backend="
                             f"{self.backend!r} supports on {self.engine_class.device} "
                             f"backend: at most {limit}")
        engine = self.engine_class(network, kernel_profiling=self.kernel_profiling,
                                   **self.options())
        return self.create_compiled_network(network, engine, name, **kwargs)

    def create_compiled_network(self, network, engine, name, **kwargs):
        raise NotImplementedError
