"""The shared rule of ``locally_connected2d`` and ``tiled_conv2d``."""

from typing import Any, ClassVar

from netspec.core.errors import ShapeError
from netspec.core.sizes import conv_out, numeric_product, size_product
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
    PadPair,
    Width,
    need_float,
    need_rank,
    pair,
)
from netspec.layers.conv.window import AXES, axis_option, check_size


class LocalBase(Layer):
    """Shared shape rule of the unshared convolutions (stride, zero padding, no dilation)."""
    READS: ClassVar[str | None] = READS_CHANNELS

    FAMILY: ClassVar[str] = "conv"
    PRIMARY: ClassVar[str] = "filters"

    filters: Int = Width
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: PadPair = 0
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def out_hw(self, x: TensorType, ctx: Ctx) -> tuple[Any, Any]:
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        need_float(x, self.KIND)
        if isinstance(x.shape[0], str):
            raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'" + SEQUENCE_HINT)
        k, s, p = pair(self.kernel), pair(self.stride), pair(self.padding)
        return tuple(check_size(conv_out(n, k[i], s[i], p[i]), AXES[2][i], self.KIND, ctx, s[i],  # type: ignore
                                axis_option("kernel", self.kernel, i)) for i, n in enumerate(x.shape[1:]))

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return TensorType((self.filters, *self.out_hw(ins[0], ctx)))

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        return size_product(outs[0].shape) * int(ins[0].shape[0]) * numeric_product(pair(self.kernel))

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(k, s, 1) for k, s in zip(pair(self.kernel), pair(self.stride))]
