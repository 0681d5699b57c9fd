from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import (
    READS_CHANNELS,
    Bool,
    Ctx,
    Float,
    Layer,
    need_float,
    need_rank,
    register_layer,
)
from netspec.layers.norm.axes import channels


@register_layer("instance_norm2d", aliases=("instancenorm2d", "instance_norm"))
class InstanceNorm2d(Layer):
    """Instance normalization of (C, H, W): each channel of each sample over its H·W positions.

    As ``nn.InstanceNorm2d``: no affine transform and no running statistics unless asked for."""
    READS: ClassVar[str | None] = READS_CHANNELS

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 6, 6)]), ({"affine": True}, [(4, 5, 7)]),
                          ({"affine": True, "track_running_stats": True, "momentum": 0.2}, [(2, 4, 4)])]

    eps: Float = Field(default=1e-5, gt=0)
    momentum: Float = Field(default=0.1, ge=0, le=1)
    affine: Bool = Field(default=False, description="learned γ, β per channel")
    track_running_stats: Bool = Field(default=False, description="keep running mean/variance for eval, as batch norm")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a (C, H, W) input")
        need_float(x, self.KIND)
        channels(x)
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"weight": (c,), "bias": (c,)} if self.affine else {}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        if not self.track_running_stats:
            return {}
        return {"running_mean": (c,), "running_var": (c,), "num_batches_tracked": ()}

    def buffer_dtype(self, name: str) -> str:
        return "long" if name == "num_batches_tracked" else "float"  # torch's step counter is int64

    def label(self) -> str:
        return "instancenorm"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.InstanceNorm2d(int(ins[0].shape[0]), eps=self.eps, momentum=self.momentum, affine=self.affine,
                                 track_running_stats=self.track_running_stats)
