"""DSL sizes (`3x3`, `/2x2`, `padding=1x1`) are one value per axis, as written: a size whose count of
axes is not the kind's is refused at the size with YAML's message for the same list, never shortened
to one number. Axis counts are torch's: Conv1d/MaxPool1d take 1 spatial axis, Conv2d 2, Conv3d 3.
Columns are counted from the spec text (``text.index``), not taken from netspec's output."""

from __future__ import annotations

import pytest

from netspec.core.errors import SpecValidationError
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.write.dsl import to_dsl
from netspec.frontends.yaml import parse_yaml
from netspec.spec.load import validate

# (input shape, layer line, the written size, the option, the kind's axis count)
WRONG = [
    ("[3, 16]", "conv1d 8 3x3", "3x3", "kernel", 1),
    ("[3, 16, 16]", "conv 8 3x3x3", "3x3x3", "kernel", 2),
    ("[3, 16, 16]", "conv 8 3x3x3x3", "3x3x3x3", "kernel", 2),
    ("[3, 16, 16]", "conv2d 8 3x3 /2x2x2", "2x2x2", "stride", 2),
    ("[3, 16, 16]", "conv2d 8 3x3 padding=1x1x1", "1x1x1", "padding", 2),
    ("[3, 16, 16]", "conv2d 8 3x3 dilation=2x2x2", "2x2x2", "dilation", 2),
    ("[3, 8, 16, 16]", "conv3d 8 3x3", "3x3", "kernel", 3),
    ("[3, 16]", "max_pool1d 2x2", "2x2", "kernel", 1),
    ("[3, 16, 16]", "max_pool2d 2x2x2", "2x2x2", "kernel", 2),
    ("[3, 16, 16]", "avg_pool2d 2x3 /2x2x2", "2x2x2", "stride", 2),
]


@pytest.mark.parametrize("shape, line, size, option, axes", WRONG)
def test_a_size_with_the_wrong_count_of_axes_is_refused_at_the_size(shape, line, size, option, axes):
    text = f"netspec k\ninput {shape}\n{line}\n"
    with pytest.raises(SpecValidationError) as e:
        validate(parse_dsl(text, "k.ns"), "k.ns")
    col = line.index(size) + 1
    (problem,) = [p for p in e.value.problems if p.path.endswith(option)]
    assert (problem.location.line, problem.location.column) == (3, col)
    values = "value" if axes == 1 else "values"
    assert f"expected {axes} {values} (one per axis)" in problem.message
    # YAML refuses the same list with the same words
    parts = [int(x) for x in size.split("x")]
    with pytest.raises(SpecValidationError) as y:
        validate(parse_yaml(f"input: {shape}\nlayers:\n  - {line.split()[0]}: {{{option}: {parts}}}\n", "k.yaml"),
                 "k.yaml")
    assert f"expected {axes} {values} (one per axis)" in str(y.value)


@pytest.mark.parametrize("shape, line, option, yaml_value", [
    ("[3, 16, 16]", "conv 8 3x3", "kernel", 3),  # 2 axes, both 3: the YAML `kernel: 3`
    ("[3, 8, 16, 16]", "conv3d 8 3x3x3 /2x2x2", "stride", 2),
    ("[3, 16, 16]", "conv2d 8 3x5", "kernel", [3, 5]),
    ("[3, 16, 16]", "max_pool2d 2x2", "kernel", 2),
])
def test_a_size_with_the_kinds_count_of_axes_means_the_yaml_value(shape, line, option, yaml_value):
    ns = validate(parse_dsl(f"netspec k\ninput {shape}\n{line}\n", "k.ns"), "k.ns")
    kind = line.split()[0]
    opts = {"conv": "filters: 8, ", "conv3d": "filters: 8, kernel: 3, ", "conv2d": "filters: 8, "}
    yml = validate(parse_yaml(f"name: k\ninput: {shape}\nlayers:\n  - {kind}: {{{opts.get(kind, '')}"
                              f"{option}: {yaml_value}}}\n", "k.yaml"), "k.yaml")
    assert ns.model_dump() == yml.model_dump()


def test_a_block_parameter_gets_the_size_as_written():
    """A block's parameter has no axis count: `3x3` is passed on as [3, 3]; inside the block conv1d
    refuses it (it has one axis), instead of silently getting 3."""
    text = "netspec k\nblock b(kernel) {\n  conv1d 8 kernel=$kernel\n}\ninput [3, 16]\nb 3x3\n"
    raw = parse_dsl(text, "k.ns")
    assert raw["layers"][0]["b"]["kernel"] == [3, 3]
    with pytest.raises(SpecValidationError) as e:
        validate(raw, "k.ns")
    assert "expected 1 value (one per axis)" in str(e.value)


@pytest.mark.parametrize("kind, kernel, written", [
    ("conv2d", 3, "3x3"), ("conv3d", 3, "3x3x3"), ("conv1d", 3, "kernel=3"), ("conv2d", [3, 3], "kernel=[3, 3]"),
])
def test_convert_writes_a_size_that_reads_back_the_same(kind, kernel, written):
    shape = {"conv1d": "[3, 16]", "conv2d": "[3, 16, 16]", "conv3d": "[3, 8, 16, 16]"}[kind]
    raw = parse_yaml(f"name: k\ninput: {shape}\nlayers:\n  - {kind}: {{filters: 8, kernel: {kernel}}}\n", "k.yaml")
    text = to_dsl(raw)
    assert written in text
    assert validate(parse_dsl(text, "k.ns"), "k.ns").model_dump() == validate(raw, "k.yaml").model_dump()
