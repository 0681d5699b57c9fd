"""Paths written in a spec's `train:` section are relative to the spec file's folder (as `imports:` are)."""

import os

import torch

from netspec.train.api import prepare

SPEC = """\
name: tiny
input: [1, 8, 8]
layers:
  - flatten
  - dense: {units: 10, name: fc}
train:
  epochs: 1
  weights: w.pt
"""


def test_weights_path_is_relative_to_the_spec_file(tmp_path, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(SPEC)
    weights = {"fc.weight": torch.arange(640.0).reshape(10, 64), "fc.bias": torch.arange(10.0)}
    torch.save(weights, folder / "w.pt")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # w.pt is not here: only the spec's folder has it
    trainer = prepare(os.path.join("..", "specs", "tiny.yaml"), write=False)
    state = trainer.model.state_dict()
    assert torch.equal(state["fc.weight"], weights["fc.weight"]) and torch.equal(state["fc.bias"], weights["fc.bias"])
