"""Python source for ``share:`` across groups: the shared module is owned where the spec makes it (the network,
or the group it is named in) and passed to the groups that apply it; each refusal of the Python writer is
located, says why and what to do instead.

The expected outputs are worked in torch by hand from the module's weights (F.linear, tanh, relu), not taken
from netspec; the parameter counts are a Linear's in·out + out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from netspec.cli.main import main
from netspec.core.errors import BuildError
from netspec.interop.export import export

# the reviewer's spec: fc, then a repeat of 3 layers that each apply fc again
ACROSS_A_REPEAT = """input: [8]
layers:
  - dense: {units: 8, activation: tanh}
    name: fc
  - dense: {units: 8, activation: tanh}
    share: fc
    repeat: 3
"""

# the owner inside a block instance (enc.inner); its users in another block (twice, used twice), in a repeat
# inside that block (two levels down from the network) and in a residual
DEEP = """input: [8]
blocks:
  cell:
    layers:
      - dense: {units: 8}
        name: inner
      - relu: {}
  twice:
    layers:
      - dense: {units: 8, activation: tanh}
        share: enc.inner
      - dense: {units: 8, activation: tanh}
        share: enc.inner
        repeat: 2
layers:
  - cell: {}
    name: enc
  - twice: {}
  - twice: {}
  - residual:
      layers:
        - dense: {units: 8}
          share: enc.inner
"""


def _load(text: str, cls: str, tmp_path: Path, name: str) -> torch.nn.Module:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return getattr(module, cls)()


def _written(spec_text: str, tmp_path: Path, name: str) -> tuple[torch.nn.Module, str]:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(spec_text, encoding="utf-8")
    done = export(spec, tmp_path / f"{name}_out.py")
    assert "netspec" not in done.text.split('"""', 2)[2]  # standalone: no netspec import
    return _load(done.text, done.model_class, tmp_path, name), done.text


def test_a_share_across_a_repeat_is_written_and_computes_fc_four_times(tmp_path):
    model, text = _written(ACROSS_A_REPEAT, tmp_path, "across_a_repeat")
    # one Linear 8 → 8 (8·8 + 8 = 72 parameters), owned by the network; the repeat owns nothing
    assert list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert sum(p.numel() for p in model.parameters()) == 72
    assert "fc: nn.Module" in text  # the group receives the network's module
    torch.manual_seed(0)
    model.load_state_dict({"fc.weight": torch.randn(8, 8) / 3, "fc.bias": torch.randn(8)})
    x = torch.randn(5, 8)
    w, b = model.state_dict()["fc.weight"], model.state_dict()["fc.bias"]
    expected = x
    for _ in range(4):  # fc, then its 3 shared uses, each with tanh
        expected = torch.tanh(F.linear(expected, w, b))
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), expected, atol=1e-6)


def test_a_share_of_a_layer_in_a_block_used_two_groups_down_and_in_a_residual(tmp_path):
    model, _ = _written(DEEP, tmp_path, "deep_share")
    assert list(model.state_dict()) == ["enc.inner.weight", "enc.inner.bias"]
    torch.manual_seed(1)
    w, b = torch.randn(8, 8) / 3, torch.randn(8)
    model.load_state_dict({"enc.inner.weight": w, "enc.inner.bias": b})
    x = torch.randn(4, 8)
    y = torch.relu(F.linear(x, w, b))  # enc
    for _ in range(2 * 3):  # twice_1, twice_2: one use and a repeat of 2 each, with tanh
        y = torch.tanh(F.linear(y, w, b))
    y = F.linear(y, w, b) + y  # the residual
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), y, atol=1e-6)


def test_the_cli_writes_it(tmp_path, capsys):
    spec = tmp_path / "sh.yaml"
    spec.write_text(ACROSS_A_REPEAT, encoding="utf-8")
    assert main(["export", str(spec), "-o", str(tmp_path / "sh.py")]) == 0
    assert "same outputs as the compiled module" in capsys.readouterr().err


def test_a_layer_the_writer_cannot_write_is_located_with_a_hint(tmp_path, monkeypatch):
    import netspec.backends.torch.code.source as source

    def refuse(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202 - as calls.py refuses an unwritable argument
        raise BuildError("cannot write a constructor argument of type Thing as source: <Thing>")

    monkeypatch.setattr(source, "module_call", refuse)
    spec = tmp_path / "one.yaml"
    spec.write_text("input: [8]\nlayers:\n  - dense: 4\n    name: head\n", encoding="utf-8")
    with pytest.raises(BuildError) as err:
        export(spec, tmp_path / "one.py")
    text = str(err.value)
    assert text.startswith(f"{spec}:3:5: cannot write layer 'head'"), text  # the layer's line and column
    assert "constructor argument of type Thing" in text and "hint: export ONNX (.onnx)" in text
    assert not (tmp_path / "one.py").exists()


def test_an_init_literal_too_long_to_spell_out_is_located_with_a_hint(tmp_path, capsys):
    # 65 units on 64 inputs: a weight of 65·64 = 4,160 numbers, more than the 4,096 the writer spells out
    rows = ", ".join("[" + ", ".join(["0.0"] * 64) + "]" for _ in range(65))
    spec = tmp_path / "big.yaml"
    spec.write_text(f"input: [64]\nlayers:\n  - dense:\n      units: 65\n      init: {{weight: [{rows}]}}\n"
                    "    name: big\n", encoding="utf-8")
    assert main(["export", str(spec), "-o", str(tmp_path / "big.py")]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:3:5: big: its init: for weight has 4,160 numbers" in err, err
    assert "\n    hint: " in err and ".onnx" in err and "Traceback" not in err


# the owner inside a plain group, its user in a residual beside it, in that group: the group cannot be an
# nn.Sequential (its forward passes the module on)
IN_A_GROUP = """input: [8]
layers:
  - sequential:
      layers:
        - dense: {units: 8}
          name: fc
        - residual:
            layers:
              - dense: {units: 8}
                share: fc
"""


def test_a_share_inside_a_plain_group_is_passed_on_by_its_forward(tmp_path):
    model, text = _written(IN_A_GROUP, tmp_path, "in_a_group")
    assert list(model.state_dict()) == ["sequential_1.fc.weight", "sequential_1.fc.bias"]
    assert "nn.Sequential(" not in text
    torch.manual_seed(2)
    w, b = torch.randn(8, 8) / 3, torch.randn(8)
    model.load_state_dict({"sequential_1.fc.weight": w, "sequential_1.fc.bias": b})
    x = torch.randn(3, 8)
    y = F.linear(x, w, b)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), F.linear(y, w, b) + y, atol=1e-6)
