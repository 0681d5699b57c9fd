from typing import ClassVar

from netspec.layers.base import register_layer
from netspec.layers.conv.base_conv_transpose import ConvTransposeBase


@register_layer("conv_transpose2d", aliases=("deconv2d", "conv2d_transpose"))
class ConvTranspose2d(ConvTransposeBase):
    """Transposed 2-D convolution: ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``."""

    N: ClassVar[int] = 2
    EXAMPLES: ClassVar = [
        ({"filters": 3, "kernel": 4, "stride": 2, "padding": 1}, [(8, 7, 7)]),
        ({"filters": 4, "kernel": [3, 2], "stride": 2, "output_padding": 1, "bias": False}, [(2, 5, 6)]),
    ]
