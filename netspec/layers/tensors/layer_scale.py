from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import (
    Axis,
    Ctx,
    Float,
    Layer,
    channels_first,
    features_last,
    need_float,
    register_layer,
    sample_axis,
    step_channels_first,
)


@register_layer("layer_scale")
class LayerScale(Layer):
    """Multiply each channel by a learned ``γ`` (CaiT, ConvNeXt), ``value`` at first.

    The channel axis is the one the layout of the input says: the last after a dense, embedding,
    recurrent or attention layer (a sequence ``(T, C)``, or a channels-last map after a permute), the
    first after a convolution or a pool (conv1d's ``(C, L)``, an image ``(C, H, W)``), the second of a
    sequence of such maps (``time_distributed`` of a conv: ``(T, C, H, W)``, each step's channels), and the
    first of ``(C,)``. A rank-2 input whose layout is not known (a network input, a reshape's output) cannot be
    told from its shape: it warns and scales the last axis (a sequence's). ``axis`` overrides it. The
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
    axis: Axis | None = Field(default=None, description="the channel axis (per sample; default: from the input's "
                                                        "layout: last of a sequence, first of a map)")

    @staticmethod
    def layout_axis(x: TensorType, ctx: Ctx) -> tuple[int, bool]:
        """The channel axis the builder's layout says, and whether it is a guess (a rank-2 input of unknown
        layout: ``(C, L)`` and ``(T, F)`` look alike)."""
        if features_last(ctx):
            return -1, False
        if step_channels_first(ctx) and x.rank >= 3:  # (T, C, ...): a conv at every step (time_distributed)
            return 1, False
        if channels_first(ctx) or x.rank != 2:
            return 0, False
        return -1, True  # not from a symbolic size: `--bind` would change the answer

    def channel_axis(self, x: TensorType, axis: int | None = None) -> int:
        """The channel axis (``axis``, else this layer's) as an index into ``x.shape``; not written, that of
        an unknown layout (a layer not placed by the builder, which writes it: :meth:`with_layout`)."""
        axis = axis if axis is not None else self.axis if self.axis is not None else self.layout_axis(x, Ctx())[0]
        axis = sample_axis(axis, x, kind=self.KIND)
        if isinstance(x.shape[axis], str):
            raise ShapeError(f"layer_scale needs a fixed channel count on axis {axis}, got '{x.shape[axis]}' in {x}"
                             "; hint: axis: names the channel axis", option="axis")
        return axis

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_float(x, self.KIND)
        axis = self.axis
        if axis is None:
            axis, guessed = self.layout_axis(x, ctx)
            if guessed:
                ctx.warn(f"layer_scale cannot tell the channel axis of {x}: a rank-2 input of unknown layout may be "
                         "(C, L), channels first as conv1d reads it, or (T, F), a sequence; it scales the last "
                         "axis; hint: write axis: 0 for (C, L) or axis: -1 for (T, F)")
        self.channel_axis(x, axis)
        return x

    def with_layout(self, ins: list[TensorType], ctx: Ctx) -> "LayerScale":
        """The channel axis of the input's layout written out, for ``param_shapes`` and ``build``."""
        if self.axis is not None:
            return self
        return self.model_copy(update={"axis": self.layout_axis(ins[0], ctx)[0]})

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        x = ins[0]
        axis = self.channel_axis(x)
        return {"layer_scale": (int(x.shape[axis]), *(1,) * (x.rank - 1 - axis))}

    def label(self) -> str:
        return f"× γ ({self.value:g})"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import LayerScale as TorchLayerScale

        return TorchLayerScale(self.param_shapes(ins)["layer_scale"], self.value)
