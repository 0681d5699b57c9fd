"""``netspec import --input T,4`` (``3,H,W``): a size given as a name is traced at an example size (32, or the one
given, ``T=50``) and written as that name in the spec's input; the spec is checked against the model at that size
and at another (48), so a spec that holds at the traced size only (a size the trace kept) is refused with the exact
``--input`` to write. Expected outputs are the model's own, from torch at run time."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import yaml

import netspec
from netspec.cli.main import main
from netspec.core.errors import BuildError, UsageError
from netspec.interop.importer import import_model


class Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (h, c) = self.lstm(x)
        return self.fc(out) + self.fc(h[-1]).unsqueeze(1)


class Convnet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def runs_as_the_model_at(text: str, model: nn.Module, shapes: list[tuple[int, ...]]) -> None:
    mine = netspec.compile(text, weights=model.state_dict()).eval()
    for shape in shapes:
        x = torch.randn(2, *shape)
        with torch.no_grad():
            a, b = mine(x), model.eval()(x)
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5), shape


def test_a_symbolic_sequence_length_is_written_as_its_name():
    model = Tagger()
    done = import_model(model, ["T", 4])
    assert done.spec["input"] == ["T", 4]
    assert "output_shape" not in done.spec["expect"]  # (T, 3): at the traced size only
    runs_as_the_model_at(done.text, model, [(5, 4), (17, 4), (1, 4)])


def test_a_symbolic_image_size_through_the_cli(tmp_path, capsys):
    src = tmp_path / "convnet.py"
    src.write_text("import torch, torch.nn as nn\n\n\nclass Convnet(nn.Module):\n    def __init__(self):\n"
                   "        super().__init__()\n        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n"
                   "        self.pool = nn.AdaptiveAvgPool2d(1)\n        self.fc = nn.Linear(8, 2)\n\n"
                   "    def forward(self, x):\n"
                   "        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))\n")
    out = tmp_path / "net.yaml"
    assert main(["import", f"{src}:Convnet", "--input", "3,H=20,W", "-o", str(out)]) == 0, capsys.readouterr().err
    assert yaml.safe_load(out.read_text())["input"] == [3, "H", "W"]
    torch.manual_seed(0)
    model = Convnet()
    runs_as_the_model_at(out.read_text(), model, [(3, 9, 13), (3, 40, 24)])


class FlattensTheMap(nn.Module):
    """A linear layer over the flattened map: its width fixes H and W."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, padding=1)
        self.fc = nn.Linear(2 * 32 * 32, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.conv(x), 1))


class KeepsTheSize(nn.Module):
    """A reshape to sizes forward computed from x.shape: the trace keeps the traced length."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).reshape(x.size(0), 2, x.size(1) * 2)


@pytest.mark.parametrize("model, shape, fixed", [(FlattensTheMap, ["3", "H", "W"], "--input 3,32,32"),
                                                (KeepsTheSize, ["T", 4], "--input 32,4")])
def test_a_size_the_model_does_not_leave_free_is_refused_saying_what_to_write(model, shape, fixed):
    shape = [int(s) if s.isdigit() else s for s in map(str, shape)]
    with pytest.raises((BuildError, UsageError)) as err:
        import_model(model(), shape)
    assert fixed in str(err.value), str(err.value)
    assert "<string>" not in str(err.value)  # no place in a text the user never sees


def test_the_cli_refuses_it_as_a_message(tmp_path, capsys):
    src = tmp_path / "m.py"
    src.write_text("import torch.nn as nn\n\n\ndef net():\n    return nn.Sequential(nn.Flatten(), nn.Linear(12, 2))\n")
    rc = main(["import", f"{src}:net", "--input", "3,L"])
    err = capsys.readouterr().err
    assert rc in (1, 2) and "Traceback" not in err and "--input 3," in err, err


def test_one_name_with_two_sizes_is_a_usage_error():
    with pytest.raises(UsageError, match="'S' is given two sizes, 8 and 9"):
        import_model(Tagger(), ["S=8", "S=9"])
