"""Resuming with an edited spec (review 7, issue 4): a changed ``train:`` section is reported (which keys,
the checkpoint's value that is used, the spec's, and how to use it: flags); changed layers are refused,
also those that keep every weight's shape (an activation added)."""

from __future__ import annotations

import pytest
from train_support import write_spec

from netspec.core.errors import NetspecError, UsageError
from netspec.train import api

SPEC = """
name: tiny_resume
input: [64]
layers:
  - dense: {units: 16, activation: relu}
  - dense: 10
train:
  data: {name: digits, subset: 120}
  val_split: 0.25
  batch_size: 30
  epochs: 1
  optimizer: {name: sgd, lr: 0.05}
  device: cpu
  seed: 3
  threads: 1
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("resume")
    api.train(write_spec(tmp, SPEC, "tiny_resume.yaml"), out=tmp / "run", quiet=True)
    return tmp / "run" / "last.pt"


def test_changed_recipe_is_reported_and_the_checkpoints_used(run, tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("lr: 0.05", "lr: 0.5"), "tiny_resume.yaml")
    dry = api.dry_run(spec, {"epochs": 2}, resume=run)
    notes = [n for n in dry["notes"] if "differs from the recipe" in n]
    assert len(notes) == 1 and "optimizer.lr: checkpoint 0.05 (used) → spec 0.5" in notes[0]
    assert "epochs:" not in notes[0]  # set by a flag: the user's choice, not a silent one
    assert "--lr" in notes[0] and "--set train.KEY=VALUE" in notes[0]
    trainer = api.prepare(spec, {"epochs": 2}, resume=run, write=False, quiet=True)
    assert trainer.cfg.optimizer.lr == 0.05


def test_a_flag_gives_the_specs_value(run, tmp_path):
    spec = write_spec(tmp_path, SPEC.replace("lr: 0.05", "lr: 0.5"), "tiny_resume.yaml")
    trainer = api.prepare(spec, {"epochs": 2, "lr": 0.5}, resume=run, write=False, quiet=True)
    assert trainer.cfg.optimizer.lr == 0.5
    assert not any("differs from the recipe" in n for n in trainer.task.notes)


def test_same_spec_says_nothing(run, tmp_path):
    spec = write_spec(tmp_path, SPEC, "tiny_resume.yaml")
    dry = api.dry_run(spec, {"epochs": 2}, resume=run)
    assert not any("differs from the recipe" in n for n in dry["notes"])


@pytest.mark.parametrize("edit, said", [
    (("- dense: 10", "- dense: {units: 10, activation: tanh}"), "layers differ"),  # every weight keeps its shape
    (("units: 16", "units: 12"), "(16, 64) in the checkpoint, (12, 64) in the spec"),  # each shape told
])
def test_changed_layers_are_refused(run, tmp_path, edit, said):
    spec = write_spec(tmp_path, SPEC.replace(*edit), "tiny_resume.yaml")
    with pytest.raises(NetspecError) as err:
        api.train(spec, {"epochs": 2}, resume=run, out=tmp_path / "again", quiet=True)
    assert said in str(err.value)
    if said == "layers differ":
        assert isinstance(err.value, UsageError) and "dense 10 tanh" in str(err.value)  # the spec's layer shown
    assert not (tmp_path / "again" / "last.pt").exists()


def test_eval_predict_and_export_refuse_a_checkpoint_of_other_layers(run, tmp_path, capsys):
    """A checkpoint's weights keep their shapes when an activation is added to the spec: eval, predict and
    export would report on (or write) a network other than the one trained, so each is refused, listing the
    layer; the unchanged spec is accepted by all three (the truth: the spec the checkpoint was trained with)."""
    import numpy as np

    from netspec.cli.main import main

    changed = write_spec(tmp_path, SPEC.replace("- dense: 10", "- dense: {units: 10, activation: tanh}"),
                         "tiny_resume.yaml")
    (tmp_path / "same").mkdir()
    same = write_spec(tmp_path / "same", SPEC, "tiny_resume.yaml")
    sample = tmp_path / "one.npy"
    np.save(sample, np.zeros((1, 64), dtype=np.float32))
    for spec, ok in ((changed, False), (same, True)):
        for args in (["eval", str(spec), "--checkpoint", str(run)],
                     ["predict", str(spec), "--checkpoint", str(run), str(sample)],
                     ["export", str(spec), "--weights", str(run), "-o", str(tmp_path / f"m{ok}.onnx"), "--force"]):
            code = main(args)
            err = capsys.readouterr().err
            if ok:
                assert code == 0, err
            else:
                assert code == 2 and "layers differ" in err and "dense 10 tanh" in err, err
                assert f"{args[0]}: the spec's layers differ" in err and "netspec build SPEC --weights" in err
