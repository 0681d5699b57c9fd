"""The shared rule of ``conv1d``, ``conv2d`` and ``conv3d``."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import conv_out, numeric_product, same_pad_total, size_product, sym_add
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import (
    READS_CHANNELS,
    SEQUENCE_HINT,
    Bool,
    Ctx,
    Int,
    IntPair,
    Layer,
    Padding,
    Width,
    need_float,
    need_rank,
    option_error,
)
from netspec.layers.conv.window import AXES, axis_option, check_size, size_tuple


class ConvBase(Layer):
    """Shared rule of conv1d, conv2d and conv3d; ``N`` is the number of spatial axes."""
    READS: ClassVar[str | None] = READS_CHANNELS

    N: ClassVar[int] = 2
    FAMILY: ClassVar[str] = "conv"
    PRIMARY: ClassVar[str] = "filters"

    filters: Int = Width
    kernel: IntPair = Field(default=3, description="kernel size: k or [kh, kw]")
    stride: IntPair = 1
    padding: Padding = Field(default=0, description="int, [ph, pw], 'same' or 'valid'")
    dilation: IntPair = 1
    groups: Int = Field(default=1, ge=1, le=1 << 20)
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> "ConvBase":
        if self.padding == "same" and any(s != 1 for s in self.strides):
            raise option_error("padding", "padding 'same' needs stride 1 in PyTorch; hint: for stride s use "
                               "padding (k - 1)//2 (the output is then ceil(n/s) for odd k)", self.padding)
        if self.filters % self.groups:
            raise option_error("groups", f"expected a divisor of filters ({self.filters}): each of the "
                               f"{self.groups} groups gets filters/groups filters", self.groups)
        return self

    @property
    def kernels(self) -> tuple[int, ...]:
        return size_tuple(self.kernel, self.N)

    @property
    def strides(self) -> tuple[int, ...]:
        return size_tuple(self.stride, self.N)

    @property
    def dilations(self) -> tuple[int, ...]:
        return size_tuple(self.dilation, self.N)

    @property
    def paddings(self) -> tuple[int, ...] | str:
        if self.padding == "valid":
            return (0,) * self.N
        if self.padding in ("same", "causal"):
            return str(self.padding)
        return size_tuple(self.padding, self.N)

    def in_channels(self, x: TensorType) -> int:
        need_rank(x, (self.N + 1,), f"a {self.N + 1}-D input ({'channels, ' + ', '.join(AXES[self.N])})",
                  "add a 'reshape' (e.g. [1, 28, 28]) or check the layer order")
        need_float(x, self.KIND)
        c = x.shape[0]
        if isinstance(c, str):
            raise ShapeError(f"the channel count must be fixed, got '{c}'" + SEQUENCE_HINT)
        if c % self.groups:
            raise ShapeError(f"input channels ({c}) must be divisible by groups ({self.groups})", option="groups")
        return c

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        self.in_channels(x)
        out = []
        pads = self.paddings
        for i, (n, k, s, d) in enumerate(zip(x.shape[1:], self.kernels, self.strides, self.dilations)):
            if pads == "same":
                size = conv_out(n, k, 1, dilation=d, pad_total=same_pad_total(k, d))
            elif pads == "causal":  # d·(k − 1) zeros on the left: output t sees inputs ≤ t only
                size = conv_out(sym_add(n, same_pad_total(k, d)), k, s, 0, d)
            else:
                size = conv_out(n, k, s, pads[i], d)
            out.append(check_size(size, AXES[self.N][i], self.KIND, ctx, s, axis_option("kernel", self.kernel, i)))
        return TensorType((self.filters, *out))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        shapes = {"weight": (self.filters, c // self.groups, *self.kernels)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        c = int(ins[0].shape[0])
        return size_product(outs[0].shape) * (c // self.groups) * numeric_product(self.kernels)

    def receptive(self) -> list[tuple[int, int, int]]:
        return list(zip(self.kernels, self.strides, self.dilations))

    def label(self) -> str:
        k = "×".join(str(v) for v in self.kernels)
        s = "/" + "×".join(str(v) for v in dict.fromkeys(self.strides))
        return f"conv {k} ×{self.filters} {s}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        pads = self.paddings
        if pads == "causal":
            from netspec.layers.torch.conv import CausalConv1d

            return CausalConv1d(int(ins[0].shape[0]), self.filters, self.kernels, stride=self.strides,
                                dilation=self.dilations, groups=self.groups, bias=self.bias)
        cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[self.N]
        return cls(int(ins[0].shape[0]), self.filters, self.kernels, stride=self.strides,
                   padding=pads, dilation=self.dilations, groups=self.groups,
                   bias=self.bias)
