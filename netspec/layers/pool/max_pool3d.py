from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool3d import Pool3dBase


@register_layer("max_pool3d", aliases=("maxpool3d",))
class MaxPool3d(Pool3dBase):
    """3-D max pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    EXAMPLES: ClassVar = [({"kernel": 2}, [(3, 4, 6, 6)]),
                          ({"kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}, [(2, 3, 7, 8)])]
