"""The shared rule of ``split`` and ``chunk``."""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.sizes import Dim
from netspec.core.types import TensorType
from netspec.layers.base import Axis, Ctx, Layer, sample_axis


class SplitBase(Layer):
    """One input cut along ``axis`` into several outputs ``out0``, ``out1``, …: the first is the
    default (what the next layer reads); ``from: name:out1`` reads another."""

    FAMILY: ClassVar[str] = "reshape"
    SHAPE_ONLY: ClassVar[bool] = True
    KEEPS_LAYOUT: ClassVar[bool] = True  # each piece has the input's axes, one cut shorter: its layout and order
    INPUT_DTYPE: ClassVar[str] = "any"

    axis: Axis = Field(default=0, description="the axis that is cut (per sample; 0 is channels, -1 the last)")

    def pieces(self, x: TensorType, ax: int) -> list[Dim]:
        raise NotImplementedError

    def infer(self, ins: list[TensorType], ctx: Ctx) -> dict[str, TensorType]:
        x = ins[0]
        ax = sample_axis(self.axis, x, kind=self.KIND)
        return {f"out{i}": TensorType(tuple(p if j == ax else d for j, d in enumerate(x.shape)), x.dtype)
                for i, p in enumerate(self.pieces(x, ax))}

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Split

        x = ins[0]
        sizes = [t.shape[sample_axis(self.axis, x)] for t in self.infer(ins, Ctx()).values()]
        if any(isinstance(s, str) for s in sizes):  # equal chunks of a symbolic axis
            return Split(len(sizes), self.axis if self.axis < 0 else self.axis + 1, chunks=True)
        return Split([int(s) for s in sizes], self.axis if self.axis < 0 else self.axis + 1)
