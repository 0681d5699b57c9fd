"""Convolutions (1-D, 2-D, 3-D, transposed), padding and cropping, upsampling, and the moves of
values between channels and space (pixel shuffle/unshuffle, channel shuffle)."""

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.sizes import (
    Size,
    conv_out,
    conv_transpose_out,
    divide,
    numeric_product,
    same_pad_total,
    size_product,
    sym_add,
    sym_mul,
    upsample_out,
)
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import (
    Bool,
    Ctx,
    Float,
    Int,
    IntPair,
    Layer,
    Padding,
    PadPair,
    Width,
    need_float,
    need_rank,
    option_error,
    pair,
    register_layer,
    sizes,
)

AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
IntTriple = sizes(3)  # kernel, stride, dilation of a 3-D window
PadTriple = sizes(3, low=0)


def check_size(size: Size, axis: str, kind: str, ctx: Ctx, stride: int) -> int | str:
    """Raise on a size <= 0; warn (or fail with --strict) when a stride drops pixels."""
    if isinstance(size.value, int) and size.value <= 0:
        raise ShapeError(f"{axis} {size.arithmetic} (the {kind} window is larger than its padded input); "
                         "hint: pad the input, or use a smaller kernel or stride")
    if size.dropped:
        what = {"height": "row", "width": "column"}.get(axis, "position")
        ctx.warn(f"{axis}: {size.arithmetic} is not a whole division: the last {size.dropped} input "
                 f"{what}{'s never reach' if size.dropped > 1 else ' never reaches'} a window (stride {stride}); "
                 "hint: adjust the padding or stride")
    return size.value


def size_tuple(v: Any, n: int) -> tuple[int, ...]:
    return (v,) * n if isinstance(v, int) else tuple(int(x) for x in v)


