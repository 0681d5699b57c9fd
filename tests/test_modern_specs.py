"""The parallel-residual decoders of specs/ against Hugging Face's models: pythia_160m.yaml (GPT-NeoX,
blocks/gpt_neox.yaml) and phi_2.yaml (Phi, blocks/phi.yaml).

Where ``transformers`` imports (the side venv): a small configuration of each (2 layers, small widths) is
built in Hugging Face with random weights, the weights are copied by name into the compiled spec of the same
small configuration written with the spec's block library, and the logits agree to 1e-5; the full-size
specs have, parameter by parameter, the shapes of Hugging Face's model built from the published config on
torch's meta device (no download, no memory), and its total. The expected numbers come from Hugging Face,
never from netspec. Without ``transformers`` these tests skip: the specs pin the counts worked by hand in
their comments (``expect:``), which tests/test_specs.py checks everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch

import netspec

SPECS = Path(__file__).resolve().parents[1] / "specs"
VOCAB, HEADS, MLP = 97, 4, 96  # the small configurations
NEOX_WIDTH = 64  # heads of 16: rotary_pct 0.25 turns 4 (Pythia: 16 of 64)
PHI_WIDTH = 80  # heads of 20: partial_rotary_factor 0.4 turns 8 (phi-2: 32 of 80)

SMALL_NEOX = """\
netspec: 1
name: small_neox
imports: [{library}]
input: {{shape: [T], dtype: long}}
layers:
  - embedding: {{vocab: {vocab}, dim: {width}}}
    name: embed_in
  - neox_layer: {{dim: {width}, heads: {heads}, mlp: {mlp}, rotary_pct: 0.25}}
    repeat: 2
    name: layers
  - layernorm: {{eps: 1.0e-5}}
    name: final_layer_norm
  - dense: {{units: {vocab}, bias: false}}
    name: embed_out
"""

SMALL_PHI = """\
netspec: 1
name: small_phi
imports: [{library}]
input: {{shape: [T], dtype: long}}
layers:
  - embedding: {{vocab: {vocab}, dim: {width}}}
    name: embed_tokens
  - phi_layer: {{dim: {width}, heads: {heads}, mlp: {mlp}, rotary: {rotary}, dropout: 0.1}}
    repeat: 2
    name: layers
  - layernorm: {{eps: 1.0e-5}}
    name: final_layernorm
  - dense: {vocab}
    name: lm_head
