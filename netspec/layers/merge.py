"""Merges of several inputs: add, multiply, concat."""

from __future__ import annotations

from typing import Any, ClassVar

from netspec.core.errors import ShapeError
from netspec.core.sizes import sym_add
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import Ctx, Layer, register_layer


def _same_shapes(ins: list[TensorType], kind: str) -> TensorType:
    first = ins[0]
    for i, t in enumerate(ins[1:], start=2):
        if t.shape != first.shape:
            raise ShapeError(f"{kind} needs equal shapes, got input 1 {first} and input {i} {t}; "
                             "hint: a residual block whose stride or width changes needs a projection shortcut")
    return first


class ElementwiseMerge(Layer):
    """Shared rule of add and multiply: all inputs have the same shape."""

    FAMILY: ClassVar[str] = "merge"
    ARITY: ClassVar[int | None] = None
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 4), (3, 4)]), ({}, [(2,), (2,), (2,)])]

    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return _same_shapes(ins, self.KIND)


@register_layer("add")
class Add(ElementwiseMerge):
    """Element-wise sum (residual connections)."""
    GLYPH: ClassVar[str | None] = "+"

    def label(self) -> str:
        return "+"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Add as TorchAdd

        return TorchAdd()


@register_layer("multiply", aliases=("mul",))
class Multiply(ElementwiseMerge):
    """Element-wise product (gating)."""
    GLYPH: ClassVar[str | None] = "×"

    def label(self) -> str:
        return "×"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Multiply as TorchMultiply

        return TorchMultiply()


@register_layer("concat", aliases=("concatenate",))
class Concat(Layer):
    """Concatenation along ``axis`` (per-sample axes: 0 is channels/features, -1 the last)."""
    GLYPH: ClassVar[str | None] = "‖"

    FAMILY: ClassVar[str] = "merge"
    ARITY: ClassVar[int | None] = None
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 4, 4), (5, 4, 4)]), ({"axis": -1}, [(2, 3), (2, 5), (2, 1)])]

    axis: int = 0
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        rank = ins[0].rank
        if not -rank <= self.axis < rank:
            raise ShapeError(f"axis {self.axis} is out of range for inputs of rank {rank} {ins[0]}")
        ax = self.axis % rank
        for i, t in enumerate(ins[1:], start=2):
            others = [d for j, d in enumerate(t.shape) if j != ax]
            if t.rank != rank or others != [d for j, d in enumerate(ins[0].shape) if j != ax]:
                raise ShapeError(f"concat along axis {self.axis} needs equal sizes on the other axes, "
                                 f"got input 1 {ins[0]} and input {i} {t}")
        total: int | str = 0
        for t in ins:
            d = t.shape[ax]
            total = sym_add(d, total) if isinstance(total, int) else (
                sym_add(total, d) if isinstance(d, int) else f"{total} + {d}")
        return TensorType(tuple(total if j == ax else d for j, d in enumerate(ins[0].shape)), ins[0].dtype)

    def label(self) -> str:
        return "concat"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Concat as TorchConcat

        return TorchConcat(self.axis if self.axis < 0 else self.axis + 1)
