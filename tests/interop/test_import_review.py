"""What a fresh user's review of ``netspec import`` found: parameters under the model's own names,
functional forms, models without parameters, a RegNet's shortcut, messages. Every expected number comes
from torch at run time (the model's parameter count and outputs)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from import_support import same_function

import netspec
from netspec.cli.main import main
from netspec.core.errors import DataError
from netspec.interop.importer import NotImportable, import_model


# --- 1. a parameter used as a layer, under the model's own name ----------------------------------------
class Positions(nn.Module):
    def __init__(self, attr: str) -> None:
        super().__init__()
        self.attr = attr
        self.emb = nn.Embedding(20, 8)
        setattr(self, attr, nn.Parameter(torch.randn(1, 6, 8)))
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.emb(x) + getattr(self, self.attr)
        return self.head(x[:, -1])


class Tokens(nn.Module):
    """timm's layout: ``cls_token`` and ``pos_embed`` side by side on the model."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 8)
        self.cls_token = nn.Parameter(torch.randn(1, 1, 8))
        self.pos_embed = nn.Parameter(torch.randn(1, 6, 8))
        self.head = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(x[:, 0])


class Scaled(nn.Module):
    """ConvNeXt's original ``gamma`` (a layer scale) inside a block."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.gamma = nn.Parameter(torch.rand(4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gamma * self.conv(x)


class Scales(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(Scaled(), Scaled())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.blocks(x)), 1))


@pytest.mark.parametrize("attr", ["pos", "pos_emb", "pos_embedding"])
def test_a_position_table_under_any_name_loads_by_name(attr):
    torch.manual_seed(0)
    model = Positions(attr)
    done = import_model(model, [6], input_dtype="long")
    assert done.max_diff is not None
    same_function(done.text, model, torch.randint(0, 20, (2, 6)))


def test_a_class_token_and_a_position_table_side_by_side_under_timms_names():
    torch.manual_seed(0)
    model = Tokens()
    done = import_model(model, [5, 4])
    same_function(done.text, model, torch.randn(2, 5, 4))


def test_a_layer_scale_named_gamma_in_repeated_blocks_loads_by_name():
    torch.manual_seed(0)
    model = Scales()
    done = import_model(model, [4, 6, 6])
    same_function(done.text, model, torch.randn(2, 4, 6, 6))


def test_a_refused_load_names_options_that_exist():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    text = import_model(model, [4]).text
    weights = {**nn.Sequential(nn.Linear(4, 3)).state_dict(), "1.weight": torch.zeros(5, 3), "1.bias": torch.zeros(5)}
    with pytest.raises(DataError) as info:
        netspec.compile(text, weights=weights)
    message = str(info.value)
    assert "(--partial)" not in message and "partial=True" in message


# --- 2. functional forms, and a dim that is the last axis ------------------------------------------------
class OldTutorial(nn.Module):
    """The classic PyTorch MNIST example's net: functional pooling, view(-1, ...), log_softmax(dim=1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 16 * 4 * 4)
        return F.log_softmax(self.fc1(x), dim=1)


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv1d = nn.Conv1d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4, 6)
        self.logsm = nn.LogSoftmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(F.leaky_relu(self.conv(x), 0.2), 2, stride=2)        # (N, 4, 4, 4)
        x = torch.softmax(x, dim=1)                                            # over the channels
        x = F.elu(x.flatten(2), alpha=0.5)                                     # (N, 4, 16)
        x = F.max_pool1d(self.conv1d(x), 4)                                    # (N, 4, 4)
        x = self.fc(torch.flatten(x, 1))
        return self.logsm(x.softmax(-1) + F.softmax(x, dim=1))


def test_the_classic_mnist_tutorial_net_imports_and_computes_the_same():
    torch.manual_seed(0)
    model = OldTutorial()
    done = import_model(model, [1, 28, 28])
    same_function(done.text, model, torch.randn(2, 1, 28, 28))


def test_functional_pools_softmaxes_and_activations_import_with_their_options():
    torch.manual_seed(0)
    model = Functional()
    done = import_model(model, [3, 8, 8])
    same_function(done.text, model, torch.randn(2, 3, 8, 8))


class OverBatch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(torch.cumsum(x, 1), dim=0)


