"""Nothing lost: atomic checkpoints, bit-exact resume after SIGKILL or Ctrl-C, NaN stops cleanly."""

from __future__ import annotations

import signal

import numpy as np
import pytest
import torch
from train_support import run_cli_signalled, weights, write_spec

from netspec.core.errors import NetspecError
from netspec.train import api
from netspec.train.checkpoint import load_checkpoint
from netspec.train.loop import TrainingDiverged

# 384 training samples / batch 32 = 12 steps per epoch; 3 epochs = 36 steps.


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    spec = write_spec(tmp)
    summary = api.train(spec, out=tmp / "run", quiet=True)
    assert summary["epochs"] == 3
    return spec, weights(tmp / "run" / "last.pt"), summary


def test_checkpoint_contents(reference, tmp_path):
    spec, _, summary = reference
    state = load_checkpoint(summary["out_dir"])
    for key in ("model", "optimizers", "schedules", "scaler", "rng", "epoch", "global_step", "config", "history"):
        assert key in state
    assert state["epoch"] == 3 and state["global_step"] == 36 and state["batch"] == 0
    assert set(state["rng"]) >= {"python", "numpy", "torch"}
    assert len(state["history"]) == 3
    # the best checkpoint exists too, and no temporary files are left behind
    files = sorted(p.name for p in (tmp_path.parent).glob("**/.*.tmp*"))
    assert files == []


def test_sigkill_mid_epoch_then_resume_is_bit_exact(reference, tmp_path):
    spec, ref, _ = reference
    out = tmp_path / "run"
    # last.pt every 5 steps; SIGKILL at step 23 (mid-epoch 2): the newest checkpoint is at step 20
    p = run_cli_signalled(signal.SIGKILL, 23, ["build", str(spec), "--out", str(out), "--set", "checkpoint_steps=5",
                                                "--quiet"])
    assert p.returncode == -signal.SIGKILL, p.stderr
    state = load_checkpoint(out / "last.pt")
    assert (state["epoch"], state["batch"], state["global_step"]) == (1, 8, 20)
    summary = api.train(spec, resume=out, quiet=True)
    assert summary["epochs"] == 3
    _same(weights(out / "last.pt"), ref)


def test_sigint_saves_and_resume_is_bit_exact(reference, tmp_path):
    spec, ref, _ = reference
    out = tmp_path / "run"
    p = run_cli_signalled(signal.SIGINT, 17, ["build", str(spec), "--out", str(out), "--quiet"])
    assert p.returncode == 130, p.stderr
    assert "interrupted at epoch 2, step 5/12" in p.stderr and "--resume" in p.stderr
    assert "Traceback" not in p.stderr
    state = load_checkpoint(out)
    assert (state["epoch"], state["batch"]) == (1, 5)
    api.train(spec, resume=out, quiet=True)
    _same(weights(out / "last.pt"), ref)


def test_resume_from_epoch_end_is_bit_exact(reference, tmp_path):
    spec, ref, _ = reference
    out = tmp_path / "run"
    api.train(spec, flags={"epochs": 1}, out=out, quiet=True)
    # the checkpoint stores the config; --epochs extends it
    api.train(spec, flags={"epochs": 3}, resume=out / "last.pt", quiet=True)
    _same(weights(out / "last.pt"), ref)
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 4 and rows[0].startswith("epoch,train_loss,val_loss,val_accuracy")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 64)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    np.savez(tmp_path / "good.npz", x=x, y=y)
    x_bad = x.copy()
    x_bad[5, 3] = np.nan
    np.savez(tmp_path / "bad.npz", x=x_bad, y=y)
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    api.train(spec, flags={"data": str(tmp_path / "good.npz"), "epochs": 1, "val_split": 0.0}, out=out, quiet=True)
    good = weights(out / "last.pt")
    with pytest.raises(TrainingDiverged) as info:
        api.train(spec, flags={"data": str(tmp_path / "bad.npz"), "epochs": 3}, resume=out, quiet=True)
    msg = str(info.value)
    assert "the loss became nan at epoch 2, step" in msg and "last good checkpoint" in msg
    assert isinstance(info.value, NetspecError)
    state = load_checkpoint(out)
    assert state["epoch"] == 1
    _same(state["model"], good)
    assert all(torch.isfinite(v).all() for v in state["model"].values())
