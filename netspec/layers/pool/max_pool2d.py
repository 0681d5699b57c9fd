from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool import PoolBase


@register_layer("max_pool2d", aliases=("maxpool2d", "maxpool", "max_pool"))
class MaxPool2d(PoolBase):
    """2-D max pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    EXAMPLES: ClassVar = [({"kernel": 2}, [(6, 28, 28)]), ({"kernel": 3, "stride": 2}, [(96, 55, 55)]),
                          ({"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [(4, 10, 11)])]
