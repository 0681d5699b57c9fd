"""DSL sizes (`3x3`, `/2x2`, `padding=1x1`, and a 1-D kernel as a bare number: `conv1d 8 3`) are one value
per axis, as written: a size whose count of axes is not the kind's is refused at the size, in DSL words
with the form that fits, never shortened to one number. Axis counts are torch's: Conv1d/MaxPool1d take
1 spatial axis, Conv2d 2, Conv3d 3. Columns are counted from the spec text (``text.index``), not taken
from netspec's output; every expected spec is the YAML spelling, parsed and validated on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netspec
from netspec.core.errors import SpecSyntaxError, SpecValidationError
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.write.dsl import to_dsl
from netspec.frontends.yaml import parse_yaml
from netspec.spec.load import validate


def _dsl(shape: str, line: str):
    return validate(parse_dsl(f"netspec k\ninput {shape}\n{line}\n", "k.ns"), "k.ns")


def _yaml(shape: str, kind: str, options: str):
    return validate(parse_yaml(f"name: k\ninput: {shape}\nlayers:\n  - {kind}: {{{options}}}\n", "k.yaml"), "k.yaml")


# --- the positional forms of 1-D and 3-D kinds mean their YAML spelling ----------------------------------
POSITIONAL = [  # (input shape, DSL line, the same layer's YAML options)
    ("[3, 16]", "conv1d 8 3", "filters: 8, kernel: 3"),  # 1-D: the kernel is the bare number after the filters
    ("[3, 16]", "conv1d 8 5 /2", "filters: 8, kernel: 5, stride: 2"),
    ("[3, 16]", "conv1d 8 /2 5", "filters: 8, kernel: 5, stride: 2"),  # order among positionals is free
    ("[3, 16]", "conv1d filters=8 5", "filters: 8, kernel: 5"),  # the filters given by key: the number is the kernel
    ("[3, 16]", "conv1d 8 3 relu padding=1", "filters: 8, kernel: 3, activation: relu, padding: 1"),
    ("[3, 16]", "conv1d 8 3 same", "filters: 8, kernel: 3, padding: same"),
    ("[3, 16]", "conv_transpose1d 8 3 /2", "filters: 8, kernel: 3, stride: 2"),
    ("[3, 16]", "max_pool1d 2", "kernel: 2"),  # a pool's first number is its kernel already
    ("[3, 16]", "max_pool1d 3 /1", "kernel: 3, stride: 1"),
    ("[3, 16]", "avg_pool1d 2 /2", "kernel: 2, stride: 2"),
    ("[3, 8, 16, 16]", "conv3d 8 3", "filters: 8, kernel: 3"),  # one number for every axis, as YAML's `kernel: 3`
    ("[3, 8, 16, 16]", "conv3d 8 3x3x3", "filters: 8, kernel: 3"),
    ("[3, 8, 16, 16]", "conv3d 8 1x3x3 /1x2x2", "filters: 8, kernel: [1, 3, 3], stride: [1, 2, 2]"),
    ("[3, 8, 16, 16]", "conv_transpose3d 8 2x2x2 /2", "filters: 8, kernel: 2, stride: 2"),
    ("[3, 8, 16, 16]", "max_pool3d 2x2x2", "kernel: 2"),
    ("[3, 8, 16, 16]", "avg_pool3d 1x2x2 /1x2x2", "kernel: [1, 2, 2], stride: [1, 2, 2]"),
    ("[3, 16, 16]", "conv2d 8 3", "filters: 8, kernel: 3"),  # 2-D: a bare number too, as YAML's `kernel: 3`
]


@pytest.mark.parametrize("shape, line, options", POSITIONAL)
def test_a_positional_size_is_the_yaml_spelling(shape, line, options):
    assert _dsl(shape, line).model_dump() == _yaml(shape, line.split()[0], options).model_dump()


def test_conv1d_positional_kernel_has_torchs_parameter_count():
    import torch  # the reference count, from torch's own module at run time

    want = sum(p.numel() for p in torch.nn.Conv1d(3, 8, 5, stride=2).parameters())  # 8·3·5 + 8
    net = netspec.analyze(parse_dsl("netspec k\ninput [3, 16]\nconv1d 8 5 /2\n", "k.ns")).network()
    assert net.params == want
    # and a kernel of 5 (not a second filters): (16 − 5)//2 + 1 = 6 steps
    assert net.nodes[0].outputs["out"].shape == (8, 6)


@pytest.mark.parametrize("line, col, hint", [
    ("conv1d 8 3 5", 12, "bare numbers set filters, then kernel"),  # a third number: the kernel again
    ("max_pool1d 2 2", 14, "a bare value sets kernel"),
])
def test_a_bare_number_past_the_last_slot_is_given_twice(line, col, hint):
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl(f"netspec k\ninput [3, 16]\n{line}\n", "k.ns")
    (p,) = e.value.problems
    assert (p.location.line, p.location.column) == (3, col) and "is given twice" in p.message and hint in p.hint


# --- a size with the wrong count of axes ----------------------------------------------------------------
# (input shape, layer line, the written size, the option, the kind's axis count, the hint's right form)
WRONG = [
    ("[3, 16]", "conv1d 8 3x3", "3x3", "kernel", 1, "write 3, as in 'conv1d 8 3'"),
    ("[3, 16]", "conv1d 3x3 8", "3x3", "kernel", 1, "write kernel=3"),  # here a bare 3 would be the filters
    ("[3, 16]", "conv1d 8 3x5", "3x5", "kernel", 1, "write one number"),
    ("[3, 16]", "conv1d 8 3 /2x2", "2x2", "stride", 1, "write /2"),
    ("[3, 16]", "conv1d 8 3 padding=1x1", "1x1", "padding", 1, "write padding=1"),
    ("[3, 16]", "conv_transpose1d 8 3x3", "3x3", "kernel", 1, "write 3"),
    ("[3, 16, 16]", "conv 8 3x3x3", "3x3x3", "kernel", 2, "write 3x3"),
    ("[3, 16, 16]", "conv 8 3x3x3x3", "3x3x3x3", "kernel", 2, "write 3x3"),
    ("[3, 16, 16]", "conv2d 8 3x3 /2x2x2", "2x2x2", "stride", 2, "write /2x2"),
    ("[3, 16, 16]", "conv2d 8 3x3 padding=1x1x1", "1x1x1", "padding", 2, "write padding=1x1"),
    ("[3, 16, 16]", "conv2d 8 3x3 dilation=2x2x2", "2x2x2", "dilation", 2, "write dilation=2x2"),
    ("[3, 8, 16, 16]", "conv3d 8 3x3", "3x3", "kernel", 3, "write 3x3x3"),
    ("[3, 8, 16, 16]", "conv3d 8 1x3", "1x3", "kernel", 3, "write 3 numbers, one per axis"),
    ("[3, 8, 16, 16]", "max_pool3d 2x2", "2x2", "kernel", 3, "write 2x2x2"),
    ("[3, 16]", "max_pool1d 2x2", "2x2", "kernel", 1, "write 2"),
    ("[3, 16, 16]", "max_pool2d 2x2x2", "2x2x2", "kernel", 2, "write 2x2"),
    ("[3, 16, 16]", "avg_pool2d 2x3 /2x2x2", "2x2x2", "stride", 2, "write /2x2"),
]


@pytest.mark.parametrize("shape, line, size, option, axes, right", WRONG)
def test_a_size_with_the_wrong_count_of_axes_is_refused_at_the_size(shape, line, size, option, axes, right):
    text = f"netspec k\ninput {shape}\n{line}\n"
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl(text, "k.ns")
    (problem,) = e.value.problems
    line_no = text.split("\n").index(line) + 1
    col = line.index(size, len(line.split()[0])) + 1  # the numbers of the size (after a stride's '/')
    assert (problem.location.file, problem.location.line, problem.location.column) == ("k.ns", line_no, col)
    values = "value" if axes == 1 else "values"
    assert f"expected {axes} {values} (one per axis) or one number; got {size}" in problem.message
    assert f"'{option}' of {line.split()[0]}" in problem.message
    assert right in problem.hint, problem.hint
    assert "[" not in problem.message + problem.hint  # the DSL's words: sizes, not YAML lists
    # the line:col and the hint are in the rendered error the CLI prints
    assert f"k.ns:{line_no}:{col}:" in str(e.value) and "hint: " in str(e.value)
    # YAML refuses the same list with the same words
    parts = [int(x) for x in size.split("x")]
    with pytest.raises(SpecValidationError) as y:
        validate(parse_yaml(f"input: {shape}\nlayers:\n  - {line.split()[0]}: {{{option}: {parts}}}\n", "k.yaml"),
                 "k.yaml")
    assert f"expected {axes} {values} (one per axis)" in str(y.value)


def test_every_wrong_size_of_a_line_is_reported():
    line = "max_pool1d 2x2 /2x2 padding=1x1"
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl(f"netspec k\ninput [3, 16]\n{line}\n", "k.ns")
    cols = [line.index("2x2"), line.index("2x2", line.index("/")), line.index("1x1")]
    assert [(p.location.line, p.location.column) for p in e.value.problems] == [(3, c + 1) for c in cols]
    assert [p.hint.rsplit(": ", 1)[1] for p in e.value.problems] == ["write 2", "write /2", "write padding=1"]


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
    refuses it (it has one axis), instead of silently getting 3 — and says so in the DSL's words."""
    text = "netspec k\nblock b(kernel) {\n  conv1d 8 kernel=$kernel\n}\ninput [3, 16]\nb 3x3\n"
    raw = parse_dsl(text, "k.ns")
    assert raw["layers"][0]["b"]["kernel"] == [3, 3]
    with pytest.raises(SpecValidationError) as e:
        validate(raw, "k.ns")
    assert "expected 1 value (one per axis)" in str(e.value)