class ConvBase(Layer):
    """Shared rule of conv1d, conv2d and conv3d; ``N`` is the number of spatial axes."""

    N: ClassVar[int] = 2
    FAMILY: ClassVar[str] = "conv"
    PRIMARY: ClassVar[str] = "filters"

    filters: Int = Width
    kernel: IntPair = Field(default=3, description="kernel size: k or [kh, kw]")
    stride: IntPair = 1
    padding: Padding = Field(default=0, description="int, [ph, pw], 'same' or 'valid'")
    dilation: IntPair = 1
    groups: Int = Field(default=1, ge=1, le=1 << 20)
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> "ConvBase":
        if self.padding == "same" and any(s != 1 for s in self.strides):
            raise option_error("padding", "padding 'same' needs stride 1 in PyTorch; hint: for stride s use "
                               "padding (k - 1)//2 (the output is then ceil(n/s) for odd k)", self.padding)
        if self.filters % self.groups:
            raise option_error("groups", f"expected a divisor of filters ({self.filters}): each of the "
                               f"{self.groups} groups gets filters/groups filters", self.groups)
        return self

    @property
    def kernels(self) -> tuple[int, ...]:
        return size_tuple(self.kernel, self.N)

    @property
    def strides(self) -> tuple[int, ...]:
        return size_tuple(self.stride, self.N)

    @property
    def dilations(self) -> tuple[int, ...]:
        return size_tuple(self.dilation, self.N)

    @property
    def paddings(self) -> tuple[int, ...] | str:
        if self.padding == "valid":
            return (0,) * self.N
        if self.padding in ("same", "causal"):
            return str(self.padding)
        return size_tuple(self.padding, self.N)

    def in_channels(self, x: TensorType) -> int:
        need_rank(x, (self.N + 1,), f"a {self.N + 1}-D input ({'channels, ' + ', '.join(AXES[self.N])})",
                  "add a 'reshape' (e.g. [1, 28, 28]) or check the layer order")
        need_float(x, self.KIND)
        c = x.shape[0]
        if isinstance(c, str):
            raise ShapeError(f"the channel count must be fixed, got '{c}'")
        if c % self.groups:
            raise ShapeError(f"input channels ({c}) must be divisible by groups ({self.groups})")
        return c

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        self.in_channels(x)
        out = []
        pads = self.paddings
        for i, n in enumerate(x.shape[1:]):
            k, s, d = self.kernels[i], self.strides[i], self.dilations[i]
            if pads == "same":
                size = conv_out(n, k, 1, dilation=d, pad_total=same_pad_total(k, d))
            elif pads == "causal":  # d·(k − 1) zeros on the left: output t sees inputs ≤ t only
                size = conv_out(sym_add(n, same_pad_total(k, d)), k, s, 0, d)
            else:
                size = conv_out(n, k, s, pads[i], d)
            out.append(check_size(size, AXES[self.N][i], self.KIND, ctx, s))
        return TensorType((self.filters, *out))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[0])
        shapes = {"weight": (self.filters, c // self.groups, *self.kernels)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        c = int(ins[0].shape[0])
        return size_product(outs[0].shape) * (c // self.groups) * numeric_product(self.kernels)

    def receptive(self) -> list[tuple[int, int, int]]:
        return list(zip(self.kernels, self.strides, self.dilations))

    def label(self) -> str:
        k = "×".join(str(v) for v in self.kernels)
        s = "/" + "×".join(str(v) for v in dict.fromkeys(self.strides))
        return f"conv {k} ×{self.filters} {s}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        pads = self.paddings
        if pads == "causal":
            from netspec.layers.torch.conv import CausalConv1d

            return CausalConv1d(int(ins[0].shape[0]), self.filters, self.kernels, stride=self.strides,
                                dilation=self.dilations, groups=self.groups, bias=self.bias)
        cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[self.N]
        return cls(int(ins[0].shape[0]), self.filters, self.kernels, stride=self.strides,
                   padding=pads, dilation=self.dilations, groups=self.groups,
                   bias=self.bias)


@register_layer("conv2d", aliases=("conv",))
class Conv2d(ConvBase):
    """2-D convolution over (C, H, W): ``floor((n + 2p − d(k − 1) − 1)/s) + 1`` per axis."""

    N: ClassVar[int] = 2
    EXAMPLES: ClassVar = [
        ({"filters": 6, "kernel": 5}, [(1, 32, 32)]),
        ({"filters": 8, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2], "dilation": 2}, [(4, 17, 19)]),
        ({"filters": 8, "kernel": 3, "groups": 4, "bias": False, "padding": "same"}, [(4, 9, 10)]),
        ({"filters": 4, "kernel": 4, "padding": "same", "dilation": 2}, [(2, 9, 9)]),
    ]


@register_layer("conv1d")
class Conv1d(ConvBase):
    """1-D convolution over (C, L); the length may be symbolic; ``padding: causal`` sees only the past.

    Causal padding puts ``d·(k − 1)`` zeros on the left only, so output step t reads input steps ≤ t
    (WaveNet, temporal convolutional networks); at stride 1 the length is kept."""

    N: ClassVar[int] = 1
    EXAMPLES: ClassVar = [
        ({"filters": 6, "kernel": 5, "stride": 2}, [(1, 10)]),
        ({"filters": 4, "kernel": 3, "padding": "same"}, [(2, "T")]),
        ({"filters": 4, "kernel": 5, "stride": 2}, [(3, "T")]),
        ({"filters": 4, "kernel": 3, "padding": "causal", "dilation": 2}, [(2, "T")]),
        ({"filters": 3, "kernel": 4, "padding": "causal", "stride": 2, "bias": False}, [(2, 11)]),
    ]

    kernel: sizes(1) = Field(default=3, description="kernel size: k")  # type: ignore[valid-type]
    stride: sizes(1) = 1  # type: ignore[valid-type]
    dilation: sizes(1) = 1  # type: ignore[valid-type]
    padding: sizes(1, low=0, words=("same", "valid", "causal")) = Field(  # type: ignore[valid-type]
        default=0, description="int, 'same', 'valid' or 'causal' (d·(k − 1) zeros on the left)")


@register_layer("conv3d")
class Conv3d(ConvBase):
    """3-D convolution over (C, D, H, W): ``floor((n + 2p − d(k − 1) − 1)/s) + 1`` per axis."""

    N: ClassVar[int] = 3
    EXAMPLES: ClassVar = [
        ({"filters": 4, "kernel": 3}, [(2, 5, 6, 7)]),
        ({"filters": 6, "kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1], "groups": 2,
          "bias": False}, [(4, 3, 8, 9)]),
        ({"filters": 2, "kernel": 3, "padding": "same", "dilation": [1, 2, 1]}, [(3, 4, 6, 5)]),
    ]

    kernel: IntTriple = Field(default=3, description="kernel size: k or [kd, kh, kw]")
    stride: IntTriple = 1
    padding: sizes(3, low=0, words=("same", "valid")) = Field(  # type: ignore[valid-type]
        default=0, description="int, [pd, ph, pw], 'same' or 'valid'")
    dilation: IntTriple = 1


@register_layer("conv_transpose2d", aliases=("deconv2d", "conv2d_transpose"))
class ConvTranspose2d(Layer):
    """Transposed 2-D convolution: ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``."""

    FAMILY: ClassVar[str] = "conv"
    PRIMARY: ClassVar[str] = "filters"
    EXAMPLES: ClassVar = [
        ({"filters": 3, "kernel": 4, "stride": 2, "padding": 1}, [(8, 7, 7)]),
        ({"filters": 4, "kernel": [3, 2], "stride": 2, "output_padding": 1, "bias": False}, [(2, 5, 6)]),
    ]

    filters: Int = Width
    kernel: IntPair = 3
    stride: IntPair = 1
    padding: PadPair = 0
    output_padding: PadPair = 0
    dilation: IntPair = 1
    groups: Int = Field(default=1, ge=1)
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _check(self) -> "ConvTranspose2d":
        s, op, d = pair(self.stride), pair(self.output_padding), pair(self.dilation)
        if any(o >= max(a, b) for o, a, b in zip(op, s, d)):
            raise option_error("output_padding", f"expected output_padding smaller than the stride {self.stride} "
                               f"or the dilation {self.dilation} (PyTorch's rule)", self.output_padding)
        if self.filters % self.groups:
            raise option_error("groups", f"expected a divisor of filters ({self.filters}): each of the "
                               f"{self.groups} groups gets filters/groups filters", self.groups)
        return self

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        need_float(x, self.KIND)
        if int(x.shape[0]) % self.groups:
            raise ShapeError(f"input channels ({x.shape[0]}) must be divisible by groups ({self.groups})")
        out = []
        for i, n in enumerate(x.shape[1:]):
            size = conv_transpose_out(n, pair(self.kernel)[i], pair(self.stride)[i], pair(self.padding)[i],
                                      pair(self.output_padding)[i], pair(self.dilation)[i])
            out.append(check_size(size, AXES[2][i], self.KIND, ctx, 1))
        return TensorType((self.filters, *out))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shapes = {"weight": (int(ins[0].shape[0]), self.filters // self.groups, *pair(self.kernel))}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        # Every input position is multiplied by the whole (C_out/g)·k·k kernel slice.
        return size_product(ins[0].shape) * (self.filters // self.groups) * numeric_product(pair(self.kernel))

    def receptive(self) -> None:
        return None  # upsampling: the receptive-field recurrence does not apply

    def label(self) -> str:
        k = pair(self.kernel)
        return f"deconv {k[0]}×{k[1]} ×{self.filters} /{pair(self.stride)[0]}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ConvTranspose2d(int(ins[0].shape[0]), self.filters, pair(self.kernel), stride=pair(self.stride),
                                  padding=pair(self.padding), output_padding=pair(self.output_padding),
                                  groups=self.groups, bias=self.bias, dilation=pair(self.dilation))


@register_layer("zero_pad2d", aliases=("zero_padding2d", "zeropad2d"))
class ZeroPad2d(Layer):
    """Zero padding: p, [top/bottom, left/right] or [left, right, top, bottom] (PyTorch order)."""

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "padding"
    EXAMPLES: ClassVar = [({"padding": 2}, [(1, 28, 28)]), ({"padding": [1, 2, 3, 4]}, [(2, 5, 6)])]

    padding: sizes((1, 2, 4), low=0) = Field(  # type: ignore[valid-type]
        default=1, description="p, [vertical, horizontal] or [left, right, top, bottom]")

    @property
    def lrtb(self) -> tuple[int, int, int, int]:
        return _lrtb(self.padding)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        from netspec.core.sizes import sym_add

        left, right, top, bottom = self.lrtb
        return TensorType((x.shape[0], sym_add(x.shape[1], top + bottom), sym_add(x.shape[2], left + right)), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(1, 1, 1), (1, 1, 1)]

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ZeroPad2d(self.lrtb)


@register_layer("upsample", aliases=("upsample2d", "upsampling2d"))
class Upsample(Layer):
    """Upsampling of (C, H, W) by ``scale`` (nearest or bilinear)."""

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "scale"
    EXAMPLES: ClassVar = [({"scale": 2}, [(3, 5, 7)]), ({"scale": 1.5, "mode": "bilinear"}, [(2, 4, 6)])]

    scale: Float = Field(default=2.0, gt=0, le=64)
    mode: Literal["nearest", "bilinear"] = "nearest"

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        need_float(x, self.KIND)
        sizes = []
        for axis, n in zip(AXES[2], x.shape[1:]):
            size = upsample_out(n, self.scale)
            if isinstance(size.value, int) and size.value < 1:
                raise ShapeError(f"{axis} {size.arithmetic}: upsampling by {self.scale:g} leaves no {axis}; "
                                 f"hint: a scale below 1 needs an input of at least {math.ceil(1 / self.scale)}")
            sizes.append(size.value)
        return TensorType((x.shape[0], *sizes))

    def receptive(self) -> None:
        return None

    def label(self) -> str:
        return f"upsample ×{self.scale:g}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Upsample(scale_factor=self.scale, mode=self.mode)


def _lrtb(p: int | list[int]) -> tuple[int, int, int, int]:
    """p, [vertical, horizontal] or [left, right, top, bottom] as (left, right, top, bottom)."""
    if isinstance(p, int):
        return (p, p, p, p)
    if len(p) == 1:
        return (p[0],) * 4
    if len(p) == 2:
        return (p[1], p[1], p[0], p[0])
    return (p[0], p[1], p[2], p[3])


@register_layer("crop2d", aliases=("cropping2d",))
class Crop2d(Layer):
    """Cropping of (C, H, W): c, [vertical, horizontal] or [left, right, top, bottom] cut off.

    The inverse of zero_pad2d, in its order (PyTorch's padding order)."""

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "cropping"
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"cropping": 2}, [(3, 10, 10)]), ({"cropping": [1, 2, 0, 3]}, [(2, 8, 9)]),
                          ({"cropping": [1, 0]}, [(1, 5, 4)])]

    cropping: sizes((1, 2, 4), low=0) = Field(  # type: ignore[valid-type]
        default=1, description="c, [vertical, horizontal] or [left, right, top, bottom]")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        left, right, top, bottom = _lrtb(self.cropping)
        out = []
        for axis, n, cut in (("height", x.shape[1], top + bottom), ("width", x.shape[2], left + right)):
            size = sym_add(n, -cut)
            if isinstance(size, int) and size < 1:
                raise ShapeError(f"{axis}: cropping {cut} of {n} leaves {size}; hint: crop less")
            out.append(size)
        return TensorType((x.shape[0], *out), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(1, 1, 1), (1, 1, 1)]

    def label(self) -> str:
        return "crop"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.conv import Crop2d as TorchCrop2d

        return TorchCrop2d(_lrtb(self.cropping))


class ShuffleBase(Layer):
    """Moves values between channels and space; ``factor`` is r."""

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "factor"
    SHAPE_ONLY: ClassVar[bool] = True
    INPUT_DTYPE: ClassVar[str] = "any"

    factor: Int = Field(default=2, ge=1, le=64,
                        description="r: each spatial axis grows (shuffle) or shrinks (unshuffle) r times")

    def checked(self, size: Size, what: str, x: TensorType) -> Any:
        if not size.exact:
            raise ShapeError(f"{self.KIND} by {self.factor} needs {what} divisible by {self.factor}"
                             f"{'²' if what == 'channels' else ''}, got {x} ({size.arithmetic})")
        return size.value

    def label(self) -> str:
        return f"{self.KIND} ×{self.factor}"


@register_layer("pixel_shuffle")
class PixelShuffle(ShuffleBase):
    """Sub-pixel upsampling (Shi et al. 2016): (C·r², H, W) → (C, H·r, W·r), as ``nn.PixelShuffle``."""

    EXAMPLES: ClassVar = [({"factor": 2}, [(8, 3, 4)]), ({"factor": 3}, [(9, 2, 2)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        c = self.checked(divide(x.shape[0], self.factor ** 2), "channels", x)
        return TensorType((c, sym_mul(x.shape[1], self.factor), sym_mul(x.shape[2], self.factor)), x.dtype)

    def receptive(self) -> None:
        return None  # upsampling

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.PixelShuffle(self.factor)


@register_layer("pixel_unshuffle")
class PixelUnshuffle(ShuffleBase):
    """The inverse of pixel_shuffle: (C, H·r, W·r) → (C·r², H, W), as ``nn.PixelUnshuffle``."""

    EXAMPLES: ClassVar = [({"factor": 2}, [(3, 6, 8)]), ({"factor": 4}, [(1, 8, 4)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        h, w = (self.checked(divide(n, self.factor), axis, x) for axis, n in zip(AXES[2], x.shape[1:]))
        return TensorType((sym_mul(x.shape[0], self.factor ** 2), h, w), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(self.factor, self.factor, 1)] * 2

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.PixelUnshuffle(self.factor)


@register_layer("channel_shuffle")
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle of (C, ...): the channels as a (groups, C/groups) grid, transposed.

    As ``nn.ChannelShuffle``: the next grouped convolution then reads from every group."""

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "groups"
    SHAPE_ONLY: ClassVar[bool] = True
    ELEMENTWISE: ClassVar[bool] = True
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"groups": 2}, [(6, 4, 4)]), ({"groups": 3}, [(6, "T")])]

    groups: Int = Field(default=2, ge=1, le=1 << 20)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input")
        if not divide(x.shape[0], self.groups).exact or isinstance(x.shape[0], str):
            raise ShapeError(f"{self.KIND} needs the channels of {x} to be a fixed multiple of groups "
                             f"({self.groups})")
        return x

    def label(self) -> str:
        return f"channel shuffle ({self.groups} group{'s' if self.groups != 1 else ''})"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.ChannelShuffle(self.groups)
