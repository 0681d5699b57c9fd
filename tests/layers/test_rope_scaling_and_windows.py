"""RoPE frequency scaling (attention's ``rope_type`` linear/llama3), partial rotary (``partial_rotary_factor``)
and sliding-window attention (``sliding_window``), and the Llama 3.1 and Mistral specs built from them.

Expected values come from torch computed here another way (RoPE as a complex rotation of feature pairs,
Meta's reference ``apply_scaling`` written out as its loop, a window mask built position by position), from
counts worked by hand in the specs, and from Hugging Face's ``LlamaForCausalLM``, ``MistralForCausalLM``,
``PhiAttention`` and ``GPTNeoXAttention`` (small random-weight models from configs) when ``transformers``
is importable — never from netspec's own output.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError
from tests.hf_support import copy_llama_weights, small_decoder

SPECS = Path(__file__).resolve().parents[2] / "specs"
LLAMA31 = {"rope_type": "llama3", "rope_factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}


def _import(name: str):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # absent, or a build that does not match this torch
        return None


def _layer(opts: dict, shape: list) -> tuple[torch.nn.Module, netspec.ir.graph.NetGraph]:
    net = netspec.analyze({"name": "probe", "input": shape, "layers": [{"kind": "attention", **opts}]}).network()
    model = compile_network(net).eval()
    return model.get_submodule(net.nodes[0].name), net


def _meta_apply_scaling(freqs: list[float], factor: float, low: float, high: float, old: int) -> list[float]:
    """Meta's reference (llama-models, ``apply_scaling`` of Llama 3.1), written out as its loop."""
    low_wavelen, high_wavelen = old / low, old / high
    out = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            out.append(freq)
        elif wavelen > low_wavelen:
            out.append(freq / factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append((1 - smooth) * freq / factor + smooth * freq)
    return out


def _rope_complex(x: torch.Tensor, freqs: list[float], rotated: int) -> torch.Tensor:
    """RoPE as Su et al. (2021) write it (eq. 34, complex form) on the first ``rotated`` features: pair
    (x_i, x_{i+r/2}) is x_i + i·x_{i+r/2}, multiplied by e^{i·t·f_i} at position t; the rest pass."""
    t, r = x.shape[-2], rotated
    pos = torch.arange(t, dtype=torch.float64)[:, None]
    f = torch.tensor(freqs, dtype=torch.float64)
    z = torch.complex(x[..., : r // 2].double(), x[..., r // 2: r].double()) * torch.polar(
        torch.ones(t, r // 2, dtype=torch.float64), pos * f)
    return torch.cat((z.real, z.imag, x[..., r:].double()), dim=-1).to(x.dtype)


def _window_mask(t: int, window: int | None) -> torch.Tensor:
    """Key s visible from query t: s ≤ t, and within the window t − s < W (Mistral's, Hugging Face's)."""
    return torch.tensor([[s <= q and (window is None or q - s < window) for s in range(t)] for q in range(t)])


CASES = [  # options, expected frequencies of a head of 16 features (θ = 10,000), features turned
    ({}, [10000.0 ** (-i / 8) for i in range(8)], 16),
    ({"rope_type": "linear", "rope_factor": 4.0}, [10000.0 ** (-i / 8) / 4 for i in range(8)], 16),
    # wavelengths 2π·10^(i/2): 6.3, 19.9, 62.8 kept (under 256/4 = 64), 199 smoothed, 628 and above / 8 (over 256)
    ({**LLAMA31, "original_max_position_embeddings": 256},
     _meta_apply_scaling([10000.0 ** (-i / 8) for i in range(8)], 8.0, 1.0, 4.0, 256), 16),
    ({"partial_rotary_factor": 0.25}, [10000.0 ** (-i / 2) for i in range(2)], 4),   # int(16·0.25) = 4 turned
    ({"partial_rotary_factor": 0.5, "rope_type": "linear", "rope_factor": 2.0},
     [10000.0 ** (-i / 4) / 2 for i in range(4)], 8),
]


@pytest.mark.parametrize("opts,freqs,rotated", CASES)
@pytest.mark.parametrize("kv_heads", [None, 1])
def test_rotary_variants_are_the_complex_rotation(opts, freqs, rotated, kv_heads):
    e, heads, t = 32, 2, 40
    module, _ = _layer({"heads": heads, "rotary": True, "causal": True, **opts,
                        **({"kv_heads": kv_heads} if kv_heads else {})}, [t, e])
    torch.manual_seed(2)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)
    sd = module.state_dict()
    if kv_heads:
        wq, wk, wv, wo = (sd[f"{n}_proj.weight"] for n in ("q", "k", "v", "out"))
        bq, bk, bv, bo = (sd[f"{n}_proj.bias"] for n in ("q", "k", "v", "out"))
    else:
        (wq, wk, wv), (bq, bk, bv) = sd["in_proj_weight"].chunk(3), sd["in_proj_bias"].chunk(3)
        wo, bo = sd["out_proj.weight"], sd["out_proj.bias"]
    x = torch.randn(2, t, e, dtype=torch.float64)
    d, kv = e // heads, kv_heads or heads
    q = (x @ wq.double().T + bq.double()).view(2, t, heads, d).transpose(1, 2)
    k = (x @ wk.double().T + bk.double()).view(2, t, kv, d).transpose(1, 2)
    v = (x @ wv.double().T + bv.double()).view(2, t, kv, d).transpose(1, 2)
    q, k = _rope_complex(q, freqs, rotated), _rope_complex(k, freqs, rotated)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kv != heads)
    expected = out.transpose(1, 2).reshape(2, t, e) @ wo.double().T + bo.double()
    assert torch.allclose(module.double()(x), expected, atol=1e-9)


def test_the_scalings_change_the_function():
    """So that the comparisons above can fail: scaled and partial RoPE compute something else than plain RoPE."""
    torch.manual_seed(0)
    x = torch.randn(1, 40, 32)
    outs = []
    for opts in [{}, *(case[0] for case in CASES[1:])]:
        module, _ = _layer({"heads": 2, "rotary": True, **opts}, [40, 32])
        torch.manual_seed(1)
        for p in module.parameters():
            torch.nn.init.normal_(p, std=0.3)
        outs.append(module(x))
    for i in range(len(outs)):
        for j in range(i):
            assert not torch.allclose(outs[i], outs[j], atol=1e-4), (i, j)


@pytest.mark.parametrize("window,padding", [(1, False), (3, False), (4, True), (20, False)])
def test_sliding_window_is_the_masked_softmax(window, padding):
    e, heads, t = 16, 4, 9
    opts = {"heads": heads, "kv_heads": 2, "causal": True, "sliding_window": window}
    inputs = {"x": {"shape": [t, e]}, **({"mask": {"shape": [t], "dtype": "long"}} if padding else {})}
    layer = {"kind": "attention", **opts, **({"padding_mask": True, "from": ["x", "mask"]} if padding else {})}
    net = netspec.analyze({"name": "probe", "inputs": inputs, "layers": [layer]}).network()
    module = compile_network(net).eval().get_submodule(net.nodes[0].name)
    torch.manual_seed(3)
    for p in module.parameters():
        torch.nn.init.normal_(p, std=0.3)
    sd = module.state_dict()
    x = torch.randn(2, t, e)
    pad = torch.zeros(2, t, dtype=torch.long)
    pad[1, 2] = 1  # sample 1's key 2 is padding (never the query's own key alone: 2 is not in a window of 1)
    d = e // heads
    q = (x @ sd["q_proj.weight"].T + sd["q_proj.bias"]).view(2, t, heads, d).transpose(1, 2)
    k = (x @ sd["k_proj.weight"].T + sd["k_proj.bias"]).view(2, t, 2, d).transpose(1, 2).repeat_interleave(2, 1)
    v = (x @ sd["v_proj.weight"].T + sd["v_proj.bias"]).view(2, t, 2, d).transpose(1, 2).repeat_interleave(2, 1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)
    visible = _window_mask(t, window)[None, None] & ((pad == 0)[:, None, None, :] if padding else True)
    weights = scores.masked_fill(~visible, float("-inf")).softmax(-1)
    expected = (weights @ v).transpose(1, 2).reshape(2, t, e) @ sd["out_proj.weight"].T + sd["out_proj.bias"]
    ours = module(x, pad) if padding else module(x)
    assert torch.allclose(ours, expected, atol=1e-5)
    if window < t:  # the window matters: plain causal attention differs
        plain = scores.masked_fill(~_window_mask(t, None)[None, None], float("-inf")).softmax(-1)
        causal = (plain @ v).transpose(1, 2).reshape(2, t, e) @ sd["out_proj.weight"].T + sd["out_proj.bias"]
        assert not torch.allclose(ours, causal, atol=1e-4)


@pytest.mark.parametrize("opts", [{"sliding_window": 3}, {"sliding_window": 3, "rotary": True, **LLAMA31,
                                                          "original_max_position_embeddings": 4},
                                  {"rotary": True, "partial_rotary_factor": 0.5}])
def test_macs_are_what_torch_counts(opts):
    """MACs as a causal mask's: the window masks the full T×T products (the math kernel computes them all)."""
    module, net = _layer({"heads": 4, "kv_heads": 2, "causal": True, **opts}, [9, 16])
    # E = 16, kv 2·4 = 8, T = 9: q and out 2·9·16·16 = 4,608; k, v 2·9·16·8 = 2,304; QKᵀ, A·V 2·9·9·16 = 2,592
    assert net.macs == 4608 + 2304 + 2592
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module.train()(torch.randn(1, 9, 16))
    assert counter.get_total_flops() == 2 * net.macs


def test_window_and_scaling_over_a_symbolic_length_run_at_any_length():
    net = netspec.analyze({"name": "s", "input": ["T", 16], "layers": [
        {"kind": "attention", "heads": 2, "kv_heads": 1, "causal": True, "sliding_window": 4, "rotary": True,
         "partial_rotary_factor": 0.5, **LLAMA31, "original_max_position_embeddings": 16}]}).network()
    model = compile_network(net).eval()
    for t in (1, 5, 33):
        assert model(torch.randn(2, t, 16)).shape == (2, t, 16)


def test_a_block_passes_the_scaling_through_a_default_rope_type():
    """`rope_type: default` written with the llama3 numbers (a block passing its parameters through) is no
    mistake: unscaled RoPE, the function of plain `rotary: true`."""
    text = ("input: [T, 8]\nblocks:\n  ab:\n    params: {rt: default}\n    layers:\n"
            "      - attention: {heads: 2, rotary: true, rope_type: $rt, rope_factor: 8.0, low_freq_factor: 1.0,"
            " high_freq_factor: 4.0, original_max_position_embeddings: 4}\n"
            "layers:\n  - ab: {}\n  - ab: {rt: llama3}\n")
    net = netspec.analyze(text).network()
    off, on = (n for n in net.nodes if n.kind == "attention")
    assert (off.layer.rope_scaling(), on.layer.rope_scaling()) == (None, {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 4})


@pytest.mark.parametrize("factor,turned", [(0.1, 1), (0.3, 3)])
def test_partial_rotary_needs_an_even_number_of_features(factor, turned):
    # a head of 12 features (24 / 2 heads): int(12·0.1) = 1, int(12·0.3) = 3 (3.5999... rounds down)
    text = f"input: [5, 24]\nlayers:\n  - attention: {{heads: 2, rotary: true, partial_rotary_factor: {factor}}}\n"
    with pytest.raises(ShapeError, match=f"turns {turned} \\(rounded down\\), expected an even number") as exc:
        netspec.analyze(text)
    column = text.splitlines()[2].index("partial_rotary_factor:") + len("partial_rotary_factor:") + 2
    assert str(exc.value).startswith(f"<string>:3:{column}: layers[0].partial_rotary_factor")


def test_partial_rotary_allows_an_odd_head_size():
    # GPT-J-like: a head of 10 features (20 / 2), int(10·0.4) = 4 turned, 6 passing
    net = netspec.analyze("input: [5, 20]\nlayers:\n  - attention: {heads: 2, rotary: true, "
                          "partial_rotary_factor: 0.4}\n").network()
    assert net.nodes[0].layer.rotary_dim(20) == 4


# --- the specs -----------------------------------------------------------------------------------------------
def test_llama3_1_8b_and_mistral_7b_counts_by_hand():
    llama = netspec.analyze(SPECS / "llama3_1_8b.yaml").network()
    assert llama.params == 8_030_261_248  # Llama 3 8B's network, worked in llama3_8b.yaml; Hugging Face's count
    attn = next(n for n in llama.nodes if n.name.endswith("self_attn"))
    assert attn.layer.rope_scaling() == {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                         "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
    mistral = netspec.analyze(SPECS / "mistral_7b.yaml").network()
    assert mistral.params == 7_241_732_096  # worked in the spec; Hugging Face's count for Mistral-7B-v0.1
    attn = next(n for n in mistral.nodes if n.name.endswith("self_attn"))
    assert (attn.layer.sliding_window, attn.params["k_proj.weight"]) == (4096, (1024, 4096))


def _llama31_config(transformers, **sizes):
    return transformers.LlamaConfig(rope_theta=500000.0, rope_scaling={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192}, max_position_embeddings=131072, rms_norm_eps=1e-5,
        tie_word_embeddings=False, **sizes)


def test_big_specs_count_hugging_faces_parameters():
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the specs pin the counts worked by hand instead")
    llama = _llama31_config(transformers, vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                            num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8)
    mistral = transformers.MistralConfig(vocab_size=32000, hidden_size=4096, intermediate_size=14336,
                                         num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                                         sliding_window=4096, rope_theta=10000.0, tie_word_embeddings=False)
    qwen = transformers.Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                    num_attention_heads=14, num_key_value_heads=2, rope_theta=1000000.0,
                                    rms_norm_eps=1e-6, tie_word_embeddings=True)  # Qwen2.5-0.5B's config.json
    for spec, config, cls in [("llama3_1_8b", llama, transformers.LlamaForCausalLM),
                              ("mistral_7b", mistral, transformers.MistralForCausalLM),
                              ("qwen2_5_0_5b", qwen, transformers.Qwen2ForCausalLM)]:
        with torch.device("meta"):
            theirs = cls(config)
        assert netspec.analyze(SPECS / f"{spec}.yaml").network().params == sum(p.numel() for p in theirs.parameters())




def _small(tmp_path: Path, library: str, layer: str, options: str) -> torch.nn.Module:
    spec = tmp_path / "small.yaml"
    spec.write_text(small_decoder(library, f"{layer}: {{dim: 64, heads: 4, kv_heads: 2, mlp: 96, {options}}}"),
                    encoding="utf-8")
    return netspec.compile(spec).eval()


def test_llama3_scaling_computes_hugging_faces_function(tmp_path: Path):
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the scaling is checked against Meta's loop above")
    # head size 16, θ = 10,000, original context 256: frequencies kept, smoothed and divided (see CASES)
    sizes = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, attn_implementation="eager")
    config = _llama31_config(transformers, **sizes)
    config.rope_parameters.update(rope_theta=10000.0, original_max_position_embeddings=256)
    torch.manual_seed(0)
    theirs = transformers.LlamaForCausalLM(config).eval()
    ours = _small(tmp_path, "llama.yaml", "llama_layer", "theta: 10000.0, rope_type: llama3, rope_factor: 8.0, "
                  "low_freq_factor: 1.0, high_freq_factor: 4.0, original_max_position_embeddings: 256")
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    copy_llama_weights(ours, theirs, "llama_layer")
    plain = transformers.LlamaForCausalLM(transformers.LlamaConfig(rope_theta=10000.0, rms_norm_eps=1e-5,
                                                                   tie_word_embeddings=False, **sizes)).eval()
    plain.load_state_dict(theirs.state_dict())
    x = torch.randint(0, 97, (2, 40))
    with torch.no_grad():
        expected = theirs(x).logits
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(plain(x).logits, expected, atol=1e-4)  # the scaling matters at these sizes


def test_mistral_window_computes_hugging_faces_function(tmp_path: Path):
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the window is checked against a masked softmax above")
    sizes = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                 attn_implementation="eager")
    torch.manual_seed(0)
    theirs = transformers.MistralForCausalLM(transformers.MistralConfig(sliding_window=4, **sizes)).eval()
    ours = _small(tmp_path, "mistral.yaml", "mistral_layer", "window: 4")
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    copy_llama_weights(ours, theirs, "mistral_layer")
    whole = transformers.MistralForCausalLM(transformers.MistralConfig(sliding_window=None, **sizes)).eval()
    whole.load_state_dict(theirs.state_dict())
    x = torch.randint(0, 97, (2, 11))
    with torch.no_grad():
        expected = theirs(x).logits
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)
        assert not torch.allclose(whole(x).logits, expected, atol=1e-4)  # the window (4 < 11) matters


