"""Small torch modules that PyTorch lacks as modules (merges, reshape, global pooling, step).

Imported only by layer ``build`` methods and the torch backend: it imports torch.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.layers.base import ACTIVATIONS


def _step(x: torch.Tensor) -> torch.Tensor:
    """Heaviside step: 1 where x >= 0, else 0 (the perceptron's activation)."""
    return (x >= 0).to(x.dtype)


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


class Step(nn.Module):
    """Heaviside step activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _step(x)


def activation_fn(name: str) -> tuple[Callable[..., torch.Tensor], dict[str, Any]]:
    """The functional form of an activation and its default keyword arguments."""
    fn_name, kwargs, _ = ACTIVATIONS[name]
    if fn_name == "heaviside_step":
        return _step, {}
    if fn_name == "identity":
        return _identity, {}
    fn = getattr(torch, fn_name) if fn_name in ("tanh", "sigmoid") else getattr(F, fn_name)
    return fn, dict(kwargs)


def activation_module(name: str, **kwargs: Any) -> nn.Module:
    """The module form of an activation, e.g. ``nn.LeakyReLU(negative_slope=0.2)``."""
    cls_name = ACTIVATIONS[name][2]
    if cls_name == "Step":
        return Step()
    return getattr(nn, cls_name)(**kwargs)


class Reshape(nn.Module):
    """Reshape every sample to ``shape`` (batch kept)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Add(nn.Module):
    """Element-wise sum of its inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Element-wise product of its inputs."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Concatenation along a (batch-inclusive) dimension."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


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
