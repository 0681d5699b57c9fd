"""Normalization layers. Batch-norm running statistics are buffers, not parameters (as in PyTorch)."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import (
    Bool,
    Ctx,
    Float,
    Int,
    Layer,
    need_float,
    need_rank,
    number,
    option_error,
    register_layer,
)


def trailing_axes(x: TensorType, axes: int, kind: str) -> tuple[int, ...]:
    """The sizes of the last ``axes`` axes, which layer and RMS norms normalize over (fixed sizes only)."""
    if x.rank < axes:
        raise ShapeError(f"{kind} over axes: {axes} trailing axes needs an input of rank ≥ {axes}, got {x} of rank "
                         f"{x.rank}: expected axes 1..{x.rank} (per-sample axes; the batch is never normalized here)")
    dims = x.shape[-axes:]
    if any(isinstance(d, str) for d in dims):
        raise ShapeError(f"{kind} axes must be fixed sizes, got {x}")
    return tuple(int(d) for d in dims)


def _channels(x: TensorType) -> int:
    if isinstance(x.shape[0], str):
        raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'")
    return int(x.shape[0])


class BatchNormBase(Layer):
    """Normalizes each channel over the batch (and spatial axes); affine γ, β per channel."""

    RANKS: ClassVar[tuple[int, ...]] = (3,)
    MODULE: ClassVar[str] = "BatchNorm2d"
    SHAPES: ClassVar[str] = "(C, H, W)"
    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True

    eps: Float = Field(default=1e-5, gt=0)
    momentum: Float = Field(default=0.1, ge=0, le=1)
    affine: Bool = True

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, self.RANKS, f"a {self.SHAPES} input",
                  "batchnorm1d is for (C,)/(C, L), batchnorm2d for images, batchnorm3d for volumes")
        need_float(x, self.KIND)
        _channels(x)
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


@register_layer("batchnorm2d", aliases=("batch_norm2d", "bn2d", "batchnorm"))
class BatchNorm2d(BatchNormBase):
    """Batch normalization of (C, H, W)."""

    EXAMPLES: ClassVar = [({}, [(6, 5, 5)]), ({"affine": False}, [(3, 4, 4)])]


@register_layer("batchnorm1d", aliases=("batch_norm1d", "bn1d"))
class BatchNorm1d(BatchNormBase):
    """Batch normalization of (C,) features or (C, L) sequences."""

    RANKS: ClassVar[tuple[int, ...]] = (1, 2)
    MODULE: ClassVar[str] = "BatchNorm1d"
    SHAPES: ClassVar[str] = "(C,) or (C, L)"
    EXAMPLES: ClassVar = [({}, [(20,)]), ({"momentum": 0.01}, [(4, 9)])]


@register_layer("batchnorm3d", aliases=("batch_norm3d", "bn3d"))
class BatchNorm3d(BatchNormBase):
    """Batch normalization of (C, D, H, W) volumes."""

    RANKS: ClassVar[tuple[int, ...]] = (4,)
    MODULE: ClassVar[str] = "BatchNorm3d"
    SHAPES: ClassVar[str] = "(C, D, H, W)"
    EXAMPLES: ClassVar = [({}, [(4, 3, 5, 5)]), ({"affine": False, "eps": 1e-3}, [(2, 2, 3, 4)])]


@register_layer("layernorm", aliases=("layer_norm",))
class LayerNorm(Layer):
    """Normalizes over the last ``axes`` axes of each sample, or with ``channels_first`` over the channels.

    ``channels_first: true`` normalizes the channels of (C, L), (C, H, W) or (C, D, H, W) at every
    position (ConvNeXt's LayerNorm2d); its weight and bias are (C,)."""

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(7,)]), ({"axes": 2}, [(3, 4, 5)]), ({"affine": False}, [("T", 8)]),
                          ({"channels_first": True, "eps": 1e-6}, [(6, 5, 4)]),
                          ({"channels_first": True, "affine": False}, [(3, "T")])]

    axes: Int = Field(default=1, ge=1, le=8, description="how many trailing axes to normalize over")
    eps: Float = Field(default=1e-5, gt=0)
    affine: Bool = True
    channels_first: Bool = Field(default=False, description="normalize over the channels (axis 0) of "
                                 "(C, ...) at every position, as ConvNeXt's LayerNorm2d; params (C,)")

    @model_validator(mode="after")
    def _check(self) -> "LayerNorm":
        if self.channels_first and self.axes != 1:
            raise option_error("axes", "expected 1 with channels_first, which normalizes over the one channel "
                               "axis; hint: leave axes out", self.axes)
        return self

    def normalized(self, x: TensorType) -> tuple[int, ...]:
        if self.channels_first:
            need_rank(x, (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input for channels_first",
                      "a (F,) feature vector is normalized by a plain layernorm")
            return (_channels(x),)
        return trailing_axes(x, self.axes, self.KIND)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.normalized(ins[0])
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shape = self.normalized(ins[0])
        return {"weight": shape, "bias": shape} if self.affine else {}

    def label(self) -> str:
        return f"{self.KIND} (channels)" if self.channels_first else self.KIND

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        if self.channels_first:
            from netspec.layers.torch.norm import ChannelLayerNorm

            return ChannelLayerNorm(self.normalized(ins[0]), eps=self.eps, elementwise_affine=self.affine)
        return nn.LayerNorm(self.normalized(ins[0]), eps=self.eps, elementwise_affine=self.affine)


@register_layer("rms_norm", aliases=("rmsnorm",))
class RMSNorm(Layer):
    """Root-mean-square normalization over the last ``axes`` axes: ``x / rms(x) · γ`` (``nn.RMSNorm``).

    No centring and no bias; ``eps`` defaults to the dtype's machine epsilon, as in torch."""

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(8,)]), ({"axes": 2, "eps": 1e-6}, [(3, 4, 5)]), ({"affine": False}, [("T", 6)])]

    axes: Int = Field(default=1, ge=1, le=8, description="how many trailing axes to normalize over")
    eps: number(float, gt=0) | None = Field(default=None, description="default: the dtype's machine epsilon")
    affine: Bool = Field(default=True, description="a learned per-element scale γ (named weight)")

    def normalized(self, x: TensorType) -> tuple[int, ...]:
        return trailing_axes(x, self.axes, self.KIND)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.normalized(ins[0])
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"weight": self.normalized(ins[0])} if self.affine else {}

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.RMSNorm(self.normalized(ins[0]), eps=self.eps, elementwise_affine=self.affine)


