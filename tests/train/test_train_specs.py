"""Every reference spec of modest size can be built: `netspec build --dry-run` (spec, recipe, data and one
batch forward/backward) succeeds, or fails with the expected NetspecError for the few that cannot train.
The newly trainable specs train a few epochs with a falling loss; the new synthetic data sets and the
guards that turn data/target mismatches into DataErrors are checked directly.

Fast on purpose (Python API, one CPU thread, small data): the whole file runs in well under a minute.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path

import pytest
import torch

import netspec
from netspec.core.errors import DataError, NetspecError, UsageError
from netspec.train import api
from netspec.train import synthetic as S

SPECS = Path(__file__).resolve().parents[2] / "specs"
MAX_MACS = 2e8  # per sample; the ImageNet nets (alexnet, vgg, resnet, ...) are left to slower suites

# spec -> (error class, message fragment): specs that cannot be trained, refused with a clear message
REFUSED = {
    "sobel_edges.yaml": (UsageError, "nothing to train"),
    # an encoder without a task head (two id inputs, hidden states and the pooler out): no task fits yet
    "bert_base.yaml": (DataError, "takes 2 inputs (input_ids, token_type_ids)"),
}


@lru_cache(maxsize=None)
def _macs(path: Path) -> float:
    """MACs per sample; a count that depends on symbolic sizes (sequence lengths) at 20 steps each, the
    synthetic data's default length."""
    from netspec.core.sizes import evaluate, symbols

    macs = netspec.check(str(path)).to_dict().get("macs") or 0
    if isinstance(macs, str):
        macs = evaluate(macs, {name: 20 for name in symbols(macs)})
    return float(macs)


def _small_specs() -> list[str]:
    return [p.name for p in sorted(SPECS.glob("*.yaml")) if _macs(p) < MAX_MACS]


def test_the_small_specs_include_the_recurrent_and_generative_ones():
    small = _small_specs()
    for name in ("perceptron.yaml", "gan.yaml", "rbm.yaml", "dbn.yaml", "pytorch_lstm.yaml", "recursive_nn.yaml",
                 "vector_to_sequence.yaml", "keras_lstm_classifier.yaml", "lenet5.yaml"):
        assert name in small
    assert "resnet50.yaml" not in small


FAST = {"threads": 1, "device": "cpu", "batch_size": 16}
# the synthetic generators honour data.samples (subset is taken of every source, synthetic ones too)
SMALL_DATA = ["data.samples=64", "data.subset=64"]


@pytest.mark.parametrize("spec", _small_specs())
def test_dry_run(spec):
    if spec in REFUSED:
        cls, fragment = REFUSED[spec]
        with pytest.raises(cls) as err:
            api.dry_run(SPECS / spec, dict(FAST), SMALL_DATA)
        assert fragment in str(err.value)
        return
    info = api.dry_run(SPECS / spec, dict(FAST), SMALL_DATA)
    assert math.isfinite(info["loss"]), info
    assert info["train_samples"] > 0


# --- refusals are one clear message, never a traceback ---------------------------------------------------
@pytest.mark.parametrize("spec, flags, fragment", [
    ("keras_lstm_classifier.yaml", {"data": "digits", "subset": 64}, "do not fit a 1-output head"),
    ("pytorch_lstm.yaml", {"task": "classification", "data": "digits", "subset": 64}, "task: forecasting"),
    ("recursive_nn.yaml", {"data": "digits", "subset": 64}, "data: trees"),
    ("simple_rnn.yaml", {"data": "digits", "subset": 64}, "data: sentiment"),
    ("perceptron.yaml", {"data": "digits", "subset": 64}, "logic"),
])
def test_data_that_does_not_fit_is_refused_clearly(spec, flags, fragment):
    with pytest.raises(DataError) as err:
        api.dry_run(SPECS / spec, {**FAST, **flags})
    assert fragment in str(err.value)


