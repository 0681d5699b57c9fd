from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import sym_add
from netspec.core.types import TensorType, same_shape
from netspec.layers.activations import ActivationName
from netspec.layers.base import Axis, Ctx, Layer, features_last, register_layer, sample_axis


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
                differ = [j for j, (a, b) in enumerate(zip(ins[0].shape, t.shape)) if j != ax and a != b]
                hint = ("; hint: a size that does not divide by every stride loses a row or column on the way down "
                        "that the way up does not give back (a U-Net's skips need a multiple of 2 per level): "
                        "change the input size, pad it, or crop2d the larger map"
                        if t.rank == rank and rank >= 2 and differ and 0 not in differ else "")
                if ax == 0 and rank >= 2 and "axis" not in self.model_fields_set and all(
                        features_last(ctx, j) for j in range(len(ins))):  # sequences (T, F): their features differ
                    hint = ("; hint: concat joins axis 0 by default, the positions of these sequences; write axis: -1 "
                            "to join their features")
                raise ShapeError(f"concat along axis {self.axis} needs equal sizes on the other axes, "
                                 f"got input 1 {ins[0]} and input {i} {t}" + hint)
        total: int | str = 0
        for t in ins:
            d = t.shape[ax]
            total = sym_add(d, total) if isinstance(total, int) else (
                sym_add(total, d) if isinstance(d, int) else f"{total} + {d}")
        if ax == 0 and rank >= 2 and "axis" not in self.model_fields_set and all(
                features_last(ctx, i) for i in range(len(ins))):
            ctx.warn(f"concat joins axis 0 by default, the positions of these sequences ({', '.join(map(str, ins))}), "
                     "not their features; hint: write axis: -1 to join the features (axis: 0 says the positions "
                     "are meant)")
        return TensorType(tuple(total if j == ax else d for j, d in enumerate(ins[0].shape)), ins[0].dtype)

    def label(self) -> str:
        return "concat"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.merge import Concat as TorchConcat

        return TorchConcat(self.axis if self.axis < 0 else self.axis + 1)
