"""The torch half of the pool family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn


class GlobalPool(nn.Module):
    """Average or max over every axis after the channels."""

    def __init__(self, mode: str, rank: int) -> None:
        super().__init__()
        self.mode = mode
        self.dims = tuple(range(2, rank + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "avg":
            return x.mean(dim=self.dims)
        return x.amax(dim=self.dims)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"