# --- convert: YAML -> DSL writes the DSL's own form of each size -----------------------------------------
@pytest.mark.parametrize("kind, kernel, written", [
    ("conv2d", 3, "conv2d 8 3x3"), ("conv3d", 3, "conv3d 8 3x3x3"), ("conv1d", 3, "conv1d 8 3"),
    ("conv2d", [3, 3], "kernel=[3, 3]"), ("conv1d", [3], "kernel=[3]"), ("conv_transpose1d", 4, "conv_transpose1d 8 4"),
])
def test_convert_writes_a_size_that_reads_back_the_same(kind, kernel, written):
    shape = {"1d": "[3, 16]", "2d": "[3, 16, 16]", "3d": "[3, 8, 16, 16]"}[kind[-2:]]
    raw = parse_yaml(f"name: k\ninput: {shape}\nlayers:\n  - {kind}: {{filters: 8, kernel: {kernel}}}\n", "k.yaml")
    text = to_dsl(raw)
    assert written in text, text
    assert validate(parse_dsl(text, "k.ns"), "k.ns").model_dump() == validate(raw, "k.yaml").model_dump()


@pytest.mark.parametrize("options, written", [
    ("filters: 8, kernel: 5, stride: 2", "conv1d 8 5 /2"),
    ("kernel: 5, stride: 2, filters: 8", "conv1d 8 5 /2"),  # the filters first, whatever the YAML's order
    ("kernel: 5, filters: 8, padding: causal", "conv1d 8 5 causal"),
])
def test_convert_writes_a_1d_kernel_after_the_filters(options, written):
    raw = parse_yaml(f"name: k\ninput: [3, 16]\nlayers:\n  - conv1d: {{{options}}}\n", "k.yaml")
    text = to_dsl(raw)
    assert written in text, text
    assert validate(parse_dsl(text, "k.ns"), "k.ns").model_dump() == validate(raw, "k.yaml").model_dump()


