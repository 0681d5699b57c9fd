from typing import ClassVar

from pydantic import Field

from netspec.layers.base import register_layer, sizes
from netspec.layers.conv.base_conv import ConvBase


@register_layer("conv1d")
class Conv1d(ConvBase):
    """1-D convolution over (C, L); the length may be symbolic; ``padding: causal`` sees only the past.

    Causal padding puts ``d·(k − 1)`` zeros on the left only, so output step t reads input steps ≤ t
    (WaveNet, temporal convolutional networks); at stride 1 the length is kept."""

    N: ClassVar[int] = 1
    EXAMPLES: ClassVar = [
        ({"filters": 6, "kernel": 5, "stride": 2}, [(1, 10)]),
        ({"filters": 4, "kernel": 3, "padding": "same"}, [(2, "T")]),
        ({"filters": 4, "kernel": 5, "stride": 2}, [(3, "T")]),
        ({"filters": 4, "kernel": 3, "padding": "causal", "dilation": 2}, [(2, "T")]),
        ({"filters": 3, "kernel": 4, "padding": "causal", "stride": 2, "bias": False}, [(2, 11)]),
    ]

    kernel: sizes(1) = Field(default=3, description="kernel size: k")  # type: ignore[valid-type]
    stride: sizes(1) = 1  # type: ignore[valid-type]
    dilation: sizes(1) = 1  # type: ignore[valid-type]
    padding: sizes(1, low=0, words=("same", "valid", "causal")) = Field(  # type: ignore[valid-type]
        default=0, description="int, 'same', 'valid' or 'causal' (d·(k − 1) zeros on the left)")
