"""Review of 2026-11-30 (new user, second pass): ``--weights DIR`` of a folder that holds no checkpoint says
what was looked for there (last.pt, as a run directory of `netspec build` holds), what the folder holds
instead and what to give, for the flag, ``--set weights=``, a spec's ``weights:`` and ``export --weights``."""

from __future__ import annotations

import pytest
import torch
from train_support import MLP3

from netspec.cli.main import main


@pytest.fixture()
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlp.yaml").write_text(MLP3, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    (tmp_path / "saved").mkdir()
    torch.save({"w": torch.zeros(1)}, tmp_path / "saved" / "model.pth")
    return tmp_path


def _err(capsys, *args) -> str:
    assert main([str(a) for a in args]) == 2
    return capsys.readouterr().err


@pytest.mark.parametrize("folder, holds, hint", [
    ("empty", "it is empty", "give the weights file itself (a .pt/.pth state dict"),
    ("other", "it holds no .pt, .pth, .bin or .safetensors file", "give the weights file itself"),
    ("saved", "it holds model.pth", "give the file itself: --weights saved/model.pth"),
])
def test_a_weights_folder_without_a_checkpoint_says_what_was_looked_for(here, capsys, folder, holds, hint):
    err = _err(capsys, "build", "mlp.yaml", "--dry-run", "--weights", folder)
    assert f"--weights {folder}: a folder, but not a run directory: looked in it for last.pt" in err, err
    assert holds in err and f"hint: {hint}" in err, err
    assert "no file at" not in err


def test_a_weights_path_to_nothing_says_so_with_the_flag(here, capsys):
    err = _err(capsys, "build", "mlp.yaml", "--dry-run", "--weights", "nothere.pt")
    assert "--weights nothere.pt: no such file or folder" in err and "hint: give a weights file" in err, err


def test_set_weights_names_itself(here, capsys):
    err = _err(capsys, "build", "mlp.yaml", "--dry-run", "--set", "weights=saved")
    assert "--set weights saved: a folder, but not a run directory" in err
    assert "hint: give the file itself: --set weights=saved/model.pth" in err, err


def test_a_spec_weights_folder_is_located_in_the_spec(here, capsys):
    text = MLP3.rstrip() + "\n"
    text = text.replace("train: {epochs: 1, batch_size: 16, device: cpu, seed: 0, threads: 1}",
                        "train:\n  epochs: 1\n  device: cpu\n  weights: empty")
    (here / "w.yaml").write_text(text, encoding="utf-8")
    line = text.splitlines().index("  weights: empty") + 1
    err = _err(capsys, "build", "w.yaml", "--dry-run")
    assert f"w.yaml:{line}:3: train.weights {here / 'empty'}: a folder, but not a run directory" in err, err


def test_export_weights_folder_says_the_same(here, capsys):
    err = _err(capsys, "export", "mlp.yaml", "-o", "m.onnx", "--weights", "saved")
    assert "--weights saved: a folder, but not a run directory: looked in it for last.pt" in err, err


def test_a_run_directory_is_still_read_through_its_last_pt(here):
    from netspec.train.checkpoint import weights_file

    (here / "run").mkdir()
    torch.save({"w": torch.zeros(1)}, here / "run" / "last.pt")
    assert weights_file("run") == here.joinpath("run", "last.pt").relative_to(here)
    assert weights_file("saved/model.pth").name == "model.pth"


@pytest.mark.parametrize("make, holds", [
    (lambda d: None, "it is empty"),
    (lambda d: __import__("PIL.Image").Image.new("L", (8, 8)).save(d / "x.png"), "it holds 1 image directly"),
])
def test_an_image_folder_without_class_folders_says_what_it_holds(here, capsys, make, holds):
    (here / "pics").mkdir()
    make(here / "pics")
    (here / "img.yaml").write_text("name: img\ninput: [1, 8, 8]\nlayers: [flatten, dense: 2]\n"
                                   "train: {device: cpu, threads: 1}\n", encoding="utf-8")
    assert main(["build", "img.yaml", "--dry-run", "--data", "pics"]) == 1
    err = capsys.readouterr().err
    assert "has no class sub-folders" in err and holds in err and "hint: put each class's images" in err, err


def test_build_reads_safetensors_files_and_hugging_face_folders(here, capsys):
    """``--weights`` takes what the loader reads: a .safetensors file and a folder holding model.safetensors
    (the report names the file the folder stood for); the weights loaded are the file's (torch at run time)."""
    from safetensors.torch import save_file

    import netspec

    model = netspec.compile(here / "mlp.yaml")
    state = {k: v.detach().clone().fill_(0.25) for k, v in model.state_dict().items()}
    (here / "hf").mkdir()
    save_file(state, here / "hf" / "model.safetensors")
    save_file(state, here / "w.safetensors")
    import numpy as np

    np.savez(here / "d.npz", x=np.zeros((20, 3), dtype=np.float32), y=np.zeros((20, 1), dtype=np.float32))
    for given in ("w.safetensors", "hf"):
        assert main(["build", "mlp.yaml", "--dry-run", "--data", "d.npz", "--task", "regression", "--weights", given]) == 0, \
            capsys.readouterr().err
        out = capsys.readouterr()
        said = out.out + out.err
        assert "modules loaded" in said and ("hf/model.safetensors" in said or given == "w.safetensors"), said
    from netspec.train import api

    trainer = api.prepare(here / "mlp.yaml", {"weights": "hf", "data": "d.npz", "task": "regression"}, write=False, quiet=True)
    assert all(bool((v == 0.25).all()) for v in trainer.model.state_dict().values())
