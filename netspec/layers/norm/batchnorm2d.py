from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.norm.base_batchnorm import BatchNormBase


@register_layer("batchnorm2d", aliases=("batch_norm2d", "bn2d", "batchnorm"))
class BatchNorm2d(BatchNormBase):
    """Batch normalization of (C, H, W)."""

    EXAMPLES: ClassVar = [({}, [(6, 5, 5)]), ({"affine": False}, [(3, 4, 4)])]
