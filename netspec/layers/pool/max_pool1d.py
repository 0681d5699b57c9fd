from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool import PoolBase


@register_layer("max_pool1d", aliases=("maxpool1d",))
class MaxPool1d(PoolBase):
    """1-D max pooling over (C, L)."""

    N: ClassVar[int] = 1
    EXAMPLES: ClassVar = [({"kernel": 2}, [(4, 11)]), ({"kernel": 3, "stride": 2}, [(4, "T")])]
