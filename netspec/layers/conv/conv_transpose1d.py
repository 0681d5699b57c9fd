from typing import ClassVar

from pydantic import Field

from netspec.layers.base import register_layer, sizes
from netspec.layers.conv.base_conv_transpose import ConvTransposeBase


@register_layer("conv_transpose1d", aliases=("deconv1d", "conv1d_transpose"))
class ConvTranspose1d(ConvTransposeBase):
    """Transposed 1-D convolution over (C, L), the length may be symbolic: ``(n − 1)s − 2p + d(k − 1) + op + 1``.

    ``op`` is ``output_padding``, which places the last output steps a strided convolution of the output
    would drop (a decoder undoing a stride-s ``conv1d`` of a length that s does not divide)."""

    N: ClassVar[int] = 1
    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 4, "stride": 2, "padding": 1}, [(6, 9)]),
        ({"filters": 6, "kernel": 3, "stride": 3, "padding": 2, "output_padding": 2, "dilation": 2, "groups": 2,
          "bias": False}, [(4, 7)]),
        ({"filters": 3, "kernel": 5, "stride": 2, "output_padding": 1}, [(2, "T")]),
    ]

    kernel: sizes(1) = Field(default=3, description="kernel size: k")  # type: ignore[valid-type]
    stride: sizes(1) = 1  # type: ignore[valid-type]
    dilation: sizes(1) = 1  # type: ignore[valid-type]
    padding: sizes(1, low=0) = Field(  # type: ignore[valid-type]
        default=0, description="zeros taken off each end: p")
    output_padding: sizes(1, low=0) = Field(  # type: ignore[valid-type]
        default=0, description="extra size at the end: less than the stride or the dilation")
