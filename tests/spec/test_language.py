"""The language's conditional structure and a block's view of its input (issue 12, "Language"):

* the expression evaluator: ``in.channels``, ``in.shape[i]`` on a read-only view only, ``and``/``or``/``not``
  (short-circuit), symbolic sizes never turned into a number;
* ``if:`` on a layer item or a block use (per copy in a repeat), ``repeat: 0``, ``residual: EXPR``;
* what goes wrong is located (``file:line:col``) with a hint: a left-out item named by a later ``from:``,
  a list whose every item is left out, an ``if:`` that is not true or false, ``in`` outside a block.

Expected numbers are worked by hand in the comments.
"""

from __future__ import annotations

import re

import pytest

import netspec
from netspec.core.errors import NetspecError, SpecValidationError
from netspec.spec.expr import ExprError, InputView, evaluate, names_in
from netspec.spec.load import load

# --- the evaluator ------------------------------------------------------------------------------------
IMAGE = {"in": InputView((32, 56, 28)), "t": 6, "out": 32, "stride": 1}


@pytest.mark.parametrize("text,value", [
    ("$in.channels", 32),
    ("$in.features", 28),                      # the last dim
    ("${in.shape[0] * t}", 192),               # 32 · 6
    ("${in.shape[-1] * 4}", 112),              # 28 · 4
    ("${in.spatial[0]}", 56),
    ("$in.rank", 3),
    ("$in.shape", [32, 56, 28]),               # a list, for options that take one
    ("${stride == 1 and in.channels == out}", True),
    ("${stride != 1 or in.channels != out}", False),
    ("${not stride == 2}", True),
    ("${max(1, in.channels // 4)}", 8),
    ("${'in' if in.rank == 3 else 'x'}", "in"),  # the word inside a string stays a string
])
def test_expressions_read_the_input_type(text, value):
    assert evaluate(text, IMAGE) == value


def test_and_or_short_circuit_as_python():
    # the right side would divide by zero: it is never evaluated
    assert evaluate("${t != 0 and 10 // t > 1}", {"t": 0}) is False
    assert evaluate("${t == 0 or 10 // t > 1}", {"t": 0}) is True


@pytest.mark.parametrize("text,fragment", [
    ("$in", "not a value"),
    ("${in.foo}", "in.foo is not known; the input type has: in.channels"),
    ("${in.shape[3]}", "index 3 is out of range"),
    ("${in.shape['a']}", "an index is a whole number"),
    ("${t.real}", "applies only to 'in'"),
    ("${t[0]}", "only in.shape and in.spatial can be indexed"),
    ("${in.__class__}", "in.__class__ is not known"),
    ("${in.channels.__class__}", "applies only to 'in'"),
    ("${x in [1, 2]}", "cannot parse"),  # membership was never allowed
])
def test_only_the_whitelisted_view_is_reachable(text, fragment):
    with pytest.raises(ExprError) as info:
        evaluate(text, IMAGE)
    assert fragment in str(info.value)


SEQUENCE = {"in": InputView(("T", 64)), "t": 2}


@pytest.mark.parametrize("text,what", [
    ("${in.channels * t}", "arithmetic on it"),
    ("${in.channels == 64}", "a comparison with it"),  # would be False, a wrong answer
    ("${max(in.channels, 2)}", "max() of it"),
    ("${1 if in.channels else 0}", "whether it is true"),
    ("${not in.channels}", "its value"),
])
def test_a_symbolic_size_never_becomes_a_number(text, what):
    with pytest.raises(ExprError) as info:
        evaluate(text, SEQUENCE)
    assert f"'T' is a symbolic size of the block's input: {what}" in str(info.value)


def test_a_symbolic_size_passes_through_and_known_sizes_still_compute():
    assert evaluate("$in.channels", SEQUENCE) == "T"
    assert evaluate("${in.features * t}", SEQUENCE) == 128  # 64 · 2: the known dim is a number
    assert evaluate("$in.shape", SEQUENCE) == ["T", 64]


def test_names_in_sees_in_however_written():
    assert names_in("${in.channels * t}") == {"in", "t"}
    assert names_in("$in.shape") == {"in"}
    assert names_in("${'in' if a else b}") == {"a", "b"}


# --- if: and repeat: 0 ----------------------------------------------------------------------------------
def _kinds(text: str) -> list[str]:
    return [n.kind for n in netspec.analyze(text).network().nodes]


def test_if_false_leaves_the_item_out_and_true_keeps_it():
    text = """
input: [8]
layers:
  - dense: 4
    if: false
  - dense: 5
    if: true
  - relu
"""
    net = netspec.analyze(text).network()
    assert [n.kind for n in net.nodes] == ["dense", "relu"]
    assert net.params == 8 * 5 + 5  # only the dense of 5, on the input's 8 features


def test_if_is_decided_per_copy_of_a_repeat_and_from_block_parameters():
    text = """
blocks:
  stack:
    params: {n: 3, norm: false}
    layers:
      - dense: {units: 4}
        repeat: $n
      - batchnorm1d: {}
        if: $norm
      - dropout: 0.5
        if: ${i % 2 == 1}
        repeat: 4
input: [4]
layers:
  - stack: {n: 2, norm: true}
  - stack: {n: 0}
"""
    # first use: 2 dense, the norm, the dropouts of copies 1 and 3; second: no dense (repeat 0), no norm
    assert _kinds(text) == ["dense", "dense", "batchnorm1d", "dropout", "dropout", "dropout", "dropout"]