def test_a_refused_function_is_listed_at_its_line_of_forward():
    with pytest.raises(NotImportable) as info:
        import_model(OverBatch(), [4])
    where = {w: why for w, _, why in info.value.parts}
    lines = [i for i, text in enumerate(open(__file__).read().splitlines(), 1) if "torch.cumsum(x, 1), dim=0" in text]
    assert set(where) == {f"test_import_review.py:{lines[0]}"}, where
    assert any("cumsum" in w or "batch" in w for w in where.values())
    assert "cumsum" in str(info.value) and "over the batch axis" in str(info.value)


# --- 3. a model without parameters ------------------------------------------------------------------------
class Parameterless(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x.relu())


@pytest.mark.parametrize("model", [nn.ReLU(), nn.Sequential(nn.Flatten(), nn.Tanh()), Parameterless()],
                         ids=["ReLU", "Sequential", "forward"])
def test_a_model_without_parameters_imports_and_checks(model):
    done = import_model(model, [2, 3])
    assert done.params == sum(p.numel() for p in model.parameters()) == 0
    assert done.max_diff is not None
    same_function(done.text, model, torch.randn(4, 2, 3))


# --- 4. a residual whose projection comes first; children named after their parent -----------------------
class Bottleneck(nn.Module):
    """torchvision's RegNet block: ``relu(proj(x) + f(x))``, the projection written first."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) \
            if (cin, stride) != (cout, 1) else None
        self.f = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                               nn.Conv2d(cout, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x) + self.f(x) if self.proj is not None else x + self.f(x)
        return self.activation(x)


class Stage(nn.Sequential):
    """torchvision's RegNet ``AnyStage``: its blocks named ``<stage>-<i>`` (``block3-0``)."""

    def __init__(self, cin: int, cout: int, depth: int, name: str) -> None:
        super().__init__()
        for i in range(depth):
            self.add_module(f"{name}-{i}", Bottleneck(cin if i == 0 else cout, cout, 2 if i == 0 else 1))


class TinyRegNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Sequential()
        for k, (cin, cout) in enumerate([(3, 4), (4, 8), (8, 8)], 1):
            self.trunk.add_module(f"block{k}", Stage(cin, cout, 1 if k == 1 else 2, f"block{k}"))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.trunk(x)), 1))


def _residuals(v: object) -> list[dict]:
    if isinstance(v, dict):
        own = [v] if v.get("residual") is True or "shortcut" in v else []
        return own + [r for x in v.values() for r in _residuals(x)]
    if isinstance(v, list):
        return [r for x in v for r in _residuals(x)]
    return []


def _names(v: object) -> set[str]:
    if isinstance(v, dict):
        return ({str(v["name"])} if "name" in v else set()) | {n for x in v.values() for n in _names(x)}
    if isinstance(v, list):
        return {n for x in v for n in _names(x)}
    return set()


def test_the_projection_is_the_shortcut_whichever_side_of_the_sum_it_is_on():
    torch.manual_seed(0)
    model = TinyRegNet()
    done = import_model(model, [3, 16, 16])
    same_function(done.text, model, torch.randn(2, 3, 16, 16))
    with_shortcut = [r for r in _residuals(done.spec) if r.get("shortcut")]
    assert with_shortcut
    for r in with_shortcut:  # the shortcut is the 1x1 projection (two layers), the body the bottleneck
        assert _names(r["shortcut"]) >= {"proj"} and "f" not in _names(r["shortcut"])
        assert "f" in {item.get("name") for item in r["layers"]}


def test_names_inside_a_shared_block_do_not_carry_one_parents_name():
    torch.manual_seed(0)
    model = TinyRegNet()
    done = import_model(model, [3, 16, 16])
    assert done.spec.get("blocks")
    inside = _names(done.spec["blocks"])
    assert not any(n.startswith(("block2", "block3")) for n in inside), inside
    same_function(done.text, model, torch.randn(2, 3, 16, 16))


# --- 5. -o model.ns writes the DSL ------------------------------------------------------------------------
MODELS = '''import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))


class Raises(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        raise ValueError("boom in forward")


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return -self.fc(x)


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.emb(x)[:, -1])


def broken():
    raise RuntimeError("no data here")


def needs(n):
    return nn.Linear(n, 2)


def number():
    return 3
'''


@pytest.fixture
def models(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODELS)
    return path


