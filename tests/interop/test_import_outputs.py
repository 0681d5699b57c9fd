"""`netspec import model.onnx -o spec.yaml --weights-out w.pt` writes the pair together: both files
appear, or neither (a weight file the disk cannot hold leaves no spec behind), never a temporary file."""

from __future__ import annotations

import errno
import warnings

import pytest
import torch
import torch.nn as nn

from netspec.cli.main import main

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture()
def onnx_file(tmp_path):
    path = tmp_path / "mlp.onnx"
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).eval(), torch.randn(1, 4),
                          str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}})
    return path


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_weight_save_leaves_neither_file(onnx_file, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()

    def full_disk(obj, f, *a, **k):
        f.write(b"PK")  # half a file (torch.save writes through the file object), then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    rc = main(["import", str(onnx_file), "-o", str(out / "net.yaml"), "--weights-out", str(out / "net.pt")])
    err = capsys.readouterr().err
    assert rc == 1 and f"{out / 'net.pt'}: no space left on device" in err and "internal error" not in err, err
    assert _listing(out) == []  # no spec, no weights, no temporary file


def test_the_pair_appears_together_and_loads(onnx_file, tmp_path, capsys):
    import netspec

    spec, weights = tmp_path / "net.yaml", tmp_path / "net.pt"
    assert main(["import", str(onnx_file), "-o", str(spec), "--weights-out", str(weights)]) == 0
    assert _listing(tmp_path) == ["mlp.onnx", "net.pt", "net.yaml"]
    module = netspec.compile(spec, weights=weights)
    torch.manual_seed(0)  # the fixture's model again, same seed: the same initial weights
    ref = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2)).eval()
    x = torch.randn(5, 4)
    assert torch.allclose(module(x), ref(x), atol=1e-6)
    # the same file for both is refused before anything is written
    capsys.readouterr()
    assert main(["import", str(onnx_file), "-o", str(tmp_path / "a.yaml"), "--weights-out",
                 str(tmp_path / "a.yaml")]) == 2
    assert "name the same file" in capsys.readouterr().err and not (tmp_path / "a.yaml").exists()
