"""The torch half of the attention family. Imported only by ``build`` (it imports torch).

Sequences are batch-first ``(N, T, E)``.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils._python_dispatch import is_in_torch_dispatch_mode


def _countable() -> contextlib.AbstractContextManager[None]:
    """The math kernel while a dispatch mode (a FLOP counter) watches, else whatever torch picks.

    On CPU, ``scaled_dot_product_attention`` runs a fused kernel that ``torch.utils.flop_counter`` does
    not count; the math kernel computes the same products as matrix multiplications, which it counts.
    Outside a dispatch mode nothing changes, so the fused and flash kernels run on GPU.
    """
    return sdpa_kernel(SDPBackend.MATH) if is_in_torch_dispatch_mode() else contextlib.nullcontext()


class MultiheadAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention``'s parameters (same names, shapes and initialisation), computed with
    ``F.scaled_dot_product_attention`` on batch-first sequences.

    ``forward(query, [memory | key, value], [padding_mask])``: one sequence is self-attention; a memory
    gives keys and values; a padding mask ``(N, S)`` (nonzero = padding) comes last when
    ``padding_mask`` is set. Returns ``(N, T, E)`` (no attention weights).
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, causal: bool = False,
                 padding_mask: bool = False) -> None:
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
        self.causal, self.padding_mask = causal, padding_mask

    def projections(self, query: torch.Tensor, key: torch.Tensor,
                    value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values, ``(N, T|S, E)`` each."""
        if self._qkv_same_embed_dim and key is query and value is query:  # one product for all three
            q, k, v = F.linear(query, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
            return q, k, v
        if self._qkv_same_embed_dim:
            wq, wk, wv = self.in_proj_weight.chunk(3)
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        bq, bk, bv = self.in_proj_bias.chunk(3) if self.in_proj_bias is not None else (None, None, None)
        return F.linear(query, wq, bq), F.linear(key, wk, bk), F.linear(value, wv, bv)

    def forward(self, query: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        mask = None
        if self.padding_mask:
            *rest_list, mask = rest
            rest = tuple(rest_list)
        key = rest[0] if rest else query
        value = rest[-1] if rest else query
        n, t, e = query.shape
        s = key.shape[1]
        q, k, v = self.projections(query, key, value)
        q, k, v = (x.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2) for x in (q, k, v))
        attn_mask, causal = None, self.causal
        if mask is not None:
            attn_mask = (mask == 0).view(n, 1, 1, s)  # True: may be attended
            if causal:
                attn_mask = attn_mask & torch.ones(t, s, dtype=torch.bool, device=query.device).tril()
                causal = False
        with _countable():
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal,
                                                 dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).reshape(n, t, e))

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}"
