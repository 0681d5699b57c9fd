"""Grouped-query attention and rotary position embeddings (attention's ``kv_heads``, ``rotary``,
``rope_theta``), and the LLaMA specs built from them.

Expected values come from torch computed here in another way (``scaled_dot_product_attention``'s own
``enable_gqa``; RoPE as the paper writes it, a complex rotation of feature pairs), from formulas worked by
hand, and from Hugging Face's ``LlamaForCausalLM`` when ``transformers`` is importable — never from
netspec's own output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError, SpecValidationError
from tests.hf_support import copy_llama_weights, small_decoder

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _layer(opts: dict, shape: list) -> tuple[torch.nn.Module, netspec.ir.graph.NetGraph]:
    net = netspec.analyze({"name": "probe", "input": shape, "layers": [{"kind": "attention", **opts}]}).network()
    model = compile_network(net).eval()
    return model.get_submodule(net.nodes[0].name), net


def _rope_complex(x: torch.Tensor, theta: float) -> torch.Tensor:
    """RoPE as Su et al. (2021) write it (eq. 34 in complex form): feature pair (x_i, x_{i+d/2}) is the complex
    number x_i + i·x_{i+d/2}, multiplied by e^{i·t·θ^(−2i/d)} at position t (the halves pairing of LLaMA)."""
    t, d = x.shape[-2], x.shape[-1]
    pos = torch.arange(t, dtype=torch.float64)[:, None]
    freq = theta ** (-torch.arange(0, d // 2, dtype=torch.float64) * 2 / d)
    z = torch.complex(x[..., : d // 2].double(), x[..., d // 2:].double()) * torch.polar(
        torch.ones(t, d // 2, dtype=torch.float64), pos * freq)
    return torch.cat((z.real, z.imag), dim=-1).to(x.dtype)


@pytest.mark.parametrize("heads,kv_heads,rotary,causal", [(4, 2, False, False), (4, 1, False, True),
                                                          (4, 2, True, True), (2, None, True, False),
                                                          (6, 3, True, False), (4, 4, True, True)])
def test_attention_is_sdpa_with_torchs_gqa_and_the_papers_rope(heads, kv_heads, rotary, causal):
    e, t, theta = 24, 7, 500000.0
    opts = {"heads": heads, "causal": causal, **({"kv_heads": kv_heads} if kv_heads else {}),
            **({"rotary": True, "rope_theta": theta} if rotary else {})}
    module, _ = _layer(opts, [t, e])
    torch.manual_seed(1)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)
    x = torch.randn(2, t, e)
    sd = module.state_dict()
    if kv_heads:  # given: LLaMA's separate projections, also at kv_heads = heads
        wq, wk, wv = sd["q_proj.weight"], sd["k_proj.weight"], sd["v_proj.weight"]
        bq, bk, bv = sd["q_proj.bias"], sd["k_proj.bias"], sd["v_proj.bias"]
        wo, bo = sd["out_proj.weight"], sd["out_proj.bias"]
    else:
        (wq, wk, wv), (bq, bk, bv) = sd["in_proj_weight"].chunk(3), sd["in_proj_bias"].chunk(3)
        wo, bo = sd["out_proj.weight"], sd["out_proj.bias"]
    d, kv = e // heads, kv_heads or heads
    q = (x @ wq.T + bq).view(2, t, heads, d).transpose(1, 2)
    k = (x @ wk.T + bk).view(2, t, kv, d).transpose(1, 2)
    v = (x @ wv.T + bv).view(2, t, kv, d).transpose(1, 2)
    if rotary:
        q, k = _rope_complex(q, theta), _rope_complex(k, theta)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=kv != heads)
    expected = out.transpose(1, 2).reshape(2, t, e) @ wo.T + bo
    assert torch.allclose(module(x), expected, atol=1e-5, rtol=1e-4)


def test_rotary_changes_scores_by_relative_position_only():
    """RoPE's point (Su et al. 2021, sec. 3.4.1): q_m·k_n depends on m − n. The same vector at positions
    (1, 3) and (4, 6) gives the same score; without rotary every position scores alike."""
    from netspec.layers.torch.attention import rotary

    torch.manual_seed(0)
    q, k = torch.randn(8), torch.randn(8)
    seq = lambda v: v.expand(1, 1, 7, 8)  # noqa: E731
    rq, rk = rotary(seq(q), 10000.0)[0, 0], rotary(seq(k), 10000.0)[0, 0]
    assert torch.allclose(rq[1] @ rk[3], rq[4] @ rk[6], atol=1e-5)
    assert not torch.allclose(rq[1] @ rk[3], rq[1] @ rk[1], atol=1e-3)
    assert torch.allclose(rq[0], q)  # position 0 is not turned


def test_grouped_query_counts_by_hand():
    # E = 32, 8 heads of 4, 2 kv heads: k and v project to 2·4 = 8.
    # params: q 32·32 + 32 = 1,056; k 8·32 + 8 = 264; v 264; out 1,056: 2,640
    # MACs at T = 10: q 10·32·32 = 10,240; k, v 2·10·32·8 = 5,120; QKᵀ, A·V 2·10·10·32 = 6,400; out 10,240: 32,000
    _, net = _layer({"heads": 8, "kv_heads": 2, "rotary": True}, [10, 32])
    assert (net.params, net.macs) == (2640, 32000)
    assert dict(net.nodes[0].params) == {"q_proj.weight": (32, 32), "q_proj.bias": (32,), "k_proj.weight": (8, 32),
                                         "k_proj.bias": (8,), "v_proj.weight": (8, 32), "v_proj.bias": (8,),
                                         "out_proj.weight": (32, 32), "out_proj.bias": (32,)}


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_grouped_query_macs_are_what_torch_counts(kv_heads):
    module, net = _layer({"heads": 4, "kv_heads": kv_heads, "causal": True, "rotary": True}, [9, 16])
    x = torch.randn(1, 9, 16)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module.train()(x)  # with grad, so the flop counter sees the attention products
    assert counter.get_total_flops() == 2 * net.macs


def test_rotary_over_a_symbolic_length_runs_at_any_length():
    net = netspec.analyze({"name": "s", "input": ["T", 16], "layers": [
        {"kind": "attention", "heads": 2, "kv_heads": 1, "rotary": True, "causal": True}]}).network()
    model = compile_network(net).eval()
    for t in (1, 5, 33):
        assert model(torch.randn(2, t, 16)).shape == (2, t, 16)


OPTION_ERRORS = [
    ("heads: 6, kv_heads: 4", "kv_heads", "expected a divisor of heads (6)"),
    ("heads: 2, out_bias: false", "out_bias", "needs separate q/k/v_proj (nn.MultiheadAttention has one bias switch "
                                              "for both); got false\n    hint: add kv_heads: 2"),
    ("heads: 2, kv_heads: 4", "kv_heads", "expected a divisor of heads (2)"),
    ("heads: 2, rope_theta: 500000.0", "rope_theta", "base of the rotary embedding; got 500000.0\n    hint: add rotary: true"),
    # RoPE scaling, partial rotary and sliding windows
    ("heads: 2, rope_type: llama3", "rope_type", "shapes the rotary embedding, which is off; got 'llama3'\n"
                                                 "    hint: add rotary: true"),
    ("heads: 2, partial_rotary_factor: 0.5", "partial_rotary_factor", "hint: add rotary: true"),
    ("heads: 2, rotary: true, rope_factor: 8.0", "rope_factor", "belongs to RoPE's frequency scaling; got 8.0\n"
                                                               "    hint: add rope_type: linear or llama3"),
    ("heads: 2, rotary: true, low_freq_factor: 1.0", "low_freq_factor", "hint: add rope_type: llama3"),
    ("heads: 2, rotary: true, rope_type: linear", "rope_type", "rope_type linear needs rope_factor"),
    ("heads: 2, rotary: true, rope_type: llama3, rope_factor: 8.0", "rope_type",
     "rope_type llama3 needs low_freq_factor, high_freq_factor, original_max_position_embeddings"),
    ("heads: 2, rotary: true, rope_type: llama3, rope_factor: 8.0, low_freq_factor: 4.0, high_freq_factor: 4.0, "
     "original_max_position_embeddings: 8192", "high_freq_factor", "expected more than low_freq_factor (4.0)"),
    ("heads: 2, rotary: true, rope_type: yarn", "rope_type", "'default', 'linear' or 'llama3'"),
    ("heads: 2, rotary: true, rope_type: linear, rope_factor: 0.5", "rope_factor",
     "expected a number from 1 to 1000000; got 0.5"),
    ("heads: 2, rotary: true, partial_rotary_factor: 1.5", "partial_rotary_factor",
     "expected a number > 0 and ≤ 1; got 1.5"),
    ("heads: 2, sliding_window: 4", "sliding_window", "is a causal mask (each position attends to its last "
                                                      "sliding_window keys, itself included); got 4\n"
                                                      "    hint: add causal: true"),
    ("heads: 2, causal: true, sliding_window: 0", "sliding_window", "expected a whole number from 1 to"),
]


def test_rope_theta_beside_rotary_false_is_a_block_authors_switch():
    """`rotary: false` written with a `rope_theta` (a block passing both through its parameters) is no
    mistake: no RoPE, the same function and counts as without either option."""
    text = ("input: [T, 8]\nblocks:\n  ab:\n    params: {rot: false, th: 10000.0}\n    layers:\n"
            "      - attention: {heads: 2, rotary: $rot, rope_theta: $th}\n"
            "layers:\n  - ab: {rot: false}\n  - ab: {rot: true, th: 500.0}\n")
    net = netspec.analyze(text).network()
    off, on = (n for n in net.nodes if n.kind == "attention")
    assert (off.layer.rotary, on.layer.rotary, on.layer.rope_theta) == (False, True, 500.0)


@pytest.mark.parametrize("options,field,fragment", OPTION_ERRORS)
def test_option_errors_are_at_the_value(options, field, fragment):
    text = f"input: [T, 24]\nlayers:\n  - attention: {{{options}}}\n"
    with pytest.raises(SpecValidationError) as exc:
        netspec.load(text)
    (problem,) = exc.value.problems
    assert fragment in f"{problem.message}\n    hint: {problem.hint}"
    line = text.splitlines()[2]
    assert (problem.location.line, problem.location.column) == (3, line.index(f"{field}:") + len(field) + 3)


def test_rotary_needs_an_even_head_size():
    with pytest.raises(ShapeError, match="rotary needs an even head size, got 18 features / 6 heads = 3"):
        netspec.analyze("input: [5, 18]\nlayers:\n  - attention: {heads: 6, rotary: true}\n")


# --- LLaMA -------------------------------------------------------------------------------------------------
def _import(name: str):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # absent, or a build that does not match this torch
        return None


def test_llama3_8b_is_the_papers_model_by_hand():
    net = netspec.analyze(SPECS / "llama3_8b.yaml").network()
    assert net.params == 8_030_261_248  # worked in the spec; Hugging Face's count for Meta-Llama-3-8B
    attn = next(n for n in net.nodes if n.name.endswith("self_attn"))
    assert attn.params["k_proj.weight"] == (1024, 4096)  # 8 kv heads of 4096/32 = 128


def test_llama3_8b_counts_hugging_faces_parameters():
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec pins the count worked by hand instead")
    config = transformers.LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                                      num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                      rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)
    with torch.device("meta"):
        theirs = transformers.LlamaForCausalLM(config)
    assert netspec.analyze(SPECS / "llama3_8b.yaml").network().params == sum(p.numel() for p in theirs.parameters())


SMALL = small_decoder("llama.yaml", "llama_layer: {dim: 64, heads: 8, kv_heads: 2, mlp: 96, theta: 500000.0}")


def test_llama_layers_compute_hugging_faces_function(tmp_path: Path):
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the layers are checked against torch above")
    spec = tmp_path / "small_llama.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    config = transformers.LlamaConfig(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                      num_attention_heads=8, num_key_value_heads=2, rope_theta=500000.0,
                                      rms_norm_eps=1e-5, tie_word_embeddings=False, attn_implementation="eager")
    torch.manual_seed(0)
    theirs = transformers.LlamaForCausalLM(config).eval()
    ours_model = netspec.compile(spec).eval()
    assert sum(p.numel() for p in ours_model.parameters()) == sum(p.numel() for p in theirs.parameters())
    copy_llama_weights(ours_model, theirs, "llama_layer")
    with torch.no_grad():
        x = torch.randint(0, 97, (2, 11))
        assert torch.allclose(ours_model(x), theirs(x).logits, atol=1e-5, rtol=1e-4)
