"""`eval` scores a checkpoint on the validation split its run held out (review 7, issue 2): options that
would split the data otherwise (another seed, val_split or subset) are refused, since that split's
"validation" samples would include samples the model trained on."""

from __future__ import annotations

import pytest
from train_support import write_spec

from netspec.core.errors import UsageError
from netspec.train import api

SPEC = """
name: tiny_split
input: [64]
layers:
  - dense: 10
train:
  data: {name: digits, subset: 200}
  val_split: 0.25
  batch_size: 50
  epochs: 1
  device: cpu
  seed: 3
  threads: 1
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("split")
    spec = write_spec(tmp, SPEC, "tiny_split.yaml")
    api.train(spec, out=tmp / "run", quiet=True)
    return spec, tmp / "run" / "last.pt"


def test_eval_uses_the_runs_split(run):
    spec, ckpt = run
    result = api.evaluate(spec, ckpt)
    assert result["split"] == "validation"
    assert result["samples"] == 50  # 200 samples × 0.25 held out, by hand


@pytest.mark.parametrize("flags, sets, said", [
    ({"seed": 1}, None, "seed 3 → 1"),
    ({"val_split": 0.5}, None, "val_split 0.25 → 0.5"),
    ({"subset": 100}, None, "data.subset 200 → 100"),
    (None, ["train.seed=4"], "seed 3 → 4"),
])
def test_eval_refuses_another_split(run, flags, sets, said):
    spec, ckpt = run
    with pytest.raises(UsageError) as err:
        api.evaluate(spec, ckpt, flags, sets)
    assert said in str(err.value) and "trained on" in str(err.value) and "--data" in str(err.value)


def test_eval_same_values_given_again_is_fine(run):
    spec, ckpt = run
    assert api.evaluate(spec, ckpt, {"seed": 3, "val_split": 0.25})["split"] == "validation"
