"""The language server shows a DSL size with the wrong number of axes with the file's other problems, as
`check` does (tests/frontends/test_dsl_partial.py)."""

from __future__ import annotations

from netspec.editor.analysis import analyze


def test_a_wrong_rank_size_and_the_rest_of_the_file():
    text = "input [3, 8, 8]\nconv 4 3x3x3\ndense 3 activation=relux\n"
    errors = [d for d in analyze(text, "k.ns").diagnostics if d.severity == "error"]
    # 0-based: the size on line 1 at column 7 ("conv 4 " before it), relux on line 2 at column 19
    assert [(d.line, d.column) for d in errors] == [(1, 7), (2, len("dense 3 activation="))]
    assert "got 3x3x3" in errors[0].message and "got 'relux'" in errors[1].message
