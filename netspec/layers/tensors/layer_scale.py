from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Axis, Ctx, Float, Layer, features_last, need_float, register_layer, sample_axis


@register_layer("layer_scale")
class LayerScale(Layer):
    """Multiply each channel by a learned ``γ`` (CaiT, ConvNeXt), ``value`` at first.

    The channel axis is the last of a rank-2 input, read as a sequence ``(T, C)``, and the first
    otherwise (``(C,)``, ``(C, H, W)``); ``axis`` overrides it (``axis: 0`` for conv1d's ``(C, L)``). The
    parameter ``layer_scale`` has C on that axis and 1 on the axes after it, so it broadcasts:
    ``(C, 1, 1)`` for an image, as torchvision's ConvNeXt; ``(C,)`` for a sequence.
    """

    FAMILY: ClassVar[str] = "tensor"
    PRIMARY: ClassVar[str] = "value"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [
        ({}, [(4, 5, 5)]),
        ({"value": 0.1}, [("T", 6)]),
        ({"value": 1e-5}, [(7,)]),
        ({"axis": 0}, [(3, "T")]),
        ({"axis": -1}, [(2, 3, 4)]),
    ]

    value: Float = Field(default=1e-6, description="the initial γ (torchvision's ConvNeXt: 1e-6)")
    axis: Axis | None = Field(default=None,
                             description="the channel axis (per sample; default: last of (T, C), else first)")

    def channel_axis(self, x: TensorType) -> int:
        axis = self.axis if self.axis is not None else (1 if x.rank == 2 else 0)
        axis = sample_axis(axis, x, kind=self.KIND)
        if isinstance(x.shape[axis], str):
            raise ShapeError(f"layer_scale needs a fixed channel count on axis {axis}, got '{x.shape[axis]}' in {x}"
                             + ("; hint: a sequence (T, C) scales its last axis" if x.rank == 2 else ""))
        return axis

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.channel_axis(ins[0])
        if self.axis is None and ins[0].rank >= 3 and features_last(ctx):
            ctx.warn(f"layer_scale scales axis 0 of {ins[0]} by default, but this input holds its channels on the "
                     "last axis (after a permute, as ConvNeXt's (H, W, C)); hint: write axis: -1")
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        x = ins[0]
        axis = self.channel_axis(x)
        return {"layer_scale": (int(x.shape[axis]), *(1,) * (x.rank - 1 - axis))}

    def label(self) -> str:
        return f"× γ ({self.value:g})"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import LayerScale as TorchLayerScale

        return TorchLayerScale(self.param_shapes(ins)["layer_scale"], self.value)
