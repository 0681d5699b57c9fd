"""A DSL size with the wrong number of axes (``conv 4 3x3x3``) is a parse error that leaves the rest of the
file readable: it is reported with the file's other problems, in file order, root causes only (not also the
validation's "expected 2 values" for the same size). A file the parser cannot read past stops at the parse
error, as before."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _problems(text: str, tmp_path) -> list[Problem]:
    path = tmp_path / "k.ns"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path))
    return info.value.problems


def _where(text: str, line: int, piece: str) -> tuple[int, int]:
    """(line, column) of ``piece`` on the 1-based ``line`` of ``text``."""
    return line, text.splitlines()[line - 1].index(piece) + 1


def _places(problems: list[Problem]) -> list[tuple[int, int]]:
    return [(p.location.line, p.location.column) for p in problems]


def test_a_wrong_rank_size_is_reported_with_the_other_problems(tmp_path):
    text = ("input [3, 8, 8]\nconv 4 3x3x3\ndense 3 activation=relux\nconv 4 kernel=5 strde=2\n")
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 2, "3x3x3"), _where(text, 3, "relux"), _where(text, 4, "strde")]
    assert "expected 2 values (one per axis) or one number; got 3x3x3" in problems[0].message
    assert "got 'relux'" in problems[1].message and "unknown option 'strde'" in problems[2].message
    assert not any("3x3x3" in p.message for p in problems[1:])  # the size is said once, by the parser


def test_in_file_order_with_every_size_of_the_wrong_rank(tmp_path):
    text = ("input [3, 8, 8]\ndense 3 activation=relux\nconv 4 kernel=3x3x3 /2x2x2\nmaxpool 2x2x2\n"
            "conv 4 kernel=5 strde=2\n")
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 2, "relux"), _where(text, 3, "3x3x3"), _where(text, 3, "2x2x2"),
                                 _where(text, 4, "2x2x2"), _where(text, 5, "strde")]
    assert problems[2].hint.endswith("write /2x2") and problems[4].hint  # each keeps its hint


def test_a_wrong_rank_size_alone_is_one_problem(tmp_path):
    text = "input [3, 8, 8]\nconv 4 3x3x3\nflatten\n"
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 2, "3x3x3")]


def test_text_given_as_a_string_too():
    text = "netspec k\ninput [3, 8, 8]\nconv 4 3x3x3\ndense 3 activation=relux\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    assert [p.location.line for p in info.value.problems] == [3, 4]


def test_a_file_the_parser_cannot_read_past_stops_there(tmp_path):
    text = "input [3, 8, 8]\nconv 4 3x3x3\nconv 4 5 strde=2 ,\n"
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 3, ",")]  # the grammar's error: nothing after it is read


@pytest.mark.parametrize("line,piece", [
    ("conv 4 5 kernel=3", "kernel=3"),  # a value given twice: the first is kept
    ("conv 4 3x3 activation=relu activation=tanh", "activation=tanh"),
])
def test_a_value_given_twice_is_reported_with_the_other_problems(tmp_path, line, piece):
    text = f"input [3, 8, 8]\n{line}\ndense 3 activation=relux\n"
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 2, piece), _where(text, 3, "relux")]
    assert "is given twice" in problems[0].message


def test_a_misplaced_description_is_reported_with_the_other_problems(tmp_path):
    text = 'input [4]\nresidual {\n  description "x"\n  dense 4\n}\ndense 3 activation=relux\n'
    problems = _problems(text, tmp_path)
    assert _places(problems) == [_where(text, 3, "description"), _where(text, 6, "relux")]


def test_a_problem_that_leaves_something_out_is_alone(tmp_path):
    # the input is not made: validating the rest would only say "the network has no input" (not a root cause)
    text = "network n {\n  input from a, b\n  dense 3 activation=relux\n}\n"
    problems = _problems(text, tmp_path)
    assert len(problems) == 1 and "an input comes from one network" in problems[0].message
