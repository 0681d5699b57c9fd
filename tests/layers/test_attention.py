"""Attention and learned tensors against torch built directly in the test, and the Transformer specs
against their reference implementations.

Expected values come from torch's own modules (nn.MultiheadAttention, nn.TransformerEncoderLayer,
nn.TransformerDecoderLayer), from torchvision's vit_b_16 and Hugging Face's BertModel when they are
importable, or from formulas worked by hand here, never from netspec's own output.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError

SPECS = Path(__file__).resolve().parents[2] / "specs"


def compiled(inputs: dict[str, list], layer: dict, bind: dict[str, int] | None = None) -> nn.Module:
    """One layer on the given inputs, compiled, in eval mode (an input named ``mask`` is long, others float)."""
    types = {k: {"shape": s, "dtype": "long" if k == "mask" else "float"} for k, s in inputs.items()}
    spec = {"name": "probe", "inputs": types, "layers": [layer]}
    net = netspec.analyze(spec, bind=bind).network()
    return compile_network(net).eval()


def only(model: nn.Module) -> nn.Module:
    return model.get_submodule(model.netspec_graph.nodes[0].name)


# --- attention against nn.MultiheadAttention ------------------------------------------------------------
# (netspec layer options, input shapes (T, E) / (S, E_k) / (S, E_v), torch MHA kwargs)
MHA_CASES = {
    "self": ({"heads": 2}, [(5, 8)], {}),
    "self-no-bias": ({"heads": 4, "bias": False}, [(6, 8)], {"bias": False}),
    "self-causal": ({"heads": 2, "causal": True}, [(6, 8)], {}),
    "cross-same-width": ({"heads": 2}, [(4, 8), (7, 8)], {}),
    "cross-other-width": ({"heads": 3, "kdim": 5, "vdim": 5}, [(4, 6), (7, 5)], {"kdim": 5, "vdim": 5}),
    "key-value-apart": ({"heads": 2}, [(4, 6), (7, 3), (7, 5)], {"kdim": 3, "vdim": 5}),
}


@pytest.mark.parametrize("case", sorted(MHA_CASES))
def test_attention_computes_torch_multihead_attention(case: str):
    opts, shapes, kwargs = MHA_CASES[case]
    names = [f"x{i}" for i in range(len(shapes))]
    layer = {"kind": "attention", **opts, **({"from": names} if len(shapes) > 1 else {})}
    model = compiled(dict(zip(names, [list(s) for s in shapes])), layer)
    e = shapes[0][1]
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(e, opts["heads"], batch_first=True, **kwargs).eval()
    ref.load_state_dict(only(model).state_dict())  # the same names and shapes: weights load by name
    xs = [torch.randn(3, *s) for s in shapes]
    q, k, v = (xs * 3)[:3] if len(xs) == 1 else (xs[0], xs[1], xs[-1])
    mask = None
    if opts.get("causal"):
        mask = torch.ones(shapes[0][0], shapes[0][0], dtype=torch.bool).triu(1)  # True: not attended
    with torch.no_grad():
        want, _ = ref(q, k, v, need_weights=False, attn_mask=mask)
        got = model(*xs)
    assert got.shape == want.shape == (3, shapes[0][0], e)
    assert torch.allclose(got, want, atol=1e-5), (got - want).abs().max()


@pytest.mark.parametrize("causal", [False, True])
def test_padding_mask_is_torch_key_padding_mask(causal: bool):
    layer = {"kind": "attention", "heads": 2, "causal": causal, "padding_mask": True, "from": ["x", "mask"]}
    model = compiled({"x": [6, 8], "mask": [6]}, layer)
    ref = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    ref.load_state_dict(only(model).state_dict())
    x = torch.randn(2, 6, 8)
    pad = torch.tensor([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1]])  # trailing padding: no row is all masked
    attn_mask = torch.ones(6, 6, dtype=torch.bool).triu(1) if causal else None
    with torch.no_grad():
        want, _ = ref(x, x, x, key_padding_mask=pad.bool(), need_weights=False, attn_mask=attn_mask)
        got = model(x, pad)
    assert torch.allclose(got, want, atol=1e-5)
    # padded keys change nothing: rewrite their values
    x2 = x.clone()
    x2[0, 4:] = 100.0
    with torch.no_grad():
        assert torch.allclose(model(x2, pad)[0, :4], got[0, :4], atol=1e-5)


def test_attention_counts_by_hand():
    # self-attention, T = 10, E = 16, 4 heads: params 4·16² + 4·16 = 1,088;
    # MACs 4·T·E² + 2·T²·E = 4·10·256 + 2·100·16 = 10,240 + 3,200 = 13,440
    net = netspec.analyze({"name": "a", "input": [10, 16], "layers": [{"kind": "attention", "heads": 4}]}).network()
    assert (net.params, net.macs) == (1088, 13440)
    # cross, T = 3, S = 5, E = 6, memory of 4: q 6·6 + k 4·6 + v 4·6 + out 6·6 weights, 3·6 + 6 biases = 144;
    # MACs T·E² + 2·S·4·E + 2·T·S·E + T·E² = 108 + 240 + 180 + 108 = 636
    net = netspec.analyze({"name": "a", "inputs": {"q": {"shape": [3, 6]}, "m": {"shape": [5, 4]}},
                           "layers": [{"kind": "attention", "heads": 2, "from": ["q", "m"]}]}).network()
    assert (net.params, net.macs) == (144, 636)
    assert list(net.nodes[0].params) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias",
                                         "out_proj.weight", "out_proj.bias"]


def test_attention_macs_are_what_torch_counts_with_the_math_kernel():
    """The flop counter's own convention, measured on nn.MultiheadAttention with grad on and the math
    kernel (with no_grad or the fused CPU kernel it misses the attention products)."""
    net = netspec.analyze({"name": "a", "input": [9, 12], "layers": [{"kind": "attention", "heads": 3}]}).network()
    ref = nn.MultiheadAttention(12, 3, batch_first=True)
    x = torch.randn(1, 9, 12)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        ref(x, x, x, need_weights=False)
    assert counter.get_total_flops() == 2 * net.macs


ERRORS = [
    ({"kind": "attention", "heads": 3}, {"x": [5, 8]}, "3 heads must divide the query's 8 features"),
    ({"kind": "attention", "heads": 2}, {"x": [2, 5, 8]}, "expects the query as a sequence (T, F)"),
    ({"kind": "attention", "heads": 2, "causal": True, "from": ["x", "y"]}, {"x": [5, 8], "y": [4, 8]},
     "causal attention needs queries and keys of one length"),
    ({"kind": "attention", "heads": 2, "kdim": 4, "from": ["x", "y"]}, {"x": [5, 8], "y": [4, 6]},
     "kdim: 4, but the keys have 6 features"),
    ({"kind": "attention", "heads": 2, "from": ["x", "y", "z"]}, {"x": [5, 8], "y": [4, 6], "z": [3, 6]},
     "must have the same length"),
    ({"kind": "attention", "heads": 2, "padding_mask": True, "from": ["x", "mask"]}, {"x": [5, 8], "mask": [4]},
     "the padding mask must be (S,) = (5,)"),
    ({"kind": "attention", "heads": 2, "padding_mask": True, "from": ["x", "y"]}, {"x": [5, 8], "y": [5]},
     "must be long"),
    ({"kind": "attention", "heads": 2}, {"x": ["T", "F"]}, "fixed feature size"),
    ({"kind": "position_embedding"}, {"x": ["T", 8]}, "give max_len"),
    ({"kind": "position_embedding", "max_len": 4}, {"x": [5, 8]}, "longer than the table's max_len 4"),
    ({"kind": "class_token"}, {"x": [3, 4, 4]}, "expects a sequence (T, E)"),
    ({"kind": "layer_scale", "axis": 3}, {"x": [3, 4, 4]},
     "axis 3 is out of range for an input of rank 3 (3, 4, 4): expected an axis from -3 to 2"),
    ({"kind": "layer_scale"}, {"x": [5, "C"]}, "fixed channel count"),
]


@pytest.mark.parametrize("layer,inputs,fragment", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_shape_errors(layer: dict, inputs: dict, fragment: str):
    spec = {"name": "bad", "layers": [layer],
            "inputs": {k: {"shape": s, "dtype": "long" if k == "mask" else "float"} for k, s in inputs.items()}}
    with pytest.raises(ShapeError) as exc:
        netspec.analyze(spec).network()
    assert fragment in str(exc.value)


# --- learned tensors ---------------------------------------------------------------------------------------
def test_class_token_is_prepended():
    model = compiled({"x": [4, 6]}, {"kind": "class_token"})
    token = only(model).class_token
    assert token.shape == (1, 1, 6) and torch.equal(token, torch.zeros(1, 1, 6))  # torchvision: zeros
    with torch.no_grad():
        token.copy_(torch.arange(6.0).view(1, 1, 6))
        x = torch.randn(2, 4, 6)
        y = model(x)
    assert y.shape == (2, 5, 6)
    assert torch.equal(y[:, 0], torch.arange(6.0).expand(2, 6)) and torch.equal(y[:, 1:], x)


def test_sinusoidal_table_is_the_papers_formula():
    # E = 4: 10000^(0/4) = 1 and 10000^(2/4) = 100, so P[p] = (sin p, cos p, sin p/100, cos p/100).
    model = compiled({"x": ["T", 4]}, {"kind": "position_embedding", "sinusoidal": True, "max_len": 8}, {"T": 6})
    mod = only(model)
    assert dict(mod.named_parameters()) == {} and "pos_embedding" not in mod.state_dict()  # fixed, not saved
    table = torch.tensor([[math.sin(p), math.cos(p), math.sin(p / 100), math.cos(p / 100)] for p in range(8)])
    assert torch.allclose(mod.pos_embedding[0], table, atol=1e-6)
    x = torch.randn(2, 6, 4)
    with torch.no_grad():
        assert torch.allclose(model(x), x + table[:6], atol=1e-6)


def test_position_embedding_scales_and_reads_the_first_rows():
    model = compiled({"x": ["T", 3]}, {"kind": "position_embedding", "max_len": 10, "scale": 2.0}, {"T": 4})
    table = only(model).pos_embedding
    assert table.shape == (1, 10, 3) and 0.005 < table.std().item() < 0.05  # normal, std 0.02
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        assert torch.allclose(model(x), 2 * x + table[:, :4])


@pytest.mark.parametrize("shape,opts,param", [
    ([4, 5, 5], {}, (4, 1, 1)),       # torchvision ConvNeXt: (C, 1, 1)
    ([7, 6], {"value": 0.5}, (6,)),   # a sequence (T, C): the last axis
    ([6], {}, (6,)),
    ([3, 8], {"axis": 0}, (3, 1)),    # conv1d's (C, L)
])
def test_layer_scale_shape_and_value(shape: list, opts: dict, param: tuple):
    model = compiled({"x": shape}, {"kind": "layer_scale", **opts})
    gamma = only(model).layer_scale
    value = opts.get("value", 1e-6)
    assert gamma.shape == param and torch.equal(gamma, torch.full(param, value))
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.allclose(model(x), x * value)


# --- the Transformer base spec against torch's own Transformer layers ------------------------------------
def _sinusoid(length: int, dim: int) -> torch.Tensor:
    return torch.tensor([[math.sin(p / 10000 ** (i / dim)) if i % 2 == 0 else math.cos(p / 10000 ** ((i - 1) / dim))
                          for i in range(dim)] for p in range(length)])


class PaperTransformer(nn.Module):
    """The paper's base model from torch's layers: post-norm, no final norms, untied embeddings."""

    def __init__(self, vocab: int = 37000, dim: int = 512) -> None:
        super().__init__()
        self.dim = dim
        self.src_embed, self.tgt_embed = nn.Embedding(vocab, dim), nn.Embedding(vocab, dim)
        enc = nn.TransformerEncoderLayer(dim, 8, 2048, dropout=0.1, batch_first=True)
        dec = nn.TransformerDecoderLayer(dim, 8, 2048, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(enc, 6, enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec, 6)
        self.generator = nn.Linear(dim, vocab)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        pe = _sinusoid(max(src.shape[1], tgt.shape[1]), self.dim)
        memory = self.encoder(self.src_embed(src) * math.sqrt(self.dim) + pe[: src.shape[1]])
        t = tgt.shape[1]
        y = self.tgt_embed(tgt) * math.sqrt(self.dim) + pe[:t]
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        return self.generator(self.decoder(y, memory, tgt_mask=mask, tgt_is_causal=True))


def _transformer_name(name: str) -> str:
    """The reference's name of a netspec parameter: ``encoder.layers.encoder_layer_3.attention.self_attn.*``
    is ``encoder.layers.2.self_attn.*``; the embeddings and the output layer sit at the top."""
    name = re.sub(r"layers\.(?:encoder|decoder)_layer_(\d+)\.", lambda m: f"layers.{int(m.group(1)) - 1}.", name)
    name = re.sub(r"\.(attention|cross_attention|feed_forward)\.", ".", name)
    top = {"encoder.embed.weight": "src_embed.weight", "decoder.embed.weight": "tgt_embed.weight"}
    return top.get(name, name.removeprefix("decoder.") if name.startswith("decoder.generator.") else name)


def test_transformer_base_computes_torchs_transformer_layers():
    torch.manual_seed(0)
    ours = netspec.compile(SPECS / "transformer_base.yaml").eval()  # a ModuleDict: encoder, decoder
    ref = PaperTransformer().eval()
    theirs = dict(ref.named_parameters())
    mapped = {_transformer_name(n): p for n, p in ours.named_parameters()}
    assert sorted(mapped) == sorted(theirs)
    assert all(mapped[n].shape == p.shape for n, p in theirs.items())
    assert sum(p.numel() for p in ref.parameters()) == 101_007_496  # the hand count in the spec
    with torch.no_grad():
        for n, p in theirs.items():
            p.copy_(mapped[n])
        src, tgt = torch.randint(0, 37000, (2, 7)), torch.randint(0, 37000, (2, 5))
        want = ref(src, tgt)
        got = ours["decoder"](tgt, ours["encoder"](src))
    assert got.shape == want.shape == (2, 5, 37000)
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (got - want).abs().max()


# --- optional: torchvision's vit_b_16 and Hugging Face's BertModel ---------------------------------------
def _import(name: str):
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # absent, or a build that does not match this torch
        return None


VIT_PARTS = {"ln_1.": "attention.ln_1.", "self_attention.": "attention.self_attention.", "ln_2.": "mlp.ln_2.",
             "mlp.0.": "mlp.linear_1.", "mlp.3.": "mlp.linear_2."}


def _vit_name(name: str) -> str:
    """netspec's name of a torchvision vit_b_16 parameter."""
    fixed = {"class_token": "class_token.class_token", "encoder.pos_embedding": "pos_embedding.pos_embedding"}
    if name in fixed:
        return fixed[name]
    m = re.match(r"encoder\.layers\.encoder_layer_(\d+)\.(.+)", name)
    if m is None:
        return name.removeprefix("encoder.").removeprefix("heads.")
    rest = m.group(2)
    part = next(p for p in VIT_PARTS if rest.startswith(p))
    return f"layers.encoder_layer_{int(m.group(1)) + 1}.{VIT_PARTS[part]}{rest[len(part):]}"


