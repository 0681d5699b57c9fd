from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import (
    READS_CHANNELS,
    Bool,
    Ctx,
    Float,
    Int,
    Layer,
    need_float,
    need_rank,
    register_layer,
)
from netspec.layers.norm.axes import channels


@register_layer("group_norm", aliases=("groupnorm",))
class GroupNorm(Layer):
    """Group normalization (Wu & He 2018): each of ``groups`` channel groups over its channels and positions.

    Affine γ, β per channel. groups = 1 normalizes each sample over everything; groups = C is
    instance normalization with an affine transform."""
    READS: ClassVar[str | None] = READS_CHANNELS

    FAMILY: ClassVar[str] = "norm"
    PRIMARY: ClassVar[str] = "groups"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"groups": 2}, [(6, 5, 5)]), ({"groups": 1, "affine": False}, [(4, 7)]),
                          ({"groups": 4, "eps": 1e-6}, [(8,)]), ({"groups": 3}, [(3, "T")])]

    groups: Int = Field(ge=1, le=1 << 20, description="number of channel groups; must divide the channels")
    eps: Float = Field(default=1e-5, gt=0)
    affine: Bool = True

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (1, 2, 3, 4), "a (C, ...) input")
        need_float(x, self.KIND)
        c = channels(x)
        if c % self.groups:
            raise ShapeError(f"{self.KIND}: channels ({c}) must be divisible by groups ({self.groups})",
                             option="groups")
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"weight": (c,), "bias": (c,)} if self.affine else {}

    def label(self) -> str:
        return f"groupnorm ({self.groups} group{'s' if self.groups != 1 else ''})"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.GroupNorm(self.groups, int(ins[0].shape[0]), eps=self.eps, affine=self.affine)
