"""The language server shows a shape error about one option's value over that value, as `check` locates it."""

from __future__ import annotations

import pytest

from netspec.editor.analysis import analyze


@pytest.mark.parametrize("text, file, value", [
    ("input: [4, 6]\nlayers:\n  - softmax: {axis: 5}\n", "s.yaml", "5"),  # rank 2: an axis is -2..1
    ("input [4, 6]\npermute [0, 2]\n", "p.ns", "[0, 2]"),  # not a permutation of 0, 1
])
def test_a_shape_error_about_an_option_covers_its_value(text, file, value):
    (d,) = [d for d in analyze(text, file).diagnostics if d.severity == "error"]
    line = text.splitlines()[d.line]
    assert d.line == d.end_line and line[d.column:d.end_column] == value, (d, line)
    assert d.column == line.rindex(value)  # the value's own place, found in the text