@register_layer("group_norm", aliases=("groupnorm",))
class GroupNorm(Layer):
    """Group normalization (Wu & He 2018): each of ``groups`` channel groups over its channels and positions.

    Affine γ, β per channel. groups = 1 normalizes each sample over everything; groups = C is
    instance normalization with an affine transform."""

    FAMILY: ClassVar[str] = "norm"
    PRIMARY: ClassVar[str] = "groups"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"groups": 2}, [(6, 5, 5)]), ({"groups": 1, "affine": False}, [(4, 7)]),
                          ({"groups": 4, "eps": 1e-6}, [(8,)]), ({"groups": 3}, [(3, "T")])]

    groups: Int = Field(ge=1, le=1 << 20, description="number of channel groups; must divide the channels")
    eps: Float = Field(default=1e-5, gt=0)
    affine: Bool = True

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (1, 2, 3, 4), "a (C, ...) input")
        need_float(x, self.KIND)
        c = _channels(x)
        if c % self.groups:
            raise ShapeError(f"{self.KIND}: channels ({c}) must be divisible by groups ({self.groups})")
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"weight": (c,), "bias": (c,)} if self.affine else {}

    def label(self) -> str:
        return f"groupnorm ({self.groups} group{'s' if self.groups != 1 else ''})"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.GroupNorm(self.groups, int(ins[0].shape[0]), eps=self.eps, affine=self.affine)


@register_layer("instance_norm2d", aliases=("instancenorm2d", "instance_norm"))
class InstanceNorm2d(Layer):
    """Instance normalization of (C, H, W): each channel of each sample over its H·W positions.

    As ``nn.InstanceNorm2d``: no affine transform and no running statistics unless asked for."""

    FAMILY: ClassVar[str] = "norm"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 6, 6)]), ({"affine": True}, [(4, 5, 7)]),
                          ({"affine": True, "track_running_stats": True, "momentum": 0.2}, [(2, 4, 4)])]

    eps: Float = Field(default=1e-5, gt=0)
    momentum: Float = Field(default=0.1, ge=0, le=1)
    affine: Bool = Field(default=False, description="learned γ, β per channel")
    track_running_stats: Bool = Field(default=False, description="keep running mean/variance for eval, as batch norm")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a (C, H, W) input")
        need_float(x, self.KIND)
        _channels(x)
        return x

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        return {"weight": (c,), "bias": (c,)} if self.affine else {}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        if not self.track_running_stats:
            return {}
        return {"running_mean": (c,), "running_var": (c,), "num_batches_tracked": ()}

    def label(self) -> str:
        return "instancenorm"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.InstanceNorm2d(int(ins[0].shape[0]), eps=self.eps, momentum=self.momentum, affine=self.affine,
                                 track_running_stats=self.track_running_stats)

