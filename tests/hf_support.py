"""Helpers of the tests that compare with Hugging Face models (run where `transformers` imports)."""

from pathlib import Path

import torch

BLOCKS = Path(__file__).resolve().parents[1] / "specs" / "blocks"


def small_decoder(library: str, layer: str, tied: bool = False) -> str:
    """A two-layer decoder of width 64 over a vocabulary of 97, Hugging Face's ``*ForCausalLM`` layout
    (embed_tokens, layers, norm, lm_head): ``layer`` is the block item (``llama_layer: {dim: 64, ...}``) of the
    library ``specs/blocks/<library>``; ``tied``: lm_head is the token embedding."""
    tie = "    tie: {weight: embed_tokens}\n" if tied else ""
    return (f"netspec: 1\nname: small\nimports: [{(BLOCKS / library).as_posix()}]\n"
            "input: {shape: [T], dtype: long}\nlayers:\n  - embedding: {vocab: 97, dim: 64}\n    name: embed_tokens\n"
            f"  - {layer}\n    repeat: 2\n    name: layers\n  - rms_norm: {{eps: 1.0e-5}}\n    name: norm\n"
            f"  - dense: {{units: 97, bias: false}}\n{tie}    name: lm_head\n")


def copy_llama_weights(ours_model: torch.nn.Module, theirs: torch.nn.Module, layer: str) -> None:
    """Hugging Face LLaMA-layout weights (``LlamaForCausalLM``/``MistralForCausalLM`` with two layers) into the
    compiled spec of the block library's layers named ``{layer}_1``, ``{layer}_2``."""
    ours, sd = dict(ours_model.named_parameters()), theirs.state_dict()
    with torch.no_grad():
        ours["embed_tokens.weight"].copy_(sd["model.embed_tokens.weight"])
        for i in range(2):
            p, h = f"layers.{layer}_{i + 1}.", f"model.layers.{i}."
            for mine, hf in [("attention.input_layernorm.weight", "input_layernorm.weight"),
                             ("attention.self_attn.q_proj.weight", "self_attn.q_proj.weight"),
                             ("attention.self_attn.k_proj.weight", "self_attn.k_proj.weight"),
                             ("attention.self_attn.v_proj.weight", "self_attn.v_proj.weight"),
                             ("attention.self_attn.out_proj.weight", "self_attn.o_proj.weight"),
                             ("mlp.post_attention_layernorm.weight", "post_attention_layernorm.weight"),
                             ("mlp.swiglu.branch1.gate_proj.weight", "mlp.gate_proj.weight"),
                             ("mlp.swiglu.branch2.up_proj.weight", "mlp.up_proj.weight"),
                             ("mlp.down_proj.weight", "mlp.down_proj.weight")]:
                ours[p + mine].copy_(sd[h + hf])
        ours["norm.weight"].copy_(sd["model.norm.weight"])
        ours["lm_head.weight"].copy_(sd["lm_head.weight"])
