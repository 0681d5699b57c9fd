"""Merges of several inputs (add, subtract, multiply, concat) and their inverse, splits of one
input into several outputs (split, chunk)."""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import Dim, divide, same_size, sym_add
from netspec.core.types import TensorType, fmt_shape, same_shape
from netspec.layers.activations import ActivationName
from netspec.layers.base import Axis, Count, Ctx, Int, Layer, register_layer, sample_axis


def broadcast(ins: list[TensorType], kind: str) -> TensorType:
    """The per-sample shape that ``ins`` broadcast to, by torch's (NumPy's) rules without the batch
    axis: shapes are aligned on the right, and on each axis the sizes are equal or 1. So a
    squeeze-excitation gate (C, 1, 1) multiplies (C, H, W), and a (W,) row adds to every row."""
    rank = max(t.rank for t in ins)
    out: list[Dim] = []
    for k in range(rank, 0, -1):
        sized = [(i, t) for i, t in enumerate(ins, start=1) if t.rank >= k and t.shape[-k] != 1]
        clash = [(i, t) for i, t in sized if not same_size(t.shape[-k], sized[0][1].shape[-k])]
        if clash:
            (i1, t1), (i2, t2) = sized[0], clash[0]
            raise ShapeError(f"{kind} needs equal shapes (or sizes of 1, which broadcast), got input {i1} {t1} "
                             f"and input {i2} {t2}; hint: a residual block whose stride or width changes needs a "
                             "projection shortcut")
        out.append(sized[0][1].shape[-k] if sized else 1)
    return TensorType(tuple(out), ins[0].dtype)


class ElementwiseMerge(Layer):
    """Shared rule of add, subtract and multiply: the inputs have the same shape, or shapes that
    broadcast (per sample, by torch's rules: right-aligned, equal sizes or 1)."""

    FAMILY: ClassVar[str] = "merge"
    ARITY: ClassVar[int | None] = None
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 4), (3, 4)]), ({}, [(2,), (2,), (2,)]), ({}, [(4, 5, 6), (4, 1, 1)]),
                          ({}, [(1, 5, 1), (3, 1, 6), (6,)]), ({}, [("T", 4), (1, 4)])]

    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return broadcast(ins, self.KIND)


@register_layer("add")
class Add(ElementwiseMerge):
    """Element-wise sum (residual connections); shapes broadcast per sample, as torch's."""
    GLYPH: ClassVar[str | None] = "+"

    def label(self) -> str:
        return "+"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Add as TorchAdd

        return TorchAdd()


@register_layer("multiply", aliases=("mul",))
class Multiply(ElementwiseMerge):
    """Element-wise product (gating: a (C, 1, 1) gate scales (C, H, W)); shapes broadcast per sample."""
    GLYPH: ClassVar[str | None] = "×"

    def label(self) -> str:
        return "×"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Multiply as TorchMultiply

        return TorchMultiply()


@register_layer("subtract", aliases=("sub",))
class Subtract(ElementwiseMerge):
    """Element-wise difference of two inputs, the first minus the second (shapes broadcast)."""
    GLYPH: ClassVar[str | None] = "−"
    EXAMPLES: ClassVar = [({}, [(3, 4), (3, 4)]), ({}, [(4, 5, 6), (4, 1, 1)]), ({}, [(1,), ("T", 3)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if len(ins) != 2:
            raise ShapeError(f"{self.KIND} takes exactly two inputs (the first minus the second), got {len(ins)}")
        return broadcast(ins, self.KIND)

    def label(self) -> str:
        return "−"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Subtract as TorchSubtract

        return TorchSubtract()


@register_layer("concat", aliases=("concatenate",))
class Concat(Layer):
    """Concatenation along ``axis`` (per-sample axes: 0 is channels/features, -1 the last)."""
    GLYPH: ClassVar[str | None] = "‖"

    FAMILY: ClassVar[str] = "merge"
    ARITY: ClassVar[int | None] = None
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 4, 4), (5, 4, 4)]), ({"axis": -1}, [(2, 3), (2, 5), (2, 1)])]

    axis: Axis = Field(default=0, description="the axis joined along (per sample; 0 is channels, -1 the last)")
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        rank = ins[0].rank
        ax = sample_axis(self.axis, ins[0], kind=self.KIND)
        for i, t in enumerate(ins[1:], start=2):
            others = [d for j, d in enumerate(t.shape) if j != ax]
            if t.rank != rank or not same_shape(others, [d for j, d in enumerate(ins[0].shape) if j != ax]):
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


class SplitBase(Layer):
    """One input cut along ``axis`` into several outputs ``out0``, ``out1``, …: the first is the
    default (what the next layer reads); ``from: name:out1`` reads another."""

    FAMILY: ClassVar[str] = "reshape"
    SHAPE_ONLY: ClassVar[bool] = True
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


@register_layer("split")
class Split(SplitBase):
    """Cut ``axis`` into pieces of the given ``sizes`` (they add up to the axis), as ``torch.split``."""

    PRIMARY: ClassVar[str] = "sizes"
    EXAMPLES: ClassVar = [({"sizes": [2, 3]}, [(5, 4, 4)]), ({"sizes": [1, 1, 2], "axis": -1}, [("T", 4)]),
                          ({"sizes": [3]}, [(3,)])]

    sizes: list[Count] = Field(min_length=1, max_length=1024, description="the size of each piece along the axis")

    def pieces(self, x: TensorType, ax: int) -> list[Dim]:
        n = x.shape[ax]
        if any(s < 1 for s in self.sizes):
            raise ShapeError(f"split sizes must be positive, got {self.sizes}")
        if n != sum(self.sizes):
            raise ShapeError(f"split sizes {self.sizes} add up to {sum(self.sizes)}, but axis {self.axis} of {x} "
                             f"has {n}")
        return list(self.sizes)

    def label(self) -> str:
        return f"split {fmt_shape(self.sizes)}"


@register_layer("chunk")
class Chunk(SplitBase):
    """Cut ``axis`` into ``chunks`` equal pieces (the axis must divide evenly)."""

    PRIMARY: ClassVar[str] = "chunks"
    EXAMPLES: ClassVar = [({"chunks": 2}, [(6, 3, 3)]), ({"chunks": 3, "axis": -1}, [(2, 9)]),
                          ({"chunks": 3, "axis": 0}, [("T", 4)])]

    chunks: Int = Field(ge=1, le=1024, description="how many equal pieces")

    def pieces(self, x: TensorType, ax: int) -> list[Dim]:
        size = divide(x.shape[ax], self.chunks)
        if not size.exact:
            raise ShapeError(f"chunk cuts axis {self.axis} of {x} into {self.chunks} equal pieces: {size.arithmetic} "
                             "is not whole; hint: use split with explicit sizes")
        return [size.value] * self.chunks

    def label(self) -> str:
        return f"chunk ÷{self.chunks}"