def test_a_mismatch_inside_a_step_becomes_a_data_error(monkeypatch):
    from netspec.train.tasks.classification import Classification

    def broken(self, batch):
        raise RuntimeError("Expected target size [16, 128], got [16]")

    monkeypatch.setattr(Classification, "loss", broken)
    with pytest.raises(DataError) as err:
        api.dry_run(SPECS / "gru_classifier.yaml", dict(FAST), ["data.samples=64"])
    text = str(err.value)
    assert "task 'classification'" in text and "outputs (1,)" in text and "targets () int64" in text
    assert "Expected target size" in text


def test_other_exceptions_inside_a_step_are_not_disguised(monkeypatch):
    from netspec.train.tasks.classification import Classification

    def broken(self, batch):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(Classification, "loss", broken)
    with pytest.raises(ZeroDivisionError):
        api.dry_run(SPECS / "gru_classifier.yaml", dict(FAST), ["data.samples=64"])


def test_dry_run_of_large_inputs_prepares_only_a_batch():
    spec = """
name: big_input
input: [3, 224, 224]
layers:
  - conv2d: {filters: 2, kernel: 8, stride: 8}
  - global_avg_pool
  - dense: 10
"""
    info = api.dry_run(spec, {**FAST, "batch_size": 8})
    assert info["dry_run_subset"] is not None and info["train_samples"] + info["val_samples"] <= 12


