"""Autoencoders: reconstruction (plain, denoising with added noise or masking, sparse through the
activity-regularization aux loss) and the VAE (reconstruction + KL from the ``sample`` layer)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from netspec.core.errors import DataError
from netspec.core.types import fmt_shape
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.synthetic import sine
from netspec.train.tasks.base import (
    StepContext,
    Task,
    as_images,
    make_loss,
    output_meaning,
    register_task,
    with_aux,
)


@register_task("reconstruction")
class Reconstruction(Task):
    DEFAULT_DATA = "digits"
    GENERATIVE = True
    PER_SAMPLE_SUM = False  # VAE: sum over features, mean over the batch (the usual ELBO scale)

    def load_data(self) -> DataBundle:
        cfg = self.cfg.data
        want = self.input_type
        if self.data_name in ("sine",):
            T = want.shape[0] if isinstance(want.shape[0], int) else cfg.length
            data = sine(cfg.samples, int(T), int(want.shape[-1]), 1, self.cfg.seed, None)
            data, desc = TensorSet(data.tensors[0]), f"sine waves ({cfg.samples} × {T} steps)"
        else:
            data, _, desc = D.labelled(cfg.model_copy(update={"name": self.data_name}), want, self.input_name,
                                      targets_for=None)  # the input is the target
        train, val = self.held_out(self._inputs(data), None if self.data_name == "sine" else lambda: self._inputs(
            D.labelled(cfg.model_copy(update={"name": self.data_name}), want, self.input_name, train=False,
                       targets_for=None)[0]))
        name = self.cfg.loss if self.cfg.loss != "auto" else "mse"
        self.loss_name = name
        self.loss_fn = make_loss(name)
        self.out_meaning = output_meaning(self.last_net)
        return DataBundle(train, val, desc + (f", noise std {self.cfg.task.noise}" if self.cfg.task.noise else ""))

    def _inputs(self, data: Any) -> Any:
        """The inputs alone (they are the targets), which must have the output's shape; a lazy data set
        (an image folder) as it is (a batch's first tensor is read)."""
        if not isinstance(data, TensorSet):
            return data
        x = data.tensors[0]
        if not D.dims_match(tuple(x.shape[1:]), self.output_type.shape):
            raise DataError(f"an autoencoder reconstructs its input: the data is {D.describe_shape(x)} but the "
                            f"network outputs {fmt_shape(self.output_type.shape)}")
        return TensorSet(x)

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        t = self.cfg.task
        if t.noise:
            x = x + t.noise * torch.randn_like(x)
        if t.mask:
            x = x * (torch.rand_like(x) >= t.mask).to(x.dtype)
        return x

    def recon_loss(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        out = out.float().reshape(x.shape)
        if not self.PER_SAMPLE_SUM:
            return self.loss_fn(out, x)
        if self.loss_name == "bce":
            per = F.binary_cross_entropy(out.clamp(1e-7, 1 - 1e-7), x, reduction="sum")
        elif self.loss_name == "bce_logits":
            per = F.binary_cross_entropy_with_logits(out, x, reduction="sum")
        else:
            per = F.mse_loss(out, x, reduction="sum")
        return per / x.shape[0]

    def loss(self, batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, dict[str, Any]]:
        x = batch[0]
        inp = self.corrupt(x) if self.training else x
        return self.recon_loss(self.forward(inp), x), {}

    training = False

    def train_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        self.training = True
        try:
            with ctx.autocast():
                loss, extra = self.loss(batch)
                aux = ctx.aux_loss()
                total = with_aux(loss, self.aux_weight * aux)
            ctx.backward(total, 0)
        finally:
            self.training = False
        stats = {"loss": total.detach(), **extra, "n": batch[0].shape[0]}
        if isinstance(aux, torch.Tensor):
            stats["recon"] = loss.detach()
        return stats

    aux_weight = 1.0

    @torch.no_grad()
    def sample_images(self, ctx: StepContext, val: Any) -> torch.Tensor | None:
        if not isinstance(val, TensorSet) or len(val) == 0:
            return None
        x = val.tensors[0][:8]
        out = self.forward(x).reshape(x.shape)
        if self.out_meaning is None and self.loss_name == "bce_logits":  # logits: show probabilities
            out = torch.sigmoid(out)
        a, b = as_images(x), as_images(out)
        if a is None or b is None:
            return None
        return torch.cat([a, b])


@register_task("vae")
class VAE(Reconstruction):
    """Reconstruction (summed over features) + kl_weight × KL (the ``sample`` layer's aux loss)."""

    PER_SAMPLE_SUM = True

    def load_data(self) -> DataBundle:
        bundle = super().load_data()
        self.aux_weight = self.cfg.task.kl_weight
        return bundle

    @torch.no_grad()
    def sample_images(self, ctx: StepContext, val: Any) -> torch.Tensor | None:
        recon = super().sample_images(ctx, val)
        dec = self.graph.networks.get("decoder")
        if dec is None or len(dec.inputs) != 1:
            return recon
        zt = next(iter(dec.inputs.values()))
        if not all(isinstance(d, int) for d in zt.shape) or zt.dtype != "float":
            return recon
        g = torch.Generator().manual_seed(0)
        z = torch.randn(16, *zt.shape, generator=g).to(ctx.device)
        out = self.nets["decoder"](z)
        imgs = as_images(out[0] if isinstance(out, tuple) else out)
        if imgs is None:
            return recon
        return imgs if recon is None or recon.shape[1:] != imgs.shape[1:] else torch.cat([recon, imgs])
