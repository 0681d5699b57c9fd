"""The graph builder (netspec/ir/build.py): options every layer takes, shortcuts, sizes, registration.

Expected numbers come from torch at run time or from formulas worked by hand in the comments.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import yaml
from torch_truth import assert_matches_torch

import netspec
from netspec.core.errors import ShapeError

ROOT = Path(__file__).resolve().parents[2]


def _frozen_in_torch(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if not p.requires_grad)


# --- trainable: and init: mean the same on every kind --------------------------------------------------
RESIDUAL = """
name: r
input: [3, 8, 8]
layers:
  - residual:
      layers:
        - conv2d: {filters: 3, kernel: 3, padding: 1}
    trainable: false
"""


def test_trainable_false_on_a_residual_freezes_the_layers_inside():
    report = netspec.check(RESIDUAL)
    net = report.graph.network()
    # the conv: 3·3·3·3 weights + 3 biases = 84, all frozen; the add has no parameters
    assert (net.params, net.trainable) == (84, 0)
    assert _frozen_in_torch(netspec.compile(RESIDUAL)) == 84


def test_frozen_resnet50_stem_and_layer1_count_as_torch_does():
    raw = yaml.safe_load((ROOT / "specs" / "resnet50.yaml").read_text())
    for item in raw["layers"]:
        if item.get("name") in ("conv1", "layer1"):
            item["trainable"] = False
    net = netspec.analyze(raw).network()
    # conv1: 7·7·3·64 = 9,408. layer1 (three bottlenecks, width 64, input 64):
    #   first: 64·64 + 128 + 3·3·64·64 + 128 + 64·256 + 512 + projection 64·256 + 512 = 75,008
    #   others: 256·64 + 128 + 36,864 + 128 + 16,384 + 512 = 70,400 each  ->  215,808
    assert net.params - net.trainable == 9_408 + 215_808 == 225_216
    assert _frozen_in_torch(netspec.compile(raw)) == 225_216


def test_init_scheme_on_a_group_reaches_every_layer_inside():
    spec = RESIDUAL.replace("trainable: false", "init: zeros")
    model = netspec.compile(spec)
    assert all(float(p.detach().abs().sum()) == 0.0 for p in model.parameters())


def test_init_by_parameter_name_on_a_group_is_refused_with_its_location():
    spec = RESIDUAL.replace("trainable: false", "init: {weight: zeros}")
    lines = spec.splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "init:" in text)  # at init's value, not at the residual
    column = lines[line - 1].index("{weight") + 1
    with pytest.raises(ShapeError, match=rf"<string>:{line}:{column}: layers\[0\]\.init: init: \{{param: \.\.\.\}} "
                                         "names the parameters of one layer"):
        netspec.check(spec)


# --- the automatic projection shortcut --------------------------------------------------------------
def _residual(padding: int) -> str:
    return f"""
name: p
input: [4, 10, 10]
layers:
  - residual:
      layers:
        - conv2d: {{filters: 8, kernel: 3, stride: 2, padding: {padding}}}
