from typing import Any, ClassVar

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, pair, register_layer
from netspec.layers.local.base_local import LocalBase


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
