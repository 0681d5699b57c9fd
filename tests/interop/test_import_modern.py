"""Models in, the modern ones: Transformers (LayerNorm, nn.MultiheadAttention, a class token, a position
table), squeeze-and-excitation, stochastic depth, ConvNeXt's channel LayerNorm and layer scale.

The hand-written models below need torch only; torchvision's own (vit_b_16, efficientnet_b0,
convnext_tiny, and a small VisionTransformer) run where torchvision imports (the side venv). Every
expected number comes from torch at run time: the model's parameter count and its outputs.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from import_support import same_function, sample
from torchvision_layout import randomise

import netspec
from netspec.interop.importer import NotImportable, import_model


def _kinds(v: object) -> set[str]:
    """Every key of the spec tree (the kinds among them)."""
    if isinstance(v, dict):
        return set(v) | {k for x in v.values() for k in _kinds(x)}
    if isinstance(v, list):
        return {k for x in v for k in _kinds(x)}
    return set()


# --- a ViT written as torchvision writes it (torch only) ------------------------------------------------
class EncoderBlock(nn.Module):
    """Pre-norm: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)); attention called as torchvision
    does (need_weights=False, the tuple's [0] taken)."""

    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim, eps=1e-6)
        self.self_attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(0.0), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.dim() == 3, "a batch of sequences")
        y = self.ln_1(x)
        y, _ = self.self_attention(y, y, y, need_weights=False)
        x = y + x
        return x + self.mlp(self.ln_2(x))


