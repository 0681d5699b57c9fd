from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.norm.base_batchnorm import BatchNormBase


@register_layer("batchnorm3d", aliases=("batch_norm3d", "bn3d"))
class BatchNorm3d(BatchNormBase):
    """Batch normalization of (C, D, H, W) volumes."""

    RANKS: ClassVar[tuple[int, ...]] = (4,)
    MODULE: ClassVar[str] = "BatchNorm3d"
    SHAPES: ClassVar[str] = "(C, D, H, W)"
    EXAMPLES: ClassVar = [({}, [(4, 3, 5, 5)]), ({"affine": False, "eps": 1e-3}, [(2, 2, 3, 4)])]
