from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Layer, need_rank, register_layer, sizes
from netspec.layers.conv.window import lrtb


@register_layer("zero_pad2d", aliases=("zero_padding2d", "zeropad2d"))
class ZeroPad2d(Layer):
    """Zero padding: p, [top/bottom, left/right] or [left, right, top, bottom] (PyTorch order)."""

    FAMILY: ClassVar[str] = "reshape"
    READS: ClassVar[str | None] = READS_CHANNELS
    PRIMARY: ClassVar[str] = "padding"
    EXAMPLES: ClassVar = [({"padding": 2}, [(1, 28, 28)]), ({"padding": [1, 2, 3, 4]}, [(2, 5, 6)])]

    padding: sizes((1, 2, 4), low=0) = Field(  # type: ignore[valid-type]
        default=1, description="p, [vertical, horizontal] or [left, right, top, bottom]")

    @property
    def lrtb(self) -> tuple[int, int, int, int]:
        return lrtb(self.padding)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        from netspec.core.sizes import sym_add

        left, right, top, bottom = self.lrtb
        return TensorType((x.shape[0], sym_add(x.shape[1], top + bottom), sym_add(x.shape[2], left + right)), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(1, 1, 1), (1, 1, 1)]

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ZeroPad2d(self.lrtb)
