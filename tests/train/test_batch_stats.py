"""A batch norm trains with statistics over the batch, which torch refuses for one value per channel
(review 7, issue 3): the last batch of an epoch that would hold one sample is left out (and said); a
training set or a batch size of one sample is refused before the work, at the batch norm's place."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from train_support import write_spec

from netspec.core.errors import DataError
from netspec.train import api

BN = """
name: bn_vec
input: [64]
layers:
  - dense: 8
  - batchnorm1d
  - relu
  - dense: 10
train:
  data: {name: digits, subset: 50}
  val_split: 0.2
  batch_size: 13
  epochs: 1
  device: cpu
  threads: 1
"""  # 50 × 0.2 = 10 held out, 40 = 3 × 13 + 1 to train on: a last batch of one sample

CONV = """
name: bn_map
input: [1, 8, 8]
layers:
  - conv2d: {filters: 2, kernel: 3, padding: 1}
  - batchnorm2d
  - flatten
  - dense: 10
train:
  data: {name: digits, subset: 50}
  val_split: 0.2
  batch_size: 13
  epochs: 1
  device: cpu
  threads: 1
"""


def test_torch_refuses_one_value_per_channel_in_training():
    """The rule the trainer follows, from torch itself: (1, C) fails, (1, C, 8, 8) does not."""
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(8).train()(torch.randn(1, 8))
    nn.BatchNorm2d(2).train()(torch.randn(1, 2, 8, 8))


def test_last_batch_of_one_is_left_out_and_said(tmp_path):
    spec = write_spec(tmp_path, BN, "bn_vec.yaml")
    summary = api.train(spec, out=tmp_path / "run", quiet=True)
    assert summary["epochs"] == 1
    trainer = api.prepare(spec, write=False, quiet=True)
    assert trainer.steps_per_epoch == 3  # 40 samples: 3 batches of 13, the 1 left over dropped
    sizes = [len(b[0]) for b in trainer.batches(trainer.data.train, True, 0)]
    assert sizes == [13, 13, 13]
    assert any("left out" in n and "bn_vec.yaml:6:5" in n for n in trainer.task.notes)
    dry = api.dry_run(spec)
    assert any("left out" in n for n in dry["notes"])


def test_validation_batches_keep_every_sample(tmp_path):
    trainer = api.prepare(write_spec(tmp_path, BN.replace("val_split: 0.2", "val_split: 0.22"), "bn_vec.yaml"),
                          {"batch_size": 10}, write=False, quiet=True)
    # 50 × 0.22 = 11 held out, 39 to train: batches of 10 leave 9, nothing dropped
    assert trainer.steps_per_epoch == 4
    assert sum(len(b[0]) for b in trainer.batches(trainer.data.val, False, 0)) == 11


def test_maps_with_many_values_per_channel_keep_a_batch_of_one(tmp_path):
    trainer = api.prepare(write_spec(tmp_path, CONV, "bn_map.yaml"), write=False, quiet=True)
    assert trainer.steps_per_epoch == 4  # 40 = 3 × 13 + 1: the 1-sample batch has 64 values per channel
    assert not any("left out" in n for n in trainer.task.notes)


@pytest.mark.parametrize("flags, said", [
    ({"subset": 2}, "the training set holds 1 sample"),  # 2 × 0.2 rounds to 0, at least 1 held out: 1 left
    ({"batch_size": 1}, "a batch size of 1"),
])
@pytest.mark.parametrize("how", ["train", "dry_run"])
def test_one_sample_refused_at_the_batch_norm(tmp_path, flags, said, how):
    spec = write_spec(tmp_path, BN, "bn_vec.yaml")
    with pytest.raises(DataError) as err:
        if how == "train":
            api.train(spec, flags, out=tmp_path / "run", quiet=True)
        else:
            api.dry_run(spec, flags)
    problem = err.value.problems[0]
    assert said in problem.message and "more than one value per channel" in problem.message
    assert (problem.location.line, problem.location.column) == (6, 5)
    assert not (tmp_path / "run" / "last.pt").exists()
