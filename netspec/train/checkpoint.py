"""Checkpoints: what one holds, writing it atomically, reading it back and restoring a run from it.

A checkpoint stores the model, the optimizers, the schedules, the gradient scaler, every RNG state,
the task's own state and the loop's position and record (``LOOP_FIELDS``), so resuming replays the
remaining batches exactly. It holds only tensors and plain values: it loads with ``weights_only``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, Sequence

import torch
import torch.nn as nn

from netspec.core.errors import DataError, UsageError
from netspec.spec.train import TrainConfig
from netspec.train.runtime import atomic_save, rng_state, set_rng_state, unwrap, unwrap_state

CHECKPOINT_FORMAT = "netspec-checkpoint-1"

# The loop's position (epoch, batch done in it, global step, the partial means of that epoch) and its
# record (history, best value, early-stopping count), in the order a checkpoint lists them.
LOOP_FIELDS = ("epoch", "batch", "global_step", "partial", "history", "best", "best_epoch", "bad_epochs",
               "monitor")


class Stateful(Protocol):
    """Anything with a torch-style state (optimizers, schedules, the scaler, a task)."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


def make_state(spec_name: str, cfg: TrainConfig, model: nn.Module, optimizers: Sequence[Stateful],
               schedules: Sequence[Stateful], scaler: Stateful | None, device: torch.device, task: Stateful,
               loop: dict[str, Any]) -> dict[str, Any]:
    """Everything needed to resume; ``loop`` holds the values of :data:`LOOP_FIELDS`."""
    return {
        "format": CHECKPOINT_FORMAT,
        "spec_name": spec_name,
        "config": cfg.dump(),
        "model": unwrap_state(model),
        "optimizers": [o.state_dict() for o in optimizers],
        "schedules": [s.state_dict() for s in schedules],
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": rng_state(device),
        "epoch": loop["epoch"], "batch": loop["batch"], "global_step": loop["global_step"],
        "partial": dict(loop["partial"]),
        "history": [dict(r) for r in loop["history"]],
        "best": loop["best"], "best_epoch": loop["best_epoch"], "bad_epochs": loop["bad_epochs"],
        "monitor": loop["monitor"],
        "task": task.state_dict(),
        "torch_version": str(torch.__version__),
    }


def save(state: dict[str, Any], path: Path) -> Path:
    """Write a checkpoint atomically (a crash leaves the previous file whole)."""
    atomic_save(state, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint file (or a run directory's ``last.pt``), with ``_path`` added.

    Raises:
        UsageError: there is no file there.
        DataError: the file is not a readable netspec checkpoint.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "last.pt"
    if not p.exists():
        raise UsageError(f"no checkpoint at {p}")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise DataError(f"{p}: not a readable netspec checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{p}: not a netspec checkpoint (written by `netspec build`)")
    state["_path"] = str(p)
    return state


def restore(state: dict[str, Any], model: nn.Module, optimizers: Sequence[Stateful], schedules: Sequence[Stateful],
            scaler: Stateful | None, device: torch.device, task: Stateful) -> dict[str, Any]:
    """Load a checkpoint into the run's parts in place; returns the loop's position and record
    (the :data:`LOOP_FIELDS` but ``monitor``, which the run decides afresh).

    Raises:
        UsageError: the checkpoint does not fit this spec's networks or this task's optimizers.
    """
    try:
        unwrap(model).load_state_dict(state["model"])
    except RuntimeError as exc:
        raise UsageError(f"{state.get('_path')}: the checkpoint does not fit this spec's networks: "
                         f"{str(exc).splitlines()[0]}") from None
    if len(state["optimizers"]) != len(optimizers):
        raise UsageError(f"{state.get('_path')}: the checkpoint has {len(state['optimizers'])} optimizers, "
                         f"this task uses {len(optimizers)}")
    for o, s in zip(optimizers, state["optimizers"]):
        o.load_state_dict(s)
    for sch, s in zip(schedules, state["schedules"]):
        sch.load_state_dict(s)
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    loop = {"epoch": state["epoch"], "batch": state["batch"], "global_step": state["global_step"],
            "partial": dict(state.get("partial") or {}), "history": list(state.get("history") or []),
            "best": state.get("best"), "best_epoch": state.get("best_epoch"),
            "bad_epochs": state.get("bad_epochs", 0)}
    task.load_state_dict(state.get("task") or {})
    set_rng_state(state["rng"], device)
    return loop
