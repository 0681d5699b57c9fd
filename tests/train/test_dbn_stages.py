"""A deep belief network trains every RBM of its stack and picks its best epoch among comparable ones
(review 2026-12, issue 2): the epochs are divided among the RBMs bottom first, fewer epochs than RBMs are
refused, and best.pt / patience follow the last stage only (an earlier stage's reconstruction error is
another RBM's). The expected stage of each epoch is worked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from netspec.train import api
from netspec.train.checkpoint import load_checkpoint

SPECS = Path(__file__).resolve().parents[2] / "specs"
SMALL = """name: small_dbn
input: [64]
layers:
  - rbm: 16
  - rbm: 8
  - rbm: 4
train:
  task: dbn
  data: {name: digits, subset: 120}
  optimizer: {name: sgd, lr: 0.05}
  batch_size: 32
  device: cpu
  threads: 1
  seed: 2
"""


@pytest.mark.parametrize("epochs, stages", [
    (3, [0, 1, 2]),
    (5, [0, 1, 2, 2, 2]),        # 5 // 3 = 1 each; the last RBM also takes the 2 left over
    (6, [0, 0, 1, 1, 2, 2]),
])
def test_the_epochs_are_divided_bottom_first(tmp_path, epochs, stages):
    (tmp_path / "s.yaml").write_text(SMALL)
    trainer = api.prepare(tmp_path / "s.yaml", {"epochs": epochs}, None, write=False, quiet=True)
    assert [trainer.task.current(e) for e in range(epochs)] == stages
    assert [trainer.task.monitored(e) for e in range(epochs)] == [s == 2 for s in stages]
    assert any("best.pt" in n and "rbm_3" in n for n in trainer.task.notes)


def test_every_rbm_trains_and_best_is_the_last_stage(tmp_path):
    (tmp_path / "s.yaml").write_text(SMALL)
    # patience 1 used to stop at the first epoch of rbm_3 (its error is not below rbm_1's best)
    summary = api.train(tmp_path / "s.yaml", {"epochs": 4, "patience": 1}, out=tmp_path / "run", quiet=True)
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 4  # not stopped early: epochs 1, 2 (rbm_1, rbm_2) are not compared
    best = load_checkpoint(tmp_path / "run" / "best.pt")
    assert best["epoch"] in (3, 4)  # rbm_3's epochs: 4 // 3 = 1 each, the last takes epochs 3 and 4
    init = api.prepare(tmp_path / "s.yaml", {"epochs": 4}, None, write=False, quiet=True).model.state_dict()
    for state in (last["model"], best["model"]):
        changed = {k.split(".")[0] for k in state if not torch.equal(state[k], init[k])}
        assert changed == {"rbm_1", "rbm_2", "rbm_3"}, changed
    assert summary is not None


def test_reduce_on_plateau_reads_each_rbms_own_losses(tmp_path):
    (tmp_path / "s.yaml").write_text(SMALL)
    trainer = api.prepare(tmp_path / "s.yaml", {"epochs": 6}, ["schedule.name=plateau"], write=False, quiet=True)
    trainer.fit()
    losses = [row["val_loss"] for row in trainer.history]
    for i, s in enumerate(trainer.schedules):  # RBM i trains epochs 2i and 2i + 1 (6 // 3 = 2 each)
        first, second = losses[2 * i], losses[2 * i + 1]
        best = second if second < first * (1 - 1e-4) else first  # the schedule's "lower by 1e-4" rule
        assert s.plateau_best == pytest.approx(best, rel=1e-6), (i, losses)


def test_eval_reads_the_stage_the_checkpoint_was_at(tmp_path):
    """``netspec eval`` of a DBN checkpoint reports the reconstruction error of the stage it was saved at (the
    last RBM's for last.pt after all stages), the number its run logged for that epoch, not the bottom RBM's
    (a fresh task starts at stage 0)."""
    (tmp_path / "s.yaml").write_text(SMALL)
    api.train(tmp_path / "s.yaml", {"epochs": 3}, out=tmp_path / "run", quiet=True)
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["task"]["stage"] == 2
    logged = [row["val_loss"] for row in state["history"]]
    got = api.evaluate(tmp_path / "s.yaml", tmp_path / "run" / "last.pt")
    # the reconstruction samples the hidden units, so eval's draw differs from the run's: the same stage's error
    # within 10 %, and not the bottom RBM's (epoch 1), which is hundreds of times larger here
    assert got["loss"] == pytest.approx(logged[-1], rel=0.1)
    assert got["loss"] < logged[0] / 10
