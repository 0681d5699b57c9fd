from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Int, Layer, register_layer


@register_layer("repeat_vector")
class RepeatVector(Layer):
    """Feed one vector at every time step (vector-to-sequence): ``(F,)`` → ``(n, F)``."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    FEATURES_LAST: ClassVar[bool] = True
    PRIMARY: ClassVar[str] = "n"
    EXAMPLES: ClassVar = [({"n": 4}, [(3,)]), ({"n": 1}, [(5,)])]

    n: Int = Field(ge=1, le=1 << 20, description="number of time steps")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if x.rank != 1:
            raise ShapeError(f"repeat_vector repeats one feature vector (F,), got shape {x}; hint: reduce the "
                             "sequence to a vector first (return_sequences: false, or sequence_pool)")
        return TensorType((self.n, x.shape[0]), x.dtype)

    def label(self) -> str:
        return f"repeat ×{self.n}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import RepeatVector as TorchRepeat

        return TorchRepeat(self.n)
