"""The train: section, CLI overrides, data loaders and fit checks, schedules, eval/predict/dry-run."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from train_support import ROOT, env, write_spec

from netspec import load
from netspec.cli.main import main
from netspec.core.errors import DataError, SpecValidationError, UsageError
from netspec.spec.train import (
    DATASETS,
    FILE_DATASETS,
    FLAG_FIELDS,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TASKS,
    OptimizerConfig,
    ScheduleConfig,
    TrainConfig,
    apply_overrides,
)
from netspec.train import api
from netspec.train.meter import RunningMean
from netspec.train.schedule import OPTIMIZER_TABLE, LRSchedule, build_optimizer

SPECS = ROOT / "specs"


# --- the train: section ----------------------------------------------------------------------------------
def test_train_section_is_validated_and_located():
    text = "name: x\ninput: [4]\nlayers: [dense: 2]\ntrain:\n  optimizer: {name: sgd, lrr: 3}\n  epochs: -1\n"
    with pytest.raises(SpecValidationError) as info:
        load(text)
    msg = str(info.value)
    assert "<string>:5" in msg and "unknown key 'lrr'" in msg
    assert "train.epochs" in msg


def test_shorthands_and_defaults():
    spec = load("name: x\ninput: [4]\nlayers: [dense: 2]\ntrain: {optimizer: sgd, data: digits, schedule: cosine}\n")
    t = spec.train
    assert isinstance(t, TrainConfig)
    assert t.optimizer.name == "sgd" and t.data.name == "digits" and t.schedule.name == "cosine"
    assert TrainConfig.model_validate({"data": "some/file.npz"}).data.name == "npz"
    assert TrainConfig.model_validate({"data": "x.csv"}).data.path == "x.csv"
    with pytest.raises(ValueError, match="nesterov"):  # torch refuses Nesterov without momentum
        OptimizerConfig(name="sgd", nesterov=True)
    # under another optimizer nesterov is ignored, with a warning (tests/spec/test_recipe.py)
    assert OptimizerConfig(name="adam", nesterov=True).nesterov


def test_check_never_imports_torch(tmp_path):
    code = ("import sys; from netspec.cli.main import main; rc = main(['check', sys.argv[1]]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, str(SPECS / "lenet5.yaml")], env=env(), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_overrides():
    base = TrainConfig.model_validate({"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}, "epochs": 5})
    cfg = apply_overrides(base, {"lr": 0.01, "epochs": 2, "batch_size": 16, "device": "cpu", "clip_norm": 1.0},
                          ["optimizer.nesterov=true", "schedule=cosine", "schedule.warmup_epochs=0.5",
                           "optimizer.weight_decay=5e-4"])
    assert cfg.optimizer.name == "sgd" and cfg.optimizer.momentum == 0.9 and cfg.optimizer.lr == 0.01
    assert cfg.optimizer.nesterov and cfg.optimizer.weight_decay == 5e-4
    assert (cfg.epochs, cfg.batch_size, cfg.device, cfg.clip.norm) == (2, 16, "cpu", 1.0)
    assert cfg.schedule.name == "cosine" and cfg.schedule.warmup_epochs == 0.5
    assert apply_overrides(base, {"data": "x.npz"}).data.path == "x.npz"
    with pytest.raises(UsageError, match="--lr"):
        apply_overrides(base, {"lr": -1.0})
    with pytest.raises(UsageError, match="did you mean 'momentum'"):
        apply_overrides(base, None, ["optimizer.momentun=0.5"])


def test_bad_flag_exits_2(tmp_path, capsys):
    spec = write_spec(tmp_path)
    assert main(["build", str(spec), "--optimizer", "adamm", "--dry-run"]) == 2
    assert "optimizer" in capsys.readouterr().err


def test_the_recipe_flags_are_the_flags_table(capsys):
    from netspec.cli.main import build_parser

    args = build_parser().parse_args(["build", "x.yaml"])
    assert set(FLAG_FIELDS) <= set(vars(args))
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for names, leave_out in ((TASKS, {"auto"}), (LOSSES, {"auto"}), (OPTIMIZERS, set()), (SCHEDULES, set()),
                             (DATASETS, {"auto", *FILE_DATASETS})):
        assert ", ".join(n for n in names if n not in leave_out) in text


# --- optimizers and schedules ----------------------------------------------------------------------------
def test_the_optimizer_table_covers_the_schema():
    assert set(OPTIMIZER_TABLE) == set(OPTIMIZERS)
    eps = build_optimizer(OptimizerConfig(name="adam", eps=1e-6), [torch.nn.Parameter(torch.ones(1))])
    assert eps.param_groups[0]["eps"] == 1e-6


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                      ("adamw", torch.optim.AdamW), ("adagrad", torch.optim.Adagrad),
                                      ("rmsprop", torch.optim.RMSprop)])
def test_optimizers(name, cls):
    p = [torch.nn.Parameter(torch.ones(3))]
    opt = build_optimizer(OptimizerConfig(name=name, lr=0.5, weight_decay=0.1), p)
    assert isinstance(opt, cls) and opt.param_groups[0]["weight_decay"] == 0.1
    sgd = build_optimizer(OptimizerConfig(name="sgd", momentum=0.9, nesterov=True), p)
    assert sgd.param_groups[0]["nesterov"] and sgd.param_groups[0]["momentum"] == 0.9


def _lrs(cfg: ScheduleConfig, epochs=4, steps=10, metrics=None):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=1.0)
    s = LRSchedule(opt, cfg, epochs, steps)
    out = []
    for e in range(epochs):
        for b in range(steps):
            s.step_batch(e * steps + b, e)
            out.append(opt.param_groups[0]["lr"])
        s.end_epoch(e, (metrics or [1.0] * epochs)[e])
    return out


def test_schedules():
    step = _lrs(ScheduleConfig(name="step", step_size=2, gamma=0.1))
    assert step[0] == 1.0 and step[19] == 1.0 and step[20] == pytest.approx(0.1) and step[39] == pytest.approx(0.1)
    cos = _lrs(ScheduleConfig(name="cosine"))
    assert cos[0] == 1.0 and cos[20] == pytest.approx(0.5) and cos[-1] < 0.01
    warm = _lrs(ScheduleConfig(name="none", warmup_epochs=1))
    assert warm[0] == pytest.approx(0.1) and warm[9] == 1.0 and warm[10] == 1.0
    plateau = _lrs(ScheduleConfig(name="plateau", patience=1, factor=0.5), epochs=5, metrics=[1, 1, 1, 1, 1])
    assert plateau[0] == 1.0 and plateau[-1] < 1.0


# --- running means ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("floats", [True, False])
def test_running_means_weigh_batches_by_their_samples(floats):
    cpu = torch.device("cpu")
    m = RunningMean(cpu, floats=floats)
    m.add({"loss": torch.tensor(1.0), "accuracy": torch.tensor(0.5)}, 10)
    m.add({"loss": torch.tensor(4.0), "accuracy": torch.tensor(1.0)}, 30)
    assert m.mean("loss") == pytest.approx(3.25)
    means = m.means()
    assert means == pytest.approx({"loss": 3.25, "accuracy": 0.875, "n": 40})
    resumed = RunningMean(cpu, start=means, floats=floats)  # an epoch resumed mid-way goes on from its means
    resumed.add({"loss": torch.tensor(0.0), "accuracy": torch.tensor(0.0)}, 40)
    assert resumed.means() == pytest.approx({"loss": 1.625, "accuracy": 0.4375, "n": 80})
    assert RunningMean(cpu).means() == {"n": 0}


# --- data --------------------------------------------------------------------------------------------------
def test_shape_mismatch_names_both_shapes(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((20, 5), np.float32), y=np.zeros(20, np.int64))
    spec = write_spec(tmp_path)
    with pytest.raises(DataError) as info:
        api.dry_run(spec, {"data": str(tmp_path / "d.npz")})
    msg = str(info.value)
    assert "(5,) float" in msg and "(64,) float" in msg


def test_dtype_mismatch(tmp_path):
    # whole-valued floats are token ids; a fraction is refused with where it is, never truncated
    x = np.zeros((20, 4), np.float32)
    x[3, 2] = 1.5
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(20, np.int64))
    spec = write_spec(tmp_path, "name: t\ninput: {shape: [4], dtype: long}\nlayers:\n"
                                "  - embedding: {vocab: 10, dim: 3}\n  - flatten\n  - dense: 2\n")
    with pytest.raises(DataError, match=r"d\.npz: .*whole numbers.*sample 3, position 2 holds 1\.5"):
        api.dry_run(spec, {"data": str(tmp_path / "d.npz"), "task": "classification"})
    x[3, 2] = 2.0
    np.savez(tmp_path / "d.npz", x=x, y=np.zeros(20, np.int64))
    info = api.dry_run(spec, {"data": str(tmp_path / "d.npz"), "task": "classification"})
    assert info["batch_dtypes"][0] == "int64"


def test_torchvision_missing_or_offline_is_a_clear_data_error(tmp_path):
    spec = write_spec(tmp_path)
    try:
        import torchvision  # noqa: F401
        expected = "not cached"
    except ImportError:
        expected = "torchvision, which is not installed"
    with pytest.raises(DataError, match=expected):
        api.dry_run(spec, {"data": "mnist"}, ["data.download=false", f"data.root={tmp_path}"])


def test_npz_csv_pt_and_folder_loaders(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 64)).astype(np.float32)
    y = rng.integers(0, 10, 40)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    torch.save({"x": torch.from_numpy(x), "y": torch.from_numpy(y)}, tmp_path / "d.pt")
    with (tmp_path / "d.csv").open("w") as f:
        f.write(",".join(f"f{i}" for i in range(64)) + ",label\n")
        for row, label in zip(x, y):
            f.write(",".join(f"{v:.5f}" for v in row) + f",{label}\n")
    spec = write_spec(tmp_path)
    for name in ("d.npz", "d.pt", "d.csv"):
        info = api.dry_run(spec, {"data": str(tmp_path / name)})
        assert info["train_samples"] == 30 and info["batch_shapes"][0][1:] == (64,), name
    from PIL import Image

    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray((rng.random((12, 10)) * 255).astype(np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    cnn = write_spec(tmp_path, "name: c\ninput: [1, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: 3}\n  - flatten\n"
                                "  - dense: 2\n", "c.yaml")
    info = api.dry_run(cnn, {"data": str(tmp_path / "imgs"), "batch_size": 4})
    # 6 images, val_split 0.1: round(0.6) = 1 held out, as for arrays (a folder used to train on all 6)
    assert info["batch_shapes"][0] == (4, 1, 8, 8) and info["train_samples"] == 5
    s = api.train(cnn, {"data": str(tmp_path / "imgs"), "epochs": 1, "batch_size": 4, "threads": 1},
                  out=tmp_path / "run", quiet=True)
    assert s["epochs"] == 1


def test_digits_fit_flattened_and_images():
    from netspec.core.types import TensorType
    from netspec.train import data as D

    x, _, _ = D.digits()
    assert D.fit_images(x, TensorType((64,)), "in", True, "digits").shape == (1797, 64)
    assert D.fit_images(x, TensorType((784,)), "in", True, "digits").shape == (1797, 784)
    assert D.fit_images(x, TensorType((3, 32, 32)), "in", True, "digits").shape == (1797, 3, 32, 32)
    with pytest.raises(DataError, match=r"\(1, 8, 8\) float.*\(1, 32, 32\) float"):
        D.fit_images(x, TensorType((1, 32, 32)), "in", False, "digits")


# --- commands ----------------------------------------------------------------------------------------------
def test_build_eval_predict_dry_run(tmp_path, capsys):
    spec = write_spec(tmp_path)
    assert main(["build", str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run ok" in out and "(32, 64) float32" in out
    run = tmp_path / "run"
    assert main(["build", str(spec), "--out", str(run), "--epochs", "2", "--schedule", "cosine", "--warmup", "0.5",
                 "--clip-norm", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "best val_accuracy" in out and str(run) in out
    assert main(["eval", str(spec), "--checkpoint", str(run / "best.pt"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "validation" and result["samples"] == 128 and 0 <= result["accuracy"] <= 1
    assert main(["predict", str(spec), "--checkpoint", str(run), "--first", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("sample 0: class")
    np.save(tmp_path / "one.npy", np.zeros(64, np.float32))
    assert main(["predict", str(spec), "--checkpoint", str(run / "last.pt"), str(tmp_path / "one.npy")]) == 0
    assert "one.npy: class" in capsys.readouterr().out


def test_resume_latest_and_missing_checkpoint(tmp_path, capsys, monkeypatch):
    spec = write_spec(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["build", str(spec), "--resume"]) == 2
    assert "no run of 'tiny_mlp'" in capsys.readouterr().err
    assert main(["eval", str(spec), "--checkpoint", str(tmp_path / "nope.pt")]) == 2


def test_build_shows_what_check_warns_of(tmp_path, capsys):
    """A warning `check` gives (here: batch norm on a channels-last map normalizes its rows) is shown by the
    dry run and in the run's header, at its place with its hint: training does not hide it."""
    spec = tmp_path / "cx.yaml"
    spec.write_text("netspec: 1\nname: cx\ninput: [1, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, padding: 1}\n"
                    "  - permute: [1, 2, 0]\n  - batchnorm2d\n  - permute: [2, 0, 1]\n  - flatten\n  - dense: 10\n",
                    encoding="utf-8")
    assert main(["build", str(spec), "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert main(["build", str(spec), "--epochs", "1", "--out", str(tmp_path / "run"), "--threads", "1"]) == 0
    run = capsys.readouterr().out
    for out in (dry, run):
        assert f"{spec}:7:5: warning: batchnorm2d_1: batchnorm2d normalizes axis 0 of (8, 8, 8)" in out
        assert "    hint: layernorm normalizes the features" in out


def test_a_missing_image_folder_is_a_missing_path_whatever_the_spec(tmp_path, capsys):
    # the spec's (6,) input does not fit images either: the path is what to fix first (exit 2, as other files)
    spec = tmp_path / "reg.yaml"
    spec.write_text("netspec: 1\nname: reg\ninput: [6]\nlayers:\n  - dense: 1\ntrain: {task: regression}\n",
                    encoding="utf-8")
    assert main(["build", str(spec), "--dry-run", "--data", str(tmp_path / "nowhere") + "/"]) == 2
    assert f"image folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err
