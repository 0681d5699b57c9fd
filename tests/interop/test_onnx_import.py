"""ONNX in: a model exported by torch.onnx (or written with onnx.helper) -> spec -> module with the
ONNX initializers loaded by name -> onnxruntime's outputs. The counts come from torch (the exported
model's parameters), the outputs from onnxruntime running the file, never from netspec."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn as nn

import netspec
from netspec.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from netspec.interop.importer import NotImportable  # noqa: E402
from netspec.interop.onnx_import import import_onnx  # noqa: E402


class Net(nn.Module):
    """Convolutions, batch norm, a residual add, a concatenation, both poolings, Gemm layers."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.c3 = nn.Conv2d(8, 4, 1, groups=2)  # grouped
        self.pool = nn.MaxPool2d(2)
        self.ap = nn.AvgPool2d(2)
        self.fc = nn.Linear(12 * 2 * 2, 10)
        self.fc2 = nn.Linear(10, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.relu(self.c2(y) + y)
        y = self.ap(self.pool(torch.cat([y, self.c3(y)], 1)))
        y = nn.functional.relu6(self.fc(torch.flatten(y, 1)))  # exported as Clip(0, 6)
        return torch.softmax(self.fc2(torch.sigmoid(y)), -1)


def export(model: nn.Module, shape: tuple[int, ...], path) -> None:
    """torch's TorchScript exporter, batch norms kept (PRESERVE: not folded into the convolutions)."""
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.randn(1, *shape), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}}, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False)


def onnxruntime_outputs(path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {session.get_inputs()[0].name: x.numpy()})[0])


def test_a_torch_model_through_onnx(tmp_path):
    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():
        model.bn.running_mean.normal_()
        model.bn.running_var.uniform_(0.5, 2.0)
    export(model, (3, 8, 8), tmp_path / "net.onnx")
    done = import_onnx(tmp_path / "net.onnx")
    assert done.params == sum(p.numel() for p in model.parameters())  # torch's count
    report = netspec.check(done.text)
    assert report.ok and report.graph.network().params == done.params
    mine = netspec.compile(done.text, weights=done.state).eval()
    assert {how for *_, how in mine.netspec_weights.loaded} == {"name"} and mine.netspec_weights.complete
    x = torch.randn(3, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(mine(x), onnxruntime_outputs(tmp_path / "net.onnx", x), atol=1e-5)
        assert torch.allclose(mine(x), model(x), atol=1e-5)
    kinds = [next(k for k in item if k not in ("name", "from")) for item in done.spec["layers"]]
    assert kinds.count("conv2d") == 3 and "batchnorm2d" in kinds and "concat" in kinds and "add" in kinds
    assert "relu6" in kinds


def test_a_netspec_spec_round_trips_through_onnx(tmp_path):
    """spec -> module -> ONNX (torch.onnx) -> spec: the same parameter count as torch's and
    onnxruntime's outputs."""
    spec = "specs/lenet5.yaml"
    torch.manual_seed(1)
    module = netspec.compile(spec).eval()
    export(module, tuple(module.netspec_graph.inputs["input"].shape), tmp_path / "lenet.onnx")
    done = import_onnx(tmp_path / "lenet.onnx")
    assert done.params == sum(p.numel() for p in module.parameters())
    mine = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(2, *module.netspec_graph.inputs["input"].shape)
    with torch.no_grad():
        assert torch.allclose(mine(x), onnxruntime_outputs(tmp_path / "lenet.onnx", x), atol=1e-5)


def _graph(nodes, inits, shape=(2, 4, 4), out_shape=None):
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_matmul_add_reshape_and_global_pooling(tmp_path):
    """A hand-written graph: GlobalAveragePool, Reshape to a constant [-1, C], MatMul + Add (one dense
    layer with a bias), Relu, Gemm with transB=0."""
    from onnx import helper

    rng = np.random.default_rng(0)
    inits = {"shape": np.array([-1, 2], dtype=np.int64), "w": rng.normal(size=(2, 3)).astype(np.float32),
             "b": rng.normal(size=(3,)).astype(np.float32), "w2": rng.normal(size=(3, 4)).astype(np.float32)}
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["g"], name="gap"),
             helper.make_node("Reshape", ["g", "shape"], ["r"], name="flat"),
             helper.make_node("MatMul", ["r", "w"], ["m"], name="proj/MatMul"),
             helper.make_node("Add", ["m", "b"], ["a"], name="proj/Add"),
             helper.make_node("Relu", ["a"], ["h"], name="act"),
             helper.make_node("Gemm", ["h", "w2"], ["y"], name="head")]
    model = _graph(nodes, inits)
    onnx.save(model, tmp_path / "g.onnx")
    done = import_onnx(tmp_path / "g.onnx")
    assert done.params == 2 * 3 + 3 + 3 * 4  # the initializers that are weights (not the reshape's shape)
    dense = [i for i in done.spec["layers"] if "dense" in i]
    assert [d["dense"] for d in dense] == [{"units": 3}, {"units": 4, "bias": False}]
    mine = netspec.compile(done.text, weights=done.state).eval()
    x = torch.randn(5, 2, 4, 4)
    with torch.no_grad():
        assert torch.allclose(mine(x), onnxruntime_outputs(tmp_path / "g.onnx", x), atol=1e-5)


