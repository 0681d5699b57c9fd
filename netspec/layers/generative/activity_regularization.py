from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.types import TensorType
from netspec.layers.base import Ctx, Float, Layer, need_float, register_layer


@register_layer("activity_regularization", aliases=("activity_regularizer", "sparsity"))
class ActivityRegularization(Layer):
    """Identity that penalizes its activations (sparse autoencoders).

    ``l1``: ``weight · Σ|a|`` per sample; ``l2``: ``weight · Σa²``; ``kl``: ``weight · Σ_j KL(ρ ‖ ρ̂_j)``
    with ``ρ̂_j`` the batch mean of unit j (activations in (0, 1), e.g. after a sigmoid) and
    ``KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂))``.
    """

    FAMILY: ClassVar[str] = "regularization"
    PRIMARY: ClassVar[str] = "penalty"
    ELEMENTWISE: ClassVar[bool] = True
    EVAL_IDENTITY: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({"penalty": "l1", "weight": 1e-4}, [(8,)]), ({"penalty": "kl", "rho": 0.05}, [(6,)]),
                          ({"penalty": "l2"}, [(2, 3)])]

    penalty: Literal["l1", "l2", "kl"] = "l1"
    weight: Float = Field(default=1e-3, ge=0.0, description="multiplies the penalty")
    rho: Float = Field(default=0.05, gt=0.0, lt=1.0, description="target mean activation (kl)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        return ins[0]

    def label(self) -> str:
        return f"{self.penalty} sparsity" + (f" ρ={self.rho:g}" if self.penalty == "kl" else "")

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.generative import ActivityRegularization as TorchReg

        return TorchReg(self.penalty, self.weight, self.rho)