def _causal_additive(t: int) -> torch.Tensor:
    return torch.full((t, t), float("-inf")).triu(1)[None, None]


def test_partial_rotary_is_phis_attention():
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; partial rotary is checked against torch above")
    from transformers.models.phi import modeling_phi

    # Phi's block (one LayerNorm feeding attention and MLP in parallel, gelu_new) is not compared whole: its
    # attention alone, with the same weights, positions 0..T-1 and a causal mask
    config = transformers.PhiConfig(hidden_size=64, num_attention_heads=4, partial_rotary_factor=0.5,
                                    rope_theta=10000.0, attn_implementation="eager")
    torch.manual_seed(0)
    theirs = modeling_phi.PhiAttention(config, layer_idx=0).eval()
    rope = modeling_phi.PhiRotaryEmbedding(config)
    ours, _ = _layer({"heads": 4, "kv_heads": 4, "causal": True, "rotary": True, "partial_rotary_factor": 0.5},
                     [11, 64])
    sd = theirs.state_dict()
    with torch.no_grad():
        for name in ("q_proj", "k_proj", "v_proj"):
            getattr(ours, name).weight.copy_(sd[f"{name}.weight"])
            getattr(ours, name).bias.copy_(sd[f"{name}.bias"])
        ours.out_proj.weight.copy_(sd["dense.weight"])
        ours.out_proj.bias.copy_(sd["dense.bias"])
        x = torch.randn(2, 11, 64)
        expected = theirs(x, rope(x, torch.arange(11)[None]), _causal_additive(11))[0]
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)


