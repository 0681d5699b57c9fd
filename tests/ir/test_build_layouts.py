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
