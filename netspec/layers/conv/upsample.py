import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import upsample_out
from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Float, Layer, need_float, need_rank, register_layer
from netspec.layers.conv.window import AXES


@register_layer("upsample", aliases=("upsample2d", "upsampling2d"))
class Upsample(Layer):
    """Upsampling of (C, H, W) by ``scale`` (nearest or bilinear)."""

    FAMILY: ClassVar[str] = "reshape"
    READS: ClassVar[str | None] = READS_CHANNELS
    PRIMARY: ClassVar[str] = "scale"
    EXAMPLES: ClassVar = [({"scale": 2}, [(3, 5, 7)]), ({"scale": 1.5, "mode": "bilinear"}, [(2, 4, 6)])]

    scale: Float = Field(default=2.0, gt=0, le=64)
    mode: Literal["nearest", "bilinear"] = "nearest"

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        need_float(x, self.KIND)
        sizes = []
        for axis, n in zip(AXES[2], x.shape[1:]):
            size = upsample_out(n, self.scale)
            if isinstance(size.value, int) and size.value < 1:
                raise ShapeError(f"{axis} {size.arithmetic}: upsampling by {self.scale:g} leaves no {axis}; "
                                 f"hint: a scale below 1 needs an input of at least {math.ceil(1 / self.scale)}",
                                 option="scale")
            sizes.append(size.value)
        return TensorType((x.shape[0], *sizes))

    def receptive(self) -> None:
        return None

    def label(self) -> str:
        return f"upsample ×{self.scale:g}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Upsample(scale_factor=self.scale, mode=self.mode)
