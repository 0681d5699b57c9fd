"""Checkpoints: what one holds, writing it atomically, reading it back and restoring a run from it.

A checkpoint stores the model, the optimizers, the schedules, the gradient scaler, every RNG state,
the task's own state and the loop's position and record (``LOOP_FIELDS``), so resuming replays the
remaining batches exactly. It holds only tensors and plain values: it loads with ``weights_only``.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Protocol, Sequence

import torch
import torch.nn as nn

from netspec.backends.torch.weights import FOLDER_FILES
from netspec.core.errors import DataError, UsageError
from netspec.core.types import fmt_shape
from netspec.ir.graph import Graph
from netspec.spec.train import TrainConfig, apply_overrides
from netspec.train.files import CHECKPOINT, require_kind
from netspec.train.runtime import atomic_save, rng_state, set_rng_state, unwrap, unwrap_state, write_atomic

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
               loop: dict[str, Any], threads: int | None = None, layers: list[str] | None = None) -> dict[str, Any]:
    """Everything needed to resume; ``loop`` holds the values of :data:`LOOP_FIELDS`; ``threads``, the
    intra-op threads the run trains with (a resumed run keeps them when it can: on CPU they decide the
    last bits of the results)."""
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
        "threads": threads,
        "layers": list(layers or []),
    }


def layer_lines(graph: Graph) -> list[str]:
    """One line per layer of ``graph`` (name, label, activation, output shape, parameter shapes): what a
    checkpoint records of the layers it was trained with, for a resumed run to compare with its spec."""
    lines = []
    for net in graph.networks.values():
        for n in net.nodes:
            act = f" {n.activation}" if n.activation else ""
            params = "".join(f" {k}{fmt_shape(s)}" for k, s in n.params.items())
            lines.append(f"{net.name}.{n.name}: {n.label}{act} → {fmt_shape(n.out.shape)}{params}")
    return lines


def require_same_layers(state: dict[str, Any], graph: Graph, use: str = "--resume") -> None:
    """Refuse using a checkpoint with a spec whose layers differ from those it was trained with (as the
    checkpoint recorded them, :func:`layer_lines`; older checkpoints record none: their weights' shapes
    are still checked on loading). ``use``: what uses it (``--resume``; ``eval``, ``predict`` and ``export``,
    which would report on or write a network other than the one trained, with its weights).

    Raises:
        UsageError: listing the first layers that differ, the checkpoint's and the spec's."""
    old = state.get("layers")
    if not isinstance(old, list) or not old or not all(isinstance(s, str) for s in old):
        return
    new = layer_lines(graph)
    if old == new:
        return
    shown = []
    for i in range(max(len(old), len(new))):
        a, b = (old[i] if i < len(old) else "(none)"), (new[i] if i < len(new) else "(none)")
        if a != b:
            shown.append(f"    layer {i + 1}: checkpoint {a}\n             spec       {b}")
        if len(shown) == 4:
            break
    hint = ("resume with the spec the checkpoint was trained with, or train this one afresh (--weights CHECKPOINT "
            "starts a new run from its matching weights)" if use == "--resume" else
            "use the spec the checkpoint was trained with; to start this spec from the checkpoint's matching "
            "weights, train it: netspec build SPEC --weights CHECKPOINT")
    raise UsageError(f"{use}: the spec's layers differ from those {state.get('_path')} was trained with:\n"
                     + "\n".join(shown) + f"\n    hint: {hint}")


def require_checkpoint_layers(path: str | Path, graph: Graph, use: str) -> None:
    """:func:`require_same_layers` for a weights file that may be a netspec checkpoint (``export
    --weights``): a plain state dict records no layers and is not compared."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception:
        return  # not a torch file (safetensors), or unreadable: the loader says so
    if isinstance(state, dict) and isinstance(state.get("layers"), list):
        require_same_layers({**state, "_path": str(path)}, graph, use)


def save(state: dict[str, Any], path: Path) -> Path:
    """Write a checkpoint atomically (a crash leaves the previous file whole)."""
    return atomic_save({k: v for k, v in state.items() if not k.startswith("_")}, path)


# What every checkpoint holds, and of which type (a file with the right tag but a field missing or of
# another type is a damaged checkpoint, said so before anything reads it).
FIELDS: dict[str, tuple[type, ...]] = {
    "spec_name": (str, type(None)), "config": (dict,), "model": (dict,), "optimizers": (list,),
    "schedules": (list,), "scaler": (dict, type(None)), "rng": (dict,), "epoch": (int,), "batch": (int,),
    "global_step": (int,), "partial": (dict,), "history": (list,), "best": (float, int, type(None)),
    "best_epoch": (int, type(None)), "bad_epochs": (int,), "task": (dict,),
}


