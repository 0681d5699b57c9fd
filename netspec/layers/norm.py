"""Normalization layers. Batch-norm running statistics are buffers, not parameters (as in PyTorch)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Layer, need_float, need_rank, register_layer


class BatchNormBase(Layer):
    """Normalizes each channel over the batch (and spatial axes); affine γ, β per channel."""

    RANKS: ClassVar[tuple[int, ...]] = (3,)
    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True

    eps: float = Field(default=1e-5, gt=0)
    momentum: float = Field(default=0.1, ge=0, le=1)
    affine: bool = True

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        what = {(1, 2): "(C,) or (C, L)", (3,): "(C, H, W)"}[self.RANKS]
        need_rank(x, self.RANKS, f"a {what} input", "batchnorm1d is for (C,)/(C, L), batchnorm2d for images")
        need_float(x, self.KIND)
        if isinstance(x.shape[0], str):
            raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'")
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"weight": (c,), "bias": (c,)} if self.affine else {}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"running_mean": (c,), "running_var": (c,), "num_batches_tracked": ()}

    def buffer_dtype(self, name: str) -> str:
        return "long" if name == "num_batches_tracked" else "float"

    def label(self) -> str:
        return "batchnorm"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        cls = nn.BatchNorm2d if self.RANKS == (3,) else nn.BatchNorm1d
        return cls(int(ins[0].shape[0]), eps=self.eps, momentum=self.momentum, affine=self.affine)


@register_layer("batchnorm2d", aliases=("batch_norm2d", "bn2d", "batchnorm"))
class BatchNorm2d(BatchNormBase):
    """Batch normalization of (C, H, W)."""

    EXAMPLES: ClassVar = [({}, [(6, 5, 5)]), ({"affine": False}, [(3, 4, 4)])]


@register_layer("batchnorm1d", aliases=("batch_norm1d", "bn1d"))
class BatchNorm1d(BatchNormBase):
    """Batch normalization of (C,) features or (C, L) sequences."""

    RANKS: ClassVar[tuple[int, ...]] = (1, 2)
    EXAMPLES: ClassVar = [({}, [(20,)]), ({"momentum": 0.01}, [(4, 9)])]


@register_layer("layernorm", aliases=("layer_norm",))
class LayerNorm(Layer):
    """Normalizes over the last ``axes`` axes of each sample."""

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(7,)]), ({"axes": 2}, [(3, 4, 5)]), ({"affine": False}, [("T", 8)])]

    axes: int = Field(default=1, ge=1, le=8, description="how many trailing axes to normalize over")
    eps: float = Field(default=1e-5, gt=0)
    affine: bool = True

    def normalized(self, x: TensorType) -> tuple[int, ...]:
        if x.rank < self.axes:
            raise ShapeError(f"layernorm over {self.axes} axes needs a rank ≥ {self.axes} input, got {x}")
        dims = x.shape[-self.axes:]
        if any(isinstance(d, str) for d in dims):
            raise ShapeError(f"layernorm axes must be fixed sizes, got {x}")
        return tuple(int(d) for d in dims)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.normalized(ins[0])
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shape = self.normalized(ins[0])
        return {"weight": shape, "bias": shape} if self.affine else {}

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.LayerNorm(self.normalized(ins[0]), eps=self.eps, elementwise_affine=self.affine)

