from netspec.layers.base import register_layer
from netspec.layers.pool.base_global_pool import GlobalPoolBase


@register_layer("global_avg_pool", aliases=("global_average_pooling2d", "gap", "global_avg_pool2d"))
class GlobalAvgPool(GlobalPoolBase):
    """Global average pooling."""