"""


def test_projection_takes_the_stride_of_the_body():
    spec = _residual(padding=1)  # body: floor((10 + 2 − 3)/2) + 1 = 5
    model = netspec.compile(spec)
    shortcut = model.get_submodule("residual_1.shortcut.conv")
    assert shortcut.stride == (2, 2) and shortcut.kernel_size == (1, 1)
    assert model(torch.randn(2, 4, 10, 10)).shape == (2, 8, 5, 5)


def test_projection_that_cannot_line_up_is_refused():
    # body: floor((10 − 3)/2) + 1 = 4; a 1×1 stride-2 shortcut gives floor((10 − 1)/2) + 1 = 5 ≠ 4.
    # (A stride-3 shortcut would give 4 too, but from a different sampling grid.)
    with pytest.raises(ShapeError, match=r"cannot line up.*stride-2 projection gives 5"):
        netspec.check(_residual(padding=0))
    # torch agrees that the body's stride cannot line the two up
    body = torch.nn.Conv2d(4, 8, 3, stride=2)(torch.randn(1, 4, 10, 10))
    short = torch.nn.Conv2d(4, 8, 1, stride=2)(torch.randn(1, 4, 10, 10))
    assert body.shape != short.shape


def test_no_shortcut_is_guessed_across_a_body_that_moves_axes():
    """A body that permutes a (T, F) sequence to run a conv over time changes T and F: a 1×1 conv shortcut
    over the input's first axis would mix time steps as channels (torch would build one and run it on
    the wrong axes), and a symbolic T has no channel count at all. Both are refused at the residual."""
    body = ("  - residual:\n      layers:\n        - permute: [1, 0]\n"
            "        - conv1d: {filters: 16, kernel: 3, stride: 2, padding: 1}\n        - permute: [1, 0]\n")
    for size in ("T", "10"):
        with pytest.raises(ShapeError) as info:
            netspec.check(f"name: s\ninput: [{size}, 32]\nlayers:\n{body}")
        (problem,) = info.value.problems
        assert "moves values between axes" in problem.message and problem.path == "layers[0]"
        assert (problem.location.line, problem.location.column) == (4, 5)
    # a map made by a reshape is still projected over its channels: 8 → 16, stride 2 over 8×8
    model = netspec.compile("name: g\ninput: [512]\nlayers:\n  - reshape: [8, 8, 8]\n  - residual:\n"
                            "      layers:\n        - conv2d: {filters: 16, kernel: 3, stride: 2, padding: 1}\n")
    shortcut = model.get_submodule("residual_1.shortcut.conv")
    assert (shortcut.in_channels, shortcut.out_channels, shortcut.stride) == (8, 16, (2, 2))
    assert model(torch.randn(2, 512)).shape == (2, 16, 4, 4)


def test_a_symbolic_channel_count_is_a_shape_error_not_a_crash():
    # a body output whose first axis (the 1×1 convolution's channels) is symbolic: no projection has it
    from netspec.core.types import TensorType
    from netspec.layers.structure.residual import projection

    with pytest.raises(ShapeError, match=r"symbolic \(T\).*write the shortcut"):
        projection(TensorType((4, 10)), TensorType(("T", 5)), True, None)


# --- kinds that read axis 0 as channels warn on a sequence or a channels-last map ---------------------------
def _warnings(spec: str) -> list[str]:
    return [w for net in netspec.check(spec).networks.values() for w in net.graph.warnings]


@pytest.mark.parametrize("layers, kind", [
    # two (10, 8) dense branches: concat on axis 0 gives (20, 8), ten more time steps, not 16 features
    ("  - dense: 16\n  - parallel: {branches: [[dense: 8], [dense: 8]]}\n", "concat"),
    ("  - dense: 16\n  - batchnorm1d\n", "batchnorm1d"),          # 10 "channels": one per time step
    ("  - lstm: {units: 16, return_sequences: true}\n  - global_avg_pool\n", "global_avg_pool"),  # (10, 16) → (10,)
    ("  - lstm: {units: 16, return_sequences: true}\n  - conv1d: {filters: 4, kernel: 3}\n", "conv1d"),  # 10 in
    ("  - dense: 16\n  - dense: 8\n  - group_norm: 2\n", "group_norm"),  # groups of time steps
])
def test_a_sequence_read_as_channels_first_warns(layers: str, kind: str):
    warnings = _warnings(f"name: s\ninput: [10, 32]\nlayers:\n{layers}")
    assert len(warnings) == 1 and kind in warnings[0] and "hint:" in warnings[0]
    assert "last axis" in warnings[0] or "not their features" in warnings[0]


def test_channels_last_is_known_after_a_permute_and_until_the_permute_back():
    """ConvNeXt's block: after permute [1, 2, 0] the (16, 16, 32) map holds its channels last, so layer_scale
    scales them (γ of shape (32,), as torchvision's CNBlock); after the permute back, the first axis (γ of
    shape (32, 1, 1)). Neither warns: the builder knows both layouts."""
    convnext = ("name: c\ninput: [3, 16, 16]\nlayers:\n  - conv2d: {filters: 32, kernel: 3, padding: 1}\n"
                "  - permute: [1, 2, 0]\n  - layernorm\n  - layer_scale\n  - permute: [2, 0, 1]\n"
                "  - layer_scale\n  - batchnorm2d\n")
    assert _warnings(convnext) == []
    model = netspec.compile(convnext).eval()
    last, first = model.layer_scale_1.layer_scale, model.layer_scale_2.layer_scale
    assert (last.shape, first.shape) == ((32,), (32, 1, 1))
    with torch.no_grad():  # per-channel values, so that a γ on the wrong axis would give another answer
        last.copy_(torch.linspace(0.5, 2.0, 32))
        first.copy_(torch.linspace(-1.0, 1.0, 32).view(32, 1, 1))
        x = torch.randn(2, 3, 16, 16)
        y = model.conv2d_1(x).permute(0, 2, 3, 1)
        y = torch.nn.functional.layer_norm(y, (32,), model.layernorm_1.weight, model.layernorm_1.bias, 1e-5)
        y = (y * torch.linspace(0.5, 2.0, 32)).permute(0, 3, 1, 2) * torch.linspace(-1.0, 1.0, 32).view(32, 1, 1)
        assert torch.allclose(model(x), model.batchnorm2d_1(y), atol=1e-5)


@pytest.mark.parametrize("spec", [
    # DCGAN's generator: a dense reshaped to a map, then batch norm over its channels
    "input: [16]\nlayers:\n  - dense: 512\n  - reshape: [8, 8, 8]\n  - batchnorm2d\n  - global_avg_pool\n",
    # conv1d maps (C, L) and an explicit axis: 0 on sequences
    "input: [4, 20]\nlayers:\n  - conv1d: {filters: 8, kernel: 3}\n  - batchnorm1d\n  - global_max_pool\n",
    "input: [10, 32]\nlayers:\n  - dense: 16\n  - parallel: {axis: 0, branches: [[dense: 8], [dense: 8]]}\n",
    # a (T, F) input or an embedding permuted to (F, T) for a conv1d (specs/conv1d_downsample.yaml's pattern)
    "input: [10, 1]\nlayers:\n  - permute: [1, 0]\n  - conv1d: {filters: 4, kernel: 3}\n  - group_norm: 2\n",
    "inputs: {t: {shape: [40], dtype: long}}\nlayers:\n  - embedding: {vocab: 9, dim: 16}\n  - permute: [1, 0]\n"
    "  - conv1d: {filters: 8, kernel: 3}\n  - batchnorm1d\n",
])
def test_maps_and_written_axes_do_not_warn(spec: str):
    assert _warnings("name: m\n" + spec) == []


def test_a_name_defined_further_down_says_so():
    spec = ("name: f\ninput: [8]\nlayers:\n  - dense: {units: 4, from: later}\n  - dense: {units: 4, name: later}\n")
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    (problem,) = info.value.problems
    assert problem.message == "'later' is defined below this layer (at <string>:5:5), not before it"
    assert "move it up" in problem.hint and (problem.location.line, problem.location.column) == (4, 23)  # at from:
    with pytest.raises(ShapeError, match="is not an earlier layer"):  # a typo stays a typo
        netspec.check(spec.replace("from: later", "from: latr"))


# --- a size below 1 is never valid ----------------------------------------------------------------------
@pytest.mark.parametrize("layer, arithmetic", [
    ("upsample: 0.25", r"floor\(3·0\.25\) = 0"),                       # floor(3 · 0.25) = 0
    ("conv_transpose2d: {filters: 2, kernel: 1, padding: 1}", r"= -1"),  # (3 − 1)·1 − 2·1 + 0 + 0 + 1 ... on 1×1
])
def test_no_kind_gives_a_size_below_one(layer: str, arithmetic: str):
    size = 3 if "upsample" in layer else 1
    spec = f"name: z\ninput: [4, {size}, {size}]\nlayers:\n  - {layer}\n"
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    message = str(info.value)
    assert re.search(r"<string>:4:\d+", message), message
    assert re.search(arithmetic, message), message


# --- the compiled module registers submodules in network order -------------------------------------------
ORDER = """
name: o
input: [3, 8, 8]
layers:
  - conv2d: {filters: 8, kernel: 3, padding: 1}
    name: stem
  - sequential:
      layers:
        - conv2d: {filters: 8, kernel: 3, padding: 1}
        - relu
    name: features
  - global_avg_pool
  - dense: 10
    name: classifier
