from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, pair, register_layer, sizes
from netspec.layers.local.base_local import LocalBase


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
