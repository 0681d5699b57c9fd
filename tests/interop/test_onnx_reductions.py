"""ONNX in: the reductions and shape operators torch writes around a network's head — ``ReduceMean`` over the
spatial axes with keepdims (``AdaptiveAvgPool2d(1)`` in recent exporters, ``x.mean((2, 3), keepdim=True)``) or
without (``x.mean((2, 3))``), ``ReduceMax`` (``x.amax(-1)``), a mean over the steps of a sequence (``x.mean(1)``),
``GlobalMaxPool`` / ``GlobalAveragePool`` of 1-d and 3-d maps, ``Squeeze``/``Unsqueeze`` after a pool, ``Sub``,
``Gelu``/``Elu`` — map to netspec's pools and layers; other axis sets are refused, naming them. Expected outputs are
onnxruntime's, running the file; counts are torch's."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import netspec

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402


class Head(nn.Module):
    """A small convolution, then the reduction under test, then (where the result is flat) a linear layer."""

    def __init__(self, how: str, dims: int = 2) -> None:
        super().__init__()
        self.how = how
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[dims]
        self.conv = conv(3, 6, 3, padding=1)
        if how not in ("mean keepdim", "adaptive keep", "max keepdim", "channels"):  # a flat result: a linear layer
            self.fc = nn.Linear(6, 4)
        self.adaptive = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1) if dims == 1 else \
            nn.AdaptiveAvgPool3d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.conv(x))
        if self.how == "mean keepdim":
            return y.mean((2, 3), keepdim=True)
        if self.how == "mean":
            return self.fc(y.mean((2, 3)))
        if self.how == "amax":
            return self.fc(y.amax(-1))  # (N, C, L): over the positions
        if self.how == "adaptive flatten":
            return self.fc(torch.flatten(self.adaptive(y), 1))
        if self.how == "adaptive squeeze":
            return self.fc(self.adaptive(y).squeeze(-1).squeeze(-1))
        if self.how == "adaptive keep":
            return self.adaptive(y)
        if self.how == "max keepdim":
            return y.amax((2, 3), keepdim=True)
        if self.how == "sub elu":
            a = y.mean((2, 3))
            return F.elu(self.fc(a) - torch.sigmoid(self.fc(a)), alpha=0.5)
        if self.how == "gelu":
            a = self.fc(y.mean((2, 3)))
            return F.gelu(a) - F.gelu(a, approximate="tanh")
        if self.how == "channels":
            return y.mean(1)  # over the channels: no netspec pool
        raise AssertionError(self.how)


class Steps(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.fc = nn.Linear(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.tanh(self.fc(x))
        if self.how == "mean":
            return y.mean(1)
        if self.how == "max keepdim":
            return y.amax(1, keepdim=True)
        raise AssertionError(self.how)


def export(model: nn.Module, shape: tuple[int, ...], path, opset: int) -> None:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(2, *shape), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], opset_version=opset)


def onnxruntime_outputs(path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def ops_in(path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def imported_computes_onnxruntimes_outputs(model: nn.Module, shape: tuple[int, ...], path) -> dict:
    done = import_onnx(path)
    assert done.params == sum(p.numel() for p in model.parameters())
    module = netspec.compile(done.text, weights=done.state).eval()
    torch.manual_seed(3)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        mine = module(x)
    want = onnxruntime_outputs(path, x)
    assert mine.shape == want.shape and torch.allclose(mine, want, atol=1e-5), (mine.shape, want.shape)
    return done.spec


CASES = [("mean keepdim", 2, {"ReduceMean"}), ("mean", 2, {"ReduceMean"}), ("amax", 1, {"ReduceMax"}),
         ("adaptive flatten", 2, {"GlobalAveragePool"}), ("adaptive squeeze", 2, {"Squeeze"}),
         ("adaptive keep", 1, {"GlobalAveragePool"}), ("adaptive keep", 3, {"GlobalAveragePool"}),
         ("max keepdim", 2, {"ReduceMax"}), ("sub elu", 2, {"Sub", "Elu"})]


@pytest.mark.parametrize("opset", [17, 18])  # the axes an attribute (17) or an input (18)
@pytest.mark.parametrize("how, dims, ops", CASES)
def test_reductions_and_squeezes_import_as_pools(tmp_path, how, dims, ops, opset):
    model = Head(how, dims)
    shape = (3,) + (6,) * dims
    path = tmp_path / "head.onnx"
    export(model, shape, path, opset)
    assert ops <= ops_in(path), ops_in(path)  # the operator under test is in the file
    imported_computes_onnxruntimes_outputs(model, shape, path)


def test_gelu_as_an_operator_imports(tmp_path):
    """opset 20 writes Gelu as one operator (earlier ones as Erf arithmetic)."""
    model = Head("gelu")
    path = tmp_path / "gelu.onnx"
    export(model, (3, 6, 6), path, 20)
    assert "Gelu" in ops_in(path), ops_in(path)
    imported_computes_onnxruntimes_outputs(model, (3, 6, 6), path)


@pytest.mark.parametrize("how", ["mean", "max keepdim"])
def test_a_reduction_over_the_steps_is_a_sequence_pool(tmp_path, how):
    model = Steps(how)
    path = tmp_path / "steps.onnx"
    export(model, (7, 5), path, 17)
    spec = imported_computes_onnxruntimes_outputs(model, (7, 5), path)
    assert any("sequence_pool" in item for item in spec["layers"])


def test_global_max_pool_imports(tmp_path):
    """torch writes a max over every position as ReduceMax or MaxPool; GlobalMaxPool, written by other tools, is
    built here with onnx.helper: a (N, 3, 4, 5) input pooled to (N, 3, 1, 1)."""
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("GlobalMaxPool", ["x"], ["y"], name="gmp")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 1, 1])])
    path = tmp_path / "gmp.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    done = import_onnx(path)
    module = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(2, 3, 4, 5)
    want = x.amax((2, 3), keepdim=True)  # what GlobalMaxPool computes, by its definition
    assert torch.equal(module(x), want) and torch.equal(onnxruntime_outputs(path, x), want)


def test_other_axes_are_refused_naming_them(tmp_path):
    path = tmp_path / "channels.onnx"
    export(Head("channels"), (3, 6, 6), path, 17)
    with pytest.raises(NotImportable) as err:
        import_onnx(path)
    assert "ReduceMean" in str(err.value) and "a mean over axes [1] of a rank-4 tensor" in str(err.value), \
        str(err.value)


class ViewsAndNorms(nn.Module):
    """What torch writes with a dynamic batch: ``x.view(x.size(0), -1)`` as Shape, Gather, Unsqueeze, Concat and
    Reshape; ``transpose(1, 2)`` as Transpose; ``nn.LayerNorm`` (opset 17) as LayerNormalization, over one axis or
    two."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.ln = nn.LayerNorm(4)
        self.ln2 = nn.LayerNorm([16, 4], eps=1e-6)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (N, 4, 8, 8)
        y = y.view(y.size(0), -1)
        y = y.reshape(y.size(0), 4, 64).transpose(1, 2)  # (N, 64, 4)
        y = self.ln(y.flatten(1).view(x.size(0), -1, 4))
        return self.fc(self.ln2(y.reshape(x.size(0), 4, 16, 4)))


