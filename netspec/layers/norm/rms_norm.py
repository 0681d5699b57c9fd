from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Bool, Ctx, Int, Layer, need_float, number, register_layer
from netspec.layers.norm.axes import trailing_axes, warn_trailing_on_map


@register_layer("rms_norm", aliases=("rmsnorm",))
class RMSNorm(Layer):
    """Root-mean-square normalization over the last ``axes`` axes: ``x / rms(x) · γ`` (``nn.RMSNorm``).

    No centring and no bias; ``eps`` defaults to the dtype's machine epsilon, as in torch."""

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(8,)]), ({"axes": 2, "eps": 1e-6}, [(3, 4, 5)]), ({"affine": False}, [("T", 6)])]

    axes: Int = Field(default=1, ge=1, le=8, description="how many trailing axes to normalize over")
    eps: number(float, gt=0) | None = Field(default=None, description="default: the dtype's machine epsilon")
    affine: Bool = Field(default=True, description="a learned per-element scale γ (named weight)")

    def normalized(self, x: TensorType) -> tuple[int, ...]:
        return trailing_axes(x, self.axes, self.KIND)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.normalized(ins[0])
        warn_trailing_on_map(ins[0], self.axes, self.KIND, ctx, channels_option=False)
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"weight": self.normalized(ins[0])} if self.affine else {}

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.RMSNorm(self.normalized(ins[0]), eps=self.eps, elementwise_affine=self.affine)
