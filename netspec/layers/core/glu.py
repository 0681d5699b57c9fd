from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import divide
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import Axis, Ctx, Layer, need_float, register_layer, sample_axis, torch_dim


@register_layer("glu")
class GLU(Layer):
    """Gated linear unit: ``value ⊗ gate(other half)`` over the two halves of ``axis``, which halves.

    The default is torch's ``nn.GLU``: value = the first half, gate = sigmoid(second half).
    ``gate: gelu`` gives GEGLU; ``gate_half: first`` gates the first half instead. ``swiglu`` is the
    SiLU-gated form with its own convention (see there)."""

    FAMILY: ClassVar[str] = "activation"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(4, 6)]), ({"axis": 0}, [(6, 5, 5)]),
                          ({"gate": "tanh", "gate_half": "first"}, [("T", 8)])]

    axis: Axis = Field(default=-1, description="the axis that is halved (per sample; 0 is channels, -1 the last)")
    gate: ActivationName = Field(default="sigmoid", description="the activation of the gate half")  # type: ignore[valid-type]
    gate_half: Literal["first", "second"] = Field(default="second", description="which half is the gate")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_float(x, self.KIND)
        ax = sample_axis(self.axis, x, kind=self.KIND)
        half = divide(x.shape[ax], 2)
        if not half.exact:
            raise ShapeError(f"{self.KIND} halves axis {self.axis}, which has an odd size: {half.arithmetic}; "
                             "hint: the layer before it gives twice the width you want")
        return TensorType(tuple(half.value if i == ax else d for i, d in enumerate(x.shape)))

    def label(self) -> str:
        return self.KIND if self.gate == type(self).model_fields["gate"].default else f"{self.KIND} ({self.gate})"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.activations import GatedUnit

        return GatedUnit(torch_dim(self.axis), self.gate, gate_first=self.gate_half == "first")
