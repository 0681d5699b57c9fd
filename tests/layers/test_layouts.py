"""Kinds whose axis follows the layout the builder knows of their input, not a guess from its rank:
layer_scale's channel axis, and the layout time_distributed's output has.

Expected values come from torch at run time (the compiled module's parameters applied by hand) and
from the layouts worked out in the comments.
"""

from __future__ import annotations

import pytest
import torch

import netspec


def _warnings(spec: str) -> list[str]:
    return [w for net in netspec.check(spec).networks.values() for w in net.graph.warnings]


def _spec(shape: str, layers: str) -> str:
    return f"name: l\ninput: {shape}\nlayers:\n{layers}"


def _scaled(model: torch.nn.Module, name: str, values: torch.Tensor) -> torch.Tensor:
    """Set ``name``'s γ to ``values`` (one per channel, so that a γ on another axis would give another
    answer) and return them shaped as the parameter."""
    gamma = model.get_submodule(name).layer_scale
    with torch.no_grad():
        gamma.copy_(values.view(gamma.shape))
    return gamma.detach()


@pytest.mark.parametrize("shape, layers, param", [
    # conv1d makes (C, L) = (6, 18): one γ per channel, (6, 1) to broadcast over L (18 = 20 − 3 + 1)
    ("[4, 20]", "  - conv1d: {filters: 6, kernel: 3}\n", (6, 1)),
    # a dense makes a sequence (T, F) = (20, 6): one γ per feature, on the last axis
    ("[20, 4]", "  - dense: 6\n", (6,)),
    # an LSTM's sequence (20, 6), through an element-wise dropout
    ("[20, 4]", "  - lstm: {units: 6, return_sequences: true}\n  - dropout: 0.1\n", (6,)),
    # a pool keeps the channels first: (6, 9)
    ("[6, 20]", "  - conv1d: {filters: 6, kernel: 3}\n  - max_pool1d: 2\n", (6, 1)),
    # channels moved last (ConvNeXt's [1, 2, 0]) give (5, 5, 6); γ (6,), as torchvision's CNBlock
    ("[3, 5, 5]", "  - conv2d: {filters: 6, kernel: 1}\n  - permute: [1, 2, 0]\n", (6,)),
])
def test_layer_scale_scales_the_channels_the_layout_says(shape: str, layers: str, param: tuple):
    spec = _spec(shape, layers + "  - layer_scale: {value: 0.5, name: scale}\n")
    assert _warnings(spec) == []
    net = netspec.check(spec).graph.network()
    model = netspec.compile(spec).eval()
    assert model.scale.layer_scale.shape == param
    # check counts what the module holds
    assert net.params == sum(p.numel() for p in model.parameters())
    gamma = _scaled(model, "scale", torch.linspace(0.5, 1.5, param[0]))
    x = torch.randn(2, *[int(d) for d in shape.strip("[]").split(",")])
    with torch.no_grad():
        before = model(x) / gamma  # every layer before the scale, then undone per channel
        model.scale.layer_scale.fill_(1.0)
        assert torch.allclose(before, model(x), atol=1e-5)


def test_a_rank_2_input_of_unknown_layout_warns_unless_the_axis_is_written():
    # (4, 20) may be (C, L) or (T, F): it warns and scales the last axis; axis: 0 reads it as (C, L)
    (warning,) = _warnings(_spec("[4, 20]", "  - layer_scale\n"))
    assert "axis: 0" in warning and "axis: -1" in warning
    spec = _spec("[4, 20]", "  - layer_scale: {axis: 0}\n")
    assert _warnings(spec) == []
    assert netspec.compile(spec).layer_scale_1.layer_scale.shape == (4, 1)
    # the same with a symbolic length: check and a compile with T bound agree (the last axis, 6)
    spec = _spec("[T, 6]", "  - layer_scale\n")
    (warning,) = _warnings(spec)
    model = netspec.compile(spec, bind={"T": 6})
    assert model.layer_scale_1.layer_scale.shape == (6,)
    assert netspec.check(spec).graph.network().params == sum(p.numel() for p in model.parameters())


def test_layer_scale_inside_time_distributed_follows_each_steps_layout():
    """A (T, C, L) = (3, 4, 10) input is a sequence of channels-first (4, 10) frames; a conv1d at every step
    gives (5, 8) frames, scaled per channel: γ (5, 1). A dense after it makes (5, 7) features-last steps:
    γ (7,)."""
    spec = _spec("[3, 4, 10]", "  - time_distributed:\n      layers:\n        - conv1d: {filters: 5, kernel: 3}\n"
                 "        - layer_scale: 0.5\n        - dense: 7\n        - layer_scale: 0.5\n")
    assert _warnings(spec) == []
    net = netspec.check(spec).graph.network()
    model = netspec.compile(spec).eval()
    conv, s1, dense, s2 = model.time_distributed_1.layers
    assert (s1.layer_scale.shape, s2.layer_scale.shape) == ((5, 1), (7,))
    assert net.params == sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        s1.layer_scale.copy_(torch.linspace(0.5, 1.5, 5).view(5, 1))
        s2.layer_scale.copy_(torch.linspace(-1.0, 1.0, 7))
        x = torch.randn(2, 3, 4, 10)
        steps = x.reshape(6, 4, 10)
        expected = dense(conv(steps) * torch.linspace(0.5, 1.5, 5).view(5, 1)) * torch.linspace(-1.0, 1.0, 7)
        assert torch.allclose(model(x), expected.reshape(2, 3, 5, 7), atol=1e-5)


