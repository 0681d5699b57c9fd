from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.conv.base_conv import ConvBase


@register_layer("conv2d", aliases=("conv",))
class Conv2d(ConvBase):
    """2-D convolution over (C, H, W): ``floor((n + 2p − d(k − 1) − 1)/s) + 1`` per axis."""

    N: ClassVar[int] = 2
    EXAMPLES: ClassVar = [
        ({"filters": 6, "kernel": 5}, [(1, 32, 32)]),
        ({"filters": 8, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2], "dilation": 2}, [(4, 17, 19)]),
        ({"filters": 8, "kernel": 3, "groups": 4, "bias": False, "padding": "same"}, [(4, 9, 10)]),
        ({"filters": 4, "kernel": 4, "padding": "same", "dilation": 2}, [(2, 9, 9)]),
    ]
