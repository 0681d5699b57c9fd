"""The torch half of the attention family. Imported only by ``build`` (it imports torch).

Sequences are batch-first ``(N, T, E)``.
"""

from __future__ import annotations

import contextlib
import math

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


def rope_frequencies(dim: int, theta: float, scaling: dict | None = None, *, dtype: torch.dtype = torch.float32,
                     device: torch.device | None = None) -> torch.Tensor:
    """RoPE's ``dim/2`` angular frequencies ``θ^(−2i/dim)`` (radians per position), scaled as ``scaling`` says
    (Hugging Face's ``rope_scaling`` mapping; None: unscaled):

    - ``linear`` (position interpolation, Chen et al. 2023): every frequency divided by ``factor``;
    - ``llama3`` (Llama 3.1, Meta's ``apply_scaling``): with L = ``original_max_position_embeddings``, a
      frequency of wavelength ``λ = 2π/f`` above ``L/low_freq_factor`` is divided by ``factor``, one below
      ``L/high_freq_factor`` is kept, and between them ``(1 − s)·f/factor + s·f`` with
      ``s = (L/λ − low_freq_factor) / (high_freq_factor − low_freq_factor)``.
    """
    inv_freq = 1.0 / theta ** (torch.arange(0, dim, 2, device=device, dtype=dtype) / dim)
    if scaling is None:
        return inv_freq
    factor = scaling["factor"]
    if scaling["rope_type"] == "linear":
        return inv_freq / factor
    low, high, length = (scaling["low_freq_factor"], scaling["high_freq_factor"],
                         scaling["original_max_position_embeddings"])
    wavelength = 2 * math.pi / inv_freq
    smooth = (length / wavelength - low) / (high - low)
    between = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    return torch.where(wavelength > length / low, inv_freq / factor,
                       torch.where(wavelength < length / high, inv_freq, between))


def _steps(x: torch.Tensor) -> torch.Tensor:
    """``0, 1, ..., T − 1`` as a ``(T, 1)`` long column for ``x`` ``(N, heads, T, d)``, counted along ``x``'s own
    steps: an ONNX trace folds ``arange(T)`` and ``ones_like(x)`` into constants of the example's length; a
    comparison of x with itself stays in the graph (and is true for nan too), so the file runs at any length."""
    step = x[0, 0, :, :1]
    return ((step == step) | (step != step)).long().cumsum(0) - 1


