"""Helpers for the training tests: tiny specs and subprocess runners."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent

MLP = """
name: tiny_mlp
input: [64]
layers:
  - dense: {units: 32, activation: relu}
  - dropout: 0.2
  - dense: 10
train:
  data: {name: digits, subset: 512}
  val_split: 0.25
  batch_size: 32
  epochs: 3
  optimizer: {name: sgd, lr: 0.05, momentum: 0.9}
  device: cpu
  seed: 3
  threads: 1
"""


def write_spec(tmp: Path, text: str = MLP, name: str = "tiny_mlp.yaml") -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


# Runs the CLI in a subprocess after patching Trainer.backward to send the process a signal at a step.
KILLER = """
import os, signal, sys
import netspec.train.loop as L
sig, at = int(sys.argv[1]), int(sys.argv[2])
orig = L.Trainer.backward
def backward(self, loss, index=0, params=None):
    orig(self, loss, index, params)
    if self.global_step + 1 == at:
        os.kill(os.getpid(), sig)
L.Trainer.backward = backward
from netspec.cli.main import main
sys.exit(main(sys.argv[3:]))
"""


def run_cli_signalled(sig: int, at_step: int, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLER, str(sig), str(at_step), *args], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout)


def run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]