def test_partial_rotary_is_gpt_neoxs_attention():
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; partial rotary is checked against torch above")
    from transformers.models.gpt_neox import modeling_gpt_neox

    config = transformers.GPTNeoXConfig(hidden_size=64, num_attention_heads=4, rotary_pct=0.25,
                                        rope_theta=10000.0, attn_implementation="eager")
    torch.manual_seed(0)
    theirs = modeling_gpt_neox.GPTNeoXAttention(config, layer_idx=0).eval()
    rope = modeling_gpt_neox.GPTNeoXRotaryEmbedding(config)
    ours, _ = _layer({"heads": 4, "causal": True, "rotary": True, "partial_rotary_factor": 0.25}, [11, 64])
    sd = theirs.state_dict()
    with torch.no_grad():
        # GPT-NeoX fuses q, k and v head by head (rows: head 0's q, k, v, then head 1's ...);
        # nn.MultiheadAttention's in_proj stacks all of q, then k, then v
        w = sd["query_key_value.weight"].view(4, 3, 16, 64).transpose(0, 1).reshape(192, 64)
        b = sd["query_key_value.bias"].view(4, 3, 16).transpose(0, 1).reshape(192)
        ours.in_proj_weight.copy_(w)
        ours.in_proj_bias.copy_(b)
        ours.out_proj.weight.copy_(sd["dense.weight"])
        ours.out_proj.bias.copy_(sd["dense.bias"])
        x = torch.randn(2, 11, 64)
        expected = theirs(x, _causal_additive(11), position_embeddings=rope(x, torch.arange(11)[None]))[0]
        assert torch.allclose(ours(x), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("layer,inputs", [
    ({"heads": 2, "kv_heads": 1, "causal": True, "sliding_window": 3, "rotary": True, "partial_rotary_factor": 0.5,
      **LLAMA31, "original_max_position_embeddings": 16}, {"x": {"shape": ["T", 16]}}),
    ({"heads": 2, "causal": True, "sliding_window": 2, "padding_mask": True, "rotary": True, "rope_type": "linear",
      "rope_factor": 2.0, "from": ["x", "mask"]},
     {"x": {"shape": ["T", 16]}, "mask": {"shape": ["T"], "dtype": "long"}}),
])
def test_onnx_export_runs_at_other_lengths(layer, inputs, tmp_path: Path):
    """The exporter checks the file with onnxruntime at the traced length (7) and at another (8), against the
    module: a window mask or RoPE angles traced as constants of one length would be refused."""
    pytest.importorskip("onnxruntime")
    from netspec.interop.export import export

    spec = {"name": "probe", "inputs": inputs, "layers": [{"kind": "attention", **layer}]}
    done = export(netspec.load(spec), tmp_path / "m.onnx")
    assert done.max_diff is not None and done.max_diff < 1e-4


def test_a_hugging_face_folder_loads_by_name_and_computes_its_function(tmp_path: Path):
    """``save_pretrained`` of a LLaMA, a Mistral and a Qwen2 (q/k/v biases, tied embeddings; model.safetensors,
    its keys sorted as text) loads into the block libraries' specs by name alone
    (``model.layers.i.`` is ``layers.<layer>_{i+1}.``, ``o_proj`` is
    ``out_proj``), with Hugging Face's logits: no test helper maps a name."""
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here")
    sizes = dict(vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, attn_implementation="eager", rms_norm_eps=1e-5, tie_word_embeddings=False)
    cases = [(transformers.LlamaForCausalLM(transformers.LlamaConfig(rope_theta=10000.0, **sizes)),
              "llama.yaml", "llama_layer", "theta: 10000.0"),
             (transformers.MistralForCausalLM(transformers.MistralConfig(rope_theta=10000.0, sliding_window=4,
                                                                         **sizes)),
              "mistral.yaml", "mistral_layer", "theta: 10000.0, window: 4")]
    qwen = dict(sizes, tie_word_embeddings=True)
    cases.append((transformers.Qwen2ForCausalLM(transformers.Qwen2Config(rope_theta=1000000.0, **qwen)),
                  "llama.yaml", "llama_layer", "theta: 1000000.0, qkv_bias: true"))
    for theirs, library, layer, options in cases:
        torch.manual_seed(0)
        theirs.eval()
        folder = tmp_path / type(theirs).__name__
        theirs.save_pretrained(folder)
        spec = tmp_path / f"{type(theirs).__name__}.yaml"
        # Qwen2.5's small models tie lm_head to the token embedding
        text = small_decoder(library, f"{layer}: {{dim: 64, heads: 4, kv_heads: 2, mlp: 96, {options}}}",
                             tied=theirs.config.tie_word_embeddings)
        spec.write_text(text, encoding="utf-8")
        ours = netspec.compile(spec, weights=folder).eval()
        assert ours.netspec_weights.complete and "by name" in ours.netspec_weights.summary()
        x = torch.randint(0, 97, (2, 11))
        with torch.no_grad():
            assert torch.allclose(ours(x), theirs(x).logits, atol=1e-5, rtol=1e-4)
