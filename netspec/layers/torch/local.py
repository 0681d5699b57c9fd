"""The torch half of the local (unshared convolution) family: modules PyTorch lacks.

Imported only by ``build`` (it imports torch). Output sizes come from the shape rule, never recomputed.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def fan_in_uniform_(t: torch.Tensor, fan_in: int) -> None:
    bound = 1.0 / fan_in ** 0.5
    nn.init.uniform_(t, -bound, bound)


class LocallyConnected2d(nn.Module):
    """Unshared convolution via unfold: ``out[n, o, l] = Σ_j W[l, o, j] · cols[n, j, l] + b[o, l]``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], out_size: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding, self.out_size = kernel, stride, padding, out_size
        ho, wo = out_size
        self.weight = nn.Parameter(torch.empty(ho, wo, out_channels, in_channels, *kernel))
        self.bias = nn.Parameter(torch.empty(out_channels, ho, wo)) if bias else None
        fan_in = in_channels * kernel[0] * kernel[1]
        fan_in_uniform_(self.weight, fan_in)
        if self.bias is not None:
            fan_in_uniform_(self.bias, fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ho, wo, o = self.weight.shape[:3]
        cols = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride)  # (N, C·kh·kw, L)
        w = self.weight.reshape(ho * wo, o, -1)  # (L, O, C·kh·kw), same (c, i, j) order as unfold
        out = torch.einsum("njl,loj->nol", cols, w).reshape(x.shape[0], o, ho, wo)
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, out_size={self.out_size}"


class TiledConv2d(nn.Module):
    """Tiled convolution via unfold: output (i, j) uses kernel ``(i mod th, j mod tw)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int], tile: tuple[int, int], out_size: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding, self.tile = kernel, stride, padding, tile
        self.out_size = out_size  # from the shape rule (core/sizes.py), not recomputed here
        self.weight = nn.Parameter(torch.empty(*tile, out_channels, in_channels, *kernel))
        self.bias = nn.Parameter(torch.empty(*tile, out_channels)) if bias else None
        fan_in = in_channels * kernel[0] * kernel[1]
        fan_in_uniform_(self.weight, fan_in)
        if self.bias is not None:
            fan_in_uniform_(self.bias, fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        th, tw, o = self.weight.shape[:3]
        ho, wo = self.out_size
        cols = F.unfold(x, self.kernel, padding=self.padding, stride=self.stride).reshape(n, -1, ho, wo)
        out = x.new_zeros(n, o, ho, wo)
        for a in range(min(th, ho)):
            for b in range(min(tw, wo)):
                # Every position with i ≡ a (mod th), j ≡ b (mod tw) uses kernel (a, b): one product.
                y = torch.einsum("njhw,oj->nohw", cols[:, :, a::th, b::tw], self.weight[a, b].reshape(o, -1))
                if self.bias is not None:
                    y = y + self.bias[a, b].reshape(1, o, 1, 1)
                out[:, :, a::th, b::tw] = y
        return out

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, padding={self.padding}, tile={self.tile}"
