"""Models in: a PyTorch model -> spec (torch.fx) -> module with the model's weights -> the same outputs.

The models are written here (a torchvision-layout ResNet, an Inception-style module, DenseNet-style
dense connectivity) and, when torchvision is importable, torchvision's own. The spec must check with
the model's exact parameter count, and be readable: blocks with parameters, ``repeat``, residual and
parallel groups rather than a flat list.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from import_support import same_function, sample
from torchvision_layout import TinyDenseNet, TinyMobileNetV2, TinyResNet, TinyVGG, randomise

import netspec
from netspec.cli.main import main
from netspec.interop.importer import NotImportable, import_model


def test_a_resnet_becomes_residual_blocks_with_repeat():
    model = randomise(TinyResNet())
    done = import_model(model, [3, 16, 16], name="tiny")
    spec = done.spec
    assert "basic_block" in spec["blocks"] and spec["blocks"]["basic_block"]["residual"] is True
    assert spec["blocks"]["basic_block"]["activation"] == "relu"
    assert {"basic_block": {"filters": 8}, "repeat": 2, "name": "layer1"} in spec["layers"]
    assert done.max_diff == 0.0
    same_function(done.text, model, sample([3, 16, 16]))


class Branches(nn.Module):
    """Inception-style: four branches on the same input, concatenated."""

    def __init__(self, cin: int) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(cin, 4, 1)
        self.b2 = nn.Sequential(nn.Conv2d(cin, 3, 1), nn.ReLU(), nn.Conv2d(3, 5, 3, padding=1))
        self.b3 = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, 2, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1))


class Inceptionish(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.a = Branches(6)
        self.b = Branches(11)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(11, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.b(self.a(self.stem(x))))


def test_branches_become_a_parallel_block():
    model = randomise(Inceptionish())
    done = import_model(model, [3, 12, 12], name="inceptionish")
    block = done.spec["blocks"]["branches"]
    (parallel,) = block["layers"]
    assert next(iter(parallel)) == "parallel" and parallel["parallel"]["activation"] == "relu"
    assert len(parallel["parallel"]["branches"]) == 3
    same_function(done.text, model, sample([3, 12, 12]))


class DenseLayer(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, 4, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.conv(F.relu(self.norm(torch.cat(features, 1))))


class Densish(nn.Module):
    """DenseNet's connectivity: each layer reads the concatenation of everything before it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.layers = nn.ModuleList([DenseLayer(4 + 4 * i) for i in range(3)])
        self.fc = nn.Linear(16 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(features))
        return self.fc(torch.flatten(torch.cat(features, 1), 1))


def test_dense_connectivity_becomes_a_repeated_block():
    """cat([x, n1, ..., nk]) is cat(cat([x, ..., n(k-1)]), nk): each dense layer is x -> concat(x, f(x)),
    one block whose copies differ only in their input width (which netspec infers), hence `repeat`."""
    model = randomise(Densish())
    done = import_model(model, [1, 8, 8], name="densish")
    assert {"dense_layer": {}, "repeat": 3, "name": "layers"} in done.spec["layers"]
    (parallel,) = done.spec["blocks"]["dense_layer"]["layers"]
    assert parallel["parallel"]["merge"] == "concat" and parallel["parallel"]["branches"][0] == []
    assert "from:" not in done.text
    same_function(done.text, model, sample([1, 8, 8]))


def test_a_torchvision_layout_densenet_imports_with_repeat_and_loads_by_name():
    """torchvision's DenseNet layout (ModuleDict `denselayer1`..., `_Transition` an nn.Sequential
    subclass): the block takes the layers' name, `denselayer`, and `denseblock1.denselayer_2` is
    spelled `denseblock1.denselayer2` when the state dict loads."""
    model = randomise(TinyDenseNet())
    done = import_model(model, [3, 16, 16], name="tiny_densenet")
    features = next(i for i in done.spec["layers"] if i.get("name") == "features")["sequential"]["layers"]
    assert {"denselayer": {}, "repeat": 3, "name": "denseblock1"} in features
    assert {"denselayer": {}, "repeat": 2, "name": "denseblock2"} in features
    assert list(done.spec["blocks"]) == ["denselayer"]  # one transition: no block for it
    assert done.weights.endswith("loaded by name")
    same_function(done.text, model, sample([3, 16, 16]))


