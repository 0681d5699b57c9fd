from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Int, Layer, Width, need_float, number, register_layer


@register_layer("rbm")
class RBM(Layer):
    """Restricted Boltzmann machine; forward: ``σ(W v + h_bias)``, (visible,) → (hidden,)."""

    FAMILY: ClassVar[str] = "energy"
    PRIMARY: ClassVar[str] = "hidden"
    EXAMPLES: ClassVar = [({"hidden": 5}, [(8,)]), ({"hidden": 3, "visible": 4}, [(4,)])]

    hidden: Int = Width
    visible: number(int, ge=1, le=1 << 20) | None = Field(default=None,  # type: ignore[valid-type]
                                description="visible units; checked against the input when given")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if x.rank != 1 or isinstance(x.shape[0], str):
            raise ShapeError(f"rbm expects a vector of visible units (V,), got shape {x}; hint: flatten images first")
        need_float(x, self.KIND)
        if self.visible is not None and x.shape[0] != self.visible:
            raise ShapeError(f"rbm says visible: {self.visible}, but its input has {x.shape[0]} units",
                             option="visible")
        return TensorType((self.hidden,))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        v = int(ins[0].shape[0])
        return {"weight": (self.hidden, v), "v_bias": (v,), "h_bias": (self.hidden,)}

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        return int(ins[0].shape[0]) * self.hidden

    def label(self) -> str:
        return f"rbm {self.hidden}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.energy import RBM as TorchRBM

        return TorchRBM(int(ins[0].shape[0]), self.hidden)