def _damaged(p: Path, what: str) -> DataError:
    return DataError(f"{p}: a damaged netspec checkpoint: {what}\n    hint: use another checkpoint of the run "
                     f"(best.pt or last.pt), or train again")


# fields that earlier checkpoints may lack, with the value that means "nothing yet"
DEFAULTS: dict[str, Any] = {"spec_name": None, "scaler": None, "partial": {}, "history": [], "best": None,
                            "best_epoch": None, "bad_epochs": 0, "task": {}}


def _check_fields(state: dict[str, Any], p: Path) -> None:
    for name, types in FIELDS.items():
        if name not in state and name in DEFAULTS:
            state[name] = type(DEFAULTS[name])() if isinstance(DEFAULTS[name], (dict, list)) else DEFAULTS[name]
        if name not in state:
            raise _damaged(p, f"the field '{name}' is missing")
        value = state[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise _damaged(p, f"the field '{name}' is a {type(value).__name__}")
    for name in ("epoch", "batch", "global_step", "bad_epochs"):
        if state[name] < 0:
            raise _damaged(p, f"the field '{name}' is negative")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state["model"].items()):
        raise _damaged(p, "the model weights are not named tensors")
    if not all(isinstance(r, dict) and isinstance(r.get("epoch"), int) and all(
            isinstance(k, str) and (v is None or isinstance(v, (int, float)) and not isinstance(v, bool))
            for k, v in r.items()) for r in state["history"]):
        raise _damaged(p, "the metric history is not a list of rows")
    if not all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
               for k, v in state["partial"].items()):
        raise _damaged(p, "the means of the epoch in progress are not numbers")
    try:  # the recipe it was trained with: a bad value there is the file's fault, not the user's options
        apply_overrides(state["config"])
    except (UsageError, TypeError, ValueError) as exc:
        why = str(exc).removeprefix("invalid training option: ").replace("train: ", "")
        raise _damaged(p, f"its training recipe ('config') does not validate: {why}") from None


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint file (or a run directory's ``last.pt``), with ``_path`` added (and ``_picked``:
    the file taken from a run directory).

    Raises:
        UsageError: there is no file there.
        DataError: the file is not a readable, whole netspec checkpoint.
    """
    p = Path(path)
    picked = None
    if p.is_dir():
        if not (p / "last.pt").is_file():
            best = p / "best.pt"
            if (p / "config.yaml").is_file() and not best.is_file():  # a build stopped before its first save
                raise UsageError(f"{p} holds a run that saved no checkpoint (it stopped before the end of its "
                                 "first epoch): there is nothing to continue\n    hint: build again with a new "
                                 f"--out directory, or remove {p} and build into it")
            raise UsageError(f"{p} is a folder but not a run directory: it holds no last.pt"
                             + (f" (a best.pt: give the file, {best})" if best.is_file() else " or best.pt")
                             + "\n    hint: give a checkpoint file, or a run directory `netspec build` wrote "
                               "(runs/<spec>/<time>, or its --out)")
        p = p / "last.pt"
        picked = p.name
    if not p.is_file():
        raise UsageError(f"no checkpoint at {p}" if not p.exists() else f"{p} is not a checkpoint file")
    require_kind(p, CHECKPOINT)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        # the reason without the loader's text, which may quote the file's bytes
        why = ("it holds objects other than tensors and plain values, which are not loaded (unpickling runs "
               "code)" if "weights_only" in str(exc).lower() or "weights only" in str(exc).lower()
               else f"truncated or damaged ({type(exc).__name__})")
        raise DataError(f"{p}: not a readable netspec checkpoint: {why}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{p}: not a netspec checkpoint (written by `netspec build`)")
    _check_fields(state, p)
    state["_path"] = str(p)
    state["_picked"] = picked
    return state


WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")  # torch.save's by convention, Hugging Face's


def weights_file(path: str | Path, given_by: str = "--weights") -> Path:
    """The file that ``--weights PATH`` (a spec's ``weights:``, ``export --weights``) loads: ``PATH`` itself, or
    for a folder the first of :data:`~netspec.backends.torch.weights.FOLDER_FILES` it holds (as the loader reads
    a folder: a run directory's ``last.pt``, a Hugging Face folder's ``model.safetensors``). A folder without
    one is refused saying what was looked for, what the folder holds instead and what to give; a path to
    nothing, saying so. ``given_by``: the flag or the place that gave the path.

    Raises:
        UsageError: no such file or folder, or a folder without weights the loader reads."""
    p = Path(path)
    if p.is_file():
        return p
    if not p.is_dir():
        raise UsageError(f"{given_by} {path}: no such file or folder\n    hint: give a weights file (a .pt/.pth "
                         "state dict, torch.save(model.state_dict(), path), a .safetensors file or a netspec "
                         "checkpoint) or a run directory `netspec build` wrote")
    known = next((p / name for name in FOLDER_FILES if (p / name).is_file()), None)
    if known is not None:
        return known
    try:
        entries = sorted(p.iterdir(), key=lambda f: f.name)
    except OSError as exc:
        raise UsageError(f"{given_by} {path}: cannot read the folder: {exc.strerror}") from None
    found = [f for f in entries if f.suffix.lower() in WEIGHT_SUFFIXES and f.is_file()]
    holds = ("it is empty" if not entries else f"it holds {_listed([f.name for f in found])}" if found
             else f"it holds no {', '.join(WEIGHT_SUFFIXES[:-1])} or {WEIGHT_SUFFIXES[-1]} file")
    pick = next((f for f in found if f.name == "best.pt"), found[0] if found else None)
    how = (f"{given_by}={pick}" if given_by.startswith("--set ") else f"{given_by} {pick}"
           if given_by.startswith("--") else f"weights: {pick}")  # a flag, --set, a spec's key
    hint = (f"give the file itself: {how}" if pick is not None else
            "give the weights file itself (a .pt/.pth state dict, a .safetensors file or a netspec checkpoint), or a "
            "run directory `netspec build` wrote (runs/<spec>/<time>, which holds last.pt)")
    raise UsageError(f"{given_by} {path}: a folder, but not a run directory: looked in it for last.pt (the "
                     "checkpoint `netspec build` writes at the end of every epoch) and for a Hugging Face folder's "
                     f"{', '.join(FOLDER_FILES[1:])}; {holds}\n    hint: {hint}")


def _listed(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_model_state(model: nn.Module, state: dict[str, Any]) -> None:
    """Load a checkpoint's weights into the compiled spec.

    Raises:
        UsageError: they do not fit (another architecture under the same spec name): every difference
            (missing, unexpected, other shapes) is named.
    """
    m = unwrap(model)
    have = m.state_dict()
    saved: dict[str, torch.Tensor] = state["model"]
    missing = [k for k in have if k not in saved]
    extra = [k for k in saved if k not in have]
    shapes = [f"{k}: {fmt_shape(tuple(saved[k].shape))} in the checkpoint, {fmt_shape(tuple(have[k].shape))} "
              f"in the spec" for k in have if k in saved and tuple(saved[k].shape) != tuple(have[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing from the checkpoint: {_listed(missing)}")
    if extra:
        problems.append(f"not in the spec: {_listed(extra)}")
    problems += shapes[:4] + ([f"… and {len(shapes) - 4} more of other shapes"] if len(shapes) > 4 else [])
    if not problems:
        try:
            m.load_state_dict(saved)
            return
        except (RuntimeError, ValueError, TypeError) as exc:
            problems.append(" ".join(str(exc).split())[:500])
    raise UsageError(f"{state.get('_path')}: the checkpoint does not fit the networks of spec "
                     f"'{state.get('spec_name')}' as it is now (was it written for another version of the spec?)\n"
                     + "\n".join(f"    {p}" for p in problems)
                     + "\n    hint: use the spec the checkpoint was trained with, or train this one afresh")


def restore(state: dict[str, Any], model: nn.Module, optimizers: Sequence[Stateful], schedules: Sequence[Stateful],
            scaler: Stateful | None, device: torch.device, task: Stateful) -> dict[str, Any]:
    """Load a checkpoint into the run's parts in place; returns the loop's position and record
    (the :data:`LOOP_FIELDS` but ``monitor``, which the run decides afresh).

    Raises:
        UsageError: the checkpoint does not fit this spec's networks or this task's optimizers.
        DataError: a part of it cannot be restored (a damaged checkpoint).
    """
    load_model_state(model, state)
    p = Path(str(state.get("_path")))
    if len(state["optimizers"]) != len(optimizers) or len(state["schedules"]) != len(schedules):
        raise UsageError(f"{p}: the checkpoint has {len(state['optimizers'])} optimizers, "
                         f"this task uses {len(optimizers)}")
    part = "optimizer state"
    try:
        for o, s in zip(optimizers, state["optimizers"]):
            need = set(getattr(o, "defaults", {}))
            if not all(need <= set(g) for g in s["param_groups"]):
                raise UsageError(f"{p}: the checkpoint's optimizer state is not for {type(o).__name__} (the run was "
                                 f"trained with another optimizer)\n    hint: resume with the run's own optimizer")
            o.load_state_dict(s)
        part = "learning-rate schedules"
        for sch, s in zip(schedules, state["schedules"]):
            sch.load_state_dict(s)
        part = "gradient scaler"
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        part = "task state"
        task.load_state_dict(state.get("task") or {})
        part = "random number generators"
        set_rng_state(state["rng"], device)
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError, AttributeError) as exc:
        raise _damaged(p, f"its {part} cannot be restored ({type(exc).__name__})") from None
    return {"epoch": state["epoch"], "batch": state["batch"], "global_step": state["global_step"],
            "partial": dict(state["partial"]), "history": list(state["history"]),
            "best": state["best"], "best_epoch": state["best_epoch"], "bad_epochs": state["bad_epochs"]}


def epoch_of(path: Path) -> int | None:
    """The epoch a checkpoint file holds; None when there is none or it cannot be read."""
    try:
        return int(load_checkpoint(path)["epoch"])
    except (DataError, UsageError, OSError):
        return None


def position_of(path: Path) -> str | None:
    """Where the run stood when a checkpoint file was written ("epoch 3", "epoch 2, step 5"); None
    when it cannot be read."""
    try:
        state = load_checkpoint(path)
    except (DataError, UsageError, OSError):
        return None
    if state["batch"]:
        return f"epoch {state['epoch'] + 1}, step {state['batch']}"
    return f"end of epoch {state['epoch']}"


def copy_file(source: Path, path: Path) -> Path:
    """Copy a checkpoint file byte for byte, atomically (see :func:`write_atomic`)."""
    def write(f: BinaryIO) -> None:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, f, 1 << 20)

    return write_atomic(path, write)


def repair_best(out_dir: Path, state: dict[str, Any]) -> str | None:
    """Make ``best.pt`` of a resumed run hold the epoch the resumed checkpoint says it does.

    ``last.pt`` is written before ``best.pt``; a build killed between the two leaves ``best.pt`` one
    improvement behind, while ``last.pt`` (which records the best epoch) holds the best model: then
    ``best.pt`` is copied from it. Resuming into another directory, the resumed run's ``best.pt`` is
    copied. ``state``: the resumed checkpoint's ``epoch``, ``batch``, ``best_epoch`` and ``_path``.
    Returns a note for the log, or None when nothing was to be done.
    """
    best_epoch = state.get("best_epoch")
    path = out_dir / "best.pt"
    if best_epoch is None:
        return None
    have = epoch_of(path)
    if have == best_epoch:
        return None
    resumed = Path(str(state["_path"]))
    if state["epoch"] == best_epoch and state["batch"] == 0:
        copy_file(resumed, path)
        return (f"note: best.pt did not hold the best epoch ({best_epoch}; a build stopped between writing "
                f"last.pt and best.pt): copied from {resumed.name}")
    source = resumed.parent / "best.pt"
    if source.resolve() != path.resolve() and epoch_of(source) == best_epoch:
        copy_file(source, path)
        return f"note: best.pt (epoch {best_epoch}) copied from {source}"
    return ("warning: best.pt holds " + (f"epoch {have}" if have is not None else "nothing")
            + f", not the best epoch {best_epoch}; it is written again at the next improvement")


def weight_scale(model: nn.Module) -> float:
    """The largest magnitude among the floating-point parameters (at least 1): the scale
    :func:`weights_problem` measures growth against."""
    with torch.no_grad():
        tops = [p.detach().abs().amax().float() for p in unwrap(model).parameters()
                if p.is_floating_point() and p.numel()]
        top = float(torch.stack(tops).max()) if tops else 1.0
    return max(1.0, top) if math.isfinite(top) else 1.0


EXPLODED = 1e6  # parameters this many times their initial scale have exploded: the run diverged


def weights_problem(model: nn.Module, scale: float) -> str | None:
    """Why the model's state is not a good checkpoint: non-finite parameters or buffers, or parameters
    grown over :data:`EXPLODED` times ``scale``; None when it is fine (one device synchronisation)."""
    m = unwrap(model)
    named = [(n, t.detach(), True) for n, t in m.named_parameters()] + \
        [(n, t.detach(), False) for n, t in m.named_buffers()]
    named = [entry for entry in named if entry[1].is_floating_point() and entry[1].numel()]
    if not named:
        return None
    with torch.no_grad():
        tops = torch.stack([t.abs().amax().float() for _, t, _ in named]).cpu().tolist()
    for (name, _, _), top in zip(named, tops):
        if not math.isfinite(top):
            return f"the weights became non-finite ({name})"
    for (name, _, param), top in zip(named, tops):
        if param and top > EXPLODED * scale:
            return (f"the weights exploded ({name} reached {top:.3g}, over {EXPLODED:.0e} times their initial "
                    f"scale {scale:.3g})")
    return None
