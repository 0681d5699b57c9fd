from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.norm.base_batchnorm import BatchNormBase


@register_layer("batchnorm1d", aliases=("batch_norm1d", "bn1d"))
class BatchNorm1d(BatchNormBase):
    """Batch normalization of (C,) features or (C, L) sequences."""

    RANKS: ClassVar[tuple[int, ...]] = (1, 2)
    MODULE: ClassVar[str] = "BatchNorm1d"
    SHAPES: ClassVar[str] = "(C,) or (C, L)"
    EXAMPLES: ClassVar = [({}, [(20,)]), ({"momentum": 0.01}, [(4, 9)])]