"""


def _transformers() -> Any:
    try:
        import transformers
    except Exception:  # absent, or a build that does not match this torch
        return None
    return transformers


def _neox_config(transformers: Any, parallel: bool = True, **sizes: Any) -> Any:
    return transformers.GPTNeoXConfig(rotary_pct=0.25, rope_theta=10000.0, hidden_act="gelu", layer_norm_eps=1e-5,
                                      use_parallel_residual=parallel, tie_word_embeddings=False,
                                      attn_implementation="eager", **sizes)


def _phi_config(transformers: Any, **sizes: Any) -> Any:
    return transformers.PhiConfig(partial_rotary_factor=0.4, rope_theta=10000.0, hidden_act="gelu_new",
                                  layer_norm_eps=1e-5, resid_pdrop=0.1, embd_pdrop=0.0, attention_dropout=0.0,
                                  tie_word_embeddings=False, attn_implementation="eager", **sizes)


def neox_weights(sd: dict[str, torch.Tensor], layers: int, heads: int) -> dict[str, torch.Tensor]:
    """GPTNeoXForCausalLM's state dict under this spec's names. Hugging Face fuses q, k and v head by head
    (rows: head 0's q, k, v, then head 1's ...); the attention's in_proj stacks all of q, then k, then v."""
    head = "embed_out.weight" if "embed_out.weight" in sd else "lm_head.weight"  # transformers 5's name for it
    out = {"embed_in.weight": sd["gpt_neox.embed_in.weight"],
           "final_layer_norm.weight": sd["gpt_neox.final_layer_norm.weight"],
           "final_layer_norm.bias": sd["gpt_neox.final_layer_norm.bias"],
           "embed_out.weight": sd[head]}
    for i in range(layers):
        mine, hf = f"layers.neox_layer_{i + 1}.parallel.", f"gpt_neox.layers.{i}."
        w, b = sd[hf + "attention.query_key_value.weight"], sd[hf + "attention.query_key_value.bias"]
        e = w.shape[1]
        out[mine + "branch1.attention.in_proj_weight"] = w.view(heads, 3, e // heads, e).transpose(0, 1).reshape(3 * e, e)
        out[mine + "branch1.attention.in_proj_bias"] = b.view(heads, 3, e // heads).transpose(0, 1).reshape(3 * e)
        for ours, theirs in [("branch1.input_layernorm", "input_layernorm"),
                             ("branch1.attention.out_proj", "attention.dense"),
                             ("branch2.post_attention_layernorm", "post_attention_layernorm"),
                             ("branch2.dense_h_to_4h", "mlp.dense_h_to_4h"),
                             ("branch2.dense_4h_to_h", "mlp.dense_4h_to_h")]:
            for p in ("weight", "bias"):
                out[f"{mine}{ours}.{p}"] = sd[f"{hf}{theirs}.{p}"]
    return out


def phi_weights(sd: dict[str, torch.Tensor], layers: int, heads: int) -> dict[str, torch.Tensor]:
    """PhiForCausalLM's state dict under this spec's names (self_attn.dense is the attention's out_proj)."""
    out = {"embed_tokens.weight": sd["model.embed_tokens.weight"]}
    for p in ("weight", "bias"):
        out[f"final_layernorm.{p}"] = sd[f"model.final_layernorm.{p}"]
        out[f"lm_head.{p}"] = sd[f"lm_head.{p}"]
    for i in range(layers):
        mine, hf = f"layers.phi_layer_{i + 1}.", f"model.layers.{i}."
        for ours, theirs in [("input_layernorm", "input_layernorm"),
                             ("parallel.branch1.self_attn.q_proj", "self_attn.q_proj"),
                             ("parallel.branch1.self_attn.k_proj", "self_attn.k_proj"),
                             ("parallel.branch1.self_attn.v_proj", "self_attn.v_proj"),
                             ("parallel.branch1.self_attn.out_proj", "self_attn.dense"),
                             ("parallel.branch2.fc1", "mlp.fc1"),
                             ("parallel.branch2.fc2", "mlp.fc2")]:
            for p in ("weight", "bias"):
                out[f"{mine}{ours}.{p}"] = sd[f"{hf}{theirs}.{p}"]
    return out


def _perturbed(model: torch.nn.Module) -> torch.nn.Module:
    """Every parameter moved off Hugging Face's initialisation (zero biases, unit LayerNorms), so that each
    one is compared."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def _small_spec(tmp_path: Path, template: str, library: str, width: int, rotary: float = 0.4) -> torch.nn.Module:
    path = tmp_path / "small.yaml"
    path.write_text(template.format(library=(SPECS / "blocks" / library).as_posix(), vocab=VOCAB, width=width,
                                    heads=HEADS, mlp=MLP, rotary=rotary), encoding="utf-8")
    return netspec.compile(path).eval()


def _load(ours: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    params = dict(ours.named_parameters())
    assert set(weights) == set(params), sorted(set(weights) ^ set(params))
    with torch.no_grad():
        for name, w in weights.items():
            params[name].copy_(w)


SMALL = dict(vocab_size=VOCAB, num_hidden_layers=2, num_attention_heads=HEADS, intermediate_size=MLP)


def test_small_gpt_neox_computes_hugging_faces_logits(tmp_path: Path):
    transformers = _transformers()
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec's counts are pinned by hand in its comments")
    torch.manual_seed(0)
    theirs = _perturbed(transformers.GPTNeoXForCausalLM(_neox_config(transformers, hidden_size=NEOX_WIDTH, **SMALL)))
    ours = _small_spec(tmp_path, SMALL_NEOX, "gpt_neox.yaml", NEOX_WIDTH)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    _load(ours, neox_weights(theirs.state_dict(), 2, HEADS))
    # the same weights in GPT-NeoX's sequential layer (use_parallel_residual: false) compute something else
    sequential = transformers.GPTNeoXForCausalLM(_neox_config(
        transformers, parallel=False, hidden_size=NEOX_WIDTH, **SMALL)).eval()
    sequential.load_state_dict(theirs.state_dict())
    x = torch.randint(0, VOCAB, (2, 13))
    with torch.no_grad():
        expected = theirs(x).logits
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(sequential(x).logits, expected, atol=1e-3)


def test_small_phi_computes_hugging_faces_logits(tmp_path: Path):
    transformers = _transformers()
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec's counts are pinned by hand in its comments")
    torch.manual_seed(0)
    theirs = _perturbed(transformers.PhiForCausalLM(_phi_config(transformers, hidden_size=PHI_WIDTH, **SMALL)))
    ours = _small_spec(tmp_path, SMALL_PHI, "phi.yaml", PHI_WIDTH)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    _load(ours, phi_weights(theirs.state_dict(), 2, HEADS))
    x = torch.randint(0, VOCAB, (2, 13))
    with torch.no_grad():
        expected = theirs(x).logits
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)
        # partial rotary matters: 8 of each head's 20 features turned; the same weights turning all 20 compute
        # something else
        whole = _small_spec(tmp_path, SMALL_PHI, "phi.yaml", PHI_WIDTH, rotary=1.0)
        _load(whole, phi_weights(theirs.state_dict(), 2, HEADS))
        assert not torch.allclose(whole(x), expected, atol=1e-3)


FULL: list[tuple[str, Callable[[Any], Any], Callable[..., dict[str, torch.Tensor]], int, int]] = [
    # published configs: EleutherAI/pythia-160m and microsoft/phi-2 (config.json), written by hand
    ("pythia_160m", lambda t: t.GPTNeoXForCausalLM(_neox_config(
        t, vocab_size=50304, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=2048)), neox_weights, 12, 12),
    ("phi_2", lambda t: t.PhiForCausalLM(_phi_config(
        t, vocab_size=51200, hidden_size=2560, num_hidden_layers=32, num_attention_heads=32,
        intermediate_size=10240, max_position_embeddings=2048)), phi_weights, 32, 32),
]


@pytest.mark.parametrize("name,make,weights,layers,heads", FULL, ids=[f[0] for f in FULL])
def test_full_size_spec_has_hugging_faces_parameters(name, make, weights, layers, heads):
    transformers = _transformers()
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec's counts are pinned by hand in its comments")
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        theirs = make(transformers)
    net = netspec.analyze(SPECS / f"{name}.yaml").network()
    mine = {f"{node.name}.{k}": shape for node in net.nodes for k, shape in node.params.items()}
    mapped = {k: tuple(v.shape) for k, v in weights(theirs.state_dict(), layers, heads).items()}
    assert mine == mapped
    assert net.params == sum(p.numel() for p in theirs.parameters())
