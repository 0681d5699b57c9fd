"""The parallel-residual decoders of specs/ against reference implementations: pythia_160m.yaml (GPT-NeoX,
blocks/gpt_neox.yaml) and phi_2.yaml (Phi, blocks/phi.yaml).

Everywhere (torch only): the two decoders written below in plain torch from their equations (explicit
softmax attention, RoPE in the complex form of the paper, GELU's formulas), with Hugging Face's parameter
names; a small configuration of each (2 layers, small widths) with random weights, copied by name into the
compiled spec of the same configuration written with the spec's block library, gives the same logits to
1e-5, and the full-size references (on torch's meta device) have the full-size specs' parameter shapes.
Where ``transformers`` imports (the side venv), the same against Hugging Face's own GPTNeoXForCausalLM and
PhiForCausalLM, built from the published configs written by hand (no download; the full sizes on the meta
device): the logits of the small ones, and every parameter's shape and the total of the full-size ones.
The expected numbers come from those models, never from netspec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import torch.nn as nn

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
        e, d = w.shape[1], w.shape[1] // heads
        out[mine + "branch1.attention.in_proj_weight"] = w.view(heads, 3, d, e).transpose(0, 1).reshape(3 * e, e)
        out[mine + "branch1.attention.in_proj_bias"] = b.view(heads, 3, d).transpose(0, 1).reshape(3 * e)
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
                             ("parallel.branch2.mlp.fc1", "mlp.fc1"),
                             ("parallel.branch2.mlp.fc2", "mlp.fc2")]:
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



# --- the decoders written here -----------------------------------------------------------------------
def _rotary(x: torch.Tensor, turned: int, theta: float = 10000.0) -> torch.Tensor:
    """RoPE (Su et al. 2021, eq. 34 in complex form) on the first ``turned`` features of ``x`` (N, heads, T, d):
    feature pair (x_i, x_{i+turned/2}) is the complex number x_i + i·x_{i+turned/2}, multiplied by
    e^{i·t·θ^(−2i/turned)} at position t; the other features pass unturned (GPT-NeoX's and Phi's partial
    rotary)."""
    t, half = x.shape[-2], turned // 2
    angle = torch.arange(t, dtype=torch.float64)[:, None] * theta ** (-torch.arange(half, dtype=torch.float64) * 2
                                                                       / turned)
    z = torch.complex(x[..., :half].double(), x[..., half:turned].double()) * torch.polar(torch.ones_like(angle),
                                                                                          angle)
    return torch.cat((z.real.to(x.dtype), z.imag.to(x.dtype), x[..., turned:]), dim=-1)


def _causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, turned: int) -> torch.Tensor:
    """softmax(q·kᵀ/√d + causal mask)·v per head, RoPE on q and k first; (N, heads, T, d) → (N, T, heads·d)."""
    q, k = _rotary(q, turned), _rotary(k, turned)
    t, d = q.shape[-2], q.shape[-1]
    scores = q @ k.transpose(-1, -2) / d ** 0.5
    scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2).flatten(2)


def _gelu_erf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:  # "gelu_new" (Hendrycks & Gimpel 2016, the tanh approximation)
    return 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))


def _module(**children: nn.Module) -> nn.Module:
    holder = nn.Module()
    for name, child in children.items():
        holder.add_module(name, child)
    return holder


class NeoXReference(nn.Module):
    """GPT-NeoX (Black et al. 2022, sec. 2.1): x + attention(LN₁(x)) + MLP(LN₂(x)) per layer, q, k and v fused
    head by head in query_key_value, exact GELU, untied embed_out; Hugging Face's parameter names."""

    def __init__(self, vocab: int, e: int, heads: int, mlp: int, layers: int, rotary_pct: float) -> None:
        super().__init__()
        self.heads, self.turned = heads, int(e // heads * rotary_pct)
        self.gpt_neox = _module(embed_in=nn.Embedding(vocab, e), layers=nn.ModuleList(_module(
            input_layernorm=nn.LayerNorm(e), post_attention_layernorm=nn.LayerNorm(e),
            attention=_module(query_key_value=nn.Linear(e, 3 * e), dense=nn.Linear(e, e)),
            mlp=_module(dense_h_to_4h=nn.Linear(e, mlp), dense_4h_to_h=nn.Linear(mlp, e))) for _ in range(layers)),
            final_layer_norm=nn.LayerNorm(e))
        self.embed_out = nn.Linear(e, vocab, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.gpt_neox.embed_in(ids)
        n, t, e = x.shape
        for layer in self.gpt_neox.layers:
            qkv = layer.attention.query_key_value(layer.input_layernorm(x)).view(n, t, self.heads, 3, e // self.heads)
            q, k, v = (qkv[:, :, :, i].transpose(1, 2) for i in range(3))
            attention = layer.attention.dense(_causal_attention(q, k, v, self.turned))
            mlp = layer.mlp.dense_4h_to_h(_gelu_erf(layer.mlp.dense_h_to_4h(layer.post_attention_layernorm(x))))
            x = x + attention + mlp
        return self.embed_out(self.gpt_neox.final_layer_norm(x))


class PhiReference(nn.Module):
    """Phi: h = LN(x), x + attention(h) + MLP(h) per layer, separate q, k, v projections and dense, gelu_new,
    an untied lm_head with a bias; Hugging Face's parameter names."""

    def __init__(self, vocab: int, e: int, heads: int, mlp: int, layers: int, rotary: float) -> None:
        super().__init__()
        self.heads, self.turned = heads, int(e // heads * rotary)
        self.model = _module(embed_tokens=nn.Embedding(vocab, e), layers=nn.ModuleList(_module(
            input_layernorm=nn.LayerNorm(e),
            self_attn=_module(**{name: nn.Linear(e, e) for name in ("q_proj", "k_proj", "v_proj", "dense")}),
            mlp=_module(fc1=nn.Linear(e, mlp), fc2=nn.Linear(mlp, e))) for _ in range(layers)),
            final_layernorm=nn.LayerNorm(e))
        self.lm_head = nn.Linear(e, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            h, attn = layer.input_layernorm(x), layer.self_attn
            q, k, v = (p(h).unflatten(-1, (self.heads, -1)).transpose(1, 2) for p in (attn.q_proj, attn.k_proj,
                                                                                       attn.v_proj))
            x = x + attn.dense(_causal_attention(q, k, v, self.turned)) + layer.mlp.fc2(_gelu_tanh(layer.mlp.fc1(h)))
        return self.lm_head(self.model.final_layernorm(x))


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


REFERENCES = [
    ("neox", lambda: NeoXReference(VOCAB, NEOX_WIDTH, HEADS, MLP, 2, 0.25), SMALL_NEOX, "gpt_neox.yaml", NEOX_WIDTH,
     neox_weights),
    ("phi", lambda: PhiReference(VOCAB, PHI_WIDTH, HEADS, MLP, 2, 0.4), SMALL_PHI, "phi.yaml", PHI_WIDTH,
     phi_weights),
]


@pytest.mark.parametrize("make,template,library,width,weights", [r[1:] for r in REFERENCES],
                         ids=[r[0] for r in REFERENCES])
def test_small_spec_computes_the_reference_written_here(make, template, library, width, weights, tmp_path: Path):
    torch.manual_seed(0)
    theirs = _perturbed(make())
    ours = _small_spec(tmp_path, template, library, width)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    _load(ours, weights(theirs.state_dict(), 2, HEADS))
    x = torch.randint(0, VOCAB, (2, 13))
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name,make,weights,layers,heads", [
    ("pythia_160m", lambda: NeoXReference(50304, 768, 12, 3072, 12, 0.25), neox_weights, 12, 12),
    ("phi_2", lambda: PhiReference(51200, 2560, 32, 10240, 32, 0.4), phi_weights, 32, 32),
], ids=["pythia_160m", "phi_2"])
def test_full_size_spec_has_the_references_parameters(name, make, weights, layers, heads):
    with torch.device("meta"):
        theirs = make()
    net = netspec.analyze(SPECS / f"{name}.yaml").network()
    mine = {f"{node.name}.{k}": shape for node in net.nodes for k, shape in node.params.items()}
    assert mine == {k: tuple(v.shape) for k, v in weights(theirs.state_dict(), layers, heads).items()}
    assert net.params == sum(p.numel() for p in theirs.parameters())


def test_a_phi_folder_loads_by_name(tmp_path: Path):
    """Phi's ``save_pretrained`` folder (model.safetensors) loads into the block library's spec by its names
    alone (``model.layers.i.`` is ``layers.phi_layer_{i+1}.``, ``self_attn.dense`` the attention's
    ``out_proj``): Hugging Face's logits, with no test helper mapping a name."""
    transformers = _transformers()
    if transformers is None:
        pytest.skip("transformers is not importable here")
    torch.manual_seed(0)
    theirs = _perturbed(transformers.PhiForCausalLM(_phi_config(transformers, hidden_size=PHI_WIDTH, **SMALL)))
    theirs.save_pretrained(tmp_path / "phi")
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_PHI.format(library=(SPECS / "blocks" / "phi.yaml").as_posix(), vocab=VOCAB, width=PHI_WIDTH,
                                     heads=HEADS, mlp=MLP, rotary=0.4), encoding="utf-8")
    ours = netspec.compile(path, weights=tmp_path / "phi").eval()
    assert ours.netspec_weights.complete and "by name" in ours.netspec_weights.summary()
    x = torch.randint(0, VOCAB, (2, 13))
    with torch.no_grad():
        assert torch.allclose(ours(x), theirs(x).logits, atol=1e-5, rtol=1e-4)