class TinyViT(nn.Module):
    def __init__(self, dim: int = 16, patch: int = 4, size: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.dim = dim
        self.conv_proj = nn.Conv2d(3, dim, patch, stride=patch)
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, (size // patch) ** 2 + 1, dim))
        self.layers = nn.Sequential(*(EncoderBlock(dim, 2, 2 * dim) for _ in range(depth)))
        self.ln = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        x = self.conv_proj(x)
        x = x.reshape(n, self.dim, -1).permute(0, 2, 1)  # sizes from the shape: read from the traced run
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = x + self.pos_embedding
        x = self.ln(self.layers(x))
        return self.head(x[:, 0])


def test_a_vit_imports_as_a_repeated_pre_norm_block_and_loads_by_name():
    model = randomise(TinyViT())
    done = import_model(model, [3, 16, 16], name="tiny_vit")
    kinds = _kinds(done.spec)
    assert {"layernorm", "attention", "class_token", "position_embedding", "sequence_pool", "permute"} <= kinds
    # the block: two residual groups (attention, MLP) in the model's own names, repeated
    block = done.spec["blocks"]["encoder_block"]["layers"]
    assert [next(iter(item)) for item in block] == ["residual", "residual"]
    assert [x["name"] for x in block[0]["residual"]["layers"]] == ["ln_1", "self_attention"]
    assert {"encoder_block": {}, "repeat": 3, "name": "layers"} in done.spec["layers"]
    assert done.spec["expect"]["params"] == sum(p.numel() for p in model.parameters())
    assert done.max_diff is not None and done.max_diff < 1e-5
    same_function(done.text, model, sample([3, 16, 16]))


class CrossAttention(nn.Module):
    """Attention from a sequence's first half onto its second (key = value = the memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(6, 8)
        self.mem = nn.Linear(6, 8)
        self.attn = nn.MultiheadAttention(8, 4, batch_first=True, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        query, memory = self.q(x), self.mem(x)
        out, _ = self.attn(query, memory, memory)
        return out


def test_cross_attention_without_bias_imports():
    model = randomise(CrossAttention())
    done = import_model(model, [5, 6], name="cross")
    attn = next(item for item in done.spec["layers"] if item["name"] == "attn")
    assert attn["attention"] == {"heads": 4, "bias": False} and attn["from"] == ["q", "mem"]
    same_function(done.text, model, sample([5, 6]))


class AttentionWeights(nn.Module):
    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, weights = self.attn(x, x, x)
        return self.fc(weights)


class Unbatched(AttentionWeights):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


@pytest.mark.parametrize("model, why", [(AttentionWeights(), "reads its attention weights"),
                                        (Unbatched(batch_first=False), "batch_first=False")])
def test_what_attention_cannot_take_is_listed_at_the_module(model, why):
    with pytest.raises(NotImportable) as err:
        import_model(model, [4, 8], check=False)
    where = {r.path: r.what for r in err.value.refusals}
    assert where.get("attn") == "MultiheadAttention" and why in str(err.value)


# --- ConvNeXt-style and EfficientNet-style parts (torch only) -------------------------------------------
class StochasticDepth(nn.Module):
    """As torchvision's (a module of that name with `p` and `mode`): drops a sample's branch in training."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.bernoulli(torch.full((x.shape[0],) + (1,) * (x.dim() - 1), 1 - self.p, device=x.device))
        return x * keep / (1 - self.p)


class LayerNorm2d(nn.LayerNorm):
    """ConvNeXt's: a LayerNorm over the channels of (N, C, H, W), read from what it computes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, drop: float) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(dim, dim, 7, padding=3, groups=dim), LayerNorm2d(dim, eps=1e-6),
                                   nn.Conv2d(dim, 2 * dim, 1), nn.GELU(), nn.Conv2d(2 * dim, dim, 1))
        self.layer_scale = nn.Parameter(torch.full((dim, 1, 1), 1e-6))
        self.stochastic_depth = StochasticDepth(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result = self.layer_scale * self.block(x)
        result = self.stochastic_depth(result)
        result += x
        return result


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = torch.sigmoid(self.fc2(F.silu(self.fc1(self.avgpool(x)))))
        return scale * x


class Modern(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 2, stride=2), LayerNorm2d(8, eps=1e-6))
        self.stage = nn.Sequential(ConvNeXtBlock(8, 0.1), ConvNeXtBlock(8, 0.2))
        self.se = SqueezeExcitation(8, 2)
        self.gn = nn.GroupNorm(4, 8, eps=1e-6)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.tokens = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gn(self.se(self.stage(self.stem(x))))
        return self.fc(self.tokens(torch.flatten(self.pool(x), 1)))


def test_layer_scale_stochastic_depth_channel_norm_excitation_and_group_norm_import():
    model = randomise(Modern())
    done = import_model(model, [3, 16, 16], name="modern")
    blocks = done.spec["blocks"]
    assert blocks["conv_ne_xt_block"]["residual"] is True
    body = blocks["conv_ne_xt_block"]["layers"]
    assert [x["name"] for x in body] == ["block", "layer_scale", "stochastic_depth"]
    assert body[2]["drop_path"] == {"rate": "$rate"}  # 0.1 and 0.2: a parameter of the block
    assert {"layernorm": {"eps": 1e-6, "channels_first": True}, "name": "layernorm_2"} in \
        done.spec["layers"][0]["sequential"]["layers"]
    assert {"group_norm": {"groups": 4, "eps": 1e-6}, "name": "gn"} in done.spec["layers"]
    assert "multiply" in str(done.spec)  # the excitation: x times a gate
    same_function(done.text, model, sample([3, 16, 16]))
    # stochastic depth is a layer: in training, the compiled module drops branches as the model does
    mine = netspec.compile(done.text, weights=model.state_dict())
    rates = sorted(m.p if hasattr(m, "p") else m.rate for m in mine.modules() if type(m).__name__ == "StochasticDepth")
    assert rates == [0.1, 0.2]


class OddParameter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 4))
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x @ self.w)


def test_a_parameter_used_otherwise_is_named():
    with pytest.raises(NotImportable) as err:
        import_model(OddParameter(), [4], check=False)
    assert "matmul has no netspec kind (it reads w)" in str(err.value) and "never called" not in str(err.value)


class PositionsSliced(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, 4, 6))  # (1, T, E) of another length than the input's
        self.fc = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x + self.pos)


def test_a_parameter_of_another_shape_is_named_with_the_shapes_netspec_reads():
    with pytest.raises(NotImportable) as err:
        import_model(PositionsSliced(), [1, 6], check=False)
    assert "uses the parameter pos (1, 4, 6) with a (1, 6) input" in str(err.value)


# --- torchvision's own (where torchvision imports) -----------------------------------------------------
def _models():  # noqa: ANN202
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch
        pytest.skip("torchvision is not importable here")
    return models


def test_torchvisions_vision_transformer_small():
    models = _models()
    model = randomise(models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2,
                                               hidden_dim=16, mlp_dim=32, num_classes=10))
    done = import_model(model, [3, 32, 32], name="small_vit")
    assert {"encoder_layer": {}, "repeat": 2, "name": "layers"} in \
        done.spec["layers"][4]["sequential"]["layers"]  # torchvision's encoder_layer_0, encoder_layer_1
    same_function(done.text, model, sample([3, 32, 32]))


@pytest.mark.parametrize("name", ["efficientnet_b0", "convnext_tiny"])
def test_torchvision_convnets_at_a_small_input(name):
    model = randomise(getattr(_models(), name)())
    done = import_model(model, [3, 32, 32], name=name)
    same_function(done.text, model, sample([3, 32, 32]), atol=1e-4)


def test_swin_is_refused_once_per_cause_with_the_blocks_listed():
    """Swin's shifted-window attention (a function of torchvision's, in each of its 12 blocks) and its patch
    merging's padding (in 3 stages) are what netspec cannot express: 27 places, 3 lines."""
    model = _models().swin_t()
    with pytest.raises(NotImportable) as err:
        import_model(model, [3, 224, 224], check=False)
    blocks = [path for path, m in model.named_modules() if type(m).__name__ == "ShiftedWindowAttention"]
    merges = [path for path, m in model.named_modules() if type(m).__name__ == "PatchMerging"]
    assert len(blocks) == 12 and len(merges) == 3  # torchvision's swin_t: depths (2, 2, 6, 2), 3 mergings
    causes = {what: places for _, what, _, places in err.value.causes}
    assert causes["shifted_window_attention"] == blocks and causes["_patch_merging_pad"] == merges
    message = str(err.value)
    assert message.count("shifted_window_attention has no netspec kind") == 1
    assert len(message.splitlines()) <= 1 + 2 * len(causes)  # a line per cause, and one listing its places


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vit_b_16", "efficientnet_b0", "convnext_tiny"])
def test_torchvision_modern_models_import_at_224(name):
    model = randomise(getattr(_models(), name)())
    done = import_model(model, [3, 224, 224], name=name)
    assert done.spec["expect"]["params"] == sum(p.numel() for p in model.parameters())
    assert done.text.count("\n") < 250 and done.spec.get("blocks")
    same_function(done.text, model, sample([3, 224, 224]), atol=1e-4)


class DropPath(nn.Module):
    """timm's: `drop_prob`, survivors scaled by 1 / (1 - drop_prob) (`scale_by_keep`)."""

    def __init__(self, drop_prob: float, scale_by_keep: bool = True) -> None:
        super().__init__()
        self.drop_prob, self.scale_by_keep = drop_prob, scale_by_keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(1 - self.drop_prob)
        return x * keep / (1 - self.drop_prob) if self.scale_by_keep else x * keep


class Mixer(nn.Module):
    def __init__(self, scale_by_keep: bool = True) -> None:
        super().__init__()
        self.norm = nn.LayerNorm([4, 6])  # over the last two axes
        self.fc = nn.Linear(6, 6)
        self.act = nn.GELU(approximate="tanh")
        self.drop_path = DropPath(0.25, scale_by_keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.act(self.fc(self.norm(x))))


def test_timm_drop_path_a_two_axis_layer_norm_and_tanh_gelu_import():
    model = randomise(Mixer())
    done = import_model(model, [4, 6], name="mixer")
    body = {x["name"]: x for x in done.spec["layers"]}  # the model's own layers: named, with from:
    assert body["drop_path"]["drop_path"] == {"rate": 0.25}
    assert body["norm"]["layernorm"] == {"axes": 2} and "gelu_tanh" in body["act"]
    same_function(done.text, model, sample([4, 6]))


def test_a_drop_path_that_does_not_rescale_is_not_taken_for_netspecs():
    with pytest.raises(NotImportable) as err:
        import_model(Mixer(scale_by_keep=False), [4, 6], check=False)
    assert "drop_path" in str(err.value) and "DropPath" in str(err.value)


class Gated(nn.Module):
    """A gate written inline, between other layers of the module: `x * sigmoid(f(x))`."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.fc1 = nn.Conv2d(4, 2, 1)
        self.fc2 = nn.Conv2d(2, 4, 1)
        self.out = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x))))
        return self.out(x)


class TwoGated(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = Gated(), Gated()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


def test_an_inline_gate_becomes_a_parallel_group_that_loads_by_name():
    model = randomise(TwoGated())
    done = import_model(model, [4, 8, 8], name="gated")
    assert [next(iter(x)) for x in done.spec["blocks"]["gated"]["layers"]] == ["conv2d", "parallel", "conv2d"]
    same_function(done.text, model, sample([4, 8, 8]))
