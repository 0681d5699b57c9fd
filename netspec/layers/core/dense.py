from typing import Any, ClassVar

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import (
    Bool,
    Ctx,
    Int,
    Layer,
    Width,
    channels_first,
    need_float,
    need_rank,
    register_layer,
)


@register_layer("dense", aliases=("linear", "fc"))
class Dense(Layer):
    """Fully connected layer over the last axis: ``y = x Wᵀ + b``. On a (C, H, W) map it warns (flatten first)."""

    FAMILY: ClassVar[str] = "dense"
    FEATURES_LAST: ClassVar[bool] = True
    PRIMARY: ClassVar[str] = "units"
    EXAMPLES: ClassVar = [({"units": 7}, [(5,)]), ({"units": 3, "bias": False}, [(4, 6)]),
                          ({"units": 4, "activation": "relu"}, [(2, 3, 5)])]

    units: Int = Width
    bias: Bool = True
    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        (x,) = ins
        need_rank(x, (1, 2, 3, 4), "features (F,) or (..., F)")
        need_float(x, "dense")
        if isinstance(x.shape[-1], str):
            raise ShapeError(f"dense needs a fixed feature size, got symbolic '{x.shape[-1]}' in {x}")
        # A channels-first map (C, H, W) from a conv or the input: as nn.Linear it mixes only W, rarely what is
        # meant. Channels-last maps (ConvNeXt's (H, W, C) after a permute) are the deliberate use: no warning.
        if x.rank >= 3 and channels_first(ctx):
            ctx.warn(f"dense acts on the last axis only: its input {x} becomes "
                     f"{TensorType((*x.shape[:-1], self.units))}, one {x.shape[-1]} → {self.units} map per position "
                     "of the other axes; hint: put a flatten before it to connect every value (or a 1×1 conv2d "
                     "to mix the channels at each position)")
        return TensorType((*x.shape[:-1], self.units))

    def output_features_last(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """Its last axis is features, unless it was the last axis of a (C, H, W) map (it warns then)."""
        return not (ins[0].rank >= 3 and channels_first(ctx))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        shapes = {"weight": (self.units, ins[0].shape[-1])}
        if self.bias:
            shapes["bias"] = (self.units,)
        return shapes

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        x = ins[0].shape
        return size_product(x[:-1]) * int(x[-1]) * self.units

    def label(self) -> str:
        return f"dense {self.units}"

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        return nn.Linear(int(ins[0].shape[-1]), self.units, bias=self.bias)
