"""`netspec build` (compile + train), `netspec eval`, `netspec predict`: they import torch."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from netspec.cli.args import flag_number, flag_whole, typed
from netspec.core.errors import UsageError
from netspec.core.fmt import bounds_text
from netspec.spec.train import (
    DATA_SUFFIXES,
    DATASETS,
    FILE_DATASETS,
    FLAG_FIELDS,
    LOSSES,
    OPTIMIZERS,
    PRECISIONS,
    SCHEDULES,
    TASKS,
    guess_data,
)


def _names(choices: tuple[str, ...], *leave_out: str) -> str:
    return ", ".join(c for c in choices if c not in leave_out)


def _recipe_flags(p: argparse.ArgumentParser, short: bool = False) -> None:
    """Flags that override the spec's ``train:`` section (absent flags leave it alone)."""
    g = p.add_argument_group("training recipe (overrides the spec's train: section)")
    g.add_argument("--data", metavar="NAME|PATH", help=_names(DATASETS, "auto", *FILE_DATASETS)
                   + ", or a file/folder (.npz .npy .pt .pth .csv .tsv .txt, or a folder of images, one "
                   "sub-folder per class). An existing file or folder is a path; a data set's name wins over "
                   "a folder of that name (write ./NAME for the folder)")
    g.add_argument("--subset", type=flag_whole, metavar="N",
                   help=("use N samples of the data, drawn at random (the same N every run), before --val-split "
                         "holds out its share: --subset 200 with val_split 0.1 trains on 180 and validates on 20 "
                         "(a data.val_path set is cut to N too)") if not short else
                   ("the --subset the run was trained with (eval refuses another: it would validate on other "
                    "samples); with --data, N samples of that data"))
    g.add_argument("--device", metavar="DEV", help="auto (CUDA if available), cpu, cuda, cuda:N, mps")
    g.add_argument("--batch-size", type=flag_whole, metavar="N", help="global batch size")
    g.add_argument("--seed", type=flag_whole, metavar="N")
    g.add_argument("--val-split", type=flag_number, metavar="F", help="fraction held out for validation")
    g.add_argument("--set", action="append", dest="sets", metavar="KEY=VALUE",
                   help="any train: field, e.g. --set optimizer.betas=[0.9,0.99] --set task.noise=0.3")
    if short:
        return
    g.add_argument("--task", help=_names(TASKS, "auto") + " (default: inferred)")
    g.add_argument("--loss", help=_names(LOSSES, "auto"))
    g.add_argument("--epochs", type=flag_whole, metavar="N")
    g.add_argument("--optimizer", help=_names(OPTIMIZERS))
    g.add_argument("--lr", type=flag_number, metavar="LR", help="learning rate")
    g.add_argument("--momentum", type=flag_number, metavar="M")
    g.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--weight-decay", type=flag_number, metavar="WD")
    g.add_argument("--schedule", help=_names(SCHEDULES))
    g.add_argument("--warmup", type=flag_number, metavar="EPOCHS", help="linear warm-up length in epochs")
    g.add_argument("--clip-norm", type=flag_number, metavar="N", help="clip the gradient norm")
    g.add_argument("--clip-value", type=flag_number, metavar="V", help="clip gradient values to ±V")
    g.add_argument("--precision", choices=PRECISIONS, help="mixed precision (CUDA)")
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile the model")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    g.add_argument("--workers", type=flag_whole, metavar="N", help="DataLoader workers for image folders (default: the "
                   "cores left free)")
    g.add_argument("--threads", type=flag_whole, metavar="N", help="CPU threads for torch (default: the cores other "
                   "processes leave free; one for a small model)")
    g.add_argument("--patience", type=flag_whole, metavar="N", help="early stopping patience (epochs)")
    g.add_argument("--weights", metavar="PATH", help="start from a state dict (.pt/.pth) or a netspec checkpoint: "
                   "loaded by name, else by structure (network order and shapes)")
    g.add_argument("--partial", action="store_true", default=None,
                   help="with --weights: load what fits, keep the rest as initialised (a replaced head)")


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe flags given (their dests are the keys of ``FLAG_FIELDS``), ``--data`` resolved
    (:func:`data_flag`)."""
    flags = {k: getattr(args, k, None) for k in FLAG_FIELDS if getattr(args, k, None) is not None}
    if isinstance(flags.get("data"), str):
        flags["data"] = data_flag(flags["data"])
    return flags


def data_flag(value: str) -> str:
    """``--data VALUE`` as the recipe reads it, as a spec's ``data: VALUE`` is read
    (:func:`netspec.spec.train.data_shorthand`, relative to the working directory): a data set's name
    (``digits``, ``mnist``, ...) is that data set wherever the command runs, even beside a file or folder
    of that name (a note says how to pick the folder: ``./digits``); any other value naming an existing
    file or folder is that path (``--data imgs``: the image folder ``./imgs``); a file of a type the trainer
    does not read is refused with the types it reads; a value that is neither a name nor a path is refused
    with the names (:func:`netspec.spec.train.unknown_data`).

    Raises:
        UsageError: neither a data set's name nor an existing file or folder.
        DataError: an existing file of a type the trainer does not read."""
    import os
    from pathlib import Path

    from netspec.spec.train import data_shorthand, unknown_data
    from netspec.train.data import unsupported_file

    read, guessed = data_shorthand(value), guess_data(value)
    path = Path(value)
    if "path" not in read and read["name"] in DATASETS and not (read["name"] in FILE_DATASETS and path.exists()):
        if path.exists():  # a data set's name
            print(f"note: --data {value} is the data set '{read['name']}'; for the "
                  f"{'folder' if path.is_dir() else 'file'} of that name here, write --data "
                  f"{os.path.join('.', value)}", file=sys.stderr)
        return value
    if path.is_file() and path.suffix.lower() not in DATA_SUFFIXES:
        raise unsupported_file(value)
    if "path" in read and "path" not in guessed:
        return os.path.join(".", value)  # a folder named without a slash: read as the path it is
    if not path.exists() and "path" not in guessed:
        message, hint = unknown_data(value)
        raise UsageError(f"--data: {message}\n    hint: {hint}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser("build", help="compile a spec and train it (the spec's train: section, or defaults)",
                       description="Compile a spec to PyTorch and train it. The recipe comes from the spec's "
                                   "train: section; every field can be overridden with a flag or --set. Under "
                                   "torchrun the same command trains with DistributedDataParallel.")
    p.add_argument("spec", help="spec file (.yaml or .ns), or - for standard input")
    p.add_argument("--out", metavar="DIR", help="run directory, new or empty (default: a new "
                                                "runs/<spec name>/<timestamp>)")
    p.add_argument("--resume", nargs="?", const="latest", metavar="CKPT|DIR",
                   help="continue from a checkpoint or run directory (alone: the --out directory, else the "
                        "latest run of this spec)")
    p.add_argument("--dry-run", action="store_true", help="check spec, data and one batch; do not train")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: when stderr is a terminal)")
    p.add_argument("--quiet", "-q", action="store_true", help="only the final report")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON (alone on stdout; the "
                                                       "progress lines go to stderr)")
    p.add_argument("--ignore-expect", action="store_true",
                   help="train even if an expect: entry fails (by default build refuses, as check does, exit 1)")
    _recipe_flags(p)
    p.set_defaults(run=run_build)

    p = sub.add_parser("eval", help="metrics of a checkpoint on the validation split (or --data)")
    p.add_argument("spec", help="spec file, or - for standard input")
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="best.pt / last.pt or a run directory")
    p.add_argument("--json", action="store_true")
    _recipe_flags(p, short=True)
    p.set_defaults(run=run_eval)

    p = sub.add_parser("predict", help="run a checkpoint on a few inputs")
    p.add_argument("spec", help="spec file, or - for standard input")
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="image files, .npy/.npz/.pt/.csv files, or comma-separated numbers (negative ones "
                        "too: -0.5,1,2); a file whose name starts with '-': ./-x.npy")
    p.add_argument("--checkpoint", required=True, metavar="CKPT", help="best.pt / last.pt or a run directory")
    p.add_argument("--first", type=flag_whole, metavar="N", help="predict the first N validation samples")
    p.add_argument("--all", action="store_true", dest="every",
                   help="print every value of an output (default: its shape and the first 16 values)")
    p.set_defaults(run=run_predict)
    p.__class__ = _intermixed(type(p))  # `predict SPEC --checkpoint X INPUTS...`: inputs after the option
    # an input that starts as a negative number is an input, not an unknown flag: `-0.5,1,2`, `-1e-3,2`,
    # `-inf,1` (argparse's own pattern takes only a lone `-3` or `-.5`; none of predict's flags looks like a
    # number, nor starts -inf or -nan)
    p._negative_number_matcher = re.compile(r"^-(?:\.?\d|inf|nan)", re.IGNORECASE)


def _intermixed(base: type) -> type:
    """The parser class, parsing positionals interleaved with options (argparse's intermixed mode)."""

    class Intermixed(base):  # type: ignore[misc, valid-type]
        _busy = False

        def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
            if self._busy:
                return super().parse_known_args(args, namespace)
            self._busy = True
            try:
                return super().parse_known_intermixed_args(args, namespace)
            finally:
                self._busy = False

    return Intermixed


def _latest_run(spec: str) -> str:
    from pathlib import Path

    from netspec.api import analyze

    name = analyze(spec).name
    runs = sorted((p for p in (Path("runs") / name).glob("*") if (p / "last.pt").exists()),
                  key=lambda p: (p / "last.pt").stat().st_mtime)
    if not runs:
        raise UsageError(f"--resume: no run of '{name}' with a last.pt under runs/{name}/; give a checkpoint path")
    return str(runs[-1])


def run_build(args: argparse.Namespace) -> int:
    from netspec.train import api
    from netspec.train.loop import TrainingInterrupted

    flags = _flags(args)
    resume = args.resume
    if resume == "latest":
        resume = args.out if args.out is not None else _latest_run(args.spec)
    if args.dry_run:
        with _stdout_for(args.json):
            info = api.dry_run(args.spec, flags, args.sets, resume=resume, out=args.out, expect=not args.ignore_expect)
        if args.json:
            print(json.dumps(info, indent=2, default=str))
        else:
            shapes = ", ".join(f"{tuple(s)} {d}" for s, d in zip(info["batch_shapes"], info["batch_dtypes"]))
            sub = info.get("dry_run_subset")
            print(f"{info['spec']}: task {info['task']}, data {info['data']} "
                  f"({info['train_samples']} train / {info['val_samples']} val"
                  + (f"; a dry run prepares only {sub} samples of large inputs)" if sub else ")"))
            print(f"one batch {shapes} on {info['device']}: {info['loss_name']} loss {info['loss']:.4f}, "
                  f"backward ok" + ("" if sub else f"; {info['steps_per_epoch']} step"
                                                  f"{'s' if info['steps_per_epoch'] != 1 else ''} per epoch"))
            if info.get("weights"):
                print(info["weights"])
            for note in info.get("notes", ()):
                print(note)
            for line in info.get("warnings", ()):
                print(line)
            print("dry run ok: nothing trained, nothing written")
        return 0
    try:
        with _stdout_for(args.json):
            summary = api.train(args.spec, flags, args.sets, out=args.out, resume=resume,
                                progress=args.progress, quiet=args.quiet, expect=not args.ignore_expect)
    except TrainingInterrupted as exc:
        print(f"netspec: {exc}", file=sys.stderr)
        return 130
    from netspec.train.runtime import dist_env

    if dist_env()[0] == 0:
        if args.json:
            print(json.dumps({k: v for k, v in summary.items() if k != "report"}, indent=2, default=str))
        else:
            print(summary["report"])
    return 0


def _stdout_for(json_output: bool) -> Any:
    """With --json, stdout carries only the JSON: everything else printed meanwhile goes to stderr."""
    import contextlib

    return contextlib.redirect_stdout(sys.stderr) if json_output else contextlib.nullcontext()


def run_eval(args: argparse.Namespace) -> int:
    from netspec.train import api

    with _stdout_for(args.json):
        result = api.evaluate(args.spec, args.checkpoint, _flags(args), args.sets)
    if result.get("picked"):
        print(f"note: {result['picked']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    metrics = "  ".join(f"{k} {v:.2%}" if "accuracy" in k else f"{k} {v:.4f}" for k, v in result.items()
                        if isinstance(v, float))
    print(f"{result['checkpoint']} (epoch {result['epoch']}) on {result['data']}, {result['split']} "
          f"({result['samples']} samples): {metrics}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from netspec.train import api

    if args.first is not None and args.first < 1:
        raise UsageError(f"--first must be a whole number {bounds_text(1)}, got {typed(args.first)}")
    from pathlib import Path

    run = Path(args.checkpoint)
    if run.is_dir() and (run / "last.pt").is_file():  # else the loader says it is not a run directory
        print(f"note: {run} is a run directory: using its last.pt"
              + (f" (best.pt holds the best epoch: --checkpoint {run / 'best.pt'})" if (run / "best.pt").is_file()
                 else ""), file=sys.stderr)
    notes: list[str] = []
    lines = api.predict(args.spec, args.checkpoint, args.inputs, None if args.first is None else int(args.first), every=args.every, notes=notes)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for line in lines:
        print(line)
    return 0
