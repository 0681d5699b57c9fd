from typing import ClassVar

from pydantic import Field

from netspec.layers.base import register_layer
from netspec.layers.conv.base_conv_transpose import ConvTransposeBase
from netspec.layers.conv.window import IntTriple, PadTriple


@register_layer("conv_transpose3d", aliases=("deconv3d", "conv3d_transpose"))
class ConvTranspose3d(ConvTransposeBase):
    """Transposed 3-D convolution over (C, D, H, W): ``(n − 1)s − 2p + d(k − 1) + output_padding + 1`` per axis."""

    N: ClassVar[int] = 3
    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 2, "stride": 2}, [(3, 3, 4, 5)]),
        ({"filters": 4, "kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1], "output_padding": [0, 1, 0],
          "groups": 2, "bias": False}, [(6, 2, 5, 4)]),
        ({"filters": 2, "kernel": 3, "dilation": [1, 2, 1], "padding": 1}, [(2, 3, 4, 3)]),
    ]

    kernel: IntTriple = Field(default=3, description="kernel size: k or [kd, kh, kw]")
    stride: IntTriple = 1
    padding: PadTriple = Field(default=0, description="zeros taken off each end: p or [pd, ph, pw]")
    output_padding: PadTriple = Field(default=0, description="extra size at the end of each axis: less than the "
                                                             "stride or the dilation")
    dilation: IntTriple = 1
