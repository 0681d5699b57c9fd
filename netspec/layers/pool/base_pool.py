"""The shared rule of the windowed max and average pools (1-D, 2-D, 3-D)."""

from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.errors import ShapeError
from netspec.core.fmt import show
from netspec.core.sizes import conv_out
from netspec.core.types import TensorType
from netspec.layers.base import (
    READS_CHANNELS,
    Bool,
    Ctx,
    IntPair,
    Layer,
    PadPair,
    need_rank,
    option_error,
)
from netspec.layers.conv.window import AXES, axis_option, check_size, size_tuple
from netspec.layers.pool.padding_words import raise_padding_word, raw_sizes


class PoolBase(Layer):
    """Max/average pooling; the stride defaults to the kernel, as in PyTorch and Keras."""
    READS: ClassVar[str | None] = READS_CHANNELS

    N: ClassVar[int] = 2
    MODE: ClassVar[str] = "max"
    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "kernel"
    # PyTorch's avg_pool3d also checks the input before padding: each size at least the kernel's
    # (aten's pool3d_shape_check with check_input_size); the other pools check only the padded input.
    KERNEL_WITHIN_INPUT: ClassVar[bool] = False

    kernel: IntPair = 2
    stride: IntPair | None = Field(default=None, description="default: the kernel size")
    padding: PadPair = 0
    ceil_mode: Bool = False

    @model_validator(mode="before")
    @classmethod
    def _padding_word(cls, data: Any) -> Any:
        """``padding: same`` or ``valid`` (Keras's and conv2d's words): a pool takes numbers; the hint gives
        the padding that means the word here."""
        word = data.get("padding") if isinstance(data, dict) else None
        if word not in ("same", "valid"):
            return data
        if word == "valid":
            hint = "'valid' is no padding: padding: 0 (the default)"
        else:
            kernel = raw_sizes(data.get("kernel", 2), cls.N)
            pads = [(k - 1) // 2 for k in kernel] if kernel else None
            odd = kernel is not None and all(k % 2 for k in kernel)
            written = (show(pads[0]) if len(set(pads)) == 1 else show(pads)) if pads else "(k - 1)//2"
            if kernel is None or odd:
                hint = (f"padding: {written} gives 'same' here, (k - 1)//2 for an odd kernel k: the size n at "
                        "stride 1, ceil(n/s) at stride s")
            else:  # k even: floor((n - 2)/s) + 1 rounds down; ceil_mode rounds up, to ceil(n/s) for s >= 2
                hint = (f"padding: {written} with ceil_mode: true gives 'same' at stride 2, ceil(n/2); an even kernel "
                        "cannot keep the size n at stride 1 (PyTorch pads both ends alike): use an odd kernel")
        return raise_padding_word(word, hint)

    @model_validator(mode="after")
    def _check(self) -> "PoolBase":
        for i, (p, k) in enumerate(zip(self.paddings, self.kernels)):
            if 2 * p > k:  # at the padding's element on that axis, when it is written as a list
                listed = isinstance(self.padding, (list, tuple)) or isinstance(self.kernel, (list, tuple))
                on = f"{show(self.kernel)} on the {AXES[self.N][i]} axis" if listed and self.N > 1 else str(k)
                raise option_error(axis_option("padding", self.padding, i),
                                   f"padding {p} must be at most half the kernel {on} (PyTorch's rule)", p)
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
        if self.KERNEL_WITHIN_INPUT:
            self._kernel_within(x)
        out = [check_size(conv_out(n, k, s, p, 1, self.ceil_mode), AXES[self.N][i], self.KIND, ctx, s,
                          axis_option("kernel", self.kernel, i))  # a window larger than the padded input
               for i, (n, k, s, p) in enumerate(zip(x.shape[1:], self.kernels, self.strides, self.paddings))]
        return TensorType((x.shape[0], *out), x.dtype)

    def _kernel_within(self, x: TensorType) -> None:
        """Refuse a kernel larger than the unpadded input on some axis (symbolic sizes are not known yet)."""
        for i, (n, k) in enumerate(zip(x.shape[1:], self.kernels)):
            if isinstance(n, int) and n < k:
                sizes = " × ".join(str(d) for d in x.shape[1:])
                raise ShapeError(
                    f"{AXES[self.N][i]} {n} is smaller than the kernel's {k}: PyTorch's {self.KIND} needs the input "
                    f"({sizes}) at least as large as the kernel {show(self.kernel)} on every axis, before padding; "
                    f"hint: use a kernel of at most {n} on the {AXES[self.N][i]} axis, or a larger input",
                    option=axis_option("kernel", self.kernel, i))  # a list is a tuple once validated

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(k, s, 1) for k, s in zip(self.kernels, self.strides)]

    def label(self) -> str:
        k = "×".join(str(v) for v in self.kernels)
        return f"{self.MODE}pool {k} /{'×'.join(str(v) for v in dict.fromkeys(self.strides))}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        name = ("Max" if self.MODE == "max" else "Avg") + f"Pool{self.N}d"
        return getattr(nn, name)(self.kernels, stride=self.strides, padding=self.paddings, ceil_mode=self.ceil_mode)
