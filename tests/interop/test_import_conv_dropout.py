"""torch in: transposed convolutions of 1, 2 and 3 spatial axes (with output_padding, dilation, groups, and
forward's ``output_size``) and every torch dropout module: each model is built here in torch, imported,
compiled back with its own state dict and compared with torch on the same weights (values with
``torch.equal``, or ``torch.testing.assert_close`` where float sums may be reordered); counts from torch."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import netspec
from netspec.interop.importer import NotImportable, import_model


class Around(nn.Module):
    """``layer`` between two convolutions of ``axes`` spatial axes."""

    def __init__(self, layer: nn.Module, axes: int, cin: int = 4, cout: int = 4) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[axes]
        self.pre, self.layer, self.post = conv(3, cin, 3, padding=1), layer, conv(cout, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.layer(torch.relu(self.pre(x))))


def compiled(model: nn.Module, shape: list[int]) -> tuple[nn.Module, dict]:
    """The model imported, its spec checked against torch's parameter count, compiled with its state dict."""
    done = import_model(model, shape, name="m")
    report = netspec.check(done.text)
    assert report.ok and report.graph.network().params == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(done.text, weights=model.state_dict())
    assert mine.netspec_weights.complete and {how for *_, how in mine.netspec_weights.loaded} == {"name"}
    return mine, done.spec


def kinds(item: object) -> list[str]:
    if isinstance(item, dict):
        return [k for k, v in item.items() if k not in ("name", "from")] + [k for v in item.values() for k in kinds(v)]
    if isinstance(item, list):
        return [k for v in item for k in kinds(v)]
    return []


TRANSPOSED = [  # (layer, spatial axes, per-sample input, its kind)
    (nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1), 1, [3, 9], "conv_transpose1d"),
    (nn.ConvTranspose1d(4, 6, 3, stride=3, padding=2, output_padding=2, dilation=2, groups=2, bias=False), 1, [3, 7],
     "conv_transpose1d"),
    (nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)), 2, [3, 5, 4],
     "conv_transpose2d"),
    (nn.ConvTranspose3d(4, 6, 2, stride=2), 3, [3, 3, 4, 5], "conv_transpose3d"),
    (nn.ConvTranspose3d(4, 6, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), output_padding=(0, 1, 0), groups=2,
                        dilation=(1, 1, 2)), 3, [3, 2, 5, 4], "conv_transpose3d"),
]


@pytest.mark.parametrize("layer, axes, shape, kind", TRANSPOSED, ids=[f"{c[3]}-{i}" for i, c in enumerate(TRANSPOSED)])
def test_a_transposed_convolution_imports_as_its_kind_and_computes_torchs_output(layer, axes, shape, kind):
    torch.manual_seed(0)
    model = Around(layer, axes, cout=layer.out_channels).eval()
    mine, spec = compiled(model, shape)
    assert kind in kinds(spec["layers"])
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.equal(mine.eval()(x), model(x))


