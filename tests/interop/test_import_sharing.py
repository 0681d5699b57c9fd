"""Weights used at more than one place: a module forward calls again (``self.fc(self.fc(x))``, a Siamese encoder
applied to two inputs, a block applied three times) is its first call's layer applied again, ``share:``; a
parameter two modules hold (GPT-2's ``self.head.weight = self.wte.weight``) is the later layer's ``tie:``. Each
spec is checked against the model, independently of the importer's own check: its parameter count is torch's
``sum(p.numel() for p in model.parameters())`` (each shared tensor once) and, with the model's state dict, it
computes the model's outputs (torch at run time)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from import_support import same_function, sample

import netspec
from netspec.interop.importer import NotImportable, import_model


def layer_items(items: list) -> list[dict]:
    """Every layer item of an imported spec, inside groups too."""
    out = []
    for item in items:
        out.append(item)
        for body in item.values():
            if isinstance(body, dict):
                for key in ("layers", "shortcut"):
                    out += layer_items(body.get(key, []))
    return out


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.conv = nn.Conv1d(2, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(torch.relu(self.conv(x)))
        return self.fc(torch.tanh(self.fc(y)))


def test_a_module_called_twice_shares_its_first_layer():
    model = Twice()
    done = import_model(model, [2, 8])
    shared = {item["name"]: item["share"] for item in done.spec["layers"] if "share" in item}
    assert shared == {"conv_2": "conv", "fc_2": "fc"}, done.text
    # the model's count: each of the two modules once (2·2·3 + 2 and 8·8 + 8, worked by hand: 14 + 72)
    assert sum(p.numel() for p in model.parameters()) == 86 == done.params
    same_function(done.text, model, sample([2, 8]))


class Siamese(nn.Module):
    """One encoder applied to both halves of the input, the distance of the two codes classified."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 5))
        self.head = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=1)
        return self.head(self.encoder(a) - self.encoder(b))


def test_a_siamese_encoder_is_a_second_group_sharing_the_firsts_layers():
    model = Siamese()
    done = import_model(model, [16])
    groups = [item for item in done.spec["layers"] if item["name"].startswith("encoder")]
    assert [g["name"] for g in groups] == ["encoder", "encoder_2"], done.text
    second = layer_items(groups[1:])
    assert [i.get("share") for i in second if "dense" in i] == ["encoder.dense_1", "encoder.dense_3"], done.text
    assert done.params == sum(p.numel() for p in model.parameters())
    same_function(done.text, model, sample([16]))


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.ln = nn.LayerNorm(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.relu(self.ln(self.fc(x)))


class Recurrent(nn.Module):
    """One block applied three times (a Universal Transformer's weight sharing across depth)."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(4, 6)
        self.block = Block()
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.inp(x)
        for _ in range(3):
            x = self.block(x)
        return self.out(x)


def test_a_block_applied_three_times_is_three_groups_with_one_set_of_weights():
    model = Recurrent()
    done = import_model(model, [4])
    net = netspec.check(done.text).graph.network()
    assert net.params == sum(p.numel() for p in model.parameters())
    inside = [i for b in done.spec.get("blocks", {}).values() for i in layer_items(b["layers"])]
    shares = [i["share"] for i in layer_items(done.spec["layers"]) + inside if "share" in i]
    assert shares and set(shares) == {"block.fc", "block.ln"}, done.text
    same_function(done.text, model, sample([4]))


class TiedLM(nn.Module):
    """GPT-2's tying: the output projection's weight is the token embedding's."""

    def __init__(self, bias: bool) -> None:
        super().__init__()
        self.wte = nn.Embedding(50, 16)
        self.ln = nn.LayerNorm(16)
        self.head = nn.Linear(16, 50, bias=bias)
        self.head.weight = self.wte.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.ln(self.wte(x)))


