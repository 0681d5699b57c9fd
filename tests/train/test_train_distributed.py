"""The same `netspec build` under torchrun: DDP over 2 gloo processes on CPU matches one process
training on the same global batches (DistributedSampler interleaving; gradients averaged)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import torch
from train_support import ROOT, env, weights, write_spec

from netspec.train import api

SPEC = """
name: ddp_mlp
input: [64]
layers:
  - dense: {units: 32, activation: tanh}
  - dense: 10
train:
  data: {name: digits, subset: 512}
  val_split: 0.25
  batch_size: 32
  epochs: 2
  optimizer: {name: sgd, lr: 0.1, momentum: 0.9}
  device: cpu
  seed: 5
  threads: 1
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch.distributed with gloo is not available")
def test_two_gloo_processes_match_single_process(tmp_path):
    spec = write_spec(tmp_path, SPEC, "ddp_mlp.yaml")
    single = tmp_path / "single"
    api.train(spec, out=single, quiet=True)
    ddp = tmp_path / "ddp"
    e = env()
    e["OMP_NUM_THREADS"] = "1"
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
                        "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
                        str(ROOT / "cli.py"), "build", str(spec), "--out", str(ddp), "--json"],
                       cwd=ROOT, env=e, capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-4000:]
    assert '"world_size": 2' in p.stdout  # rank 0 reports; rank 1 stays quiet
    assert p.stdout.count('"world_size"') == 1
    a, b = weights(single / "last.pt"), weights(ddp / "last.pt")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5, msg=k)
    rows = (ddp / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3
