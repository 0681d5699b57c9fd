"""ONNX in: ConvTranspose of 1, 2 and 3 spatial axes (and Conv of 3). Models built here in torch, exported by
torch.onnx, imported, compiled back with the file's initializers and compared with the torch model on the same
weights and with onnxruntime running the file; files written with onnx.helper for the attributes torch does not
export (asymmetric pads, auto_pad, output_shape), compared with onnxruntime. Counts come from torch or from the
file's initializers, never from netspec."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

import netspec

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402


def export(model: nn.Module, shape: list[int], path) -> None:
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(1, *shape), str(path), dynamo=False, input_names=["x"],
                          output_names=["y"], dynamic_axes={"x": {0: "batch"}}, do_constant_folding=False)


def onnxruntime(path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def kinds(spec: dict) -> list[str]:
    return [next(k for k in item if k not in ("name", "from")) for item in spec["layers"]]


class Decoder(nn.Module):
    def __init__(self, up: nn.Module, axes: int) -> None:
        super().__init__()
        conv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[axes]
        self.pre, self.up, self.post = conv(3, up.in_channels, 3, padding=1), up, conv(up.out_channels, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(torch.relu(self.up(torch.relu(self.pre(x)))))


CASES = [  # (transposed convolution, spatial axes, per-sample input, its kind)
    (nn.ConvTranspose1d(4, 6, 4, stride=2, padding=1), 1, [3, 9], "conv_transpose1d"),
    (nn.ConvTranspose1d(4, 6, 3, stride=3, padding=2, output_padding=2, dilation=2, groups=2, bias=False), 1, [3, 7],
     "conv_transpose1d"),
    (nn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)), 2, [3, 5, 4],
     "conv_transpose2d"),
    (nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1, output_padding=1, groups=4), 2, [3, 6, 6], "conv_transpose2d"),
    (nn.ConvTranspose3d(4, 6, 2, stride=2), 3, [3, 3, 4, 5], "conv_transpose3d"),
    (nn.ConvTranspose3d(4, 6, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), output_padding=(0, 1, 0), groups=2,
                        dilation=(1, 1, 2)), 3, [3, 2, 5, 4], "conv_transpose3d"),
]


@pytest.mark.parametrize("up, axes, shape, kind", CASES, ids=[f"{c[3]}-{i}" for i, c in enumerate(CASES)])
def test_a_torch_transposed_convolution_through_onnx(tmp_path, up, axes, shape, kind):
    torch.manual_seed(0)
    model = Decoder(up, axes).eval()
    export(model, shape, tmp_path / "m.onnx")
    done = import_onnx(tmp_path / "m.onnx")
    assert kinds(done.spec) == [{1: "conv1d", 2: "conv2d", 3: "conv3d"}[axes], "relu", kind, "relu",
                                {1: "conv1d", 2: "conv2d", 3: "conv3d"}[axes]]
    assert done.params == sum(p.numel() for p in model.parameters())  # torch's count
    mine = netspec.compile(done.text, weights=done.state).eval()
    assert mine.netspec_weights.complete
    x = torch.randn(3, *shape)
    with torch.no_grad():
        ours, theirs = mine(x), model(x)
    assert torch.equal(ours, theirs)  # the same weights, the same modules
    torch.testing.assert_close(ours, onnxruntime(tmp_path / "m.onnx", x), rtol=1e-5, atol=1e-5)


def transpose_file(path, shape: list[int], kernel: list[int], **attrs) -> None:
    """One ConvTranspose (C_in = shape[0] to 4 filters, random weights and bias) on a fixed input (batch 2)."""
    rng = np.random.default_rng(0)
    groups = attrs.get("group", 1)
    inits = [numpy_helper.from_array(rng.standard_normal((shape[0], 4 // groups, *kernel)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b")]
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], name="up", kernel_shape=kernel, **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, *shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.parametrize("shape, kernel, attrs", [
    ([2, 5], [3], {"strides": [2], "pads": [1, 0]}),  # longer at the start: padding 1, output_padding 1
    ([2, 5, 4], [4, 3], {"strides": [3, 2], "pads": [2, 1, 0, 1], "output_padding": [0, 0]}),
    ([2, 5, 4], [3, 3], {"strides": [2, 2], "pads": [1, 1, 1, 1], "output_padding": [1, 0], "dilations": [1, 2]}),
    ([2, 5, 4], [2, 2], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),  # crops 2 − 2 = 0: n·2
    ([2, 5, 4], [3, 3], {"strides": [1, 1], "auto_pad": "SAME_UPPER"}),  # crops 2: one at each end
    ([2, 5, 4], [4, 4], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),  # crops 4 − 2 = 2
    ([2, 5], [4], {"strides": [2], "auto_pad": "SAME_LOWER", "dilations": [1]}),
    ([2, 5, 4], [3, 3], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),  # crops 1, at the start: output_padding 1
    ([2, 5, 4], [3, 3], {"strides": [2, 2], "auto_pad": "VALID", "group": 2}),
    ([2, 3, 4, 3], [2, 3, 2], {"strides": [1, 2, 2], "pads": [0, 1, 1, 0, 0, 0]}),
])
def test_pads_and_auto_pad_torch_can_express_compute_onnxruntimes_outputs(tmp_path, shape, kernel, attrs):
    transpose_file(tmp_path / "m.onnx", shape, kernel, **attrs)
    done = import_onnx(tmp_path / "m.onnx")
    file = onnx.load(str(tmp_path / "m.onnx"))
    assert done.params == sum(numpy_helper.to_array(t).size for t in file.graph.initializer)
    mine = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        ours = mine(x)
    theirs = onnxruntime(tmp_path / "m.onnx", x)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, kernel, attrs, says", [
    ([2, 5], [3], {"strides": [2], "pads": [0, 1]}, "pads [0] at the start and [1] at the end"),
    ([2, 5], [3], {"strides": [2], "pads": [2, 0]}, "pads [2] at the start and [0] at the end"),  # 2 ≥ stride
    ([2, 5, 4], [3, 3], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, "auto_pad SAME_UPPER makes pads [0, 0]"),
    ([2, 5, 4], [2, 2], {"strides": [3, 3], "auto_pad": "SAME_LOWER"}, "negative pads"),
    ([2, 5, 4], [3, 3], {"strides": [2, 2], "output_shape": [10, 8]}, "output_shape [10, 8]"),
])
def test_what_torch_cannot_express_is_refused_at_the_node_with_a_hint(tmp_path, shape, kernel, attrs, says):
    transpose_file(tmp_path / "m.onnx", shape, kernel, **attrs)
    with pytest.raises(NotImportable) as err:
        import_onnx(tmp_path / "m.onnx")
    assert err.value.parts[0][:2] == ("up", "ConvTranspose")
    assert says in str(err.value) and "hint:" in str(err.value)


def test_a_3d_convolution_through_onnx(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(2, 4, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), groups=2), nn.ReLU(),
                          nn.Conv3d(4, 3, 2, dilation=(1, 2, 1), bias=False)).eval()
    export(model, [2, 3, 9, 8], tmp_path / "m.onnx")
    done = import_onnx(tmp_path / "m.onnx")
    assert kinds(done.spec) == ["conv3d", "relu", "conv3d"]
    assert done.params == sum(p.numel() for p in model.parameters())
    mine = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(2, 2, 3, 9, 8)
    with torch.no_grad():
        assert torch.equal(mine(x), model(x))
