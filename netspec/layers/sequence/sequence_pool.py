from typing import Any, ClassVar, Literal

from netspec.core.types import TensorType
from netspec.layers.base import READS_STEPS, Ctx, Layer, need_rank, register_layer


@register_layer("sequence_pool", aliases=("seq_pool",))
class SequencePool(Layer):
    """Reduce the time axis: ``(T, F)`` → ``(F,)`` by the last or first step, the mean or the max."""

    FAMILY: ClassVar[str] = "pool"
    READS: ClassVar[str | None] = READS_STEPS
    PRIMARY: ClassVar[str] = "mode"
    EXAMPLES: ClassVar = [({"mode": "last"}, [(5, 3)]), ({"mode": "mean"}, [("T", 4)]), ({"mode": "max"}, [(2, 6)]),
                          ({"mode": "first"}, [(3, 2, 2)])]

    mode: Literal["last", "first", "mean", "max"] = "last"

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (2, 3, 4), "a sequence (T, F) (time first)")
        return TensorType(x.shape[1:], x.dtype)

    def label(self) -> str:
        return f"{self.mode} step" if self.mode in ("last", "first") else f"{self.mode} over time"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import SequencePool as TorchPool

        return TorchPool(self.mode)
