"""ONNX ``auto_pad`` (SAME_UPPER, SAME_LOWER, VALID) on Conv and pools: read as explicit pads from the
input's known size, or as ``padding: same`` where torch computes exactly that (stride 1, the odd zero at
the end); refused, in plain words (no bytes literal), only where torch cannot pad so. The references are
onnxruntime running the file and the torch module the spec was exported from, never netspec's output."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import netspec
from netspec.interop.export import export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402

SAME = """netspec: 1
name: same
input: [3, 9, 10]
layers:
  - conv2d: {filters: 4, kernel: 3, padding: same}
  - relu
  - conv2d: {filters: 2, kernel: 4, padding: same}
  - conv2d: {filters: 2, kernel: 3, stride: 2, padding: 1}
  - flatten
  - dense: 3
"""


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_netspecs_own_export_of_padding_same_imports_back_as_the_same_function(tmp_path):
    torch.manual_seed(0)
    original = netspec.compile(SAME).eval()
    export(SAME, tmp_path / "same.onnx", weights=original.state_dict())
    # (the exporter writes `padding: same` as explicit pads, which onnxruntime runs with dilation too; the
    # auto_pad forms other exporters write are the tests below)
    done = import_onnx(tmp_path / "same.onnx")
    assert done.params == sum(p.numel() for p in original.parameters())  # torch's count
    mine = netspec.compile(done.text, weights=done.state).eval()
    assert mine.netspec_weights.complete
    assert sum(p.numel() for p in mine.parameters()) == sum(p.numel() for p in original.parameters())
    x = torch.randn(4, 3, 9, 10)
    with torch.no_grad():
        assert torch.allclose(mine(x), original(x), atol=1e-5)


def conv_file(path, shape: list[int], kernel: list[int], strides: list[int], auto_pad: str,
              op: str = "Conv") -> None:
    """One Conv (4 filters, random weights) or pool with ``auto_pad``, on a fixed input ``shape`` (batch 2)."""
    rng = np.random.default_rng(0)
    k = len(kernel)
    inits, inputs = [], ["x"]
    attrs = {"kernel_shape": kernel, "strides": strides, "auto_pad": auto_pad}
    if op == "Conv":
        inits = [numpy_helper.from_array(rng.standard_normal((4, shape[0], *kernel)).astype(np.float32), "w"),
                 numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")]
        inputs = ["x", "w", "b"]
    node = helper.make_node(op, inputs, ["y"], name=f"{op.lower()}1", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, *shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    assert k == len(shape) - 1
    onnx.save(model, str(path))


def onnxruntime(path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"x": x.numpy()})[0])


@pytest.mark.parametrize("shape, kernel, strides, auto_pad, op", [
    ([3, 9, 10], [3, 3], [1, 1], "SAME_UPPER", "Conv"),
    ([3, 9, 10], [4, 2], [1, 1], "SAME_UPPER", "Conv"),  # odd totals: torch's padding 'same'
    ([3, 9, 10], [3, 3], [1, 1], "SAME_LOWER", "Conv"),
    ([3, 9, 11], [3, 3], [2, 2], "SAME_UPPER", "Conv"),  # stride 2: pads from the size, 9 -> 2, 11 -> 2
    ([3, 9, 10], [3, 3], [2, 2], "VALID", "Conv"),
    ([3, 12], [5], [1], "SAME_LOWER", "Conv"),
    ([3, 9, 9], [3, 3], [2, 2], "SAME_UPPER", "MaxPool"),
    ([3, 8, 8], [2, 2], [2, 2], "SAME_UPPER", "MaxPool"),  # total 0
    ([3, 9, 9], [2, 2], [2, 2], "VALID", "AveragePool"),
])
def test_auto_pad_imports_and_computes_onnxruntimes_outputs(tmp_path, shape, kernel, strides, auto_pad, op):
    conv_file(tmp_path / "m.onnx", shape, kernel, strides, auto_pad, op)
    done = import_onnx(tmp_path / "m.onnx")
    mine = netspec.compile(done.text, weights=done.state).eval()
    assert sum(p.numel() for p in mine.parameters()) == \
        sum(numpy_helper.to_array(t).size for t in onnx.load(str(tmp_path / "m.onnx")).graph.initializer)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        ours = mine(x)
    theirs = onnxruntime(tmp_path / "m.onnx", x)
    assert ours.shape == theirs.shape and torch.allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("shape, kernel, strides, auto_pad, op, says", [
    ([3, 9, 10], [4, 4], [1, 1], "SAME_LOWER", "Conv", "auto_pad SAME_LOWER makes asymmetric padding: [2, 2] at the "
                                                        "start, [1, 1] at the end"),
    ([3, 10, 10], [3, 3], [2, 2], "SAME_UPPER", "Conv", "auto_pad SAME_UPPER makes asymmetric padding: [0, 0]"),
    ([3, 10, 10], [3, 3], [2, 2], "SAME_UPPER", "MaxPool", "asymmetric padding"),
])
def test_auto_pad_torch_cannot_express_is_refused_in_plain_words(tmp_path, shape, kernel, strides, auto_pad, op, says):
    conv_file(tmp_path / "m.onnx", shape, kernel, strides, auto_pad, op)
    with pytest.raises(NotImportable) as err:
        import_onnx(tmp_path / "m.onnx")
    assert says in str(err.value) and "hint:" in str(err.value)
    assert "b'" not in str(err.value) and 'b"' not in str(err.value)
