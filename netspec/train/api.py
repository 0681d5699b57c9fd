"""Library entry points behind ``netspec build``, ``netspec eval`` and ``netspec predict``."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import torch

from netspec.api import Source, analyze
from netspec.backends.report.summary import warning_lines
from netspec.core.errors import DataError, ExpectationError, NetspecError, Problem, SpecValidationError, UsageError
from netspec.ir.graph import Graph, NetGraph
from netspec.spec.train import TrainConfig, anchor_paths, apply_overrides
from netspec.train import data as D
from netspec.train import output
from netspec.train.batching import TensorSet
from netspec.train.checkpoint import load_checkpoint, load_model_state, require_same_layers, weights_file
from netspec.train.files import CHECKPOINT, require_kind
from netspec.train.loop import Trainer
from netspec.train.rundir import RunDirectory, require_creatable
from netspec.train.runtime import dist_env, eval_mode, resolve_device, seed_everything, train_mode
from netspec.train.schedule import optimizer_state
from netspec.train.setup import require_finite, sample_shapes
from netspec.train.tasks.base import check_token_ids, input_sizes, step_failure
from netspec.train.threads import CpuMeter

RUNS = Path("runs")  # default run directories: runs/<spec name>/<timestamp>


def _threads_by(flags: dict[str, Any] | None, sets: list[str] | None) -> str:
    """What set ``threads`` (the run header's reason): ``--threads`` or ``--set threads`` when a flag did."""
    from netspec.spec.recipe import flag_keys

    given = flag_keys(flags, sets).get("threads")
    return "train.threads" if given is None else given.split("=")[0] if given.startswith("--set") else "--threads"


def _spec_file(source: Source) -> str | None:
    if not isinstance(source, (str, os.PathLike)) or (isinstance(source, str) and "\n" in source):
        return None
    try:
        return str(source) if os.path.isfile(source) else None
    except (OSError, ValueError):
        return None


def prepare(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None,
            resume: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
            progress: bool | None = None, quiet: bool = False, write: bool = True,
            checkpoint: dict[str, Any] | None = None, graph: Graph | None = None,
            data_names: tuple[str, str] = ("training data", "validation data")) -> Trainer:
    """Load the spec, merge the recipe with the overrides, compile the model and build a Trainer.

    With ``write``, the trainer's ``out_dir`` is ``out``, else the resumed run's directory, else None
    (:func:`train` then creates a new one under ``runs/``). Data paths written in a spec file are
    relative to that file; those given as flags, to the working directory. ``graph``: ``source``
    already analyzed."""
    cpu = CpuMeter()  # measures how busy the machine is while the spec is compiled and the data loaded
    graph = graph if graph is not None else analyze(source)
    state = load_checkpoint(resume) if resume is not None else checkpoint
    if state is not None and state.get("spec_name") not in (None, graph.name):
        raise UsageError(f"{state.get('_path')}: the checkpoint is from spec '{state['spec_name']}', "
                         f"not '{graph.name}'")
    base: TrainConfig | dict[str, Any] | None = graph.train
    spec_file = _spec_file(source)
    if isinstance(base, TrainConfig) and spec_file is not None:
        base = anchor_paths(base, os.path.dirname(os.path.abspath(spec_file)))
    edited: list[str] = []
    if state is not None:
        if resume is not None:
            edited = recipe_changes(base, state, flags, sets)
        base = state["config"]
    cfg = apply_overrides(base, flags, sets)
    if cfg.weights is not None and state is None:  # a missing file, a folder without one: said before the work
        cfg = cfg.model_copy(update={"weights": cfg.weights.model_copy(update={
            "path": str(weights_file(cfg.weights.path, _weights_given_by(source, spec_file, flags, sets)))})})
    if resume is not None and state is not None:
        before = apply_overrides(state["config"]).optimizer.name
        if cfg.optimizer.name != before:
            raise UsageError(f"--resume: the run was trained with optimizer '{before}'; its state cannot continue "
                             f"under '{cfg.optimizer.name}'\n    hint: drop --optimizer to resume, or start a new run")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    from netspec.backends.torch.compile import check_memory, compile_graph

    if checkpoint is None:  # a run to train (build, its dry run), not eval/predict: gradients and optimizer state
        full, scalars, keys = optimizer_state(cfg.optimizer)
        kept = f"{cfg.optimizer.name} keeps {', '.join(keys)}" if keys else f"{cfg.optimizer.name} keeps none"
        check_memory(list(graph.networks.values()), optimizer=(kept, full, scalars),
                     device=resolve_device(cfg.device, dist_env()[1]))
    seed_everything(cfg.seed)  # before compiling: the initial weights depend on the seed

    model = compile_graph(graph)
    if resume is not None and state is not None:
        load_model_state(model, state)  # weights of other shapes: each difference told (restored again later)
        require_same_layers(state, graph)  # the same shapes, other layers (an activation added)
    if cfg.optimizer.group_lr:  # a name of no trainable parameter: at the place written, as `check` says it
        from netspec.spec import recipe

        trainable = [n for n, p in model.named_parameters() if p.requires_grad]
        problems = recipe.group_lr_problems(cfg, trainable, recipe.spec_tree(source) if spec_file else None,
                                            recipe.flag_keys(flags, sets))
        if problems:
            raise SpecValidationError(problems=problems)
    if resume is not None and state is not None and isinstance(state.get("epoch"), int) \
            and state["epoch"] >= cfg.epochs:
        load_model_state(model, state)  # a checkpoint of another architecture is told first
        done = state["epoch"]
        raise UsageError(f"--resume: nothing to train: {state.get('_path')} has trained {done} epoch"
                         f"{'s' if done != 1 else ''} and the recipe asks for {cfg.epochs} in all\n    hint: give "
                         f"--epochs {done + 1} or more to train on (--epochs counts every epoch, those done included)")
    loaded = None
    if cfg.weights is not None and state is None:  # a resumed run or a checkpoint brings its own weights
        from netspec.backends.torch.weights import SAFETENSORS_NAMES, load_weights

        if Path(cfg.weights.path).is_file() and not Path(cfg.weights.path).name.endswith(SAFETENSORS_NAMES):
            require_kind(cfg.weights.path, (CHECKPOINT[0], "a torch state dict or checkpoint (torch.save)"))
        loaded = load_weights(model, cfg.weights.path, partial=cfg.weights.partial)
    out_dir: Path | None = None
    if write:
        if out is not None:
            out_dir = Path(out)
        elif resume is not None:
            out_dir = Path(state["_path"]).parent  # type: ignore[index]
    trainer = Trainer(graph, model, cfg, out_dir, progress=progress, quiet=quiet,
                      resume=state if resume is not None else None, spec_file=spec_file, cpu=cpu,
                      data_names=data_names, threads_by=_threads_by(flags, sets), training=checkpoint is None)
    checked: list[dict[str, int]] = []
    for part, what in zip((trainer.data.train, trainer.data.val), data_names):
        shapes = sample_shapes(part) if part is not None else []
        if input_sizes(trainer.task.first_net, shapes) not in checked:  # each set of sizes resolved once
            check_sizes(source, trainer.task.first_net, shapes, what)
            checked.append(input_sizes(trainer.task.first_net, shapes))
    if loaded is not None:
        trainer.log(loaded.table())
    if edited:
        note = (f"note: the spec's train: section differs from the recipe {state.get('_path')} was trained with "  # type: ignore[union-attr]
                "(" + "; ".join(edited) + "): the checkpoint's values are used\n    hint: a resumed run keeps "
                "its recipe; to use the spec's, give them as flags, which override it (--set train.KEY=VALUE for "
                "any key, or its own flag: --lr, --epochs, …), or start a new run")
        trainer.log(note)
        trainer.task.notes.append(note)  # a dry run says it too
    return trainer


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def recipe_changes(spec_train: TrainConfig | dict[str, Any] | None, state: dict[str, Any],
                   flags: dict[str, Any] | None, sets: list[str] | None) -> list[str]:
    """What the spec's ``train:`` section (``spec_train``, paths anchored) changes of the recipe a resumed
    checkpoint was trained with and the flags leave as it is, one entry per key: ``optimizer.lr: checkpoint
    0.01 (used) → spec 0.5``; empty when they agree (a key a flag sets is the user's choice: not listed)."""
    old = _flat(apply_overrides(state["config"]).dump())
    new = _flat(apply_overrides(spec_train).dump())
    given = _flat(apply_overrides(state["config"], flags, sets).dump())
    changes = []
    for key in old:
        if key in new and new[key] != old[key] and given[key] == old[key]:  # a key the flags set is chosen
            changes.append(f"{key}: checkpoint {old[key]!r} (used) → spec {new[key]!r}")
    return changes


def _weights_given_by(source: Source, spec_file: str | None, flags: dict[str, Any] | None,
                      sets: list[str] | None) -> str:
    """Where ``weights`` came from, as a message names it: the flag (``--weights``, ``--set weights=...``), else
    the spec's ``train.weights`` at the place it is written."""
    from netspec.spec import recipe

    given = recipe.flag_keys(flags, sets)
    flag = given.get("weights.path") or given.get("weights")
    if flag is not None:
        return flag.split(" ")[0] if flag.startswith("--weights") else flag.split("=")[0]
    where = recipe.locate(recipe.spec_tree(source), "weights") if spec_file else None
    return f"{where}: train.weights" if where else "train.weights"


TOO_BIG_HINT = "shorten the samples (data.length for the synthetic sets), or let the network take them (e.g. a " \
               "larger max_len)"


def check_sizes(source: Source, net: NetGraph, shapes: list[tuple[int, ...]], what: str,
                hint: str = TOO_BIG_HINT) -> None:
    """Refuse data whose sizes the network cannot take: the symbolic dims of ``net``'s inputs are bound
    to the sizes of the data's samples (``shapes``, in input order) and the spec is resolved again, so
    every limit the layers set (a position table's ``max_len``, a convolution's window) is checked
    with the real cause before torch fails somewhere inside the model.

    Raises:
        DataError: ``what`` (``training data``, ``the input '1,2,3'``) and the layer's own complaint."""
    bind = input_sizes(net, shapes)
    if not bind or isinstance(source, Graph):
        return
    try:
        analyze(source, bind=bind)
    except NetspecError as err:
        sizes = ", ".join(f"{k} = {v}" for k, v in bind.items())
        raise DataError(f"the {what} does not fit the network '{net.name}': its samples give {sizes}, and with "
                        f"{'that size' if len(bind) == 1 else 'those sizes'} the spec fails:\n    {err}\n    "
                        f"hint: {hint}") from None


EXPECT_HINT = ("fix the network or its expect: entry (`netspec check` shows the same), or build anyway with "
               "--ignore-expect")


def require_expectations(graph: Graph) -> None:
    """Refuse to train a spec whose ``expect:`` fails, with the messages ``netspec check`` prints
    (``check`` exits 1 on it; a build would spend its time on a network that is not the one described).

    Raises:
        ExpectationError: one ``expectation failed: FILE:LINE:COL: ...`` line per failure, and a hint."""
    from netspec.backends.report.report import make_report

    failures = make_report(graph).failures
    if failures:
        raise ExpectationError("\n".join(f"expectation failed: {p}" for p in failures)
                               + f"\n    hint: {EXPECT_HINT}", failures)


def train(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None,
          out: str | os.PathLike[str] | None = None, resume: str | os.PathLike[str] | None = None,
          progress: bool | None = None, quiet: bool = False, expect: bool = True) -> dict[str, Any]:
    """Compile a spec and train it; returns the run summary (also written to ``summary.json``).

    Args:
        source: spec path or text (or a loaded Spec/Graph).
        flags: command-line overrides by flag name (``{"epochs": 3, "lr": 1e-3}``).
        sets: ``KEY=VALUE`` overrides of any ``train:`` field (``optimizer.betas=[0.9,0.99]``).
        out: run directory (default: a new ``runs/<spec name>/<timestamp>``); it must be new or empty
            unless it is the run being resumed.
        resume: a checkpoint or run directory to continue from (in its own directory unless ``out``).
        expect: refuse a spec whose ``expect:`` fails (as ``netspec check`` does); False trains it anyway
            (``--ignore-expect``).

    Raises:
        UsageError: ``out`` holds another run, or another build is writing into it.
        ExpectationError: an ``expect:`` entry fails (and ``expect`` is true).
    """
    graph = analyze(source)
    if expect:
        require_expectations(graph)
    if out is not None:  # refused before the data is loaded, as a dry run refuses it
        RunDirectory.check(Path(out), resuming=resume is not None and _same_dir(resume, out))
    elif resume is None and dist_env()[0] == 0:
        require_creatable(RUNS / graph.name, f"the run directory {RUNS / graph.name}")
    trainer = prepare(source, flags, sets, resume, out, progress, quiet, graph=graph)
    run: RunDirectory | None = None
    try:
        if trainer.is_main:  # only rank 0 writes files
            resumed = trainer.resumed is not None and trainer.out_dir is not None and \
                Path(str(trainer.resumed["_path"])).parent.resolve() == trainer.out_dir.resolve()
            run = RunDirectory.claim(trainer.out_dir, RUNS / trainer.graph.name, resuming=resumed)
            trainer.out_dir = run.path
        trainer.log(f"{trainer.graph.name}: task {trainer.task.name}, data {trainer.data.description}: "
                    f"{len(trainer.data.train)} train / {len(trainer.data.val) if trainer.data.val is not None else 0} "
                    f"val samples, device {trainer.device}"
                    + (f" × {trainer.world} processes" if trainer.world > 1 else "")
                    + (f", run directory {trainer.out_dir}" if trainer.out_dir else ""))
        trainer.log(str(trainer.threads))
        for net in graph.networks.values():  # what `check` warns of, before the time is spent
            for line in warning_lines(net):
                trainer.log(line)
        for line in recipe_warnings(source, graph, flags, sets, trainer):
            trainer.log(line)
        if (note := subset_note(trainer)) is not None:
            trainer.log(f"note: {note}")
        summary = trainer.fit()
    finally:
        if run is not None:
            run.release()
        if trainer.distributed and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    summary["report"] = output.report(trainer, summary)
    return summary


def _listed_names(names: list[str], limit: int = 6) -> str:
    """``[a, b, c]``, cut after ``limit`` names with how many there are."""
    return "[" + ", ".join(names[:limit]) + (f", … ({len(names)} in all)" if len(names) > limit else "") + "]"


def recipe_warnings(source: Source, graph: Graph, flags: dict[str, Any] | None, sets: list[str] | None,
                    trainer: Trainer) -> list[str]:
    """The recipe's options that the optimizer, schedule, task, loss or data set in force does not take
    (:mod:`netspec.spec.recipe`), the command line's values applied and ``auto`` resolved: at the
    spec's line, or naming the flag that gave them."""
    from netspec.spec import recipe

    spec = recipe.written(graph.train) if isinstance(graph.train, TrainConfig) else set()
    given = recipe.flag_keys(flags, sets)
    found = recipe.ignored_options(trainer.cfg, spec, given,
                                   {"task.name": trainer.task.name, "data.name": trainer.task.data_name})
    unused = trainer.cfg.channels_last is True and not trainer.channels_last  # asked for, and no convolution
    split_unused = bool(trainer.cfg.data.val_path) and ("val_split" in spec or "val_split" in given)
    raw = recipe.spec_tree(source) if found or unused or split_unused else None
    problems = recipe.warning_problems(found, raw, given.get("channels_last", "") if unused else None)
    if split_unused:  # a validation file replaces the share held out
        flag = given.get("val_split", "")
        message = (f"ignored: data.val_path ({trainer.cfg.data.val_path}) is the validation set, so no share of the "
                   "training data is held out")
        problems.append(Problem(message, None if flag else recipe.locate(raw, "val_split"), flag or "train.val_split",
                                f"drop {flag}" if flag else "remove it, or drop val_path to hold out a share"))
    return recipe.warning_lines(problems)


def subset_note(trainer: Trainer) -> str | None:
    """``data.subset`` past the samples there are: how many there were (all of them are used)."""
    asked = trainer.cfg.data.subset
    have = len(trainer.data.train) + (len(trainer.data.val) if trainer.data.val is not None else 0)
    if asked is None or asked <= have:
        return None
    return f"data.subset {asked}: the data holds {have} sample{'s' if have != 1 else ''}; using all of them"


def _same_dir(resume: str | os.PathLike[str], out: str | os.PathLike[str]) -> bool:
    """``resume`` (a checkpoint or its run directory) is in the directory ``out``."""
    r = Path(resume)
    return (r if r.is_dir() else r.parent).resolve() == Path(out).resolve()


DRY_RUN_BIG_INPUT = 16384  # input elements per sample above which a dry run prepares only a subset


def dry_run(source: Source, flags: dict[str, Any] | None = None, sets: list[str] | None = None,
            resume: str | os.PathLike[str] | None = None, out: str | os.PathLike[str] | None = None,
            expect: bool = True) -> dict[str, Any]:
    """Check spec, recipe and data, and run one batch forward and backward (no step, no files).
    ``expect``: refuse a failing ``expect:`` as :func:`train` does.

    Every flag the real run reads is checked as it would be: ``resume`` (the checkpoint is read and
    restored into the model), ``out`` (a run directory the build could claim), the weights and the data.

    For large inputs (e.g. digits resized to 224×224×3 for the ImageNet nets) only enough samples for
    one batch are prepared (unless ``subset`` is given): the data set would otherwise be resized whole."""
    flags = dict(flags or {})
    if out is not None:
        RunDirectory.check(Path(out), resuming=resume is not None and _same_dir(resume, out))
    subset = None
    graph = analyze(source)
    if expect:
        require_expectations(graph)
    if flags.get("subset") is None and not any(s.split("=", 1)[0].strip().removeprefix("train.") == "data.subset"
                                               for s in sets or []):
        cfg = apply_overrides(graph.train, flags, sets)
        x = next(iter(next(iter(graph.networks.values())).inputs.values()))
        numel = 1
        for d in x.shape:
            numel *= d if isinstance(d, int) else 1
        if numel > DRY_RUN_BIG_INPUT and cfg.data.subset is None:
            subset = int(cfg.batch_size / max(1e-9, 1 - cfg.val_split)) + 2
            flags["subset"] = subset
    trainer = prepare(source, flags, sets, resume=resume, write=False, quiet=True, graph=graph)
    if subset is not None and len(trainer.data.train) + len(trainer.data.val or ()) > subset:
        subset = None  # the data source does not take subsets: everything was prepared
    batch = next(iter(trainer.batches(trainer.data.train, True, 0)))
    train_mode(trainer.model, *trainer.task.nets.values())  # frozen layers with state stay in eval mode
    task = trainer.task
    try:
        loss = task.dry_step(trainer, batch)
    except Exception as exc:
        err = step_failure(task, batch, exc, "the first batch of the dry run")
        if err is None:
            raise
        raise err from None
    for p in trainer.model.parameters():  # no optimizer is built: a dry run never steps
        p.grad = None
    if not torch.isfinite(loss):
        raise DataError(f"the first batch gives a {float(loss)} loss; check the data and the spec")
    return {
        "spec": trainer.graph.name, "task": trainer.task.name, "data": trainer.data.description,
        "train_samples": len(trainer.data.train),
        "val_samples": len(trainer.data.val) if trainer.data.val is not None else 0,
        "dry_run_subset": subset,
        "batch_shapes": [tuple(t.shape) for t in batch],
        "batch_dtypes": [str(t.dtype).replace("torch.", "") for t in batch],
        "loss": float(loss.detach()), "loss_name": getattr(trainer.task, "loss_name", "?"),
        "device": str(trainer.device), "steps_per_epoch": trainer.steps_per_epoch,
        "warnings": [line for net in graph.networks.values() for line in warning_lines(net)]
        + recipe_warnings(source, graph, flags, sets, trainer),
        "notes": list(trainer.task.notes) + ([f"note: {note}"] if subset is None and (note := subset_note(trainer))
                                             else []),
        "config": trainer.cfg.dump(),
        **({"weights": report.summary()} if (report := getattr(trainer.model, "netspec_weights", None)) else {}),
    }


def evaluate(source: Source, checkpoint: str | os.PathLike[str], flags: dict[str, Any] | None = None,
             sets: list[str] | None = None) -> dict[str, Any]:
    """Metrics of a checkpoint on the validation split, or on a whole data set given with ``--data``.

    ``checkpoint`` may be a run directory: its ``last.pt`` is evaluated (``picked`` in the result says so)."""
    state = load_checkpoint(checkpoint)
    flags = dict(flags or {})
    whole = flags.get("data") is not None
    if whole:
        flags["val_split"] = 0.0
    else:
        require_same_split(state, flags, sets)
    trainer = prepare(source, flags, sets, write=False, quiet=True, checkpoint=state,
                      data_names=("evaluation data", "validation data") if whole else ("training data",
                                                                                       "validation data"))
    load_model_state(trainer.model, state)
    require_same_layers(state, trainer.graph, "eval")  # the same shapes, other layers: another network's numbers
    trainer.task.load_state_dict(state["task"])  # where training stood (a DBN's stage: the RBM its loss reads)
    data = trainer.data.train if whole or trainer.data.val is None else trainer.data.val
    trained, now = state["task"].get("classes"), D.folder_classes(data)
    if whole and trained and now and now != trained[:len(now)]:  # a folder numbers its classes by their sorted names
        raise DataError(f"--data {flags.get('data')}: its classes {_listed_names(now)} are numbered 0.., but "
                        f"{state['_path']} was trained on {_listed_names(trained)}: output k is the training class k, "
                        "so the labels would be read as other classes\n    hint: evaluate on a folder with the "
                        "training folder's class folders (empty ones may be left out only at the end)")
    split = "all" if whole or trainer.data.val is None else "validation"
    require_finite(data, "evaluation" if split == "all" else split)
    metrics = trainer.evaluate(data)
    result = {"checkpoint": state["_path"], "epoch": state["epoch"], "data": trainer.data.description,
              "split": split, "samples": len(data), **metrics}
    if state.get("_picked"):
        result["picked"] = picked_note(state)
    return result


def split_changes(state: dict[str, Any], flags: dict[str, Any] | None, sets: list[str] | None) -> list[str]:
    """What the overrides change of what decided a checkpoint's train/validation split (its seed, its
    val_split, its data settings), as ``seed 0 → 1``; empty when they keep it."""
    before = apply_overrides(state["config"])
    after = apply_overrides(state["config"], flags, sets)
    changed = [f"{key} {getattr(before, key)} → {getattr(after, key)}" for key in ("seed", "val_split")
               if getattr(before, key) != getattr(after, key)]
    old, new = before.data.model_dump(), after.data.model_dump()
    changed += [f"data.{key} {old[key]} → {new.get(key)}" for key in old if old[key] != new.get(key)]
    return changed


def require_same_split(state: dict[str, Any], flags: dict[str, Any] | None, sets: list[str] | None) -> None:
    """Refuse overrides that would evaluate a checkpoint on another split than the one it held out: the
    "validation" samples would then include samples it trained on.

    Raises:
        UsageError: naming what changes and the ways to evaluate."""
    changed = split_changes(state, flags, sets)
    if changed:
        raise UsageError(f"{state.get('_path')}: the options change how the data is split ({', '.join(changed)}): the "
                         f"checkpoint held out its validation samples with the recipe it was trained with, so "
                         f"another split's 'validation' samples would include samples it trained on\n    hint: drop "
                         f"--seed / --val-split / --subset (and such --set train.… options) to evaluate on the run's "
                         f"own validation split, or give --data FILE to evaluate on a whole data set")


def picked_note(state: dict[str, Any]) -> str:
    """What was taken from a run directory given as the checkpoint, and what else is there."""
    path = Path(state["_path"])
    best = path.parent / "best.pt"
    note = f"{path.parent} is a run directory: using its {path.name} (end of epoch {state['epoch']})"
    if best.is_file() and state.get("best_epoch") is not None:
        note += f"; best.pt holds the best epoch ({state['best_epoch']}): --checkpoint {best}"
    return note


def load_input(p: str, trainer: Trainer) -> torch.Tensor:
    """One predict input (an image, an .npy/.npz/.pt/.csv file, words or comma-separated numbers) ->
    its samples, a batch for the network input (an array file may hold several)."""
    return read_input(p, trainer)[0]


def read_input(p: str, trainer: Trainer) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """:func:`load_input`, and for a file laid out as the training data is the targets, and where they
    were found: a CSV with the features and one label column (a column more than the network takes;
    the column training reads: ``data.target`` when the recipe trains on a CSV file, else the last), an
    .npz/.pt file holding inputs and targets (``x`` and ``y``, ...). A file of the inputs alone has no
    targets. Returns ``(samples, targets or None, where: "its column 'label'", "its targets")``."""
    want = trainer.task.input_type
    path = Path(p)
    suffix = path.suffix.lower()
    labels, column = None, ""
    if suffix in D.IMAGE_SUFFIXES:
        dims = D.image_size(want)
        if trainer.task.data_name == "folder" and dims is not None:
            # trained on an image folder: read as its images were (one function, the same tensor)
            return D.read_image(p, want, dims[1:]), None, ""
        # else as the training images were fitted (digits, MNIST: resized as arrays, fit_images)
        return D.fit_images(D.read_image(p, want), want, trainer.task.input_name, True, "image"), None, ""
    if suffix in (".npy", ".npz", ".pt", ".pth", ".csv", ".tsv"):
        if suffix in (".csv", ".tsv"):
            x, labels, column = _csv_samples(p, trainer)
        else:
            x, y = D.load_file(p)
            if y is not None and _trained_on_pairs(trainer):  # (inputs, targets), as training reads the file
                labels, column = _as_targets(y, trainer, f"the targets of {p}"), "its targets"
        if x.dim() == len(want.shape) and D.dims_match(tuple(x.shape), want.shape):
            x = x[None]  # one sample without the sample axis: (5,) for an input [T]
        if x.dim() == 0 or len(x) == 0:
            raise DataError(f"{p}: holds no samples")
        try:
            return D.check_fit(x, want, trainer.task.input_name), labels, column
        except DataError as exc:
            raise DataError(f"{p}: {exc}") from None
    parsed = trainer.task.parse_input(p)
    if parsed is not None:
        return parsed, None, ""
    try:
        values = [float(v) for v in p.replace(" ", ",").split(",") if v]
    except ValueError:
        values = []
    if values and not path.exists() and not all(math.isfinite(v) for v in values):
        raise DataError(f"'{p}': an input value is not finite (nan or inf); predict reads finite numbers")
    if not values or not all(math.isfinite(v) for v in values):
        raise DataError(f"'{p}' is neither a file (image, .npy, .npz, .pt, .csv) nor comma-separated numbers"
                        if not path.exists() else
                        f"{p}: not an input predict reads (an image, .npy, .npz, .pt or .csv file)")
    x = torch.tensor(values, dtype=torch.float64)[None]  # float64: whole ids up to 2**53 stay exact
    if len(want.shape) > 1 and all(isinstance(d, int) for d in want.shape):
        x = x.reshape(1, *want.shape) if x.numel() == _prod(want.shape) else x
    try:
        return D.check_fit(x, want, trainer.task.input_name), None, ""
    except DataError as exc:
        raise DataError(f"'{p}': {exc}") from None


def _prod(shape: Sequence[Any]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def _csv_samples(path: str, trainer: Trainer) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """A numeric CSV (optional header) given to predict: every column as features, or, when it has one
    column more than the network's input takes and the task trains on (features, targets) pairs, the
    features and the label column training reads (``data.target`` for a recipe on a CSV file, else the
    last), with that column's name."""
    table, header = D.read_table(path)
    want = trainer.task.input_type.shape
    need = _prod(want) if all(isinstance(d, int) for d in want) else None
    if need is None or table.shape[1] != need + 1 or not _trained_on_pairs(trainer):
        return table, None, ""
    data = trainer.cfg.data
    target = data.target if data.name == "csv" else None
    x, y = D.read_csv(path, target)
    col = (header.index(target) if isinstance(target, str) else target % table.shape[1] if isinstance(target, int)
           else table.shape[1] - 1)
    column = f"its column '{header[col]}'" if header else f"its column {col + 1}"
    return x, _as_targets(y, trainer, f"the labels of {path} ({column.removeprefix('its ')})"), column


def _trained_on_pairs(trainer: Trainer) -> bool:
    """The task learns (input, target) pairs of one input (classification, regression): a file's targets
    can score its predictions."""
    train = trainer.data.train
    return isinstance(train, TensorSet) and len(train.tensors) == 2 and trainer.task.n_inputs == 1


def _as_targets(y: torch.Tensor, trainer: Trainer, what: str) -> torch.Tensor:
    """A file's targets as training holds them (dtype, a trailing axis of one value), checked by the task.

    Raises:
        DataError: targets the task cannot score (a class label the network has no output for)."""
    like = trainer.data.train.tensors[-1]
    if y.is_floating_point() and not like.is_floating_point():
        trainer.task.check_targets(y, what)  # fractional labels are refused before they are cast
    y = y.to(like.dtype)
    if like.dim() == 2 and y.dim() == 1 and like.shape[1] == 1:
        y = y[:, None]  # a regression target of one value: (N, 1), as training holds it
    elif y.shape[1:] != like.shape[1:]:
        raise DataError(f"{what} are {D.describe_shape(y)}; the training targets were {D.describe_shape(like)}")
    trainer.task.check_targets(y, what)
    return y


@torch.no_grad()
def predict(source: Source, checkpoint: str | os.PathLike[str], inputs: Sequence[str] = (),
            first: int | None = None, every: bool = False, notes: list[str] | None = None) -> list[str]:
    """Outputs for a few inputs (files or numbers), or the first N validation samples: one line per
    sample, in order (``name: ...`` for an input of one sample, ``name[i]: ...`` for each of several).
    An output is shown with its shape and its first 16 values, the cut said; ``every``: all its values.

    A CSV file laid out as the training data (the features and the label column) is read as training
    reads it: each line shows its label (``[target 3]``), and a last line scores the file as ``eval``
    does (``accuracy``, ``loss``). Inputs are standardized as the training data was (``data.normalize``).
    ``notes`` (a list) receives what the caller should be told besides: ``first`` past the samples there
    are."""
    state = load_checkpoint(checkpoint)
    trainer = prepare(source, None, None, write=False, quiet=True, checkpoint=state)
    load_model_state(trainer.model, state)
    require_same_layers(state, trainer.graph, "predict")
    trainer.task.load_state_dict(state["task"])  # what training knew of its outputs (an image folder's classes)
    eval_mode(trainer.model, *trainer.task.nets.values())
    task = trainer.task
    task.every = every
    lines: list[str] = []
    if first:
        data = trainer.data.val if trainer.data.val is not None else trainer.data.train
        if first > len(data) and notes is not None:
            split = "validation split" if trainer.data.val is not None else "data (no validation split)"
            notes.append(f"--first {first}: the {split} holds {len(data)} sample{'s' if len(data) != 1 else ''}; "
                         f"predicting {f'those {len(data)}' if len(data) != 1 else 'that one'}")
        batch = next(iter(trainer.batches(data, False, 0, batch_size=first)))
        lines += [f"sample {i}: {line}" for i, line in enumerate(task.describe_samples(batch))]
    bs = trainer.cfg.eval_batch_size or 4 * trainer.cfg.batch_size
    takes = task.first_net.inputs
    if inputs and len(takes) > 1:
        raise UsageError(f"the network '{task.first_net.name}' takes {len(takes)} inputs ({', '.join(takes)}); "
                         f"predict reads one per INPUT\n    hint: --first N predicts validation samples")
    loaded = []
    stats = task.data_info.get("normalize")
    for name in inputs:  # every input checked before any is run: one clear message, nothing half-printed
        x, y, column = read_input(name, trainer)
        check_token_ids(task, TensorSet(x), f"input '{name}'")
        check_sizes(source, task.first_net, [tuple(x.shape[1:])], f"input '{name}'",
                    "give an input of a size the network takes (the sizes its training data had)")
        if stats is not None:  # the training statistics, as the data the network learnt from
            x = ((x - stats["mean"].to(x.device)) / stats["std"].to(x.device)).to(x.dtype)
        loaded.append((name, x, y, column))
    for name, x, y, column in loaded:
        described: list[str] = []
        for k, chunk in enumerate(x.split(bs)):
            if y is None:
                described += task.describe_prediction(task.predict(chunk.to(trainer.device)))
            else:
                part = y[k * bs:(k + 1) * bs]
                described += task.describe_samples((chunk.to(trainer.device), part.to(trainer.device)))
        if len(described) != len(x):  # a bug, not the input's fault
            raise RuntimeError(f"{len(described)} predictions for the {len(x)} samples of {name}")
        lines += [f"{name}: {described[0]}"] if len(x) == 1 else [f"{name}[{i}]: {d}" for i, d in enumerate(described)]
        if y is not None:
            metrics = trainer.evaluate(TensorSet(x, y))
            shown = ", ".join(f"{k} {v:.2%}" if "accuracy" in k else f"{k} {v:.4f}" for k, v in metrics.items()
                              if isinstance(v, float))
            lines.append(f"{name}: {len(x)} sample{'s' if len(x) != 1 else ''} scored against {column}: {shown}")
    if not lines:
        raise UsageError("give INPUTS (files or comma-separated numbers) or --first N")
    return lines
