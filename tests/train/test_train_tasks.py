"""Every task family trains its reference spec for a few epochs with a falling loss (tiny subsets,
one CPU thread), and LeNet-5 reaches ≥ 95 % on the bundled digits with its spec's own recipe."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path

import pytest

from netspec.core.errors import UsageError
from netspec.train import api

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _train(tmp_path: Path, spec: str, **flags):
    flags.setdefault("threads", 1)
    sets = flags.pop("sets", None)
    summary = api.train(SPECS / spec, flags=flags, sets=sets, out=tmp_path / "run", quiet=True)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    return summary, rows


def _falls(rows, key="train_loss"):
    values = [float(r[key]) for r in rows]
    assert all(math.isfinite(v) for v in values), values
    assert values[-1] < values[0], f"{key} did not fall: {values}"
    return values


def test_lenet5_reaches_95_percent_on_digits(tmp_path):
    t0 = time.perf_counter()
    summary, rows = _train(tmp_path, "lenet5.yaml")  # the spec's recipe: Adam, 12 epochs, batch 32
    elapsed = time.perf_counter() - t0
    assert summary["task"] == "classification" and summary["epochs"] == 12
    assert summary["best"] >= 0.95, rows
    assert elapsed < 120
    run = tmp_path / "run"
    for f in ("metrics.csv", "curves.png", "last.pt", "best.pt", "config.yaml", "summary.json"):
        assert (run / f).exists(), f
    assert list(rows[0])[:4] == ["epoch", "train_loss", "val_loss", "val_accuracy"]


@pytest.mark.parametrize("spec", ["denoising_autoencoder.yaml", "sparse_autoencoder.yaml", "conv_autoencoder.yaml",
                                  "autoencoder_3_2_3.yaml"])
def test_autoencoders(tmp_path, spec):
    summary, rows = _train(tmp_path, spec, epochs=3, subset=300)
    assert summary["task"] == "reconstruction"
    _falls(rows)
    _falls(rows, "val_loss")
    if spec != "autoencoder_3_2_3.yaml":
        assert (tmp_path / "run" / "samples.png").exists()
    if spec == "sparse_autoencoder.yaml":  # the activity penalty is part of the training loss
        assert all(float(r["train_loss"]) > float(r["train_recon"]) for r in rows)


def test_vae(tmp_path):
    summary, rows = _train(tmp_path, "vae.yaml", epochs=3, subset=300)
    assert summary["task"] == "vae"
    _falls(rows)
    assert all(float(r["train_loss"]) > float(r["train_recon"]) for r in rows)  # + KL
    assert (tmp_path / "run" / "samples.png").exists()


def test_gan(tmp_path):
    summary, rows = _train(tmp_path, "gan.yaml", epochs=3, subset=256)
    assert summary["task"] == "gan"
    d = [float(r["train_d_loss"]) for r in rows]
    g = [float(r["train_g_loss"]) for r in rows]
    assert all(math.isfinite(v) for v in d + g)
    assert d[0] < 2 * math.log(2)  # the discriminator learns: below chance (2 ln 2) in the first epoch
    assert (tmp_path / "run" / "samples.png").exists()


def test_lstm_classifier(tmp_path):
    summary, rows = _train(tmp_path, "stacked_lstm.yaml", epochs=3, subset=256)
    _falls(rows)


def test_rnn_forecasting(tmp_path):
    summary, rows = _train(tmp_path, "sequence_to_vector.yaml", epochs=3, sets=["data.samples=400"])
    assert summary["task"] == "forecasting"
    _falls(rows)
    _falls(rows, "val_loss")


def test_gru_parity_tokens(tmp_path):
    summary, rows = _train(tmp_path, "gru_classifier.yaml", epochs=3, sets=["data.samples=400"])
    assert "val_accuracy" in rows[0]
    assert all(math.isfinite(float(r["train_loss"])) for r in rows)


def test_seq2seq(tmp_path):
    summary, rows = _train(tmp_path, "seq2seq.yaml", epochs=3, batch_size=32,
                           sets=["data.samples=160", "data.length=5", "data.vocab=8"])
    assert summary["task"] == "seq2seq"
    _falls(rows)


def test_seq2seq_scheduled_sampling(tmp_path):
    summary, rows = _train(tmp_path, "seq2seq.yaml", epochs=2, batch_size=32,
                           sets=["data.samples=96", "data.length=4", "data.vocab=8", "task.teacher_forcing=0.5"])
    _falls(rows)


@pytest.mark.parametrize("spec", ["word2vec_cbow.yaml", "word2vec_skipgram.yaml"])
def test_word2vec(tmp_path, spec):
    summary, rows = _train(tmp_path, spec, epochs=3, subset=1500)
    assert summary["task"] == "word2vec"
    _falls(rows)
    text = (tmp_path / "run" / "neighbours.txt").read_text()
    assert text.count("\n") >= 10
    words = "the king rules the" if "cbow" in spec else "king"
    lines = api.predict(SPECS / spec, tmp_path / "run" / "last.pt", [words])
    assert lines[0].startswith(f"{words}: ") and lines[0].count("%") == 5


@pytest.mark.parametrize("spec,task", [("rbm.yaml", "rbm"), ("dbn.yaml", "dbn")])
def test_rbm_and_dbn(tmp_path, spec, task):
    summary, rows = _train(tmp_path, spec, epochs=3 if task == "dbn" else 3, subset=300)
    assert summary["task"] == task
    if task == "rbm":
        _falls(rows)
    assert (tmp_path / "run" / "samples.png").exists()


def test_dbn_refuses_fewer_epochs_than_rbms(tmp_path):
    # one epoch for three RBMs used to train rbm_1 alone and say "trained for 1 epoch" (review 2026-12)
    with pytest.raises(UsageError) as err:
        api.train(SPECS / "dbn.yaml", flags={"epochs": 1, "subset": 200, "threads": 1}, out=tmp_path / "a",
                  quiet=True)
    text = str(err.value)
    assert "rbm_2, rbm_3 untrained" in text and "--epochs 3" in text
