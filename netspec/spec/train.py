"""The ``train:`` section of a spec, validated (pydantic v2, ``extra="forbid"``).

This module must not import torch: ``netspec check`` validates the whole spec, ``train:`` included,
without it. Every field can be overridden from the command line (``netspec build --epochs 3 --lr 1e-3``,
or any field with ``--set optimizer.betas=[0.9,0.99]``); :func:`apply_overrides` merges them and
validates again, so a bad flag gets the same message as a bad spec entry.

Shorthands: ``task: vae``, ``data: digits`` (or a file path), ``optimizer: adam``, ``schedule: cosine``
are the same as ``{name: ...}``.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from netspec.core.fmt import bounds_text, show

TASKS = ("auto", "classification", "regression", "forecasting", "reconstruction", "vae", "gan", "seq2seq",
         "word2vec", "rbm", "dbn")
DATASETS = ("auto", "digits", "mnist", "fashion_mnist", "cifar10", "sine", "reversal", "parity", "text",
            "logic", "sentiment", "captions", "trees", "folder", "npz", "pt", "csv", "random")
GATES = ("and", "or", "xor", "nand", "nor", "xnor", "majority")
FILE_DATASETS = ("folder", "npz", "pt", "csv")
OPTIMIZERS = ("sgd", "adam", "adamw", "adagrad", "rmsprop")
SCHEDULES = ("none", "step", "multistep", "cosine", "plateau", "exponential")
LOSSES = ("auto", "cross_entropy", "nll", "mse", "l1", "smooth_l1", "huber", "bce", "bce_logits")
PRECISIONS = ("fp32", "bf16", "fp16")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _typed(cls, v: Any, info: Any) -> Any:
        """Numbers and booleans are typed, as the JSON Schema says: ``epochs: true`` or ``"10"`` is refused."""
        from netspec.layers.base import scalar_value

        annotation = cls.model_fields[info.field_name].annotation
        if not_finite(v) and _takes_numbers(annotation) and not (isinstance(v, str) and _takes_numbers(annotation, str)):
            # nan and the infinities (.nan, .inf, 1e999, or 'nan' written as a word) are no training value: one
            # reason wherever the number came from (a spec, --set, a flag: cli.args.flag_number), before a
            # range check would call .nan "not > 0" or let weight_decay: .inf through
            raise PydanticCustomError("finite_number", "Input should be a finite number")
        return scalar_value(annotation, v)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """``optimizer: adam`` means ``optimizer: {name: adam}``."""
        if isinstance(data, str) and "name" in cls.model_fields:
            return {"name": data}
        return data


NON_FINITE_WORDS = ("nan", "inf", "infinity")


def not_finite(v: Any) -> bool:
    """``v`` is NaN or an infinity: a float (YAML's ``.nan``, ``.inf``, ``1e999``) or one spelled as a word
    (``nan``, ``-inf``, ``Infinity``: YAML reads those as strings, Python's ``float`` as numbers)."""
    import math

    if isinstance(v, float):
        return not math.isfinite(v)
    return isinstance(v, str) and v.strip().lower().lstrip("+-") in NON_FINITE_WORDS


def _takes_numbers(annotation: Any, *kinds: type) -> bool:
    """A field whose type is (or may be) an int or a float (or one of ``kinds``: ``str`` for a csv column
    that may be a name, even 'nan')."""
    import typing

    args = typing.get_args(annotation)
    return annotation in (kinds or (int, float)) or any(_takes_numbers(a, *kinds) for a in args)


def numbers_of(v: Any, key: str, parts: tuple[str, ...] | None, example: str, whole: bool = False) -> Any:
    """A list-valued option checked before pydantic reads it, so one message says what it takes
    (``betas takes two numbers (beta1, beta2), got 1: [0.9]``) in a spec, the DSL and ``--set`` alike,
    instead of pydantic's per-item and tuple-arity errors. ``parts``: the names of a fixed number of
    items (None: any number); ``whole``: whole numbers only.

    Raises:
        ValueError: not a list, the wrong count, or an item that is not a number."""
    what = "whole numbers" if whole else "numbers"
    takes = (f"{key} takes {_COUNT.get(len(parts), len(parts))} {what} ({', '.join(parts)})" if parts
             else f"{key} takes a list of {what}")
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list):
        raise ValueError(f"{takes}, e.g. {example}; got {show(v)}")
    if parts and len(v) != len(parts):
        raise ValueError(f"{takes}, got {len(v)}: {show(v)}")
    for i, item in enumerate(v):
        if not_finite(item):
            raise ValueError(f"{takes}, e.g. {example}; item {i + 1} is {show(item)}, not a finite number")
        ok = isinstance(item, (int, float)) and not isinstance(item, bool)
        if not ok or (whole and isinstance(item, float) and not item.is_integer()):
            raise ValueError(f"{takes}, e.g. {example}; item {i + 1} is {show(item)}")
    return [int(item) for item in v] if whole else v


_COUNT = {1: "one", 2: "two", 3: "three", 4: "four"}


class TaskConfig(_Model):
    """What is learnt, and the options of that task family."""

    name: Literal[TASKS] = Field(default="auto", description="task; 'auto' infers it from the networks")  # type: ignore[valid-type]
    noise: float = Field(default=0.0, ge=0,
                         description="reconstruction: std of Gaussian noise added to inputs (denoising)")
    mask: float = Field(default=0.0, ge=0, lt=1, description="reconstruction: fraction of inputs zeroed (denoising)")
    kl_weight: float = Field(default=1.0, ge=0, description="vae: weight of the KL term (beta)")
    d_steps: int = Field(default=1, ge=1, le=100, description="gan: discriminator steps per generator step")
    label_smoothing: float = Field(default=0.0, ge=0, lt=1, description="classification/gan: label smoothing")
    teacher_forcing: float = Field(default=1.0, ge=0, le=1,
                                   description="seq2seq: probability of feeding the true token")
    cd_k: int = Field(default=1, ge=1, le=1000, description="rbm/dbn: Gibbs steps of contrastive divergence")
    mode: Literal["auto", "cbow", "skipgram"] = Field(default="auto", description="word2vec: CBOW or skip-gram pairs")
    horizon: int = Field(default=1, ge=1, description="forecasting: steps ahead to predict")


class DataConfig(_Model):
    """Where the samples come from. ``auto`` picks the task's offline default (digits, sine, ...)."""

    name: Literal[DATASETS] = Field(default="auto", description="data set name, or a file kind (folder, npz, pt, csv)")  # type: ignore[valid-type]
    path: str | None = Field(default=None, description="file or folder for folder/npz/pt/csv/text")
    val_path: str | None = Field(default=None, description="a separate validation file/folder (same kind)")
    root: str | None = Field(default=None, description="download/cache folder for torchvision data sets")
    download: bool = Field(default=True, description="download torchvision data sets when not cached")
    subset: int | None = Field(default=None, ge=1, description="N random samples (fixed seed), before val_split")
    resize: bool | None = Field(default=None,
                                description="resize images to the network input (default: only for digits)")
    normalize: bool = Field(default=False, description="standardize features to mean 0, std 1 (training statistics)")
    target: Union[int, str, None] = Field(default=None, description="csv: target column (name or index; default last)")
    samples: int = Field(default=2000, ge=2, le=10_000_000, description="synthetic data: number of samples")
    length: int = Field(default=20, ge=1, le=100_000, description="synthetic sequences: length (binds a symbolic T)")
    vocab: int | None = Field(default=None, ge=3,
                              description="reversal/text: vocabulary size (default: from the network)")
    window: int = Field(default=2, ge=1, le=50, description="word2vec: context words each side")
    binarize: bool = Field(default=False, description="threshold pixel values at 0.5 (RBMs)")
    gates: list[Literal[GATES]] | None = Field(  # type: ignore[valid-type]
        default=None, description="logic: the gate computed by each output (default: and, or, xor, ... in turn)")
    noise: float = Field(default=0.0, ge=0, description="logic: std of Gaussian noise added to the 0/1 inputs")

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            guessed = guess_data(data)
            if "path" not in guessed and guessed["name"] not in DATASETS:  # neither a name nor a path: said here,
                message, hint = unknown_data(data)  # with the names and that a path is taken too
                raise PydanticCustomError("value_error", message, {"hint": hint})
            return guessed
        return data

    @field_validator("gates", mode="before")
    @classmethod
    def _gates(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, (list, tuple)):
            raise ValueError(f"gates takes a list of gates, one per output, e.g. [and, xor]; got {show(v)}")
        return v

    @model_validator(mode="after")
    def _needs_path(self) -> "DataConfig":
        if self.name in FILE_DATASETS and not self.path:
            raise ValueError(f"data '{self.name}' needs a 'path'")
        return self


class OptimizerConfig(_Model):
    """The notes' optimizers: SGD (momentum, Nesterov), Adam, AdamW, Adagrad, RMSprop."""

    name: Literal[OPTIMIZERS] = "adam"  # type: ignore[valid-type]
    lr: float = Field(default=1e-3, gt=0, le=100, description="learning rate")
    momentum: float = Field(default=0.0, ge=0, lt=1, description="sgd/rmsprop momentum")
    nesterov: bool = Field(default=False, description="sgd: Nesterov momentum (needs momentum > 0)")
    weight_decay: float = Field(default=0.0, ge=0, description="L2 penalty (decoupled for adamw)")
    betas: tuple[float, float] = Field(default=(0.9, 0.999), description="adam/adamw moment decay rates")
    eps: float | None = Field(default=None, gt=0, description="denominator epsilon (default: torch's)")
    alpha: float = Field(default=0.99, gt=0, lt=1, description="rmsprop smoothing constant")
    group_lr: dict[str, float] = Field(default_factory=dict, description="learning rates of named layers or groups "
                                       "({layer4: 1e-4}); the longest matching name wins, the rest take lr")

    @field_validator("group_lr", mode="before")
    @classmethod
    def _group_lr(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError(f"group_lr takes a mapping of layer or group names to learning rates, e.g. "
                             f"{{layer4: 1e-4}}; got {show(v)}")
        for name, lr in v.items():
            if not_finite(lr):
                raise ValueError(f"group_lr: the learning rate of '{name}' must be a finite number, got {show(lr)}")
            if isinstance(lr, (int, float)) and not isinstance(lr, bool) and not 0 < lr <= 100:
                raise ValueError(f"group_lr: the learning rate of '{name}' must be "
                                 f"{bounds_text(0, 100, low_open=True)}, got {show(lr)}")
        return v

    @field_validator("betas", mode="before")
    @classmethod
    def _betas(cls, v: Any) -> Any:
        v = numbers_of(v, "betas", ("beta1", "beta2"), "[0.9, 0.999]")
        if not all(0 <= b < 1 for b in v):
            raise ValueError(f"each of betas must be {bounds_text(0, 1, high_open=True)}, got {show(v)}")
        return v

    @model_validator(mode="after")
    def _nesterov(self) -> "OptimizerConfig":
        # nesterov under another optimizer is ignored, as betas under sgd is (a warning: netspec.spec.recipe)
        if self.nesterov and self.name == "sgd" and self.momentum <= 0:
            raise ValueError("nesterov needs optimizer 'sgd' with momentum > 0 (e.g. momentum: 0.9)")
        return self


class ScheduleConfig(_Model):
    """Learning-rate schedule, with an optional linear warm-up first."""

    name: Literal[SCHEDULES] = "none"  # type: ignore[valid-type]
    step_size: int = Field(default=10, ge=1, description="step: epochs between decays")
    gamma: float = Field(default=0.1, gt=0, le=1, description="step/multistep/exponential: factor (0.1 divides by 10)")
    milestones: list[int] = Field(default_factory=list, description="multistep: epochs at which to decay")
    min_lr: float = Field(default=0.0, ge=0, description="cosine/plateau: lower bound")
    patience: int = Field(default=3, ge=0, description="plateau: epochs without improvement before decaying")
    factor: float = Field(default=0.1, gt=0, lt=1, description="plateau: decay factor")
    warmup_epochs: float = Field(default=0.0, ge=0, description="linear warm-up length (epochs; fractions allowed)")

    @field_validator("milestones", mode="before")
    @classmethod
    def _milestones(cls, v: Any) -> Any:
        return numbers_of(v, "milestones", None, "[30, 60]", whole=True)


class ClipConfig(_Model):
    """Gradient clipping (the notes' cure for exploding gradients)."""

    norm: float | None = Field(default=None, gt=0, description="clip the global gradient norm to this")
    value: float | None = Field(default=None, gt=0, description="clip every gradient element to ±value")


class WeightsConfig(_Model):
    """A state dict to start from (``weights: resnet18.pth`` is ``{path: resnet18.pth}``)."""

    path: str = Field(description="a .pt/.pth state dict, or a netspec checkpoint; loaded by name, else by structure")
    partial: bool = Field(default=False, description="load what fits, keep the rest as initialised (a new head)")

    @model_validator(mode="before")
    @classmethod
    def _path_shorthand(cls, data: Any) -> Any:
        return {"path": data} if isinstance(data, str) else data


class TrainConfig(_Model):
    """A training recipe: ``netspec build`` reads it; every field can be overridden from the CLI."""

    task: TaskConfig = Field(default_factory=TaskConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    loss: Literal[LOSSES] = Field(default="auto", description="loss; 'auto' is the task's usual one")  # type: ignore[valid-type]
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    clip: ClipConfig = Field(default_factory=ClipConfig)
    epochs: int = Field(default=10, ge=1, le=1_000_000)
    batch_size: int = Field(default=64, ge=1, le=1 << 20, description="global batch size (split across processes)")
    eval_batch_size: int | None = Field(default=None, ge=1, description="default: 4 × batch_size")
    val_split: float = Field(default=0.1, ge=0, lt=1, description="fraction held out for validation")
    seed: int = Field(default=0, ge=0, lt=1 << 63)
    device: str = Field(default="auto", pattern=r"^(auto|cpu|cuda|cuda:\d+|mps)$",
                        description="auto: CUDA if available")
    precision: Literal[PRECISIONS] = Field(default="fp32", description="mixed precision (CUDA)")  # type: ignore[valid-type]
    compile: bool = Field(default=False, description="torch.compile the model")
    channels_last: Union[Literal["auto"], bool] = Field(default="auto", description="auto: for conv nets on CUDA")
    data_on_device: Union[Literal["auto"], bool] = Field(default="auto",
                                                         description="keep in-memory data on the device")
    workers: int | None = Field(default=None, ge=0, le=256, description="DataLoader workers (file-backed data "
                                "sets); default: the cores left free")
    threads: int | None = Field(default=None, ge=1, le=1024, description="CPU threads for torch; default: the "
                                "cores free, one for a small model")
    patience: int | None = Field(default=None, ge=1, description="stop after this many epochs without improvement")
    monitor: Literal["auto", "val_loss", "val_accuracy", "train_loss"] = Field(
        default="auto", description="metric for best.pt and early stopping")
    checkpoint_steps: int | None = Field(default=None, ge=1, description="also write last.pt every N steps")
    weights: WeightsConfig | None = Field(default=None, description="initial weights (not on resume)")

    @model_validator(mode="before")
    @classmethod
    def _data_path(cls, data: Any) -> Any:
        """``data: imgs`` is the folder ``imgs`` where one exists, as ``--data imgs`` is: a spec's
        shorthand relative to the spec's folder (read from where it is written), ``--set data=imgs`` and a
        spec given as text relative to the working directory (:func:`data_shorthand`)."""
        if not isinstance(data, dict) or not isinstance(data.get("data"), str):
            return data
        import os

        where = data.where("data") if hasattr(data, "where") else None
        file = where.file if where is not None else None
        base = os.path.dirname(file) if file and os.path.isfile(file) else None
        read = data_shorthand(data["data"], base)
        return {**data, "data": read} if "path" in read else data  # a name: DataConfig reads (or refuses) it

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# the file types the trainer reads (netspec.train.data.DATA_FILE_TYPES says what each holds) -> their data kind
DATA_SUFFIXES = {".npz": "npz", ".npy": "npz", ".pt": "pt", ".pth": "pt", ".csv": "csv", ".tsv": "csv",
                 ".txt": "text"}


def guess_data(value: str) -> dict[str, Any]:
    """``data: digits`` or ``data: path/to/file.npz`` -> a DataConfig mapping, from the text alone: a data
    set's name (or alias), else a path by its look (a data file's suffix, a slash, a leading dot), else
    ``{"name": value}``. :func:`data_shorthand` also looks for a file or folder of that name."""
    low = value.lower().replace("-", "_")
    aliases = {"fashionmnist": "fashion_mnist", "cifar": "cifar10", "cifar_10": "cifar10", "corpus": "text",
               "sklearn_digits": "digits", "reverse": "reversal", "images": "folder"}
    low = aliases.get(low, low)
    if low in DATASETS:
        return {"name": low}
    for suffix, kind in DATA_SUFFIXES.items():
        if low.endswith(suffix):
            return {"name": kind, "path": value}
    if "/" in value or "\\" in value or value.startswith("."):
        return {"name": "folder", "path": value}
    return {"name": value}  # fails validation with the list of names


def data_shorthand(value: str, base: str | None = None) -> dict[str, Any]:
    """``data: VALUE`` as a DataConfig mapping, one meaning wherever it is written (a spec's ``train:``,
    ``--set data=VALUE``, ``--data VALUE``): a data set's name is that data set, even beside a file or
    folder of that name (``./digits`` is the folder); a value that looks like a path is that path
    (:func:`guess_data`); any other value naming an existing folder is that folder of images, and the kind
    words ``folder``/``images`` name one where it exists. ``base``: the folder a relative path is read from
    (a spec's own folder; None: the working directory). Anything else is left as a name, which validation
    refuses with the names (:func:`unknown_data`)."""
    import os

    guessed = guess_data(value)
    if "path" in guessed:
        return guessed
    place = os.path.join(base, os.path.expanduser(value)) if base else os.path.expanduser(value)
    kind_word = guessed["name"] in FILE_DATASETS  # 'folder', 'images': a kind without a path
    if (kind_word or guessed["name"] not in DATASETS) and os.path.isdir(place):
        return {"name": "folder", "path": value}
    return guessed


def unknown_data(value: str) -> tuple[str, str]:
    """The message and hint for a ``data`` value that is neither a data set's name nor a file or folder."""
    from netspec.core.errors import did_you_mean

    names = ", ".join(d for d in DATASETS if d not in ("auto", *FILE_DATASETS))
    close = did_you_mean(value, [d for d in DATASETS if d != "auto"])
    paths = (f"give a path: a data file ({' '.join(DATA_SUFFIXES)}) or a folder of images (one sub-folder per "
             "class), relative to the spec's folder in a spec, to the working directory on the command line")
    return (f"unknown value {show(value, 40)}: neither a data set ({names}) nor an existing file or folder",
            f"{close} or {paths}" if close else paths)


def anchor_paths(cfg: TrainConfig, base_dir: str) -> TrainConfig:
    """The recipe with the relative paths of a spec file (``data.path``, ``val_path``, ``root`` and
    ``weights.path``) made absolute against ``base_dir``, the spec file's folder, as ``imports:`` are: a
    spec's files are found wherever the command runs (paths given on the command line stay relative to
    the working directory)."""
    import os

    def anchored(value: str) -> str:
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(base_dir, value))

    update: dict[str, Any] = {}
    data = {key: anchored(getattr(cfg.data, key)) for key in ("path", "val_path", "root") if getattr(cfg.data, key)}
    if data:
        update["data"] = cfg.data.model_copy(update=data)
    if cfg.weights is not None and cfg.weights.path:
        update["weights"] = cfg.weights.model_copy(update={"path": anchored(cfg.weights.path)})
    return cfg.model_copy(update=update) if update else cfg


# --- command-line overrides ---------------------------------------------------------------------------
# flag dest -> dotted field
FLAG_FIELDS = {
    "task": "task.name", "data": "data", "subset": "data.subset", "loss": "loss",
    "optimizer": "optimizer.name", "lr": "optimizer.lr", "momentum": "optimizer.momentum",
    "nesterov": "optimizer.nesterov", "weight_decay": "optimizer.weight_decay",
    "schedule": "schedule.name", "warmup": "schedule.warmup_epochs",
    "clip_norm": "clip.norm", "clip_value": "clip.value",
    "epochs": "epochs", "batch_size": "batch_size", "val_split": "val_split", "seed": "seed",
    "device": "device", "precision": "precision", "compile": "compile", "channels_last": "channels_last",
    "workers": "workers", "patience": "patience", "threads": "threads",
    "weights": "weights.path", "partial": "weights.partial",
}


def _as_mapping(section: Any, key: str) -> dict[str, Any]:
    if isinstance(section, str):
        return dict(guess_data(section)) if key == "data" else {"name": section}
    return dict(section or {})


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree['a']['b'] = value`` for ``'a.b'`` (string shorthands expanded on the way)."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        node[part] = _as_mapping(node.get(part), part)
        node = node[part]
    node[parts[-1]] = value


class TypedFloat(float):
    """A number from the command line that remembers the text typed (``--lr 1e-400``): a message quotes that
    text, never the float it became (``0.0``). :func:`apply_overrides` validates the plain number."""

    text: str

    def __new__(cls, value: float, text: str) -> "TypedFloat":
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


class TypedInt(int):
    """A whole number from the command line that remembers the text typed (``--epochs +0``), as
    :class:`TypedFloat` does."""

    text: str

    def __new__(cls, value: int, text: str) -> "TypedInt":
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


_NUMBER = r"[+-]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def parse_value(text: str) -> Any:
    """A ``--set`` value: YAML scalars and lists (``3``, ``1e-3``, ``true``, ``[0.9, 0.99]``, ``adam``). A
    number YAML 1.1 leaves as a string (``1e-3``, ``+1e3``) is a number, as ``--lr`` reads it; NaN or an
    infinity spelled as a word (``nan``, ``-inf``) stays a word, as in a spec: a number field refuses it
    as not finite (:func:`not_finite`), a field that also takes names (``data.target``) takes it."""
    import re

    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) and re.fullmatch(_NUMBER, value.strip()):
        try:
            return float(value)
        except ValueError:
            pass
    return value


def underflows(text: str) -> bool:
    """``text`` is a number that is not zero but reads as 0.0 in a float (``1e-400``: smaller than 5e-324)."""
    import re

    try:
        zero = float(text) == 0
    except ValueError:
        return False
    mantissa = re.split(r"[eE]", text.strip(), maxsplit=1)[0]
    return zero and any(c in "123456789" for c in mantissa)


def apply_overrides(base: TrainConfig | dict[str, Any] | None, flags: dict[str, Any] | None = None,
                    sets: list[str] | None = None) -> TrainConfig:
    """The spec's recipe with command-line values on top, validated again.

    Raises:
        UsageError: a value that does not validate, naming the flag.
    """
    from netspec.core.errors import UsageError

    tree: dict[str, Any]
    if isinstance(base, TrainConfig):
        tree = base.model_dump(mode="json", exclude_defaults=True)
    else:
        tree = dict(base or {})
    origin: dict[str, str] = {}  # section -> the last flag that set something in it
    exact: dict[str, str] = {}  # dotted key -> the flag that set it
    typed: dict[str, str] = {}  # dotted key -> the number as it was typed (a message quotes it)
    for dest, value in (flags or {}).items():
        if value is None or dest not in FLAG_FIELDS:
            continue
        field = FLAG_FIELDS[dest]
        if isinstance(value, (TypedFloat, TypedInt)):
            typed[field] = value.text.strip()
            value = float(value) if isinstance(value, float) else int(value)
        else:
            typed.pop(field, None)
        if field == "data" and isinstance(value, str):
            tree["data"] = {**{k: v for k, v in _as_mapping(tree.get("data"), "data").items()
                               if k not in ("name", "path")}, **guess_data(value)}
        else:
            set_dotted(tree, field, value)
        origin[field.split(".")[0]] = exact[field] = "--" + dest.replace("_", "-")
    for item in sets or []:
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("train.")
        if not sep or not key:
            raise UsageError(f"--set takes KEY=VALUE (e.g. optimizer.betas=[0.9,0.99]), got '{item}'")
        value = parse_value(text)
        set_dotted(tree, key, value)
        origin[key.split(".")[0]] = exact[key] = f"--set {key}"
        if (isinstance(value, (int, float)) and not isinstance(value, bool)) or not_finite(value):
            typed[key] = text.strip()  # a number (or nan, inf) as typed
        else:
            typed.pop(key, None)
    try:
        return TrainConfig.model_validate(tree)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            parts = [str(p) for p in err["loc"] if not str(p).startswith(("literal", "function"))]
            loc = ".".join(parts)
            given = next((".".join(parts[:n]) for n in range(len(parts), 0, -1) if ".".join(parts[:n]) in exact), None)
            below = [k for k in exact if k.startswith(loc + ".")] if loc else []
            if given is not None and given != loc and exact[given].startswith("--set "):
                # --set data.gates=[and, nott]: "--set data.gates[2]: ..."
                flag = exact[given] + "".join(f"[{int(p) + 1}]" if p.isdigit() else f".{p}"
                                              for p in parts[given.count(".") + 1:])
                loc = flag[6:]
            elif given is None and len(below) == 1:  # a section's own check, about the one key given in it
                flag = exact[below[0]]
                loc = flag[6:] if flag.startswith("--set ") else loc
            elif given == loc:
                flag = exact[loc]
            else:
                flag = origin.get(loc, origin.get(loc.split(".")[0], "train:"))
            msg = _in_words(err, typed.get(loc) if given == loc else None)
            if err["type"] == "extra_forbidden":
                from netspec.core.errors import did_you_mean

                msg = "unknown key"
                parent = _field_model(loc.rsplit(".", 1)[0]) if "." in loc else TrainConfig
                hint = did_you_mean(loc.rsplit(".", 1)[-1], list(parent.model_fields) if parent else [])
                msg += f"; {hint}" if hint else ""
            named = flag.startswith("--") and (not flag.startswith("--set ") or flag[6:] == loc)
            lines.append(f"{flag}: {msg}" if named else f"{flag} {loc}: {msg}")
        raise UsageError("invalid training option: " + "; ".join(lines)) from None


def _in_words(err: Any, typed: str | None = None) -> str:
    """A pydantic error about a training option in the user's words, with the value given (and a 'did
    you mean' for a misspelled choice). ``typed``: the number as the command line typed it, quoted instead
    of the value it became (``1e-400``, not ``0.0``; ``+5``, not ``5``)."""
    import re

    from netspec.core.errors import did_you_mean

    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown = typed if typed is not None and not isinstance(value, (dict, list)) else show(value, 40)
    got = f", got {shown[:40]}" if value is not None else ""
    bounds = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt"}
    number = "a whole number" if _whole(err["loc"]) else "a number"  # as the spec's messages say: "a whole number ≥ 1"
    if kind in bounds:  # in core.fmt.bounds_text's words, as every range is written: "≥ 1", "> 0"
        limit = ctx.get(bounds[kind])
        low = kind.startswith("greater")
        text = bounds_text(limit if low else None, None if low else limit, kind == "greater_than", kind == "less_than")
        if typed is not None and underflows(typed):
            got += " (too small for a float: it underflows to 0; the smallest is about 5e-324)"
        return f"must be {number} {text}{got}"
    if kind == "finite_number":
        return f"must be a finite number{got}"
    if kind == "value_error" and ctx.get("hint"):  # a validator's message with its hint (unknown_data)
        return f"{str(err['msg'])[:1].lower()}{str(err['msg'])[1:]}; hint: {ctx['hint']}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else None
        return f"unknown value {show(value, 40)}" + (f"; {hint}" if hint else f" (choose from {', '.join(choices)})")
    msg = str(err["msg"]).removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:]


def _whole(loc: tuple[Any, ...]) -> bool:
    """Whether the training option at ``loc`` (a pydantic error's) takes whole numbers (its JSON Schema's type is
    ``integer``): a range refused is then "a whole number ≥ 1", as the spec's messages say it."""
    from netspec.spec.problems import field_range, model_at

    steps = tuple(p for p in loc if not str(p).startswith(("literal", "function")))
    if not steps or not isinstance(steps[-1], str):
        return False
    return field_range(model_at(TrainConfig, steps[:-1]), steps[-1]).startswith("a whole number")


def _field_model(name: str) -> type[BaseModel] | None:
    field = TrainConfig.model_fields.get(name)
    ann = getattr(field, "annotation", None) if field else None
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
