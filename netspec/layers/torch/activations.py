"""The torch half of the activations: both forms of every entry of :data:`ACTIVATIONS`.

Imported only by ``build`` and the torch backend (it imports torch).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.layers.activations import ACTIVATIONS


def heaviside_step(x: torch.Tensor) -> torch.Tensor:
    """Heaviside step: 1 where x >= 0, else 0 (the perceptron's activation)."""
    return (x >= 0).to(x.dtype)


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


class Step(nn.Module):
    """Heaviside step activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return heaviside_step(x)


_OWN_FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {"heaviside_step": heaviside_step, "identity": identity}
_OWN_MODULES: dict[str, type[nn.Module]] = {"Step": Step}


def activation_fn(name: str) -> tuple[Callable[..., torch.Tensor], dict[str, Any]]:
    """The functional form of an activation and its default keyword arguments."""
    act = ACTIVATIONS[name]
    module, _, fn_name = act.functional.rpartition(".")
    fn = _OWN_FUNCTIONS.get(fn_name) or getattr(torch if module == "torch" else F, fn_name)
    return fn, dict(act.kwargs)


def activation_module(name: str, **kwargs: Any) -> nn.Module:
    """The module form of an activation, e.g. ``nn.LeakyReLU(negative_slope=0.2)``."""
    cls_name = ACTIVATIONS[name].module
    cls = _OWN_MODULES.get(cls_name) or getattr(nn, cls_name)
    return cls(**kwargs)


class GatedUnit(nn.Module):
    """``value ⊗ act(gate)``, the two halves of ``dim``; the gate is the second half unless ``gate_first``."""

    def __init__(self, dim: int, gate: str = "sigmoid", gate_first: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.gate = gate
        self.gate_first = gate_first
        self.fn, self.kwargs = activation_fn(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gate == "sigmoid" and not self.gate_first:
            return F.glu(x, self.dim)
        first, second = x.chunk(2, dim=self.dim)
        value, gate = (second, first) if self.gate_first else (first, second)
        return value * self.fn(gate, **self.kwargs)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, gate={self.gate}, gate_first={self.gate_first}"