def test_sequential_indices_load_by_name():
    """nn.Sequential's children `features.0`, `classifier.3` become `conv2d_1`, `dense_4` (numbered
    siblings), which load as the indices."""
    model = randomise(TinyVGG())
    done = import_model(model, [3, 8, 8], name="tiny_vgg")
    features = done.spec["layers"][0]["sequential"]["layers"]
    assert [i["name"] for i in features][:4] == ["conv2d_1", "relu_2", "max_pool2d_3", "conv2d_4"]
    same_function(done.text, model, sample([3, 8, 8]))


def test_a_torchvision_layout_mobilenet_v2_loads_by_name():
    """Sequential subclasses inside Sequentials (`features.1.conv.0.0`), residual and plain inverted
    residuals: blocks, and the model's state dict by name."""
    model = randomise(TinyMobileNetV2())
    done = import_model(model, [3, 16, 16], name="tiny_mobilenet_v2")
    assert "inverted_residual" in done.spec["blocks"] and "conv_norm_activation" in done.spec["blocks"]
    same_function(done.text, model, sample([3, 16, 16]))


class Unmappable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.Hardtanh(-2.0, 2.0)  # no netspec kind
        self.shared = nn.Linear(4, 4)
        self.aux = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.conv(x)).cumsum(1).mean((2, 3))  # a running sum: no netspec kind
        return self.shared(self.shared(x.view(x.size(0), -1)))


def test_what_cannot_be_mapped_is_listed_by_place():
    with pytest.raises(NotImportable) as err:
        import_model(Unmappable(), [3, 8, 8])
    where = {r.path: r.why for r in err.value.refusals}
    assert "Hardtanh" in str(err.value) and "act" in where
    assert "shared" not in where  # called twice: its second call `share:`s the first (test_import_sharing.py)
    assert "aux" not in where  # never called in eval mode: left out of the spec, not refused
    assert any("cumsum" in str(p) for p in err.value.parts)
    # `x.view(x.size(0), -1)`: the size is read from the traced run, the view is a flatten
    assert not any("size" in str(p) or "view" in str(p) for p in err.value.parts)


