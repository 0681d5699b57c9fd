"""Every key written twice in a mapping is reported, each at its own place with where the key is first
written, in file order, together with the file's other problems (the first value is kept and the rest of
the file validated): YAML and DSL, through the CLI (``netspec check FILE``).

Expected places are found in the spec text, never copied from netspec's output."""

from __future__ import annotations

import re

from netspec.cli.main import main


def check(tmp_path, capsys, text: str, suffix: str) -> tuple[int, str]:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    code = main(["check", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def places(text: str, needle: str) -> list[tuple[int, int]]:
    """(line, column) of every occurrence of ``needle`` in ``text``."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        found += [(number, m.start() + 1) for m in re.finditer(re.escape(needle), line)]
    return found


def located(out: str, suffix: str) -> list[tuple[int, int, str]]:
    """(line, column, message) of each problem the CLI printed, in its order."""
    return [(int(m.group(1)), int(m.group(2)), m.group(3))
            for m in re.finditer(rf"spec{re.escape(suffix)}:(\d+):(\d+): (.*)", out)]


YAML = """netspec: 1
input: [1, 32, 32]
layers:
  - conv2d: {filters: 6, kernel: 5, filters: 8}
  - conv2d: {filters: 0, kernel: 5}
  - flatten
  - dense: {units: 10, units: 12, units: 14}
input: [3, 8, 8]
"""


def test_yaml_every_duplicate_key_with_the_other_problems(tmp_path, capsys):
    code, out = check(tmp_path, capsys, YAML, ".yaml")
    assert code == 1 and "Traceback" not in out, out
    problems = located(out, ".yaml")
    filters, units, inputs = places(YAML, "filters:"), places(YAML, "units:"), places(YAML, "input:")
    zero = places(YAML, "0, kernel")[0]  # the value of `filters: 0`
    expected = [
        (*filters[1], f"duplicate key 'filters': it is first written at line {filters[0][0]}, column {filters[0][1]}"),
        (*zero, "layers[1].filters: expected a whole number"),  # the file's other problem, in its place
        (*units[1], f"duplicate key 'units': it is first written at line {units[0][0]}, column {units[0][1]}"),
        (*units[2], f"duplicate key 'units': it is first written at line {units[0][0]}, column {units[0][1]}"),
        (*inputs[1], f"duplicate key 'input': it is first written at line {inputs[0][0]}, column {inputs[0][1]}"),
    ]
    assert [(line, col) for line, col, _ in problems] == [(line, col) for line, col, _ in expected], out
    for (_, _, message), (_, _, fragment) in zip(problems, expected):
        assert message.startswith(fragment), (message, fragment)
    assert out.count("hint: each key may appear once in a mapping") == 4, out


def test_yaml_the_first_value_is_kept(tmp_path, capsys):
    # the second `kernel: 0` would be refused too were it the one kept; the first (3) is the one validated
    text = "netspec: 1\ninput: [1, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: 3, kernel: 0}\n"
    code, out = check(tmp_path, capsys, text, ".yaml")
    assert code == 1, out
    problems = located(out, ".yaml")
    assert len(problems) == 1 and problems[0][:2] == places(text, "kernel:")[1], out


def test_yaml_an_item_key_in_the_options_and_beside_them(tmp_path, capsys):
    text = "netspec: 1\ninput: [4]\nlayers:\n  - dense: {units: 3, name: a}\n    name: b\n"
    code, out = check(tmp_path, capsys, text, ".yaml")
    assert code == 1, out
    (line, col, message), = located(out, ".yaml")
    first, second = places(text, "name:")
    assert (line, col) == second, out
    assert message.endswith(f"'name' is given twice: it is first written at line {first[0]}, column {first[1]}")


DSL = """netspec h
input [1, 8, 8]
conv 4 3x3
conv 0 3x3
flatten
dense 10 init={scheme=normal, scheme=zeros, std=1}
"""


def test_dsl_a_mapping_key_twice_with_the_other_problems(tmp_path, capsys):
    code, out = check(tmp_path, capsys, DSL, ".ns")
    assert code == 1 and "Traceback" not in out, out
    problems = located(out, ".ns")
    scheme = places(DSL, "scheme=")
    zero = places(DSL, "conv 0")[0]
    assert [(line, col) for line, col, _ in problems] == [(zero[0], zero[1] + 5), scheme[1]], out
    assert problems[1][2] == f"duplicate key 'scheme': it is first written at line {scheme[0][0]}, column {scheme[0][1]}"


def test_dsl_an_option_given_twice_points_at_the_first(tmp_path, capsys):
    text = "input [1, 8, 8]\nconv 4 3x3 kernel=5\nflatten\n"
    code, out = check(tmp_path, capsys, text, ".ns")
    assert code == 1, out
    (line, col, message), = located(out, ".ns")
    assert (line, col) == places(text, "kernel=")[0] and "'kernel' is given twice" in message, out
    size = places(text, "3x3")[0]
    assert f"the first is on line {size[0]}, column {size[1]}" in out, out


def test_a_library_with_duplicate_keys_is_not_called_valid(tmp_path, capsys):
    text = "blocks:\n  b:\n    params: {w: null}\n    params: {w: 3}\n    layers:\n      - dense: {units: 0, units: 2}\n"
    code, out = check(tmp_path, capsys, text, ".yaml")
    assert code == 1, out
    params, units = places(text, "params:"), places(text, "units:")
    assert [(line, col) for line, col, _ in located(out, ".yaml")] == [params[1], units[1]], out
    assert "definitions are valid" not in out, out  # a library alone is "valid" only when nothing is wrong


def test_an_imported_library_with_a_duplicate_key_is_reported_in_it(tmp_path, capsys):
    (tmp_path / "lib.yaml").write_text("blocks:\n  b:\n    params: {w: null}\n    params: {w: 3}\n"
                                       "    layers:\n      - dense: $w\n")
    text = "netspec: 1\nimports: [lib.yaml]\ninput: [4]\nlayers:\n  - b: {w: 3}\n"
    code, out = check(tmp_path, capsys, text, ".yaml")
    assert code == 1, out
    assert re.search(r"lib\.yaml:4:5: duplicate key 'params': it is first written at line 3, column 5", out), out
