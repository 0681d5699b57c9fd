"""Setting a run up: functions from the recipe, the device and the model to what the trainer holds.

CPU threads, mixed precision, where the data lives, the memory format, the wrapped networks (DDP,
torch.compile), the optimizers and their schedules. Each returns its result; none reads or writes
trainer state.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn as nn

from netspec.core.errors import DataError, NetspecError, Problem, UsageError
from netspec.core.sizes import Expr
from netspec.ir.graph import Graph, Node
from netspec.spec.train import TrainConfig
from netspec.train import threads as T
from netspec.train.batching import DataBundle, TensorSet, num_batches
from netspec.train.schedule import LRSchedule, build_optimizer, group_of

# torch modules whose kernels run faster on channels-last (NHWC) tensors on CUDA
CONV_MODULES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def require_trainable(graph: Graph, model: nn.Module) -> None:
    """Refuse a model without a single trainable parameter, naming the frozen layers."""
    if any(p.requires_grad for p in model.parameters()):
        return
    frozen = [n.name for g in graph.networks.values() for n in g.nodes if n.params]
    raise UsageError(f"nothing to train: every parameter of '{graph.name}' is frozen"
                     + (f" (trainable: false on {', '.join(frozen)})" if frozen else " (it has none)")
                     + "\n    hint: the spec is a fixed computation; run it with `netspec check` or "
                       "from Python instead, or set trainable: true on a layer")


# --- CPU threads ------------------------------------------------------------------------------------------
UNBOUND_DIM = 32  # a symbolic size the data does not tell (for the model-size estimate only)


def sample_shapes(data: Any) -> list[tuple[int, ...]]:
    """The shapes of one sample's tensors (an in-memory set's rows, or a lazy set's first item)."""
    if isinstance(data, TensorSet):
        return [tuple(t.shape[1:]) for t in data.tensors]
    with contextlib.suppress(Exception):
        item = data[0]
        items = item if isinstance(item, (tuple, list)) else (item,)
        return [tuple(t.shape) for t in items if isinstance(t, torch.Tensor)]
    return []


def forward_macs(graph: Graph, shapes: list[tuple[int, ...]]) -> int:
    """Multiply-adds of one sample's forward pass through every network; symbolic sizes (a sequence
    length) are read off the sample ``shapes`` where an input's other sizes match."""
    bind: dict[str, int] = {}
    for net in graph.networks.values():
        for t in net.inputs.values():
            for shape in shapes:
                if len(shape) == len(t.shape) and all(isinstance(w, str) or w == h for h, w in zip(shape, t.shape)):
                    for h, w in zip(shape, t.shape):
                        if isinstance(w, str):
                            bind.setdefault(w, h)
                    break
    total = 0
    for net in graph.networks.values():
        for node in net.nodes:
            macs = node.macs
            if isinstance(macs, Expr):
                macs = macs.bind(bind)
                if isinstance(macs, Expr):
                    macs = macs.bind({s: UNBOUND_DIM for s in macs.symbols})
            total += macs if isinstance(macs, int) else 0
    return total


def cpu_threads(graph: Graph, cfg: TrainConfig, train: Any, device: torch.device, meter: T.CpuMeter,
                resumed: int | None = None, threads_by: str = "train.threads") -> T.ThreadChoice:
    """Choose the run's intra-op threads and loader workers (:func:`netspec.train.threads.choose`) and
    set torch's intra-op threads (``threads_by``: what set ``cfg.threads``, the spec or a flag)."""
    env = os.environ.get("OMP_NUM_THREADS", "")
    lazy = not isinstance(train, TensorSet)
    auto = cfg.threads is None and not env.isdigit() and device.type == "cpu"
    step = forward_macs(graph, sample_shapes(train)) * cfg.batch_size if auto else None
    busy = meter.busy() if auto or (lazy and cfg.workers is None) else None
    choice = T.choose(T.usable_cores(), busy, step, threads=cfg.threads, workers=cfg.workers,
                      env_threads=int(env) if env.isdigit() and int(env) > 0 else None, resumed=resumed,
                      lazy_data=lazy, batches=steps_per_epoch(train, cfg.batch_size, 1) if lazy else 0,
                      device=device.type, threads_by=threads_by)
    if torch.get_num_threads() != choice.threads:
        torch.set_num_threads(choice.threads)
    return choice


# --- precision --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Precision:
    """Mixed-precision settings: the autocast dtype (None: fp32) and a note when the recipe's
    precision cannot be used on this device."""

    amp_dtype: torch.dtype | None
    note: str | None = None

    @property
    def scaled(self) -> bool:
        """fp16 needs loss scaling (bf16 has fp32's range)."""
        return self.amp_dtype == torch.float16