def _max_relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).abs().max() / b.abs().max()).item()


def test_vit_b_16_equals_torchvision():
    """Parameters (by name, mapped), MACs at 224×224 and the function with torchvision's weights."""
    models = _import("torchvision.models")
    if models is None:
        pytest.skip("torchvision is not importable here; the spec pins its documented numbers instead")
    torch.manual_seed(0)
    theirs = models.vit_b_16().eval()
    with torch.no_grad():  # torchvision starts the head and the class token at zero: make them count
        theirs.heads.head.weight.normal_(std=0.02)
        theirs.class_token.normal_(std=0.02)
    ours = netspec.compile(SPECS / "vit_b_16.yaml").eval()
    mapped = {_vit_name(n): p for n, p in theirs.named_parameters()}
    mine = dict(ours.named_parameters())
    assert sorted(mapped) == sorted(mine)
    assert all(mine[n].shape == p.shape for n, p in mapped.items())
    assert sum(p.numel() for p in theirs.parameters()) == 86_567_656
    with torch.no_grad():
        for n, p in mapped.items():
            mine[n].copy_(p)
    x = torch.randn(1, 3, 224, 224)
    # grad on (no fast path) and the math kernel: the flop counter then sees the attention products
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        want = theirs(x).detach()
    net = netspec.analyze(SPECS / "vit_b_16.yaml").network()
    assert net.macs == counter.get_total_flops() // 2
    with torch.no_grad():
        got = ours(x)
    assert got.shape == want.shape == (1, 1000)
    assert _max_relative(got, want) < 1e-4


