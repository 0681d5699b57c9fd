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


# --- faults in a forked child (tests/test_train_faults.py) ------------------------------------------------
def forkserver():
    """A multiprocessing context whose children fork from a server that has imported torch and netspec
    once (a fresh interpreter per case would spend seconds on imports)."""
    import multiprocessing
    from multiprocessing import forkserver as server

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["torch", "torch._dynamo", "numpy", "sklearn.datasets", "matplotlib.pyplot", "PIL.Image",
                                "netspec.train.api", "netspec.cli.main", "netspec.train.plots", "train_support"])
    # the server imports them with its own sys.path: this tree's netspec and these helpers come first
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "MPLBACKEND")}
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), *filter(None, [saved["PYTHONPATH"]])])
    os.environ["MPLBACKEND"] = "Agg"
    try:
        server.ensure_running()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return ctx


def fault_child(kill: dict, argv: list[str], result: str) -> None:
    """Run ``netspec`` with ``argv`` and SIGKILL this process at ``kill``:

    - ``{"step": s}``: right after optimizer step ``s`` (1-based);
    - ``{"saved": name, "epoch": e}``: right after ``name`` (last.pt/best.pt) was written at the end of epoch ``e``;
    - ``{"rename": n}``: inside the n-th checkpoint write, after its temporary file is written, before the rename;
    - ``{"fsize": bytes}``: no kill: files may not grow past ``bytes`` (a full disk: EFBIG).

    Writes the exit code and stderr to ``result`` when it ends without being killed."""
    import contextlib
    import io
    import json
    import resource

    import netspec
    import netspec.train.loop as L
    from netspec.cli.main import main

    assert Path(netspec.__file__).resolve().is_relative_to(ROOT), netspec.__file__  # this tree's code
    torch.set_num_threads(1)
    if "step" in kill:
        orig_backward = L.Trainer.backward

        def backward(self, loss, index=0, params=None):
            orig_backward(self, loss, index, params)
            if self.global_step + 1 == kill["step"]:
                os.kill(os.getpid(), 9)

        L.Trainer.backward = backward
    if "saved" in kill:
        orig_save = L.Trainer.save

        def save(self, name):
            path = orig_save(self, name)
            if name == kill["saved"] and self.batch == 0 and self.epoch == kill["epoch"]:
                os.kill(os.getpid(), 9)
            return path

        L.Trainer.save = save
    if "rename" in kill:
        orig_replace = os.replace
        count = [0]

        def replace(src, dst):
            if str(dst).endswith(".pt"):
                count[0] += 1
                if count[0] == kill["rename"]:
                    os.kill(os.getpid(), 9)
            return orig_replace(src, dst)

        os.replace = replace  # this child's own os module: it dies here anyway
    if "fsize" in kill:
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (kill["fsize"], resource.RLIM_INFINITY))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    if "fsize" in kill:
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    with open(result, "w", encoding="utf-8") as f:
        json.dump({"rc": rc, "stderr": err.getvalue()}, f)


def run_fault(ctx, kill: dict, argv: list[str], result: Path, timeout: float = 120) -> int:
    """Run :func:`fault_child` in a forked child; its exit code (−9 when killed)."""
    p = ctx.Process(target=fault_child, args=(kill, argv, str(result)))
    p.start()
    p.join(timeout)
    if p.is_alive():
        p.kill()
        p.join()
        raise TimeoutError(f"fault child {kill} ran over {timeout} s")
    return p.exitcode


# a 3-feature regression/classification net and a two-input net, for the data-file tests
MLP3 = """
name: mlp
input: [3]
layers:
  - dense: {units: 4, activation: relu}
  - dense: 1
train: {epochs: 1, batch_size: 16, device: cpu, seed: 0, threads: 1}
"""

TWO_INPUTS = """
name: two
networks:
  main:
    inputs:
      a: [4]
      b: [3]
    layers:
      - concat: {from: [a, b]}
      - dense: 3
train: {epochs: 1, batch_size: 8, device: cpu, seed: 0, threads: 1, val_split: 0.25}
"""
