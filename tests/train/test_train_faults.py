"""No run lost, none mixed, no silent wrong answer: run directories, checkpoints under SIGKILL, divergence,
full disks and planted symlinks, predict's lines, damaged checkpoints and data files (issue 11, items 9,
12-15, 17)."""

from __future__ import annotations

import errno
import json
import math
import os
import random
import re
import shutil

import numpy as np
import pytest
import torch
from train_support import MLP, forkserver, run_fault, weights, write_spec

from netspec.cli.main import main
from netspec.core.errors import DataError, UsageError
from netspec.train import api, rundir
from netspec.train.checkpoint import load_checkpoint
from netspec.train.loop import Trainer, TrainingDiverged
from netspec.train.runtime import RunDirectoryError

# 256 digits, a quarter held out: 192 / batch 32 = 6 steps per epoch, 24 steps in 4 epochs; last.pt also every
# 4 steps. Validation accuracy improves at epochs 1, 2 and 3, not at 4: best.pt is not the last epoch.
FAULT_MLP = MLP.replace("subset: 512", "subset: 256").replace("epochs: 3", "epochs: 4") \
    .replace("lr: 0.05", "lr: 0.3").replace("threads: 1", "threads: 1\n  checkpoint_steps: 4")
BEST_EPOCH = 3


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _temps(d) -> list[str]:
    return sorted(p.name for p in d.iterdir() if rundir.STALE_TEMP.match(p.name))


