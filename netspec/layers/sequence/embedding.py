from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Int, Layer, Width, need_rank, number, option_error, register_layer


@register_layer("embedding")
class Embedding(Layer):
    """Lookup table: token ids ``(T,)`` (long) → vectors ``(T, dim)``; ``padding_idx`` rows stay zero."""

    FAMILY: ClassVar[str] = "embedding"
    FEATURES_LAST: ClassVar[bool] = True
    INPUT_DTYPE: ClassVar[str] = "long"
    EXAMPLES: ClassVar = [({"vocab": 20, "dim": 4}, [(7,)]), ({"vocab": 10, "dim": 3, "padding_idx": 0}, [("T",)]),
                          ({"vocab": 5, "dim": 2}, [(3, 4)])]

    vocab: Int = Field(ge=1, le=1 << 26, description="vocabulary size (number of rows)")
    dim: Int = Width
    padding_idx: number(int, ge=0) | None = Field(  # type: ignore[valid-type]
        default=None, description="this id maps to a zero vector, never trained")

    @model_validator(mode="after")
    def _check(self) -> "Embedding":
        if self.padding_idx is not None and self.padding_idx >= self.vocab:
            raise option_error("padding_idx", f"expected an id smaller than vocab ({self.vocab})", self.padding_idx)
        return self

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (1, 2, 3), "token ids (T,) or (..., T)")
        return TensorType((*x.shape, self.dim))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.vocab, self.dim)}

    def label(self) -> str:
        return f"embedding {self.vocab}→{self.dim}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Embedding(self.vocab, self.dim, padding_idx=self.padding_idx)