def test_convert_keeps_a_1d_kernel_by_key_where_a_bare_number_would_be_the_filters():
    """With no filters written bare before it, a bare kernel would be read as the filters: the kernel
    stays `kernel=` (this spec does not validate, but convert keeps what it says)."""
    raw = parse_yaml("name: k\ninput: [3, 16]\nlayers:\n  - conv1d: {kernel: 3}\n", "k.yaml")
    text = to_dsl(raw)
    assert "conv1d kernel=3" in text, text
    assert parse_dsl(text, "k.ns")["layers"][0]["conv1d"] == {"kernel": 3}


@st.composite
def _sized_layers(draw):
    """A 1-, 2- or 3-D conv, transposed conv or pool with random sizes, each a number or a list of the
    kind's own count (torch's: Conv1d/MaxPool1d 1 spatial axis, Conv3d 3), in a random key order."""
    axes = draw(st.sampled_from([1, 2, 3]))
    family = draw(st.sampled_from(["conv", "conv_transpose", "max_pool", "avg_pool"]))
    kind = f"{family}{axes}d"

    def size(low: int, high: int):
        return draw(st.one_of(st.integers(low, high), st.lists(st.integers(low, high), min_size=axes,
                                                                 max_size=axes)))

    options = {"kernel": size(1, 3)}
    if draw(st.booleans()):
        options["stride"] = size(1, 2)
    if draw(st.booleans()):
        options["padding"] = size(0, 1) if family.endswith("pool") else size(0, 2)
    if family.startswith("conv"):
        options["filters"] = draw(st.integers(1, 8))
    if family.endswith("pool"):  # PyTorch's rule: padding at most half the kernel, per axis
        k = options["kernel"] if isinstance(options["kernel"], list) else [options["kernel"]] * axes
        p = options.get("padding", 0)
        options["padding"] = [min(x, kx // 2) for x, kx in zip(p if isinstance(p, list) else [p] * axes, k)]
    keys = draw(st.permutations(list(options)))
    return axes, kind, {k: options[k] for k in keys}


@settings(max_examples=80, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(_sized_layers())
def test_any_sized_layer_round_trips_yaml_dsl_yaml(layer):
    """YAML -> DSL -> the same validated spec, whatever the rank and the spelling of each size."""
    import yaml

    axes, kind, options = layer
    text = yaml.safe_dump({"name": "k", "input": [3] + [9] * axes, "layers": [{kind: options}]}, sort_keys=False)
    raw = parse_yaml(text, "k.yaml")
    original = validate(raw, "k.yaml").model_dump()
    ns = to_dsl(raw)
    assert validate(parse_dsl(ns, "k.ns"), "k.ns").model_dump() == original, ns
    # the kernel by key only where no positional form reads back the same raw value: a list of one
    # number (1-D), or of equal numbers (a size of equal numbers reads back as the one number)
    kernel = options["kernel"]
    by_key = isinstance(kernel, list) and (axes == 1 or len(set(kernel)) == 1) and "filters" in options
    assert ("kernel=" in ns) == by_key, ns


# --- docs/dsl.md says what the DSL does -------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "dsl.md"


def test_the_docs_size_table_examples_validate():
    """Each example of the 'Sizes by rank' table is a layer of that rank: its graph builds on an input with
    that many spatial axes (channels first), which a kind of another rank refuses."""
    rows = re.findall(r"^\| ([123]) \(.*\| (`[^|]*`) \|$", DOC.read_text(encoding="utf-8"), re.M)
    assert [r[0] for r in rows] == ["1", "2", "3"]
    for axes, examples in rows:
        shape = "[3" + ", 16" * int(axes) + "]"
        for line in re.findall(r"`([^`]+)`", examples):
            netspec.analyze(parse_dsl(f"netspec k\ninput {shape}\n{line}\n", "k.ns"))


def test_the_docs_error_example_is_verbatim():
    shown = re.search(r"```\n(k\.ns:3:10:.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1).rstrip("\n")
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl("netspec k\ninput [3, 16]\nconv1d 8 3x3\n", "k.ns")
    assert str(e.value) == shown
