"""The shared rule of ``batchnorm1d``, ``batchnorm2d`` and ``batchnorm3d``."""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Bool, Ctx, Float, Layer, need_float, need_rank
from netspec.layers.norm.axes import channels


class BatchNormBase(Layer):
    """Normalizes each channel over the batch (and spatial axes); affine γ, β per channel."""

    RANKS: ClassVar[tuple[int, ...]] = (3,)
    MODULE: ClassVar[str] = "BatchNorm2d"
    SHAPES: ClassVar[str] = "(C, H, W)"
    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    BATCH_STATS: ClassVar[bool] = True
    READS: ClassVar[str | None] = READS_CHANNELS
    LAYOUT_HINT: ClassVar[str] = "layernorm normalizes the features of a sequence at each position"
    LAYOUT_VERB: ClassVar[str] = "normalizes"

    eps: Float = Field(default=1e-5, gt=0)
    momentum: Float = Field(default=0.1, ge=0, le=1)
    affine: Bool = True

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, self.RANKS, f"a {self.SHAPES} input",
                  "batchnorm1d is for (C,)/(C, L), batchnorm2d for images, batchnorm3d for volumes")
        need_float(x, self.KIND)
        channels(x)
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

        return getattr(nn, self.MODULE)(int(ins[0].shape[0]), eps=self.eps, momentum=self.momentum, affine=self.affine)
