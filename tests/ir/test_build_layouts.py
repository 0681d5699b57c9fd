"""The axis order the builder composes along the graph (``Layer.output_axes``, ``Builder.axis_order``): a
residual adds its input only to a body output whose axes are the input's, in the input's order.

Expected values come from torch at run time (the compiled module's own parameters, applied by hand) or
from permutations worked by hand in the comments.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec.core.errors import ShapeError


def _warnings(spec: str) -> list[str]:
    return [w for net in netspec.check(spec).networks.values() for w in net.graph.warnings]


def _residual(body: str, shape: str = "[8, 8]", extra: str = "") -> str:
    return f"name: r\ninput: {shape}\nlayers:\n  - residual:\n{extra}      layers:\n{body}"


@pytest.mark.parametrize("shape, body, inverse", [
    # a square (8, 8) transposed: the body's output is f(xᵀ), of x's shape
    ("[8, 8]", "        - permute: [1, 0]\n        - dense: 8\n", "[1, 0]"),
    # (4, 4, 4) rotated by [1, 2, 0]: output axis 0 is input axis 1, 1 is 2, 2 is 0; undone by [2, 0, 1]
    ("[4, 4, 4]", "        - permute: [1, 2, 0]\n        - dense: 4\n", "[2, 0, 1]"),
    # the permute back is not the inverse: [1, 2, 0] twice is [2, 0, 1], undone by [1, 2, 0]
    ("[4, 4, 4]", "        - permute: [1, 2, 0]\n        - layernorm\n        - permute: [1, 2, 0]\n", "[1, 2, 0]"),
])
def test_a_body_that_leaves_its_axes_permuted_gets_no_identity_shortcut(shape: str, body: str, inverse: str):
    with pytest.raises(ShapeError) as info:
        netspec.check(_residual(body, shape))
    (problem,) = info.value.problems
    assert "another order" in problem.message and problem.path == "layers[0]"
    assert (problem.location.line, problem.location.column) == (4, 5)  # at the residual
    assert f"permute: {inverse}" in problem.hint and "shortcut" in problem.hint


def test_the_permutation_is_composed_through_nested_groups_and_time_distributed():
    # the transpose inside a sequential inside the body is still the body's
    nested = "        - sequential:\n            layers:\n              - permute: [1, 0]\n        - dense: 8\n"
    with pytest.raises(ShapeError, match="another order"):
        netspec.check(_residual(nested))
    # time_distributed keeps the time axis first and transposes each step: (3, 5, 5) → order [0, 2, 1]
    stepwise = ("        - time_distributed:\n            layers:\n              - permute: [1, 0]\n")
    with pytest.raises(ShapeError, match=r"another order, \[0, 2, 1\]"):
        netspec.check(_residual(stepwise, "[3, 5, 5]"))
    # a dense at every step keeps the step's axes: the identity shortcut
    model = netspec.compile(_residual("        - time_distributed:\n            layers:\n              - dense: 5\n",
                                      "[3, 5, 5]")).eval()
    x = torch.randn(2, 3, 5, 5)
    dense = model.get_submodule("residual_1.time_distributed_1").layers[0]
    with torch.no_grad():
        assert torch.allclose(model(x), x + dense(x), atol=1e-6)


def test_mixer_token_mixing_permutes_back_and_adds_its_input():
    """MLP-Mixer's token-mixing block: LayerNorm, transpose to (C, T), an MLP over the tokens, transpose
    back; the shortcut is the identity: x + (W2·gelu(W1·LN(x)ᵀ))ᵀ. The (8, 8) input is square, so only
    the axis order (not the shape) tells this body from one that forgets to transpose back."""
    spec = _residual("        - layernorm\n        - permute: [1, 0]\n        - dense: {units: 16, activation: gelu}\n"
                     "        - dense: 8\n        - permute: [1, 0]\n")
    assert _warnings(spec) == []
    model = netspec.compile(spec).eval()
    ln = model.get_submodule("residual_1.layernorm_1")
    d1, d2 = model.get_submodule("residual_1.dense_1"), model.get_submodule("residual_1.dense_2")
    x = torch.randn(3, 8, 8)
    with torch.no_grad():
        tokens = F.layer_norm(x, (8,), ln.weight, ln.bias, 1e-5).transpose(1, 2)
        expected = x + F.linear(F.gelu(F.linear(tokens, d1.weight, d1.bias)), d2.weight, d2.bias).transpose(1, 2)
        assert torch.allclose(model(x), expected, atol=1e-5)


def test_a_written_shortcut_or_identity_is_taken_as_written():
    body = "        - permute: [1, 0]\n        - dense: 8\n"
    # the shortcut written: the input transposed too, xᵀ + W·xᵀ + b
    model = netspec.compile(_residual(body, extra="      shortcut:\n        - permute: [1, 0]\n")).eval()
    dense = model.get_submodule("residual_1.dense_1")
    x = torch.randn(2, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), x.transpose(1, 2) + dense(x.transpose(1, 2)), atol=1e-6)
    # `shortcut: identity` says the input is added as it is: x + W·xᵀ + b (e.g. a symmetrised pair map)
    model = netspec.compile(_residual(body, extra="      shortcut: identity\n")).eval()
    dense = model.get_submodule("residual_1.dense_1")
    with torch.no_grad():
        assert torch.allclose(model(x), x + dense(x.transpose(1, 2)), atol=1e-6)


def test_a_body_whose_axes_are_not_known_keeps_the_identity_shortcut():
    # a reshape makes new axes (which of the input's they hold is not known): nothing to refuse, as before
    spec = _residual("        - reshape: [64]\n        - dense: 64\n        - reshape: [8, 8]\n")
    model = netspec.compile(spec).eval()
    dense = model.get_submodule("residual_1.dense_1")
    x = torch.randn(2, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), x + dense(x.reshape(2, 64)).reshape(2, 8, 8), atol=1e-6)


def test_parallel_branches_in_different_axis_orders_are_not_merged():
    # branch 2 transposes the square (8, 8) input; branch 1 keeps it: the add would meet x[i, j] and x[j, i]
    spec = ("name: p\ninput: [8, 8]\nlayers:\n  - parallel:\n      merge: add\n      branches:\n"
            "        - [dense: 8]\n        - [permute: [1, 0], dense: 8]\n")
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    (problem,) = info.value.problems
    assert "branch 2" in problem.message and "another order" in problem.message
    assert (problem.location.line, problem.location.column) == (4, 5) and "permute: [1, 0]" in problem.hint
    # permuted back, the branches line up: dense_a(x) + dense_b(x) with the transposes undone by hand
    fixed = spec.replace("[permute: [1, 0], dense: 8]", "[permute: [1, 0], dense: 8, permute: [1, 0]]")
    model = netspec.compile(fixed).eval()
    a = model.get_submodule("parallel_1.branch1.dense_1")
    b = model.get_submodule("parallel_1.branch2.dense_1")
    x = torch.randn(2, 8, 8)
    with torch.no_grad():
        assert torch.allclose(model(x), a(x) + b(x.transpose(1, 2)).transpose(1, 2), atol=1e-6)


def test_a_sequence_is_projected_over_its_features_only():
    # a (10, 8) sequence whose body adds a token, (11, 8): a 1×1 conv1d would read the 10 steps as channels
    spec = ("name: q\ninput: [10, 8]\nlayers:\n  - dense: 8\n  - residual:\n      layers:\n"
            "        - class_token\n")
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    (problem,) = info.value.problems
    assert "features on the last axis" in problem.message and "shortcut" in problem.hint
    assert (problem.location.line, problem.location.column) == (5, 5)  # at the residual
    # a channels-last (6, 6, 8) map whose body narrows the channels to 4: a dense over them, W·x + b
    spec = ("name: c\ninput: [3, 6, 6]\nlayers:\n  - conv2d: {filters: 8, kernel: 1}\n  - permute: [1, 2, 0]\n"
            "  - residual:\n      layers:\n        - dense: 4\n")
    model = netspec.compile(spec).eval()
    short = model.get_submodule("residual_1.shortcut.dense")
    assert isinstance(short, torch.nn.Linear) and (short.in_features, short.out_features) == (8, 4)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        t = model.conv2d_1(x).permute(0, 2, 3, 1)
        assert torch.allclose(model(x), model.get_submodule("residual_1.dense_1")(t) + short(t), atol=1e-6)


# --- a body whose permutes cancel out is projected as if it had none ------------------------------------------
def test_a_body_that_permutes_back_and_widens_gets_a_convolution_shortcut():
    """(4, 8, 8) → permute [1, 2, 0] → (8, 8, 4) → dense 16 → (8, 8, 16) → permute [2, 0, 1] → (16, 8, 8): the
    dense mixed the channels at each position, and the axes are back in the input's order (labels (c, h, w) →
    (h, w, c) → (c, h, w)). The input is a channels-first image: a 1×1 conv 4 → 16 (+ batch norm)."""
    spec = _residual("        - permute: [1, 2, 0]\n        - dense: 16\n        - permute: [2, 0, 1]\n", "[4, 8, 8]")
    assert _warnings(spec) == []
    net = netspec.check(spec).graph.network()
    model = netspec.compile(spec).eval()
    conv = model.get_submodule("residual_1.shortcut.conv")
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride) == (4, 16, (1, 1), (1, 1))
    assert net.params == sum(p.numel() for p in model.parameters())
    bn, dense = model.get_submodule("residual_1.shortcut.bn"), model.get_submodule("residual_1.dense_1")
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        body = dense(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        assert torch.allclose(model(x), body + bn(conv(x)), atol=1e-5)


def test_a_channels_last_body_around_a_conv_gets_a_dense_shortcut():
    """A channels-last (6, 6, 8) map (conv2d then permute [1, 2, 0]); the body puts the channels first
    ([2, 0, 1]: (8, 6, 6)), a 1×1 conv2d widens them to 16, and [1, 2, 0] puts them last again: (6, 6, 16),
    the input's axes in order. The shortcut is a dense 8 → 16 over the last axis."""
    spec = ("name: c\ninput: [3, 6, 6]\nlayers:\n  - conv2d: {filters: 8, kernel: 1}\n  - permute: [1, 2, 0]\n"
            "  - residual:\n      layers:\n        - permute: [2, 0, 1]\n        - conv2d: {filters: 16, kernel: 1}\n"
            "        - permute: [1, 2, 0]\n")
    assert _warnings(spec) == []
    model = netspec.compile(spec).eval()
    short = model.get_submodule("residual_1.shortcut.dense")
    assert isinstance(short, torch.nn.Linear) and (short.in_features, short.out_features) == (8, 16)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        t = model.conv2d_1(x).permute(0, 2, 3, 1)
        body = model.get_submodule("residual_1.conv2d_1")(t.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        assert torch.allclose(model(x), body + short(t), atol=1e-5)


def test_an_lstm_sequence_through_a_permute_and_back_gets_a_dense_shortcut():
    # the LSTM's (10, 8) sequence, transposed and back (order (0, 1)), then a dense 8 → 16: Linear(8, 16)
    spec = ("name: l\ninput: [10, 4]\nlayers:\n  - lstm: {units: 8, return_sequences: true}\n  - residual:\n"
            "      layers:\n        - permute: [1, 0]\n        - permute: [1, 0]\n        - dense: 16\n")
    model = netspec.compile(spec).eval()
    short = model.get_submodule("residual_1.shortcut.dense")
    assert (short.in_features, short.out_features) == (8, 16)
    x = torch.randn(2, 10, 4)
    with torch.no_grad():
        h = model.lstm_1(x)
        h = h[0] if isinstance(h, tuple) else h
        assert torch.allclose(model(x), model.get_submodule("residual_1.dense_1")(h) + short(h), atol=1e-5)


def test_a_projection_is_refused_where_the_order_is_not_identity_or_not_known():
    # permute [1, 2, 0] not undone: (8, 8, 16) holds (h, w, c) → order [1, 2, 0], undone by [2, 0, 1]
    with pytest.raises(ShapeError) as info:
        netspec.check(_residual("        - permute: [1, 2, 0]\n        - dense: 16\n", "[4, 8, 8]"))
    (problem,) = info.value.problems
    assert "another order, [1, 2, 0]" in problem.message and "permute: [2, 0, 1]" in problem.hint
    assert problem.path == "layers[0]"
    # a flatten makes a new axis: which of the (4, 8, 8) input's axes the (16,) holds is not known
    with pytest.raises(ShapeError, match="not known"):
        netspec.check(_residual("        - flatten\n        - dense: 16\n", "[4, 8, 8]"))


def test_the_parallel_hint_names_the_branch_that_permuted():
    """Branch 1 transposes the (6, 4) sequence to (4, 6), branch 2 keeps it: branch 1 is to permute back."""
    spec = ("name: p\ninput: [6, 4]\nlayers:\n  - dense: 4\n  - parallel:\n      merge: add\n"
            "      branches: [[permute: [1, 0]], []]\n")
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    (problem,) = info.value.problems
    assert "branch 1" in problem.message and "end of branch 1 (permute: [1, 0])" in problem.hint
    # both permuted, differently: (4, 5, 6) → [1, 2, 0] (5, 6, 4) and [2, 0, 1] (6, 4, 5); branch 2 to
    # branch 1's order: its axes (c, a, b) are to become (b, c, a): permute [2, 0, 1]
    spec = ("name: p\ninput: [4, 5, 6]\nlayers:\n  - parallel:\n      merge: add\n"
            "      branches: [[permute: [1, 2, 0]], [permute: [2, 0, 1]]]\n")
    with pytest.raises(ShapeError) as info:
        netspec.check(spec)
    (problem,) = info.value.problems
    assert "end of branch 2 (permute: [2, 0, 1])" in problem.hint
    # torch: [2, 0, 1] applied to branch 2's output gives branch 1's
    x = torch.randn(4, 5, 6)
    assert torch.equal(x.permute(2, 0, 1).permute(2, 0, 1), x.permute(1, 2, 0))


def test_the_layout_warning_does_not_rest_on_the_kinds_shape_rule():
    """The builder warns from what a kind declares (Layer.reads), not from code in its infer: a kind whose
    shape rule is overridden without a warning still gets it."""
    from netspec.core.types import Ref, TensorType
    from netspec.ir.build import Builder
    from netspec.layers.base import Layer, layer_class

    local = layer_class("locally_connected2d")

    class Quiet(local):  # type: ignore[misc, valid-type]
        def infer(self, ins: list[TensorType], ctx) -> TensorType:  # no warning of its own
            return local.infer(self, ins, ctx)

    permute = layer_class("permute")
    layers: list[Layer] = [permute(kind="permute", dims=[1, 2, 0]), Quiet(kind="locally_connected2d", filters=2)]
    builder = Builder("n", {"x": TensorType((4, 8, 8))}, False, layers)
    builder.chain(layers, builder.root, Ref("x"))
    assert any("last axis" in w for node in builder.nodes for w in node.warnings)




# --- a conv's output is a channels-first map even when its input's receptive field is not known ------------
# (after a permute or a dense the field relative to the network input is gone; the map's layout is not)
@pytest.mark.parametrize("before, length", [
    ("  - permute: [1, 0]\n", "10"),  # (10, 4) → (4, 10): four channels of ten positions
    ("  - permute: [1, 0]\n", "T"),  # the same with a symbolic length: the channels are still axis 0
    ("  - dense: 6\n  - permute: [1, 0]\n", "10"),  # a dense first: (10, 6) → (6, 10)
])
def test_layer_scale_after_a_conv1d_fed_by_a_permute_scales_its_channels(before: str, length: str):
    spec = (f"name: c\ninput: [{length}, 4]\nlayers:\n{before}  - conv1d: {{filters: 8, kernel: 3, padding: 1}}\n"
            "  - layer_scale: 0.1\n")
    report = netspec.check(spec)
    (net,) = report.networks.values()
    assert not net.graph.warnings
    model = netspec.compile(spec, bind={"T": 10} if length == "T" else None)
    (gamma,) = [p for name, p in model.named_parameters() if name.startswith("layer_scale")]
    assert tuple(gamma.shape) == (8, 1)  # one γ per conv channel, broadcast over the 10 positions
    assert net.graph.params == sum(p.numel() for p in model.parameters())


def test_a_conv1d_fed_by_a_permute_then_an_lstm_warns_that_its_channels_would_be_steps():
    spec = "name: c\ninput: [10, 4]\nlayers:\n  - permute: [1, 0]\n  - conv1d: {filters: 8, kernel: 3}\n  - lstm: 5\n"
    (warning,) = _warnings(spec)
    assert "lstm reads axis 0 of (8, 8) as the steps" in warning and "permute: [1, 0]" in warning
