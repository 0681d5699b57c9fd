from typing import Any, ClassVar

from netspec.core.types import TensorType
from netspec.layers.base import register_layer
from netspec.layers.merge.base_merge import ElementwiseMerge


@register_layer("add")
class Add(ElementwiseMerge):
    """Element-wise sum (residual connections); shapes broadcast per sample, as torch's."""
    GLYPH: ClassVar[str | None] = "+"

    def label(self) -> str:
        return "+"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Add as TorchAdd

        return TorchAdd()