def _bert_name(name: str) -> str | None:
    """netspec's name of a Hugging Face BertModel parameter (None for query/key/value: stacked)."""
    simple = {"embeddings.word_embeddings.weight": "word_embeddings.weight",
              "embeddings.token_type_embeddings.weight": "token_type_embeddings.weight",
              "embeddings.position_embeddings.weight": "position_embeddings.pos_embedding"}
    if name in simple:
        return simple[name]
    if name.startswith("embeddings.LayerNorm."):
        return "embeddings_norm." + name.rsplit(".", 1)[1]
    if name.startswith("pooler.dense."):
        return "pooler." + name.rsplit(".", 1)[1]
    m = re.match(r"encoder\.layer\.(\d+)\.(.+)\.(weight|bias)$", name)
    assert m, name
    layer, part, kind = f"encoder.bert_layer_{int(m.group(1)) + 1}", m.group(2), m.group(3)
    parts = {"attention.output.dense": "attention.self.out_proj", "attention.output.LayerNorm": "attention_norm",
             "intermediate.dense": "ffn.intermediate", "output.dense": "ffn.output", "output.LayerNorm": "output_norm"}
    return None if part.startswith("attention.self.") else f"{layer}.{parts[part]}.{kind}"


def test_bert_base_equals_hugging_face():
    """Parameters (mapped; query, key and value stacked into in_proj), MACs and the function, both outputs."""
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec pins the Hugging Face count instead")
    torch.manual_seed(0)
    theirs = transformers.BertModel(transformers.BertConfig()).eval()
    ours = netspec.compile(SPECS / "bert_base.yaml").eval()
    assert sum(p.numel() for p in theirs.parameters()) == 109_482_240
    mine = dict(ours.named_parameters())
    hf = dict(theirs.named_parameters())
    loaded = set()
    with torch.no_grad():
        for n, p in hf.items():
            target = _bert_name(n)
            if target is not None:
                mine[target].copy_(p.view_as(mine[target]))
                loaded.add(target)
        for i in range(12):
            prefix, ours_at = f"encoder.layer.{i}.attention.self.", f"encoder.bert_layer_{i + 1}.attention.self."
            for kind in ("weight", "bias"):
                stacked = torch.cat([hf[f"{prefix}{qkv}.{kind}"] for qkv in ("query", "key", "value")])
                mine[f"{ours_at}in_proj_{kind}"].copy_(stacked)
                loaded.add(f"{ours_at}in_proj_{kind}")
    assert loaded == set(mine)
    ids, types = torch.randint(0, 30522, (2, 16)), torch.randint(0, 2, (2, 16))
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        out = theirs(input_ids=ids, token_type_ids=types)
    net = netspec.analyze(SPECS / "bert_base.yaml", bind={"T": 16}).network()
    assert net.macs * 2 == counter.get_total_flops() // 2  # two samples
    with torch.no_grad():
        hidden, pooled = ours(ids, types)
    assert hidden.shape == out.last_hidden_state.shape == (2, 16, 768)
    assert _max_relative(hidden, out.last_hidden_state.detach()) < 1e-4
    assert _max_relative(pooled, out.pooler_output.detach()) < 1e-4


