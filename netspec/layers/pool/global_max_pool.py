from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.pool.base_global_pool import GlobalPoolBase


@register_layer("global_max_pool", aliases=("global_max_pooling2d", "global_max_pool2d"))
class GlobalMaxPool(GlobalPoolBase):
    """Global max pooling."""

    MODE: ClassVar[str] = "max"
