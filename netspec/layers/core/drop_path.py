from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Float, Layer, need_float, register_layer


@register_layer("drop_path", aliases=("stochastic_depth",))
class DropPath(Layer):
    """Stochastic depth on a residual branch: drops a sample's whole input in training; identity in eval.

    With probability ``rate`` the input of a sample (``mode: row``, torchvision's StochasticDepth "row")
    or of the whole batch (``mode: batch``) becomes zero; survivors are scaled by 1/(1 − rate). Put it
    last in a ``residual`` body, so that a dropped sample passes the shortcut alone (EfficientNet,
    ConvNeXt)."""

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "rate"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"rate": 0.2}, [(4, 5, 5)]), ({"rate": 0.5, "mode": "batch"}, [(6,)]),
                          ({"rate": 0.0}, [("T", 3)])]

    rate: Float = Field(default=0.1, ge=0.0, lt=1.0, description="probability of dropping the branch")
    mode: Literal["row", "batch"] = Field(default="row", description="row: per sample; batch: the whole batch")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        return ins[0]

    def label(self) -> str:
        return f"drop_path {self.rate:g}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.core import StochasticDepth

        return StochasticDepth(self.rate, self.mode)