@pytest.mark.parametrize("bias", [False, True])
def test_a_tied_weight_is_written_as_tie(bias):
    model = TiedLM(bias)
    done = import_model(model, [7], input_dtype="long")
    head = next(item for item in done.spec["layers"] if item["name"] == "head")
    assert head["tie"] == {"weight": "wte"}, done.text
    # 50·16 embedding + 2·16 layernorm (+ 50 bias), the tied matrix once: torch's count below agrees
    assert done.params == 50 * 16 + 32 + (50 if bias else 0) == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(done.text, weights=model.state_dict()).eval()
    x = torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-5)
    # the spec's module ties them too: one tensor under both names
    assert mine.state_dict().keys() >= {"wte.weight", "head.weight"}
    assert sum(p.numel() for p in mine.parameters()) == done.params


class EncoderTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.enc(self.enc(x))


class TableTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pos = nn.Parameter(torch.randn(1, 5, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.pos) + self.pos


@pytest.mark.parametrize("model, why", [
    (EncoderTwice, "called twice, and netspec writes it as a group of layers, which share:"),
    (TableTwice, "forward reads this parameter twice")])
def test_what_share_cannot_express_is_refused_with_the_reason(model, why):
    with pytest.raises(NotImportable) as err:
        import_model(model(), [5, 8])
    assert why in str(err.value) and "hint:" in str(err.value), str(err.value)


class CallsItsLayerTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.fc(torch.relu(self.fc(x)))


class Stack(nn.Module):
    """Three blocks, each calling its own layer twice: one block definition whose second layer shares its first."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(CallsItsLayerTwice(), CallsItsLayerTwice(), CallsItsLayerTwice())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)


def test_sharing_inside_a_repeated_block_names_the_blocks_own_layer():
    model = Stack()
    done = import_model(model, [6])
    (block,) = done.spec["blocks"].values()
    assert [i.get("share") for i in block["layers"] if "dense" in i] == [None, "fc"], done.text
    # three blocks of one 6×6 linear layer each: 3·(36 + 6) = 126, torch's count of the model
    assert done.params == 126 == sum(p.numel() for p in model.parameters())
    same_function(done.text, model, sample([6]))


class RecurrentTwice(nn.Module):
    """One LSTM over its own output: every step read at both calls (shared), or the last step at the second."""

    def __init__(self, last: bool) -> None:
        super().__init__()
        self.last = last
        self.lstm = nn.LSTM(4, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, _ = self.lstm(x)
        b, _ = self.lstm(a)
        return b[:, -1] if self.last else b


def test_a_recurrent_layer_applied_to_its_own_output_shares_its_weights():
    model = RecurrentTwice(last=False)
    done = import_model(model, [5, 4])
    assert [i.get("share") for i in done.spec["layers"]] == [None, "lstm"], done.text
    same_function(done.text, model, sample([5, 4]))


def test_a_module_whose_calls_read_it_differently_is_refused_naming_both():
    """A shared layer runs as the layer it shares: its second call cannot return the last step alone."""
    with pytest.raises(NotImportable) as err:
        import_model(RecurrentTwice(last=True), [5, 4])
    assert "called again as lstm {units: 4}, first as lstm {units: 4, return_sequences: true}" in str(err.value), \
        str(err.value)


class Albert(nn.Module):
    """ALBERT's sharing across layers: one block instance listed three times, ``nn.ModuleList([block] * 3)``."""

    def __init__(self) -> None:
        super().__init__()
        block = Block()
        self.layers = nn.ModuleList([block] * 3)
        self.out = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.out(x)


def test_one_block_listed_three_times_is_three_uses_of_one_set_of_weights():
    model = Albert()
    done = import_model(model, [6])
    # one block (6·6 + 6 + 2·6 = 54) and the output layer (14): torch's count, each tensor once
    assert done.params == 68 == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(done.text, weights={k: v for k, v in model.state_dict().items()
                                               if k.startswith(("layers.0.", "out."))}).eval()
    x = sample([6])
    with torch.no_grad():
        assert torch.allclose(mine(x), model.eval()(x), atol=1e-6)