def _line(text: str, path) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_output_named_ns_is_the_dsl_and_reads_back_as_the_same_network(models, tmp_path, capsys):
    out = tmp_path / "mlp.ns"
    assert main(["import", f"{models}:mlp", "--input", "4", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    assert f"wrote {out}: {sum(p.numel() for p in model.parameters())} parameters" in err
    text = out.read_text()
    assert not text.lstrip("# \n").startswith("netspec:")  # not YAML's `netspec: 1`
    report = netspec.check(out)
    assert report.ok and report.graph.network().params == sum(p.numel() for p in model.parameters())
    assert main(["import", f"{models}:mlp", "--input", "4", "-o", str(tmp_path / "mlp.txt")]) == 2
    assert ".txt" in capsys.readouterr().err and not (tmp_path / "mlp.txt").exists()


# --- 6. tracing failures: the cause, at the user's line, with a hint ------------------------------------
@pytest.mark.parametrize("target, shape, text, cause", [
    ("Raises", "4", 'raise ValueError("boom in forward")', "boom in forward"),
    ("Branches", "4", "if x.sum() > 0:", "control flow"),
    ("Tokens", "5", "return self.fc(self.emb(x)[:, -1])", "--dtype long"),
])
def test_a_forward_that_fails_is_located_at_the_users_line(models, capsys, target, shape, text, cause):
    assert main(["import", f"{models}:{target}", "--input", shape]) == 1
    err = capsys.readouterr().err
    assert f"{models}:{_line(text, models)}:" in err, err
    assert cause in err and "hint:" in err
    assert "While executing" not in err and "tlparse" not in err and "Traceback" not in err


# --- 7. smaller messages ----------------------------------------------------------------------------------
def test_the_cli_messages_say_what_is_wrong(models, capsys):
    assert main(["import", f"{models}:mlp", "--input", "0,5,5"]) == 2
    assert "a size must be a whole number from 1 to 16777216" in capsys.readouterr().err  # 2**24
    assert main(["import", f"{models}:number", "--input", "4"]) == 2
    assert "gives an int" in capsys.readouterr().err
    assert main(["import", f"{models}:mlp", "--input", "4"]) == 0
    assert "wrote the spec to stdout" in capsys.readouterr().err
    assert main(["import", f"{models}:broken", "--input", "4"]) == 1
    err = capsys.readouterr().err
    assert f"{models}:{_line('no data here', models)}:" in err and "defaults" not in err
    assert main(["import", f"{models}:needs", "--input", "4"]) == 1
    err = capsys.readouterr().err
    assert "defaults" in err and f"{models}:{_line('def needs(n):', models)}:" in err


# --- 8. floats written as the shortest decimal of the same float32 ---------------------------------------
def test_floats_are_written_without_float32_noise():
    eps = float(torch.tensor(1e-6))  # a float32's 1e-6 read back as a double: 9.999999974752427e-07
    rate = 0.1 * 3 / 4  # 0.07500000000000001
    assert (repr(eps), repr(rate)) != ("1e-06", "0.075")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4, eps=eps), nn.Dropout(rate), nn.Linear(4, 2))
    done = import_model(model, [4])
    assert "0.075" in done.text and "0.07500000000000001" not in done.text
    assert "9.999999974752427" not in done.text
    norms = [item for item in done.spec["layers"] if "layernorm" in item]
    assert torch.tensor(norms[0]["layernorm"]["eps"], dtype=torch.float32) == torch.tensor(eps, dtype=torch.float32)
    same_function(done.text, model, torch.randn(3, 4))


# --- 8. PyTorch's own Transformer encoder layer -------------------------------------------------------------
class Encoders(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 16)
        self.post = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
        self.pre = nn.TransformerEncoderLayer(16, 2, 24, batch_first=True, norm_first=True, activation="gelu")
        layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, activation=nn.GELU(), layer_norm_eps=1e-6)
        self.encoder = nn.TransformerEncoder(layer, num_layers=3, norm=nn.LayerNorm(16), enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.pre(self.post(self.proj(x))))[:, -1])


def test_pytorchs_transformer_encoder_layers_import_as_residuals_and_load_by_name():
    torch.manual_seed(0)
    model = Encoders()
    done = import_model(model, [5, 8])
    same_function(done.text, model, torch.randn(2, 5, 8))
    assert any(item.get("repeat") == len(model.encoder.layers) for item in _items(done.spec["layers"]))


