"""In-memory data sets and how they are batched and split.

A :class:`TensorSet` is batched by indexing its tensors (they may stay on the device); a lazy
data set goes through a DataLoader with a sampler that gives the same per-epoch order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import torch

from netspec.core.errors import DataError


# --- containers ---------------------------------------------------------------------------------------
class TensorSet:
    """Samples held as tensors with a common first (sample) axis; batched by indexing."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        n = {int(t.shape[0]) for t in tensors}
        if len(n) != 1:
            raise DataError(f"the arrays of a data set have different sample counts: {sorted(n)}")
        self.tensors = tuple(tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def subset(self, index: torch.Tensor | slice) -> "TensorSet":
        return TensorSet(*(t[index] for t in self.tensors))

    def to(self, device: torch.device | str) -> "TensorSet":
        return TensorSet(*(t.to(device) for t in self.tensors))

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors)

    @property
    def device(self) -> torch.device:
        return self.tensors[0].device


@dataclass
class DataBundle:
    """What a task trains on: train/validation sets and what is known about them."""

    train: Any  # TensorSet or torch Dataset
    val: Any | None
    description: str
    num_classes: int | None = None
    info: dict[str, Any] = field(default_factory=dict)


# --- batching -----------------------------------------------------------------------------------------
def epoch_order(n: int, shuffle: bool, seed: int, epoch: int) -> torch.Tensor:
    """The sample order of an epoch: the same permutation as ``DistributedSampler(seed=seed)`` at
    ``set_epoch(epoch)``, so single-process and distributed runs see the same global batches."""
    if not shuffle:
        return torch.arange(n)
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    return torch.randperm(n, generator=g)


def num_batches(n: int, batch: int, world: int = 1) -> int:
    full, rest = divmod(n, batch)
    return full + (1 if rest >= world else 0)


def tensor_batches(data: TensorSet, batch: int, order: torch.Tensor, rank: int = 0, world: int = 1,
                   skip: int = 0, drop_last: bool = False) -> Iterator[tuple[torch.Tensor, ...]]:
    """Batches of an in-memory set. ``batch`` is global; with ``world`` processes each takes every
    ``world``-th sample of the global batch (DistributedSampler's interleaving). ``drop_last``: leave out
    the last batch (a partial one too small to train on)."""
    n = len(data)
    order = order.to(data.device)
    for b in range(skip, num_batches(n, batch, world) - int(drop_last)):
        idx = order[b * batch:(b + 1) * batch]
        if world > 1:
            idx = idx[rank::world]
        yield tuple(t[idx] for t in data.tensors)


class OrderSampler(torch.utils.data.Sampler):  # type: ignore[type-arg]
    """Single-process sampler with the same per-epoch permutation as DistributedSampler."""

    def __init__(self, n: int, shuffle: bool, seed: int) -> None:
        self.n, self.shuffle, self.seed, self.epoch, self.skip = n, shuffle, seed, 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def __iter__(self) -> Iterator[int]:
        return iter(epoch_order(self.n, self.shuffle, self.seed, self.epoch)[self.skip:].tolist())

    def __len__(self) -> int:
        return self.n - self.skip


def make_loader(dataset: Any, batch: int, shuffle: bool, seed: int, rank: int, world: int, workers: int,
                pin: bool, drop_last: bool = False) -> tuple[Any, Any]:
    """A DataLoader for a lazy data set (DistributedSampler under torchrun) and its sampler."""
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler

    if world > 1:
        sampler: Any = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
    else:
        sampler = OrderSampler(len(dataset), shuffle, seed)
    loader = DataLoader(dataset, batch_size=max(1, batch // world), sampler=sampler, num_workers=workers,
                        pin_memory=pin, persistent_workers=workers > 0, drop_last=drop_last)
    return loader, sampler


def take(data: Any, index: torch.Tensor) -> Any:
    """The samples ``index`` of a data set: a TensorSet's rows, or a lazy data set's items (a torch
    ``Subset``, read when batched)."""
    if isinstance(data, TensorSet):
        return data.subset(index)
    from torch.utils.data import Subset

    return Subset(data, index.tolist())


def split(data: Any, val_split: float, seed: int) -> tuple[Any, Any | None]:
    """A seeded random split into train and validation sets, of any data source: an in-memory
    TensorSet or a lazy data set (an image folder), the same permutation for both kinds."""
    n = len(data)
    n_val = int(round(n * val_split))
    if val_split > 0 and n_val == 0 and n >= 2:
        n_val = 1
    if n_val == 0:
        return data, None
    if n - n_val < 1:
        raise DataError(f"val_split {val_split} leaves no training samples out of {n}")
    g = torch.Generator()
    g.manual_seed(seed + 7919)
    perm = torch.randperm(n, generator=g)
    return take(data, perm[n_val:]), take(data, perm[:n_val])
