"""The DSL and both writers know the language's new forms (issue 12, "Language"): ``if=`` on a layer line
(an item key, as YAML's ``if:``), ``${in.channels}``, ``repeat 0``, a block's ``residual=${...}``;
`netspec convert` round-trips them both ways, and YAML's short ``$in.channels`` is written ``${in.channels}``
in the DSL (whose ``$name`` has no dots)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import netspec
from netspec.cli.main import main
from netspec.core.source import strip_positions
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.write.dsl import to_dsl
from netspec.frontends.write.yaml import to_yaml
from netspec.frontends.yaml import parse_yaml
from netspec.spec.load import validate

YAML = """\
blocks:
  unit:
    params: {out: null, t: 2}
    residual: ${in.channels == out}
    shortcut: identity
    layers:
      - conv2d: {filters: "${in.channels * t}", kernel: 1}
        if: ${t != 1}
      - conv2d: {filters: "${in.channels * t}", kernel: 3, padding: 1, groups: "${in.channels * t}"}
        name: dw
      - conv2d: {filters: $out, kernel: 1}
  same:
    params: {}
    layers:
      - conv2d: {filters: $in.channels, kernel: 1}
input: [4, 8, 8]
layers:
  - unit: {out: 4}
  - unit: {out: 6, t: 1}
  - dense: 3
    repeat: 0
  - relu
  - same: {}
    """.rstrip() + "\n"


def test_dsl_reads_if_as_an_item_key_and_braced_input_expressions():
    text = "input [4]\nblock b(n) { dense ${in.features * n} if=${n > 1} }\nb 2\nrepeat 0 dense 3\n"
    raw = strip_positions(parse_dsl(text, "t.ns"))
    assert raw["blocks"]["b"]["layers"] == [{"dense": {"units": "${in.features * n}"}, "if": "${n > 1}"}]
    assert raw["layers"][1] == {"dense": {"units": 3}, "repeat": 0}
    net = netspec.analyze(text.replace("input [4]", "input [4]\n")).network()
    assert [n.outputs["out"].shape for n in net.nodes] == [(8,)]  # 4 · 2; the repeat-0 dense is left out


def test_the_dsl_writer_braces_dotted_expressions_and_keeps_if():
    raw = parse_yaml(YAML, "u.yaml")
    text = to_dsl(raw)
    assert "block unit(out, t=2) residual=${in.channels == out} shortcut=identity {" in text
    assert "conv2d ${in.channels * t} 1x1 if=${t != 1}" in text
    assert "dw: conv2d ${in.channels * t} 3x3 padding=1 groups=${in.channels * t}" in text
    assert "conv2d ${in.channels} 1x1" in text  # YAML's $in.channels
    assert "repeat 0 dense 3" in text
    back = parse_dsl(text, "u.ns")
    assert validate(back, "u.ns", "u").model_dump() == validate(raw, "u.yaml", "u").model_dump()
    assert to_dsl(back) == text  # the writer's fixed point
    again = to_yaml(back)
    want = validate(raw, "u.yaml", "u").model_dump()
    assert validate(parse_yaml(again, "v.yaml"), "v.yaml", "u").model_dump() == want


def test_convert_round_trips_the_new_forms_and_check_agrees(tmp_path: Path):
    src = tmp_path / "unit.yaml"
    src.write_text(YAML, encoding="utf-8")
    ns, back = tmp_path / "unit.ns", tmp_path / "back" / "unit.yaml"
    back.parent.mkdir()
    assert main(["convert", str(src), "-o", str(ns)]) == 0
    assert main(["convert", str(ns), "-o", str(back)]) == 0
    reports = [netspec.check(p).to_dict() for p in (src, ns, back)]
    assert reports[0] == reports[1] == reports[2]
    net = netspec.analyze(src).network()
    # unit(out=4) on 4 channels (a residual: 4 == 4): expansion 4·8 + 8, depthwise 8·9 + 8, projection
    # 8·4 + 4; unit(out=6, t=1) on 4 (no expansion, no residual): depthwise 4·9 + 4, projection 4·6 + 6;
    # same on 6 channels: 6·6 + 6
    assert net.params == (4 * 8 + 8) + (8 * 9 + 8) + (8 * 4 + 4) + (4 * 9 + 4) + (4 * 6 + 6) + (6 * 6 + 6)
    assert sum(1 for n in net.nodes if n.role == "residual") == 1


@pytest.mark.parametrize("value", [1e-6, 1e6, 2.5e-10, 1e22, -3e-7, 0.1, 1.0, 123456789.0, 1e16, 5e-324])
def test_the_yaml_writer_writes_floats_every_yaml_reader_reads_as_floats(value: float):
    """PyYAML resolves floats by YAML 1.1's rule, a dot in the mantissa and a signed exponent: `1e-6` is the
    string '1e-6' there (and to tools that validate specs with it), though YAML 1.2 reads a float."""
    text = to_yaml({"netspec": 1, "name": "n", "input": [4], "layers": [{"layernorm": {"eps": value}}]})
    (written,) = [line.split("eps: ")[1].rstrip("}") for line in text.splitlines() if "eps:" in line]
    assert yaml.safe_load(f"v: {written}")["v"] == value
    assert type(yaml.safe_load(f"v: {written}")["v"]) is float
