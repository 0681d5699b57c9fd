from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Int, Layer, need_rank, register_layer


@register_layer("adaptive_avg_pool1d")
class AdaptiveAvgPool1d(Layer):
    """Average pooling of (C, L) to a fixed length."""
    READS: ClassVar[str | None] = READS_CHANNELS

    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "output_size"
    EXAMPLES: ClassVar = [({"output_size": 3}, [(4, 10)]), ({"output_size": 2}, [(2, "T")])]

    output_size: Int = Field(default=1, ge=1, le=1 << 20)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_rank(ins[0], (2,), "a 2-D input (channels, length)")
        return TensorType((ins[0].shape[0], self.output_size), ins[0].dtype)

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.AdaptiveAvgPool1d(self.output_size)