class UpTo(nn.Module):
    """A U-Net's up-step: the transposed convolution told the size of the skip it is added to."""

    def __init__(self, axes: int) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 3: nn.Conv3d}[axes]
        up = {1: nn.ConvTranspose1d, 3: nn.ConvTranspose3d}[axes]
        self.down, self.up = conv(3, 4, 3, stride=2, padding=1), up(4, 3, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(torch.relu(self.down(x)), output_size=x.size()) + x


@pytest.mark.parametrize("axes, shape", [(1, [3, 12]), (3, [3, 4, 5, 6])])
def test_output_size_given_in_forward_is_the_output_padding_torch_made_of_it(axes, shape):
    torch.manual_seed(0)
    model = UpTo(axes).eval()
    mine, spec = compiled(model, shape)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.equal(mine.eval()(x), model(x))
    up = next(item for item in spec["layers"] if item.get("name") == "up")
    # the output_padding torch itself computes from output_size (its private helper, here as an oracle)
    want = model.up._output_padding(torch.relu(model.down(x)), list(x.shape[2:]), model.up.stride,
                                    model.up.padding, model.up.kernel_size, axes, model.up.dilation)
    got = next(v for k, v in up.items() if k not in ("name", "from"))
    assert got.get("output_padding", 0) in (list(want), want[0] if len(set(want)) == 1 else None)


DROPOUTS = [  # (layer, spatial axes, per-sample input)
    (nn.Dropout(0.3), 2, [3, 5, 6]),
    (nn.Dropout1d(0.3), 1, [3, 7]),
    (nn.Dropout2d(0.3), 2, [3, 5, 6]),
    (nn.Dropout3d(0.3), 3, [3, 3, 4, 5]),
]



def _training_outputs(mine: torch.nn.Module, model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Both models in training mode on ``x``, each from the same seed: the same random draws."""
    with torch.no_grad():
        model.train(), mine.train()
        torch.manual_seed(7)
        theirs = model(x)
        torch.manual_seed(7)
        return mine(x), theirs


def _drops_as_torch_does(model: torch.nn.Module, shape: list[int]) -> None:
    """The imported spec equals ``model`` in eval mode, and in training drops what torch's module of the same
    kind drops (whole channels zeroed, or values) — and does drop something."""
    mine, _ = compiled(model, shape)
    x = torch.randn(4, *shape)
    with torch.no_grad():
        assert torch.equal(mine.eval()(x), model.eval()(x))
    ours, theirs = _training_outputs(mine, model, x)
    with torch.no_grad():
        assert torch.equal(ours, theirs) and not torch.equal(ours, mine.eval()(x))


@pytest.mark.parametrize("layer, axes, shape", DROPOUTS, ids=[type(c[0]).__name__ for c in DROPOUTS])
def test_a_dropout_imports_and_drops_what_torch_drops_in_training(layer, axes, shape):
    _drops_as_torch_does(Around(layer, axes), shape)


@pytest.mark.parametrize("layer", [nn.AlphaDropout(0.2), nn.FeatureAlphaDropout(0.2)],
                         ids=lambda m: type(m).__name__)
def test_alpha_dropout_is_refused_by_name_with_a_hint(layer):
    with pytest.raises(NotImportable) as err:
        import_model(Around(layer, 2), [3, 5, 6], check=False)
    (refusal,) = err.value.refusals
    assert refusal.path == "layer" and refusal.what == type(layer).__name__
    assert "SELU" in refusal.why and "hint: " in refusal.why and "nn.Identity()" in refusal.why


class Flat(nn.Module):
    """A channel dropout on features (N, F): torch reads the (N, F) batch as one unbatched (C, L) sample."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.drop = nn.Linear(5, 4), nn.Dropout1d(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc(x))


def test_a_channel_dropout_torch_reads_as_unbatched_is_refused():
    with pytest.raises(NotImportable) as err:
        import_model(Flat(), [5], check=False)
    (refusal,) = err.value.refusals
    assert refusal.path == "drop" and "rank 2" in refusal.why and "hint: " in refusal.why
    with pytest.raises(NotImportable, match="Dropout3d on a tensor of rank 4"):
        import_model(Around(nn.Dropout3d(0.2), 2), [3, 5, 6], check=False)


class Functional(nn.Module):
    """A dropout function between two convolutions, called as forward writes it."""

    def __init__(self, axes: int, call) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[axes]
        self.pre, self.post, self.call = conv(3, 4, 3, padding=1), conv(4, 2, 1), call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.call(torch.relu(self.pre(x)), self.training))


@pytest.mark.parametrize("axes, shape, call", [
    (2, [3, 5, 6], lambda x, training: F.dropout(x, 0.3, training)),
    (1, [3, 7], lambda x, training: F.dropout1d(x, p=0.3, training=training)),
    (2, [3, 5, 6], lambda x, training: F.dropout2d(x, 0.3, training=training)),
    (3, [3, 3, 4, 5], lambda x, training: F.dropout3d(x, 0.3, training)),
], ids=["dropout", "dropout1d", "dropout2d", "dropout3d"])
def test_a_dropout_function_given_self_training_imports_as_its_module(axes, shape, call):
    _drops_as_torch_does(Functional(axes, call), shape)


@pytest.mark.parametrize("call, says", [
    (lambda x, training: F.dropout2d(x, 0.3), "F.dropout2d with training=True: it drops in eval mode too"),
    (lambda x, training: F.dropout(x, 0.3, True), "F.dropout with training=True"),
    (lambda x, training: F.alpha_dropout(x, 0.3, training), "no netspec kind for AlphaDropout"),
    (lambda x, training: F.dropout3d(x, 0.3, training), "Dropout3d on a tensor of rank 4"),
], ids=["default-training", "training-true", "alpha", "3d-on-images"])
def test_a_dropout_function_netspec_cannot_express_is_refused_with_a_hint(call, says):
    with pytest.raises(NotImportable) as err:
        import_model(Functional(2, call), [3, 5, 6], check=False)
    (refusal,) = err.value.refusals
    assert says in refusal.why and "hint: " in refusal.why


@pytest.mark.parametrize("call", [
    lambda x, training: F.dropout(x, 0.2, training=False),
    lambda x, training: F.dropout2d(x, 0.3, False),
    lambda x, training: F.alpha_dropout(x, 0.3),
    lambda x, training: F.feature_alpha_dropout(x, 0.3, training=False),
], ids=["dropout", "dropout2d", "alpha-default", "feature-alpha"])
def test_a_dropout_function_given_a_constant_false_never_drops_in_the_spec_either(call):
    # the torch model never drops (training=False in both modes): the spec must not drop in training either
    model = Functional(2, call)
    mine, spec = compiled(model, [3, 5, 6])
    assert not {"dropout", "spatial_dropout"} & set(kinds(spec["layers"]))
    x = torch.randn(4, 3, 5, 6)
    ours, theirs = _training_outputs(mine, model, x)
    with torch.no_grad():
        assert torch.equal(ours, theirs) and torch.equal(theirs, model.eval()(x))  # no drop in torch, none here


class EvalOnly(nn.Module):
    """A dropout function forward calls in eval mode only: the spec cannot compute both functions."""

    def __init__(self) -> None:
        super().__init__()
        self.pre = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre(x)
        return x if self.training else F.dropout(x, 0.2, training=False)


def test_a_dropout_function_called_in_eval_mode_only_is_refused():
    with pytest.raises(NotImportable) as err:
        import_model(EvalOnly(), [3, 5, 6], check=False)
    (refusal,) = err.value.refusals
    assert "called in eval mode only" in refusal.why and "hint: " in refusal.why
