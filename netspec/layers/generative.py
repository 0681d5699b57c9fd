"""Autoencoder and generative pieces: gaussian_noise, activity_regularization, sample (VAE).

Loss terms follow the auxiliary-loss convention (docs/ARCHITECTURE.md): during a training forward the
module stores its penalty in ``self.aux_loss`` (a scalar tensor, averaged over the batch); in eval it
is ``None``. ``netspec.layers.torch.generative.aux_losses(model)`` sums them for the trainer. Input dropout for
denoising autoencoders is the ordinary ``dropout`` layer placed first.
"""

from typing import Any, ClassVar, Literal

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType, same_shape
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