def test_repeat_zero_leaves_no_group_behind_so_the_chain_goes_on():
    text = """
input: [8]
layers:
  - dense: 6
    name: a
  - dense: 3
    repeat: 0
  - dense: 2
"""
    net = netspec.analyze(text).network()
    assert [n.name for n in net.nodes] == ["a", "dense_1"]
    assert net.params == (8 * 6 + 6) + (6 * 2 + 2)  # the last dense reads a's 6 features
    assert not net.groups


def _problems(text: str) -> list[str]:
    with pytest.raises(NetspecError) as info:
        netspec.analyze(text)
    return [str(p) for p in info.value.problems]


def test_a_left_out_item_named_by_a_later_from_is_a_located_error():
    text = """input: [8]
layers:
  - dense: 4
    name: skip
    repeat: 0
  - dense: 4
  - add: {}
    from: [skip, dense_1]
"""
    [problem] = _problems(text)
    assert problem.startswith("<string>:8:5: layers[2].from: from: 'skip' names a layer that is left out "
                              "(repeat: 0 at <string>:5:5)")
    assert "hint: give this item the same if:" in problem


def test_two_alternatives_under_one_name_are_fine():
    text = """input: [8]
layers:
  - dense: 4
    name: pick
    if: false
  - dense: 6
    name: pick
    if: true
  - dense: 2
    from: pick
"""
    assert netspec.analyze(text).network().params == (8 * 6 + 6) + (6 * 2 + 2)


def test_a_list_whose_every_layer_is_left_out_is_refused():
    text = """input: [8]
layers:
  - dense: 4
    if: false
"""
    [problem] = _problems(text)
    assert problem.startswith("<string>:2:1: layers: every layer of this list is left out")
    text = """blocks:
  b:
    params: {k: 0}
    layers:
      - dense: 4
        repeat: $k
input: [8]
layers:
  - b: {}
"""
    [problem] = _problems(text)
    assert "<string>:4:5:" in problem and "every layer of this list is left out" in problem
    assert "put the if: on the group or block use instead" in problem


@pytest.mark.parametrize("value,shown", [("1", "1"), ("yes_please", "'yes_please'"), ("'${1 + 1}'", "2")])
def test_if_must_be_true_or_false(value, shown):
    text = f"input: [8]\nlayers:\n  - dense: 4\n    if: {value}\n  - relu\n"
    [problem] = _problems(text)
    assert problem.startswith(f"<string>:4:9: layers[0].if: if: needs true or false, got {shown}")  # at the value
    assert "hint: write a condition" in problem


def test_in_outside_a_block_says_where_it_is_known():
    text = "input: [8]\nlayers:\n  - dense: $in.features\n"
    [problem] = _problems(text)
    assert problem.startswith("<string>:3:12: layers[0].units: in '$in.features': 'in' (the type of the "
                              "block's input) is known only inside a block definition")
    assert "hint: write it inside a block definition" in problem


@pytest.mark.parametrize("value,bad", [("-1", "-1"), ("1001", "1001"), ("2.5", "2.5")])
def test_repeat_is_bounded(value, bad):
    text = f"input: [8]\nlayers:\n  - dense: 4\n    repeat: {value}\n"
    [problem] = _problems(text)
    assert re.search(rf"repeat must be a whole number from 0 to 1000, got {re.escape(bad)}$", problem)


def test_residual_may_be_decided_by_the_block_parameters():
    text = """
blocks:
  unit:
    params: {width: null, skip: true}
    residual: $skip
    shortcut: identity
    layers:
      - dense: $width
input: [8]
layers:
  - unit: {width: 8}
  - unit: {width: 3, skip: false}
"""
    net = netspec.analyze(text).network()
    assert [g.kind for g in net.groups.values()] == ["residual", "sequential"]
    assert [n.kind for n in net.nodes] == ["dense", "add", "dense"]


def test_residual_that_is_not_true_or_false_is_refused():
    text = """blocks:
  unit:
    params: {}
    residual: ${1 + 1}
    layers: [relu]
input: [8]
layers: [unit]
"""
    with pytest.raises(SpecValidationError) as info:
        load(text)
    assert str(info.value).startswith("<string>:4:15: blocks.unit.residual: residual: needs true or false, got 2")


def test_a_left_out_item_may_read_a_left_out_layer():
    text = """input: [8]
layers:
  - dense: 4
    name: extra
    if: false
  - relu: {}
    from: extra
    if: false
  - dense: 2
"""
    assert netspec.analyze(text).network().params == 8 * 2 + 2


def test_the_json_schema_takes_if_repeat_zero_and_an_expression_for_residual():
    import jsonschema

    from netspec.spec.reference import json_schema

    check = jsonschema.Draft202012Validator(json_schema())
    block = {"params": {"out": None}, "residual": "${in.channels == out}", "layers": [{"dense": "$out"}]}
    good = {"blocks": {"b": block}, "input": [3],
            "layers": [{"dense": 3, "if": "${1 < 2}"}, {"dense": 3, "if": False, "repeat": 0}, {"b": {"out": 3}}]}
    assert not list(check.iter_errors(good))
    bad = {"input": [3], "layers": [{"dense": 3, "if": 5}]}
    assert list(check.iter_errors(bad))