def _cli(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def fault_ref(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fault_ref")
    spec = write_spec(tmp, FAULT_MLP)
    summary = api.train(spec, out=tmp / "run", quiet=True)
    assert summary["best_epoch"] == BEST_EPOCH and summary["epochs"] == 4, summary
    return spec, weights(tmp / "run" / "last.pt"), load_checkpoint(tmp / "run" / "best.pt")


# --- item 14 + the fault test: SIGKILL anywhere, resume reproduces the run and best.pt ------------------------
def _kill_points() -> list[dict]:
    rng = random.Random(11)
    return [{"saved": "last.pt", "epoch": BEST_EPOCH},  # between last.pt and best.pt of the best epoch
            {"saved": "last.pt", "epoch": rng.choice([1, 2])},
            *({"step": s} for s in sorted(rng.sample(range(5, 24), 2))),
            {"rename": rng.randint(2, 10)}]  # inside a checkpoint write, before its rename


@pytest.mark.parametrize("kill", _kill_points(), ids=lambda k: "-".join(f"{a}{b}" for a, b in k.items()))
def test_sigkill_anywhere_then_resume_matches_the_uninterrupted_run(fault_ref, tmp_path, kill):
    spec, ref_last, ref_best = fault_ref
    out = tmp_path / "run"
    code = run_fault(forkserver(), kill, ["build", str(spec), "--out", str(out), "--quiet"], tmp_path / "r.json")
    assert code == -9, (kill, code, (tmp_path / "r.json").read_text() if (tmp_path / "r.json").exists() else "")
    summary = api.train(spec, resume=out, quiet=True)
    _same(weights(out / "last.pt"), ref_last)
    best = load_checkpoint(out / "best.pt")
    assert best["epoch"] == summary["best_epoch"] == BEST_EPOCH
    _same(best["model"], ref_best["model"])
    assert json.loads((out / "summary.json").read_text())["best_epoch"] == BEST_EPOCH
    assert len((out / "metrics.csv").read_text().strip().splitlines()) == 5
    assert _temps(out) == []


def test_a_killed_build_between_the_checkpoints_is_repaired_on_resume(fault_ref, tmp_path, monkeypatch):
    """The same in-process: best.pt one improvement behind last.pt is copied from it on resume."""
    spec, ref_last, ref_best = fault_ref
    out = tmp_path / "run"
    orig = Trainer.save

    class Killed(BaseException):
        pass

    def save(self, name):
        if name == "best.pt" and self.epoch == BEST_EPOCH:
            raise Killed
        return orig(self, name)

    monkeypatch.setattr(Trainer, "save", save)
    with pytest.raises(Killed):
        api.train(spec, out=out, quiet=True)
    monkeypatch.setattr(Trainer, "save", orig)
    assert load_checkpoint(out / "last.pt")["best_epoch"] == BEST_EPOCH
    assert load_checkpoint(out / "best.pt")["epoch"] == BEST_EPOCH - 1
    api.train(spec, resume=out, quiet=True)
    _same(load_checkpoint(out / "best.pt")["model"], ref_best["model"])
    _same(weights(out / "last.pt"), ref_last)


REGRESSION = """
name: reg
input: [8]
layers:
  - dense: 16
  - dense: 1
train: {task: regression, data: reg.npz, val_split: 0.25, batch_size: 32, epochs: 1, device: cpu, threads: 1,
        seed: 0, optimizer: {name: sgd, lr: 0.01}}
"""


def _regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    np.savez(tmp_path / "reg.npz", x=x, y=3 * x.sum(1, keepdims=True))
    return write_spec(tmp_path, REGRESSION, "reg.yaml")


def test_a_diverged_runs_last_good_checkpoint_is_from_before_divergence(tmp_path):
    spec = _regression(tmp_path)
    out = tmp_path / "run"
    api.train(spec, out=out, quiet=True)  # a sane first epoch
    # lr 0.1, last.pt after every step: the weights grow ~1e4, ~1e14 in two steps of epoch 3 while the loss is
    # still finite, then it overflows. No checkpoint holding exploded weights is written, nor called good.
    with pytest.raises(TrainingDiverged) as info:
        api.train(spec, flags={"lr": 0.1, "epochs": 3}, sets=["checkpoint_steps=1"], resume=out, quiet=True)
    msg = str(info.value)
    assert re.search(r"training diverged: the weights exploded .* at epoch 3, step \d/6", msg), msg
    assert re.search(rf"the last good checkpoint is {re.escape(str(out / 'last.pt'))} \(epoch 3, step \d\)", msg)
    state = load_checkpoint(out / "last.pt")
    assert all(torch.isfinite(v).all() for v in state["model"].values())
    assert max(float(v.abs().max()) for v in state["model"].values()) <= 1e6  # initial scale 0.39: at most 1e6 × 1
    assert state["epoch"] == 2 and 0 < state["batch"] < 6
    assert all(math.isfinite(r["train_loss"]) for r in state["history"])


def test_nan_only_in_the_validation_data_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "train.npz", x=rng.normal(size=(64, 64)).astype(np.float32), y=rng.integers(0, 10, 64))
    xv = rng.normal(size=(16, 64)).astype(np.float32)
    xv[3, 5] = np.nan
    np.savez(tmp_path / "val.npz", x=xv, y=rng.integers(0, 10, 16))
    spec = write_spec(tmp_path)
    flags = {"data": str(tmp_path / "train.npz"), "epochs": 1}
    with pytest.raises(DataError, match=r"validation data holds NaN or infinite values in 1 of its 16 samples"):
        api.train(spec, flags, [f"data.val_path={tmp_path / 'val.npz'}"], out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()
    # and evaluating a checkpoint on such data (--data: the whole set) is refused too
    api.train(spec, flags, out=tmp_path / "ok", quiet=True)
    with pytest.raises(DataError, match="NaN"):
        api.evaluate(spec, tmp_path / "ok", {"data": str(tmp_path / "val.npz")})


@pytest.mark.parametrize("fail", ["fsync", "mkstemp"])
def test_full_disk_or_read_only_directory_is_a_clear_error_without_temp_files(tmp_path, capsys, monkeypatch, fail):
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    import netspec.core.atomic as R  # the writer of every run-directory file

    if fail == "fsync":  # the disk fills while a checkpoint is written
        real = os.fsync

        def fsync(fd):
            name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
            if name.startswith(".last.pt.") and name.endswith(".tmp"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fd)

        monkeypatch.setattr(R.os, "fsync", fsync)
        expected = "no space left on the device"
    else:  # nothing can be created in the directory
        def mkstemp(*a, **k):
            raise OSError(errno.EROFS, "Read-only file system")

        monkeypatch.setattr(R.tempfile, "mkstemp", mkstemp)
        expected = "the file system is read-only"
    rc, _, err = _cli(capsys, "build", spec, "--out", out, "--epochs", "1")
    assert rc == 1, err
    assert expected in err and "internal error" not in err and "Traceback" not in err
    assert _temps(out) == []


def test_a_real_file_size_limit_is_a_clear_error(tmp_path):
    """The kernel refuses the write (EFBIG, as a full disk does with ENOSPC): exit 1, no partial file left."""
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    code = run_fault(forkserver(), {"fsize": 6000}, ["build", str(spec), "--out", str(out), "--epochs", "1"],
                     tmp_path / "r.json")
    assert code == 0
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["rc"] == 1, result
    assert "cannot write" in result["stderr"] and "last.pt" in result["stderr"]
    assert "internal error" not in result["stderr"]
    assert _temps(out) == [] and not (out / "last.pt").exists()


# --- item 15: files are new temp files renamed into place; planted symlinks are replaced, not followed -----------
def test_symlinks_planted_in_a_run_directory_are_not_followed(tmp_path):
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    api.train(spec, flags={"epochs": 1}, out=out, quiet=True)
    victims = tmp_path / "victims"
    victims.mkdir()
    names = ["config.yaml", "metrics.csv", "summary.json", "curves.png", "best.pt"]
    for name in names:
        (victims / name).write_text("keep me")
        (out / name).unlink()
        (out / name).symlink_to(victims / name)
    (out / "dangling.tmp").symlink_to(victims / "nothing")
    api.train(spec, flags={"epochs": 2}, resume=out, quiet=True)
    for name in names:
        assert (victims / name).read_text() == "keep me", name
        assert not (out / name).is_symlink() and (out / name).stat().st_size > 0, name
    assert load_checkpoint(out / "best.pt")["epoch"] == 2
    assert not (victims / "nothing").exists()


# --- item 13: run directories ---------------------------------------------------------------------------------
def test_three_builds_in_the_same_second_get_three_run_directories(tmp_path, monkeypatch):
    """Three builds of one spec, each past choosing its run directory before any starts training."""
    import threading

    spec = write_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(rundir.time, "strftime", lambda fmt: "20260101-120000")
    barrier = threading.Barrier(3, timeout=60)
    fit = Trainer.fit

    def fit_together(self):
        barrier.wait()
        return fit(self)

    monkeypatch.setattr(Trainer, "fit", fit_together)
    outs: list[str] = []
    errors: list[BaseException] = []

    def build() -> None:
        try:
            outs.append(api.train(spec, flags={"epochs": 1, "subset": 64}, quiet=True)["out_dir"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(outs) == ["runs/tiny_mlp/20260101-120000", "runs/tiny_mlp/20260101-120000-2",
                            "runs/tiny_mlp/20260101-120000-3"]
    for d in outs:
        state = load_checkpoint(tmp_path / d)
        assert state["epoch"] == 1 and len(state["history"]) == 1
        assert len((tmp_path / d / "metrics.csv").read_text().strip().splitlines()) == 2


def test_a_finished_run_is_not_overwritten_and_out_resume_resumes_it(tmp_path, capsys, monkeypatch):
    spec = write_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    assert _cli(capsys, "build", spec, "--out", out, "--epochs", "1", "--quiet")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    rc, _, err = _cli(capsys, "build", spec, "--out", out, "--epochs", "1")
    assert rc == 2 and "already holds a run" in err and f"--resume {out}" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # another run under runs/ is newer: --out DIR --resume still resumes DIR
    assert _cli(capsys, "build", spec, "--epochs", "1", "--quiet")[0] == 0
    rc, _, err = _cli(capsys, "build", spec, "--out", out, "--resume", "--epochs", "2", "--quiet")
    assert rc == 0, err
    assert load_checkpoint(out)["epoch"] == 2
    assert [load_checkpoint(d)["epoch"] for d in (tmp_path / "runs" / "tiny_mlp").iterdir()] == [1]


def test_a_second_build_into_a_locked_run_directory_fails_clearly(tmp_path, capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    with rundir.RunDirectory.claim(out, tmp_path, resuming=False):  # a build running there
        rc, _, err = _cli(capsys, "build", spec, "--out", out, "--epochs", "1")
        assert rc == 2 and "in use by another netspec build" in err
        assert list(out.iterdir()) == []
        with pytest.raises(UsageError, match="in use"):
            api.train(spec, flags={"epochs": 1}, resume=None, out=out, quiet=True)
    api.train(spec, flags={"epochs": 1}, out=out, quiet=True)  # released: free again


# --- item 12: build --json and eval of a run directory --------------------------------------------------------
def test_build_json_is_alone_on_stdout_and_eval_says_which_checkpoint(tmp_path, capsys):
    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    rc, stdout, stderr = _cli(capsys, "build", spec, "--out", out, "--epochs", "2", "--json")
    assert rc == 0
    summary = json.loads(stdout)
    assert summary["epochs"] == 2 and "epoch 2/2" in stderr and "run directory" in stderr
    rc, stdout, stderr = _cli(capsys, "eval", spec, "--checkpoint", out, "--json")
    assert rc == 0 and json.loads(stdout)["checkpoint"] == str(out / "last.pt")
    assert f"{out} is a run directory: using its last.pt (end of epoch 2)" in stderr
    rc, stdout, stderr = _cli(capsys, "build", spec, "--dry-run", "--json")
    assert rc == 0 and json.loads(stdout)["spec"] == "tiny_mlp"


# --- item 9: predict ------------------------------------------------------------------------------------------
def test_predict_gives_every_sample_of_every_input_its_line_in_order(tmp_path, capsys):
    from PIL import Image

    from netspec import compile as ns_compile

    spec = write_spec(tmp_path)
    out = tmp_path / "run"
    api.train(spec, flags={"epochs": 2}, out=out, quiet=True)
    rng = np.random.default_rng(4)
    three = rng.random((3, 64)).astype(np.float32) * np.array([[1], [0.2], [3]], np.float32)
    np.save(tmp_path / "three.npy", three)
    pixels = (rng.random((8, 8)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "digit.png")
    rc, stdout, err = _cli(capsys, "predict", spec, "--checkpoint", out / "best.pt", tmp_path / "three.npy",
                           tmp_path / "digit.png", "0.5," * 63 + "0.5")
    assert rc == 0, err
    lines = stdout.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{tmp_path / 'three.npy'}[{i}]" for i in range(3)] + [
        str(tmp_path / "digit.png"), "0.5," * 63 + "0.5"]
    # the expected classes from torch: the checkpoint's weights in the compiled spec
    model = ns_compile(spec)
    model.load_state_dict(load_checkpoint(out / "best.pt")["model"])
    model.eval()
    # an 8×8 image for a (64,) input: grey levels in [0, 1], flattened (no resizing needed)
    inputs = np.concatenate([three, pixels.reshape(1, 64).astype(np.float32) / 255, np.full((1, 64), 0.5, np.float32)])
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).argmax(-1).tolist()
    assert [int(re.search(r": class (\d+)", line).group(1)) for line in lines] == expected


@pytest.mark.parametrize("name", ["gan.yaml", "vector_to_sequence.yaml"])
def test_predict_first_works_for_every_task_shape(tmp_path, capsys, name):
    from train_support import ROOT

    spec = ROOT / "specs" / name
    trainer = api.prepare(spec, {"subset": 64}, write=False, quiet=True)
    torch.save(trainer.state(), tmp_path / "init.pt")
    rc, stdout, err = _cli(capsys, "predict", spec, "--checkpoint", tmp_path / "init.pt", "--first", "2")
    assert rc == 0, err
    lines = stdout.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == ["sample 0", "sample 1"]


# --- item 17: the other internal errors ---------------------------------------------------------------------
def test_a_negative_label_in_a_data_file_is_a_data_error(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    y[150] = -1  # far from the first batch
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(200, 64)).astype(np.float32), y=y)
    spec = write_spec(tmp_path)
    rc, _, err = _cli(capsys, "build", spec, "--data", tmp_path / "d.npz", "--epochs", "1", "--out", tmp_path / "r")
    assert rc == 1 and "class label -1" in err and "0 … 9" in err, err


def test_a_token_id_outside_the_vocabulary_in_a_late_batch_is_a_data_error(tmp_path, capsys):
    spec = write_spec(tmp_path, "name: tok\ninput: {shape: [6], dtype: long}\nlayers:\n"
                                "  - embedding: {vocab: 20, dim: 4}\n  - flatten\n  - dense: 2\n"
                                "train: {task: classification, device: cpu, threads: 1}\n", "tok.yaml")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (200, 6))
    x[150, 2] = 20
    np.savez(tmp_path / "d.npz", x=x, y=rng.integers(0, 2, 200))
    rc, _, err = _cli(capsys, "build", spec, "--data", tmp_path / "d.npz", "--epochs", "1", "--out", tmp_path / "r")
    assert rc == 1 and "token id 20 (at position 2 of a sample) for the input 'input'" in err and "0 … 19" in err, err


def test_a_checkpoint_of_another_architecture_names_every_difference(tmp_path, capsys):
    spec = write_spec(tmp_path)
    api.train(spec, flags={"epochs": 1}, out=tmp_path / "run", quiet=True)
    other = write_spec(tmp_path, MLP.replace("units: 32", "units: 16"), "other.yaml")  # the same name: tiny_mlp
    ckpt = tmp_path / "run" / "last.pt"
    for args in (["eval", other, "--checkpoint", ckpt], ["predict", other, "--checkpoint", ckpt, "--first", "2"],
                 ["build", other, "--resume", ckpt, "--out", tmp_path / "new"]):
        rc, _, err = _cli(capsys, *args)
        assert rc == 2, (args, err)
        assert "does not fit the networks" in err and "internal error" not in err
        # every difference, not the first line of torch's message
        assert "(32, 64) in the checkpoint, (16, 64) in the spec" in err
        assert "(10, 32) in the checkpoint, (10, 16) in the spec" in err


def test_checkpoints_with_missing_or_mistyped_fields_are_refused(tmp_path, capsys):
    spec = write_spec(tmp_path)
    api.train(spec, flags={"epochs": 1}, out=tmp_path / "run", quiet=True)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    cases = [(k, None) for k in ("model", "config", "optimizers", "rng", "epoch")] + \
        [("epoch", "three"), ("model", {"x": 1}), ("history", [1, 2]), ("rng", {}), ("optimizers", [{}])]
    for i, (key, value) in enumerate(cases):
        broken = dict(state)
        if value is None:
            del broken[key]
        else:
            broken[key] = value
        d = tmp_path / f"b{i}"
        d.mkdir()
        torch.save(broken, d / "last.pt")
        for args in (["eval", spec, "--checkpoint", d], ["predict", spec, "--checkpoint", d, "--first", "1"],
                     ["build", spec, "--resume", d, "--epochs", "2", "--quiet"]):
            rc, _, err = _cli(capsys, *args)
            # eval and predict need only the weights and the recipe; resuming needs every field
            assert rc in ((1, 2) if args[0] == "build" or key in ("model", "config", "epoch") else (0, 1, 2)), \
                (key, value, args, err)
            assert "internal error" not in err and "Traceback" not in err, (key, value, args, err)


def test_predict_on_a_file_that_is_not_an_image(tmp_path, capsys):
    spec = write_spec(tmp_path)
    api.train(spec, flags={"epochs": 1}, out=tmp_path / "run", quiet=True)
    (tmp_path / "photo.png").write_text("SECRET-CONTENTS not a picture")
    (tmp_path / "data.npy").write_text("SECRET-CONTENTS not an array")
    for f in ("photo.png", "data.npy"):
        rc, _, err = _cli(capsys, "predict", spec, "--checkpoint", tmp_path / "run", tmp_path / f)
        assert rc == 1 and f in err and "SECRET" not in err and "internal error" not in err, err


def test_data_paths_in_a_spec_are_relative_to_the_spec_file(tmp_path, monkeypatch):
    sub = tmp_path / "project"
    sub.mkdir()
    rng = np.random.default_rng(0)
    np.savez(sub / "mine.npz", x=rng.normal(size=(40, 64)).astype(np.float32), y=rng.integers(0, 10, 40))
    spec = write_spec(sub, MLP.replace("data: {name: digits, subset: 512}", "data: mine.npz"))
    monkeypatch.chdir(tmp_path)  # not the spec's folder
    info = api.dry_run(spec)
    assert info["train_samples"] == 30 and "mine.npz" in info["data"]
    # a path given on the command line is relative to the working directory
    with pytest.raises(UsageError, match="does not exist"):  # a missing file: exit 2, as for --weights
        api.dry_run(spec, {"data": "mine.npz"})


@pytest.mark.parametrize("suffix", [".csv", ".npy", ".pt", ".npz"])
def test_errors_about_a_data_file_never_quote_it(tmp_path, suffix):
    spec = write_spec(tmp_path)
    path = tmp_path / f"d{suffix}"
    if suffix == ".csv":
        path.write_text("1,2,3\n4,SECRET-TOKEN,6\n")
    else:
        path.write_bytes(b"SECRET-TOKEN\x00\x01 SECRET-TOKEN")
    with pytest.raises(DataError) as info:
        api.dry_run(spec, {"data": str(path)})
    assert "SECRET" not in str(info.value) and str(path) in str(info.value)


# --- the fuzz: data files and checkpoints, never exit 3 nor a traceback --------------------------------------------
def _data_cases(tmp, rng) -> list:
    x = rng.normal(size=(40, 64)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    nan = x.copy()
    nan[rng.integers(0, 40, 3), rng.integers(0, 64, 3)] = np.nan
    cases = {
        "wrong_width.npz": dict(x=x[:, :5], y=y), "one_d.npz": dict(x=x[:, 0], y=y),
        "scalar.npz": dict(x=np.float32(1)),
        "count_mismatch.npz": dict(x=x, y=y[:30]), "label_10.npz": dict(x=x, y=np.where(y == 3, 10, y)),
        "label_neg.npz": dict(x=x, y=np.where(y == 3, -1, y)), "label_-100.npz": dict(x=x, y=np.where(y == 3, -100, y)),
        "labels_2d.npz": dict(x=x, y=y[:, None]), "float_labels.npz": dict(x=x, y=y + 0.5),
        "nan.npz": dict(x=nan, y=y), "inf.npz": dict(x=np.where(nan != nan, np.inf, x), y=y),
        "empty.npz": dict(x=x[:0], y=y[:0]), "one_sample.npz": dict(x=x[:1], y=y[:1]),
        "strings.npz": dict(x=np.array(["a"] * 40), y=y), "complex.npz": dict(x=x.astype(np.complex64), y=y),
        "three_arrays.npz": dict(a=x, b=y, c=y), "huge_labels.npz": dict(x=x, y=y * 10**12),
    }
    files = []
    for name, arrays in cases.items():
        np.savez(tmp / name, **arrays)
        files.append(tmp / name)
    torch.save({"x": torch.from_numpy(x), "y": "labels"}, tmp / "str_y.pt")
    torch.save([torch.from_numpy(x)] * 3, tmp / "three.pt")
    torch.save({"x": {"nested": 1}}, tmp / "nested.pt")
    torch.save(torch.from_numpy(nan), tmp / "nan_only_x.pt")
    files += [tmp / "str_y.pt", tmp / "three.pt", tmp / "nested.pt", tmp / "nan_only_x.pt"]
    good = tmp / "label_10.npz"
    blob = good.read_bytes()
    for name, data in {"empty.npz": b"", "truncated.npz": blob[:len(blob) // 2], "noise.pt": rng.bytes(300),
                       "text.pt": b"SECRET", "zero.csv": b"", "header_only.csv": b"a,b,c\n",
                       "ragged.csv": b"1,2,3\n4,5\n", "binary.csv": b"\x89PNG\x00\xff\xfe",
                       "one_column.csv": b"1\n2\n3\n", "nan.csv": b"nan,1,2\n" * 5 + b"1,2,3\n" * 5,
                       "inf_label.csv": b"1,2,inf\n" * 10, "neg_label.csv": b"1,2,-1\n" * 10}.items():
        p = tmp / f"raw_{name}"
        p.write_bytes(data)
        files.append(p)
    (tmp / "a_folder.npz").mkdir()
    files.append(tmp / "a_folder.npz")
    return files


def test_fuzz_data_files_never_end_in_an_internal_error(tmp_path, capsys):
    rng = np.random.default_rng(11)
    spec = write_spec(tmp_path)
    files = _data_cases(tmp_path, rng)
    seen = set()
    for f in files:
        build = ["build", spec, "--data", f, "--epochs", "1", "--batch-size", "8", "--out", tmp_path / "o" / f.name]
        for args in (["build", spec, "--data", f, "--dry-run"], build):
            rc, _, err = _cli(capsys, *args)
            assert rc in (0, 1, 2) and "internal error" not in err and "Traceback" not in err, (f.name, args, err)
            assert "SECRET" not in err
            seen.add(rc)
    assert seen >= {0, 1}


def test_fuzz_checkpoints_never_end_in_an_internal_error(tmp_path, capsys):
    spec = write_spec(tmp_path)
    api.train(spec, flags={"epochs": 1, "subset": 128}, out=tmp_path / "run", quiet=True)
    blob = (tmp_path / "run" / "last.pt").read_bytes()
    rng = random.Random(5)
    variants = [blob[:n] for n in (0, len(blob) // 3, len(blob) - 22)]
    for _ in range(5):  # a few flipped bytes anywhere (headers, pickle, tensor data, zip directory)
        b = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        variants.append(bytes(b))
    for i, data in enumerate(variants):
        d = tmp_path / f"v{i}"
        d.mkdir()
        (d / "last.pt").write_bytes(data)
        shutil.copy(tmp_path / "run" / "config.yaml", d / "config.yaml")
        for args in (["eval", spec, "--checkpoint", d], ["predict", spec, "--checkpoint", d, "--first", "1"],
                     ["build", spec, "--resume", d, "--epochs", "1", "--quiet"]):
            rc, _, err = _cli(capsys, *args)
            assert rc in (0, 1, 2) and "internal error" not in err and "Traceback" not in err, (i, args, err)


def test_write_atomic_never_opens_an_existing_path(tmp_path):
    from netspec.train.runtime import write_text_atomic

    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "out.txt").symlink_to(victim)
    write_text_atomic(tmp_path / "out.txt", "new")
    assert victim.read_text() == "keep" and (tmp_path / "out.txt").read_text() == "new"
    assert not (tmp_path / "out.txt").is_symlink()
    (tmp_path / "sub").mkdir()
    with pytest.raises(RunDirectoryError, match="directory is in the way"):
        write_text_atomic(tmp_path / "sub", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "sub", "victim"]


def test_a_run_that_saved_no_checkpoint_is_not_offered_for_resume(tmp_path, capsys, monkeypatch):
    """A build stopped before its first checkpoint (here a file-size limit at last.pt) leaves config.yaml:
    building into it again is refused (nothing is overwritten), and neither refusal sends the user to the
    other: --resume is not offered, and --resume says there is nothing to continue."""
    spec = write_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("a run that stopped before saving\n", encoding="utf-8")
    rc, _, err = _cli(capsys, "build", spec, "--out", out, "--epochs", "1")
    assert rc == 2 and "already holds a run that saved no checkpoint (config.yaml)" in err
    assert "--resume" not in err.split("hint:")[1].replace("--resume has nothing", "")
    rc, _, err = _cli(capsys, "build", spec, "--resume", out, "--epochs", "1")
    assert rc == 2 and "holds a run that saved no checkpoint" in err and "nothing to continue" in err
    assert sorted(p.name for p in out.iterdir()) == ["config.yaml"]
