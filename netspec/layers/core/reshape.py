from typing import Any, ClassVar

from pydantic import Field, field_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import numeric_product
from netspec.core.types import TensorType, fmt_shape
from netspec.layers.base import Ctx, Int, Layer, register_layer


@register_layer("reshape")
class Reshape(Layer):
    """Reshape each sample; one entry may be -1 (inferred)."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "shape"
    EXAMPLES: ClassVar = [({"shape": [2, 6]}, [(12,)]), ({"shape": [-1, 4]}, [(2, 3, 4)])]

    shape: list[Int] = Field(min_length=1, max_length=8)

    @field_validator("shape")
    @classmethod
    def _check(cls, v: list[int]) -> list[int]:
        if sum(1 for d in v if d == -1) > 1 or any(d == 0 or d < -1 for d in v):
            raise ValueError("entries must be positive, with at most one -1")
        return v

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if any(isinstance(d, str) for d in x.shape):
            raise ShapeError(f"reshape needs a fixed input shape, got {x}")
        total = numeric_product(x.shape)
        known = numeric_product([d for d in self.shape if d != -1])
        if -1 in self.shape:
            if total % known:
                raise ShapeError(f"cannot reshape {x} ({total} values) to {fmt_shape(self.shape)}: "
                                 f"{total} is not divisible by {known}", option="shape")
            return TensorType(tuple(total // known if d == -1 else d for d in self.shape), x.dtype)
        if known != total:
            raise ShapeError(f"cannot reshape {x} ({total} values) to {fmt_shape(self.shape)} ({known} values)",
                             option="shape")
        return TensorType(tuple(self.shape), x.dtype)

    def label(self) -> str:
        return f"reshape {fmt_shape(self.shape)}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.core import Reshape as TorchReshape

        return TorchReshape(tuple(self.shape))