def test_what_cannot_be_mapped_is_listed_by_node(tmp_path):
    from onnx import helper

    inits = {"w": np.ones((4, 2, 3, 3), dtype=np.float32)}
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="lopsided", pads=[1, 1, 0, 0]),
             helper.make_node("Erf", ["x"], ["e"], name="erf_1"),
             helper.make_node("Relu", ["e"], ["r"], name="act"),
             helper.make_node("Add", ["c", "r"], ["y"], name="sum")]
    onnx.save(_graph(nodes, inits), tmp_path / "bad.onnx")
    with pytest.raises(NotImportable) as err:
        import_onnx(tmp_path / "bad.onnx")
    parts = {(where, op): why for where, op, why in err.value.parts}
    assert "asymmetric" in parts[("lopsided", "Conv")] and ("erf_1", "Erf") in parts
    assert len(parts) == 2  # root causes only: `act` and `sum` read what could not be imported


def test_import_cli_with_onnx(tmp_path, capsys):
    torch.manual_seed(2)
    export(Net(), (3, 8, 8), tmp_path / "net.onnx")
    spec, weights = tmp_path / "net.yaml", tmp_path / "net.pt"
    assert main(["import", str(tmp_path / "net.onnx"), "-o", str(spec), "--weights-out", str(weights)]) == 0
    err = capsys.readouterr().err
    assert "onnxruntime's outputs" in err and "loaded by name" in err
    assert main(["check", str(spec)]) == 0
    module = netspec.compile(spec, weights=weights)
    assert module.netspec_weights.summary().endswith("loaded by name")
    capsys.readouterr()
    assert main(["import", str(tmp_path / "nothing.onnx")]) == 2


def test_a_fixed_batch_size_as_torch_onnx_export_writes_by_default(tmp_path, capsys):
    """torch.onnx.export without dynamic_axes fixes the batch at the example's (here 1, then 3): the
    check runs onnxruntime at that batch size, and the spec computes what onnxruntime does."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 10)).eval()
    for batch in (1, 3):
        path = tmp_path / f"static{batch}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.randn(batch, 3, 32, 32),), str(path), dynamo=False)
        assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == batch
        spec = tmp_path / f"s{batch}.yaml"
        assert main(["import", str(path), "-o", str(spec), "--weights-out", str(tmp_path / f"s{batch}.pt")]) == 0
        assert "onnxruntime's outputs" in capsys.readouterr().err
        mine = netspec.compile(spec, weights=tmp_path / f"s{batch}.pt").eval()
        x = torch.randn(batch, 3, 32, 32)
        with torch.no_grad():
            torch.testing.assert_close(mine(x), onnxruntime_outputs(path, x), rtol=1e-4, atol=1e-5)
            torch.testing.assert_close(mine(x), model(x), rtol=1e-4, atol=1e-5)


def test_an_onnxruntime_failure_while_checking_is_a_message(tmp_path, capsys, monkeypatch):
    torch.manual_seed(4)
    export(Net(), (3, 8, 8), tmp_path / "net.onnx")

    def refuse(*args, **kwargs):
        raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions for input")

    monkeypatch.setattr(ort, "InferenceSession", refuse)
    assert main(["import", str(tmp_path / "net.onnx"), "-o", str(tmp_path / "n.yaml")]) not in (0, 3)
    err = capsys.readouterr().err
    assert "onnxruntime could not run" in err and "INVALID_ARGUMENT" in err and "--no-check" in err
    assert "Traceback" not in err
    assert main(["import", str(tmp_path / "net.onnx"), "-o", str(tmp_path / "n.yaml"), "--no-check"]) == 0
