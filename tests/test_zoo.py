"""The model zoo: specs/ against the reference implementations they describe.

For torchvision's models (when torchvision is importable; it is not beside every torch build, and the
specs pin torchvision's documented numbers for the suite that runs without it) and for the DCGAN pair
and the U-Net (written below in plain torch, from the PyTorch DCGAN tutorial and Ronneberger et al.
2015), every network of a spec is compared with its reference: the parameter and buffer shapes in order
(so weights load by position), their totals, MACs (torch's flop counter on the reference in eval mode,
two FLOPs per multiply-add), the output shape, and the function: the reference's weights, with
randomised batch-norm statistics and affine terms, copied into ``netspec.compile(spec)`` by position in
node order (the compiled module's own ``parameters()`` order is fx's), give the same outputs in eval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import torch.nn as nn

import netspec

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
BIG_MACS = 10**10  # per sample


# --- references written here ------------------------------------------------------------------------
class DCGANGenerator(nn.Module):
    """The PyTorch DCGAN tutorial's generator (nz = 100, ngf = 64, nc = 3): z (100, 1, 1) → (3, 64, 64)."""

    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    """The PyTorch DCGAN tutorial's discriminator (ndf = 64, nc = 3): (3, 64, 64) → a probability (1, 1, 1)."""

    def __init__(self, ndf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


def _double_conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Ronneberger, Fischer & Brox 2015's U-Net with padded 3×3 convolutions (sizes kept, no cropping):
    64-128-256-512-1024 channels, 2×2 max pooling, 2×2 up-convolutions halving the channels, the skip
    concatenated first ([skip, up]), a final 1×1 convolution to the classes; no batch norm."""

    def __init__(self, in_channels: int = 1, classes: int = 2, widths: tuple[int, ...] = (64, 128, 256, 512, 1024)):
        super().__init__()
        self.down = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.down.append(_double_conv(cin, w))
            cin = w
        self.ups = nn.ModuleList()
        self.up_convs = nn.ModuleList()
        for w in reversed(widths[:-1]):
            self.ups.append(nn.ConvTranspose2d(cin, w, 2, stride=2))
            self.up_convs.append(_double_conv(2 * w, w))
            cin = w
        self.out = nn.Conv2d(cin, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for up, conv, skip in zip(self.ups, self.up_convs, reversed(skips)):
            x = conv(torch.cat([skip, up(x)], dim=1))
        return self.out(x)

    def in_order(self) -> list[nn.Module]:
        """The modules in the order the U-Net computes them (the encoder, then per decoder level the
        up-convolution and the convolutions, then the output layer): the spec's node order."""
        out = [*self.down.modules()]
        for up, conv in zip(self.ups, self.up_convs):
            out += [up, *conv.modules()]
        return out + [self.out]


# --- the cases ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One network of a spec and its reference model."""

    spec: str
    make: Callable[[Any], nn.Module]  # called with torchvision.models (or None when not needed)
    network: str | None = None  # in a spec with several networks
    torchvision: bool = True
    order: Callable[[nn.Module], list[nn.Module]] | None = None  # the reference's modules, in node order

    @property
    def id(self) -> str:
        return f"{self.spec}:{self.network}" if self.network else self.spec


def _regnet_order(model: nn.Module) -> list[nn.Module]:
    """torchvision's ResBottleneckBlock registers its projection shortcut (``proj``) before the body
    (``f``); netspec's residual adds the shortcut's nodes after the body's. Each body first."""
    out: list[nn.Module] = [*model.stem.modules()]
    for block in model.trunk_output.modules():
        if type(block).__name__ == "ResBottleneckBlock":
            out += [*block.f.modules(), *(block.proj.modules() if block.proj is not None else [])]
    return out + [model.fc]


CASES = [
    Case("densenet121", lambda m: m.densenet121()),
    Case("resnext50_32x4d", lambda m: m.resnext50_32x4d()),
    Case("wide_resnet50_2", lambda m: m.wide_resnet50_2()),
    Case("squeezenet1_0", lambda m: m.squeezenet1_0()),
    Case("shufflenet_v2_x1_0", lambda m: m.shufflenet_v2_x1_0()),
    Case("inception_v3", lambda m: m.inception_v3(aux_logits=False, init_weights=False)),
    Case("mnasnet1_0", lambda m: m.mnasnet1_0()),
    Case("regnet_y_400mf", lambda m: m.regnet_y_400mf(), order=_regnet_order),
    Case("efficientnet_v2_s", lambda m: m.efficientnet_v2_s()),
    Case("dcgan", lambda m: DCGANGenerator(), network="generator", torchvision=False),
    Case("dcgan", lambda m: DCGANDiscriminator(), network="discriminator", torchvision=False),
    Case("unet", lambda m: UNet(), torchvision=False, order=UNet.in_order),
]


def _torchvision_models() -> Any:
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch
        return None
    return models


def _randomise_norms(model: nn.Module) -> None:
    """Non-trivial running statistics and affine terms, so that batch norm is compared too."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.1, 0.1)


def _reference_macs(case: Case, models: Any, model: nn.Module, x: torch.Tensor) -> int:
    """torch's flop counter on the reference in eval mode, halved: on the meta device (shapes only, no
    arithmetic) where the model can be built there, else on ``model`` itself."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with torch.device("meta"):
            model, x = case.make(models).eval(), torch.empty(x.shape)
    except Exception:  # e.g. regnet computes its widths with tensors, which the meta device cannot read
        pass
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_spec_matches_its_reference(case: Case):
    path = SPECS / f"{case.spec}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    models = _torchvision_models() if case.torchvision else None
    if case.torchvision and models is None:
        pytest.skip("torchvision is not importable here; the specs pin its documented numbers instead")
    report = netspec.check(path)
    assert report.ok, "\n".join(str(p) for p in report.failures)
    graph = report.graph
    net = graph.networks[case.network] if case.network else graph.network()

    torch.manual_seed(0)
    theirs = case.make(models).eval()
    in_order = case.order(theirs) if case.order else list(theirs.modules())
    their_params = [p for m in in_order for p in m.parameters(recurse=False)]
    their_buffers = [b for m in in_order for b in m.buffers(recurse=False)]
    assert len({id(p) for p in their_params}) == len(list(theirs.parameters())) == len(their_params)
    assert len({id(b) for b in their_buffers}) == len(list(theirs.buffers())) == len(their_buffers)
    # shapes in order (so that weights load by position), and the totals
    assert [s for node in net.nodes for s in node.params.values()] == [tuple(p.shape) for p in their_params]
    assert [s for node in net.nodes for s in node.buffers.values()] == [tuple(b.shape) for b in their_buffers]
    assert net.params == sum(p.numel() for p in theirs.parameters())
    assert sum(b.numel() for b in theirs.buffers()) == sum(
        int(torch.Size(s).numel()) for node in net.nodes for s in node.buffers.values())

    batch = 1 if net.macs >= BIG_MACS else 2  # one sample is enough for the big networks
    x = torch.randn(batch, *next(iter(net.inputs.values())).shape)
    assert net.macs == _reference_macs(case, models, theirs, x[:1])

    compiled = netspec.compile(path)
    ours = (compiled[case.network] if case.network else compiled).eval()
    _randomise_norms(theirs)
    with torch.no_grad():
        modules = dict(ours.named_modules())
        mine = [modules[n.name].get_parameter(k) for n in net.nodes for k in n.params]
        my_buffers = [modules[n.name].get_buffer(k) for n in net.nodes for k in n.buffers]
        for p, q in zip(mine, their_params, strict=True):
            p.copy_(q)
        for b, c in zip(my_buffers, their_buffers, strict=True):
            b.copy_(c)
        want, got = theirs(x), ours(x)
    out_shape = tuple(next(iter(net.output_types().values())).shape)
    assert tuple(got.shape) == tuple(want.shape) == (batch, *out_shape)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())