# --- the new synthetic data -------------------------------------------------------------------------------
def test_logic_truth_tables():
    data = S.logic(8, 3, ["and", "or", "xor", "majority"], 0.0, seed=0)
    x, y = data.tensors
    assert x.shape == (8, 3) and y.shape == (8, 4)
    assert sorted(tuple(r) for r in x.long().tolist()) == [(a, b, c) for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    ones = x.sum(1)
    assert torch.equal(y[:, 0], (ones == 3).float()) and torch.equal(y[:, 1], (ones > 0).float())
    assert torch.equal(y[:, 2], (ones % 2).float()) and torch.equal(y[:, 3], (ones >= 2).float())


def test_sentiment_labels_count_the_markers():
    x, y = S.sentiment(200, 12, 64, seed=1).tensors
    pos = ((x >= 2) & (x <= 6)).sum(1)
    neg = ((x >= 7) & (x <= 11)).sum(1)
    assert torch.equal(y, (pos > neg).long()) and bool(((pos + neg) % 2 == 1).all())
    assert 0.3 < y.float().mean() < 0.7
    xf, yf = S.sentiment(10, 12, 64, seed=1, features=5).tensors
    assert xf.shape == (10, 12, 5) and xf.dtype == torch.float32


def test_trees_are_valid_binary_trees():
    words, tree, y = S.trees(50, 6, 64, seed=2).tensors
    assert words.shape == (50, 6) and tree.shape == (50, 5, 2) and int(y.min()) >= 0 and int(y.max()) <= 4
    for rows in tree.tolist():
        used = [c for pair in rows for c in pair]
        assert sorted(used) == list(range(6 + 4))  # every node but the root is a child exactly once
        for i, (a, b) in enumerate(rows):
            assert a < 6 + i and b < 6 + i  # children before parents


def test_sine_with_a_wider_output_mixes_sources():
    x, y = S.sine(20, 15, 10, 1, 0, 15, out_features=128).tensors
    assert x.shape == (20, 15, 10) and y.shape == (20, 15, 128) and float(y.abs().max()) <= 1.0


# --- the new train: sections train --------------------------------------------------------------------
def _train(tmp_path: Path, spec: str, epochs: int, sets: list[str]) -> list[float]:
    api.train(SPECS / spec, {"threads": 1, "device": "cpu", "epochs": epochs}, sets, out=tmp_path / "run",
              quiet=True)
    rows = list(csv.DictReader((tmp_path / "run" / "metrics.csv").open()))
    losses = [float(r["train_loss"]) for r in rows]
    assert all(math.isfinite(v) for v in losses) and losses[-1] < losses[0], losses
    return losses


def test_perceptron_learns_and_from_its_pinned_weights(tmp_path):
    _train(tmp_path, "perceptron.yaml", 3, ["data.samples=200"])
    from netspec.train.checkpoint import load_checkpoint

    state = load_checkpoint(tmp_path / "run" / "last.pt")
    w, b = state["model"]["unit.weight"][0], state["model"]["unit.bias"][0]
    for x1 in (0.0, 1.0):
        for x2 in (0.0, 1.0):
            assert (float(w[0] * x1 + w[1] * x2 + b) >= 0) == (x1 == x2 == 1.0)


def test_keras_lstm_classifier_trains_on_sentiment(tmp_path):
    _train(tmp_path, "keras_lstm_classifier.yaml", 2, ["data.samples=400"])


def test_pytorch_lstm_forecasts(tmp_path):
    _train(tmp_path, "pytorch_lstm.yaml", 3, ["data.samples=300", "data.length=12"])


def test_recursive_nn_trains_on_trees(tmp_path):
    _train(tmp_path, "recursive_nn.yaml", 3, ["data.samples=300"])


def test_every_new_train_section_names_its_data():
    for spec, data in [("keras_lstm_classifier", "sentiment"), ("pytorch_lstm", "sine"),
                       ("bidirectional_lstm", "sentiment"), ("simple_rnn", "sentiment"),
                       ("vector_to_sequence", "captions"), ("perceptron", "logic"),
                       ("mlp_worked_example", "logic"), ("recursive_nn", "trees")]:
        from netspec.api import analyze

        train = analyze(str(SPECS / f"{spec}.yaml")).train
        assert train is not None and train.data.name == data, spec


def test_a_netspec_error_is_the_only_failure_of_the_small_specs_with_default_data():
    """Even with the spec's train: section ignored (default task and data), nothing raises a traceback."""
    for spec in _small_specs():
        try:
            api.dry_run(SPECS / spec, dict(FAST), SMALL_DATA + ["data.name=auto", "task.name=auto"])
        except NetspecError:
            pass


# --- the task registry --------------------------------------------------------------------------------------
# one reference spec per registered task: its dry run goes through that task
TASK_SPECS = {
    "classification": "perceptron.yaml", "regression": "mlp_worked_example.yaml",
    "forecasting": "sequence_to_vector.yaml", "reconstruction": "autoencoder_3_2_3.yaml", "vae": "vae.yaml",
    "gan": "gan.yaml", "seq2seq": "seq2seq.yaml", "word2vec": "word2vec_skipgram.yaml", "rbm": "rbm.yaml",
    "dbn": "dbn.yaml",
}


def test_the_registry_is_the_schema_list():
    from netspec.spec.train import TASKS
    from netspec.train.tasks import FAMILIES, task_names

    assert set(task_names()) == set(TASKS) - {"auto"}
    assert sorted(name for cls in FAMILIES for name in cls.NAMES) == task_names()
    assert set(TASK_SPECS) == set(task_names())


@pytest.mark.parametrize("task", sorted(TASK_SPECS))
def test_every_registered_task_runs_a_step(task):
    info = api.dry_run(SPECS / TASK_SPECS[task], {**FAST, "task": task}, SMALL_DATA)
    assert info["task"] == task and math.isfinite(info["loss"])


def test_a_task_name_is_registered_once_and_only_from_the_schema():
    from netspec.train.tasks.base import Task, register_task

    with pytest.raises(RuntimeError, match="registered twice"):
        register_task("gan")(type("Again", (Task,), {}))
    with pytest.raises(RuntimeError, match="not one of"):
        register_task("clustering")(type("New", (Task,), {}))


def test_an_unknown_task_is_refused_with_close_matches():
    from netspec.spec.train import TaskConfig, TrainConfig
    from netspec.train.tasks import make_task

    graph = netspec.analyze(str(SPECS / "perceptron.yaml"))
    cfg = TrainConfig().model_copy(update={"task": TaskConfig.model_construct(name="clasification")})
    with pytest.raises(UsageError, match="unknown task 'clasification'; did you mean 'classification'"):
        make_task(cfg, graph, {})


def test_the_trainer_is_a_step_context():
    from netspec.train.tasks.base import StepContext

    trainer = api.prepare(SPECS / "perceptron.yaml", dict(FAST), ["data.samples=64"], write=False, quiet=True)
    assert isinstance(trainer, StepContext)


# --- what an output went through is seen through layers that only move values ----------------------------
TINY_GAN = """
name: tiny_gan
networks:
  generator:
    inputs:
      z: [8]
    layers:
      - dense: {units: 64, activation: tanh}
      - reshape: [1, 8, 8]
  discriminator:
    inputs:
      image: {from: generator}
    layers:
      - conv2d: {filters: 1, kernel: 8}
      - sigmoid
      - flatten
train:
  task: gan
  data: digits
"""


def test_a_gan_sees_its_activations_through_reshape_and_flatten():
    info = api.dry_run(TINY_GAN, dict(FAST), ["data.subset=64"])
    assert info["loss_name"] == "bce"  # the discriminator's sigmoid, behind a flatten: probabilities
    assert info["data"].endswith("scaled to [-1, 1]")  # the generator's tanh, behind a reshape


TOKEN_CLASSIFIER = """input: {shape: [12], dtype: long}
layers:
  - embedding: {vocab: 100, dim: 16}
  - lstm: 32
  - dense: 2
"""


def test_a_token_classifier_without_data_trains_on_token_data(tmp_path):
    """Without `data:`, a network reading token ids gets synthetic token classification (digits would not fit)."""
    spec = tmp_path / "tokens.yaml"
    spec.write_text(TOKEN_CLASSIFIER, encoding="utf-8")
    info = api.dry_run(spec, dict(FAST), ["data.samples=64"])
    assert info["data"].startswith("sentiment") and info["batch_dtypes"][0] == "int64"
    assert math.isfinite(info["loss"])


@pytest.mark.parametrize("data, fragment", [
    ("digits", "'data: sentiment' or 'parity'"),  # images for tokens: the hint names data that fits
    ("reversal", "it is data for 'task: seq2seq'; use sentiment or parity"),  # sequence data for a classifier
])
def test_data_named_for_a_token_classifier_that_does_not_fit_says_what_does(tmp_path, data, fragment):
    spec = tmp_path / "tokens.yaml"
    spec.write_text(TOKEN_CLASSIFIER, encoding="utf-8")
    with pytest.raises(DataError) as err:
        api.dry_run(spec, {**FAST, "data": data}, ["data.samples=64", "data.subset=64"])
    assert fragment in str(err.value)
    assert "digits, mnist" not in str(err.value)  # no image data suggested for token ids


def test_a_head_wider_than_the_classes_gets_a_note(tmp_path):
    spec = tmp_path / "tokens.yaml"
    spec.write_text(TOKEN_CLASSIFIER.replace("dense: 2", "dense: 4"), encoding="utf-8")
    info = api.dry_run(spec, dict(FAST), ["data.samples=64"])  # sentiment: 2 classes (0/1)
    assert any("2 classes" in n and "outputs 2–3 are never a target" in n for n in info["notes"]), info["notes"]


def test_too_small_a_vocabulary_for_sentiment_says_what_to_change(tmp_path):
    spec = tmp_path / "tokens.yaml"
    spec.write_text(TOKEN_CLASSIFIER.replace("vocab: 100", "vocab: 10"), encoding="utf-8")
    with pytest.raises(DataError) as err:
        api.dry_run(spec, dict(FAST), ["data.samples=64"])
    assert "at least 16" in str(err.value) and "'data: parity'" in str(err.value)
    info = api.dry_run(spec, {**FAST, "data": "parity"}, ["data.samples=64"])  # the hint's way out works
    assert info["data"].startswith("parity") and math.isfinite(info["loss"])
