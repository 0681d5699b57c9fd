"""RBM and deep belief network: contrastive divergence (CD-k) and greedy layer-wise pre-training.

Every ``rbm`` layer module offers ``cd_loss(v, k)``, a surrogate whose gradient is the CD-k update
(free energy of the data minus that of the k-step Gibbs sample), so any optimizer applies it.
``rbm`` trains the single RBM. ``dbn`` trains the stack greedily: the epochs are divided among the RBMs,
bottom first (``epochs // n`` each, the last RBM also the rest; fewer epochs than RBMs are refused); each
RBM's input is the hidden probabilities of the (frozen) ones below. Only the last stage's epochs are
compared for the best epoch and counted by ``patience`` (:meth:`RBMTask.monitored`). The
logged loss is the reconstruction error (mean squared, one Gibbs step), which CD does not optimise
directly but which falls as the RBM learns. Images are binarized at 0.5 by default.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from netspec.core.errors import UsageError
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.tasks.base import StepContext, Task, as_images, register_task


@register_task("rbm", "dbn")
class RBMTask(Task):
    DEFAULT_DATA = "digits"
    GENERATIVE = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        model = self.raw_nets[self.first_net.name]
        mods = dict(model.named_modules())
        self.rbm_names = [n.name for n in self.first_net.nodes if n.family == "energy"]
        if not self.rbm_names:
            raise UsageError(f"task '{self.name}' needs 'rbm' layers")
        # the RBMs see the data flattened: layers that only move values may stand between them
        other = [n.name for n in self.first_net.nodes if n.family != "energy" and not n.shape_only]
        if other:
            raise UsageError(f"task '{self.name}' trains stacks of rbm layers only; the spec also has "
                             f"{', '.join(other)}")
        self.rbms: list[nn.Module] = [mods[n] for n in self.rbm_names]
        self.stage = 0
        n = len(self.rbms)
        if self.name == "dbn" and n > 1 and self.cfg.epochs < n:
            raise UsageError(f"task 'dbn' trains its {n} RBMs ({', '.join(self.rbm_names)}) one after another, "
                             f"each for a share of the epochs: {self.cfg.epochs} epoch"
                             f"{'s' if self.cfg.epochs != 1 else ''} would leave "
                             f"{', '.join(self.rbm_names[self.cfg.epochs:])} untrained (expected epochs ≥ {n})\n"
                             f"    hint: --epochs {n} (one per RBM) or more; a multiple of {n} gives each the same")

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        binarize = cfg.binarize or "binarize" not in cfg.model_fields_set
        def read(train: bool) -> Any:
            data, _, desc = D.labelled(cfg.model_copy(update={"name": self.data_name, "binarize": binarize}),
                                       self.input_type, self.input_name, train=train, targets_for=None)
            return (TensorSet(data.tensors[0]) if isinstance(data, TensorSet) else data), desc

        data, desc = read(True)
        train, val = self.held_out(data, lambda: read(False)[0])
        if self.name == "dbn" and len(self.rbms) > 1:
            shares = [sum(self.current(e) == i for e in range(self.cfg.epochs)) for i in range(len(self.rbms))]
            self.notes.append(
                f"note: dbn: the {self.cfg.epochs} epochs are divided among the RBMs, bottom first ("
                + ", ".join(f"{name} {k}" for name, k in zip(self.rbm_names, shares))
                + f"); the best epoch (best.pt) and --patience follow the reconstruction error of the last "
                  f"stage ({self.rbm_names[-1]}, the whole stack trained) only: earlier stages report other RBMs' "
                  f"errors")
        self.loss_name = "cd"
        return DataBundle(train, val, desc + (", binarized" if binarize else ""))

    def monitored(self, epoch: int) -> bool:
        """dbn: only the epochs of the last RBM (the whole stack trained) are compared for the best epoch and
        count towards --patience; an earlier stage's reconstruction error is another RBM's."""
        return self.current(epoch) == len(self.rbms) - 1

    def stage_of(self, epoch: int) -> int | None:
        return self.current(epoch)

    def param_groups(self, model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
        return [(name, list(m.parameters())) for name, m in zip(self.rbm_names, self.rbms)]

    def current(self, epoch: int) -> int:
        """The RBM being trained at this epoch (dbn: epochs split evenly, bottom first)."""
        if self.name == "rbm" or len(self.rbms) == 1:
            return 0
        per = max(1, self.cfg.epochs // len(self.rbms))
        return min(epoch // per, len(self.rbms) - 1)

    def below(self, v: torch.Tensor, upto: int) -> torch.Tensor:
        with torch.no_grad():
            v = v.reshape(v.shape[0], -1)
            for m in self.rbms[:upto]:
                v = m(v)
        return v

    def _recon(self, m: nn.Module, v: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            ph, _ = m.sample_h(v)
            pv, _ = m.sample_v(ph)
            return F.mse_loss(pv, v)

    def train_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        i = self.current(ctx.epoch)
        self.stage = i
        v = self.below(batch[0], i)
        m = self.rbms[i]
        loss = m.cd_loss(v, self.cfg.task.cd_k)
        ctx.backward(loss, i)
        return {"loss": self._recon(m, v), "free_energy_gap": loss.detach(), "n": v.shape[0]}

    def dry_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """CD-k of every RBM of the stack (each on the hidden probabilities of the ones below), forward
        and backward, no optimizer step (``--dry-run``); returns the summed reconstruction error."""
        total = torch.zeros((), device=batch[0].device)
        for i, m in enumerate(self.rbms):
            v = self.below(batch[0], i)
            m.cd_loss(v, self.cfg.task.cd_k).backward()
            total = total + self._recon(m, v)
        return total

    @torch.no_grad()
    def eval_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        i = self.stage
        v = self.below(batch[0], i)
        return {"loss": self._recon(self.rbms[i], v), "n": v.shape[0]}

    @torch.no_grad()
    def sample_images(self, ctx: StepContext, val: Any) -> torch.Tensor | None:
        """Validation images and their one-step reconstructions through the whole stack."""
        if not isinstance(val, TensorSet):
            return None
        v = val.tensors[0][:16].reshape(min(16, len(val)), -1)
        h = v
        for m in self.rbms:
            h = m(h)
        for m in reversed(self.rbms):
            h, _ = m.sample_v(h)
        a, b = as_images(v), as_images(h)
        return None if a is None or b is None else torch.cat([a, b])

    def state_dict(self) -> dict[str, Any]:
        return {"stage": self.stage}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stage = int(state.get("stage", 0))
