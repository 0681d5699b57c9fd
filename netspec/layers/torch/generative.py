"""The torch half of the generative family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn


class GaussianNoise(nn.Module):
    """Adds N(0, std²) noise in training; identity in eval."""

    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.std > 0:
            return x + torch.randn_like(x) * self.std
        return x

    def extra_repr(self) -> str:
        return f"std={self.std}"


def kl_sparsity(rho: float, rho_hat: torch.Tensor) -> torch.Tensor:
    """Σ_j KL(ρ ‖ ρ̂_j) between Bernoulli distributions (sparse autoencoders)."""
    rho_hat = rho_hat.clamp(1e-6, 1 - 1e-6)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


class ActivityRegularization(nn.Module):
    """Identity; in training ``aux_loss`` = weight · (l1 | l2 | kl sparsity) of the activations."""

    def __init__(self, penalty: str, weight: float, rho: float) -> None:
        super().__init__()
        self.penalty, self.weight, self.rho = penalty, weight, rho
        self.aux_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            self.aux_loss = None
            return x
        flat = x.flatten(1)
        if self.penalty == "l1":
            term = flat.abs().sum(1).mean()
        elif self.penalty == "l2":
            term = flat.pow(2).sum(1).mean()
        else:
            term = kl_sparsity(self.rho, flat.mean(0))
        self.aux_loss = self.weight * term
        return x

    def extra_repr(self) -> str:
        return f"penalty={self.penalty}, weight={self.weight}" + (f", rho={self.rho}" if self.penalty == "kl" else "")


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over units, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).flatten(1).sum(1).mean()


class Sample(nn.Module):
    """VAE reparameterization ``z = μ + exp(½ log σ²)·ε``; ``aux_loss`` = beta · KL in training."""

    def __init__(self, beta: float = 1.0, at_eval: str = "mean") -> None:
        super().__init__()
        self.beta, self.at_eval = beta, at_eval
        self.aux_loss: torch.Tensor | None = None

    def forward(self, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.aux_loss = self.beta * gaussian_kl(mu, logvar)
        else:
            self.aux_loss = None
        if self.training or self.at_eval == "sample":
            return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return mu

    def extra_repr(self) -> str:
        return f"beta={self.beta}, at_eval={self.at_eval}"


def aux_losses(model: nn.Module) -> torch.Tensor | float:
    """Sum of the auxiliary loss terms (``module.aux_loss``) set during the last forward.

    Activity regularization and the VAE ``sample`` layer's KL divergence use this; the trainer adds it
    to the task loss.
    """
    total: torch.Tensor | float = 0.0
    for m in model.modules():
        term = getattr(m, "aux_loss", None)
        if isinstance(term, torch.Tensor):
            total = total + term
    return total
