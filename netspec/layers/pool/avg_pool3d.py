from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_pool3d import Pool3dBase


@register_layer("avg_pool3d", aliases=("avgpool3d",))
class AvgPool3d(Pool3dBase):
    """3-D average pooling over (C, D, H, W)."""

    MODE: ClassVar[str] = "avg"
    KERNEL_WITHIN_INPUT: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"kernel": 2, "stride": 2}, [(3, 4, 6, 6)]),
                          ({"kernel": 3, "stride": 2, "ceil_mode": True}, [(2, 5, 6, 7)])]