"""


def test_submodules_are_registered_in_network_order():
    model = netspec.compile(ORDER)
    assert [n for n, _ in model.named_children()] == ["stem", "features", "global_avg_pool_1", "classifier"]
    keys = list(model.state_dict())
    assert keys.index("features.conv2d_1.weight") < keys.index("classifier.weight")


# --- symbolic sizes follow the concrete rules: merges compare values, not spellings --------------------
def _two_pools(ceil_padding: int) -> str:
    return f"""
name: mix
input: [4, T]
layers:
  - max_pool1d: {{kernel: 2, stride: 2, padding: {ceil_padding}, ceil_mode: true}}
    name: a
  - max_pool1d: {{kernel: 2, stride: 2, padding: 1}}
    from: input
    name: b
  - add: {{}}
    from: [a, b]
"""


def test_ceil_and_floor_branches_that_agree_for_every_length_may_be_added():
    # ceil mode, padding 1: torch gives floor(T/2) + 1, as the floor-mode branch does, for every T
    spec = _two_pools(ceil_padding=1)
    assert netspec.check(spec).ok
    model = netspec.compile(spec)
    for t in (5, 8, 11):
        assert model(torch.randn(2, 4, t)).shape == (2, 4, t // 2 + 1)


def test_branches_that_differ_for_some_length_are_refused():
    # ceil mode, no padding: ceil(T/2), against floor(T/2) + 1: equal for odd T, not for even T
    with pytest.raises(ShapeError, match="add"):
        netspec.check(_two_pools(ceil_padding=0))
    a = torch.nn.functional.max_pool1d(torch.randn(1, 4, 8), 2, 2, 0, ceil_mode=True)
    b = torch.nn.functional.max_pool1d(torch.randn(1, 4, 8), 2, 2, 1)
    assert (a.shape[-1], b.shape[-1]) == (4, 5)


# --- weight sharing and tying: counted once, as torch counts them ---------------------------------------
SHARING = """
name: s
input: {shape: [T], dtype: long}
layers:
  - embedding: {vocab: 100, dim: 16}
    name: wte
  - dense: 16
    name: fc
  - dense: 16
    share: fc
    name: fc_again
  - dense: {units: 100, bias: false}
    tie: {weight: wte}
    name: head
