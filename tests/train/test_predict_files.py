"""predict reads the data files training reads: a labelled CSV (its label column, `data.target` or the
last) shows each sample's label and the file's score; inputs are standardized as the training data was
(`data.normalize`); `--first N` past the samples there are says how many there were."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import netspec
from netspec.cli.main import main
from tests.train_support import write_spec

CLASSIFIER = """name: csvnet
input: [4]
layers:
  - dense: {units: 8, activation: relu}
  - dense: 3
train:
  data: {name: csv, path: data.csv, target: label}
  val_split: 0.1
  epochs: 2
  batch_size: 16
  device: cpu
  threads: 1
"""


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """60 rows, the label in the FIRST column (so `data.target: label`, not the last column, is read)."""
    tmp = tmp_path_factory.mktemp("csv")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).round(4)
    y = rng.integers(0, 3, size=60)
    _write_csv(tmp / "data.csv", ["label", "a", "b", "c", "d"], [[int(k), *r] for k, r in zip(y, x)])
    _write_csv(tmp / "features.csv", ["a", "b", "c", "d"], x[:5].tolist())
    spec = write_spec(tmp, CLASSIFIER, "csvnet.yaml")
    assert main(["build", str(spec), "--out", str(tmp / "run"), "-q"]) == 0
    return tmp, spec, y


def _predict(capsys, *args):
    rc = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err


def test_predict_reads_the_labelled_csv_it_trained_on(classifier, capsys):
    tmp, spec, labels = classifier
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", tmp / "data.csv")
    assert rc == 0, err
    samples, summary = lines[:-1], lines[-1]
    assert len(samples) == 60
    hits = 0
    for i, line in enumerate(samples):
        assert line.startswith(f"{tmp / 'data.csv'}[{i}]: class ")
        assert line.endswith(f"[target {labels[i]}]"), line  # the file's first column, read here by csv
        hits += line.split("class ")[1].split()[0] == str(labels[i])
    # the score: the share of lines whose class is their label, counted from the lines themselves
    assert summary.startswith(f"{tmp / 'data.csv'}: 60 samples scored against its column 'label': accuracy "
                              f"{hits / 60:.2%}, loss "), summary


def test_an_npz_of_inputs_and_targets_is_scored_too(classifier, capsys):
    tmp, spec, labels = classifier
    x = np.loadtxt(tmp / "data.csv", delimiter=",", skiprows=1)[:, 1:]
    np.savez(tmp / "pairs.npz", x=x[:10].astype(np.float32), y=labels[:10])
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", tmp / "pairs.npz")
    assert rc == 0, err
    assert [line.rsplit("[target ", 1)[1] for line in lines[:-1]] == [f"{k}]" for k in labels[:10]]
    hits = sum(line.split("class ")[1].split()[0] == str(k) for line, k in zip(lines[:-1], labels[:10]))
    assert lines[-1].startswith(f"{tmp / 'pairs.npz'}: 10 samples scored against its targets: accuracy "
                                f"{hits / 10:.2%}"), lines[-1]


def test_predict_takes_a_csv_of_the_features_alone(classifier, capsys):
    tmp, spec, _ = classifier
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", tmp / "features.csv")
    assert rc == 0, err
    assert len(lines) == 5 and all("target" not in line and "class " in line for line in lines)


def test_labels_the_network_has_no_output_for_are_refused(classifier, capsys):
    tmp, spec, _ = classifier
    _write_csv(tmp / "bad.csv", ["label", "a", "b", "c", "d"], [[7, 0.1, 0.2, 0.3, 0.4]])
    rc, _, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", tmp / "bad.csv")
    assert rc == 1 and "the labels of" in err and "class label 7 is out of range (1 sample with such" in err, err


def test_first_past_the_validation_split_says_how_many_there_were(classifier, capsys):
    tmp, spec, _ = classifier
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", "--first", "100")
    assert rc == 0, err
    n_val = round(60 * 0.1)  # val_split 0.1 of 60 rows
    assert f"note: --first 100: the validation split holds {n_val} samples; predicting those {n_val}" in err
    assert [line.split(":")[0] for line in lines] == [f"sample {i}" for i in range(n_val)]
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp / "run" / "last.pt", "--first", "2")
    assert rc == 0 and len(lines) == 2 and "note: --first" not in err


REGRESSOR = """name: reg
input: [3]
layers:
  - dense: 1
train:
  task: regression
  data: {name: csv, path: data.csv, normalize: true}
  val_split: 0
  epochs: 1
  device: cpu
  threads: 1
"""


def test_predict_standardizes_inputs_as_the_training_data_was(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(40, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]).round(3)
    y = x @ np.array([0.5, -0.1, 0.01])
    _write_csv(tmp_path / "data.csv", None, [[*r, t] for r, t in zip(x, y)])
    _write_csv(tmp_path / "in.csv", None, x[:4].tolist())
    spec = write_spec(tmp_path, REGRESSOR, "reg.yaml")
    assert main(["build", str(spec), "--out", str(tmp_path / "run"), "-q"]) == 0
    capsys.readouterr()
    rc, lines, err = _predict(capsys, spec, "--checkpoint", tmp_path / "run" / "last.pt", tmp_path / "in.csv")
    assert rc == 0, err
    # by hand: the whole file trains (val_split 0): its mean and sample standard deviation per column
    z = (x[:4] - x.mean(0)) / x.std(0, ddof=1)
    model = netspec.compile(spec)
    model.load_state_dict(torch.load(tmp_path / "run" / "last.pt", weights_only=True)["model"])
    with torch.no_grad():
        want = model(torch.tensor(z, dtype=torch.float32))[:, 0].tolist()
    got = [float(line.rsplit(": ", 1)[1]) for line in lines]
    assert got == pytest.approx(want, rel=1e-3, abs=1e-4)


def test_a_subset_past_the_data_says_how_many_there_were(capsys):
    """specs/perceptron.yaml trains on `samples: 400` logic rows: --subset 100000 uses those 400."""
    import yaml

    from tests.train_support import ROOT

    spec = ROOT / "specs" / "perceptron.yaml"
    samples = yaml.safe_load(spec.read_text())["train"]["data"]["samples"]
    assert main(["build", str(spec), "--dry-run", "--subset", "100000"]) == 0
    out = capsys.readouterr().out
    assert f"note: data.subset 100000: the data holds {samples} samples; using all of them" in out, out
    assert main(["build", str(spec), "--dry-run", "--subset", "50"]) == 0
    assert "note: data.subset" not in capsys.readouterr().out
