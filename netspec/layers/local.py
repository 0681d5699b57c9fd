"""Convolution variants without full weight sharing: locally connected (unshared) and tiled.

PyTorch has neither; both are built on ``torch.nn.functional.unfold`` (im2col) and one batched matrix
product, so they are exact and fast (tests compare them with a slow loop over positions).

- ``locally_connected2d``: a separate filter at every output position. Parameters
  ``H_out·W_out·C_out·(C_in·kh·kw + 1)`` with bias (Keras ``LocallyConnected2D``).
- ``tiled_conv2d``: a set of kernels rotated through as the window moves (Goodfellow et al., *Deep
  Learning* §9.6): output position (i, j) uses kernel ``(i mod th, j mod tw)``. With ``tile: [th, tw]``
  there are t = th·tw kernels and t times the parameters of a plain convolution; ``tile: [1, t]`` rotates
  t kernels along each row; ``tile: 1`` is an ordinary convolution.
"""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import conv_out, numeric_product, size_product
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
    pair,
    register_layer,
    sizes,
)
from netspec.layers.conv import AXES, check_size


class LocalBase(Layer):
    """Shared shape rule of the unshared convolutions (stride, zero padding, no dilation)."""

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
            raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'")
        k, s, p = pair(self.kernel), pair(self.stride), pair(self.padding)
        return tuple(check_size(conv_out(n, k[i], s[i], p[i]), AXES[2][i], self.KIND, ctx, s[i])  # type: ignore
                     for i, n in enumerate(x.shape[1:]))

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return TensorType((self.filters, *self.out_hw(ins[0], ctx)))

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        return size_product(outs[0].shape) * int(ins[0].shape[0]) * numeric_product(pair(self.kernel))

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(k, s, 1) for k, s in zip(pair(self.kernel), pair(self.stride))]


@register_layer("locally_connected2d", aliases=("local2d", "unshared_conv2d"))
class LocallyConnected2d(LocalBase):
    """Unshared convolution: every output position has its own ``C_out × C_in × kh × kw`` filter.

    Parameters ``weight (H_out, W_out, C_out, C_in, kh, kw)`` and ``bias (C_out, H_out, W_out)``.
    """

    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 3}, [(2, 6, 7)]),
        ({"filters": 3, "kernel": [2, 3], "stride": 2, "padding": 1, "bias": False}, [(2, 7, 8)]),
    ]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        ho, wo = self.out_hw(ins[0], ctx)
        if isinstance(ho, str) or isinstance(wo, str):
            raise ShapeError(f"locally_connected2d has a filter per output position, so it needs a fixed input "
                             f"size, got {ins[0]}")
        return TensorType((self.filters, ho, wo))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        ho, wo = self.out_hw(ins[0], Ctx())
        shapes = {"weight": (ho, wo, self.filters, int(ins[0].shape[0]), *pair(self.kernel))}
        if self.bias:
            shapes["bias"] = (self.filters, ho, wo)
        return shapes

    def label(self) -> str:
        k = pair(self.kernel)
        return f"local {k[0]}×{k[1]} ×{self.filters} /{pair(self.stride)[0]}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.local import LocallyConnected2d as TorchLocal

        ho, wo = self.out_hw(ins[0], Ctx())
        return TorchLocal(int(ins[0].shape[0]), self.filters, pair(self.kernel), pair(self.stride),
                          pair(self.padding), (ho, wo), self.bias)


@register_layer("tiled_conv2d", aliases=("tiled_conv",))
class TiledConv2d(LocalBase):
    """Tiled convolution: ``th·tw`` kernels, output (i, j) uses kernel ``(i mod th, j mod tw)``.

    Parameters ``weight (th, tw, C_out, C_in, kh, kw)`` and ``bias (th, tw, C_out)``.
    """

    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 3, "tile": 2}, [(2, 7, 6)]),
        ({"filters": 3, "kernel": [3, 2], "tile": [1, 3], "stride": [1, 2], "padding": 1}, [(2, 6, 9)]),
        ({"filters": 2, "kernel": 3, "tile": [2, 3], "bias": False}, [(1, 8, 8)]),
    ]

    tile: sizes(2, high=64) = Field(  # type: ignore[valid-type]
        default=2, description="kernels per tile: t (t×t) or [th, tw]")

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        th, tw = pair(self.tile)
        shapes = {"weight": (th, tw, self.filters, int(ins[0].shape[0]), *pair(self.kernel))}
        if self.bias:
            shapes["bias"] = (th, tw, self.filters)
        return shapes

    def label(self) -> str:
        k, t = pair(self.kernel), pair(self.tile)
        return f"tiled conv {k[0]}×{k[1]} ×{self.filters} tile {t[0]}×{t[1]}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.local import TiledConv2d as TorchTiled

        return TorchTiled(int(ins[0].shape[0]), self.filters, pair(self.kernel), pair(self.stride),
                          pair(self.padding), pair(self.tile), self.out_hw(ins[0], Ctx()), self.bias)
