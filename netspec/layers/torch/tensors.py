"""The torch half of the learned-tensor family. Imported only by ``build`` (it imports torch).

Sequences are batch-first ``(N, T, E)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class ClassToken(nn.Module):
    """Prepend the learned ``class_token`` ``(1, 1, E)`` (zeros at first, as torchvision's ViT)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """``P[p, 2i] = sin(p / 10000^(2i/dim))``, ``P[p, 2i+1] = cos(p / 10000^(2i/dim))``, ``(length, dim)``."""
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    rate = torch.exp(torch.arange(0, dim, 2, dtype=torch.float64) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)[:, : dim // 2]
    return table.to(torch.get_default_dtype())


class PositionEmbedding(nn.Module):
    """``x·scale + pos_embedding[:, :T]``: a learned parameter (normal, std 0.02, as torchvision's ViT)
    or the sinusoidal table as a buffer kept out of the state dict."""

    def __init__(self, length: int, dim: int, *, sinusoidal: bool = False, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        if sinusoidal:
            self.register_buffer("pos_embedding", sinusoidal_table(length, dim).unsqueeze(0), persistent=False)
        else:
            self.pos_embedding = nn.Parameter(torch.empty(1, length, dim).normal_(std=0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale != 1.0:
            x = x * self.scale
        return x + self.pos_embedding[:, : x.shape[1]]

    def extra_repr(self) -> str:
        return f"length={self.pos_embedding.shape[1]}, dim={self.pos_embedding.shape[2]}, scale={self.scale}"


class LayerScale(nn.Module):
    """``x · layer_scale``, the parameter shaped to broadcast over the axes after the channel axis."""

    def __init__(self, shape: tuple[int, ...], value: float) -> None:
        super().__init__()
        self.layer_scale = nn.Parameter(torch.full(shape, float(value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.layer_scale
