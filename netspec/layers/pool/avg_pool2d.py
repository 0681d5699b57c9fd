from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool import PoolBase


@register_layer("avg_pool2d", aliases=("avgpool2d", "avgpool", "avg_pool"))
class AvgPool2d(PoolBase):
    """2-D average pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    MODE: ClassVar[str] = "avg"
    EXAMPLES: ClassVar = [({"kernel": 2, "stride": 2}, [(6, 28, 28)]),
                          ({"kernel": [3, 2], "ceil_mode": True}, [(2, 7, 9)])]
