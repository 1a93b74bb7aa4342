"""``network_default_params``: model constructors that take their defaults from
the network being built (``Network(default_params={Model: {...}})``)."""
from __future__ import annotations

import functools
import inspect

from ..network import Network


def network_default_params(init):
    """Wrap a model's ``__init__`` so arguments the caller leaves out take the
    values the current network's ``default_params`` give the model's class."""
    names = list(inspect.signature(init).parameters)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        given_positionally = set(names[1:1 + len(args)])
        defaults = {k: v for k, v in Network.get_default_params(type(self)).items()
                    if k not in given_positionally and k not in kwargs}
        return init(self, *args, **defaults, **kwargs)
    return wrapper
