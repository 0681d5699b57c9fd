"""The trainer's epochs compute what a minimal hand-written PyTorch loop computes: after two epochs on
one CPU thread the weights are bit-identical. This is what `bench/train_speed.py` compares the
trainer's speed against, so the two sides do the same work; the trainer's bookkeeping (metrics, loss
checks, the load watch) must change no value."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from netspec.train import api

SPECS = Path(__file__).resolve().parents[2] / "specs"


# the automatic losses (docs/training.md, "Tasks"), on probabilities kept 1e-7 away from 0 (and 1)
def _nll_of_probs(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # LeNet-5 ends in a softmax: the NLL of the log-probabilities
    return F.nll_loss(torch.log(p.clamp_min(1e-7)), y)


def _bce(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # one sigmoid unit: binary cross-entropy on the probability
    return F.binary_cross_entropy(p.reshape(-1).clamp(1e-7, 1 - 1e-7), y.float())


@pytest.mark.parametrize("spec, loss, flags", [
    ("lenet5.yaml", _nll_of_probs, {"subset": 200}),
    ("keras_lstm_classifier.yaml", _bce, {"set": ["data.samples=200"]}),
])
def test_two_epochs_equal_a_hand_written_loop(spec, loss, flags):
    sets = flags.pop("set", None)
    epochs, batch, seed = 2, 32, 5
    trainer = api.prepare(SPECS / spec, {"device": "cpu", "threads": 1, "epochs": epochs, "batch_size": batch,
                                         "val_split": 0.0, "seed": seed, **flags}, sets=sets, write=False,
                          quiet=True, progress=False)
    assert trainer.cfg.optimizer.name == "adam" and not trainer.cfg.optimizer.weight_decay
    model = copy.deepcopy(trainer.model)  # the same initial weights
    x, y = (t.clone() for t in trainer.data.train.tensors)
    trainer.fit()

    # the hand-written loop: each epoch in DistributedSampler's order (randperm seeded seed + epoch),
    # forward, loss, backward, Adam step
    opt = torch.optim.Adam(model.parameters(), lr=trainer.cfg.optimizer.lr)
    model.train()
    for epoch in range(epochs):
        g = torch.Generator()
        g.manual_seed(seed + epoch)
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            loss(model(x[idx]), y[idx]).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

    ours, theirs = trainer.model.state_dict(), model.state_dict()
    assert ours.keys() == theirs.keys()
    for k in ours:
        assert torch.equal(ours[k], theirs[k]), k
    assert trainer.global_step == epochs * -(-len(x) // batch)
