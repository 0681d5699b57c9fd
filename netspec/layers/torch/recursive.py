"""The torch half of the recursive family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.layers.torch.activations import activation_fn
from netspec.layers.torch.local import fan_in_uniform_


class Recursive(nn.Module):
    """One cell over a binary tree: ``leaves (N, L, F)``, ``tree (N, L − 1, 2)`` child indices."""

    def __init__(self, features: int, nonlinearity: str = "tanh", bias: bool = True, output: str = "root") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features, 2 * features))
        self.bias = nn.Parameter(torch.empty(features)) if bias else None
        self.nonlinearity, self.output = nonlinearity, output
        fan_in_uniform_(self.weight, 2 * features)
        if self.bias is not None:
            fan_in_uniform_(self.bias, 2 * features)

    def forward(self, leaves: torch.Tensor, tree: torch.Tensor) -> torch.Tensor:
        if tree.shape[1] != leaves.shape[1] - 1:
            raise ValueError(f"a binary tree over {leaves.shape[1]} leaves has {leaves.shape[1] - 1} internal nodes, "
                             f"got tree rows {tree.shape[1]}")
        fn, kwargs = activation_fn(self.nonlinearity)
        rows = torch.arange(leaves.shape[0], device=leaves.device)
        nodes = leaves
        for i in range(tree.shape[1]):
            # Children must be earlier nodes: an index >= L + i is out of range here and raises.
            pair = torch.cat([nodes[rows, tree[:, i, 0]], nodes[rows, tree[:, i, 1]]], dim=-1)
            parent = fn(F.linear(pair, self.weight, self.bias), **kwargs)
            nodes = torch.cat([nodes, parent.unsqueeze(1)], dim=1)
        return nodes[:, -1] if self.output == "root" else nodes

    def extra_repr(self) -> str:
        return f"features={self.weight.shape[0]}, nonlinearity={self.nonlinearity}, output={self.output}"
