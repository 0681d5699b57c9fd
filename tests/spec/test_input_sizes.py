"""Every bad size of an input shape is reported, each at its own element (YAML and DSL alike), with the
allowed range written as every range is (core.fmt.bounds_text: `from 1 to 16777216`, 2**24 = MAX_DIM)."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError


def _problems(source: str):
    with pytest.raises(NetspecError) as info:
        netspec.check(source)
    return info.value.problems


def _col(line: str, piece: str, start: int = 0) -> int:
    return line.index(piece, start) + 1


def test_yaml_every_bad_size_at_its_element():
    line = "input: [3, 0, 5, null, 2.5]"
    problems = _problems(line + "\nlayers: [dense: 2]\n")
    assert [(p.location.line, p.location.column) for p in problems] == [
        (1, _col(line, "0")), (1, _col(line, "null")), (1, _col(line, "2.5"))]
    assert [p.path for p in problems] == [f"inputs.input.shape[{i}]" for i in (1, 3, 4)]
    assert problems[0].message == "a size must be a whole number from 1 to 16777216, got 0"
    assert problems[1].message.endswith("got null") and "or a name such as 'T'" in problems[1].message


def test_dsl_every_bad_size_at_its_element(tmp_path):
    line = "input [3, 0, x, 2.5, 16777217]"
    path = tmp_path / "k.ns"
    path.write_text(f"netspec k\n{line}\ndense 2\n", encoding="utf-8")
    problems = _problems(str(path))
    assert [(p.location.line, p.location.column) for p in problems] == [
        (2, _col(line, "0")), (2, _col(line, "2.5")), (2, _col(line, "16777217"))]  # x is a symbolic size
    assert problems[2].message == "a size must be a whole number from 1 to 16777216, got 16777217"


def test_a_good_shape_still_checks():
    assert netspec.check("input: [3, 4]\nlayers: [flatten, dense: 2]\n")


@pytest.mark.parametrize("written, shape", [
    ("1, 28, 28", "[1, 28, 28]"),  # the brackets forgotten
    ("(3, T)", "[3, T]"),  # Python's tuple
    ("1x28x28", "[1, 28, 28]"),  # a layer's size form
])
def test_sizes_written_as_a_string_are_said_to_be_a_shape(written, shape):
    """A string input names another network; sizes in one are a shape without its list, not an unknown network."""
    problems = _problems(f"input: {written}\nlayers: [dense: 2]\n")
    assert len(problems) == 1 and (problems[0].location.line, problems[0].location.column) == (1, 8)
    assert problems[0].message.startswith(f"expected a list such as {shape}") and "unknown network" not in str(problems[0])
    assert shape in problems[0].hint


def test_a_shape_string_is_reported_beside_a_layer_problem_in_file_order():
    """Both are problems of validation (the input's was found only when networks were ordered, after it)."""
    problems = _problems("input: 1, 28, 28\nlayers:\n  - conv2d: {filters: 6, kernel: 5x5}\n")
    assert [p.location.line for p in problems] == [1, 3]
    assert "expected a list such as [1, 28, 28]" in problems[0].message and "kernel" in problems[1].path


def test_a_network_name_with_digits_is_still_a_network():
    text = ("networks:\n  enc2:\n    input: [4]\n    layers: [dense: 3]\n"
            "  dec:\n    input: enc2\n    layers: [dense: 2]\n")
    assert netspec.check(text).ok
