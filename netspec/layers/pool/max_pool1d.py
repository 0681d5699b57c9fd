from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool1d import Pool1dBase


@register_layer("max_pool1d", aliases=("maxpool1d",))
class MaxPool1d(Pool1dBase):
    """1-D max pooling over (C, L)."""

    EXAMPLES: ClassVar = [({"kernel": 2}, [(4, 11)]), ({"kernel": 3, "stride": 2}, [(4, "T")])]