def precision(name: str, device: torch.device) -> Precision:
    """``fp32``, ``bf16`` or ``fp16`` on ``device``: fp16 needs CUDA (elsewhere: fp32, with a note)."""
    if name == "fp32":
        return Precision(None)
    if device.type == "cuda":
        return Precision(torch.bfloat16 if name == "bf16" else torch.float16)
    if name == "bf16":
        return Precision(torch.bfloat16)
    return Precision(None, f"note: fp16 mixed precision needs CUDA; training in fp32 on {device.type}")


def grad_scaler(p: Precision) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler("cuda") if p.scaled else None


# --- data -------------------------------------------------------------------------------------------
def free_bytes(device: torch.device) -> int:
    """Free memory on a CUDA device (a huge number elsewhere)."""
    if device.type == "cuda":
        with contextlib.suppress(Exception):
            free, _ = torch.cuda.mem_get_info(device)
            return int(free)
    return 1 << 62


def place_data(data: DataBundle, device: torch.device, keep: bool | Literal["auto"]) -> tuple[Any, Any]:
    """(train, val) where they are batched from: in-memory sets moved to the device when ``keep``
    (``auto``: on the CPU, or when they take under a quarter of the free device memory), else
    pinned for fast copies to CUDA; lazy data sets as they are.

    Raises:
        NetspecError: the training set is empty.
    """
    tr, val = data.train, data.val
    if len(tr) == 0:
        raise NetspecError("the training set is empty")
    if not isinstance(tr, TensorSet):
        return tr, val
    size = tr.nbytes + (val.nbytes if isinstance(val, TensorSet) else 0)
    if keep == "auto":
        keep = device.type == "cpu" or size < free_bytes(device) // 4
    if keep:
        return tr.to(device), (val.to(device) if isinstance(val, TensorSet) else val)
    if device.type == "cuda":
        return TensorSet(*(t.pin_memory() for t in tr.tensors)), val
    return tr, val


def require_finite(data: Any, split: str) -> None:
    """Refuse an in-memory data set holding NaN or infinite values: every metric over it would be NaN
    (and with a validation set, best.pt picked on such metrics).

    Raises:
        DataError: naming the split and how many samples are affected.
    """
    if not isinstance(data, TensorSet):
        return
    bad = None
    for t in data.tensors:
        if t.is_floating_point() and t.numel():
            rows = ~torch.isfinite(t.reshape(len(t), -1)).all(1)
            bad = rows if bad is None else bad | rows
    if bad is not None and bool(bad.any()):
        raise DataError(f"the {split} data holds NaN or infinite values in {int(bad.sum())} of its {len(data)} "
                        f"samples: its metrics would be NaN" + (" and best.pt picked on them" if split == "validation"
                                                                else "")
                        + "\n    hint: remove or repair those samples (numpy: np.isfinite(x).all(axis=1) keeps "
                          "the good rows)")