# --- GPT-2 small: causal attention, pre-norm blocks, tied embeddings ------------------------------------
def test_gpt2_small_counts_its_tied_embedding_once():
    net = netspec.analyze(SPECS / "gpt2_small.yaml").network()
    assert net.params == 124_439_808  # Hugging Face's count for the 124M model (worked in the spec)
    head = net.node("lm_head")
    assert head.tied == {"weight": ("wte", "weight")} and head.n_params == 0


def test_gpt2_small_computes_hugging_faces_function():
    transformers = _import("transformers")
    if transformers is None:
        pytest.skip("transformers is not importable here; the spec pins the Hugging Face count instead")
    torch.manual_seed(0)
    theirs = transformers.GPT2LMHeadModel(transformers.GPT2Config()).eval()
    ours_model = netspec.compile(SPECS / "gpt2_small.yaml").eval()
    assert sum(p.numel() for p in ours_model.parameters()) == sum(p.numel() for p in theirs.parameters())
    ours, sd = dict(ours_model.named_parameters()), theirs.state_dict()
    blocks = sorted({k[: -len("attention.ln_1.weight")] for k in ours if k.endswith("attention.ln_1.weight")},
                    key=lambda p: int(p.rstrip(".").rpartition("_")[2]))
    with torch.no_grad():
        ours["wte.weight"].copy_(sd["transformer.wte.weight"])
        ours["wpe.pos_embedding"].copy_(sd["transformer.wpe.weight"].unsqueeze(0))
        for i, p in enumerate(blocks):  # Hugging Face's Conv1D keeps (in, out): transposed here
            h = f"transformer.h.{i}."
            for mine, hf, t in [("attention.ln_1.weight", "ln_1.weight", False),
                                ("attention.ln_1.bias", "ln_1.bias", False),
                                ("attention.attn.in_proj_weight", "attn.c_attn.weight", True),
                                ("attention.attn.in_proj_bias", "attn.c_attn.bias", False),
                                ("attention.attn.out_proj.weight", "attn.c_proj.weight", True),
                                ("attention.attn.out_proj.bias", "attn.c_proj.bias", False),
                                ("mlp.ln_2.weight", "ln_2.weight", False), ("mlp.ln_2.bias", "ln_2.bias", False),
                                ("mlp.c_fc.weight", "mlp.c_fc.weight", True), ("mlp.c_fc.bias", "mlp.c_fc.bias", False),
                                ("mlp.c_proj.weight", "mlp.c_proj.weight", True),
                                ("mlp.c_proj.bias", "mlp.c_proj.bias", False)]:
                ours[p + mine].copy_(sd[h + hf].T if t else sd[h + hf])
        ours["ln_f.weight"].copy_(sd["transformer.ln_f.weight"])
        ours["ln_f.bias"].copy_(sd["transformer.ln_f.bias"])
        x = torch.randint(0, 50257, (2, 16))
        assert torch.allclose(ours_model(x), theirs(x).logits, atol=1e-4, rtol=1e-4)
