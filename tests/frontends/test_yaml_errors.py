"""YAML syntax errors in words (``netspec/frontends/yaml_errors.py``): located where the user can fix
them, without PyYAML's token names (``<block end>``, ``<stream end>``), each with a hint."""

from __future__ import annotations

import pytest

from netspec.core.errors import SpecSyntaxError
from netspec.frontends.yaml import parse_yaml

HEAD = "input: [3, 8, 8]\nlayers:\n"


@pytest.mark.parametrize("body,line,column,message,hint", [
    # a kind without its colon, followed by options: the colon's place, and the fixed line
    ("  - conv2d {filters: 8, kernel: 3}\n", 3, 11, "missing ':' after 'conv2d'",
     "a colon after the kind: '- conv2d: {filters: 8, kernel: 3}'"),
    # an unclosed quote: at the quote, not at the end of the file where PyYAML gives up
    ('  - conv2d: {filters: 8, kernel: 3}\n  - flatten: {name: "abc}\n  - dense: 4\n', 4, 21,
     'the string opened with " here is never closed', 'close it with "'),
    ("  - conv2d: {filters: 8, name: 'abc}\n", 3, 32, "the string opened with ' here is never closed", "close it"),
    # an unclosed bracket: at the bracket
    ("  - conv2d: {filters: 8\n  - flatten\n", 3, 13, "the '{' opened here is never closed", "add '}'"),
    ("  - conv2d: [1, 2\n  - flatten\n", 3, 13, "the '[' opened here is never closed", "add ']'"),
    # misindented items and keys: no <block end>
    ("  - conv2d: 8\n - flatten\n", 4, 2, "a '-' list item is not indented like the lines around it", "align"),
    ("  - conv2d: 8\n    - flatten\n", 4, 5, "a '-' list item is not indented like the lines around it", "align"),
    # a plain `- conv2d` with an indented key below it
    ("  - conv2d\n    name: x\n", 4, 9, "'name:' is indented under '- conv2d', which has no ':'", "'- conv2d: ...'"),
])
def test_yaml_errors_in_words(body, line, column, message, hint):
    with pytest.raises(SpecSyntaxError) as info:
        parse_yaml(HEAD + body, "s.yaml")
    (p,) = info.value.problems
    assert (p.location.line, p.location.column) == (line, column), p
    assert p.message.startswith(f"not valid YAML: {message}")
    assert hint in p.hint
    assert "<" not in p.message and "stream" not in p.message


def test_a_misindented_top_level_key():
    with pytest.raises(SpecSyntaxError) as info:
        parse_yaml("input: [3, 8, 8]\n  layers:\n  - flatten\n", "s.yaml")
    (p,) = info.value.problems
    assert p.location.line == 2 and "a 'key:' is not indented like the lines around it" in p.message
