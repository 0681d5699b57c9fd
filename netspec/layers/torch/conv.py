"""The torch half of the conv family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalConv1d(nn.Conv1d):
    """``nn.Conv1d`` (same parameters) that pads ``dilation·(kernel − 1)`` zeros on the left only."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, padding=0, **kwargs)
        self.left = self.dilation[0] * (self.kernel_size[0] - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, (self.left, 0)))

    def extra_repr(self) -> str:
        return super().extra_repr() + f", causal_padding={self.left}"


class Crop2d(nn.Module):
    """Cuts (left, right, top, bottom) positions off the last two axes."""

    def __init__(self, lrtb: tuple[int, int, int, int]) -> None:
        super().__init__()
        self.lrtb = tuple(lrtb)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.lrtb
        return x[..., top:x.shape[-2] - bottom, left:x.shape[-1] - right]

    def extra_repr(self) -> str:
        return f"lrtb={self.lrtb}"
