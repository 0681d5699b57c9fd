"""Optimizers (the notes' list) and learning-rate schedules with warm-up.

:class:`LRSchedule` sets each parameter group's learning rate before every step from (step, epoch):
``base × warm-up × schedule``. It is a pure function of the position except for reduce-on-plateau's
factor, which is in its ``state_dict`` — so resuming gives the same rates.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from netspec.spec.recipe import TAKEN_BY, in_group
from netspec.spec.train import OptimizerConfig, ScheduleConfig


# optimizer -> (torch class, the OptimizerConfig fields it takes besides lr and weight_decay: those
# netspec.spec.recipe.TAKEN_BY gives it, the one table that also tells `check` what each ignores); an
# option left None (eps) keeps torch's default
def _takes(name: str) -> tuple[str, ...]:
    return tuple(key.split(".", 1)[1] for key, (chooser, takers) in TAKEN_BY.items()
                 if chooser == "optimizer.name" and name in takers)


OPTIMIZER_TABLE: dict[str, tuple[type[torch.optim.Optimizer], tuple[str, ...]]] = {
    name: (cls, _takes(name)) for name, cls in (("sgd", torch.optim.SGD), ("adam", torch.optim.Adam),
                                                ("adamw", torch.optim.AdamW), ("adagrad", torch.optim.Adagrad),
                                                ("rmsprop", torch.optim.RMSprop))}


# optimizer -> the tensors torch.optim keeps per parameter (the keys of ``optimizer.state[p]`` after a step; torch's
# docs, "Algorithms", and the source of each class's step):
#   sgd      momentum_buffer (the parameter's size), only with momentum > 0      -> 0 or 1 per weight
#   adam     exp_avg, exp_avg_sq (amsgrad, not offered, would add max_exp_avg_sq) + step (one element)  -> 2
#   adamw    as adam                                                             -> 2
#   adagrad  sum (made when the optimizer is built) + step                       -> 1
#   rmsprop  square_avg, momentum_buffer with momentum > 0 (centered, not offered, would add grad_avg) + step -> 1 or 2
# each entry: (state key, the OptimizerConfig option that must be > 0 for it or None, the parameter's size (else
# one element)). tests/train/test_memory_check.py steps each real optimizer once and counts its state.
OPTIMIZER_STATE: dict[str, tuple[tuple[str, str | None, bool], ...]] = {
    "sgd": (("momentum_buffer", "momentum", True),),
    "adam": (("exp_avg", None, True), ("exp_avg_sq", None, True), ("step", None, False)),
    "adamw": (("exp_avg", None, True), ("exp_avg_sq", None, True), ("step", None, False)),
    "adagrad": (("sum", None, True), ("step", None, False)),
    "rmsprop": (("square_avg", None, True), ("momentum_buffer", "momentum", True), ("step", None, False)),
}


def optimizer_state(cfg: OptimizerConfig) -> tuple[int, int, tuple[str, ...]]:
    """What the configured optimizer keeps per parameter tensor: (tensors of the parameter's size, tensors of
    one element, their state keys), from :data:`OPTIMIZER_STATE`."""
    kept = [(key, full) for key, option, full in OPTIMIZER_STATE[cfg.name]
            if option is None or getattr(cfg, option)]
    return sum(full for _, full in kept), sum(not full for _, full in kept), tuple(key for key, _ in kept)


def build_optimizer(cfg: OptimizerConfig, params: list[torch.nn.Parameter],
                    names: dict[int, str] | None = None) -> torch.optim.Optimizer:
    """The configured torch optimizer over ``params`` (the name is validated by the config); with
    ``group_lr`` and the parameters' ``names`` (by ``id``), one parameter group per learning rate."""
    cls, options = OPTIMIZER_TABLE[cfg.name]
    kwargs = {k: getattr(cfg, k) for k in options if getattr(cfg, k) is not None}
    return cls(lr_groups(cfg, params, names), lr=cfg.lr, weight_decay=cfg.weight_decay, **kwargs)


def group_of(name: str, groups: dict[str, float]) -> str | None:
    """The longest key of ``groups`` naming ``name`` or a module above it (``layer4`` for ``layer4.0.conv1.weight``)."""
    return max((k for k in groups if in_group(name, k)), key=len, default=None)


def lr_groups(cfg: OptimizerConfig, params: list[torch.nn.Parameter],
              names: dict[int, str] | None) -> list[dict[str, Any]]:
    """Parameter groups: those under a ``group_lr`` name with its learning rate, the rest with ``lr``."""
    if not cfg.group_lr or names is None:
        return [{"params": params}]
    by_group: dict[str | None, list[torch.nn.Parameter]] = {None: []}  # the lr group first: the one reported
    for p in params:
        by_group.setdefault(group_of(names.get(id(p), ""), cfg.group_lr), []).append(p)
    return [{"params": ps, **({"lr": cfg.group_lr[k]} if k is not None else {})} for k, ps in by_group.items() if ps]


class LRSchedule:
    """Warm-up then step / multistep / exponential / cosine / reduce-on-plateau (or constant)."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, epochs: int,
                 steps_per_epoch: int) -> None:
        self.opt = optimizer
        self.cfg = cfg
        self.base = [g["lr"] for g in optimizer.param_groups]
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.total = max(1, epochs * self.steps_per_epoch)
        self.warmup = int(round(cfg.warmup_epochs * self.steps_per_epoch))
        self.plateau_factor = 1.0
        self.plateau_best: float | None = None
        self.plateau_bad = 0

    def factor(self, step: int, epoch: int) -> float:
        c = self.cfg
        f = 1.0
        if c.name == "step":
            f = c.gamma ** (epoch // c.step_size)
        elif c.name == "multistep":
            f = c.gamma ** sum(epoch >= m for m in c.milestones)
        elif c.name == "exponential":
            f = c.gamma ** epoch
        elif c.name == "plateau":
            f = self.plateau_factor
        return f

    def lr_at(self, step: int, epoch: int) -> list[float]:
        c = self.cfg
        out = []
        for base in self.base:
            if c.name == "cosine":
                span = max(1, self.total - self.warmup)
                t = min(max(step - self.warmup, 0) / span, 1.0)
                lr = c.min_lr + (base - c.min_lr) * 0.5 * (1 + math.cos(math.pi * t))
            else:
                lr = base * self.factor(step, epoch)
                if c.name == "plateau":
                    lr = max(lr, c.min_lr)
            if self.warmup and step < self.warmup:
                lr = lr * (step + 1) / self.warmup
            out.append(lr)
        return out

    def step_batch(self, step: int, epoch: int) -> None:
        for g, lr in zip(self.opt.param_groups, self.lr_at(step, epoch)):
            g["lr"] = lr

    def end_epoch(self, epoch: int, metric: float | None) -> None:
        """Reduce-on-plateau bookkeeping (lower is better)."""
        if self.cfg.name != "plateau" or metric is None or not math.isfinite(metric):
            return
        if self.plateau_best is None or metric < self.plateau_best * (1 - 1e-4):
            self.plateau_best, self.plateau_bad = metric, 0
        else:
            self.plateau_bad += 1
            if self.plateau_bad > self.cfg.patience:
                self.plateau_factor *= self.cfg.factor
                self.plateau_bad = 0

    def state_dict(self) -> dict[str, Any]:
        return {"plateau_factor": self.plateau_factor, "plateau_best": self.plateau_best,
                "plateau_bad": self.plateau_bad}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.plateau_factor = state["plateau_factor"]
        self.plateau_best = state["plateau_best"]
        self.plateau_bad = state["plateau_bad"]
