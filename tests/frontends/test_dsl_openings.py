"""A problem located in a DSL file opens in the DSL's words: the graph builder and the spec stage write
``share: 'a' is ...``, ``init: nothing to initialise ...``, ``if: needs ...``, ``from: 'a' names ...`` (YAML's
``key:``), which a ``.ns`` file writes ``share=a``, ``init=...``, ``if=...``, ``from a``. The same spec in YAML keeps
YAML's words. Through the CLI (``netspec check FILE``); places found in the spec text."""

from __future__ import annotations

import re

import pytest

from netspec.cli.main import main

# (the .ns text, the place of the problem (after the '|' of the text around it), the message's DSL opening)
CASES = [
    ("input [4]\na: dense 4\nb: dense 3 share=a\n", "share=|a", "share=a is a dense with parameters"),
    ("input [4]\ndense 4 share=input\n", "share=|input", "share=input is a network input, not a layer"),
    ("input [4]\na: dense 4 trainable=false\nb: dense 4 share=a\n", "|b: dense", "share=a is frozen"),
    ("input [4]\na: dense 4\nb: dense 4 share=a init=normal\n", "init=|normal", "init=...: a layer that shares 'a'"),
    ("input [4]\nsequential init=normal {\n  relu\n}\n", "init=|normal", "init=...: nothing to initialise"),
    ("input [4]\na: dense 5\nb: dense 4 tie={weight=a}\n", "weight=|a", "tie=...: weight (4, 5) cannot be a.weight"),
    ("input [4]\ndense 4 if=3\n", "if=|3", "if=...: needs true or false"),
    ("input [4]\na: dense 3 if=false\ndense 3 from a\n", "|from a", "from a names a layer that is left out"),
]

# YAML's `key:` opening a message
_YAML_OPENING = re.compile(r"^(share|init|tie|if|from|repeat): ")


def _run(tmp_path, capsys, text: str, suffix: str) -> list[tuple[int, int, str, str]]:
    path = tmp_path / f"spec{suffix}"
    path.write_text(text)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr()
    # file:line:col: path: message (the path may carry a node's name in parentheses)
    return [(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)) for m in re.finditer(
        rf"spec{re.escape(suffix)}:(\d+):(\d+): ([\w\[\].]+(?: \([\w.]+\))?): (.*)", out.out + out.err)]


def _place(text: str, at: str) -> tuple[int, int]:
    before, after = at.split("|")
    offset = text.index(before + after) + len(before)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


@pytest.mark.parametrize("text,at,opening", CASES, ids=[c[2][:24] for c in CASES])
def test_a_dsl_message_opens_in_dsl_words(tmp_path, capsys, text, at, opening):
    problems = _run(tmp_path, capsys, "netspec k\n" + text, ".ns")
    assert len(problems) == 1, problems
    line, col, _, message = problems[0]
    assert (line, col) == _place("netspec k\n" + text, at), problems
    assert message.startswith(opening), message
    assert not _YAML_OPENING.match(message), message


def test_the_same_problem_in_yaml_keeps_yaml_words(tmp_path, capsys):
    text = "netspec: 1\ninput: [4]\nlayers:\n  - dense: 4\n    name: a\n  - dense: 3\n    share: a\n"
    ((_, _, _, message),) = _run(tmp_path, capsys, text, ".yaml")
    assert message.startswith("share: 'a' is a dense"), message


def test_a_value_opening_a_message_is_left_to_the_value_rewriting(tmp_path, capsys):
    # `init: {param: ...} names ...`: the DSL's value form, not `init=...: {param=...}`
    text = "netspec k\ninput [4]\nsequential init={weight=zeros} {\n  dense 3\n  dense 3\n}\n"
    ((_, _, _, message),) = _run(tmp_path, capsys, text, ".ns")
    assert message.startswith("init={param=...} names the parameters of one layer"), message


def test_a_network_without_layers_in_dsl_words(tmp_path, capsys):
    path = tmp_path / "spec.ns"
    path.write_text("input [4]\noutput a\n")
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "the network has no layers" in out and "'layers' list" not in out, out


def test_a_network_problem_names_the_network_without_a_dot(tmp_path, capsys):
    text = "netspec: 1\nnetworks:\n  a:\n    input: [4]\n    layers: [dense: 3]\n  b:\n    layers: [dense: 3]\n"
    ((line, col, path, message),) = _run(tmp_path, capsys, text, ".yaml")
    assert (line, col) == _place(text, "  b:\n    |layers") and path == "networks.b", (path, message)
    assert message == "the network has no input"
