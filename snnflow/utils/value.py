"""Model values: declared with ValueDescriptor, resolved into numbers at build time.

A value is a scalar, an array (one entry per neuron or synapse), an Initializer
or the name of a default-constructable one ("normal"). As in mlGeNN, each value
descriptor also names the GeNN variable(s) the value becomes, through an optional
transform of (value, dt): ``tau_mem`` becomes GeNN's ``Alpha = exp(-dt/tau_mem)``.
Those names are what ``VarRecorder(genn_var=...)`` accepts."""
from __future__ import annotations

import numbers
from inspect import getmembers, isdatadescriptor

import numpy as np

from ..initializers import Initializer, default_initializers


def check_value(value, what: str):
    """Reject at construction what can never become a parameter value."""
    if isinstance(value, str):
        if value not in default_initializers:
            raise KeyError(f"{what}: unknown initializer {value!r}; expected one of "
                           f"{sorted(default_initializers)}")
        return default_initializers[value]()
    if isinstance(value, (numbers.Real, Initializer, np.ndarray, list, tuple, range)):
        return value
    raise TypeError(f"{what} must be a number, an array or an Initializer, got {value!r}")


def decay_per_step(tau, dt):
    """GeNN's factor by which a quantity with time constant ``tau`` (ms) decays in
    one step of ``dt`` ms: exp(-dt / tau)."""
    return np.exp(-dt / tau)


class ValueDescriptor:
    """A model attribute holding a value (checked when set) and naming the GeNN
    variables it becomes: each argument is a GeNN name, or (name, transform) with
    ``transform(value, dt)`` giving that variable from the value."""

    def __init__(self, *genn_names):
        self.genn_transforms = [(g, None) if isinstance(g, str) else tuple(g)
                                for g in genn_names]

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance.__dict__[self.name]

    def __set__(self, instance, value):
        what = f"{type(instance).__name__}.{self.name}"
        value = None if value is None else check_value(value, what)
        if isinstance(value, Initializer) and any(t for _, t in self.genn_transforms):
            raise TypeError(f"{what} is transformed into GeNN's "
                            f"{[g for g, t in self.genn_transforms if t]} and cannot be "
                            f"drawn from an Initializer; give numbers")
        instance.__dict__[self.name] = value

    def get_transformed(self, instance, dt) -> dict:
        """{GeNN name: value} of this attribute on ``instance``."""
        value = self.__get__(instance, None)
        if isinstance(value, (list, tuple, range)):
            value = np.asarray(value)
        return {g: value if t is None else t(value, dt) for g, t in self.genn_transforms}


def value_descriptors(model_type) -> dict:
    """{attribute name: ValueDescriptor} of a model class, in definition order."""
    found = {}
    for cls in reversed(model_type.__mro__):
        for name, attr in vars(cls).items():
            if isinstance(attr, ValueDescriptor):
                found.pop(name, None)
                found[name] = attr
    return found


def get_genn_var_name(inst, name: str) -> str:
    """The GeNN variable that attribute ``name`` of ``inst`` holds untransformed
    (AttributeError for an attribute the model does not have)."""
    descriptor = getattr(type(inst), name)
    if not isinstance(descriptor, ValueDescriptor):
        raise AttributeError(f"{type(inst).__name__}.{name} is not a model value")
    direct = [g for g, t in descriptor.genn_transforms if t is None]
    if not direct:
        raise AttributeError(f"{type(inst).__name__}.{name} only reaches GeNN transformed, "
                             f"as {[g for g, _ in descriptor.genn_transforms]}")
    return direct[0]


def get_values(inst, name_types, dt, vals=None) -> dict:
    """{GeNN name: value} of ``inst`` for the (name, type) pairs in ``name_types``."""
    wanted = {n[0] for n in name_types}
    vals = {} if vals is None else vals
    for _, descriptor in getmembers(type(inst), isdatadescriptor):
        if isinstance(descriptor, ValueDescriptor):
            vals.update({g: v for g, v in descriptor.get_transformed(inst, dt).items()
                         if g in wanted})
    return vals


def resolve_value(value, shape: tuple, rng, what: str, dtype=np.float32):
    """A ``dtype`` scalar for scalars, else a ``dtype`` array of exactly ``shape``."""
    if isinstance(value, numbers.Real):
        return dtype(value)
    if isinstance(value, Initializer):
        return value.sample(rng, shape).astype(dtype)
    array = np.asarray(value, dtype=dtype)
    if array.shape != tuple(shape):
        size = int(np.prod(shape))
        # A flat array is accepted for a multi-dimensional population (row-major)
        if array.ndim == 1 and array.size == size:
            return array.reshape(shape)
        raise ValueError(f"{what} has shape {array.shape}, expected {tuple(shape)}")
    return array