def rotary(x: torch.Tensor, theta: float, *, dim: int | None = None, scaling: dict | None = None) -> torch.Tensor:
    """Rotary position embedding (RoPE; Su et al. 2021, "RoFormer", eq. 34) of ``x`` ``(N, heads, T, d)`` at
    positions ``0 .. T-1``: of the first ``dim`` features (default all ``d``; fewer is GPT-NeoX's and Phi's
    partial rotary, the rest passing unturned), feature ``i`` and ``i + dim/2`` turn together by ``t·f_i``, the
    halves layout of GPT-NeoX and Hugging Face's LLaMA (``rotate_half``), with the frequencies ``f`` of
    :func:`rope_frequencies`. Angles in float64 for float64 inputs, else float32 (as Hugging Face's).
    Elementwise: no parameters, no multiply-adds counted."""
    d = x.shape[-1]
    r = dim or d
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    angles = _steps(x).to(dtype) * rope_frequencies(r, theta, scaling, dtype=dtype, device=x.device)  # (T, r/2)
    angles = torch.cat((angles, angles), dim=-1)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    turned, rest = x[..., :r], x[..., r:]
    first, second = turned[..., : r // 2], turned[..., r // 2:]
    turned = turned * cos + torch.cat((-second, first), dim=-1) * sin
    return turned if r == d else torch.cat((turned, rest), dim=-1)


def _inputs(query: torch.Tensor, rest: tuple[torch.Tensor, ...], padding_mask: bool
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(key, value, padding mask or None) from forward's inputs after the query."""
    mask = None
    if padding_mask:
        *rest_list, mask = rest
        rest = tuple(rest_list)
    return (rest[0] if rest else query), (rest[-1] if rest else query), mask


def _attend(module: nn.Module, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None,
            heads: int, kv_heads: int) -> torch.Tensor:
    """Scaled dot-product attention of projected ``q`` ``(N, T, heads·d)``, ``k``/``v`` ``(N, S, kv_heads·d)``:
    heads split, RoPE when the module has ``rope_theta`` (its ``rotary_dim`` features, its ``rope_scaling``), a
    causal mask limited to the last ``sliding_window`` keys when it has one, each key/value head shared by
    ``heads/kv_heads`` query heads (``repeat_interleave``, as Hugging Face's ``repeat_kv``). Returns
    ``(N, T, heads·d)``."""
    n, s = q.shape[0], k.shape[1]
    d = q.shape[-1] // heads
    q = q.unflatten(-1, (heads, d)).transpose(1, 2)
    k, v = (x.unflatten(-1, (kv_heads, d)).transpose(1, 2) for x in (k, v))
    if module.rope_theta is not None:
        turn = {name: value for name, value in (("dim", module.rotary_dim), ("scaling", module.rope_scaling))
                if value is not None}  # plain RoPE is rotary(x, theta)
        q, k = rotary(q, module.rope_theta, **turn), rotary(k, module.rope_theta, **turn)
    if kv_heads != heads:
        k, v = k.repeat_interleave(heads // kv_heads, dim=1), v.repeat_interleave(heads // kv_heads, dim=1)
    attn_mask, causal = None, module.causal
    if mask is not None:
        attn_mask = (mask == 0).view(n, 1, 1, s)  # True: may be attended
    if causal and (mask is not None or module.sliding_window is not None):  # one boolean mask for all
        rows, cols = _steps(q), _steps(k).T  # (T, 1) query positions, (1, S) key positions
        allowed = cols <= rows
        if module.sliding_window is not None:  # the last W keys: t − W < s ≤ t
            allowed = allowed & (cols > rows - module.sliding_window)
        attn_mask = allowed if attn_mask is None else attn_mask & allowed
        causal = False
    with _countable():
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, is_causal=causal,
                                             dropout_p=module.dropout if module.training else 0.0)
    return out.transpose(1, 2).flatten(2)


def _position_repr(module: nn.Module) -> str:
    """The position options set on ``module``, for ``extra_repr``."""
    return "".join(f", {name}={getattr(module, name)}" for name in ("rope_theta", "rotary_dim", "rope_scaling",
                                                                     "sliding_window")
                   if getattr(module, name) is not None)


class MultiheadAttention(nn.MultiheadAttention):
    """``nn.MultiheadAttention``'s parameters (same names, shapes and initialisation), computed with
    ``F.scaled_dot_product_attention`` on batch-first sequences.

    ``forward(query, [memory | key, value], [padding_mask])``: one sequence is self-attention; a memory
    gives keys and values; a padding mask ``(N, S)`` (nonzero = padding) comes last when
    ``padding_mask`` is set. ``rope_theta``: rotary position embedding on queries and keys (None: none), on
    their first ``rotary_dim`` features of each head (None: all), its frequencies scaled as ``rope_scaling``
    (Hugging Face's mapping) says; ``sliding_window``: with ``causal``, each query attends its last W keys.
    Returns ``(N, T, E)`` (no attention weights).
    """

    def __init__(self, embed_dim: int, num_heads: int, *, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, causal: bool = False,
                 padding_mask: bool = False, rope_theta: float | None = None, rope_scaling: dict | None = None,
                 rotary_dim: int | None = None, sliding_window: int | None = None) -> None:
        super().__init__(embed_dim, num_heads, dropout=dropout, bias=bias, kdim=kdim, vdim=vdim, batch_first=True)
        self.causal, self.padding_mask, self.rope_theta = causal, padding_mask, rope_theta
        self.rope_scaling, self.rotary_dim, self.sliding_window = rope_scaling, rotary_dim, sliding_window

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
        key, value, mask = _inputs(query, rest, self.padding_mask)
        q, k, v = self.projections(query, key, value)
        return self.out_proj(_attend(self, q, k, v, mask, self.num_heads, self.num_heads))

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}" + _position_repr(self)


class GroupedQueryAttention(nn.Module):
    """Grouped-query attention (Ainslie et al. 2023, "GQA"; ``num_kv_heads = 1`` is multi-query attention,
    Shazeer 2019): queries in ``num_heads`` heads of ``d = E/num_heads`` features, keys and values in
    ``num_kv_heads`` heads, each shared by ``num_heads/num_kv_heads`` query heads.

    Parameters (the layout of Hugging Face's LLaMA, with ``out_proj`` for its ``o_proj``): ``q_proj``
    ``(E, E)``, ``k_proj`` ``(num_kv_heads·d, E_k)``, ``v_proj`` ``(num_kv_heads·d, E_v)``, ``out_proj``
    ``(E, E)``, each with a bias when ``bias`` (``out_proj``'s: ``out_bias``, default ``bias``); initialised as
    ``nn.MultiheadAttention`` initialises its own (Xavier-uniform projections, zero biases). ``forward`` takes the inputs of :class:`MultiheadAttention`.
    """

    # other names a state dict gives these submodules (the weights loader reads them): Hugging Face's LLaMA,
    # Mistral, Qwen and Gemma call the output projection o_proj, its Phi dense
    SUBMODULE_SPELLINGS = {"out_proj": ("o_proj", "dense")}

    def __init__(self, embed_dim: int, num_heads: int, num_kv_heads: int, *, dropout: float = 0.0,
                 bias: bool = True, kdim: int | None = None, vdim: int | None = None, causal: bool = False,
                 padding_mask: bool = False, rope_theta: float | None = None, rope_scaling: dict | None = None,
                 rotary_dim: int | None = None, sliding_window: int | None = None,
                 out_bias: bool | None = None) -> None:
        super().__init__()
        if embed_dim % num_heads or num_heads % num_kv_heads:  # the layer's checks said so with its place
            raise ValueError(f"num_heads ({num_heads}) must divide embed_dim ({embed_dim}) and be a multiple of "
                             f"num_kv_heads ({num_kv_heads})")
        self.embed_dim, self.num_heads, self.num_kv_heads = embed_dim, num_heads, num_kv_heads
        self.dropout, self.causal, self.padding_mask, self.rope_theta = dropout, causal, padding_mask, rope_theta
        self.rope_scaling, self.rotary_dim, self.sliding_window = rope_scaling, rotary_dim, sliding_window
        kv = embed_dim // num_heads * num_kv_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = nn.Linear(kdim or embed_dim, kv, bias=bias)
        self.v_proj = nn.Linear(vdim or embed_dim, kv, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias if out_bias is None else out_bias)
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            nn.init.xavier_uniform_(proj.weight)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                nn.init.zeros_(proj.bias)

    def forward(self, query: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
        key, value, mask = _inputs(query, rest, self.padding_mask)
        q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
        return self.out_proj(_attend(self, q, k, v, mask, self.num_heads, self.num_kv_heads))

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, num_kv_heads={self.num_kv_heads}, "
                f"causal={self.causal}" + _position_repr(self))