def steps_per_epoch(train: Any, batch_size: int, world: int, drop_last: bool = False) -> int:
    """Optimizer steps in one epoch of ``train`` (global batch ``batch_size`` over ``world`` processes);
    ``drop_last``: its last, partial batch left out (:func:`single_sample_batches`)."""
    if isinstance(train, TensorSet):
        return num_batches(len(train), batch_size, world) - int(drop_last)
    per = max(1, batch_size // world)
    return math.ceil(math.ceil(len(train) / world) / per) - int(drop_last)


def batch_stats_node(graph: Graph) -> tuple[Node, bool] | None:
    """The first layer trained with statistics over the batch (``Node.batch_stats``: batch norm) that sees
    a single value per channel in each sample, so that torch refuses a batch of one sample in training
    ("Expected more than 1 value per channel"); with whether that is certain (False: a symbolic size may
    be 1). Frozen ones stay in eval mode and use their running statistics: None for them."""
    for net in graph.networks.values():
        for node in net.nodes:
            if not (node.batch_stats and node.trainable) or not node.in_types:
                continue
            rest = node.in_types[0].shape[1:]  # per channel of one sample
            if all(d == 1 or not isinstance(d, int) for d in rest):
                return node, all(d == 1 for d in rest)
    return None


def single_sample_batches(graph: Graph, train: Any, batch_size: int, world: int) -> tuple[bool, str | None]:
    """Whether each epoch's last batch must be left out because it would give a process one sample, which
    a batch norm of ``graph`` cannot normalize in training (:func:`batch_stats_node`); with the note
    that says so (None when nothing is left out).

    Raises:
        DataError: every batch would hold one sample (a training set of one sample, a batch size of one),
            located at the batch norm, saying what to change."""
    found = batch_stats_node(graph)
    if found is None:
        return False, None
    node, certain = found
    n = len(train)
    what = (f"{node.name} ({node.label}) normalizes with statistics over the batch in training, which needs more "
            f"than one value per channel (torch's rule), and each of its samples gives one")
    per_rank = f" per process ({world} processes)" if world > 1 else ""
    if n < 2 * world:
        raise DataError(problems=[Problem(
            f"{what}: the training set holds {n} sample{'s' if n != 1 else ''}{per_rank}", node.location,
            hint="train on more samples (a larger data.subset / --subset, a smaller val_split), or normalize "
                 "with layernorm, which works on each sample alone")])
    if certain and batch_size // world < 2:
        raise DataError(problems=[Problem(
            f"{what}: a batch size of {batch_size}{per_rank} gives each step one sample", node.location,
            hint="give --batch-size 2 or more, or normalize with layernorm, which works on each sample alone")])
    if isinstance(train, TensorSet):
        rest = n % batch_size
        last = world <= rest < 2 * world
    else:
        per = max(1, batch_size // world)
        rest = math.ceil(n / world) % per
        last = rest == 1
    if not last:
        return False, None
    return True, (f"note: {node.name} ({node.label}){' at ' + str(node.location) if node.location else ''} needs "
                  f"more than one sample per batch in training; the last batch of each epoch would hold {rest} "
                  f"({n} training samples in batches of {batch_size}), so it is left out: each epoch trains on "
                  f"{n - rest} samples (shuffled, a different {rest} left out each epoch)\n    hint: choose a "
                  f"batch size that leaves more than one sample in the last batch to train on every sample")


# --- model --------------------------------------------------------------------------------------------
def use_channels_last(setting: bool | Literal["auto"], model: nn.Module, device: torch.device) -> bool:
    """Channels-last memory format: only for models with convolutions; ``auto``: on CUDA."""
    conv = any(isinstance(m, CONV_MODULES) for m in model.modules())
    wanted = setting if setting != "auto" else (conv and device.type == "cuda")
    return bool(wanted) and conv


def wrap_nets(raw_nets: dict[str, nn.Module], device: torch.device, distributed: bool,
              compile: bool) -> dict[str, nn.Module]:
    """The modules each forward runs through: DistributedDataParallel under torchrun (for networks
    with something to train), then ``torch.compile`` when asked."""
    nets: dict[str, nn.Module] = {}
    for name, m in raw_nets.items():
        if distributed and any(p.requires_grad for p in m.parameters()):
            m = nn.parallel.DistributedDataParallel(
                m, device_ids=[device.index] if device.type == "cuda" else None)
        if compile:
            m = torch.compile(m)
        nets[name] = m
    return nets


def param_groups(task: Any, model: nn.Module, cfg: TrainConfig,
                 names: dict[int, str]) -> list[tuple[str, list[nn.Parameter]]]:
    """The task's parameter groups, one per optimizer (``names``, the parameters' dotted names by
    ``id``, check ``optimizer.group_lr`` before any optimizer is built).

    Raises:
        UsageError: no group has parameters, or a ``group_lr`` name matches no trainable parameter.
    """
    groups = task.param_groups(model)
    if not any(params for _, params in groups):
        raise UsageError("the spec has no trainable parameters")
    if cfg.optimizer.group_lr:
        trainable = [names.get(id(p), "") for _, params in groups for p in params]
        for key in cfg.optimizer.group_lr:
            if not any(group_of(n, {key: 0.0}) for n in trainable):
                raise UsageError(f"optimizer.group_lr: '{key}' names no trainable parameter (a layer or group "
                                 "name of the spec, e.g. layer4)")
    return groups


def optimizers(groups: list[tuple[str, list[nn.Parameter]]], cfg: TrainConfig,
               steps: int, names: dict[int, str] | None = None) -> tuple[list[torch.optim.Optimizer], list[LRSchedule]]:
    """One optimizer and its learning-rate schedule per non-empty parameter group (``names``, the
    parameters' dotted names by ``id``, place them in ``optimizer.group_lr``'s groups).

    Raises:
        UsageError: no group has parameters.
    """
    opts: list[torch.optim.Optimizer] = []
    schedules: list[LRSchedule] = []
    for _, params in groups:
        if not params:
            continue
        opt = build_optimizer(cfg.optimizer, params, names)
        opts.append(opt)
        schedules.append(LRSchedule(opt, cfg.schedule, cfg.epochs, steps))
    if not opts:
        raise UsageError("the spec has no trainable parameters")
    return opts, schedules
