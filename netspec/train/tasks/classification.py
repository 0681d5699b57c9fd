"""Classification: integer labels, cross-entropy (or binary cross-entropy for one output), accuracy."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from netspec.errors import DataError
from netspec.train import data as D
from netspec.train.tasks.base import Task, make_loss, need_classes, output_activation, register_task


@register_task("classification")
class Classification(Task):
    HAS_ACCURACY = True
    DEFAULT_DATA = "digits"

    def load_data(self) -> D.DataBundle:
        cfg = self.cfg.data
        if self.data_name == "parity":
            data = D.parity(cfg.samples, cfg.length, self.cfg.seed)
            x = data.tensors[0]
            if self.input_type.dtype == "long" and len(self.input_type.shape) == 1:
                x = x[..., 0].long()  # bits as token ids 0/1
            x = D.check_fit(x, self.input_type, self.input_name,
                            "parity gives (length, 1) float bits, or (length,) ids for a long input")
            data, k, desc = D.TensorSet(x, data.tensors[1]), 2, f"parity ({cfg.samples} bit sequences of {cfg.length})"
        else:
            data, k, desc = D.labelled(cfg.model_copy(update={"name": self.data_name}), self.input_type,
                                       self.input_name, train=True)
        val = None
        if isinstance(data, D.TensorSet):
            y = data.tensors[1]
            if y.is_floating_point():
                raise DataError(f"classification needs integer class labels; the data's targets are floats "
                                f"{D.describe_shape(y)}\n    hint: use 'task: regression' for real-valued targets")
            if cfg.val_path:
                val, _, _ = D.labelled(cfg.model_copy(update={"name": self.data_name}), self.input_type,
                                       self.input_name, train=False)
            else:
                data, val = D.split(data, self.cfg.val_split, self.cfg.seed)
        need_classes(k, self.output_type, self.last_net.name)
        self._setup_loss()
        return D.DataBundle(data, val, desc, num_classes=k)

    def _setup_loss(self) -> None:
        width = self.output_type.shape[-1] if self.output_type.shape else 1
        act = output_activation(self.last_net)
        self.binary = width == 1
        name = self.cfg.loss
        if name == "auto":
            if self.binary:
                name = "bce" if act == "sigmoid" else "bce_logits"
            else:
                name = {"softmax": "nll_of_probs", "log_softmax": "nll"}.get(act or "", "cross_entropy")
        self.loss_name = name
        self.loss_fn = make_loss(name)
        self.smoothing = self.cfg.task.label_smoothing

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        x, y = batch[0], batch[1]
        out = self.forward(x)
        if self.binary:
            out = out.reshape(-1)
            yf = y.float()
            if self.smoothing:
                yf = yf * (1 - self.smoothing) + 0.5 * self.smoothing
            loss = self.loss_fn(out, yf)
            pred = (out > (0.5 if self.loss_name == "bce" else 0.0)).long()
        else:
            if self.smoothing and self.loss_name == "cross_entropy":
                loss = F.cross_entropy(out.float(), y, label_smoothing=self.smoothing)
            else:
                loss = self.loss_fn(out.float(), y)
            pred = out.argmax(-1)
        acc = (pred == y).float().mean()
        return loss, {"accuracy": acc.detach()}

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        out = self.forward(x).float()
        if self.binary:
            p = out if self.loss_name == "bce" else torch.sigmoid(out)
            return torch.cat([1 - p.reshape(-1, 1), p.reshape(-1, 1)], 1)
        if self.loss_name == "nll_of_probs":
            return out
        return out.softmax(-1) if self.loss_name != "nll" else out.exp()

    def describe_prediction(self, probs: torch.Tensor) -> list[str]:
        lines = []
        for row in probs.cpu():
            top = row.topk(min(3, row.numel()))
            lines.append("class " + str(int(top.indices[0])) + "  (" + ", ".join(
                f"{int(i)}: {float(v):.1%}" for v, i in zip(top.values, top.indices)) + ")")
        return lines
