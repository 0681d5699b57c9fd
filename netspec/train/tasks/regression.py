"""Regression (real-valued targets) and sequence forecasting (synthetic sine waves by default)."""

from __future__ import annotations

from typing import Any

import torch

from netspec.core.errors import DataError
from netspec.core.types import fmt_shape
from netspec.spec.train import GATES as D_GATES
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.synthetic import logic, sine
from netspec.train.tasks.base import Task, make_loss, register_task


@register_task("regression", "forecasting")
class Regression(Task):
    DEFAULT_DATA = "sine"

    @property
    def data_name(self) -> str:
        if self.cfg.data.name != "auto":
            return self.cfg.data.name
        return "sine" if len(self.input_type.shape) == 2 else "random"

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        want, out = self.input_type, self.output_type
        if self.data_name == "sine":
            if len(want.shape) != 2 or not isinstance(want.shape[-1], int):
                raise DataError(f"sine forecasting gives (length, features) sequences; the spec's input "
                                f"'{self.input_name}' is {fmt_shape(want.shape)}\n    hint: input: {{shape: [T, 1]}}")
            T = want.shape[0] if isinstance(want.shape[0], int) else cfg.length
            feats = int(want.shape[1])
            seq_out = len(out.shape) == 2
            horizon = self.cfg.task.horizon
            if not seq_out and out.shape and isinstance(out.shape[0], int):
                horizon = max(1, out.shape[0] // feats)
            out_feats = out.shape[-1] if seq_out and isinstance(out.shape[-1], int) else None
            data = sine(cfg.samples, int(T), feats, horizon, self.cfg.seed, T if seq_out else None, out_feats)
            mixed = out_feats is not None and out_feats != feats
            desc = f"sine waves ({cfg.samples} windows of {T} steps, predict " + (
                f"the next step of {out_feats} mixed channels at every position)" if mixed else
                "the next step at every position)" if seq_out else f"the next {horizon})")
        elif self.data_name == "logic":
            if len(want.shape) != 1 or not isinstance(want.shape[0], int) or want.dtype != "float":
                raise D.mismatch(self.input_name, torch.zeros(1, 2), want, "logic data gives (inputs,) 0/1 vectors")
            if len(out.shape) != 1 or not isinstance(out.shape[0], int):
                raise DataError(f"logic data gives one 0/1 target per output unit; the network outputs "
                                f"{fmt_shape(out.shape)}")
            width = int(out.shape[0])
            gates = list(cfg.gates or D_GATES[:width])
            if len(gates) != width:
                raise DataError(f"logic data: {len(gates)} gates ({', '.join(gates)}) for {width} outputs; "
                                f"give one gate per output")
            data = logic(cfg.samples, int(want.shape[0]), gates, cfg.noise, self.cfg.seed)
            desc = (f"logic ({', '.join(gates)} of {want.shape[0]} inputs, {len(data)} rows"
                    + (f", noise std {cfg.noise})" if cfg.noise else ")"))
        elif len(self.first_net.inputs) > 1 and len(self.graph.networks) == 1:
            if self.data_name not in ("npz", "pt"):
                raise DataError(f"the network '{self.first_net.name}' takes {len(self.first_net.inputs)} inputs "
                                f"({', '.join(self.first_net.inputs)}); data '{self.data_name}' gives one\n    hint: "
                                f"an .npz or .pt file with one array per input, named after it, and the targets 'y'")
            self.n_inputs = len(self.first_net.inputs)
            data, desc = self._read(True)
        else:
            data, desc = self._read(True)
        generated = self.data_name in ("sine", "logic")  # no validation file
        train, val = self.held_out(self._targets(data),
                                   None if generated else lambda: self._targets(self._read(False)[0]))
        if cfg.normalize and self.n_inputs > 1:
            raise DataError("data.normalize standardizes one input; with several inputs, standardize the arrays "
                            "before saving them")
        if cfg.normalize:
            train, val, stats = D.normalize(train, val)
            self.data_info["normalize"] = stats
        self.loss_fn = make_loss("mse" if self.cfg.loss == "auto" else self.cfg.loss)
        self.loss_name = "mse" if self.cfg.loss == "auto" else self.cfg.loss
        return DataBundle(train, val, desc)

    def _read(self, train: bool) -> tuple[TensorSet, str]:
        """The samples of the data file (``train``) or of the validation file (``data.val_path``), float
        targets, and a description."""
        cfg = self.cfg.data
        if self.n_inputs > 1:
            data, desc = D.named_inputs(cfg, dict(self.first_net.inputs), self.name, train=train)
            return TensorSet(*data.tensors[:-1], data.tensors[-1].float()), desc
        got, _, desc = D.labelled(cfg.model_copy(update={"name": self.data_name}), self.input_type, self.input_name,
                                  train=train, targets_for=self.name)
        if not isinstance(got, TensorSet):
            raise DataError(f"regression needs in-memory arrays (npz, pt, csv); data '{self.data_name}' gives "
                            f"images with class labels\n    hint: save the inputs and real-valued targets with "
                            f"numpy.savez(path, x=..., y=...), or use 'task: classification' for an image folder")
        return TensorSet(got.tensors[0], got.tensors[1].float()), desc

    def _targets(self, data: TensorSet) -> TensorSet:
        """One target value per output: a (N,) target column becomes (N, 1) for a (1,) output; other
        shapes must be the output's."""
        out = self.output_type
        y = data.tensors[-1]
        if y.dim() == 1 and len(out.shape) == 1:
            data = TensorSet(*data.tensors[:-1], y[:, None])
            y = data.tensors[-1]
        if not D.dims_match(tuple(y.shape[1:]), out.shape):
            raise DataError(f"the targets are {fmt_shape(tuple(y.shape[1:]))} but the network outputs "
                            f"{fmt_shape(out.shape)}")
        return data

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        xs, y = batch[:self.n_inputs], batch[self.n_inputs]
        out = self.forward(*xs)
        return self.loss_fn(out.float().reshape(y.shape), y), {}
