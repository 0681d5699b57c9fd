from typing import Any, ClassVar

from netspec.core.sizes import divide, sym_mul
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, need_rank, register_layer
from netspec.layers.conv.base_shuffle import ShuffleBase
from netspec.layers.conv.window import AXES


@register_layer("pixel_unshuffle")
class PixelUnshuffle(ShuffleBase):
    """The inverse of pixel_shuffle: (C, H·r, W·r) → (C·r², H, W), as ``nn.PixelUnshuffle``."""

    EXAMPLES: ClassVar = [({"factor": 2}, [(3, 6, 8)]), ({"factor": 4}, [(1, 8, 4)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        h, w = (self.checked(divide(n, self.factor), axis, x) for axis, n in zip(AXES[2], x.shape[1:]))
        return TensorType((sym_mul(x.shape[0], self.factor ** 2), h, w), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(self.factor, self.factor, 1)] * 2

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.PixelUnshuffle(self.factor)
