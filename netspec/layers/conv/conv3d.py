from typing import ClassVar

from pydantic import Field

from netspec.layers.base import register_layer, sizes
from netspec.layers.conv.base_conv import ConvBase
from netspec.layers.conv.window import IntTriple


@register_layer("conv3d")
class Conv3d(ConvBase):
    """3-D convolution over (C, D, H, W): ``floor((n + 2p − d(k − 1) − 1)/s) + 1`` per axis."""

    N: ClassVar[int] = 3
    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 3}, [(2, 5, 6, 7)]),
        ({"filters": 6, "kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1], "groups": 2,
          "bias": False}, [(4, 3, 8, 9)]),
        ({"filters": 2, "kernel": 3, "padding": "same", "dilation": [1, 2, 1]}, [(3, 4, 6, 5)]),
    ]

    kernel: IntTriple = Field(default=3, description="kernel size: k or [kd, kh, kw]")
    stride: IntTriple = 1
    padding: sizes(3, low=0, words=("same", "valid")) = Field(  # type: ignore[valid-type]
        default=0, description="int, [pd, ph, pw], 'same' or 'valid'")
    dilation: IntTriple = 1