class Masked(nn.Module):
    def __init__(self, mask: str = "causal") -> None:
        super().__init__()
        self.mask = mask
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask == "causal":  # the causal mask: netspec's `causal: true`
            return self.layer(x, is_causal=True, src_mask=nn.Transformer.generate_square_subsequent_mask(4))
        return self.layer(x, src_mask=torch.eye(4, dtype=torch.bool))  # a mask of another pattern


def test_an_encoder_layer_called_with_the_causal_mask_imports_with_causal_attention():
    torch.manual_seed(0)
    model = Masked()
    done = import_model(model, [4, 8])
    attention = {"attention": {"heads": 2, "dropout": 0.1, "causal": True}, "name": "self_attn"}
    assert attention in _items(done.spec["layers"])
    same_function(done.text, model, torch.randn(2, 4, 8))


def test_an_encoder_layer_called_with_another_mask_is_listed_once_at_the_layer():
    with pytest.raises(NotImportable) as info:
        import_model(Masked("eye"), [4, 8])
    assert [r.path for r in info.value.refusals] == ["layer"]  # the mask's own computation is no refusal of its own
    assert "src_mask that is not the causal mask" in str(info.value) and "hint" in str(info.value).lower()


def _items(layers: list) -> list[dict]:
    out = []
    for item in layers:
        out.append(item)
        for v in item.values():
            if isinstance(v, dict) and isinstance(v.get("layers"), list):
                out += _items(v["layers"])
    return out


class SequenceMean(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layer(x).mean(1))


def test_a_mean_over_positions_or_steps_is_a_pool():
    torch.manual_seed(0)
    model = SequenceMean()
    done = import_model(model, [5, 8])
    same_function(done.text, model, torch.randn(2, 5, 8))
    model2 = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    wrapped = _MeanHead(model2)
    done = import_model(wrapped, [3, 6, 6])
    same_function(done.text, wrapped, torch.randn(2, 3, 6, 6))
    with pytest.raises(NotImportable, match="mean over dims"):
        import_model(_MeanOver(1), [3, 6, 6])


class _MeanHead(nn.Module):
    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).mean(dim=[-2, -1]))


class _MeanOver(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(self.dim)


# --- an activation module's options: taken or refused, never dropped ---------------------------------------
class Activated(nn.Module):
    def __init__(self, act: nn.Module) -> None:
        super().__init__()
        self.fc, self.act = nn.Linear(4, 6), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x))


@pytest.mark.parametrize("act, options", [
    (nn.Softplus(beta=2.0), "['beta']"), (nn.Softplus(threshold=5.0), "['threshold']"),
    (nn.Softplus(beta=0.5, threshold=5.0), "['beta', 'threshold']"),
])
def test_an_activation_modules_options_are_not_dropped(act, options):
    """``nn.Softplus(beta=2)`` computes log(1 + e^(2x))/2, not netspec's softplus (torch's defaults): it was
    imported as ``softplus`` (and written so with ``--no-check``). Refused, naming the options; the same
    module at torch's defaults imports with the model's outputs."""
    torch.manual_seed(0)
    same = Activated(type(act)())
    same_function(import_model(same, [4]).text, same, torch.randn(3, 4))
    with pytest.raises(NotImportable, match=r"options " + options.replace("[", r"\[").replace("]", r"\]")):
        import_model(Activated(act), [4], check=False)


class SelfTie(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn, self.fc = nn.BatchNorm1d(6), nn.Linear(6, 2)
        self.bn.bias = self.bn.weight  # one tensor as both of a module's own

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(x))


def test_a_tensor_held_twice_within_one_module_is_named(tmp_path, capsys):
    """torch counts bn.weight and bn.bias once (20 parameters); a spec's batch norm holds two (26). The refusal
    names them and says why, as an error of netspec's (the prefix), not a bare line."""
    (tmp_path / "m9.py").write_text("import torch.nn as nn\nclass SelfTie(nn.Module):\n    def __init__(s):\n"
                                    "        super().__init__(); s.bn = nn.BatchNorm1d(6); s.bn.bias = s.bn.weight\n"
                                    "        s.fc = nn.Linear(6, 2)\n    def forward(s, x): return s.fc(s.bn(x))\n",
                                    encoding="utf-8")
    assert sum(p.numel() for p in SelfTie().parameters()) == 20
    assert main(["import", f"{tmp_path / 'm9.py'}:SelfTie", "--input", "6", "-o", str(tmp_path / "m.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("netspec: error: the imported spec has 26 parameters, the model 20")
    assert "bn.weight and bn.bias as one tensor within one module" in err
