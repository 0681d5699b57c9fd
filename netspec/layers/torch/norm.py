"""The torch half of the norm family: modules PyTorch lacks. Imported only by ``build`` (it imports torch)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels (dim 1) of (N, C, ...) at every position: torchvision's ConvNeXt
    ``LayerNorm2d`` for any rank. Parameters ``weight``/``bias`` of shape (C,), as ``nn.LayerNorm``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = x.dim() - 1  # not -1: torch's ONNX exporter writes a negative axis into Transpose's perm
        x = x.movedim(1, last)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.movedim(last, 1)
