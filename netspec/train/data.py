"""Data for training: offline defaults, real loaders, and the fit check against the spec's input.

Offline defaults (no download, no files): scikit-learn's bundled ``digits`` (8×8 grey images, 1,797
samples) resized to the network input; synthetic sequences (``sine`` forecasting, ``reversal``,
``parity``); small synthetic tasks (``logic`` truth tables, ``sentiment`` token classification,
``captions`` vector → token sequence, ``trees`` for recursive nets); a small text corpus shipped as
``netspec/data/corpus.txt`` (``text``) for word2vec.
Real loaders: torchvision data sets by name (``mnist``, ``fashion_mnist``, ``cifar10``), an image
``folder`` (one sub-folder per class), ``.npz``/``.pt`` tensor files and ``csv``.

Everything that fits in memory becomes a :class:`TensorSet` (batched by indexing, optionally kept on
the device); an image folder is a lazy :class:`torch.utils.data.Dataset` read through a DataLoader.
A data set whose shape or dtype does not fit the network input raises :class:`DataError` naming both.

Containers and batching live in :mod:`netspec.train.batching`, the synthetic sets in
:mod:`netspec.train.synthetic` and the word2vec corpus in :mod:`netspec.train.text`.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from netspec.core.errors import DataError, UsageError
from netspec.core.types import TensorType, fmt_shape
from netspec.spec.train import DataConfig
from netspec.train.batching import TensorSet, take
from netspec.train.files import file_kind, require_kind

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


# --- fitting samples to a network input -----------------------------------------------------------------
def describe_shape(t: torch.Tensor) -> str:
    return f"{fmt_shape(tuple(t.shape[1:]))} {dtype_name(t)}"


def dtype_name(t: torch.Tensor) -> str:
    return "float" if t.is_floating_point() else "long" if not t.dtype == torch.bool else "bool"


def dims_match(have: Sequence[int], want: Sequence[Any]) -> bool:
    """Whether a sample shape fits a spec shape: numbers equal, each symbolic dim one size throughout."""
    if len(have) != len(want):
        return False
    seen: dict[str, int] = {}
    for h, w in zip(have, want):
        if isinstance(w, str):
            if seen.setdefault(w, h) != h:
                return False
        elif h != w:
            return False
    return True


def mismatch(what: str, x: torch.Tensor, want: TensorType, hint: str = "") -> DataError:
    msg = (f"data does not fit the network input '{what}': the data set's samples are {describe_shape(x)}, "
           f"the spec's input is {fmt_shape(want.shape)} {want.dtype}")
    return DataError(msg + (f"\n    hint: {hint}" if hint else ""))


def check_fit(x: torch.Tensor, want: TensorType, what: str, hint: str = "") -> torch.Tensor:
    """Refuse samples whose shape or dtype does not fit ``want`` (symbolic dims match any size).

    A ``long`` (token id) input takes integers, and floats that are whole numbers (a CSV file, a float
    .npy): see :func:`whole_ids`. An array shaped as one sample (``(5,)`` for an input ``[T]``) is refused
    with that said: a data set holds its samples along the first axis."""
    if not dims_match(tuple(x.shape[1:]), want.shape):
        if x.dim() == len(want.shape) and dims_match(tuple(x.shape), want.shape):
            one = fmt_shape((1, *x.shape))
            hint = (f"the array's shape {fmt_shape(tuple(x.shape))} is the shape of one sample, and a data set holds "
                    f"its samples along the first axis: save it as {one} for one sample")
        raise mismatch(what, x, want, hint)
    if want.dtype == "long":
        return whole_ids(x, what) if x.is_floating_point() else x.long()
    if x.dtype == torch.uint8:
        return pixels(x)
    if not x.is_floating_point():
        return x.float()
    return x.float() if x.dtype != torch.float32 else x


def pixels(x: torch.Tensor) -> torch.Tensor:
    """uint8 samples for a float input are pixels: scaled to [0, 1] (for a long input they are token ids)."""
    return x.float() / 255.0 if x.dtype == torch.uint8 else x


def labels(y: torch.Tensor) -> torch.Tensor:
    """uint8 targets are labels (0-255), not pixels."""
    return y.long() if y.dtype == torch.uint8 else y


ID_LIMIT = 2.0 ** 63  # int64: token ids at or beyond it (or below its negative) have no integer to become


def whole_ids(x: torch.Tensor, what: str) -> torch.Tensor:
    """Floats holding whole numbers (``1.0, 2.0``: a CSV file, a float64 .npy) -> int64 token ids for the
    input ``what``; a fraction, NaN, an infinity or a value beyond int64 is refused with its position
    (``sample 0, position 2``), never truncated.

    Raises:
        DataError: naming the input, the first offending value and where it is."""
    finite = torch.isfinite(x)
    bad = ~finite | (x != torch.round(x)) | (x.abs() >= ID_LIMIT)
    if bool(bad.any()):
        at = [int(i) for i in bad.nonzero()[0]]
        v = float(x[tuple(at)])
        where = f"sample {at[0]}" + (f", position {at[1] if len(at) == 2 else tuple(at[1:])}" if len(at) > 1 else "")
        why = ("is not a number" if math.isnan(v) else "is infinite" if math.isinf(v)
               else "is beyond the range of token ids (int64)" if abs(v) >= ID_LIMIT else "is not a whole number")
        raise DataError(f"the input '{what}' takes token ids (whole numbers): {where} holds {v:g}, which {why}"
                        f"\n    hint: whole numbers written as floats (3.0) are read as ids; a fraction is refused, "
                        f"never truncated")
    return x.long()


def fit_images(x: torch.Tensor, want: TensorType, what: str, resize: bool, source: str) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] -> the network input: (C, H, W), flattened (F,), or rows as a
    sequence (T, F). With ``resize`` the spatial size and channel count are adapted; without, a
    mismatch is refused with both shapes."""
    shape = want.shape
    n, c, h, w = x.shape
    hint = f"set 'data: {{name: {source}, resize: true}}' to resize, or change the input shape"
    if want.dtype != "float":
        raise mismatch(what, x, want, "images are float pixels; a long (token) input needs token data: "
                                      "'data: sentiment' or 'parity' (synthetic token classification), or your own "
                                      "ids in an npz, pt or csv file")
    numeric = all(isinstance(d, int) for d in shape)
    if len(shape) == 3:
        C, H, W = (d if isinstance(d, int) else None for d in shape)
        if (C in (None, c)) and (H in (None, h)) and (W in (None, w)):
            return x
        if not resize or C not in (1, 3, c):
            raise mismatch(what, x, want, hint if C in (1, 3, c) else "")
        if C != c:
            x = x.mean(1, keepdim=True) if C == 1 else x.expand(n, C, h, w)
        return _resize(x, H or h, W or w)
    if len(shape) == 1 and numeric:
        (F_,) = shape
        if F_ == c * h * w:
            return x.reshape(n, -1)
        side = math.isqrt(F_ // c) if F_ % c == 0 else 0
        if resize and side * side * c == F_:
            return _resize(x, side, side).reshape(n, -1)
        if resize and math.isqrt(F_) ** 2 == F_ and c == 3:
            s = math.isqrt(F_)
            return _resize(x.mean(1, keepdim=True), s, s).reshape(n, -1)
        other = ("other vector data: 'logic' (truth tables of a few 0/1 inputs), 'captions' (feature vectors "
                 "and a token sequence each), or your own file (npz, pt, csv)")
        raise mismatch(what, x.reshape(n, -1), want, hint if not resize else other)
    if len(shape) == 2 and c == 1:
        T, Fd = shape
        if (isinstance(T, str) or T == h) and Fd == w:
            return x[:, 0]  # rows as time steps
        if resize and isinstance(Fd, int):
            return _resize(x, T if isinstance(T, int) else h, Fd)[:, 0]
    raise mismatch(what, x, want, "")


def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Resize like MNIST is prepared for LeNet-5: scale to 7/8 of the target and pad the rest
    (when the target is at least twice as large), else plain bilinear resizing."""
    n, c, h0, w0 = x.shape
    if h >= 2 * h0 and w >= 2 * w0 and h >= 16 and w >= 16:
        ih, iw = round(h * 7 / 8), round(w * 7 / 8)
        inner = F.interpolate(x, size=(ih, iw), mode="bilinear", align_corners=False)
        top, left = (h - ih) // 2, (w - iw) // 2
        return F.pad(inner, (left, w - iw - left, top, h - ih - top)).clamp_(0, 1)
    return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False).clamp_(0, 1)


# --- image sources ----------------------------------------------------------------------------------------
def _digits_file() -> Path | None:
    """scikit-learn's ``datasets/data/digits.csv.gz``, found without importing scikit-learn (importing
    ``sklearn.datasets`` takes about a second: scipy, joblib, its validation machinery)."""
    import importlib.util

    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("sklearn")
        for folder in (spec.submodule_search_locations or []) if spec is not None else []:
            path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
            if path.is_file():
                return path
    return None


def digits() -> tuple[torch.Tensor, torch.Tensor, int]:
    """scikit-learn's bundled digits: (1797, 1, 8, 8) floats in [0, 1], labels 0-9. No download.

    Read from scikit-learn's data file as its ``load_digits`` reads it (rows of 64 pixels and the
    label); ``load_digits`` itself only where that file is not found."""
    path = _digits_file()
    if path is not None:
        import gzip

        with gzip.open(path, mode="rt", encoding="utf-8") as f:
            table = np.loadtxt(f, delimiter=",")
        images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        images, target = d.images, d.target
    x = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 16.0
    return x, torch.tensor(target, dtype=torch.long), 10


_TORCHVISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def data_root(cfg: DataConfig) -> Path:
    return Path(cfg.root or os.environ.get("NETSPEC_DATA") or Path.home() / ".cache" / "netspec" / "data")


def torchvision_set(cfg: DataConfig, train: bool = True) -> tuple[torch.Tensor, torch.Tensor, int]:
    """MNIST / Fashion-MNIST / CIFAR-10 via torchvision: cached, downloaded when online, else a DataError."""
    name = cfg.name
    try:
        import torchvision.datasets as tvd  # type: ignore[import-not-found]
    except ImportError:
        raise DataError(f"data '{name}' is loaded with torchvision, which is not installed\n"
                        f"    hint: pip install torchvision (a build matching your torch), or use the offline "
                        f"'digits' data set, an image folder, or an .npz/.pt file") from None
    cls = getattr(tvd, _TORCHVISION[name])
    root = data_root(cfg)
    try:
        ds = cls(str(root), train=train, download=False)
    except (RuntimeError, FileNotFoundError, OSError):
        if not cfg.download:
            raise DataError(f"data '{name}' is not cached in {root} and download is off\n"
                            f"    hint: drop 'download: false', or set data.root to where it is") from None
        try:
            ds = cls(str(root), train=train, download=True)
        except Exception as exc:  # network errors come in many types
            raise DataError(f"data '{name}' is not cached in {root} and downloading it failed "
                            f"(offline?): {type(exc).__name__}: {exc}\n    hint: download it once online, "
                            f"set data.root (or $NETSPEC_DATA) to a folder that has it, or use 'digits'") from None
    data = ds.data if isinstance(ds.data, torch.Tensor) else torch.from_numpy(np.asarray(ds.data))
    x = data.float() / 255.0
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
    y = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
    return x, y, len(ds.classes)


def image_size(want: TensorType) -> tuple[int, int, int] | None:
    """(C, H, W) of an image input with numeric sizes (what an image folder trains); None otherwise."""
    if len(want.shape) == 3 and all(isinstance(d, int) for d in want.shape):
        c, h, w = want.shape
        return int(c), int(h), int(w)
    return None


def load_image(path: str | Path, channels: int, size: tuple[int, int] | None) -> torch.Tensor:
    """One image file as (C, H, W) floats in [0, 1]: grey for one channel, else RGB (Pillow's
    conversions), resized with Pillow's default filter to ``size`` (H, W) when given. The one
    preprocessing of image files: training on an image folder and ``predict`` on an image both read
    through it, so the same file gives the same tensor.

    Raises:
        DataError: not an image Pillow reads (never quoting the file)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]))
            a = np.asarray(im, dtype=np.float32) / 255.0
    except Exception as exc:  # Pillow's decoders raise many kinds
        raise DataError(f"{path}: not a readable image ({type(exc).__name__})") from None
    t = torch.from_numpy(a)
    return (t.unsqueeze(0) if t.dim() == 2 else t.permute(2, 0, 1)).contiguous()


