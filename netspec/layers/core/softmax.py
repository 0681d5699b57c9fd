from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Axis, Ctx, need_float, register_layer, sample_axis, torch_dim
from netspec.layers.core.activation import Activation


@register_layer("softmax")
class Softmax(Activation):
    """Softmax over ``axis`` (per-sample axes; -1 is the last)."""

    EXAMPLES: ClassVar = [({}, [(4, 5)]), ({"axis": 0}, [(3, 4, 4)]), ({"axis": -3}, [(3, 4, 4)]),
                          ({"axis": 1}, [("T", 6)])]

    axis: Axis = Field(default=-1, description="the axis it normalizes over (per sample; 0 is channels, -1 the last)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        sample_axis(self.axis, ins[0], kind=self.KIND)
        return ins[0]

    def normalized_axis(self) -> int | None:
        return self.axis

    def torch_kwargs(self) -> dict[str, Any]:
        return {"dim": torch_dim(self.axis)}

    def label(self) -> str:
        return self.KIND if self.axis == -1 else f"{self.KIND} (axis {self.axis})"
