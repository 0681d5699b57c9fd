"""ONNX in: the LSTM, GRU and RNN operators as torch writes ``nn.LSTM(batch_first=True)`` and friends (the input
transposed to time-first, zero initial states from ConstantOfShape, ONNX's gate order) import as netspec's
recurrent layers, reading the last step from ``Y_h`` (``h[-1]``) or every step from ``Y``. The truth is
onnxruntime running the file (the import's own check) and torch's parameter count; what netspec cannot express
(two directions, non-zero initial states) is refused naming it. Resize by one scale is netspec's upsample."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from netspec.cli.main import main  # noqa: E402
from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402


class Last(nn.Module):
    """The final hidden state of one recurrent layer, then a linear layer."""

    def __init__(self, cell: type, **options) -> None:
        super().__init__()
        self.rnn, self.fc = cell(6, 5, batch_first=True, **options), nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.rnn(x)[1]
        h = out[0] if isinstance(out, tuple) else out
        return self.fc(h[-1])


class Steps(nn.Module):
    """Every step of one recurrent layer, then a linear layer on each."""

    def __init__(self, cell: type, **options) -> None:
        super().__init__()
        self.rnn, self.fc = cell(6, 5, batch_first=True, **options), nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.rnn(x)[0])


def _export(model: nn.Module, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.randn(2, 7, 6), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}})


@pytest.mark.parametrize("model", [Last(nn.LSTM), Last(nn.GRU), Last(nn.RNN), Last(nn.RNN, nonlinearity="relu"),
                                   Steps(nn.LSTM), Steps(nn.GRU), Last(nn.LSTM, bias=False)],
                         ids=["lstm", "gru", "rnn", "rnn-relu", "lstm-steps", "gru-steps", "lstm-no-bias"])
def test_recurrent_operators_import_with_onnxruntimes_outputs(model, tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "m.onnx"
    _export(model, path)
    done = import_onnx(path)
    assert done.params == sum(p.numel() for p in model.parameters())
    assert done.checked == "onnxruntime" and done.max_diff is not None and done.max_diff < 1e-5


@pytest.mark.parametrize("spec", ["keras_lstm_classifier.yaml", "gru_classifier.yaml", "simple_rnn.yaml"])
def test_netspecs_own_onnx_exports_of_recurrent_specs_come_back(spec, tmp_path, capsys):
    """export → import of the reference recurrent specs: the import's check runs onnxruntime on the file."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "specs"
    onnx_file, back = tmp_path / "m.onnx", tmp_path / "back.yaml"
    assert main(["export", str(root / spec), "-o", str(onnx_file)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["import", str(onnx_file), "-o", str(back), "--weights-out", str(tmp_path / "w.pt")]) == 0, \
        capsys.readouterr().err
    assert "computes onnxruntime's outputs" in capsys.readouterr().err


def test_two_directions_are_refused_naming_them(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "bi.onnx"
    model = Last(nn.LSTM, bidirectional=True)
    _export(model, path)
    with pytest.raises(NotImportable, match="direction bidirectional"):
        import_onnx(path)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_a_resize_by_one_scale_imports_as_upsample(mode, tmp_path):
    """``nn.Upsample(scale_factor=2)`` is a Resize with scales [1, 1, 2, 2] (nearest: asymmetric, floor;
    bilinear: half_pixel): netspec's upsample, with onnxruntime's outputs; align_corners is refused."""
    torch.manual_seed(0)
    path = tmp_path / "up.onnx"
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Upsample(scale_factor=2, mode=mode)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(1, 3, 8, 8), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}})
    done = import_onnx(path)
    assert done.checked == "onnxruntime" and done.max_diff is not None and done.max_diff < 1e-5
    if mode == "bilinear":
        corners = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Upsample(scale_factor=2, mode=mode,
                                                                            align_corners=True)).eval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(corners, torch.randn(1, 3, 8, 8), str(path), dynamo=False, input_names=["x"])
        with pytest.raises(NotImportable, match="align_corners"):
            import_onnx(path)
