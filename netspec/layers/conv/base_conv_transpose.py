"""The shared rule of ``conv_transpose1d``, ``conv_transpose2d`` and ``conv_transpose3d``."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.fmt import show
from netspec.core.sizes import conv_transpose_out, numeric_product, size_product
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, PadPair, option_error
from netspec.layers.conv.base_conv import ConvBase
from netspec.layers.conv.window import AXES, axis_option, check_size, size_tuple
from netspec.layers.pool.padding_words import raise_padding_word, raw_sizes


class ConvTransposeBase(ConvBase):
    """Transposed convolution over ``N`` spatial axes, PyTorch's ``ConvTransposeNd``: per axis
    ``(n − 1)s − 2p + d(k − 1) + output_padding + 1``. The channels, kernel, stride, dilation and groups
    are read as a convolution's (:class:`ConvBase`); the padding is a number per axis (no 'same')."""

    N: ClassVar[int] = 2

    padding: PadPair = Field(default=0, description="zeros taken off each end: p or [ph, pw]")
    output_padding: PadPair = Field(default=0, description="extra size at the end of each axis: less than the "
                                                           "stride or the dilation")

    @model_validator(mode="before")
    @classmethod
    def _padding_word(cls, data: Any) -> Any:
        """``padding: same`` or ``valid`` (conv2d's words) on a transposed convolution, which takes numbers:
        the hint gives the numbers that mean the word here (Keras's Conv2DTranspose: n·s for 'same')."""
        word = data.get("padding") if isinstance(data, dict) else None
        if word not in ("same", "valid"):
            return data
        if word == "valid":
            return raise_padding_word(word, "'valid' is no padding: padding: 0 (the default)")
        k, s, d = (raw_sizes(data.get(key, 1), cls.N) for key in ("kernel", "stride", "dilation"))
        if k is None or s is None or d is None:
            return raise_padding_word(word, "the output n·s ('same') takes padding p and output_padding o "
                                      "with 2p − o = d(k − 1) + 1 − s")
        # (n − 1)s − 2p + d(k − 1) + o + 1 = n·s  ⇔  2p − o = d(k − 1) + 1 − s; p the least with o ≥ 0
        need = [dd * (kk - 1) + 1 - ss for kk, ss, dd in zip(k, s, d)]
        pads = [max(0, -(-n // 2)) for n in need]
        outs = [2 * p - n for p, n in zip(pads, need)]
        fits = all(o < max(ss, dd) for o, ss, dd in zip(outs, s, d))

        def one(v: list[int]) -> str:
            return show(v[0]) if len(set(v)) == 1 else show(v)
        said = f"padding: {one(pads)}" + (f", output_padding: {one(outs)}" if any(outs) else "")
        hint = (f"{said} gives 'same' here, an output of n·s (the input's size n at stride 1): "
                "(n − 1)s − 2p + d(k − 1) + output_padding + 1" if fits else
                "no padding gives an output of n·s with this kernel and stride: (n − 1)s − 2p + d(k − 1) + "
                "output_padding + 1")
        return raise_padding_word(word, hint)

    @model_validator(mode="after")
    def _check(self) -> "ConvTransposeBase":
        s, op, d = self.strides, size_tuple(self.output_padding, self.N), self.dilations
        for i, (o, a, b) in enumerate(zip(op, s, d)):
            if o >= max(a, b):
                raise option_error(axis_option("output_padding", self.output_padding, i),
                                   f"expected output_padding smaller than the stride {show(self.stride)} or the "
                                   f"dilation {show(self.dilation)} (PyTorch's rule)", o)
        if self.filters % self.groups:
            raise option_error("groups", f"expected a divisor of filters ({self.filters}): each of the "
                               f"{self.groups} groups gets filters/groups filters", self.groups)
        return self

    @property
    def paddings(self) -> tuple[int, ...]:
        return size_tuple(self.padding, self.N)

    @property
    def output_paddings(self) -> tuple[int, ...]:
        return size_tuple(self.output_padding, self.N)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        self.in_channels(x)
        out = []
        for i, (n, k, s, p, op, d) in enumerate(zip(x.shape[1:], self.kernels, self.strides, self.paddings,
                                                     self.output_paddings, self.dilations)):
            out.append(check_size(conv_transpose_out(n, k, s, p, op, d), AXES[self.N][i], self.KIND, ctx, 1,
                                  axis_option("padding", self.padding, i)))  # too much taken off the ends
        return TensorType((self.filters, *out))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        # PyTorch keeps a transposed kernel as (C_in, C_out/g, *k): the convolution it transposes maps C_out to C_in.
        shapes = {"weight": (int(ins[0].shape[0]), self.filters // self.groups, *self.kernels)}
        if self.bias:
            shapes["bias"] = (self.filters,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        # Every input position is multiplied by the whole (C_out/g)·Πk kernel slice.
        return size_product(ins[0].shape) * (self.filters // self.groups) * numeric_product(self.kernels)

    def receptive(self) -> None:
        return None  # upsampling: the receptive-field recurrence does not apply

    def label(self) -> str:
        k = "×".join(str(v) for v in self.kernels)
        s = "/" + "×".join(str(v) for v in dict.fromkeys(self.strides))
        return f"deconv {k} ×{self.filters} {s}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[self.N]
        return cls(int(ins[0].shape[0]), self.filters, self.kernels, stride=self.strides, padding=self.paddings,
                   output_padding=self.output_paddings, groups=self.groups, bias=self.bias, dilation=self.dilations)