@pytest.mark.parametrize("layers, warns", [
    # a dense at every step makes a (10, 4) sequence, features last: batch norm's channels would be the steps
    ("  - time_distributed:\n      layers:\n        - dense: 4\n  - batchnorm1d\n", True),
    # an element-wise layer at every step keeps the LSTM's (10, 6) sequence features last
    ("  - lstm: {units: 6, return_sequences: true}\n  - time_distributed:\n      layers:\n        - dropout: 0.1\n"
     "  - global_avg_pool\n", True),
    # …and a layer_scale after it scales the features: no guess, no warning
    ("  - time_distributed:\n      layers:\n        - dense: 4\n  - layer_scale\n", False),
])
def test_time_distributed_passes_its_layout_on(layers: str, warns: bool):
    warnings = _warnings(_spec("[10, 5]", layers))
    assert len(warnings) == int(warns)
    assert all("last axis" in w for w in warnings)


def test_time_distributed_dense_then_layer_scale_scales_the_features():
    spec = _spec("[10, 5]", "  - time_distributed:\n      layers:\n        - dense: 4\n  - layer_scale: 0.5\n")
    assert netspec.compile(spec).layer_scale_1.layer_scale.shape == (4,)  # (10, 4): one γ per feature


@pytest.mark.parametrize("layers, kind", [
    # an LSTM's (10, 6): nn.MaxPool1d pools the last axis, the 6 features, not the 10 steps (Keras's would)
    ("  - lstm: {units: 6, return_sequences: true}\n  - max_pool1d: 2\n", "max_pool1d"),
    ("  - dense: 6\n  - adaptive_avg_pool1d: 3\n", "adaptive_avg_pool1d"),
    # nn.Dropout1d drops whole rows of axis 0: time steps of a (10, 6) sequence, not features
    ("  - dense: 6\n  - dropout: {rate: 0.2, spatial: true}\n", "dropout"),
    # ConvNeXt-style channels-last (6, 6, 4) map: a 2-D pool would pool W and C
    ("  - reshape: [4, 6, 6]\n  - permute: [1, 2, 0]\n  - dense: 4\n  - avg_pool2d: 2\n", "avg_pool2d"),
])
def test_pools_and_spatial_dropout_warn_on_features_last(layers: str, kind: str):
    shape = "[10, 5]" if "reshape" not in layers else "[144]"
    (warning,) = _warnings(_spec(shape, layers))
    assert kind in warning and "last axis" in warning and "permute" in warning


def test_max_pool1d_on_a_sequence_pools_the_features_as_the_warning_says():
    # what the warning is about, in torch: (N, 10, 6) → MaxPool1d(2) → (N, 10, 3), the features halved
    model = netspec.compile(_spec("[10, 6]", "  - dense: 6\n  - max_pool1d: 2\n")).eval()
    x = torch.randn(2, 10, 6)
    with torch.no_grad():
        assert model(x).shape == (2, 10, 3)
        assert torch.equal(model(x), torch.nn.functional.max_pool1d(model.dense_1(x), 2))


def test_layer_scale_after_time_distributed_conv_scales_each_steps_channels():
    """(5, 1, 16, 16): five 1-channel frames; a 3×3 conv2d of 8 filters at every step gives (5, 8, 14, 14)
    (14 = 16 − 3 + 1). The channels are axis 1 of each step's (8, 14, 14): γ (8, 1, 1), not (5, 1, 1, 1) over
    the steps."""
    spec = _spec("[5, 1, 16, 16]", "  - time_distributed:\n      layers: [conv2d: {filters: 8, kernel: 3}]\n"
                 "  - layer_scale: {value: 0.5, name: scale}\n")
    assert _warnings(spec) == []
    net = netspec.check(spec).graph.network()
    model = netspec.compile(spec).eval()
    assert model.scale.layer_scale.shape == (8, 1, 1)
    assert net.params == sum(p.numel() for p in model.parameters())
    gamma = torch.linspace(0.5, 1.5, 8)
    with torch.no_grad():
        model.scale.layer_scale.copy_(gamma.view(8, 1, 1))
        x = torch.randn(2, 5, 1, 16, 16)
        conv = model.time_distributed_1.layers[0]
        frames = conv(x.reshape(10, 1, 16, 16)).reshape(2, 5, 8, 14, 14)
        assert torch.allclose(model(x), frames * gamma.view(1, 1, 8, 1, 1), atol=1e-5)


