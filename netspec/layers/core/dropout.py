from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Bool, Ctx, Float, Layer, need_rank, register_layer


@register_layer("dropout")
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of activations in training; identity in eval."""

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "rate"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"rate": 0.5}, [(10,)]), ({"rate": 0.2, "spatial": True}, [(3, 8, 8)]),
                          ({"rate": 0.3, "spatial": True}, [(4, 3, 5, 5)])]

    rate: Float = Field(default=0.5, ge=0.0, lt=1.0)
    spatial: Bool = Field(default=False, description="drop whole channels (Dropout1d/2d/3d)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if self.spatial:
            need_rank(ins[0], (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input for spatial dropout")
        return ins[0]

    def reads(self) -> str | None:
        """Spatial dropout drops whole rows of axis 0, its channels (of a sequence: whole steps, not features)."""
        return READS_CHANNELS if self.spatial else None

    def label(self) -> str:
        return f"dropout {self.rate:g}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        if self.spatial:
            return {2: nn.Dropout1d, 3: nn.Dropout2d, 4: nn.Dropout3d}[ins[0].rank](self.rate)
        return nn.Dropout(self.rate)
