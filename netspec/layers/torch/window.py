"""The torch half of Swin's kinds (``window_attention``, ``patch_merging``). Imported only by ``build``.

Maps are channels-last and batch-first, ``(N, H, W, C)``. Both modules compute what torchvision's
``ShiftedWindowAttention`` and ``PatchMerging`` compute (torchvision/models/swin_transformer.py), with
their parameters and buffers registered in the same order and under the same names, so that weights
load by name or by order.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def relative_position_index(window: int) -> torch.Tensor:
    """``(window⁴,)`` long: for each (query, key) pair of a window's w² tokens, the row of the
    ``((2w − 1)², heads)`` bias table for their offset (dy, dx): ``(dy + w − 1)·(2w − 1) + dx + w − 1``."""
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)  # (w², w², 2), from 0
    return (rel[:, :, 0] * (2 * window - 1) + rel[:, :, 1]).flatten()


def shift_mask(padded_h: int, padded_w: int, window: int, shift: tuple[int, int], device: torch.device,
               dtype: torch.dtype) -> torch.Tensor:
    """``(windows, w², w²)``: 0 between tokens of one region of the rolled map, −100 between tokens that the
    cyclic shift brought together from apart (Swin's mask, region by region as torchvision labels them)."""
    labels = torch.zeros(padded_h, padded_w, device=device, dtype=dtype)
    count = 0
    for h in ((0, -window), (-window, -shift[0]), (-shift[0], None)):
        for w in ((0, -window), (-window, -shift[1]), (-shift[1], None)):
            labels[h[0]:h[1], w[0]:w[1]] = count
            count += 1
    labels = labels.view(padded_h // window, window, padded_w // window, window).permute(0, 2, 1, 3)
    labels = labels.reshape(-1, window * window)
    diff = labels.unsqueeze(1) - labels.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class WindowAttention(nn.Module):
    """Multi-head self-attention within ``window×window`` windows of an ``(N, H, W, C)`` map, the windows
    shifted by ``shift`` (W-MSA and SW-MSA, Liu et al. 2021), with a learned relative position bias.

    The map is padded (zeros, right and bottom) to a multiple of the window; an axis whose padded size the
    window covers whole is not shifted (torchvision: no shift where the window is not smaller than the
    padded map). Parameters: ``qkv`` (C → 3C), ``proj`` (C → C), ``relative_position_bias_table``
    ``((2w − 1)², heads)`` (truncated normal, std 0.02); buffer ``relative_position_index`` ``(w⁴,)``.
    """

    def __init__(self, dim: int, heads: int, window: int, shift: int = 0, *, qkv_bias: bool = True,
                 proj_bias: bool = True, attention_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.attention_dropout, self.dropout = attention_dropout, dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.register_buffer("relative_position_index", relative_position_index(window))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        ws, heads = self.window, self.heads
        x = F.pad(x, (0, 0, 0, (ws - w % ws) % ws, 0, (ws - h % ws) % ws))
        _, ph, pw, _ = x.shape
        shift = (0 if ws >= ph else self.shift, 0 if ws >= pw else self.shift)
        shifted = sum(shift) > 0
        if shifted:
            x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
        windows = (ph // ws) * (pw // ws)
        x = x.view(b, ph // ws, ws, pw // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b * windows, ws * ws, c)
        qkv = self.qkv(x).reshape(x.size(0), x.size(1), 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (c // heads) ** -0.5).matmul(k.transpose(-2, -1))
        n = ws * ws
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if shifted:
            mask = shift_mask(ph, pw, ws, shift, x.device, x.dtype)
            attn = attn.view(b, windows, heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, heads, n, n)
        attn = F.dropout(F.softmax(attn, dim=-1), p=self.attention_dropout, training=self.training)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), n, c)
        x = F.dropout(self.proj(x), p=self.dropout, training=self.training)
        x = x.view(b, ph // ws, pw // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2))
        return x[:, :h, :w, :].contiguous()

    def extra_repr(self) -> str:
        return f"heads={self.heads}, window={self.window}, shift={self.shift}"


class PatchMerging(nn.Module):
    """``(N, H, W, C)`` → ``(N, ⌈H/2⌉, ⌈W/2⌉, 2C)``: each 2×2 neighbourhood's four vectors concatenated in
    torchvision's order (x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]; an odd size padded with
    zeros first), LayerNorm(4C), then Linear(4C → 2C) without bias. ``reduction`` is registered before
    ``norm``, as torchvision's."""

    def __init__(self, dim: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
        return self.reduction(self.norm(x))
