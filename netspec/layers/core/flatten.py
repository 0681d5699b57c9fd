from typing import Any, ClassVar

from netspec.core.sizes import product
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Layer, register_layer


@register_layer("flatten")
class Flatten(Layer):
    """Flattens everything but the batch axis."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    EXAMPLES: ClassVar = [({}, [(3, 4, 5)]), ({}, [(6,)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return TensorType((product(ins[0].shape),), ins[0].dtype)

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Flatten()
