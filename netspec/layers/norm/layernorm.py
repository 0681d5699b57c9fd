from typing import Any, ClassVar

from pydantic import Field, model_validator

from netspec.core.types import TensorType
from netspec.layers.base import (
    READS_CHANNELS,
    Bool,
    Ctx,
    Float,
    Int,
    Layer,
    need_float,
    need_rank,
    option_error,
    register_layer,
)
from netspec.layers.norm.axes import channels, trailing_axes, warn_trailing_on_map


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

    def reads(self) -> str | None:
        """``channels_first`` normalizes axis 0, the channels; the plain form, the last axes."""
        return READS_CHANNELS if self.channels_first else None

    def normalized(self, x: TensorType) -> tuple[int, ...]:
        if self.channels_first:
            need_rank(x, (2, 3, 4), "a (C, L), (C, H, W) or (C, D, H, W) input for channels_first",
                      "a (F,) feature vector is normalized by a plain layernorm")
            return (channels(x),)
        return trailing_axes(x, self.axes, self.KIND)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.normalized(ins[0])
        if not self.channels_first:
            warn_trailing_on_map(ins[0], self.axes, self.KIND, ctx, channels_option=True)
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
