"""Library entry points behind ``netspec build``, ``netspec eval`` and ``netspec predict``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Sequence

import torch

from netspec.api import Source, analyze
from netspec.core.errors import DataError, UsageError
from netspec.spec.train import TrainConfig, apply_overrides
from netspec.train import data as D
from netspec.train import output
from netspec.train.checkpoint import load_checkpoint
from netspec.train.loop import Trainer
from netspec.train.runtime import seed_everything, unwrap
from netspec.train.tasks.base import step_failure


def _spec_file(source: Source) -> str | None:
    return str(source) if isinstance(source, (str, os.PathLike)) and os.path.exists(str(source)) else None


def default_run_dir(name: str, root: str | Path = "runs") -> Path:
    base = Path(root) / name
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = base / stamp
    i = 1
    while out.exists():
        i += 1
        out = base / f"{stamp}-{i}"
    return out


def prepare(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None,
            resume: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
            progress: bool | None = None, quiet: bool = False, write: bool = True,
            checkpoint: dict[str, Any] | None = None) -> Trainer:
    """Load the spec, merge the recipe with the overrides, compile the model and build a Trainer."""
    graph = analyze(source)
    state = load_checkpoint(resume) if resume is not None else checkpoint
    if state is not None and state.get("spec_name") not in (None, graph.name):
        raise UsageError(f"{state.get('_path')}: the checkpoint is from spec '{state['spec_name']}', "
                         f"not '{graph.name}'")
    base: TrainConfig | dict[str, Any] | None = graph.train
    if state is not None:
        base = state["config"]
    cfg = apply_overrides(base, flags, sets)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)  # before compiling: the initial weights depend on the seed
    from netspec.backends.torch.compile import compile_graph

    model = compile_graph(graph)
    loaded = None
    if cfg.weights is not None and state is None:  # a resumed run or a checkpoint brings its own weights
        from netspec.backends.torch.weights import load_weights

        loaded = load_weights(model, cfg.weights.path, partial=cfg.weights.partial)
    out_dir: Path | None = None
    if write:
        if out is not None:
            out_dir = Path(out)
        elif resume is not None:
            out_dir = Path(state["_path"]).parent  # type: ignore[index]
        else:
            out_dir = default_run_dir(graph.name)
    trainer = Trainer(graph, model, cfg, out_dir, progress=progress, quiet=quiet,
                      resume=state if resume is not None else None, spec_file=_spec_file(source))
    if loaded is not None:
        trainer.log(loaded.table())
    return trainer


def train(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None,
          out: str | os.PathLike[str] | None = None, resume: str | os.PathLike[str] | None = None,
          progress: bool | None = None, quiet: bool = False) -> dict[str, Any]:
    """Compile a spec and train it; returns the run summary (also written to ``summary.json``).

    Args:
        source: spec path or text (or a loaded Spec/Graph).
        flags: command-line overrides by flag name (``{"epochs": 3, "lr": 1e-3}``).
        sets: ``KEY=VALUE`` overrides of any ``train:`` field (``optimizer.betas=[0.9,0.99]``).
        out: run directory (default ``runs/<spec name>/<timestamp>``).
        resume: a checkpoint or run directory to continue from.
    """
    trainer = prepare(source, flags, sets, resume, out, progress, quiet)
    trainer.log(f"{trainer.graph.name}: task {trainer.task.name}, data {trainer.data.description}: "
                f"{len(trainer.data.train)} train / {len(trainer.data.val) if trainer.data.val is not None else 0} "
                f"val samples, device {trainer.device}"
                + (f" × {trainer.world} processes" if trainer.world > 1 else "")
                + (f", run directory {trainer.out_dir}" if trainer.out_dir else ""))
    try:
        summary = trainer.fit()
    finally:
        if trainer.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    summary["report"] = output.report(trainer, summary)
    return summary


DRY_RUN_BIG_INPUT = 16384  # input elements per sample above which a dry run prepares only a subset


def dry_run(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None) -> dict[str, Any]:
    """Check spec, recipe and data, and run one batch forward and backward (no step, no files).

    For large inputs (e.g. digits resized to 224×224×3 for the ImageNet nets) only enough samples for
    one batch are prepared (unless ``subset`` is given): the data set would otherwise be resized whole."""
    flags = dict(flags or {})
    subset = None
    if flags.get("subset") is None and not any(s.split("=", 1)[0].strip().removeprefix("train.") == "data.subset"
                                               for s in sets or []):
        graph = analyze(source)
        cfg = apply_overrides(graph.train, flags, sets)
        x = next(iter(next(iter(graph.networks.values())).inputs.values()))
        numel = 1
        for d in x.shape:
            numel *= d if isinstance(d, int) else 1
        if numel > DRY_RUN_BIG_INPUT and cfg.data.subset is None:
            subset = int(cfg.batch_size / max(1e-9, 1 - cfg.val_split)) + 2
            flags["subset"] = subset
    trainer = prepare(source, flags, sets, write=False, quiet=True)
    if subset is not None and len(trainer.data.train) + len(trainer.data.val or ()) > subset:
        subset = None  # the data source does not take subsets: everything was prepared
    batch = next(iter(trainer.batches(trainer.data.train, True, 0)))
    for net in trainer.task.nets.values():
        net.train()
    for m in trainer.model.modules():
        m.train()
    task = trainer.task
    try:
        loss = task.dry_step(trainer, batch)
    except Exception as exc:
        err = step_failure(task, batch, exc, "the first batch of the dry run")
        if err is None:
            raise
        raise err from None
    for o in trainer.optimizers:
        o.zero_grad(set_to_none=True)
    if not torch.isfinite(loss):
        raise DataError(f"the first batch gives a {float(loss)} loss; check the data and the spec")
    return {
        "spec": trainer.graph.name, "task": trainer.task.name, "data": trainer.data.description,
        "train_samples": len(trainer.data.train),
        "val_samples": len(trainer.data.val) if trainer.data.val is not None else 0,
        "dry_run_subset": subset,
        "batch_shapes": [tuple(t.shape) for t in batch], "batch_dtypes": [str(t.dtype).replace("torch.", "") for t in batch],
        "loss": float(loss.detach()), "loss_name": getattr(trainer.task, "loss_name", "?"),
        "device": str(trainer.device), "steps_per_epoch": trainer.steps_per_epoch,
        "config": trainer.cfg.dump(),
    }


def evaluate(source: Source, checkpoint: str | os.PathLike[str], flags: dict[str, Any] | None = None,
             sets: list[str] | None = None) -> dict[str, Any]:
    """Metrics of a checkpoint on the validation split, or on a whole data set given with ``--data``."""
    state = load_checkpoint(checkpoint)
    flags = dict(flags or {})
    whole = flags.get("data") is not None
    if whole:
        flags["val_split"] = 0.0
    trainer = prepare(source, flags, sets, write=False, quiet=True, checkpoint=state)
    unwrap(trainer.model).load_state_dict(state["model"])
    data = trainer.data.train if whole or trainer.data.val is None else trainer.data.val
    metrics = trainer.evaluate(data)
    return {"checkpoint": state["_path"], "epoch": state["epoch"], "data": trainer.data.description,
            "split": "all" if whole or trainer.data.val is None else "validation", "samples": len(data), **metrics}


def load_inputs(paths: Sequence[str], trainer: Trainer) -> torch.Tensor:
    """Files (images, .npy/.npz/.pt, .csv rows) or comma-separated numbers -> a batch for the input."""
    want = trainer.task.input_type
    rows: list[torch.Tensor] = []
    for p in paths:
        path = Path(p)
        if path.suffix.lower() in D.IMAGE_SUFFIXES:
            import numpy as np
            from PIL import Image

            if not path.exists():
                raise DataError(f"{p}: no such file")
            with Image.open(path) as im:
                c = want.shape[0] if len(want.shape) == 3 and isinstance(want.shape[0], int) else 1
                a = np.asarray(im.convert("L" if c == 1 else "RGB"), dtype=np.float32) / 255.0
            t = torch.from_numpy(a)
            t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
            rows.append(D.fit_images(t, want, trainer.task.input_name, True, "image"))
        elif path.suffix.lower() in (".npy", ".npz", ".pt", ".pth"):
            x, _ = D.load_file(p)
            if tuple(x.shape) == tuple(d for d in want.shape if isinstance(d, int)) and len(x.shape) == len(want.shape):
                x = x[None]
            rows.append(D.check_fit(x, want, trainer.task.input_name))
        elif path.suffix.lower() == ".csv":
            x = _csv_rows(p)
            rows.append(D.check_fit(x, want, trainer.task.input_name))
        elif (parsed := trainer.task.parse_input(p)) is not None:
            rows.append(parsed)
        else:
            try:
                values = [float(v) for v in p.replace(" ", ",").split(",") if v]
            except ValueError:
                raise DataError(f"'{p}' is neither a file (image, .npy, .npz, .pt, .csv) nor comma-separated numbers") from None
            x = torch.tensor(values)[None]
            if want.dtype == "long":
                x = x.long()
            if len(want.shape) > 1 and all(isinstance(d, int) for d in want.shape):
                x = x.reshape(1, *want.shape) if x.numel() == _prod(want.shape) else x
            rows.append(D.check_fit(x, want, trainer.task.input_name))
    return torch.cat(rows)


def _prod(shape: Sequence[Any]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _csv_rows(path: str) -> torch.Tensor:
    import numpy as np

    try:
        a = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float32)
    except ValueError:
        a = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float32, skiprows=1)
    return torch.from_numpy(a)


@torch.no_grad()
def predict(source: Source, checkpoint: str | os.PathLike[str], inputs: Sequence[str] = (),
            first: int | None = None) -> list[str]:
    """Outputs for a few inputs (files or numbers), or the first N validation samples."""
    state = load_checkpoint(checkpoint)
    trainer = prepare(source, None, None, write=False, quiet=True, checkpoint=state)
    unwrap(trainer.model).load_state_dict(state["model"])
    for net in trainer.task.nets.values():
        net.eval()
    lines: list[str] = []
    if first:
        data = trainer.data.val if trainer.data.val is not None else trainer.data.train
        batch = next(iter(trainer.batches(data, False, 0, batch_size=first)))
        n_in = getattr(trainer.task, "n_inputs", 1)
        out = trainer.task.predict(*batch[:n_in])
        desc = trainer.task.describe_prediction(out)
        for i, line in enumerate(desc):
            truth = f"  [target {int(batch[n_in][i])}]" if len(batch) > n_in and batch[n_in].dim() == 1 and \
                not batch[n_in].is_floating_point() else ""
            lines.append(f"sample {i}: {line}{truth}")
    if inputs:
        x = load_inputs(inputs, trainer).to(trainer.device)
        for name, line in zip(inputs, trainer.task.describe_prediction(trainer.task.predict(x))):
            lines.append(f"{name}: {line}")
    if not lines:
        raise UsageError("give INPUTS (files or comma-separated numbers) or --first N")
    return lines
