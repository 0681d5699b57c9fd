"""The torch half of the core family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn


class Reshape(nn.Module):
    """Reshape every sample to ``shape`` (batch kept)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
