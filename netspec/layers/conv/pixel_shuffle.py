from typing import Any, ClassVar

from netspec.core.sizes import divide, sym_mul
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, need_rank, register_layer
from netspec.layers.conv.base_shuffle import ShuffleBase


@register_layer("pixel_shuffle")
class PixelShuffle(ShuffleBase):
    """Sub-pixel upsampling (Shi et al. 2016): (C·r², H, W) → (C, H·r, W·r), as ``nn.PixelShuffle``."""

    EXAMPLES: ClassVar = [({"factor": 2}, [(8, 3, 4)]), ({"factor": 3}, [(9, 2, 2)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        c = self.checked(divide(x.shape[0], self.factor ** 2), "channels", x)
        return TensorType((c, sym_mul(x.shape[1], self.factor), sym_mul(x.shape[2], self.factor)), x.dtype)

    def receptive(self) -> None:
        return None  # upsampling

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.PixelShuffle(self.factor)
