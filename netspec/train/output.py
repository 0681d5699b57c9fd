"""What a run reports and writes: the per-epoch line, the summary, and the run directory's files
(config.yaml, metrics.csv, summary.json, plots, TensorBoard).

Plain functions of a :class:`netspec.train.loop.Trainer`: they read its state and change none of it."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from netspec.train.checkpoint import repair_best
from netspec.train.runtime import file_error, make_dirs, write_atomic, write_text_atomic


def epoch_line(trainer: Any, row: dict[str, Any], stats: dict[str, Any]) -> None:
    parts = [f"epoch {row['epoch']:>{len(str(trainer.cfg.epochs))}}/{trainer.cfg.epochs}",
             f"train_loss {row['train_loss']:.4f}"]
    if "train_accuracy" in row:
        parts.append(f"train_acc {row['train_accuracy']:.2%}")
    for k, v in row.items():
        if k.startswith("train_") and k not in ("train_loss", "train_accuracy") and isinstance(v, float):
            parts.append(f"{k[6:]} {v:.4f}")
    if "val_loss" in row:
        parts.append(f"val_loss {row['val_loss']:.4f}")
    if "val_accuracy" in row:
        parts.append(f"val_acc {row['val_accuracy']:.2%}")
    parts.append(f"lr {row['lr']:.3g}")
    parts.append(f"{stats.get('_throughput', 0):,.0f} samples/s")
    parts.append(f"{stats.get('_time', 0):.1f}s")
    trainer.log("  ".join(parts))


def summary(trainer: Any, elapsed: float, stopped_early: bool) -> dict[str, Any]:
    last = trainer.history[-1] if trainer.history else {}
    return {
        "spec": trainer.graph.name, "task": trainer.task.name, "epochs": trainer.epoch,
        "time_s": round(elapsed, 2), "train_time_s": round(trainer.train_time, 2),
        "samples_per_s": round(trainer.train_samples / trainer.train_time, 1) if trainer.train_time else None,
        "monitor": trainer.monitor, "best": trainer.best, "best_epoch": trainer.best_epoch,
        "final": {k: v for k, v in last.items() if k not in ("epoch",)},
        "out_dir": str(trainer.out_dir) if trainer.out_dir else None, "stopped_early": stopped_early,
        "device": str(trainer.device), "world_size": trainer.world, "data": trainer.data.description,
    }


def report(trainer: Any, summary: dict[str, Any]) -> str:
    lines = [f"trained {summary['spec']} ({summary['task']}) for {summary['epochs']} "
             f"epoch{'' if summary['epochs'] == 1 else 's'} in "
             f"{summary['time_s']:.1f} s on {summary['device']}"
             + (f" × {summary['world_size']} processes" if summary["world_size"] > 1 else "")
             + (f", {summary['samples_per_s']:,.0f} samples/s" if summary.get("samples_per_s") else "")]
    if summary["best"] is not None:
        best = summary["best"]
        shown = f"{best:.2%}" if summary["monitor"].endswith("accuracy") else f"{best:.4f}"
        lines.append(f"best {summary['monitor']}: {shown} (epoch {summary['best_epoch']})")
    if summary["out_dir"]:
        d = summary["out_dir"]
        files = [f for f in ("metrics.csv", "curves.png", "samples.png", "last.pt", "best.pt", "config.yaml")
                 if (Path(d) / f).exists()]
        lines.append(f"run directory: {d}  ({', '.join(files)})")
    return "\n".join(lines)


def prepare_dir(trainer: Any) -> None:
    """Before the first epoch: the directory exists; a resumed run's best.pt holds the best epoch and its
    summary (of a finished run) is gone until the run finishes again; config.yaml is written."""
    out: Path = trainer.out_dir
    make_dirs(out)
    if trainer.resumed is not None:
        note = repair_best(out, trainer.resumed)
        if note:
            trainer.log(note)
        stale = out / "summary.json"
        if stale.is_file() or stale.is_symlink():
            try:
                stale.unlink()
            except OSError as exc:
                raise file_error(exc, stale, "remove") from None
    write_config(trainer)


def write_config(trainer: Any) -> None:
    import yaml

    assert trainer.out_dir is not None
    resolved = {"spec": trainer.spec_file, "spec_name": trainer.graph.name, "task": trainer.task.name,
                "data": trainer.data.description, "device": str(trainer.device), "threads": trainer.threads.threads,
                "world_size": trainer.world,
                "train": trainer.cfg.dump()}
    resolved["train"]["task"]["name"] = trainer.task.name
    resolved["train"]["data"]["name"] = getattr(trainer.task, "data_name", resolved["train"]["data"]["name"])
    resolved["train"]["loss"] = getattr(trainer.task, "loss_name", resolved["train"]["loss"])
    ran = getattr(trainer, "precision", None)  # what ran, not what was asked (fp16 off CUDA runs in fp32)
    if ran is not None and ran != resolved["train"]["precision"]:
        resolved["precision_asked"] = resolved["train"]["precision"]
        resolved["train"]["precision"] = ran
    write_text_atomic(trainer.out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True))


def write_metrics(trainer: Any) -> None:
    assert trainer.out_dir is not None
    keys: list[str] = []
    for row in trainer.history:
        for k in row:
            if k not in keys:
                keys.append(k)
    order = ["epoch", "train_loss", "val_loss", "val_accuracy"]
    keys = [k for k in order if k in keys] + [k for k in keys if k not in order]
    text = io.StringIO(newline="")
    w = csv.DictWriter(text, fieldnames=keys)
    w.writeheader()
    for row in trainer.history:
        w.writerow({k: (f"{row[k]:.6g}" if isinstance(row.get(k), float) else row.get(k, "")) for k in keys})
    write_text_atomic(trainer.out_dir / "metrics.csv", text.getvalue())


def write_outputs(trainer: Any, summary: dict[str, Any]) -> None:
    """The files of a finished run: the plots and samples first, the summary last (it marks the run done)."""
    assert trainer.out_dir is not None
    out: Path = trainer.out_dir
    try:
        from netspec.train.plots import plot_curves, save_grid

        if trainer.history:
            write_atomic(out / "curves.png", lambda f: plot_curves(trainer.history, f, trainer.graph.name))
        if hasattr(trainer.task, "write_artifacts"):
            trainer.task.write_artifacts(trainer, out)
        if trainer.task.GENERATIVE:
            shown = trainer.data.val if trainer.data.val is not None else trainer.data.train
            imgs = trainer.task.sample_images(trainer, shown)
            if imgs is not None:
                write_atomic(out / "samples.png", lambda f: save_grid(imgs, f))
    except ImportError as exc:  # matplotlib missing: the run itself is fine
        trainer.log(f"note: no plots ({exc})")
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=2, default=str))


def tensorboard(trainer: Any) -> Any:
    if not trainer.is_main or trainer.out_dir is None:
        return None
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    logs = trainer.out_dir / "tensorboard"
    if logs.is_symlink() or (logs.exists() and not logs.is_dir()):
        trainer.log(f"note: no TensorBoard logs ({logs} is not a directory of this run)")
        return None
    try:
        return SummaryWriter(str(logs))
    except OSError as exc:
        trainer.log(f"note: no TensorBoard logs ({file_error(exc, logs, 'create')})")
        return None
