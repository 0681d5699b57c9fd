"""Torch modules and calls that have a netspec kind import as that kind (the fresh-user review: a
transposed convolution refused though ``conv_transpose2d`` exists, ShuffleNetV2's ``x.chunk(2, dim=1)``
refused though ``chunk`` exists). Every expected number comes from torch at run time."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from import_support import kinds_in, same_function, sample
from torchvision_layout import randomise

from netspec.interop.importer import NotImportable, import_model


class Around(nn.Module):
    """``layer`` between two convolutions (so its input and output are read by real layers)."""

    def __init__(self, layer: nn.Module, cin: int = 4, cout: int | None = None, conv: type = nn.Conv2d) -> None:
        super().__init__()
        self.pre = conv(3, cin, 3, padding=1)
        self.layer = layer
        self.post = conv(cin if cout is None else cout, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.layer(torch.relu(self.pre(x))))


CASES = [  # (model, per-sample input shape, the kind it must import as)
    (Around(nn.ConvTranspose2d(4, 8, 2, stride=2), cout=8), [3, 8, 8], "conv_transpose2d"),
    (Around(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, bias=False), cout=6),
     [3, 7, 5], "conv_transpose2d"),
    (Around(nn.ConvTranspose2d(4, 4, (3, 2), dilation=2)), [3, 6, 6], "conv_transpose2d"),
    (Around(nn.Conv3d(4, 5, 3, padding=1), cout=5, conv=nn.Conv3d), [3, 4, 6, 6], "conv3d"),
    (Around(nn.BatchNorm3d(4, eps=1e-3), conv=nn.Conv3d), [3, 4, 6, 6], "batchnorm3d"),
    (Around(nn.MaxPool3d(2), conv=nn.Conv3d), [3, 4, 6, 6], "max_pool3d"),
    (Around(nn.AvgPool3d(3, stride=2, padding=1), conv=nn.Conv3d), [3, 5, 6, 7], "avg_pool3d"),
    (Around(nn.InstanceNorm2d(4, affine=True)), [3, 6, 6], "instance_norm2d"),
    (Around(nn.InstanceNorm2d(4)), [3, 6, 6], "instance_norm2d"),
    (Around(nn.InstanceNorm2d(4, affine=True, track_running_stats=True, eps=1e-3)), [3, 6, 6], "instance_norm2d"),
    (Around(nn.ZeroPad2d((1, 2, 3, 4))), [3, 5, 6], "zero_pad2d"),
    (Around(nn.ZeroPad2d(2)), [3, 5, 6], "zero_pad2d"),
    (Around(nn.ZeroPad2d((1, 1, 2, 2))), [3, 5, 6], "zero_pad2d"),
    (Around(nn.Upsample(scale_factor=2, mode="bilinear")), [3, 5, 6], "upsample"),
    (Around(nn.Upsample(scale_factor=3)), [3, 5, 6], "upsample"),
    (Around(nn.PixelShuffle(2), cout=1), [3, 4, 6], "pixel_shuffle"),
    (Around(nn.PixelUnshuffle(2), cout=16), [3, 4, 6], "pixel_unshuffle"),
    (Around(nn.ChannelShuffle(2)), [3, 4, 6], "channel_shuffle"),
    (Around(nn.Dropout1d(0.3), conv=nn.Conv1d), [3, 6], "dropout"),
    (Around(nn.ConstantPad2d((1, 0, 2, 1), 0.0)), [3, 5, 6], "zero_pad2d"),
    (Around(nn.UpsamplingNearest2d(scale_factor=2)), [3, 5, 6], "upsample"),
    (Around(nn.GLU(dim=1), cout=2), [3, 5, 6], "glu"),
    (nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 4)), nn.Linear(4, 2)), [6], "reshape"),
]




@pytest.mark.parametrize("model, shape, kind", CASES, ids=[f"{k}-{i}" for i, (_, _, k) in enumerate(CASES)])
def test_a_module_with_a_netspec_kind_imports_as_it(model, shape, kind):
    model = randomise(model)
    with torch.no_grad():
        for m in model.modules():  # running statistics randomise() leaves as they start (0 and 1)
            if isinstance(m, nn.InstanceNorm2d) and m.track_running_stats:
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    done = import_model(model, shape, name="m")
    assert kind in kinds_in(done.spec["layers"])
    same_function(done.text, model, sample(shape))


@pytest.mark.parametrize("model, says", [
    (Around(nn.ConstantPad2d(1, 0.5)), "padding with 0.5"),
    (Around(nn.UpsamplingBilinear2d(scale_factor=2)), "align_corners"),
    (Around(nn.Upsample(size=(4, 4))), "to a size"),
])
def test_a_module_with_an_option_its_kind_lacks_is_refused_saying_which(model, says):
    with pytest.raises(NotImportable, match=says):
        import_model(model, [3, 5, 6], name="m")


def test_the_reviewers_unet_with_a_transposed_convolution_imports():
    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc = nn.Conv2d(3, 16, 3, stride=2, padding=1)
            self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
            self.head = nn.Conv2d(8, 2, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(torch.relu(self.up(torch.relu(self.enc(x)))))

    model = randomise(UNet())
    same_function(import_model(model, [3, 32, 32], name="unet").text, model, sample([3, 32, 32]))


class Difference(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(5, 3), nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.a(x) - self.b(x)


def test_a_difference_of_two_tensors_imports_as_subtract():
    model = randomise(Difference())
    done = import_model(model, [5], name="m")
    assert "subtract" in kinds_in(done.spec["layers"])
    same_function(done.text, model, sample([5]))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """torchvision's ShuffleNetV2 channel shuffle, as it writes it."""
    n, c, h, w = x.size()
    x = x.view(n, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(n, -1, h, w)


class ShuffleUnit(nn.Module):
    """torchvision's ShuffleNetV2 ``InvertedResidual`` of stride 1: half the channels through a branch."""

    def __init__(self, c: int) -> None:
        super().__init__()
        half = c // 2
        self.branch2 = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(),
                                     nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False),
                                     nn.BatchNorm2d(half), nn.Conv2d(half, half, 1, bias=False),
                                     nn.BatchNorm2d(half), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch2(x2)), dim=1), 2)


class TinyShuffleNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.stage2 = nn.Sequential(ShuffleUnit(8), ShuffleUnit(8), ShuffleUnit(8))
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.stage2(self.conv1(x)).mean([2, 3]))


def test_a_shufflenet_unit_chunk_imports_as_chunk_with_named_outputs():
    model = randomise(TinyShuffleNet())
    done = import_model(model, [3, 16, 16], name="shuffle")
    assert "chunk" in done.text and ":out1" in done.text  # the branch reads the second half by name
    same_function(done.text, model, sample([3, 16, 16]))


class Cuts(nn.Module):
    """``torch.split`` into uneven pieces along the last axis, each piece through its own layer."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.proj = nn.Linear(4, 7)
        self.a, self.b, self.c = nn.Linear(3, 2), nn.Linear(3, 2), nn.Linear(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.proj(x)
        p = torch.split(y, 3, dim=-1) if self.how == "split" else y.split([3, 3, 1], 1)
        return self.a(p[0]) + self.b(p[1]) * self.c(p[2])


@pytest.mark.parametrize("how", ["split", "method"])
def test_a_split_into_uneven_pieces_imports_as_split(how):
    model = randomise(Cuts(how))
    done = import_model(model, [4], name="m")
    assert "split" in kinds_in(done.spec["layers"])
    same_function(done.text, model, sample([4]))


class Whole(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(4, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.proj(x).chunk(2, dim=1), 1).flatten(1)


def test_pieces_used_as_a_tuple_are_refused_with_the_reason():
    with pytest.raises(NotImportable, match="pieces as a tuple"):
        import_model(Whole(), [4], name="m")


def test_torchvisions_shufflenet_v2_imports_and_computes_the_same():
    models = pytest.importorskip("torchvision.models")
    model = randomise(models.shufflenet_v2_x0_5())
    done = import_model(model, [3, 64, 64], name="shufflenet")
    assert "chunk" in kinds_in(done.spec)
    same_function(done.text, model, sample([3, 64, 64]), atol=1e-4)


# --- modules forward never calls in eval mode (auxiliary heads) ----------------------------------------
class AuxHead(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, 4, 1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.conv(x), 1), 1))


class TinyGoogLeNet(nn.Module):
    """torchvision's GoogLeNet layout: auxiliary heads called only in training, ``aux_logits`` to leave them out."""

    def __init__(self, aux_logits: bool = True) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.aux1 = AuxHead(8) if aux_logits else None
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.aux2 = AuxHead(8) if aux_logits else None
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = torch.relu(self.conv2(x))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        out = self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
        return (out, aux2, aux1) if self.training else out


def test_auxiliary_heads_never_called_in_eval_mode_are_left_out_with_a_note(capsys):
    model = randomise(TinyGoogLeNet())
    done = import_model(model, [3, 8, 8], name="g")
    assert done.left_out == ["aux1", "aux2"]
    aux = sum(p.numel() for m in (model.aux1, model.aux2) for p in m.parameters())  # torch's count
    assert done.params == sum(p.numel() for p in model.parameters()) - aux
    assert "aux1, aux2" in done.note and "not imported" in done.note and "# Note: left out aux1, aux2" in done.text
    # the spec is the model without its heads (aux_logits=False), with the same weights
    plain = TinyGoogLeNet(aux_logits=False)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux")})
    same_function(done.text, plain, sample([3, 8, 8]))


def test_the_cli_reports_the_weights_left_out_and_the_hint(tmp_path, capsys):
    from netspec.cli.main import main

    (tmp_path / "g.py").write_text(
        "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.body, self.aux, self.head = nn.Linear(4, 8), nn.Linear(8, 2), nn.Linear(8, 3)\n\n"
        "    def forward(self, x):\n        x = torch.relu(self.body(x))\n"
        "        return (self.head(x), self.aux(x)) if self.training else self.head(x)\n")
    assert main(["import", f"{tmp_path / 'g.py'}:Net", "--input", "4", "-o", str(tmp_path / "g.yaml")]) == 0
    err = capsys.readouterr().err
    aux = 8 * 2 + 2  # nn.Linear(8, 2): weight and bias
    assert f"note: left out aux ({aux} parameters)" in err and "weights are not imported" in err
    assert "aux_logits=False" in err and "--partial" in err


class Tied(nn.Module):
    """A head never called in eval mode whose weight is the one a called layer uses: not safe to leave out."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.aux = nn.Linear(4, 4)
        self.aux.weight = self.body.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) if not self.training else self.aux(x)


def test_a_head_sharing_weights_with_a_called_layer_is_refused_with_the_hint():
    with pytest.raises(NotImportable) as err:
        import_model(Tied(), [4], name="t")
    assert "aux" in str(err.value) and "aux_logits=False" in str(err.value)


def test_torchvisions_googlenet_with_its_auxiliary_heads_imports_without_them():
    models = pytest.importorskip("torchvision.models")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = randomise(models.googlenet(aux_logits=True, init_weights=False))
        plain = models.googlenet(aux_logits=False, init_weights=False)
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux")})
    done = import_model(model, [3, 64, 64], name="googlenet")
    assert done.left_out == ["aux1", "aux2"]
    same_function(done.text, plain, sample([3, 64, 64]), atol=1e-4)