class ImageFolder(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """``root/<class>/<image>``: lazily read with :func:`load_image`, converted to the input's channels
    and size. ``classes``: the classes of the training folder, for a validation folder (its labels are
    then the training folder's class numbers; a class the training folder lacks is refused)."""

    def __init__(self, root: str, channels: int, size: tuple[int, int], classes: list[str] | None = None) -> None:
        path = Path(root)
        if not path.is_dir():
            raise UsageError(f"image folder {root} does not exist (expected {root}/<class>/<image files>)")
        own = sorted(p.name for p in path.iterdir() if p.is_dir())
        if classes is not None:
            extra = [c for c in own if c not in classes]
            if extra:
                raise DataError(f"image folder {root} (the validation set) has the class folder"
                                f"{'s' if len(extra) > 1 else ''} {', '.join(extra[:4])}"
                                f"{', ...' if len(extra) > 4 else ''}, which the training folder lacks (its "
                                f"classes: {', '.join(classes[:8])}{', ...' if len(classes) > 8 else ''})\n"
                                f"    hint: the validation folder holds the same class sub-folders as the training one")
        self.classes = list(classes) if classes is not None else own
        if not own:  # what it holds instead, and what to do
            loose = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
            holds = (f"it holds {len(loose)} image{'s' if len(loose) != 1 else ''} directly"
                     if loose else "it is empty" if not any(path.iterdir()) else "it holds no images")
            raise DataError(f"image folder {root} has no class sub-folders (expected {root}/<class>/<images>); "
                            f"{holds}\n    hint: put each class's images in a sub-folder named after the class "
                            f"({root}/cat/*.png, {root}/dog/*.png)")
        self.items = [(f, i) for i, c in enumerate(self.classes) if (path / c).is_dir()
                      for f in sorted((path / c).rglob("*")) if f.suffix.lower() in IMAGE_SUFFIXES]
        if not self.items:
            raise DataError(f"image folder {root}: its class sub-folders ({', '.join(own[:4])}"
                            f"{', ...' if len(own) > 4 else ''}) hold no images "
                            f"({', '.join(IMAGE_SUFFIXES)})\n    hint: put the images of each class in its sub-folder")
        self.channels = channels
        self.size = size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        f, label = self.items[i]
        return load_image(f, self.channels, self.size), torch.tensor(label)


class MappedInputs(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A lazy data set whose items' first tensor (the input) goes through ``fn`` when read: what an
    in-memory set gets at once (binarized pixels, pixels scaled to [-1, 1]) an image folder gets per item."""

    def __init__(self, dataset: Any, fn: Any) -> None:
        self.dataset, self.fn = dataset, fn

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        x, *rest = self.dataset[i]
        return (self.fn(x), *rest)


def binarized(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] -> 0/1 at 0.5 (``data.binarize``)."""
    return (x > 0.5).float()


def folder_classes(data: Any) -> list[str] | None:
    """The class names of an image folder (or of a subset of one); None for other data."""
    while data is not None and not isinstance(data, ImageFolder):
        data = getattr(data, "dataset", None)  # a torch Subset's data set
    return list(data.classes) if data is not None else None


def read_image(path: str, want: TensorType, size: tuple[int, int] | None = None) -> torch.Tensor:
    """One image file as a (1, C, H, W) batch in [0, 1] (:func:`load_image`): grey for a 1-channel input,
    else RGB; resized to ``size`` (H, W) when given, else at its own size.

    Raises:
        UsageError: no such file.
        DataError: not an image Pillow reads (never quoting the file)."""
    if not Path(path).is_file():
        raise UsageError(f"{path}: no such file")
    c = want.shape[0] if len(want.shape) == 3 and isinstance(want.shape[0], int) else 1
    return load_image(path, int(c), size)[None]


def _unreadable(path: str, kind: str, exc: BaseException) -> DataError:
    """A file that does not parse, said without quoting it (loaders' messages may show its bytes). Its
    format's first bytes were checked before (:func:`netspec.train.files.require_kind`): what is left is
    a damaged file of the right kind, or one holding Python objects."""
    text = str(exc).lower()
    why = f"truncated or damaged ({type(exc).__name__})"
    if "weights_only" in text or "weights only" in text:
        why = "it holds Python objects, not only tensors, which are not loaded (unpickling runs code)"
    elif "allow_pickle" in text or "object arrays" in text:
        why = "it holds Python objects (object arrays), which are not loaded (unpickling runs code)"
    return DataError(f"{path}: not a readable {kind} file: {why}")


def missing_file(path: str | Path) -> UsageError:
    """A data file that is not there: exit 2 like every file named that is missing (the spec given to
    ``check``, ``--weights``, ``--checkpoint``), not 1 like a file that is there but does not fit."""
    return UsageError(f"data file {path} does not exist")


# the data files the trainer reads, by suffix (a folder of images aside): what each is, for messages
DATA_FILE_TYPES = {".npz": "numpy.savez", ".npy": "numpy.save", ".pt": "torch.save", ".pth": "torch.save",
                   ".csv": "numbers, comma-separated", ".tsv": "numbers, tab-separated", ".txt": "a word2vec corpus"}


def unsupported_file(path: str) -> DataError:
    """An existing file whose type the trainer does not read (``--data ./spec.yaml``), with those it reads."""
    suffix = Path(path).suffix
    kinds = ", ".join(f"{k} ({v})" for k, v in DATA_FILE_TYPES.items())
    return DataError(f"data file {path}: " + (f"'{suffix}' is not a type of data file netspec reads" if suffix
                                              else "a file without a type suffix is not a data file netspec reads")
                     + f" (it is {file_kind(path)})\n    hint: give a file of one of the types {kinds}, or a folder "
                       f"of images, one sub-folder per class")


def load_file(path: str, targets_for: str | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(inputs, targets or None) from .npz/.npy or .pt/.pth (a CSV file: :func:`read_csv`).

    The inputs and targets of an .npz archive or a .pt dict are read by name (:func:`pick`); a .npy file,
    a lone tensor or a 1-tuple holds inputs alone. ``targets_for``: the task that needs the targets
    (``classification``): a file without them is then refused, never given made-up ones.

    Raises:
        DataError: unreadable, or no targets where ``targets_for`` needs them (naming the arrays found
            and the names read as targets)."""
    x, y, found = _read_file(path)
    if y is None and targets_for:
        raise no_targets(path, found, targets_for)
    return x, y


def _read_file(path: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """:func:`load_file`'s (inputs, targets or None), and what the file holds (for :func:`no_targets`)."""
    p = Path(path)
    if not p.exists():
        raise missing_file(path)
    if not p.is_file():
        raise DataError(f"data file {path} is not a file")
    suffix = p.suffix.lower()
    require_kind(p)
    found = ""  # what the file holds, when it holds no targets
    try:
        if suffix in (".npz", ".npy"):
            obj: Any = np.load(p, allow_pickle=False)
            if isinstance(obj, np.ndarray):
                x, y, found = _tensor(obj, path), None, "one array (an .npy file holds the inputs alone)"
            else:
                arrays = {k: obj[k] for k in obj.files}
                x, y = pick(arrays, path)
                found = _arrays_text(arrays)
        elif suffix in (".pt", ".pth"):
            obj = torch.load(p, map_location="cpu", weights_only=True)
            if isinstance(obj, torch.Tensor):
                x, y, found = obj, None, "one tensor (the inputs alone)"
            elif isinstance(obj, (tuple, list)) and 1 <= len(obj) <= 2:
                x, y = _tensor(obj[0], path), (_tensor(obj[1], path) if len(obj) == 2 else None)
                if y is not None:
                    same_count(path, {"inputs (item 1)": x, "targets (item 2)": y})
                found = "a 1-tuple (the inputs alone)"
            elif isinstance(obj, dict):
                x, y = pick(obj, path)
                found = _arrays_text(obj)
            else:
                raise DataError(f"{path}: expected a tensor, (inputs, targets) or a dict of tensors, "
                                f"got {type(obj).__name__}")
        else:
            raise unsupported_file(path)
    except DataError:
        raise
    except Exception as exc:
        raise _unreadable(path, suffix, exc) from None
    return x, y, found


INPUT_NAMES = ("x", "X", "inputs", "input", "data", "images", "features")  # an array of inputs, by its name
TARGET_NAMES = ("y", "Y", "targets", "target", "labels", "label")  # the targets' array, by its name


def _arrays_text(arrays: dict[Any, Any]) -> str:
    names = [f"'{k}'" for k in arrays]
    return ("no arrays" if not names else f"the array {names[0]}" if len(names) == 1
            else f"the arrays {', '.join(names[:-1])} and {names[-1]}")


def no_targets(path: str, found: str, task: str) -> DataError:
    """A data file without targets, for a task that trains on (input, target) pairs: what the file holds,
    the names read as targets, and the other tasks that take inputs alone."""
    return DataError(f"{path}: no targets for task '{task}': the file holds {found}; the targets are read from "
                     f"an array named {' / '.join(TARGET_NAMES)}, beside the inputs named "
                     f"{' / '.join(INPUT_NAMES)}\n    hint: save both, e.g. " + (
                         f"torch.save((inputs, targets), '{Path(path).name}')" if Path(path).suffix.lower() in
                         (".pt", ".pth") else f"numpy.savez('{Path(path).with_suffix('.npz').name}', x=inputs, "
                                              f"y=targets)")
                     + "; reconstruction, vae, gan and rbm train on inputs alone")


def read_arrays(path: str) -> dict[str, Any]:
    """The named arrays of an ``.npz`` archive or a ``.pt``/``.pth`` dict (tensors or numpy arrays)."""
    p = Path(path)
    if not p.is_file():
        raise missing_file(path) if not p.exists() else DataError(f"data file {path} is not a file")
    suffix = p.suffix.lower()
    if suffix not in (".npz", ".pt", ".pth"):
        raise DataError(f"{path}: a network with several inputs reads an .npz or .pt file with one array per "
                        f"input (named after it) and the targets 'y'; got a '{suffix}' file")
    require_kind(p)
    try:
        if suffix == ".npz":
            obj: Any = np.load(p, allow_pickle=False)
            return {k: obj[k] for k in obj.files}
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _unreadable(path, suffix, exc) from None
    if not isinstance(obj, dict) or not all(isinstance(k, str) for k in obj):
        raise DataError(f"{path}: expected a dict of named tensors (one per input and 'y'), got {type(obj).__name__}")
    return obj


def named_inputs(cfg: DataConfig, inputs: dict[str, TensorType], task: str,
                 train: bool = True) -> tuple[TensorSet, str]:
    """Data for a network with several inputs: an ``.npz``/``.pt`` file holding one array per input,
    named after it, and the targets as ``y`` (or another of ``TARGET_NAMES``). Returns the samples (the
    inputs in the network's order, then the targets) and a description. ``task``: the task training on
    them (every caller trains on (inputs, target) pairs), named when the file has no targets.

    Raises:
        DataError: an input's array is missing or does not fit that input, or the targets are missing."""
    path = str(cfg.path if train or not cfg.val_path else cfg.val_path)
    arrays = read_arrays(path)
    missing = [n for n in inputs if n not in arrays]
    if missing:
        raise DataError(f"{path}: no array named {', '.join(repr(n) for n in missing)}; the network takes the inputs "
                        f"{', '.join(inputs)} and the file has {', '.join(arrays) or 'no arrays'}\n    hint: save "
                        f"one array per input, named after it, and the targets as 'y', e.g. numpy.savez(path, "
                        + ", ".join(f"{n}=..." for n in inputs) + ", y=...)")
    try:
        xs = [check_fit(_tensor(arrays[n], path), t, n, "reshape the array, or change the input's shape in the spec")
              for n, t in inputs.items()]
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    ykey = next((k for k in TARGET_NAMES if k in arrays and k not in inputs), None)
    extra = [k for k in arrays if k not in inputs and k != ykey]
    if extra:
        raise DataError(f"{path}: the arrays {', '.join(extra)} are neither an input of the network "
                        f"({', '.join(inputs)}) nor the targets ({' / '.join(TARGET_NAMES)})")
    if ykey is None:
        raise DataError(f"{path}: no targets for task '{task}': the file holds {_arrays_text(arrays)}, one per "
                        f"input, and no array named {' / '.join(TARGET_NAMES)}\n    hint: save the targets beside "
                        f"the inputs, e.g. numpy.savez(path, " + ", ".join(f"{n}=..." for n in inputs) + ", y=...)")
    y = labels(_tensor(arrays[ykey], path))
    same_count(path, {**dict(zip(inputs, xs)), ykey: y})
    data = _finish(cfg, TensorSet(*xs, y))
    return data, f"{path} ({len(xs[0])} samples; arrays {', '.join(inputs)} and {ykey})"


def _tensor(a: Any, path: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a)  # uint8 stays uint8: pixels for a float input, ids for a long one (check_fit)
    if a.dtype.kind not in "fiub":
        raise DataError(f"{path}: array of dtype {a.dtype} is not numeric")
    return torch.from_numpy(np.ascontiguousarray(a))


def same_count(path: str, named: dict[str, torch.Tensor]) -> None:
    """Refuse arrays of one data set whose sample counts (first axes) differ, naming each and the file.

    Raises:
        DataError: ``t.npz: the arrays 'x' (40 samples) and 'y' (30 samples) ...``."""
    counts = {k: (int(t.shape[0]) if t.dim() else 1) for k, t in named.items()}
    if len(set(counts.values())) > 1:
        listed = " and ".join(f"'{k}' ({n} samples)" for k, n in counts.items())
        raise DataError(f"{path}: the arrays {listed} differ in their sample counts (their first axes)\n"
                        f"    hint: every array holds one entry per sample, samples along the first axis")


def pick(arrays: dict[str, Any], path: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(inputs, targets or None) of a file's named arrays: the inputs by one of ``INPUT_NAMES``, the
    targets by one of ``TARGET_NAMES``, in any combination (``x`` and ``labels``, ``images`` and ``y``);
    other arrays beside them are not read. Without such names: the only array (inputs alone), or the only
    two (inputs, then targets: ``numpy.savez(path, x, y)``), or a named target array and the one other.

    Raises:
        DataError: two arrays of inputs or of targets, or arrays that cannot be told apart."""
    keys = list(arrays)
    xs = [k for k in INPUT_NAMES if k in arrays]
    ys = [k for k in TARGET_NAMES if k in arrays]
    for kind, names in (("inputs", xs), ("targets", ys)):
        if len(names) > 1:
            raise DataError(f"{path}: the arrays {' and '.join(repr(k) for k in names)} could each be the {kind}"
                            f"\n    hint: keep one of them (inputs: {' / '.join(INPUT_NAMES)}; targets: "
                            f"{' / '.join(TARGET_NAMES)})")
    rest = [k for k in keys if k not in xs and k not in ys]
    xk: str | None = xs[0] if xs else None
    yk: str | None = ys[0] if ys else None
    if xk is None and yk is not None and len(rest) == 1:
        xk = rest[0]  # a named target array and one other: the inputs
    elif xk is None and yk is None and 1 <= len(keys) <= 2:
        xk, yk = keys[0], (keys[1] if len(keys) == 2 else None)  # arr_0 (and arr_1): numpy.savez(path, x, y)
    if xk is None:
        raise DataError(f"{path}: cannot tell inputs from targets among {_arrays_text(arrays)}\n    hint: name "
                        f"the inputs {' / '.join(INPUT_NAMES)} and the targets {' / '.join(TARGET_NAMES)}, "
                        f"e.g. numpy.savez(path, x=inputs, y=targets)")
    x, y = _tensor(arrays[xk], path), (_tensor(arrays[yk], path) if yk is not None else None)
    if y is not None:
        same_count(path, {xk: x, yk: y})  # type: ignore[dict-item]
    return x, y


def read_table(path: str) -> tuple[torch.Tensor, list[str] | None]:
    """A numeric CSV (``.tsv``: tab-separated) with an optional header: (rows × columns float32, header).

    Raises:
        DataError: not a file, not text, empty, rows of different lengths, or a value that is not a
            number (named by row and column, never quoted)."""
    import csv

    p = Path(path)
    if not p.is_file():
        raise missing_file(path) if not p.exists() else DataError(f"data file {path} is not a file")
    try:
        with p.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f, delimiter="\t" if p.suffix.lower() == ".tsv" else ",") if r]
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text (CSV) file") from None
    except (OSError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV file ({type(exc).__name__})") from None
    if not rows:
        raise DataError(f"{path}: empty CSV file")
    header = None
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        header, rows = rows[0], rows[1:]
    if not rows:
        raise DataError(f"{path}: a header but no rows")
    first = 2 if header else 1
    width = len(rows[0])
    table = np.empty((len(rows), width), dtype=np.float64)
    for i, r in enumerate(rows):
        if len(r) != width:
            raise DataError(f"{path}: row {i + first} has {len(r)} values, the first row {width}")
        for j, v in enumerate(r):
            try:
                table[i, j] = float(v)
            except ValueError:
                raise DataError(f"{path}: row {i + first}, column {j + 1} is not a number") from None
    return torch.from_numpy(table), header


def read_csv(path: str, target: int | str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Numeric CSV (optional header): features and one target column (default: the last)."""
    t, header = read_table(path)
    table = t.numpy()
    if table.shape[1] < 2:
        raise DataError(f"{path}: expected at least two columns (features and a target)")
    col = table.shape[1] - 1
    if isinstance(target, str):
        if not header or target not in header:
            raise DataError(f"{path}: no column named '{target}'" + (f" in its header ({len(header)} columns)" if header
                                                                    else " (it has no header row)"))
        col = header.index(target)
    elif isinstance(target, int):
        col = target % table.shape[1]
    y = table[:, col]
    x = np.delete(table, col, axis=1)
    integral = bool(np.all(np.isfinite(y))) and bool(np.all(y == np.round(y)))
    yt = torch.from_numpy(y.astype(np.int64)) if integral else torch.from_numpy(y.astype(np.float32))
    return torch.from_numpy(x), yt


def labelled(cfg: DataConfig, want: TensorType, what: str, train: bool = True, *,
             targets_for: str | None, classes: list[str] | None = None) -> tuple[Any, int | None, str]:
    """Inputs with labels (images or arrays) for classification/regression/reconstruction.

    ``targets_for``: the task that trains on the targets (``classification``), for which a file without
    targets is refused (:func:`no_targets`); None for a task that reads the inputs alone (reconstruction,
    gan, rbm): a file of inputs alone then gives a TensorSet of the inputs only (never made-up targets).

    ``classes``: an image folder's classes (those of the training folder, for its validation folder).
    ``data.subset`` is taken of every source (:func:`take_subset`).

    Returns (TensorSet or lazy Dataset, number of classes or None, description)."""
    name = cfg.name
    if name == "digits":
        x, y, k = digits()
        resize = True if cfg.resize is None else cfg.resize
        x, y = _subset_first(cfg, x, y)  # resize only what is used
        x = fit_images(x, want, what, resize, "digits")
        return _finish(cfg, TensorSet(x, y)), k, "digits (scikit-learn, 8×8" + (
            f" → {fmt_shape(want.shape)})" if tuple(want.shape) != (1, 8, 8) else ")")
    if name in _TORCHVISION:
        x, y, k = torchvision_set(cfg, train)
        x, y = _subset_first(cfg, x, y)
        x = fit_images(x, want, what, bool(cfg.resize), name)
        return _finish(cfg, TensorSet(x, y)), k, f"{_TORCHVISION[name]} (torchvision)"
    if name == "folder":
        path = cfg.path if train or not cfg.val_path else cfg.val_path
        if path is not None and Path(path).is_file():  # a file of a type without a loader of its own
            raise unsupported_file(str(path))
        if path is not None and not Path(path).is_dir():  # first: what is wrong is the path, not the spec
            raise UsageError(f"image folder {Path(path)} does not exist (expected {Path(path)}/<class>/<image files>)")
        if len(want.shape) != 3 or not all(isinstance(d, int) for d in want.shape):
            raise DataError(f"an image folder gives (C, H, W) images; the spec's input '{what}' is "
                            f"{fmt_shape(want.shape)} {want.dtype}")
        c, h, w = want.shape  # type: ignore[misc]
        if c not in (1, 3):
            raise DataError(f"an image folder gives 1- or 3-channel images; the spec's input '{what}' has {c} channels")
        ds = ImageFolder(str(path), int(c), (int(h), int(w)), classes)
        used = take_subset(cfg, ds)
        if cfg.binarize:  # as _finish binarizes an in-memory set
            used = MappedInputs(used, binarized)
        return used, len(ds.classes), (f"image folder {path} ({len(ds)} images" + (
            f", a subset of {len(used)}" if len(used) < len(ds) else "") + f", {len(ds.classes)} classes)")
    if name in ("npz", "pt", "csv"):
        path = str(cfg.path if train or not cfg.val_path else cfg.val_path)
        if name == "csv":
            x, y = read_csv(path, cfg.target)
            found = ""
        else:
            x, maybe_y, found = _read_file(path)
            y = labels(maybe_y) if maybe_y is not None else None
            x = pixels(x) if want.dtype == "float" else x
        if x.dim() == 4 and x.shape[1] in (1, 3) and x.is_floating_point() and want.dtype == "float" \
                and not dims_match(tuple(x.shape[1:]), want.shape):
            x = fit_images(x, want, what, bool(cfg.resize), name)  # images: resize on request, else a clear refusal
        try:
            x = check_fit(x, want, what, "reshape the arrays, or change the input shape in the spec")
        except DataError as exc:
            raise DataError(f"{path}: {exc}") from None
        if y is None and targets_for:  # after the inputs' own fit: a wrong shape is the first thing to fix
            raise no_targets(path, found, targets_for)
        if y is None:  # inputs alone, for a task that needs no targets
            return _finish(cfg, TensorSet(x)), None, f"{path} ({len(x)} samples)"
        k = int(y.max()) + 1 if not y.is_floating_point() and y.numel() and y.dim() == 1 else None
        return _finish(cfg, TensorSet(x, y)), k, f"{path} ({len(x)} samples)"
    if name == "random":
        shape = [cfg.length if isinstance(d, str) else d for d in want.shape]
        g = torch.Generator().manual_seed(1234)
        x = (torch.randint(0, cfg.vocab or 10, (cfg.samples, *shape), generator=g) if want.dtype == "long"
             else torch.randn(cfg.samples, *shape, generator=g))
        y = torch.randint(0, 2, (cfg.samples,), generator=g)
        return _finish(cfg, TensorSet(x, y)), 2, f"random ({cfg.samples} samples)"
    meant = {"reversal": "seq2seq", "text": "word2vec", "sine": "regression"}.get(name)
    usable = ("sentiment or parity (synthetic token classification), npz, pt, csv or random" if want.dtype == "long"
              else "digits, mnist, fashion_mnist, cifar10, folder, npz, pt, csv or random")
    raise DataError(f"data '{name}' gives no labelled samples" + (f": it is data for 'task: {meant}'" if meant else "")
                    + f"; use {usable}")


def _subset_first(cfg: DataConfig, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The same ``subset`` as :func:`_finish` takes, taken before the (per-sample) resizing."""
    if cfg.subset is not None and cfg.subset < len(x):
        g = torch.Generator().manual_seed(4242)
        keep = torch.randperm(len(x), generator=g)[:cfg.subset]
        return x[keep], y[keep]
    return x, y


def take_subset(cfg: DataConfig, data: Any) -> Any:
    """``data.subset`` N: N samples drawn at random (a fixed seed, the same for every run) from any data
    source (an in-memory set, an image folder, synthetic data), before the validation split takes its
    share. Taking it again changes nothing (the set then holds N samples)."""
    if cfg.subset is not None and cfg.subset < len(data):
        g = torch.Generator().manual_seed(4242)
        data = take(data, torch.randperm(len(data), generator=g)[:cfg.subset])
    return data


def _finish(cfg: DataConfig, data: TensorSet) -> TensorSet:
    data = take_subset(cfg, data)
    x = data.tensors[0]
    if cfg.binarize and x.is_floating_point():
        data = TensorSet(binarized(x), *data.tensors[1:])
    return data


def normalize(train: TensorSet, val: TensorSet | None) -> tuple[TensorSet, TensorSet | None, dict[str, Any]]:
    """Standardize inputs per channel/feature with the training statistics."""
    x = train.tensors[0]
    dims = [0] + (list(range(2, x.dim())) if x.dim() >= 3 else [])
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True).clamp_min(1e-6)
    f = lambda s: TensorSet((s.tensors[0] - mean) / std, *s.tensors[1:])  # noqa: E731
    return f(train), (f(val) if val is not None else None), {"mean": mean[0], "std": std[0]}
