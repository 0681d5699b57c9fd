"""Frozen layers with state: fine-tuning keeps them in eval mode, so a frozen body's batch norms keep
their running statistics as well as their parameters (torchvision's FrozenBatchNorm2d practice).

The truth is torch's own state dict before and after training, compared tensor by tensor.
"""

from __future__ import annotations

from pathlib import Path

import torch

import netspec
from netspec.train import api
from netspec.train.runtime import train_mode

ROOT = Path(__file__).resolve().parents[2]
FINETUNE = ROOT / "specs" / "resnet18_finetune.yaml"


def test_fine_tuning_leaves_the_frozen_body_bit_identical(tmp_path):
    """specs/resnet18_finetune.yaml (stem and stages 1-3 `trainable: false`) trained a few steps: every
    parameter AND buffer of the frozen body is bit-identical; the head and stage 4 (batch-norm
    statistics included) change."""
    trainer = api.prepare(FINETUNE, {"subset": 32, "batch_size": 16, "epochs": 1, "threads": 2, "device": "cpu",
                                     "val_split": 0.0}, write=False, quiet=True)
    model = trainer.model
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    frozen_modules = {n.name for n in model.netspec_graph.nodes if not n.trainable and (n.params or n.buffers)}
    assert any(name.startswith("layer3") for name in frozen_modules) and "bn1" in frozen_modules
    trainer.fit()
    after = model.state_dict()
    frozen = [k for k in before if k.rpartition(".")[0] in frozen_modules]
    assert any(k.endswith("running_mean") for k in frozen) and any(k.endswith("num_batches_tracked") for k in frozen)
    for key in frozen:
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["head.weight"], after["head.weight"])
    assert not torch.equal(before["layer4.basic_block_2.bn2.running_mean"],
                           after["layer4.basic_block_2.bn2.running_mean"])


def test_train_mode_reads_the_trainable_flags():
    """Only frozen layers with buffers stay in eval mode: a frozen convolution (no state) and a
    trainable batch norm follow train()."""
    model = netspec.compile("""
netspec: 1
name: frozen_norms
input: [3, 8, 8]
layers:
  - sequential:
      layers:
        - conv2d: {filters: 4, kernel: 3}
          name: conv
        - batchnorm2d: {}
          name: bn
    name: body
    trainable: false
  - batchnorm2d: {}
    name: bn
  - global_avg_pool: {}
  - dense: 2
    name: head
""")
    model.eval()
    train_mode(model)
    modes = {name: m.training for name, m in model.named_modules() if name}
    assert not modes["body.bn"]
    assert modes["body"] and modes["body.conv"] and modes["bn"] and modes["head"]
