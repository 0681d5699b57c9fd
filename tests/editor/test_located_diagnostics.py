"""The language server shows the same located problems as `check`: a builder error at the structure item
or the `outputs:` entry (not at 0:0), one diagnostic per root cause, hints in the document's format."""

from __future__ import annotations

import pytest

from netspec.editor.analysis import analyze


def _errors(text: str, file: str):
    a = analyze(text, file)
    return [d for d in a.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("text,file,line,column,message", [
    ("input: [3, 32, 32]\nlayers:\n  - residual: {shortcut: identity, layers: [conv2d: {filters: 8, kernel: 1}]}\n",
     "r.yaml", 2, 4, "add needs equal shapes"),
    ("input [3, 32, 32]\nparallel add {\n  branch { conv 8 3x3 }\n  branch { conv 8 3x3 padding=1 }\n}\n",
     "p.ns", 1, 0, "add needs equal shapes"),
    ("input: [3]\nlayers:\n  - dense: {units: 4, name: a}\noutputs: [a, bb]\n", "o.yaml", 3, 13,
     "'bb' is not a layer or input"),
    ("input [3]\na: dense 4\noutputs a, bb\n", "o.ns", 2, 11, "'bb' is not a layer or input"),
    ("networks:\n  enc:\n    input: [3]\n    layers: [dense: 4]\n  other:\n    inputs: {z: {from: encc}}\n"
     "    layers: [dense: 4]\n", "n.yaml", 5, 23, "unknown network 'encc'"),
])
def test_builder_errors_are_at_what_the_user_wrote(text, file, line, column, message):
    (d,) = _errors(text, file)
    assert (d.line, d.column) == (line, column), d
    assert message in d.message and d.hint


@pytest.mark.parametrize("text", ["inptu: [3]\nlayers: [dense: 4]\n", "input: [3]\nlayres: [dense: 4]\n",
                                  "input: [3]\nlayers: {conv2d: 8}\n"])
def test_one_diagnostic_per_root_cause(text):
    assert len(_errors(text, "s.yaml")) == 1


def test_dsl_documents_get_dsl_hints():
    (d,) = _errors("block b(w) {\n  dense $w\n}\ninput [3]\nb\n", "s.ns")
    assert d.line == 4 and d.hint == "write 'b w=...'"


@pytest.mark.parametrize("text, file, value", [
    ("input: [8]\nlayers:\n  - dense:\n      units: 4\n      bias: \"yes\"\n", "v.yaml", '"yes"'),
    ("input: [8]\nlayers:\n  - dense: {units: 4, activation: rleu}  # a comment\n", "v.yaml", "rleu"),
    ("input [8]\ndropout [0.9, true]\n", "v.ns", "[0.9, true]"),
    ("input [4, 16]\nconv1d 4 kernel=3 stride=0\n", "v.ns", "0"),
])
def test_a_problem_with_a_value_covers_the_value(text, file, value):
    """The diagnostic's range is the value as written (a quoted string or a list whole), not its key."""
    (d,) = _errors(text, file)
    line = text.splitlines()[d.line]
    assert d.line == d.end_line and line[d.column:d.end_column] == value, (d, line)
