"""Options of the training recipe that the chosen optimizer, schedule, task, loss or data set does not
take: said, never dropped silently. Torch-free: ``netspec check`` imports it.

A recipe may hold options for a choice other than the one in force: ``betas`` (Adam's) under
``optimizer: {name: sgd}``, or a spec written for Adam trained with ``--optimizer sgd``. Refusing them
would break such overrides, so each is a warning at the place it was written (the spec's line, or the
flag that gave it), naming what chose the other option and which choices take it:

    spec.yaml:12:5: warning: train.optimizer.betas: ignored: optimizer 'sgd' does not take it (adam and adamw do)

``netspec check`` shows them after the table (``--strict`` makes them errors, as it does the layers'
warnings); ``netspec build`` (and ``--dry-run``) with the flags applied and the task and data set that
``auto`` stands for resolved.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel

from netspec.core.errors import Problem, did_you_mean
from netspec.spec.train import FLAG_FIELDS, TASKS, TrainConfig

# option (dotted, under train:) -> (the option whose value chooses, the values that take the option). An
# option not listed is taken by every choice (lr, weight_decay, warmup_epochs, ...).
TAKEN_BY: dict[str, tuple[str, tuple[str, ...]]] = {
    # torch.optim's keyword arguments (netspec.train.schedule.OPTIMIZER_TABLE reads these)
    "optimizer.momentum": ("optimizer.name", ("sgd", "rmsprop")),
    "optimizer.nesterov": ("optimizer.name", ("sgd",)),
    "optimizer.betas": ("optimizer.name", ("adam", "adamw")),
    "optimizer.eps": ("optimizer.name", ("adam", "adamw", "adagrad", "rmsprop")),
    "optimizer.alpha": ("optimizer.name", ("rmsprop",)),
    # netspec.train.schedule.LRSchedule
    "schedule.step_size": ("schedule.name", ("step",)),
    "schedule.gamma": ("schedule.name", ("step", "multistep", "exponential")),
    "schedule.milestones": ("schedule.name", ("multistep",)),
    "schedule.min_lr": ("schedule.name", ("cosine", "plateau")),
    "schedule.patience": ("schedule.name", ("plateau",)),
    "schedule.factor": ("schedule.name", ("plateau",)),
    # the task families (netspec/train/tasks/)
    "task.noise": ("task.name", ("reconstruction", "vae")),
    "task.mask": ("task.name", ("reconstruction", "vae")),
    "task.kl_weight": ("task.name", ("vae",)),
    "task.d_steps": ("task.name", ("gan",)),
    "task.label_smoothing": ("task.name", ("classification", "gan")),
    "task.teacher_forcing": ("task.name", ("seq2seq",)),
    "task.cd_k": ("task.name", ("rbm", "dbn")),
    "task.mode": ("task.name", ("word2vec",)),
    "task.horizon": ("task.name", ("regression", "forecasting")),
    # a GAN picks its own binary cross-entropy; RBMs train by contrastive divergence
    "loss": ("task.name", tuple(t for t in TASKS if t not in ("auto", "gan", "rbm", "dbn"))),
    # the data sets (netspec.train.data, netspec/train/tasks/)
    "data.gates": ("data.name", ("logic",)),
    "data.noise": ("data.name", ("logic",)),
    "data.target": ("data.name", ("csv",)),
    # the files read (netspec.train.data.load_dataset, word2vec's corpus); a built-in data set reads none
    "data.path": ("data.name", ("folder", "npz", "pt", "csv", "text")),
    "data.val_path": ("data.name", ("folder", "npz", "pt", "csv")),
    "data.root": ("data.name", ("mnist", "fashion_mnist", "cifar10")),
    "data.download": ("data.name", ("mnist", "fashion_mnist", "cifar10")),
}

# channels_last: true on a model without convolutions (check reads it from the IR, build from the module)
NO_CONVOLUTION = "ignored: the model has no convolution (channels-last is the memory format of convolution inputs)"

A_CHOICE = {"optimizer": "an optimizer", "schedule": "a schedule", "task": "a task", "data": "a data set"}
DEFAULT_VALUES = {"loss": "auto", "task.mode": "auto"}  # written with its neutral value: asks for nothing


class Ignored(NamedTuple):
    """One option given that the choice in force does not take."""

    key: str  # dotted under train:, e.g. "optimizer.betas"
    given_by: str  # "" (the spec) or the flag that gave it ("--set optimizer.betas", "--momentum")
    chooser: str  # the option that chose, e.g. "optimizer.name"
    chosen: str  # its value, e.g. "sgd"
    chosen_by: str  # "" (the spec), "the default", "inferred", "the task's default", or a flag
    takers: tuple[str, ...]

    @property
    def subject(self) -> str:
        return self.given_by or f"train.{self.key}"

    @property
    def what(self) -> str:
        return self.chooser.split(".")[0]

    def message(self) -> str:
        what = self.what
        how = {"": "", "inferred": " (inferred from the networks)"}.get(self.chosen_by, f" ({self.chosen_by})")
        takers = list(self.takers)
        them = takers[0] if len(takers) == 1 else ", ".join(takers[:-1]) + " and " + takers[-1]
        return (f"ignored: {what} '{self.chosen}'{how} does not take {self.key.split('.')[-1]} "
                f"({them} {'does' if len(takers) == 1 else 'do'})")

    def hint(self) -> str:
        if self.chosen_by.startswith("--") and not self.given_by:  # the spec's option, a flag's choice
            return f"{self.chosen_by} replaced the spec's {self.what}; the option applies again without it"
        drop = f"drop {self.given_by}" if self.given_by else "remove it"
        return f"{drop}, or choose {A_CHOICE[self.what]} that takes it"


def written(cfg: BaseModel, prefix: str = "") -> set[str]:
    """The dotted keys a recipe was given (not its defaults): pydantic's ``model_fields_set``, nested."""
    out: set[str] = set()
    for key in cfg.model_fields_set:
        out.add(prefix + key)
        value = getattr(cfg, key)
        if isinstance(value, BaseModel):
            out |= written(value, f"{prefix}{key}.")
    return out


