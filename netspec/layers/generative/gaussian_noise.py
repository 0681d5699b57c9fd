from typing import Any, ClassVar

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Float, Layer, need_float, register_layer


@register_layer("gaussian_noise")
class GaussianNoise(Layer):
    """Adds ``N(0, std²)`` noise in training (denoising autoencoders); identity in eval."""

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "std"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"std": 0.1}, [(10,)]), ({"std": 0.5}, [(1, 8, 8)])]

    std: Float = Field(default=0.1, ge=0.0, le=1e6)

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        return ins[0]

    def label(self) -> str:
        return f"noise σ={self.std:g}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.generative import GaussianNoise as TorchNoise

        return TorchNoise(self.std)
