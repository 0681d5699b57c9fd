from typing import Any, ClassVar

from netspec.core.types import TensorType
from netspec.layers.base import register_layer
from netspec.layers.merge.base_merge import ElementwiseMerge


@register_layer("multiply", aliases=("mul",))
class Multiply(ElementwiseMerge):
    """Element-wise product (gating: a (C, 1, 1) gate scales (C, H, W)); shapes broadcast per sample."""
    GLYPH: ClassVar[str | None] = "×"

    def label(self) -> str:
        return "×"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Multiply as TorchMultiply

        return TorchMultiply()