def test_import_cli(tmp_path, capsys):
    (tmp_path / "models.py").write_text(
        "import torch.nn as nn\n\n\ndef mlp():\n"
        "    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2), nn.Softmax(dim=-1))\n")
    out = tmp_path / "mlp.yaml"
    assert main(["import", f"{tmp_path / 'models.py'}:mlp", "--input", "4", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "58 parameters" in err and "same outputs" in err
    assert main(["check", str(out)]) == 0
    capsys.readouterr()
    assert main(["import", f"{tmp_path / 'models.py'}:mlp", "-o", str(tmp_path / "x.yaml")]) == 2
    assert "--input" in capsys.readouterr().err
    assert main(["import", "nowhere_at_all:thing", "--input", "4"]) == 2


# --- optional: torchvision's own models ---------------------------------------------------------------
TORCHVISION = {"resnet18": {}, "resnet50": {}, "vgg16": {}, "googlenet": {"aux_logits": False, "init_weights": True},
               "densenet121": {}, "mobilenet_v2": {}}
BY_NAME = {"resnet18", "resnet50", "vgg16", "densenet121", "mobilenet_v2", "googlenet"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_models_import_and_compute_the_same(name):
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch
        pytest.skip("torchvision is not importable here")
    model = randomise(getattr(models, name)(**TORCHVISION[name]))
    done = import_model(model, [3, 224, 224], name=name)
    assert done.max_diff is not None and done.max_diff < 1e-4
    assert done.text.count("\n") < 200 and (name == "vgg16" or done.spec.get("blocks"))
    if name == "densenet121":
        assert '{"denselayer": {}, "repeat": 24' in str(done.spec).replace("'", '"')
    if name in BY_NAME:
        same_function(done.text, model, sample([3, 224, 224]))


def test_build_with_the_models_weights_reports_loaded_by_name(tmp_path, capsys):
    """`netspec import` then `netspec build --weights` with the model's own state dict file: every
    module loads by name (torchvision's `layer1.0.conv1`, `layer2.0.downsample.0`)."""
    model = randomise(TinyResNet())
    done = import_model(model, [3, 16, 16], name="tiny")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(done.text + "train: {data: random, epochs: 1, batch_size: 4}\n", encoding="utf-8")
    torch.save(model.state_dict(), tmp_path / "tiny_resnet.pt")
    assert main(["build", str(spec), "--dry-run", "--subset", "8", "--weights", str(tmp_path / "tiny_resnet.pt")]) == 0
    out = capsys.readouterr().out
    n = len({key.rpartition(".")[0] for key in model.state_dict()})  # torch's modules holding tensors
    assert f"weights from {tmp_path / 'tiny_resnet.pt'}: {n} of {n} modules loaded by name" in out


# --- token models, recurrent layers, a bare layer, repeats, the user's code failing ---------------------
class Tagger(nn.Module):
    """Embedding -> LSTM -> the last step's classifier, as PyTorch tutorials write it."""

    def __init__(self, every_step: bool = False) -> None:
        super().__init__()
        self.every_step = every_step
        self.emb = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.emb(x))
        return self.fc(out if self.every_step else out[:, -1])


@pytest.mark.parametrize("every_step", [False, True])
def test_an_embedding_and_lstm_import_with_token_inputs(every_step):
    model = Tagger(every_step).eval()
    done = import_model(model, [12], name="tagger", input_dtype="long")
    assert done.spec["input"] == {"shape": [12], "dtype": "long"}
    layers = {item["name"]: item for item in done.spec["layers"]}
    assert layers["lstm"]["lstm"].get("return_sequences", False) is every_step
    assert layers["lstm"]["lstm"]["layers"] == 2
    mine = netspec.compile(done.text, weights=model.state_dict()).eval()
    assert sum(p.numel() for p in mine.parameters()) == sum(p.numel() for p in model.parameters())
    x = torch.randint(0, 50, (3, 12))
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-6)


class FinalState(Tagger):
    """`_, (h, c) = self.lstm(x)`: the classifier reads the final state, as many tutorials write it."""

    def __init__(self, read: str, layers: int = 2) -> None:
        super().__init__()
        self.read = read
        self.lstm = nn.LSTM(8, 16, num_layers=layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (h, c) = self.lstm(self.emb(x))
        if self.read == "h[-1]":
            return self.fc(h[-1])
        if self.read == "h[-1] + c[-1]":
            return self.fc(h[-1] + c[-1])
        if self.read == "h.squeeze(0)":
            return self.fc(h.squeeze(0))
        if self.read == "h.squeeze()":
            return self.fc(h.squeeze())
        if self.read == "torch.squeeze(h, 0)":
            return self.fc(torch.squeeze(h, 0))
        if self.read == "out[:, -1] + h[0]":
            return self.fc(out[:, -1] + h[0])
        if self.read == "h[1]":
            return self.fc(h[1])
        return h  # the state itself, in PyTorch's (layers, batch, units) layout


@pytest.mark.parametrize("read, layers", [("h[-1]", 2), ("h[-1] + c[-1]", 2), ("h.squeeze(0)", 1), ("h.squeeze()", 1),
                                          ("torch.squeeze(h, 0)", 1), ("out[:, -1] + h[0]", 2), ("h[1]", 3)])
def test_the_final_lstm_state_imports_as_its_h_and_c_outputs(read, layers):
    model = FinalState(read, layers).eval()
    done = import_model(model, [12], name="final_state", input_dtype="long")
    layers_ = {item["name"]: item for item in done.spec["layers"]}
    assert layers_["lstm"]["lstm"]["return_state"] is True
    assert any(item.get("from") == "lstm:h" for item in done.spec["layers"])
    mine = netspec.compile(done.text, weights=model.state_dict()).eval()
    assert sum(p.numel() for p in mine.parameters()) == sum(p.numel() for p in model.parameters())
    assert {how for *_, how in mine.netspec_weights.loaded} == {"name"}
    x = torch.randint(0, 50, (3, 12))
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-6)


class GRUState(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(5, 7, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(7, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(x)
        return self.fc(h[-1])  # the backward direction's final state


def test_a_gru_final_state_imports():
    model = GRUState().eval()
    done = import_model(model, [6, 5], name="gru_state")
    assert done.max_diff is not None
    x = torch.randn(4, 6, 5)
    mine = netspec.compile(done.text, weights=model.state_dict()).eval()
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-6)


@pytest.mark.parametrize("read, why", [("h", "returns h")])
def test_reading_the_state_otherwise_is_listed_by_place_not_as_never_called(read, why):
    with pytest.raises(NotImportable) as err:
        import_model(FinalState(read, layers=3), [12], input_dtype="long", check=False)
    assert why in str(err.value) and "h[-1]" in str(err.value)
    assert "LSTM: never called" not in str(err.value)


def test_a_bare_layer_imports_as_one_layer():
    model = nn.Linear(3, 2)
    done = import_model(model, [3])
    assert [next(iter(item)) for item in done.spec["layers"]] == ["dense"]
    x = torch.randn(4, 3)
    mine = netspec.compile(done.text)
    mine.load_state_dict({f"linear.{k}": v for k, v in model.state_dict().items()})  # its keys gain its name
    with torch.no_grad():
        assert torch.equal(mine(x), model(x))


class Block(nn.Module):  # a class named like netspec's `block` kind: the block definition is renamed
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x))


class ThreeBlocks(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block(), Block())
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(x))


