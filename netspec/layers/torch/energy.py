"""The torch half of the energy-based family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class RBM(nn.Module):
    """Restricted Boltzmann machine with binary units; forward gives ``p(h = 1 | v)``.

    For contrastive divergence (CD-k): ``cd_loss(v, k)`` is a surrogate whose gradient is the CD-k
    estimate, ``F(v) − F(v_k)`` averaged over the batch, with ``v_k`` after k Gibbs steps.
    """

    def __init__(self, visible: int, hidden: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(hidden, visible) * 0.01)
        self.v_bias = nn.Parameter(torch.zeros(visible))
        self.h_bias = nn.Parameter(torch.zeros(hidden))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.weight, self.h_bias))

    def sample_h(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(p(h | v), a binary sample of h)."""
        p = self.forward(v)
        return p, torch.bernoulli(p)

    def sample_v(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(p(v | h) = σ(Wᵀh + v_bias), a binary sample of v)."""
        p = torch.sigmoid(F.linear(h, self.weight.t(), self.v_bias))
        return p, torch.bernoulli(p)

    def gibbs(self, v: torch.Tensor, k: int = 1) -> torch.Tensor:
        """The visible sample after k steps v → h → v."""
        for _ in range(k):
            _, h = self.sample_h(v)
            _, v = self.sample_v(h)
        return v

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = −v·v_bias − Σ_j softplus(W_j v + h_bias_j)`` per sample."""
        return -(v @ self.v_bias) - F.softplus(F.linear(v, self.weight, self.h_bias)).sum(-1)

    def cd_loss(self, v: torch.Tensor, k: int = 1) -> torch.Tensor:
        """Surrogate loss for CD-k: its gradient is the contrastive-divergence update."""
        vk = self.gibbs(v, k).detach()
        return (self.free_energy(v) - self.free_energy(vk)).mean()
