"""ONNX's AveragePool in: ``count_include_pad`` 0 (ONNX's default) imports where it agrees with torch's
module, which counts the padding (no pads: every window, ceil_mode's last one hanging over the edge too, is
divided by its cells inside the input), and is refused where it does not. The outputs compared are
onnxruntime's running the file, never netspec's."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import netspec

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402


def _average_pool(path, shape: list[int], pads: int, ceil_mode: int, count_include_pad: int) -> None:
    node = helper.make_node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                            pads=[pads] * 4, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, *shape])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.save(model, str(path))


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("pads, ceil_mode, count_include_pad", [
    (0, 1, 0), (0, 1, 1), (0, 0, 0), (1, 1, 1), (1, 0, 1)])
def test_an_onnx_average_pool_imports_where_torch_computes_onnxruntimes_outputs(tmp_path, pads, ceil_mode,
                                                                                 count_include_pad):
    shape = [3, 8, 10]  # 8 and 10 with kernel 3, stride 2: ceil_mode's last window hangs over the edge
    _average_pool(tmp_path / "m.onnx", shape, pads, ceil_mode, count_include_pad)
    done = import_onnx(tmp_path / "m.onnx")
    mine = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(2, *shape)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    theirs = torch.from_numpy(session.run(None, {"x": x.numpy()})[0])
    with torch.no_grad():
        ours = mine(x)
    assert ours.shape == theirs.shape and torch.allclose(ours, theirs, atol=1e-6)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_an_onnx_average_pool_leaving_its_pads_out_is_refused(tmp_path, ceil_mode):
    shape = [3, 8, 10]
    _average_pool(tmp_path / "m.onnx", shape, 1, ceil_mode, 0)
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32) + 1
    theirs = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    torchs = F.avg_pool2d(torch.from_numpy(x), 3, 2, 1, ceil_mode=bool(ceil_mode)).numpy()  # netspec's module
    assert theirs.shape != torchs.shape or not np.allclose(theirs, torchs)  # onnxruntime: other numbers
    with pytest.raises(NotImportable, match="leaves the padding out of the count"):
        import_onnx(tmp_path / "m.onnx")