"""


def test_shared_and_tied_parameters_count_once_as_in_torch():
    net = netspec.analyze(SHARING).network()
    model = netspec.compile(SHARING)
    # wte 100·16 = 1,600; fc 16·16 + 16 = 272; fc_again and head own nothing more
    assert net.params == 1_600 + 272 == sum(p.numel() for p in model.parameters())
    assert model.get_submodule("head").weight is model.get_submodule("wte").weight
    x = torch.randint(0, 100, (2, 5))
    fc = model.get_submodule("fc")
    expected = torch.nn.functional.linear(fc(model.get_submodule("wte")(x)), fc.weight, fc.bias)
    logits = torch.nn.functional.linear(expected, model.get_submodule("wte").weight)
    assert torch.allclose(model(x), logits)


SHARED_BUFFERS = """
name: sb
input: [4, 8, 8]
layers:
  - batchnorm2d: {}
    name: bn
  - residual:
      layers:
        - conv2d: {filters: 4, kernel: 3, padding: 1}
        - batchnorm2d: {}
          share: bn
  - batchnorm2d: {}
    share: bn
"""


def test_a_shared_layers_buffers_count_once_as_in_torch():
    net = netspec.analyze(SHARED_BUFFERS).network()
    # bn over 4 channels: running_mean 4 + running_var 4 + num_batches_tracked 1 = 9; the two other uses
    # apply the same module, so they own none (torch's model.buffers() yields each tensor once)
    assert net.buffers == 9
    assert [n.n_buffers for n in net.nodes if n.kind == "batchnorm2d"] == [9, 0, 0]
    model = assert_matches_torch(net)
    assert sum(b.numel() for b in model.buffers()) == 9


@pytest.mark.parametrize("layer, message", [
    ("- dense: {units: 100, bias: false}\n    tie: {weight: fc}", r"tie: weight \(100, 16\) cannot be fc.weight \(16, 16\)"),
    ("- dense: 8\n    share: fc", r"share: 'fc' is a dense with parameters weight \(16, 16\)"),
    ("- dense: 16\n    tie: {kernel: fc}", r"tie names 'kernel'"),
    ("- dense: 16\n    share: nowhere", r"'nowhere' is not an earlier layer"),
])
def test_sharing_that_cannot_work_is_refused_with_its_location(layer, message):
    spec = SHARING.split("  - dense: 16\n    share: fc")[0] + "  " + layer + "\n"
    with pytest.raises(ShapeError, match=message):
        netspec.check(spec)


def test_share_refuses_a_layer_whose_options_differ_from_the_one_it_runs_as():
    """A layer that shares another's parameters calls that layer's module: its own `causal`/`rotary` were
    reported by check and silently not computed. Refused at the share value, naming each option."""
    text = ("input: [T, 16]\nlayers:\n  - attention: {heads: 4, kv_heads: 2}\n    name: a1\n"
            "  - attention: {heads: 4, kv_heads: 2, rotary: true, causal: true}\n    share: a1\n")
    with pytest.raises(ShapeError) as info:
        netspec.analyze(text)
    (problem,) = info.value.problems
    assert "causal: true here, false there; rotary: true here, false there" in problem.message
    line = text.splitlines()[5]
    assert (problem.location.line, problem.location.column) == (6, line.index("a1") + 1)


def test_share_takes_the_same_options_however_they_are_written():
    """`kernel: 3` and `kernel: [3, 3]` (and an activation, applied after the module) are the same module."""
    text = ("input: [4, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3, padding: 1, activation: relu}\n"
            "    name: c\n  - conv2d: {filters: 4, kernel: [3, 3], padding: [1, 1]}\n    share: c\n")
    net = netspec.analyze(text).network()
    assert net.params == 4 * 4 * 9 + 4  # one conv's weight and bias, counted once


def test_init_on_a_layer_without_parameters_is_refused_at_the_init():
    """`init:` on a relu initialised nothing and was accepted silently; on a group it reaches the layers
    with parameters (the relu inside is not an error)."""
    text = "input: [6]\nlayers:\n  - dense: 3\n  - relu: {}\n    init: {scheme: normal, std: 0.02}\n"
    with pytest.raises(ShapeError) as info:
        netspec.analyze(text)
    (problem,) = info.value.problems
    assert "relu has no parameters to initialise" in problem.message
    assert (problem.location.line, problem.location.column) == (5, text.splitlines()[4].index("{") + 1)
    group = ("input: [6]\nlayers:\n  - group:\n      layers:\n        - dense: 3\n        - relu\n"
             "    init: {scheme: constant, value: 0.5}\n")
    model = netspec.compile(group)
    assert all(bool((p == 0.5).all()) for p in model.parameters())  # weight and bias of the dense layer