def test_a_channel_reader_after_time_distributed_conv_warns_of_the_steps():
    # conv3d reads axis 0 of (5, 8, 14, 14) as channels: the 5 steps; (8, 5, 14, 14) after permute [1, 0, 2, 3]
    layers = "  - time_distributed:\n      layers: [conv2d: {filters: 8, kernel: 3}]\n"
    (warning,) = _warnings(_spec("[5, 1, 16, 16]", layers + "  - conv3d: {filters: 4, kernel: 3}\n"))
    assert "conv3d" in warning and "steps" in warning and "permute: [1, 0, 2, 3]" in warning
    fixed = layers + "  - permute: [1, 0, 2, 3]\n  - conv3d: {filters: 4, kernel: 3}\n"
    assert _warnings(_spec("[5, 1, 16, 16]", fixed)) == []


@pytest.mark.parametrize("reader", [
    "lstm: 32", "gru: 8", "rnn: 8", "attention: {heads: 2}", "sequence_pool: {mode: mean}", "position_embedding",
    "class_token", "time_distributed: {layers: [dense: 4]}",
])
def test_a_sequence_reader_on_a_conv1d_map_warns(reader: str):
    """conv1d turns (4, 50) into (C, L) = (16, 46) (46 = 50 − 5 + 1): an LSTM (or attention, or a token, or …)
    reading it would take the 16 channels as its steps and the 46 positions as features."""
    conv = "  - conv1d: {filters: 16, kernel: 5}\n"
    (warning,) = _warnings(_spec("[4, 50]", conv + f"  - {reader}\n"))
    kind = reader.partition(":")[0]
    assert kind in warning and "(16, 46)" in warning and "permute: [1, 0]" in warning
    # permuted to (46, 16), the sequence the reader means: no warning
    assert _warnings(_spec("[4, 50]", conv + f"  - permute: [1, 0]\n  - {reader}\n")) == []
    # a rank-2 network input's layout is not known: no warning either
    assert _warnings(_spec("[46, 16]", f"  - {reader}\n")) == []


def test_an_lstm_on_a_conv1d_map_runs_over_the_channels_as_the_warning_says():
    # what the warning is about, in torch: nn.LSTM(batch_first) on (N, 16, 46) makes 16 steps of 46 features
    model = netspec.compile(_spec("[4, 50]", "  - conv1d: {filters: 16, kernel: 5}\n"
                                  "  - lstm: {units: 3, return_sequences: true}\n")).eval()
    assert model.lstm_1.input_size == 46
    assert model(torch.randn(2, 4, 50)).shape == (2, 16, 3)


@pytest.mark.parametrize("reader", [
    "locally_connected2d: 2", "upsample: 2", "zero_pad2d: 1", "crop2d: 1", "pixel_shuffle: 2",
    "channel_shuffle: 2", "layernorm: {channels_first: true}", "conv2d: {filters: 2, kernel: 1}",
    "batchnorm2d", "max_pool2d: 2", "dropout: {rate: 0.1, spatial: true}",
])
def test_a_channel_reader_on_a_channels_last_map_warns(reader: str):
    """permute [1, 2, 0] turns the (4, 8, 8) image into a channels-last (8, 8, 4) map (ConvNeXt's): a kind
    reading axis 0 as channels would take the 8 rows as channels; [2, 0, 1] puts the channels back first."""
    (warning,) = _warnings(_spec("[4, 8, 8]", f"  - permute: [1, 2, 0]\n  - {reader}\n"))
    kind = reader.partition(":")[0]
    assert kind in warning and "last axis" in warning and "permute: [2, 0, 1]" in warning
    assert _warnings(_spec("[4, 8, 8]", f"  - {reader}\n")) == []


@pytest.mark.parametrize("layers, param", [
    # dense 16 → glu halves the last axis: (10, 8), features last: γ (8,)
    ("  - dense: 16\n  - glu\n", (8,)),
    # chunk of the (10, 16) sequence's features into 2: (10, 8) pieces, still features last
    ("  - dense: 16\n  - chunk: {chunks: 2, axis: -1}\n", (8,)),
    # chunk of the steps: (5, 16), features last
    ("  - dense: 16\n  - chunk: {chunks: 2, axis: 0}\n", (16,)),
    # split [4, 12] of the features: the first piece (10, 4)
    ("  - dense: 16\n  - split: {sizes: [4, 12], axis: -1}\n", (4,)),
])
def test_chunk_split_and_glu_keep_a_sequences_layout(layers: str, param: tuple):
    spec = _spec("[10, 4]", layers + "  - layer_scale: {value: 0.5, name: scale}\n")
    assert _warnings(spec) == []
    model = netspec.compile(spec).eval()
    assert model.scale.layer_scale.shape == param
    assert netspec.check(spec).graph.network().params == sum(p.numel() for p in model.parameters())
