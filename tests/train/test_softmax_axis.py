"""A softmax (or log_softmax) ends a classifier's output only as class probabilities when it normalizes over
the class axis, the last of the output as the loss reads it (review 7, issue 1): one over the time steps, or
one whose axis a later reshape/flatten breaks, gives scores; the loss is then cross-entropy on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from netspec.train import api
from netspec.train.runtime import eval_mode

TAGS = """inputs: {ids: {shape: [T], dtype: long}}
layers:
  - embedding: {vocab: 16, dim: 8}
  - lstm: {units: 8, return_sequences: true}
  - dense: 2
  - KIND: {axis: AXIS}
train: {data: tags.npz, val_split: 0}
"""

VEC = """input: [64]
layers:
  - dense: {units: 10}
  - reshape: SHAPE
  - softmax: {axis: AXIS}
  - flatten
train: {data: digits, val_split: 0, data_subset: 0}
"""


def _tags(tmp_path: Path, axis: int, kind: str = "softmax") -> Path:
    g = torch.Generator().manual_seed(0)
    import numpy as np

    x = torch.randint(0, 16, (20, 12), generator=g).numpy()
    y = torch.randint(0, 2, (20, 12), generator=g).numpy()
    np.savez(tmp_path / "tags.npz", x=x, y=y)
    spec = tmp_path / "tags.yaml"
    spec.write_text(TAGS.replace("AXIS", str(axis)).replace("KIND", kind))
    return spec


def _first_loss(spec: Path) -> tuple[object, torch.Tensor, tuple[torch.Tensor, ...]]:
    trainer = api.prepare(str(spec), {"batch_size": 64}, write=False, quiet=True)
    batch = next(iter(trainer.batches(trainer.data.train, False, 0)))
    with torch.no_grad():
        eval_mode(trainer.model)
        loss, _ = trainer.task.loss(batch)
    return trainer, loss, batch


def test_softmax_over_time_steps_is_scores(tmp_path):
    trainer, loss, (x, y) = _first_loss(_tags(tmp_path, 0))
    assert trainer.task.loss_name == "cross_entropy"
    assert any("normalizes over axis 0" in n and "not class probabilities" in n for n in trainer.task.notes)
    with torch.no_grad():
        out = trainer.model(x)  # (N, T, 2), normalized over T
    assert torch.allclose(out.sum(1), torch.ones(out.shape[0], 2), atol=1e-5)  # torch: sums over the steps
    want = F.cross_entropy(out.reshape(-1, 2), y.reshape(-1))  # the values as scores
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_softmax_over_classes_stays_probabilities(tmp_path):
    trainer, loss, (x, y) = _first_loss(_tags(tmp_path, -1))
    assert trainer.task.loss_name == "nll_of_probs"
    assert not any("normalizes" in n for n in trainer.task.notes)
    with torch.no_grad():
        out = trainer.model(x)
    want = F.nll_loss(torch.log(out.reshape(-1, 2)), y.reshape(-1))
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


@pytest.mark.parametrize("shape, axis, probs", [
    ("[2, 5]", 0, False),   # over the 2 groups, then flattened: not over the 10 outputs
    ("[2, 5]", -1, False),  # over each 5, then flattened to 10: no run of the output sums to 1 over the classes
    ("[1, 10]", -1, True),  # over the 10, the flatten keeps them together
])
def test_reshape_then_softmax_then_flatten(tmp_path, shape, axis, probs):
    spec = tmp_path / "v.yaml"
    spec.write_text(VEC.replace("SHAPE", shape).replace("AXIS", str(axis)).replace("data_subset: 0", "")
                    .replace(", }", "}"))
    trainer = api.prepare(str(spec), {"subset": 100}, write=False, quiet=True)
    assert trainer.task.loss_name == ("nll_of_probs" if probs else "cross_entropy")
    x = torch.randn(3, 64)
    with torch.no_grad():
        out = trainer.model(x)
    # torch: whether each sample's 10 outputs sum to 1 is what decides it
    assert torch.allclose(out.sum(-1), torch.ones(3), atol=1e-5) == probs


@pytest.mark.parametrize("axis, loss", [(0, "cross_entropy"), (-1, "nll")])
def test_log_softmax_read_the_same_way(tmp_path, axis, loss):
    trainer, value, (x, y) = _first_loss(_tags(tmp_path, axis, "log_softmax"))
    assert trainer.task.loss_name == loss
    with torch.no_grad():
        out = trainer.model(x).reshape(-1, 2)
    want = F.cross_entropy(out, y.reshape(-1)) if loss == "cross_entropy" else F.nll_loss(out, y.reshape(-1))
    assert float(value) == pytest.approx(float(want), rel=1e-5)
