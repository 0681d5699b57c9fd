"""GAN: alternating discriminator and generator steps over networks ``generator`` and ``discriminator``.

The discriminator's input comes ``from: generator`` in the spec (or has the generator's output
shape); real images are fitted to it and scaled to [-1, 1] when the generator's output is bounded
(tanh). The discriminator's output is a probability (sigmoid: binary cross-entropy) or a logit (BCE
with logits).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from netspec.core.errors import UsageError
from netspec.train import data as D
from netspec.train.batching import DataBundle, TensorSet
from netspec.train.tasks.base import (
    StepContext,
    Task,
    as_images,
    first,
    make_loss,
    output_meaning,
    register_task,
)

G_OPT, D_OPT = 0, 1  # the optimizers, in the order of param_groups


@register_task("gan")
class GAN(Task):
    DEFAULT_DATA = "digits"
    GENERATIVE = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        nets = self.graph.networks
        if "generator" not in nets or "discriminator" not in nets:
            raise UsageError(f"task 'gan' needs networks named 'generator' and 'discriminator'; the spec has "
                             f"{', '.join(nets)}")
        self.g, self.d = nets["generator"], nets["discriminator"]
        if len(self.g.inputs) != 1:
            raise UsageError("task 'gan': the generator must take one input (the latent vector z)")
        self.z_type = next(iter(self.g.inputs.values()))
        self.d_input = next(iter(self.d.inputs))

    def load_data(self) -> DataBundle:
        want = next(iter(self.g.output_types().values()))
        cfg = self.cfg.data.model_copy(update={"name": self.data_name})
        self.tanh = output_meaning(self.g) == "bounded"  # outputs in [-1, 1]

        def real(train: bool) -> Any:
            data, _, desc = D.labelled(cfg, want, "generator output", train=train, targets_for=None)  # samples alone
            if isinstance(data, TensorSet):
                data = TensorSet(data.tensors[0] * 2 - 1 if self.tanh else data.tensors[0])
            elif self.tanh:  # an image folder: each image scaled when read
                data = D.MappedInputs(data, to_tanh_range)
            return data, desc

        data, desc = real(True)
        train, val = self.held_out(data, lambda: real(False)[0])
        probs = output_meaning(self.d) == "probability"
        self.loss_name = "bce" if probs else "bce_logits"
        self.bce = make_loss(self.loss_name)
        return DataBundle(train, val, desc + (" scaled to [-1, 1]" if self.tanh else ""))

    def param_groups(self, model: nn.Module) -> list[tuple[str, list[nn.Parameter]]]:
        g = [p for p in self.raw_nets["generator"].parameters() if p.requires_grad]
        d = [p for p in self.raw_nets["discriminator"].parameters() if p.requires_grad]
        return [("generator", g), ("discriminator", d)]

    def z(self, n: int, device: torch.device) -> torch.Tensor:
        shape = [d if isinstance(d, int) else 1 for d in self.z_type.shape]
        return torch.randn(n, *shape, device=device)

    def disc(self, x: torch.Tensor) -> torch.Tensor:
        return first(self.nets["discriminator"](x)).reshape(-1)

    def gen(self, z: torch.Tensor) -> torch.Tensor:
        return first(self.nets["generator"](z))

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        s = self.cfg.task.label_smoothing
        ones = torch.full((real.shape[0],), 1.0 - s, device=real.device)
        zeros = torch.zeros(fake.shape[0], device=real.device)
        return self.bce(self.disc(real), ones) + self.bce(self.disc(fake), zeros)

    def _g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return self.bce(self.disc(fake), torch.ones(fake.shape[0], device=fake.device))

    def train_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        real = batch[0]
        n = real.shape[0]
        for _ in range(self.cfg.task.d_steps):
            ctx.zero_grad(D_OPT)  # drop what the generator step left in D
            with ctx.autocast():
                with torch.no_grad():
                    fake = self.gen(self.z(n, real.device))
                d_loss = self._d_loss(real, fake)
            ctx.backward(d_loss, D_OPT)
        with ctx.autocast():
            g_loss = self._g_loss(self.gen(self.z(n, real.device)))
        ctx.backward(g_loss, G_OPT)
        ctx.zero_grad(D_OPT)
        return {"loss": (d_loss + g_loss).detach(), "d_loss": d_loss.detach(), "g_loss": g_loss.detach(), "n": n}

    def dry_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Both losses, forward and backward, no optimizer step (``--dry-run``)."""
        real = batch[0]
        with ctx.autocast():
            fake = self.gen(self.z(real.shape[0], real.device))
            d_loss = self._d_loss(real, fake.detach())
            g_loss = self._g_loss(fake)
        (d_loss + g_loss).backward()
        return (d_loss + g_loss).detach().float()

    @torch.no_grad()
    def eval_step(self, ctx: StepContext, batch: tuple[torch.Tensor, ...]) -> dict[str, Any]:
        real = batch[0]
        g = torch.Generator(device=real.device).manual_seed(1)
        shape = [d if isinstance(d, int) else 1 for d in self.z_type.shape]
        fake = self.gen(torch.randn(real.shape[0], *shape, device=real.device, generator=g))
        d_loss, g_loss = self._d_loss(real, fake), self._g_loss(fake)
        return {"loss": (d_loss + g_loss).float(), "d_loss": d_loss.float(), "g_loss": g_loss.float(),
                "n": real.shape[0]}

    @torch.no_grad()
    def sample_images(self, ctx: StepContext, val: Any) -> torch.Tensor | None:
        g = torch.Generator().manual_seed(0)
        shape = [d if isinstance(d, int) else 1 for d in self.z_type.shape]
        z = torch.randn(32, *shape, generator=g).to(ctx.device)
        out = self.gen(z).float()
        if self.tanh:
            out = (out + 1) / 2
        return as_images(out.clamp(0, 1))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's output for latent vectors."""
        return self.gen(x)

    def describe_samples(self, batch: tuple[torch.Tensor, ...]) -> list[str]:
        """Data samples are real images: what the discriminator makes of each."""
        p = self.disc(batch[0]).float()
        if self.loss_name == "bce_logits":
            p = torch.sigmoid(p)
        return [f"discriminator: real {v:.1%}" for v in p.cpu().tolist()]


def to_tanh_range(x: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] -> [-1, 1], the range of a tanh generator's outputs."""
    return x * 2 - 1
