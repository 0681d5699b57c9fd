"""Attention: ``attention`` (multi-head scaled dot-product attention, self or cross), and Swin's
``window_attention`` (shifted-window self-attention over a channels-last map) with ``patch_merging``
(its 2×2 downsampling between stages; Liu et al. 2021, as torchvision's swin_t).

Sequences are ``(T, E)`` per sample (time first, features last; batch-first ``(N, T, E)`` in torch), as
the recurrent layers read them; ``T`` may be symbolic. Inputs, by ``from:``:

- ``[x]`` (the default: the previous layer): self-attention, queries, keys and values all from ``x``;
- ``[query, memory]``: cross-attention, keys and values from ``memory`` ``(S, E_kv)``;
- ``[query, key, value]``: keys ``(S, E_k)`` and values ``(S, E_v)`` apart;
- with ``padding_mask: true``, one more input last: a key padding mask ``(S,)`` per sample (long), nonzero
  where the key is padding and must not be attended (torch's ``key_padding_mask``).

The output is ``(T, E)``, E the query's feature size. Parameters are laid out as torch's
``nn.MultiheadAttention`` so weights load by name: ``in_proj_weight`` ``(3E, E)`` (+ ``in_proj_bias``
``(3E,)``) when keys and values have E features, else ``q_proj_weight`` ``(E, E)``, ``k_proj_weight``
``(E, E_k)``, ``v_proj_weight`` ``(E, E_v)`` (+ ``in_proj_bias``); then ``out_proj.weight`` ``(E, E)``
(+ ``out_proj.bias``).

Grouped-query attention (``kv_heads`` below ``heads``; Ainslie et al. 2023, multi-query at 1) projects keys
and values to ``kv_heads`` heads of ``d = E/heads``, each shared by ``heads/kv_heads`` query heads. With
``kv_heads`` given (equal to ``heads`` too, as Llama 1 and 2) the parameters are Hugging Face LLaMA's
separate projections: ``q_proj`` ``(E, E)``, ``k_proj`` ``(kv_heads·d,
E_k)``, ``v_proj`` ``(kv_heads·d, E_v)``, ``out_proj`` ``(E, E)`` (``.weight``, + ``.bias``). ``rotary``
turns queries and keys by their position (RoPE, Su et al. 2021; LLaMA's halves pairing, base ``rope_theta``)
before the products; it has no parameters.

Position options, all without parameters, named as Hugging Face's configs name them:

- ``rope_type`` scales RoPE's frequencies for longer contexts: ``linear`` (position interpolation, Chen et
  al. 2023: every frequency divided by ``rope_factor``) or ``llama3`` (Llama 3.1 and later: frequencies whose
  wavelength exceeds ``original_max_position_embeddings / low_freq_factor`` divided by ``rope_factor``, those
  under ``original_max_position_embeddings / high_freq_factor`` kept, the ones between interpolated;
  Hugging Face's ``rope_scaling`` with its ``factor`` spelled ``rope_factor``);
- ``partial_rotary_factor`` (GPT-NeoX's ``rotary_pct``, Phi): RoPE turns only the first
  ``int(d·partial_rotary_factor)`` features of each head, halves paired within them; the rest pass;
- ``sliding_window: W`` (Mistral): causal attention to the last W keys, the query's own included (position
  t attends to t−W+1 .. t, Hugging Face's mask); it needs ``causal: true``.

MACs per sample are the four projections and the two attention products, each head's
``QKᵀ`` ``(T×d)·(d×S)`` and ``A·V`` ``(T×S)·(S×d)`` summed over the heads (d = E/heads)::

    T·E·E (queries) + S·E_k·E' (keys) + S·E_v·E' (values) + 2·T·S·E (QKᵀ, A·V) + T·E·E (output)

with E' = E, or ``kv_heads·d`` when grouped (every query head still reads all S keys).

i.e. ``4·T·E² + 2·T²·E`` for self-attention: what ``torch.utils.flop_counter`` counts with the math
kernel, and the convention of torchvision's documented ViT figures. Scaling, softmax, masking and
dropout are not multiply-adds and are not counted, nor is RoPE (elementwise, scaled or partial); a causal
mask does not halve the count, nor does a sliding window cut it to ``T·W`` (the math and fused kernels
compute the full ``T×S`` products, then mask them). With a symbolic length
the MACs are per step (symbolic sizes count as 1).

Swin's kinds read channels-last maps ``(H, W, C)`` (``(N, H, W, C)`` in torch; a conv's ``(C, H, W)``
output becomes one with ``permute: [1, 2, 0]``) and are laid out as torchvision's ``ShiftedWindowAttention``
and ``PatchMerging``, so that weights load by name or order. ``window_attention`` counts its products as
``attention`` does, window by window (T = window² tokens in each); ``patch_merging`` counts its projection.
"""

# The kind modules, in the order `netspec kinds` lists their kinds.
MODULES = ("attention", "window_attention", "patch_merging")
