"""The torch half of the merge family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn


def per_sample(xs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Inputs of lower rank get size-1 axes after the batch axis, so that torch broadcasts the
    per-sample shapes (right-aligned) and never a sample's axis against the batch."""
    rank = max(x.dim() for x in xs)
    return tuple(x if x.dim() == rank else x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:])
                 for x in xs)


class Add(nn.Module):
    """Element-wise sum of its inputs (per-sample shapes broadcast)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        xs = per_sample(xs)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(nn.Module):
    """Element-wise product of its inputs (per-sample shapes broadcast)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        xs = per_sample(xs)
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Subtract(nn.Module):
    """The first input minus the second (per-sample shapes broadcast)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        a, b = per_sample((a, b))
        return a - b


class Concat(nn.Module):
    """Concatenation along a (batch-inclusive) dimension."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Split(nn.Module):
    """``torch.split`` into pieces of the given sizes along a (batch-inclusive) dimension, or
    ``torch.chunk`` into that many equal pieces; returns a tuple, or the one piece itself when there
    is one (``sizes: [4]``, ``chunks: 1``: the layer then has one output, as ``check`` reports it)."""

    def __init__(self, sizes: list[int] | int, dim: int, chunks: bool = False) -> None:
        super().__init__()
        self.sizes = sizes
        self.dim = dim
        self.chunks = chunks

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if self.chunks:
            pieces = tuple(torch.chunk(x, int(self.sizes), dim=self.dim))  # type: ignore[arg-type]
        else:
            pieces = tuple(torch.split(x, self.sizes, dim=self.dim))
        return pieces[0] if len(pieces) == 1 else pieces

    def extra_repr(self) -> str:
        return f"{'chunks' if self.chunks else 'sizes'}={self.sizes}, dim={self.dim}"
