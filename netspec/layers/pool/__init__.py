"""Pooling: max/average 1-D, 2-D and 3-D, global and adaptive."""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = (
    "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d", "max_pool3d", "avg_pool3d", "global_avg_pool",
    "global_max_pool", "adaptive_avg_pool2d", "adaptive_avg_pool1d",
)
