"""An export path whose optional package is missing says so, naming the package (exit 2), rather than blaming
the network or its first layer. The missing package is simulated (``sys.modules[name] = None`` makes its
import fail as an uninstalled one does; a finder that fails while importing it simulates a missing
dependency), so these tests run where onnx is installed."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from pathlib import Path

import pytest

from netspec.cli.main import main
from netspec.core.errors import UsageError
from netspec.interop.export import export

CNN = """input: [3, 16, 16]
layers:
  - conv2d: {filters: 4, kernel: 3}
    name: c1
  - relu: {}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "cnn.yaml"
    path.write_text(CNN, encoding="utf-8")
    return path


def _no_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "onnx" or m.startswith("onnx.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` now raises ImportError, as when not installed


def test_onnx_export_without_the_onnx_package_names_the_package_not_a_layer(spec, tmp_path, monkeypatch, capsys):
    _no_onnx(monkeypatch)
    out = tmp_path / "cnn.onnx"
    assert main(["export", str(spec), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ONNX export needs the onnx package, which is not installed" in err, err
    assert "hint: pip install onnx" in err and ".pt2" in err
    assert "c1" not in err and "cnn.yaml:" not in err and "Traceback" not in err  # no layer is blamed
    assert not out.exists()
    with pytest.raises(UsageError, match="needs the onnx package"):  # the Python API says the same
        export(spec, tmp_path / "api.onnx", check=False)
    assert not (tmp_path / "api.onnx").exists()


class _BrokenOnnx(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """An installed onnx whose own import fails on a package it needs (protobuf)."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201
        return importlib.machinery.ModuleSpec(name, self) if name == "onnx" else None

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return None

    def exec_module(self, module):  # noqa: ANN001, ANN201
        raise ModuleNotFoundError("No module named 'google.protobuf'", name="google.protobuf")


def test_onnx_export_with_onnx_missing_a_dependency_names_both(spec, tmp_path, monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "onnx" or m.startswith("onnx.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_BrokenOnnx(), *sys.meta_path])
    assert main(["export", str(spec), "-o", str(tmp_path / "cnn.onnx")]) == 2
    err = capsys.readouterr().err
    assert "ONNX export needs the onnx package" in err and "google.protobuf" in err, err
    assert "hint: pip install --upgrade onnx" in err and "c1" not in err


@pytest.mark.parametrize("suffix", ["pt2", "py"])
def test_the_other_formats_need_no_onnx(spec, tmp_path, monkeypatch, capsys, suffix):
    _no_onnx(monkeypatch)
    out = tmp_path / f"cnn.{suffix}"
    assert main(["export", str(spec), "-o", str(out)]) == 0, capsys.readouterr().err
    assert out.exists() and "same outputs as the compiled module" in capsys.readouterr().err


def test_onnx_export_without_onnxruntime_writes_the_file_unchecked_and_says_so(spec, tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")  # the file needs onnx; only onnxruntime is taken away
    for name in [m for m in sys.modules if m == "onnxruntime" or m.startswith("onnxruntime.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    out = tmp_path / "cnn.onnx"
    assert main(["export", str(spec), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert out.exists() and "not checked: onnxruntime is not installed (pip install onnxruntime)" in err, err
