"""A wrong value given to a block as an argument is said of the argument, through the CLI (``netspec check
FILE``): the location points at the argument where the block is used, and the message's path names that
argument (``layers[1].width``), not the option inside the block it was put into; which option that is, and
where the definition uses it, is the message's context. Validation and shape errors, YAML and DSL.

Expected places and paths are worked out from the spec text (the use's index among the layers, the column of
the argument's value), never copied from netspec's output."""

from __future__ import annotations

import re

import pytest

from netspec.cli.main import main

YAML = """netspec: 1
input: [3, 8, 8]
blocks:
  basic:
    params: {width: null, k: 3}
    layers:
      - conv2d: {filters: $width, kernel: $k, padding: 1}
layers:
  - basic: {width: 4}
  - basic: {width: %s, k: %s}
"""

# (width, k, the argument at fault, what the message says, the definition's option that the argument went into)
YAML_CASES = [
    ("0", "3", "width", "expected a whole number from 1 to", "layers[0].filters"),  # validation
    ("4", "0", "k", "expected a whole number from 1 to 4096", "layers[0].kernel"),  # validation
    ("4", "13", "k", "larger than its padded input", "layers[0].kernel"),  # shape (the graph builder)
]


def check(tmp_path, capsys, text: str, suffix: str) -> str:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr()
    return out.out + out.err


def place(text: str, line_with: str, at: str) -> str:
    for number, line in enumerate(text.splitlines(), 1):
        if line_with in line:
            return f"{number}:{line.index(at, line.index(line_with)) + 1}"
    raise AssertionError(f"no line with {line_with!r}")


@pytest.mark.parametrize("width,k,arg,fragment,option", YAML_CASES, ids=[f"{c[2]}={c[0] + c[1]}" for c in YAML_CASES])
def test_yaml_the_path_names_the_argument(tmp_path, capsys, width, k, arg, fragment, option):
    text = YAML % (width, k)
    out = check(tmp_path, capsys, text, ".yaml")
    value = width if arg == "width" else k
    at = place(text, f"- basic: {{width: {width}, k:", f"{arg}: {value}")
    line, col = map(int, at.split(":"))
    at = f"{line}:{col + len(arg) + 2}"  # the value, after `arg: `
    # the second use is the network's second layer: layers[1]
    found = re.findall(rf"spec\.yaml:{at}: layers\[1\]\.{arg}(?: \([\w.]+\))?: (.*)", out)  # (a node's name)
    assert len(found) == 1, out
    assert fragment in found[0], found[0]
    assert "→" not in out.split(f":{at}: ")[1].split(":")[0], out  # no path into the block
    definition = place(text, "- conv2d:", f"${arg}")
    assert f"(the argument '{arg}' of block 'basic'; the definition uses it at " in found[0], found[0]
    assert f"spec.yaml:{definition} for {option})" in found[0], found[0]


DSL = """netspec probe
input [3, 8, 8]
block basic(width, k=3) {
  conv $width kernel=$k padding=1
}
basic 4
basic %s k=%s
"""


def test_dsl_the_path_names_the_argument(tmp_path, capsys):
    text = DSL % ("0", "3")
    out = check(tmp_path, capsys, text, ".ns")
    at = place(text, "basic 0", "0")
    found = re.findall(rf"spec\.ns:{at}: layers\[1\]\.width: (.*)", out)
    assert len(found) == 1 and "expected a whole number from 1 to" in found[0], out
    assert f"spec.ns:{place(text, 'conv $width', '$width')} for layers[0].filters)" in found[0], found[0]
