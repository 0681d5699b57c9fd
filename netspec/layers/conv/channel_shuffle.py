from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import divide
from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Int, Layer, need_rank, register_layer


@register_layer("channel_shuffle")
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle of (C, ...): the channels as a (groups, C/groups) grid, transposed.

    As ``nn.ChannelShuffle``: the next grouped convolution then reads from every group."""

    FAMILY: ClassVar[str] = "reshape"
    READS: ClassVar[str | None] = READS_CHANNELS
    PRIMARY: ClassVar[str] = "groups"
    SHAPE_ONLY: ClassVar[bool] = True
    ELEMENTWISE: ClassVar[bool] = True
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"groups": 2}, [(6, 4, 4)]), ({"groups": 3}, [(6, "T")])]

    groups: Int = Field(default=2, ge=1, le=1 << 20)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input")
        if not divide(x.shape[0], self.groups).exact or isinstance(x.shape[0], str):
            raise ShapeError(f"{self.KIND} needs the channels of {x} to be a fixed multiple of groups "
                             f"({self.groups})", option="groups")
        return x

    def label(self) -> str:
        return f"channel shuffle ({self.groups} group{'s' if self.groups != 1 else ''})"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ChannelShuffle(self.groups)
