from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool1d import Pool1dBase


@register_layer("avg_pool1d", aliases=("avgpool1d",))
class AvgPool1d(Pool1dBase):
    """1-D average pooling over (C, L)."""

    MODE: ClassVar[str] = "avg"
    EXAMPLES: ClassVar = [({"kernel": 3, "stride": 1, "padding": 1}, [(4, 9)])]
