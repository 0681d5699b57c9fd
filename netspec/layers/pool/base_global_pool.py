"""The shared rule of ``global_avg_pool`` and ``global_max_pool``."""

from typing import Any, ClassVar

from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Layer, need_rank


class GlobalPoolBase(Layer):
    """Pools every axis after the channels away: (C, ...) → (C,)."""

    MODE: ClassVar[str] = "avg"
    FAMILY: ClassVar[str] = "pool"
    READS: ClassVar[str | None] = READS_CHANNELS  # keeps axis 0 and pools the rest
    LAYOUT_HINT: ClassVar[str] = "sequence_pool pools a (T, F) sequence over T"
    EXAMPLES: ClassVar = [({}, [(8, 7, 7)]), ({}, [(5, 9)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input")
        return TensorType((x.shape[0],), x.dtype)

    def label(self) -> str:
        return f"global {self.MODE}pool"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.pool import GlobalPool

        return GlobalPool(self.MODE, ins[0].rank)
