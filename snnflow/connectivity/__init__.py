"""Connectivity descriptions (weight layouts as mlGeNN: Dense is (n_pre, n_post))."""
from .avg_pool_2d import AvgPool2D
from .avg_pool_conv_2d import AvgPoolConv2D
from .avg_pool_dense_2d import AvgPoolDense2D
from .connectivity import Connectivity
from .conv_2d import Conv2D
from .conv_2d_transpose import Conv2DTranspose
from .dense import Dense
from .fixed_probability import FixedProbability
from .one_to_one import OneToOne


def get_connectivity(connectivity):
    if not isinstance(connectivity, Connectivity):
        raise TypeError(f"connectivity must be a Connectivity object such as "
                        f"Dense(weight), got {connectivity!r}")
    return connectivity


__all__ = ["Connectivity", "AvgPool2D", "AvgPoolConv2D", "AvgPoolDense2D", "Conv2D",
           "Conv2DTranspose", "Dense", "FixedProbability", "OneToOne", "get_connectivity"]
