from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType, same_shape
from netspec.layers.base import Ctx, Float, Layer, need_float, register_layer


@register_layer("sample", aliases=("reparameterize", "sampling"))
class Sample(Layer):
    """VAE reparameterization: ``z = μ + exp(½·log σ²)·ε``, ``ε ~ N(0, I)``, from ``from: [mu, logvar]``.

    In training the module stores ``beta · KL(N(μ, σ²) ‖ N(0, I))`` (summed over latent units,
    averaged over the batch) in ``aux_loss``. In eval it returns μ (``at_eval: mean``) or still samples.
    """

    FAMILY: ClassVar[str] = "generative"
    ARITY: ClassVar[int | None] = 2
    EXAMPLES: ClassVar = [({}, [(8,), (8,)]), ({"beta": 0.5, "at_eval": "sample"}, [(2, 3), (2, 3)])]

    beta: Float = Field(default=1.0, ge=0.0, description="weight of the KL term")
    at_eval: Literal["mean", "sample"] = Field(default="mean", description="what eval mode returns")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        if len(ins) != 2:
            raise ShapeError(f"sample takes two inputs, μ and log σ², got {len(ins)}; hint: from: [mu, logvar]")
        mu, logvar = ins
        need_float(mu, self.KIND)
        if not same_shape(mu.shape, logvar.shape):
            raise ShapeError(f"sample needs μ and log σ² of the same shape, got mu {mu} and logvar {logvar}; "
                             "hint: both come from layers of the same width (the latent size)")
        return mu

    def label(self) -> str:
        return "z = μ + σ·ε"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.generative import Sample as TorchSample

        return TorchSample(self.beta, self.at_eval)
