"""A problem with a value points at the value; one with a key (unknown, missing) at the key or the mapping.

Each case names the text to point at (``at``) and a piece of the line it is on (``line_with``); the
expected line and column are found in the spec text itself, so no position is written by hand. YAML and
the DSL are held to the same rule, and ``check --json`` and the editor carry the same places.
"""

from __future__ import annotations

import json

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _place(text: str, line_with: str, at: str) -> tuple[int, int]:
    """1-based (line, column) of ``at`` on the first line of ``text`` that contains ``line_with``."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_with in line:
            column = line.find(at, line.index(line_with))  # the first after that piece, else the first on the line
            return number, (column if column >= 0 else line.index(at)) + 1
    raise AssertionError(f"no line with {line_with!r}")


def _problems(source: str) -> list[Problem]:
    with pytest.raises(NetspecError) as info:
        netspec.check(source)
    return info.value.problems


YAML = "input: [1, 8, 8]\nlayers:\n"

# (spec text, the problem's path, a piece of its line, the text the problem must point at, a message fragment)
YAML_CASES = [
    # values: at the value
    (YAML + "  - conv2d:\n      filters: 4\n      stride: 0\n", "layers[0].stride", "stride: 0", "0",
     "got 0"),
    (YAML + "  - conv2d: {filters: 0}\n", "layers[0].filters", "filters: 0", "0", "from 1 to"),
    (YAML + "  - conv2d: {filters: 4, activation: tanhh}\n", "layers[0].activation", "tanhh", "tanhh", "got 'tanhh'"),
    (YAML + "  - flatten\n  - dense: {units: 4, bias: \"yes\"}\n", "layers[1].bias", "bias", '"yes"', "got 'yes'"),
    (YAML + "  - flatten\n  - dense: {units: true}\n", "layers[1].units", "units", "true", "got true"),
    (YAML + "  - dropout: {rate: 1.5}\n", "layers[0].rate", "rate", "1.5", "≥ 0 and < 1; got 1.5"),
    (YAML + "  - conv2d: {filters: 4, padding: sme}\n", "layers[0].padding", "padding", "sme", "got 'sme'"),
    (YAML + "  - conv2d: {filters: 4, kernel: [3, x]}\n", "layers[0].kernel[1]", "kernel", "x", "got 'x'"),
    (YAML + "  - flatten\n  - dense: {units: 4, name: forward}\n", "layers[1].name", "name: forward", "forward",
     "layer name 'forward'"),
    ("netspec: 2\n" + YAML + "  - flatten\n", "netspec", "netspec: 2", "2", "got 2"),
    (YAML + "  - flatten\ntrain:\n  epochs: 0\n", "train.epochs", "epochs: 0", "0", "got 0"),
    ("input: [1, 8, true]\nlayers:\n  - flatten\n", "", "input:", "true", "got true"),  # at the element
    # keys: at the key (unknown) or at the mapping that lacks one (missing)
    (YAML + "  - conv2d: {filters: 4, kernal: 3}\n", "layers[0].kernal", "kernal", "kernal", "unknown option"),
    (YAML + "  - conv2d: {kernel: 3}\n", "layers[0]", "conv2d", "conv2d", "'filters'"),
    ("name: x\nnetworks:\n  a:\n    input: [4]\n    layers: [dense: 2]\n  forward:\n    input: [4]\n"
     "    layers: [dense: 2]\n", "networks.forward", "forward:", "forward", "network name 'forward'"),
]


@pytest.mark.parametrize("text, path, line_with, at, fragment", YAML_CASES,
                         ids=[f"yaml-{c[1] or c[3]}" for c in YAML_CASES])
def test_a_yaml_problem_points_at_what_is_wrong(text, path, line_with, at, fragment):
    problems = [p for p in _problems(text) if not path or p.path == path]
    assert problems, _problems(text)
    problem = problems[0]
    assert fragment in problem.message, problem
    assert (problem.location.line, problem.location.column) == _place(text, line_with, at), problem


DSL = "netspec t\ninput [1, 8, 8]\n"

DSL_CASES = [
    (DSL + "conv 4 3x3 stride=0\n", "layers[0].stride", "stride=0", "0", "got 0"),
    (DSL + "conv 4 3x3 padding=sme\n", "layers[0].padding", "padding", "sme", "got 'sme'"),
    (DSL + "flatten\ndense 4 bias=\"yes\"\n", "layers[1].bias", "bias", '"yes"', "got 'yes'"),
    (DSL + "flatten\ndense units=true\n", "layers[1].units", "units", "true", "got true"),
    (DSL + "dropout [0.9, true]\n", "layers[0].rate", "dropout", "[0.9, true]", "got [0.9, true]"),
    (DSL + "dropout rate=1.5\n", "layers[0].rate", "rate", "1.5", "≥ 0 and < 1; got 1.5"),
    (DSL + "conv 4 kernel=[3, true]\n", "layers[0].kernel[1]", "kernel", "true", "got true"),
    (DSL + "flatten\ndense 4\ntrain epochs=0\n", "train.epochs", "epochs", "0", "got 0"),
    (DSL + "conv 4 3x3 kernal=3\n", "layers[0].kernal", "kernal", "kernal", "unknown option"),
]


@pytest.mark.parametrize("text, path, line_with, at, fragment", DSL_CASES, ids=[f"dsl-{c[1]}" for c in DSL_CASES])
def test_a_dsl_problem_points_at_what_is_wrong(text, path, line_with, at, fragment, tmp_path):
    spec = tmp_path / "t.ns"
    spec.write_text(text, encoding="utf-8")
    problems = [p for p in _problems(str(spec)) if p.path == path]
    assert problems, _problems(str(spec))
    assert fragment in problems[0].message, problems[0]
    assert (problems[0].location.line, problems[0].location.column) == _place(text, line_with, at), problems[0]


def test_python_reprs_do_not_reach_a_message(tmp_path):
    """true/false/null as the spec writes them, in YAML and in the DSL, wherever a value is quoted."""
    texts = {"a.yaml": YAML + "  - dropout: [0.9, true]\n  - flatten\n  - dense: {units: null, bias: 1}\n",
             "a.ns": DSL + "dropout [0.9, true]\nflatten\ndense units=null bias=1\n"}
    for name, text in texts.items():
        spec = tmp_path / name
        spec.write_text(text, encoding="utf-8")
        messages = " ".join(p.message for p in _problems(str(spec)))
        assert "[0.9, true]" in messages and "got null" in messages, messages
        assert "True" not in messages and "None" not in messages and "False" not in messages, messages


def test_check_json_carries_the_values_place(tmp_path):
    from netspec.cli.main import main

    text = YAML + "  - conv2d:\n      filters: 4\n      stride: 0\n"
    spec = tmp_path / "s.yaml"
    spec.write_text(text, encoding="utf-8")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main(["check", "--json", str(spec)]) == 1
    (problem,) = json.loads(out.getvalue())["problems"]
    assert problem["path"] == "layers[0].stride"
    assert (problem["line"], problem["column"]) == _place(text, "stride: 0", "0")


@pytest.mark.parametrize("name, text, line_with, at", [
    ("p.yaml", "input: [8]\nlayers:\n  - dense: 4\nexpect:\n  params: 100\n", "params: 100", "100"),
    ("p.ns", "netspec t\ninput [8]\ndense 4\nexpect params=100\n", "params=100", "100"),
    ("s.yaml", "input: [8]\nlayers:\n  - dense: 4\nexpect: {shapes: {dense_1: [5]}}\n", "dense_1", "[5]"),
])
def test_a_failed_pin_points_at_the_pinned_value(name, text, line_with, at, tmp_path):
    # dense 8 → 4: 8·4 + 4 = 36 parameters, output (4,): neither pin holds
    spec = tmp_path / name
    spec.write_text(text, encoding="utf-8")
    (failure,) = netspec.check(str(spec)).failures
    assert (failure.location.line, failure.location.column) == _place(text, line_with, at), failure