def flag_keys(flags: dict[str, Any] | None, sets: list[str] | None) -> dict[str, str]:
    """The dotted keys the command line sets, each with the flag that set it (the last one wins, as in
    :func:`netspec.spec.train.apply_overrides`)."""
    out: dict[str, str] = {}
    for dest, value in (flags or {}).items():
        if value is None or dest not in FLAG_FIELDS:
            continue
        field = FLAG_FIELDS[dest]
        flag = "--" + dest.replace("_", "-")
        shown = f"{flag} {getattr(value, 'text', value)}" if not isinstance(value, bool) else flag  # as typed
        out["data.name" if field == "data" else field] = shown
    for item in sets or []:
        key, _, text = item.partition("=")
        key = key.strip().removeprefix("train.")
        out[key] = f"--set {key}={text.strip()}"
        if key in ("optimizer", "schedule", "task", "data"):  # --set optimizer=sgd: the shorthand
            out[key + ".name"] = out[key]
    return out


def _value(cfg: TrainConfig, dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def ignored_options(cfg: TrainConfig, spec: set[str], flags: dict[str, str] | None = None,
                    resolved: dict[str, str] | None = None) -> list[Ignored]:
    """The options given that the choice in force does not take, in ``TAKEN_BY``'s order.

    Args:
        cfg: the recipe in force (the spec's with the command line's values on top).
        spec: the dotted keys the spec wrote (:func:`written` of its recipe).
        flags: the dotted keys the command line set, with their flags (:func:`flag_keys`).
        resolved: what ``auto`` stands for (``{"task.name": "gan", "data.name": "digits"}``), known once
            the task is made; without it, an ``auto`` choice takes everything.
    """
    flags = flags or {}
    out = []
    for key, (chooser, takers) in TAKEN_BY.items():
        if key not in spec and key not in flags:
            continue
        if DEFAULT_VALUES.get(key, object()) == _value(cfg, key):
            continue
        chosen = _value(cfg, chooser)
        how = flags.get(chooser) or ("" if chooser in spec else "the default")
        if chosen == "auto":
            chosen = (resolved or {}).get(chooser, "auto")
            how = "inferred" if chooser == "task.name" else "the task's default"
        if chosen == "auto" or chosen in takers:
            continue
        out.append(Ignored(key, flags.get(key, ""), chooser, chosen, how, takers))
    return out


def locate(raw: Any, key: str, *more: str) -> Any:
    """Where ``train.<key>`` was written in a raw tree (a PosDict), or None (``more``: keys below it that
    may hold dots themselves, a ``group_lr`` name such as ``layer4.0``)."""
    node = raw
    where = None
    for part in ("train", *key.split("."), *more):
        if not isinstance(node, dict) or part not in node:
            return where
        if hasattr(node, "where"):
            where = node.where(part) or where
        node = node[part]
    return where


def in_group(name: str, key: str) -> bool:
    """``key`` names the parameter ``name`` or a module above it (``layer4`` for ``layer4.0.conv1.weight``):
    how ``optimizer.group_lr`` places parameters (netspec.train.schedule.group_of)."""
    return name == key or name.startswith(key + ".")


def group_lr_problems(cfg: TrainConfig, trainable: list[str], raw: Any = None,
                      flags: dict[str, str] | None = None) -> list[Problem]:
    """The ``optimizer.group_lr`` names that name no trainable parameter of ``trainable`` (the dotted names of
    the model's trainable parameters, as ``named_parameters()`` gives them), each at the place it was written
    (from ``raw``) or naming the flag that gave it. Torch-free: ``check`` reads the names from the IR."""
    problems = []
    tops = sorted({n.split(".")[0] for n in trainable})
    for key in cfg.optimizer.group_lr:
        if any(in_group(n, key) for n in trainable):
            continue
        flags = flags or {}
        flag = flags.get(f"optimizer.group_lr.{key}") or flags.get("optimizer.group_lr") or flags.get("optimizer")
        where = None if flag or raw is None else locate(raw, "optimizer.group_lr", key)
        close = did_you_mean(key, sorted({n.rsplit(".", k)[0] for n in trainable for k in range(1, n.count(".") + 1)}))
        shown = ", ".join(tops[:12]) + (", ..." if len(tops) > 12 else "")
        problems.append(Problem(f"'{key}' names no trainable parameter of the spec", where,
                                flag or "train.optimizer.group_lr",
                                (f"{close} (" if close else "") + "a group_lr key names a layer or group with "
                                f"trainable parameters, or a dotted path below one: {shown or 'the spec has none'}"
                                + (")" if close else "")))
    return problems


def warning_problems(found: list[Ignored], raw: Any = None, no_convolution: str | None = None) -> list[Problem]:
    """The recipe's warnings as Problems, each at the place it was written (from ``raw``, the spec's raw tree)
    or naming the flag that gave it (``path``): the options ``found`` ignored, then, with ``no_convolution``
    (``""``: the spec's ``channels_last: true``; else the flag that asked for it), channels-last on a model
    without convolutions. The one place their words are put together (:func:`warning_lines`,
    :func:`warning_text` only lay them out)."""
    out = [Problem(item.message(), None if item.given_by else locate(raw, item.key), item.subject, item.hint())
           for item in found]  # found in TAKEN_BY's order; said in the order written, the flags' after them
    out.sort(key=lambda p: (p.location.line, p.location.column) if p.location is not None else (1 << 30, 0))
    if no_convolution is not None:
        flag = no_convolution
        out.append(Problem(NO_CONVOLUTION, None if flag else locate(raw, "channels_last"),
                           flag or "train.channels_last", f"drop {flag}" if flag else "remove it"))
    return out


def warning_lines(problems: list[Problem], yellow: str = "", off: str = "") -> list[str]:
    """The recipe's warnings (:func:`warning_problems`) as ``netspec check`` shows a layer's
    (``backends.report.summary.warning_lines``): at the place written, the hint on a line of its own."""
    lines = []
    for p in problems:
        lines.append(f"{f'{p.location}: ' if p.location else ''}{yellow}warning:{off} {p.path}: {p.message}")
        lines.append(f"    hint: {p.hint}")
    return lines


def warning_text(problem: Problem) -> str:
    """One warning of the recipe as a line of ``check --json``'s ``warnings`` (the README's contract):
    ``"file:line:col: train.<option>: <message>; hint: <hint>"``."""
    where = f"{problem.location}: " if problem.location else ""
    return f"{where}{problem.path}: {problem.message}; hint: {problem.hint}"


def spec_tree(source: Any) -> Any:
    """The raw tree (with positions) of a spec given as a path or text, for :func:`locate`; None for a
    spec given as an object, or one that cannot be read again."""
    if not isinstance(source, str) and not hasattr(source, "__fspath__"):
        return None
    from netspec.core.errors import NetspecError
    from netspec.frontends import parse

    try:
        return parse(source)[0]
    except (NetspecError, OSError, ValueError):
        return None
