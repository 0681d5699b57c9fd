"""A wrong value given to a block as an argument (``- down: {k: 9}``, ``down k=9``) is located at the argument,
where the use writes it, not in the block definition it was put into (``kernel: $k``); the message says which
argument it is and where the definition uses it. YAML and DSL; validation and shape errors; a block that reads
its input (expanded by the graph builder); an argument passed on to a block used inside; a library block.

Every expected place is found in the spec text (the column of the argument's value), never copied from
netspec's output."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _place(text: str, line_with: str, at: str) -> str:
    """``line:col`` of ``at`` after ``line_with`` on the first line of ``text`` holding ``line_with``."""
    for number, line in enumerate(text.splitlines(), 1):
        if line_with in line:
            return f"{number}:{line.index(at, line.index(line_with)) + 1}"
    raise AssertionError(f"no line with {line_with!r}")


def _problem(source: str) -> Problem:
    with pytest.raises(NetspecError) as info:
        netspec.check(source)
    problems = info.value.problems
    assert len(problems) == 1, problems
    return problems[0]


def _at(p: Problem) -> str:
    assert p.location is not None, p
    return f"{p.location.line}:{p.location.column}"


BLOCK = ("input: [3, 8, 8]\nblocks:\n  down:\n    params: {k: null}\n    layers:\n      - %s\nlayers:\n"
         "  - down: {k: %s}\n")

# (the layer of the definition, the argument's value, where the definition's value that uses it starts, a
# message fragment)
YAML_CASES = [
    ("max_pool2d: {kernel: $k}", "9", "$k", "window is larger"),  # a shape error (the builder)
    ("conv2d: {filters: 4, kernel: $k}", "-1", "$k", "from 1 to 4096"),  # a validation error
    ("max_pool2d: {kernel: [3, $k]}", "9", "$k", "window is larger"),  # an element of a list
    ("max_pool2d: {kernel: '${k}'}", "9", "'${k}'", "window is larger"),  # ${k} is $k
    ("dense: {units: 4, activation: $k}", "relux", "$k", "got 'relux'"),
    ("conv2d: {filters: 3, kernel: 3, init: $k}", "normall", "$k", "'normall'"),
    ("conv2d: {filters: $k, kernel: 3}", "[1, 2]", "$k", "expected an integer"),
]


@pytest.mark.parametrize("layer,value,used,fragment", YAML_CASES, ids=[c[0] for c in YAML_CASES])
def test_yaml_a_wrong_argument_is_at_the_argument(layer, value, used, fragment):
    text = BLOCK % (layer, value)
    p = _problem(text)
    assert _at(p) == _place(text, "- down: {k: ", value), str(p)
    assert fragment in p.message, p.message
    # which argument, and where the definition puts it, as context
    definition = _place(text, layer, used)
    assert f"the argument 'k' of block 'down'; the definition uses it at <string>:{definition}" in p.message, p.message
    assert p.path.split(" (")[0] == "layers[0].k", p.path  # the argument at the use (the first layer), as the location says


def test_an_argument_passed_on_is_at_the_use_that_wrote_it():
    text = ("input: [3, 8, 8]\nblocks:\n  inner:\n    params: {k: null}\n    layers:\n"
            "      - max_pool2d: {kernel: $k}\n  outer:\n    params: {k: null}\n    layers:\n      - inner: {k: $k}\n"
            "layers:\n  - outer: {k: 9}\n")
    p = _problem(text)
    assert _at(p) == _place(text, "- outer: {k: ", "9"), str(p)
    assert "the argument 'k' of block 'outer'" in p.message, p.message
    assert p.path.split(" (")[0] == "layers[0].k", p.path


def test_a_block_reading_its_input_is_at_the_argument():  # expanded by the builder once `in` is known
    for layer, value in [("conv2d: {filters: '${in.channels}', kernel: $k}", "-1"),  # validation
                         ("conv2d: {filters: '${in.channels}', kernel: $k}", "9")]:  # shape
        text = BLOCK % (layer, value)
        p = _problem(text)
        assert _at(p) == _place(text, "- down: {k: ", value), str(p)
        assert "the argument 'k' of block 'down'" in p.message, p.message


def test_what_is_not_an_argument_stays_in_the_definition():
    # a default (not given at the use) and an expression computing a new value are the definition's
    text = (BLOCK % ("max_pool2d: {kernel: $k}", "9")).replace("{k: null}", "{k: 9}")
    text = text.replace("- down: {k: 9}", "- down")
    p = _problem(text)
    assert _at(p) == _place(text, "kernel: $k", "$k"), str(p)
    text = BLOCK % ("max_pool2d: {kernel: '${k * 3}'}", "3")
    p = _problem(text)
    assert _at(p) == _place(text, "kernel: ", "'${k * 3}'"), str(p)
    assert "in block 'down', used at" in p.message


def test_a_problem_with_the_key_stays_at_the_key():  # pool's padding refused at the padding's own place
    text = BLOCK % ("max_pool2d: {kernel: 2, padding: $k}", "2")
    p = _problem(text)
    assert _at(p) == _place(text, "- down: {k: ", "2"), str(p)  # the value: the argument
    assert p.path.split(" (")[0] == "layers[0].k", p.path  # the path names what the location points at: the argument
    assert p.message.endswith(" for layers[0].padding)"), p.message  # the option it went into, as context


def test_a_library_block_is_at_the_argument_in_the_spec(tmp_path):
    (tmp_path / "lib.yaml").write_text("blocks:\n  down:\n    params: {k: null}\n    layers:\n"
                                       "      - max_pool2d: {kernel: $k}\n", encoding="utf-8")
    spec = tmp_path / "net.yaml"
    text = "imports: [lib.yaml]\ninput: [3, 8, 8]\nlayers:\n  - down: {k: 9}\n"
    spec.write_text(text, encoding="utf-8")
    p = _problem(str(spec))
    assert p.location is not None and p.location.file == str(spec), p
    assert _at(p) == _place(text, "- down: {k: ", "9"), str(p)
    assert f"the definition uses it at {tmp_path / 'lib.yaml'}:5:" in p.message, p.message


DSL_BLOCK = "netspec probe\ninput [3, 8, 8]\nblock down(k) {\n  %s\n}\ndown k=%s\nflatten\n"

DSL_CASES = [
    ("maxpool kernel=$k", "9", "window is larger"),
    ("maxpool $k", "9", "window is larger"),
    ("conv 4 kernel=$k", "-1", "from 1 to 4096"),
    ("maxpool kernel=[3, $k]", "9", "window is larger"),
    ("dense 4 activation=$k", "relux", "got 'relux'"),
    ("conv ${in.channels} kernel=$k", "9", "window is larger"),  # reads its input: expanded by the builder
    ("conv ${in.channels} kernel=$k", "-1", "from 1 to 4096"),
]


@pytest.mark.parametrize("layer,value,fragment", DSL_CASES, ids=[f"{c[0]} {c[1]}" for c in DSL_CASES])
def test_dsl_a_wrong_argument_is_at_the_argument(layer, value, fragment):
    text = DSL_BLOCK % (layer, value)
    p = _problem(text)
    assert _at(p) == _place(text, "down k=", value), str(p)
    assert fragment in p.message and "the argument 'k' of block 'down'" in p.message, p.message
    assert f"the definition uses it at <string>:{_place(text, layer, '$k')}" in p.message, p.message
    assert p.path.split(" (")[0] == "layers[0].k", p.path


def test_dsl_an_argument_passed_on_is_at_the_use_that_wrote_it():
    text = ("netspec probe\ninput [3, 8, 8]\nblock inner(k) {\n  maxpool kernel=$k\n}\n"
            "block outer(k) {\n  inner k=$k\n}\nouter k=9\nflatten\n")
    p = _problem(text)
    assert _at(p) == _place(text, "outer k=", "9"), str(p)
    assert p.path.split(" (")[0] == "layers[0].k", p.path  # the argument written at the use, not the inner block's option


@pytest.mark.parametrize("layer,value", [
    ("dense: {units: 4, repeat: $k}", "-1"),  # a layer's count
    ("dense: {units: 4, if: $k}", "3"),  # a layer's condition
], ids=["repeat", "if"])
def test_an_item_key_from_an_argument_is_at_the_argument(layer, value):
    text = BLOCK.replace("[3, 8, 8]", "[4]") % (layer, value)
    p = _problem(text)
    assert _at(p) == _place(text, "- down: {k: ", value), str(p)
    assert f"the argument 'k' of block 'down'; the definition uses it at <string>:{_place(text, layer, '$k')}" \
        in p.message, p.message
    assert p.path.split(" (")[0] == "layers[0].k", p.path


def test_a_residual_option_from_an_argument_is_at_the_argument():
    text = ("input: [4]\nblocks:\n  down:\n    params: {s: null}\n    residual: true\n    shortcut: $s\n"
            "    layers:\n      - dense: {units: 4}\nlayers:\n  - down: {s: bogus}\n")
    p = _problem(text)
    assert _at(p) == _place(text, "- down: {s: ", "bogus"), str(p)
    assert "the argument 's' of block 'down'" in p.message, p.message
