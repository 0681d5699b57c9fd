"""Runtime helpers for training: the torchrun environment, devices, seeding, RNG state, atomic
file writes (every file of a run directory goes through :func:`write_atomic`) and unwrapping
DDP/compiled modules."""

from __future__ import annotations

import contextlib
import errno
import os
import random
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np
import torch
import torch.nn as nn

from netspec.core import atomic
from netspec.core.errors import NetspecError, UsageError

TEMP_SUFFIX = ".tmp"  # the temporary files of write_atomic: .<name>.<random>.tmp


# --- process group ------------------------------------------------------------------------------------
def dist_env() -> tuple[int, int, int]:
    """(rank, local rank, world size) from the torchrun environment."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available on this machine (torch {torch.__version__}); "
                             "use --device cpu or auto")
        if name == "cuda":
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        idx = int(name.split(":")[1])
        if idx >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
        return torch.device(name)
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise UsageError("--device mps: Apple MPS is not available here")
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (1 << 32))
    torch.manual_seed(seed)


# --- RNG state (stored with only tensors and plain numbers: checkpoints load with weights_only) ---------
def rng_state(device: torch.device) -> dict[str, Any]:
    py = random.getstate()
    npst = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [npst[0], torch.from_numpy(npst[1].astype(np.int64)), int(npst[2]), int(npst[3]), float(npst[4])],
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        with contextlib.suppress(Exception):
            torch.cuda.set_rng_state_all(state["cuda"])


class RunDirectoryError(NetspecError):
    """A file of the run directory could not be written (full disk, read-only or missing directory)."""


_REASONS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "the file is larger than this file system or process allows",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the directory does not exist",
    errno.ENOTDIR: "a file is in the way of the directory",
    errno.EISDIR: "a directory is in the way",
    errno.ELOOP: "a symbolic link is in the way",
}


def os_error_in(exc: BaseException) -> OSError | None:
    """The OSError behind an exception (torch wraps a failed write of its file in a RuntimeError)."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def file_error(exc: OSError, path: Path, doing: str = "write") -> RunDirectoryError:
    """A clear message for a failed file operation in the run directory."""
    reason = _REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__)
    return RunDirectoryError(f"cannot {doing} {path}: {reason}\n    hint: free some space or make the directory "
                             f"writable, or give another run directory with --out; nothing partial was left behind")


def make_dirs(path: Path) -> None:
    """``mkdir -p path`` for the run directory.

    Raises:
        RunDirectoryError: it cannot be created (a file in the way, permissions, a read-only disk)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise file_error(exc, path, "create") from None


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file of the run directory whole or not at all (:func:`netspec.core.atomic.write_atomic`:
    ``write`` fills a new temporary file ``.<name>.<random>.tmp`` beside it, renamed over ``path`` once
    written and synced; a link at ``path`` is replaced, not written through; a failure removes it).

    Raises:
        RunDirectoryError: the file system refused (full disk, read-only, permissions), also when torch
            wraps the refusal in its own error.
    """
    try:
        return atomic.write_atomic(path, write, suffix=TEMP_SUFFIX)
    except Exception as exc:
        err = os_error_in(exc)
        if err is None:
            raise
        raise file_error(err, path) from None


def write_text_atomic(path: Path, text: str) -> Path:
    """:func:`write_atomic` for UTF-8 text."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda f: f.write(data))


def atomic_save(obj: Any, path: Path) -> Path:
    """``torch.save`` through :func:`write_atomic`."""
    return write_atomic(path, lambda f: torch.save(obj, f))


def unwrap(m: nn.Module) -> nn.Module:
    m = getattr(m, "_orig_mod", m)  # torch.compile
    return getattr(m, "module", m) if isinstance(m, nn.parallel.DistributedDataParallel) else m


def unwrap_state(model: nn.Module) -> dict[str, Any]:
    m = unwrap(model)
    return {k: v.detach().cpu().clone() for k, v in m.state_dict().items()}


def train_mode(*modules: nn.Module) -> None:
    """Training mode for ``modules``. A compiled network's own ``train()`` keeps its frozen layers that
    keep state (``trainable: false`` with buffers, a batch norm's running statistics) in eval mode, so
    training changes neither their parameters nor their buffers (torchvision's ``FrozenBatchNorm2d``)."""
    for m in modules:
        m.train()


def eval_mode(model: nn.Module, *nets: nn.Module) -> None:
    """Evaluation mode for the task's networks ``nets`` and every module of ``model``, each set on its own
    (evaluation, prediction)."""
    for net in nets:
        net.eval()
    for m in model.modules():
        m.eval()