def test_sizes_read_from_the_shape_transposes_and_layer_norms_import(tmp_path):
    model = ViewsAndNorms().eval()
    path = tmp_path / "views.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(1, 3, 10, 10), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}}, opset_version=17)
    assert {"Shape", "Gather", "Transpose", "LayerNormalization"} <= ops_in(path), ops_in(path)
    imported_computes_onnxruntimes_outputs(model, (3, 10, 10), path)


def test_a_transpose_of_the_batch_is_refused(tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Transpose", ["x"], ["y"], name="swap", perm=[1, 0, 2])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2, 4])])
    path = tmp_path / "swap.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    with pytest.raises(NotImportable, match=r"a transpose \[1, 0, 2\] that moves the batch axis"):
        import_onnx(path)


def test_the_check_compares_every_output_of_the_graph(tmp_path):
    """A spec with fewer outputs than the ONNX graph is an error of the check (it compared the first and passed)."""
    from onnx import TensorProto, helper

    from netspec.core.errors import BuildError
    from netspec.interop.onnx_import import OnnxImport, verify_onnx

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["a"], name="relu"),
                               helper.make_node("Sigmoid", ["x"], ["b"], name="sigmoid")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 4]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    text = "netspec: 1\nname: g\ninput: [4]\nlayers:\n  - relu: {}\n    name: relu\n"
    with pytest.raises(BuildError, match=r"computes 1 output\(s\), the ONNX graph 2"):
        verify_onnx(OnnxImport(text, {}, {}, 0), model)


def test_a_reduction_of_no_axes_with_noop_is_the_identity(tmp_path):
    """``ReduceMean`` with an empty axes list and ``noop_with_empty_axes=1`` passes its input through (ONNX's
    rule): between two products it is no layer, and the import computes onnxruntime's outputs."""
    from onnx import TensorProto, helper, numpy_helper
    import numpy as np

    w1 = numpy_helper.from_array(np.random.default_rng(0).standard_normal((6, 4)).astype("float32"), "W1")
    none = numpy_helper.from_array(np.array([], dtype="int64"), "none")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W1"], ["h"]),
         helper.make_node("ReduceMean", ["h", "none"], ["y"], keepdims=0, noop_with_empty_axes=1)],
        "noop", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], [w1, none])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    path = tmp_path / "noop.onnx"
    onnx.save(model, str(path))
    done = import_onnx(path)
    assert done.checked == "onnxruntime" and done.max_diff is not None and done.max_diff < 1e-5
    assert len(done.spec["layers"]) == 1
