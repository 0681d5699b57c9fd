"""Review of 2026-11-30 (new user), item 1: a data file's targets are read by the names docs/training.md
lists, in any combination with the inputs' names; a file without targets is refused for a task that
trains on (input, target) pairs, never given all-zero targets. A task whose target is its input (an
autoencoder) still reads inputs alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train_support import MLP3, TWO_INPUTS, write_spec

from netspec.cli.main import main
from netspec.core.errors import DataError
from netspec.core.types import TensorType
from netspec.spec.train import DataConfig
from netspec.train import api
from netspec.train import data as D

MLP = MLP3

AE = """
name: ae
input: [3]
layers:
  - dense: {units: 2, activation: relu}
  - dense: 3
train: {task: reconstruction, epochs: 1, batch_size: 16, device: cpu, seed: 0, threads: 1}
"""

# the names docs/training.md lists, written out here (not read from netspec)
INPUTS = ["x", "X", "inputs", "input", "data", "images", "features"]
TARGETS = ["y", "Y", "targets", "target", "labels", "label"]


def _arrays(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)  # both classes present: not all zeros


def _labelled(path, task="classification"):
    cfg = DataConfig(name="npz" if str(path).endswith((".npz", ".npy")) else "pt", path=str(path))
    return D.labelled(cfg, TensorType((3,), "float"), "input", targets_for=task)


@pytest.mark.parametrize("xk", INPUTS)
@pytest.mark.parametrize("yk", TARGETS)
def test_every_input_name_pairs_with_every_target_name(tmp_path, xk, yk):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", **{xk: x, yk: y})
    data, k, _ = _labelled(tmp_path / "d.npz")
    got_x, got_y = data.tensors
    assert np.array_equal(got_x.numpy(), x) and np.array_equal(got_y.numpy(), y)
    assert k == 2  # classes 0 and 1, as saved


def test_the_review_case_x_and_labels_trains_on_the_labels(tmp_path):
    """The file of the report: x and labels. Today's loader paired x with a missing y and trained on zeros."""
    x, y = _arrays()
    np.savez(tmp_path / "xl.npz", x=x, labels=y)
    data, _, _ = _labelled(tmp_path / "xl.npz")
    assert torch.equal(data.tensors[1], torch.from_numpy(y))
    assert 0 < int(data.tensors[1].sum()) < len(y)


def test_a_pt_dict_is_read_by_the_same_names(tmp_path):
    x, y = _arrays()
    torch.save({"features": torch.from_numpy(x), "label": torch.from_numpy(y)}, tmp_path / "d.pt")
    data, _, _ = _labelled(tmp_path / "d.pt")
    assert torch.equal(data.tensors[1], torch.from_numpy(y))


@pytest.mark.parametrize("save, holds", [
    (lambda p, x, y: np.savez(p / "d.npz", x=x, target_class=y), ["'x'", "'target_class'"]),  # unknown name
    (lambda p, x, y: np.savez(p / "d.npz", input=x), ["'input'"]),
    (lambda p, x, y: np.save(p / "d.npy", x), ["one array"]),
    (lambda p, x, y: torch.save(torch.from_numpy(x), p / "d.pt"), ["one tensor"]),
    (lambda p, x, y: torch.save((torch.from_numpy(x),), p / "d.pt"), ["1-tuple"]),
])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_file_without_targets_is_refused_naming_what_it_holds(tmp_path, save, holds, task):
    x, y = _arrays()
    save(tmp_path, x, y)
    path = next(tmp_path.glob("d.*"))
    spec = write_spec(tmp_path, MLP, "mlp.yaml")
    with pytest.raises(DataError) as err:
        api.dry_run(spec, {"data": str(path), "task": task})
    msg = str(err.value)
    assert f"no targets for task '{task}'" in msg and all(h in msg for h in holds), msg
    assert all(name in msg for name in ("labels", "targets", "y")), msg  # the names read as targets


def test_the_cli_refuses_inputs_alone_with_exit_1(tmp_path, capsys):
    x, _ = _arrays()
    np.save(tmp_path / "xo.npy", x)
    spec = write_spec(tmp_path, MLP, "mlp.yaml")
    rc = main(["build", str(spec), "--data", str(tmp_path / "xo.npy"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert rc == 1 and "no targets" in err and "xo.npy" in err, err
    assert not (tmp_path / "run" / "last.pt").exists()


@pytest.mark.parametrize("save", [
    lambda p, x: np.save(p / "d.npy", x),
    lambda p, x: np.savez(p / "d.npz", input=x),
])
def test_an_autoencoder_reads_inputs_alone(tmp_path, save):
    x, _ = _arrays()
    save(tmp_path, x)
    spec = write_spec(tmp_path, AE, "ae.yaml")
    info = api.dry_run(spec, {"data": str(next(tmp_path.glob("d.*")))})
    assert info["task"] == "reconstruction" and info["train_samples"] + info["val_samples"] == 60
    assert len(info["batch_shapes"]) == 1  # the inputs, no made-up targets beside them


def test_two_arrays_that_could_each_be_the_targets_are_refused(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", x=x, y=y, labels=1 - y)
    with pytest.raises(DataError, match=r"'y' and 'labels' could each be the targets"):
        _labelled(tmp_path / "d.npz")


def test_positional_arrays_are_still_inputs_then_targets(tmp_path):
    x, y = _arrays()
    np.savez(tmp_path / "d.npz", x, y)  # arr_0, arr_1
    data, _, _ = _labelled(tmp_path / "d.npz")
    assert torch.equal(data.tensors[1], torch.from_numpy(y))


TWO = TWO_INPUTS


def test_several_inputs_without_targets_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "pair.npz", a=rng.standard_normal((16, 4)), b=rng.standard_normal((16, 3)))
    spec = write_spec(tmp_path, TWO, "two.yaml")
    with pytest.raises(DataError, match=r"no targets for task 'classification'.*'a' and 'b'"):
        api.dry_run(spec, {"data": str(tmp_path / "pair.npz")})
    labels = rng.integers(0, 3, 16)
    np.savez(tmp_path / "pair.npz", a=rng.standard_normal((16, 4)), b=rng.standard_normal((16, 3)), label=labels)
    info = api.dry_run(spec, {"data": str(tmp_path / "pair.npz")})
    assert info["batch_dtypes"][-1] == "int64"
