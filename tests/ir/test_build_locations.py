"""Every error of the graph builder is located at what the user wrote, with a hint: a merge the builder
made itself (a residual's add, a parallel's merge) at the structure item, an ``outputs:`` typo at its
entry, an ``inputs:`` naming an unknown network at that input; in YAML and in the DSL alike. ``--strict``
keeps every axis's problem."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _one(text: str, file: str, tmp_path, **kw) -> Problem:
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), **kw)
    problems = info.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.location is not None and p.location.file == str(path), p
    assert p.hint, p
    return p


RESIDUAL_YAML = """input: [3, 32, 32]
layers:
  - conv2d: {filters: 3, kernel: 1}
  - residual: {shortcut: identity, layers: [conv2d: {filters: 8, kernel: 3, padding: 1}]}
"""
RESIDUAL_DSL = """input [3, 32, 32]
conv 3 1x1
residual shortcut=identity {
  conv 8 3x3 padding=1
}
"""
PARALLEL_YAML = """input: [3, 32, 32]
layers:
  - parallel:
      merge: add
      branches:
        - [conv2d: {filters: 8, kernel: 3}]
        - [conv2d: {filters: 8, kernel: 3, padding: 1}]
"""
PARALLEL_DSL = """input [3, 32, 32]
parallel add {
  branch { conv 8 3x3 }
  branch { conv 8 3x3 padding=1 }
}
"""


@pytest.mark.parametrize("text,file,line,column,word", [
    # the add of (8, 32, 32) and the identity shortcut's (3, 32, 32): at the residual item
    (RESIDUAL_YAML, "r.yaml", 4, 5, "projection shortcut"),
    (RESIDUAL_DSL, "r.ns", 3, 1, "projection shortcut"),
    # an unpadded 3×3 branch (30×30) and a padded one (32×32): at the parallel item
    (PARALLEL_YAML, "p.yaml", 3, 5, "branch"),
    (PARALLEL_DSL, "p.ns", 2, 1, "branch"),
])
def test_a_merge_the_builder_made_is_located_at_its_structure(tmp_path, text, file, line, column, word):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column) == (line, column)
    assert "needs equal shapes" in p.message and "hint:" not in p.message
    assert word in p.hint
    assert p.path.startswith("layers[1]" if "residual" in text else "layers[0]")


@pytest.mark.parametrize("text,file,line,column", [
    ("input: [3]\nlayers:\n  - dense: 4\n    name: a\n  - dense: 4\n    name: b\noutputs: [a, bb]\n",
     "o.yaml", 7, 14),
    ("input [3]\na: dense 4\nb: dense 4\noutputs a, bb\n", "o.ns", 4, 12),
])
def test_an_outputs_typo_is_located_at_its_entry(tmp_path, text, file, line, column):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column) == (line, column)
    assert p.path == "outputs[1]" and "'bb' is not a layer or input" in p.message
    assert p.hint == "did you mean 'b'?"


def test_an_input_from_an_unknown_network_is_located_at_that_input(tmp_path):
    text = ("networks:\n  enc:\n    input: [3]\n    layers: [dense: 4]\n"
            "  other:\n    inputs: {z: {from: encc}}\n    layers: [dense: 4]\n")
    p = _one(text, "n.yaml", tmp_path)
    assert (p.location.line, p.location.column) == (6, 24)  # the value of from: ("    inputs: {z: {from: encc}}")
    assert "unknown network 'encc'" in p.message and p.hint == "did you mean 'enc'?"


def test_an_input_from_a_missing_output_is_located_at_that_input(tmp_path):
    text = ("networks:\n  enc:\n    input: [3]\n    layers: [dense: {units: 4, name: mu}]\n    outputs: [mu]\n"
            "  other:\n    inputs: {z: {from: enc.mus}}\n    layers: [dense: 4]\n")
    p = _one(text, "n.yaml", tmp_path)
    assert p.location.line == 7 and "has no output 'mus'" in p.message and p.hint == "did you mean 'mu'?"


def test_a_merge_with_one_input_in_the_dsl_has_a_dsl_hint(tmp_path):
    p = _one("input [3]\nadd\n", "m.ns", tmp_path)
    assert p.location.line == 2 and "'from a, b'" in p.hint


def test_strict_keeps_the_problem_of_every_axis(tmp_path):
    # a 5×5/2 window on 10×10: (10 − 5)/2 is not whole on both axes (the last row and the last column
    # are never seen), so both are errors under --strict
    path = tmp_path / "s.yaml"
    path.write_text("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 2, kernel: 5, stride: 2}\n", encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), strict=True)
    problems = info.value.problems
    assert [p.message.split(":")[0] for p in problems] == ["height", "width"], problems
    assert all(p.location.line == 3 and "--strict" in p.message and p.hint for p in problems)
    # without --strict both are warnings
    report = netspec.check(str(path))
    assert [w.split(":")[1].strip() for w in report.warnings] == ["height", "width"], report.warnings


@pytest.mark.parametrize("text, file, line, column, path", [
    # the second name of a flow list, on a line of its own: line 6, column 12 (positions counted by hand)
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, name: c}\n  - add:\n    from: [c,\n"
     "           cc]\n", "f.yaml", 6, 12, "layers[1].from[1]"),
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, name: c}\n  - dense: {units: 3, from: cc}\n",
     "g.yaml", 4, 23, "layers[1].from"),  # one name: at its key (`from` at column 23)
    ("input [3, 8, 8]\nc: conv 8 3x3\nadd from c, cc\n", "h.ns", 3, 13, "layers[1].from[1]"),
])
def test_an_unknown_from_name_is_located_at_the_name(text, file, line, column, path, tmp_path):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column, p.path) == (line, column, path)
    assert "'cc' is not an earlier layer" in p.message and "did you mean 'c'?" in p.hint


def test_a_name_that_exists_nowhere_lists_the_names_this_place_can_use(tmp_path):
    text = ("input: [8]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 4, name: b}\n"
            "  - add: {from: [a, zz]}\n")
    p = _one(text, "n.yaml", tmp_path)
    assert p.hint == "a layer can use only the layers above it and the inputs; here: b, a, input"
    close = _one(text.replace("name: b", "name: zzz"), "m.yaml", tmp_path)
    assert close.hint == "did you mean 'zzz'?"


@pytest.mark.parametrize("text, kw, places", [
    # two wrong names in one from: list, each at its place
    ("input: [8]\nlayers:\n  - dense: {units: 4, name: alpha}\n  - add: {from: [alpah, zz]}\n", {},
     [(4, 18), (4, 25)]),
    # two wrong outputs
    ("input: [8]\nlayers:\n  - dense: {units: 4, name: alpha}\noutputs: [alpah, zz]\n", {}, [(4, 11), (4, 18)]),
    # --strict: a layer's two axes and a later layer's warning, all reported (the build goes on after each)
    ("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 1, kernel: 5, stride: 2}\n"
     "  - conv2d: {filters: 4, kernel: 3}\n  - dense: 3\n", {"strict": True}, [(3, 5), (3, 5), (5, 5)]),
])
def test_every_problem_of_a_kind_is_reported_at_once(text, kw, places, tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), **kw)
    assert [(p.location.line, p.location.column) for p in info.value.problems] == places
