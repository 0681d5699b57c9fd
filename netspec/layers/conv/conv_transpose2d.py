from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import conv_transpose_out, numeric_product, size_product
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import (
    Bool,
    Ctx,
    Int,
    IntPair,
    Layer,
    PadPair,
    Width,
    need_float,
    need_rank,
    option_error,
    pair,
    register_layer,
)
from netspec.layers.conv.window import AXES, check_size


@register_layer("conv_transpose2d", aliases=("deconv2d", "conv2d_transpose"))
class ConvTranspose2d(Layer):
    """Transposed 2-D convolution: ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``."""

    FAMILY: ClassVar[str] = "conv"
    PRIMARY: ClassVar[str] = "filters"
    EXAMPLES: ClassVar = [
        ({"filters": 3, "kernel": 4, "stride": 2, "padding": 1}, [(8, 7, 7)]),
        ({"filters": 4, "kernel": [3, 2], "stride": 2, "output_padding": 1, "bias": False}, [(2, 5, 6)]),
    ]

    filters: Int = Width
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: PadPair = 0
    output_padding: PadPair = 0
    dilation: IntPair = 1
    groups: Int = Field(default=1, ge=1)
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> "ConvTranspose2d":
        s, op, d = pair(self.stride), pair(self.output_padding), pair(self.dilation)
        if any(o >= max(a, b) for o, a, b in zip(op, s, d)):
            raise option_error("output_padding", f"expected output_padding smaller than the stride {self.stride} "
                               f"or the dilation {self.dilation} (PyTorch's rule)", self.output_padding)
        if self.filters % self.groups:
            raise option_error("groups", f"expected a divisor of filters ({self.filters}): each of the "
                               f"{self.groups} groups gets filters/groups filters", self.groups)
        return self

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        need_float(x, self.KIND)
        if int(x.shape[0]) % self.groups:
            raise ShapeError(f"input channels ({x.shape[0]}) must be divisible by groups ({self.groups})")
        out = []
        for i, n in enumerate(x.shape[1:]):
            size = conv_transpose_out(n, pair(self.kernel)[i], pair(self.stride)[i], pair(self.padding)[i],
                                      pair(self.output_padding)[i], pair(self.dilation)[i])
            out.append(check_size(size, AXES[2][i], self.KIND, ctx, 1))
        return TensorType((self.filters, *out))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shapes = {"weight": (int(ins[0].shape[0]), self.filters // self.groups, *pair(self.kernel))}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        # Every input position is multiplied by the whole (C_out/g)·k·k kernel slice.
        return size_product(ins[0].shape) * (self.filters // self.groups) * numeric_product(pair(self.kernel))

    def receptive(self) -> None:
        return None  # upsampling: the receptive-field recurrence does not apply

    def label(self) -> str:
        k = pair(self.kernel)
        return f"deconv {k[0]}×{k[1]} ×{self.filters} /{pair(self.stride)[0]}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ConvTranspose2d(int(ins[0].shape[0]), self.filters, pair(self.kernel), stride=pair(self.stride),
                                  padding=pair(self.padding), output_padding=pair(self.output_padding),
                                  groups=self.groups, bias=self.bias, dilation=pair(self.dilation))
