"""Pooling: max/average 1-D, 2-D and 3-D, global and adaptive."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import conv_out
from netspec.core.types import TensorType
from netspec.layers.base import (
    MAX_KERNEL,
    Bool,
    Ctx,
    Int,
    IntPair,
    Layer,
    PadPair,
    need_rank,
    option_error,
    register_layer,
)
from netspec.layers.conv import AXES, IntTriple, PadTriple, check_size, size_tuple


class PoolBase(Layer):
    """Max/average pooling; the stride defaults to the kernel, as in PyTorch and Keras."""

    N: ClassVar[int] = 2
    MODE: ClassVar[str] = "max"
    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "kernel"

    kernel: IntPair = 2
    stride: IntPair | None = Field(default=None, description="default: the kernel size")
    padding: PadPair = 0
    ceil_mode: Bool = False

    @model_validator(mode="after")
    def _check(self) -> "PoolBase":
        if any(2 * p > k for p, k in zip(self.paddings, self.kernels)):
            raise option_error("padding", f"padding {self.padding} must be at most half the kernel {self.kernel} "
                               "(PyTorch's rule)", self.padding)
        return self

    @property
    def kernels(self) -> tuple[int, ...]:
        return size_tuple(self.kernel, self.N)

    @property
    def strides(self) -> tuple[int, ...]:
        return self.kernels if self.stride is None else size_tuple(self.stride, self.N)

    @property
    def paddings(self) -> tuple[int, ...]:
        return size_tuple(self.padding, self.N)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (self.N + 1,), f"a {self.N + 1}-D input (channels, {', '.join(AXES[self.N])})")
        out = [check_size(conv_out(n, k, s, p, 1, self.ceil_mode), AXES[self.N][i], self.KIND, ctx, s)
               for i, (n, k, s, p) in enumerate(zip(x.shape[1:], self.kernels, self.strides, self.paddings))]
        return TensorType((x.shape[0], *out), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(k, s, 1) for k, s in zip(self.kernels, self.strides)]

    def label(self) -> str:
        k = "×".join(str(v) for v in self.kernels)
        return f"{self.MODE}pool {k} /{'×'.join(str(v) for v in dict.fromkeys(self.strides))}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        name = ("Max" if self.MODE == "max" else "Avg") + f"Pool{self.N}d"
        return getattr(nn, name)(self.kernels, stride=self.strides, padding=self.paddings, ceil_mode=self.ceil_mode)


@register_layer("max_pool2d", aliases=("maxpool2d", "maxpool", "max_pool"))
class MaxPool2d(PoolBase):
    """2-D max pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    EXAMPLES: ClassVar = [({"kernel": 2}, [(6, 28, 28)]), ({"kernel": 3, "stride": 2}, [(96, 55, 55)]),
                          ({"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [(4, 10, 11)])]


@register_layer("avg_pool2d", aliases=("avgpool2d", "avgpool", "avg_pool"))
class AvgPool2d(PoolBase):
    """2-D average pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    MODE: ClassVar[str] = "avg"
    EXAMPLES: ClassVar = [({"kernel": 2, "stride": 2}, [(6, 28, 28)]),
                          ({"kernel": [3, 2], "ceil_mode": True}, [(2, 7, 9)])]


@register_layer("max_pool1d", aliases=("maxpool1d",))
class MaxPool1d(PoolBase):
    """1-D max pooling over (C, L)."""

    N: ClassVar[int] = 1
    EXAMPLES: ClassVar = [({"kernel": 2}, [(4, 11)]), ({"kernel": 3, "stride": 2}, [(4, "T")])]


@register_layer("avg_pool1d", aliases=("avgpool1d",))
class AvgPool1d(PoolBase):
    """1-D average pooling over (C, L)."""

    N: ClassVar[int] = 1
    MODE: ClassVar[str] = "avg"
    EXAMPLES: ClassVar = [({"kernel": 3, "stride": 1, "padding": 1}, [(4, 9)])]


class Pool3dBase(PoolBase):
    """Max/average pooling over (C, D, H, W): sizes are one value or three."""

    N: ClassVar[int] = 3

    kernel: IntTriple = 2
    stride: IntTriple | None = Field(default=None, description="default: the kernel size")
    padding: PadTriple = 0


@register_layer("max_pool3d", aliases=("maxpool3d",))
class MaxPool3d(Pool3dBase):
    """3-D max pooling: ``floor((n + 2p − k)/s) + 1`` per axis (ceil in ceil_mode)."""

    EXAMPLES: ClassVar = [({"kernel": 2}, [(3, 4, 6, 6)]),
                          ({"kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}, [(2, 3, 7, 8)])]


@register_layer("avg_pool3d", aliases=("avgpool3d",))
class AvgPool3d(Pool3dBase):
    """3-D average pooling over (C, D, H, W)."""

    MODE: ClassVar[str] = "avg"
    EXAMPLES: ClassVar = [({"kernel": 2, "stride": 2}, [(3, 4, 6, 6)]),
                          ({"kernel": 3, "stride": 2, "ceil_mode": True}, [(2, 5, 6, 7)])]


class GlobalPoolBase(Layer):
    """Pools every axis after the channels away: (C, ...) → (C,)."""

    MODE: ClassVar[str] = "avg"
    FAMILY: ClassVar[str] = "pool"
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


@register_layer("global_avg_pool", aliases=("global_average_pooling2d", "gap", "global_avg_pool2d"))
class GlobalAvgPool(GlobalPoolBase):
    """Global average pooling."""


@register_layer("global_max_pool", aliases=("global_max_pooling2d", "global_max_pool2d"))
class GlobalMaxPool(GlobalPoolBase):
    """Global max pooling."""

    MODE: ClassVar[str] = "max"


@register_layer("adaptive_avg_pool2d", aliases=("adaptive_avgpool2d",))
class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed output size (as torchvision's AlexNet/VGG heads)."""

    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "output_size"
    EXAMPLES: ClassVar = [({"output_size": 6}, [(4, 13, 13)]), ({"output_size": [2, 3]}, [(3, 5, 7)]),
                          ({"output_size": [None, 1]}, [(3, 5, 7)])]

    output_size: Int | tuple[Int | None, Int | None] = Field(
        default=1, description="output (height, width); null keeps that axis's input size, as torch does")

    def sizes(self, x: TensorType) -> tuple[Any, Any]:
        """The output (height, width): ``null`` keeps the input's size on that axis."""
        pair_ = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return tuple(n if v is None else v for v, n in zip(pair_, x.shape[1:]))  # type: ignore[return-value]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        if any(v is not None and not 1 <= v <= MAX_KERNEL for v in raw):
            raise ShapeError(f"output_size must be between 1 and {MAX_KERNEL} (or null), got {self.output_size}")
        return TensorType((x.shape[0], *self.sizes(x)), x.dtype)

    def label(self) -> str:
        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return "adaptive avgpool → " + "×".join("·" if v is None else str(v) for v in raw)

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return nn.AdaptiveAvgPool2d(tuple(raw))


@register_layer("adaptive_avg_pool1d")
class AdaptiveAvgPool1d(Layer):
    """Average pooling of (C, L) to a fixed length."""

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

