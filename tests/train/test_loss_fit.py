"""A loss chosen by the user that does not fit the output's values (review 2026-12, issue 3) is refused
where it cannot be right (nll on probabilities, bce on log-probabilities or tanh's [-1, 1]) and warned of
where it trains badly (bce or nll on unbounded scores, a second softmax or sigmoid), naming the last layer
with its file:line:col and a hint. The claims the messages make are checked against torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from netspec.core.errors import DataError
from netspec.train import api
from netspec.train.tasks.base import make_loss

HEAD = """name: m
input: [64]
layers:
  - dense: {{units: 16, activation: relu}}
  - dense: {{units: {units}{act}}}
train: {{data: {{name: digits, subset: 64}}, batch_size: 32, device: cpu, threads: 1}}
"""
# the last layer is written on line 5, its kind at column 5 (by hand, from HEAD)


def spec(tmp_path, act: str = "", units: int = 10, name: str = "m.yaml"):
    p = tmp_path / name
    p.write_text(HEAD.format(units=units, act=f", activation: {act}" if act else ""), encoding="utf-8")
    return p


def notes(path, loss):
    return api.dry_run(path, {"loss": loss}).get("notes") or []


@pytest.mark.parametrize("act, loss, units", [
    ("", "cross_entropy", 10), ("log_softmax", "nll", 10), ("log_softmax", "cross_entropy", 10),
    ("sigmoid", "bce", 64), ("", "bce_logits", 64), ("", "mse", 64),
])
def test_a_loss_that_fits_is_not_remarked(tmp_path, act, loss, units):
    assert not [n for n in notes(spec(tmp_path, act, units), loss) if "the loss" in n]


@pytest.mark.parametrize("act, loss, units, said, hint", [
    ("", "nll", 10, "unbounded below", "loss cross_entropy"),             # logits: nll goes negative
    ("softmax", "cross_entropy", 10, "a second one over probabilities", "drop the softmax"),
    ("", "bce", 64, "give no gradient", "loss bce_logits"),               # reconstruction on raw scores
    ("sigmoid", "bce_logits", 64, "a second one over probabilities", "drop the sigmoid"),
])
def test_a_loss_that_trains_badly_is_warned_of(tmp_path, act, loss, units, said, hint):
    found = [n for n in notes(spec(tmp_path, act, units), loss) if "the loss" in n]
    assert len(found) == 1, found
    text = found[0]
    assert text.startswith(f"warning: the loss {loss} ") and "m.yaml:5:5" in text and "dense_2" in text
    assert said in text and f"hint: {hint}" in text


@pytest.mark.parametrize("act, loss, units, hint", [
    ("softmax", "nll", 10, "end the network in a log_softmax"),
    ("sigmoid", "nll", 10, "end the network in a log_softmax"),
    ("log_softmax", "bce", 64, "end the network in a sigmoid"),
    ("tanh", "bce", 64, "end the network in a sigmoid"),
])
def test_a_loss_that_cannot_be_right_is_refused(tmp_path, act, loss, units, hint):
    with pytest.raises(DataError) as err:
        api.dry_run(spec(tmp_path, act, units), {"loss": loss})
    text = str(err.value)
    assert text.startswith(f"the loss {loss} reads ") and "m.yaml:5:5" in text and f"{act} values" in text
    assert f"hint: {hint}" in text


def test_the_messages_claims_hold_in_torch():
    # nll on logits: minus the class's score, negative for a positive score (3 by hand)
    assert float(F.nll_loss(torch.tensor([[3.0, 0.0]]), torch.tensor([0]))) == -3.0
    # bce as the trainer computes it: no gradient for a value outside (0, 1)
    z = torch.tensor([2.0, -1.0], requires_grad=True)
    make_loss("bce")(z, torch.tensor([1.0, 0.0])).backward()
    assert z.grad is not None and torch.equal(z.grad, torch.zeros(2))
    # a second sigmoid squashes probabilities into (sigmoid(0), sigmoid(1)) = (0.5, 0.731)
    p = torch.tensor([0.0, 1.0])
    assert torch.sigmoid(p).tolist() == pytest.approx([0.5, 0.7310586], rel=1e-6)
    # a second softmax over probabilities flattens them: (0.9, 0.1) becomes about (0.69, 0.31)
    assert torch.softmax(torch.tensor([0.9, 0.1]), 0)[0].item() == pytest.approx(0.6899745, rel=1e-6)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll"])
def test_a_class_loss_on_one_unit_is_refused(tmp_path, loss):
    """One output unit is a binary classifier: cross_entropy over its flattened scores read the batch as one
    sample of N classes (torch: F.cross_entropy of an (N,) vector mixes the samples, below), training nothing.
    Refused at the last layer, with the losses that fit."""
    import numpy as np

    x = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    np.savez(tmp_path / "bin.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    (tmp_path / "b.yaml").write_text("name: b\ninput: [4]\nlayers:\n  - dense: {units: 1}\n"
                                     "train: {data: {name: npz, path: bin.npz}, device: cpu, threads: 1}\n",
                                     encoding="utf-8")
    with pytest.raises(DataError) as err:
        api.dry_run(tmp_path / "b.yaml", {"loss": loss})
    assert "b.yaml:4:5" in str(err.value) and "one unit" in str(err.value) and "bce_logits" in str(err.value)
    scores, y = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 0.0, 1.0])
    mixed = -(y * torch.log_softmax(scores, 0)).sum()  # what the flattened batch computed: one sample, 3 classes
    torch.testing.assert_close(F.cross_entropy(scores, y), mixed)


def test_an_unbounded_activation_is_named_not_said_to_be_none(tmp_path):
    """bce after a relu: the warning names the relu's values (unbounded above), not "no activation"."""
    text = " ".join(notes(spec(tmp_path, act="relu", units=64), "bce"))
    assert "with relu values: unbounded" in text and "no activation" not in text


@pytest.mark.parametrize("loss", ["bce", "bce_logits"])
def test_binary_cross_entropy_on_class_numbers_is_refused(tmp_path, loss):
    """Ten outputs and one class number per sample: binary cross-entropy reads a 0/1 target per output value, and
    the dry run failed in torch with "the data does not fit the network". Refused at the last layer (line 5,
    column 5 of HEAD), with the loss that fits."""
    with pytest.raises(DataError) as err:
        api.dry_run(spec(tmp_path), {"loss": loss, "task": "classification"})
    text = str(err.value)
    assert "m.yaml:5:5" in text and "one class number per sample" in text and "cross_entropy" in text
