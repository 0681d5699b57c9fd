"""The torch half of the sequence family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn

from netspec.layers.torch.activations import activation_fn


class Permute(nn.Module):
    """Reorder the per-sample axes (the batch axis stays first)."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.dims)).contiguous()

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class RepeatVector(nn.Module):
    """(N, F) → (N, n, F)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1).contiguous()

    def extra_repr(self) -> str:
        return f"n={self.n}"


class SequencePool(nn.Module):
    """Reduce the time axis (dim 1) by the last or first step, the mean or the max."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "last":
            return x[:, -1]
        if self.mode == "first":
            return x[:, 0]
        if self.mode == "mean":
            return x.mean(dim=1)
        return x.amax(dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


class TimeDistributed(nn.Module):
    """Apply ``layers`` (with their activations) to every step: (N, T, ...) → (N·T, ...) → (N, T, ...)."""

    def __init__(self, layers: list[nn.Module], activations: list[str | None]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.activations = list(activations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        y = x.reshape(n * t, *x.shape[2:])
        for layer, act in zip(self.layers, self.activations):
            y = layer(y)
            if act is not None:
                fn, kwargs = activation_fn(act)
                y = fn(y, **kwargs)
        return y.reshape(n, t, *y.shape[1:])
