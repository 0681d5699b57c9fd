"""Running means of per-batch statistics, weighted by the samples in each batch.

One :class:`RunningMean` serves the training epoch and evaluation. During training on the CPU,
reading a value is free and plain floats beat tiny tensor ops, so it sums Python floats; otherwise
it sums tensors where the statistics live and synchronises only when the means are read.
"""

from __future__ import annotations

from typing import Any

import torch


class RunningMean:
    """Sample-weighted sums of statistics (``loss``, ``accuracy``, ...) and the sample count.

    Args:
        device: where the statistics live.
        start: means already taken over ``start["n"]`` samples (an epoch resumed mid-way).
        floats: sum Python floats (each value read at once) instead of tensors; default: on the CPU.
    """

    def __init__(self, device: torch.device, start: dict[str, float] | None = None,
                 floats: bool | None = None) -> None:
        self.device = device
        self.on_host = device.type == "cpu" if floats is None else floats
        self.sums: dict[str, Any] = {}
        self.count = 0
        if start:
            self.count = int(start.get("n", 0))
            self.sums = {k: v * self.count if self.on_host else torch.tensor(v * self.count, device=device)
                         for k, v in start.items() if k != "n"}

    def add(self, stats: dict[str, Any], n: int) -> None:
        """Add one batch's means (floats or 0-d tensors) over ``n`` samples."""
        if self.on_host:
            for k, v in stats.items():
                f = v.item() if isinstance(v, torch.Tensor) else float(v)
                self.sums[k] = self.sums.get(k, 0.0) + f * n
        else:
            for k, v in stats.items():
                self.sums[k] = self.sums[k] + v * n if k in self.sums else v * n
        self.count += n

    def mean(self, key: str) -> float:
        """One mean, read now (synchronises the device)."""
        return float(self.sums[key]) / self.count

    def means(self, reduce: bool = False) -> dict[str, Any]:
        """Every mean, plus ``n`` (the samples counted); with ``reduce``, summed over the processes of
        a distributed run first (every process must call it)."""
        keys = sorted(self.sums)
        if not keys:
            return {"n": self.count}
        vec = torch.stack([torch.as_tensor(self.sums[k], dtype=torch.float64, device=self.device).reshape(())
                           for k in keys] + [torch.tensor(float(self.count), dtype=torch.float64, device=self.device)])
        if reduce:
            torch.distributed.all_reduce(vec)
        vals = vec.tolist()
        total = vals[-1]
        out = {k: v / max(total, 1) for k, v in zip(keys, vals[:-1])}
        out["n"] = int(total)
        return out
