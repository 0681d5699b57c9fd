from typing import Any, ClassVar

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, register_layer
from netspec.layers.merge.base_merge import ElementwiseMerge, broadcast


@register_layer("subtract", aliases=("sub",))
class Subtract(ElementwiseMerge):
    """Element-wise difference of two inputs, the first minus the second (shapes broadcast)."""
    GLYPH: ClassVar[str | None] = "−"
    EXAMPLES: ClassVar = [({}, [(3, 4), (3, 4)]), ({}, [(4, 5, 6), (4, 1, 1)]), ({}, [(1,), ("T", 3)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if len(ins) != 2:
            raise ShapeError(f"{self.KIND} takes exactly two inputs (the first minus the second), got {len(ins)}")
        return broadcast(ins, self.KIND)

    def label(self) -> str:
        return "−"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Subtract as TorchSubtract

        return TorchSubtract()