def test_identical_blocks_become_a_repeat():
    model = ThreeBlocks()
    done = import_model(model, [8])
    assert done.spec["layers"][0]["repeat"] == 3 and done.spec["layers"][0]["name"] == "blocks"
    same_function(done.text, model, sample([8]))


def test_the_users_code_failing_is_a_located_user_error(tmp_path, capsys):
    (tmp_path / "bad.py").write_text("import torch\n\n\ndef f(:\n    pass\n")
    (tmp_path / "m.py").write_text("import torch\n\n\ndef f():\n    raise ValueError('boom')\n")
    assert main(["import", f"{tmp_path / 'bad.py'}:f", "--input", "3"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'bad.py'}:4:" in err and "does not parse" in err and "Traceback" not in err
    assert main(["import", f"{tmp_path / 'm.py'}:f", "--input", "3"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'm.py'}:5:" in err and f"calling {tmp_path / 'm.py'}:f raised ValueError: boom" in err
    assert "hint:" in err and "bug in netspec" not in err


def test_import_cli_takes_token_ids(tmp_path, capsys):
    (tmp_path / "tagger.py").write_text(
        "import torch.nn as nn\n\n\nclass Tagger(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.emb = nn.Embedding(30, 4)\n        self.gru = nn.GRU(4, 6, batch_first=True)\n\n"
        "    def forward(self, x):\n        out, _ = self.gru(self.emb(x))\n        return out\n")
    out = tmp_path / "tagger.yaml"
    assert main(["import", f"{tmp_path / 'tagger.py'}:Tagger", "--input", "9", "--dtype", "long", "-o", str(out)]) == 0
    # 30·4 embedding + GRU 3·6·(4 + 6) weights + 2·3·6 biases = 120 + 180 + 36
    assert f"{120 + 180 + 36} parameters" in capsys.readouterr().err
    assert "dtype: long" in out.read_text()
