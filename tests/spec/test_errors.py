"""Bad specs: each gives one clear, located message (table of spec text -> expected fragments)."""

from __future__ import annotations

import os
import re

import pytest

import netspec
from netspec.cli.main import main
from netspec.core.errors import (
    NetspecError,
    ShapeError,
    SpecSyntaxError,
    SpecValidationError,
    UsageError,
)

BAD = [
    # (spec text, error type, fragments that must appear)
    ("input: [1, 28, 28]\nlayers:\n  - conv2dd: {filters: 6}\n", SpecValidationError,
     ["<string>:3:5", "layers[0]", "unknown layer kind 'conv2dd'", "did you mean 'conv2d'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, kernal: 5}\n", SpecValidationError,
     ["3:26", "layers[0].kernal", "unknown option 'kernal'", "did you mean 'kernel'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 0}\n", SpecValidationError,  # at the value: column 23
     ["3:23", "layers[0].filters", "expected a whole number from 1 to", "got 0"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, padding: sam}\n", SpecValidationError,
     ["layers[0].padding", "'same'", "'valid'", "got 'sam'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, stride: 2, padding: same}\n", SpecValidationError,
     ["layers[0]", "padding 'same' needs stride 1"]),
    ("input: [1, 28, 28]\nlayers:\n  - dense: {units: ten}\n", SpecValidationError,
     ["layers[0].units", "expected an integer", "got 'ten'"]),
    ("input: [1, 28, 28]\nlayres:\n  - flatten\n", SpecValidationError,
     ["2:1", "unknown key 'layres'", "did you mean 'layers'"]),
    ("input: [1, 28, 28]\nlayers:\n  - flatten\nexpect: {parms: 1}\n", SpecValidationError,
     ["expect.parms", "did you mean 'params'"]),
    ("layers:\n  - flatten\n", SpecValidationError, ["has no input", "input: [1, 28, 28]"]),
    ("input: [1, 4, 4]\nlayers:\n  - conv2d: {filters: 6, kernel: 3}\n"
     "  - conv2d: {filters: 6, kernel: 5, name: conv3}\n",
     # at the kernel's value: column 34 of "  - conv2d: {filters: 6, kernel: 5"
     ShapeError, ["4:34", "layers[1].kernel (conv3)", "height 2 → (2 + 2·0 − 5)/1 + 1 = -2"]),
    ("input: [10]\nlayers:\n  - conv2d: {filters: 6, kernel: 3}\n", ShapeError,
     ["3:5", "expects a 3-D input (channels, height, width), got shape (10,)", "reshape"]),
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4, kernel: 3}, name: a}\n"
     "  - {conv2d: {filters: 5, kernel: 3}, name: b, from: input}\n  - {add: {}, from: [a, b]}\n", ShapeError,
     ["5:5", "add needs equal shapes", "(4, 6, 6)", "(5, 6, 6)"]),
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4}, name: a}\n  - {relu: {}, from: nope}\n", ShapeError,
     ["4:16", "'nope' is not an earlier layer or input"]),  # at its `from` key (one name)
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4}, name: a}\n  - {conv2d: {filters: 4}, name: a}\n",
     SpecValidationError, ["4:5", "duplicate name 'a'"]),
    ("input: [3, 8, 8]\nlayers:\n  - flatten\n  - {dense: 4, repeat: 5000}\n", SpecValidationError,
     ["repeat must be a whole number from 0 to 1000"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {w: null}, layers: [{conv2d: {filters: $w}}]}\nlayers:\n  - b: {}\n",
     SpecValidationError, ["block 'b' needs the argument 'w'"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {width: 4}, layers: [{conv2d: {filters: $width}}]}\n"
     "layers:\n  - b: {wdth: 3}\n",
     SpecValidationError, ["block 'b' has no parameter 'wdth'", "did you mean 'width'"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {w: 4}, layers: [{conv2d: {filters: '${__import__(\"os\")}'}}]}\n"
     "layers:\n  - b: {}\n", SpecValidationError, ["is not allowed in an expression"]),
    ("input: [3, 8, 8]\nlayers:\n  - !!python/object/apply:os.system ['echo hi']\n", SpecSyntaxError,
     ["3:5", "tag", "not allowed"]),
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 6\n", SpecSyntaxError, ["not valid YAML"]),
    ("input: [1, 1000000000]\nlayers:\n  - flatten\n", SpecValidationError, ["a whole number from 1 to"]),
    ("input: [1, 28, 28]\nlayers:\n  - {dense: {units: 2, init: {wieght: zeros}}}\n", ShapeError,
     ["init names 'wieght'", "did you mean 'weight'"]),
    ("input: [2]\nlayers:\n  - {dense: {units: 2, init: {weight: [[1, 2, 3], [4, 5, 6]]}}}\n", ShapeError,
     ["init value for 'weight' has shape (2, 3), the parameter has (2, 2)"]),
]


@pytest.mark.parametrize("text,error,fragments", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_spec_message(text, error, fragments):
    with pytest.raises(error) as info:
        netspec.check(text)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "Traceback" not in message


def test_all_validation_errors_reported_at_once():
    text = ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: -1}\n  - max_pool2d: {kernal: 2}\n"
            "  - dens: 10\n")
    with pytest.raises(SpecValidationError) as info:
        netspec.load(text)
    lines = [p.location.line for p in info.value.problems]
    assert lines == [3, 4, 5]


def test_strict_turns_dropped_pixels_into_errors():
    text = "input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 1, kernel: 5, stride: 2}\n"
    report = netspec.check(text)
    assert report.warnings and "the last 1 input row never reaches a window" in report.warnings[0]
    with pytest.raises(ShapeError, match="--strict"):
        netspec.check(text, strict=True)


def test_hostile_alias_bomb_fails_fast():
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = "\n".join(lines) + "\ninput: [1]\nlayers: [flatten]\n"
    with pytest.raises(NetspecError, match="more than"):
        netspec.load(text)


def test_errors_are_netspec_errors():
    for text, error, _ in BAD:
        assert issubclass(error, NetspecError)
    assert re.search(r"\d+:\d+", str(pytest.raises(SpecValidationError, netspec.load, BAD[0][0]).value))


def test_unknown_keys_anywhere_get_suggestions():
    text = ("networks:\n  a:\n    inputs: {x: {shape: [3], dtyp: float}}\n    layers: [{dense: 2}]\n"
            "train:\n  epochz: 3\n  optimizer: {name: adam, lrr: 0.1}\n")
    with pytest.raises(SpecValidationError) as info:
        netspec.load(text)
    message = str(info.value)
    for fragment in ("3:30: networks.a.inputs.x.dtyp", "did you mean 'dtype'", "6:3: train.epochz",
                     "did you mean 'epochs'", "train.optimizer.lrr", "did you mean 'lr'"):
        assert fragment in message, message


def test_spec_text_format_is_recognised():
    # 4 inputs -> dense 2: 4*2 + 2 = 10 parameters, whichever frontend reads it.
    for text in ("netspec t\ninput [4]\ndense 2\n", "input [4]\ndense 2\n", "input: [4]\nlayers: [{dense: 2}]\n",
                 "# comment\ninput : [4]\nlayers: [{dense: 2}]\n"):
        assert netspec.check(text).to_dict()["params"]["total"] == 10, text


# --- messages that mislead: root causes only, in file order ----------------------------------------------
def _problems(text: str) -> list:
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    assert "Traceback" not in str(info.value)
    return info.value.problems or [str(info.value)]


@pytest.mark.parametrize("value", ["2", "x", "[2, 2]", "{kernel: 2}", "null", "true", "{}"])
def test_unknown_kind_is_unknown_whatever_its_value(value):
    problems = _problems(f"input: [1, 28, 28]\nlayers:\n  - max_pol2d: {value}\n")
    assert len(problems) == 1, problems
    text = str(problems[0])
    assert "<string>:3:5: layers[0]: unknown layer kind 'max_pol2d'" in text and "did you mean 'max_pool2d'" in text
    dsl = _problems(f"input [1, 28, 28]\nmax_pol2d {value if value[0] not in '[{' else '2'}\n")
    assert len(dsl) == 1 and "unknown layer kind 'max_pol2d'" in str(dsl[0])


def test_no_follow_on_empty_list_when_every_layer_is_invalid():
    text = "input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: -1}\n  - dens: 10\n"
    problems = _problems(text)
    assert [p.location.line for p in problems] == [3, 4]
    assert not any("at least 1 layer" in str(p) for p in problems)
    assert "did you mean 'dense'" in str(problems[1])
    # inside a group too: the emptied body is not reported again
    text = "input: [1, 4, 4]\nlayers:\n  - residual: {layers: [{dens: 4}]}\n"
    problems = _problems(text)
    assert len(problems) == 1 and "unknown layer kind 'dens'" in str(problems[0]), problems
    # an empty list that was written empty is still reported
    assert "expected at least 1 layer" in str(_problems("input: [4]\nlayers: []\n")[0])


def test_misspelled_option_is_not_also_a_missing_one():
    problems = _problems("input: [1, 28, 28]\nlayers:\n  - conv2d: {filtrs: 6, kernel: 5}\n")
    assert len(problems) == 1 and "unknown option 'filtrs'" in str(problems[0])
    assert "did you mean 'filters'" in str(problems[0])
    # a missing option with no misspelling near it is still missing
    assert "missing required 'filters'" in str(_problems("input: [1, 8, 8]\nlayers:\n  - conv2d: {kernel: 5}\n")[0])


@pytest.mark.parametrize("params", ["{width: 4}", "{width: null}"])
def test_misspelled_block_argument_reported_once_at_its_root(params):
    text = (f"input: [3, 8, 8]\nblocks:\n  b:\n    params: {params}\n    layers:\n"
            "      - conv2d: {filters: $width}\n      - dense: '${width * 2}'\nlayers:\n  - b: {wdth: 3}\n")
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert str(problems[0]).startswith("<string>:9:9: layers[0].wdth: block 'b' has no parameter 'wdth'")
    assert "did you mean 'width'" in str(problems[0])


def test_block_names_are_suggested_whatever_their_case():
    text = ("input: [3, 8, 8]\nblocks:\n  c3: {params: {w: 4}, layers: [{conv2d: {filters: $w}}]}\n"
            "layers:\n  - C3: {w: 3}\n")
    problems = _problems(text)
    assert len(problems) == 1 and "unknown layer kind 'C3'" in str(problems[0])
    assert "did you mean 'c3'?" in str(problems[0])
    assert "did you mean 'conv2d'" in str(_problems("input: [3, 8, 8]\nlayers:\n  - Conv2D: 4\n")[0])


@pytest.mark.parametrize("text,shown", [
    ("input: 784\nlayers:\n  - dense: 10\n", "input: [784]"),
    ("input: 3.5\nlayers:\n  - dense: 10\n", "input: [1, 28, 28]"),
    ("inputs: {x: 784}\nlayers:\n  - dense: 10\n", "x: [784]"),
])
def test_an_input_that_is_not_a_shape_says_what_one_looks_like(text, shown):
    problems = _problems(text)
    assert len(problems) == 1, problems
    message = str(problems[0])
    assert "an input is a shape (a list of sizes) or a mapping" in message and shown in message
    assert "{shape:" in message and "expected a mapping" not in message


def test_a_list_value_with_a_bad_item_is_reported_at_the_item():
    """`kernel: [3, x]` is an integer-or-pair: the problem is the pair's second item, not "expected an integer"."""
    problems = _problems("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 2, kernel: [3, x]}\n")
    assert len(problems) == 1, problems
    assert str(problems[0]).startswith("<string>:3:38: layers[0].kernel[1]: expected an integer; got 'x'")


@pytest.mark.parametrize("layers,line", [
    ("  - {conv2d: {filters: 4, kernel: 3}, name: a}\n  - {conv2d: {filters: 4, kernel: 3}, name: b}\n"
     "  - {add: {}, from: [a, nope], name: total}\n", 5),
    ("  - {conv2d: {filters: 4, kernel: 3}, name: a}\n  - sequential:\n      layers:\n"
     "        - {conv2d: {filters: 4, kernel: 3}, name: b}\n        - {add: {}, from: [b, nope]}\n", 7),
])
def test_a_bad_from_in_an_add_is_located_at_the_name(layers, line):
    with pytest.raises(ShapeError) as info:
        netspec.check("input: [3, 8, 8]\nlayers:\n" + layers)
    message = str(info.value)
    column = 25 if line == 5 else 31  # the name `nope` itself, counted by hand
    assert message.startswith(f"<string>:{line}:{column}: ") and "'nope' is not an earlier layer or input" in message
    assert "layers[2]" in message if line == 5 else "layers[1].layers[1]" in message


# --- resource bounds: checked before the work, each a located message --------------------------------
def _nested_repeats(levels: int, count: int) -> str:
    text, previous = "input: [4]\nblocks:\n", None
    for i in range(levels):
        body = f"[{{dense: 4, repeat: {count}}}]" if previous is None else f"[{{{previous}: {{}}, repeat: {count}}}]"
        text += f"  b{i}: {{layers: {body}}}\n"
        previous = f"b{i}"
    return text + f"layers:\n  - {previous}: {{}}\n"


def test_repeat_inside_blocks_cannot_bypass_the_layer_cap():
    import time

    from netspec.spec.expand import MAX_LAYERS

    text = _nested_repeats(3, 100)  # 100 × (100 × (100 dense + 1 group) + 1) + 1 > a million layers
    assert len(text) < 400
    start = time.perf_counter()
    problems = _problems(text)
    assert time.perf_counter() - start < 20  # refused before the million copies are made
    assert len(problems) == 1, problems
    message = str(problems[0])
    # b2's repeat: one copy of b1 is 100 · (100 + 1) + 1 = 10,101 layers plus its group, 100 copies > MAX_LAYERS
    assert message.startswith("<string>:5:") and "repeat: 100 copies of" in message
    assert f"larger than {MAX_LAYERS:,} layers" in message
    # blocks used many times without repeat: 10 uses per level, 6 levels = a million layers
    text = "input: [4]\nblocks:\n  b0: {layers: [" + ", ".join(["dense: 4"] * 10) + "]}\n"
    for i in range(1, 7):
        text += f"  b{i}: {{layers: [" + ", ".join([f"b{i - 1}: {{}}"] * 10) + "]}\n"
    problems = _problems(text + "layers:\n  - b6: {}\n")
    assert len(problems) == 1 and f"expands to more than {MAX_LAYERS:,} layers" in str(problems[0])
    assert problems[0].location is not None
    # a large but bounded spec is fine: 3 levels of 10 → 10 · (10 · (10 + 1) + 1) + 1 + 1 = 1,112 layers
    assert netspec.check(_nested_repeats(3, 10)).ok


def test_deep_nesting_is_refused_at_parse_time():
    from netspec.core.source import MAX_NESTING

    problems = _problems("input: [4]\nlayers: " + "[" * 490 + "]" * 490 + "\n")
    assert len(problems) == 1 and f"nested more than {MAX_NESTING} deep" in str(problems[0])
    assert problems[0].location is not None and problems[0].location.line == 2
    for groups in (45, 163):  # 45 groups: past the expander's bound; 163 (489 YAML levels): past the parser's
        inner = "dense: 2"
        for _ in range(groups):
            inner = "{sequential: {layers: [" + inner + "]}}"
        problems = _problems("input: [4]\nlayers: [" + inner + "]\n")
        assert len(problems) == 1 and "nested more than" in str(problems[0]), groups
        assert problems[0].location is not None
    # DSL: braces nested past its bound
    dsl = "input [4]\n" + "".join("  " * i + "sequential {\n" for i in range(163)) + "dense 2\n" + "}\n" * 163
    problems = _problems(dsl)
    assert len(problems) == 1 and "nested" in str(problems[0]) and problems[0].location is not None


def test_anything_the_expander_accepts_converts_to_the_dsl_and_back():
    """The nesting bound keeps every valid spec writable as DSL (whose bracket depth is bounded too)."""
    from netspec.convert import convert
    from netspec.spec.expand import MAX_NESTING

    inner = "dense: 2"
    for _ in range(MAX_NESTING - 1):
        inner = "{sequential: {layers: [" + inner + "]}}"
    text = "input: [4]\nlayers: [" + inner + "]\n"
    assert netspec.check(text).ok
    assert netspec.check(convert(text, to="dsl")).ok
    branches = "dense: 2"
    for _ in range(MAX_NESTING // 2 - 1):
        branches = "{parallel: {branches: [[" + branches + "], [dense: 2]], merge: concat}}"
    text = "input: [4]\nlayers: [" + branches + "]\n"
    assert netspec.check(text).ok
    assert netspec.check(convert(text, to="dsl")).ok
    # a value nested deeper than the DSL's brackets: the DSL's limit, said as such (not "a netspec bug")
    deep = "input: [2]\nlayers:\n  - {dense: {units: 2, init: {weight: " + "[" * 60 + "1" + "]" * 60 + "}}}\n"
    with pytest.raises(NetspecError, match="cannot be written as DSL") as info:
        convert(deep, to="dsl")
    assert "bug" not in str(info.value)


@pytest.mark.parametrize("text", [
    "input: [4]\nlayers:\n  - dense: " + "9" * 5000 + "\n",
    "input: [4]\nlayers:\n  - dense: 0x" + "f" * 5000 + "\n",
    "input: [" + "9" * 5000 + "]\nlayers:\n  - dense: 2\n",
    "input [4]\ndense " + "9" * 5000 + "\n",
    "input [1, 4, 4]\nconv 2 3x" + "9" * 5000 + "\n",
])
def test_a_number_of_thousands_of_digits_is_a_located_error(text):
    problems = _problems(text)
    assert len(problems) == 1 and "a number of 5000 digits is out of range" in str(problems[0])
    assert problems[0].location is not None


@pytest.mark.parametrize("expr,fragment", [
    ("${-'a'}", "a sign needs a number"),
    ("${min()}", "min takes two or more values"),
    ("${max(w)}", "max takes two or more values"),
    ("${1 < 'a'}", "cannot order 1 and 'a'"),
    ("${int('x')}", "int needs a number"),
    ("${round(1e300)}", "out of range"),
    ("${w * 1e300}", "out of range"),
    ("${'a' * w}", "arithmetic needs numbers"),
    ("${w // 0}", "division by zero"),
    ("${nope + 1}", "unknown name 'nope'"),
    ("${w +}", "cannot parse expression"),
])
def test_every_expression_error_is_one_located_message(expr, fragment):
    text = (f"input: [4]\nblocks:\n  b:\n    params: {{w: 4}}\n    layers:\n      - dense: \"{expr}\"\n"
            "layers:\n  - b: {}\n")
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    problems = info.value.problems
    assert len(problems) == 1, problems  # not also "expected an integer; got None"
    assert problems[0].location is not None and problems[0].location.line == 6
    assert fragment in str(problems[0])
    # a repeat count too
    text = (f"input: [4]\nblocks:\n  b:\n    params: {{w: 4}}\n    layers:\n      - {{dense: 2, repeat: \"{expr}\"}}\n"
            "layers:\n  - b: {}\n")
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    assert len(info.value.problems) == 1 and info.value.problems[0].location is not None


def test_expressions_never_raise_anything_but_expr_error():
    from netspec.spec.expr import ExprError, evaluate

    cases = ["${-'a'}", "${min()}", "${1 < 'a'}", "${int('x')}", "${max(1)}", "${round(1, 'a')}", "${int(None)}",
             "${None + 1}", "${not}", "${1 if}", "${'a' < 1 < 2}", "${min('a', 1)}", "${round(1e308 * 10)}",
             "${\x00}", "${" + "(" * 150 + "1" + ")" * 150 + "}"]
    for text in cases:
        with pytest.raises(ExprError):
            evaluate(text, {})
    assert evaluate("${2 if i == 0 else 1}", {"i": 0}) == 2 and evaluate("${min(w, 8) * 2}", {"w": 4}) == 8
    assert evaluate("${" + "-" * 150 + "1}", {}) == 1  # deep but short: fine


def test_spec_path_must_be_a_regular_file(tmp_path):
    import signal

    for path in ("/dev/zero", "/dev/null", str(tmp_path)):
        if not os.path.exists(path):
            continue
        with pytest.raises(UsageError):
            netspec.load(path)
        assert main(["check", path]) == 2
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "spec.yaml"
        os.mkfifo(fifo)
        old = signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("blocked on the FIFO")))
        signal.alarm(20)
        try:
            with pytest.raises(UsageError, match="not a regular file"):
                netspec.load(fifo)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)


def test_a_spec_file_larger_than_the_bound_is_refused_before_parsing(tmp_path):
    from netspec.core.source import MAX_TEXT_BYTES

    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:
        f.write(b"input: [4]\nlayers: [flatten]\n")
        f.seek(MAX_TEXT_BYTES + 10)
        f.write(b"\n")
    with pytest.raises(SpecSyntaxError, match="more than the 5 MB a spec may have") as info:
        netspec.load(big)
    assert info.value.problems[0].location is not None
    assert main(["check", str(big)]) == 1


# --- the Python API raises NetspecError for anything it is given ---------------------------------------
def _self_dict():
    d = {"input": [4], "layers": ["flatten"]}
    d["self"] = d
    return d


def _self_list():
    d = {"input": [4], "layers": []}
    d["layers"].append(d["layers"])
    return d


def _deep_dict():
    d = {"input": [4], "layers": [{"dense": 2}]}
    cur = d
    for _ in range(5000):
        cur["x"] = {}
        cur = cur["x"]
    return d


@pytest.mark.parametrize("make", [lambda: None, lambda: 3, lambda: 2.5, lambda: ["input"], lambda: object(),
                                  lambda: b"input: [4]\nlayers: [flatten]\n", lambda: "x" * 10_000_000,
                                  lambda: "input: " + "x" * 10_000_000, lambda: "a\x00b", lambda: "a/" * 3000,
                                  _self_dict, _self_list, _deep_dict],
                         ids=["None", "int", "float", "list", "object", "bytes", "10MB", "10MB-text", "nul",
                              "long-name", "self-dict", "self-list", "deep-dict"])
@pytest.mark.parametrize("function", ["load", "check", "analyze", "compile", "to_dot"])
def test_the_api_raises_netspec_errors_only(make, function):
    with pytest.raises(NetspecError) as info:
        getattr(netspec, function)(make())
    assert str(info.value)


@pytest.mark.parametrize("pin", ["output_shape: ['10=']", "output_shape: [T, '12 > 8']", "shapes: {d: ['28%']}",
                                 "outputs: {d: ['T/0']}", "output_shape: ['" + "-" * 1500 + "T']",
                                 "output_shape: ['" + "-" * 200 + "T']"])
def test_a_pinned_shape_that_is_not_a_size_is_a_located_error(pin):
    """Found by tests/test_fuzz.py: a pinned size that is no size expression crashed the expectation check."""
    text = f"input: [4, T]\nlayers:\n  - {{dense: 3, name: d}}\nexpect:\n  {pin}\n"
    problems = _problems(text)
    assert len(problems) == 1 and "is not a size" in str(problems[0]), problems
    assert problems[0].location is not None and problems[0].location.line == 5


def test_a_pin_undefined_at_the_bound_size_fails_as_an_expectation(tmp_path, capsys):
    """`macs: '100/(T - 10)'` under --bind T=10 divides by zero: the pin fails (exit 1), no internal error."""
    path = tmp_path / "pin.yaml"
    path.write_text("input: [T, 4]\nlayers:\n  - {dense: 3, name: d}\nexpect:\n  macs: '100/(T - 10)'\n")
    assert main(["check", str(path), "--bind", "T=10"]) == 1
    out = capsys.readouterr()
    assert "internal error" not in out.err and "pin.yaml:5:9: expect.macs" in out.out  # at the pin: "  macs: '..."
    # 12·T MACs (T steps of a 4 → 3 dense) pinned right: holds bound and unbound
    path.write_text("input: [T, 4]\nlayers:\n  - {dense: 3, name: d}\nexpect:\n  macs: '12*T'\n")
    assert main(["check", str(path), "--bind", "T=10"]) == 0 and main(["check", str(path)]) == 0


@pytest.mark.parametrize("layer", ["{dense: {unitz: 3}, repeat: 1000}", "{dense: {units: 0}, repeat: 1000}",
                                   "{b: {w: 0}, repeat: 50}"])
def test_a_problem_in_a_repeated_layer_is_reported_once(layer):
    text = ("input: [4]\nblocks:\n  b: {params: {w: 4}, layers: [{dense: $w}]}\n"
            f"layers:\n  - {layer}\n")
    problems = _problems(text)
    assert len(problems) == 1, problems[:3]


@pytest.mark.parametrize("options", [{"bind": 3}, {"bind": {"T": "x"}}, {"bind": {"T": 2.5}}, {"bind": {"T": 0}},
                                     {"bind": {"T": True}}, {"bind": {"T": 10**30}}, {"bind": {3: 4}},
                                     {"batch": 0}, {"batch": "x"}])
def test_the_api_checks_its_options_at_the_boundary(options):
    text = "input: [4, T]\nlayers:\n  - conv1d: {filters: 2, kernel: 3}\n"
    with pytest.raises(UsageError):
        netspec.check(text, **options)
    if "bind" in options:
        for function in (netspec.analyze, netspec.to_dot):
            with pytest.raises(UsageError):
                function(text, **options)
    assert netspec.check(text, bind={"T": 5}, batch=2).ok


def test_a_validators_suggestion_is_the_hint_not_part_of_the_message():
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3, padding: sme}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    (problem,) = info.value.problems
    assert problem.hint == "did you mean 'same'?"
    assert "did you mean" not in problem.message and "got 'sme'" in problem.message
    at_value = text.splitlines()[2].index("sme") + 1  # a problem with a value points at the value, not its key
    assert problem.location is not None and (problem.location.line, problem.location.column) == (3, at_value)


def test_a_misspelled_init_scheme_is_one_problem_at_the_scheme():
    """The union's 'one of the scheme names' for the whole mapping is not a second root cause."""
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3, init: {weight: kaiming_norml}}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    (problem,) = info.value.problems
    assert problem.path == "layers[0].init.weight" and "kaiming_normal" in problem.hint
    assert (problem.location.line, problem.location.column) == (3, text.splitlines()[2].index("kaiming_norml") + 1)


@pytest.mark.parametrize("text, fragment, hint", [
    ("input: [8]\nlayers:\n  - dense: {units: 4, bias: flase}\n", "expected true or false", "did you mean 'false'?"),
    ("input: [8]\nlayers:\n  - dense: {units: 4}\n  - dense: {units: 4, from: []}\n", "an empty list names no input",
     None),
    ("input: [8]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 4, from: 'a:'}\n",
     "'a:' names no output after ':'", "write 'a' for its output"),
])
def test_quiet_mistakes_in_values_are_problems(text, fragment, hint):
    """`from: []` and `from: 'a:'` used to mean the previous layer and `a`; `bias: flase` got no suggestion."""
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    (problem,) = info.value.problems
    assert fragment in problem.message
    assert hint is None or hint in problem.hint


def test_a_wrong_argument_type_inside_a_block_names_the_use(tmp_path):
    text = ("input: {shape: [5], dtype: long}\nblocks:\n  head:\n    params: {e: null}\n    layers:\n"
            "      - dense: {units: 16, bias: false}\n        tie: {weight: $e}\nlayers:\n"
            "  - embedding: {vocab: 16, dim: 8}\n  - dense: {units: 8}\n  - head: {e: 3}\n")
    path = tmp_path / "arg.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path))
    (problem,) = info.value.problems
    # at the argument, "3" of "  - head: {e: 3}" (line 11, column 15); the definition's use (line 7) as context
    assert (problem.location.line, problem.location.column) == (11, 15)
    assert problem.message.endswith(f"(the argument 'e' of block 'head'; the definition uses it at {path}:7:23 for "
                                    "layers[0].tie.weight)")
    assert problem.path == "layers[2].e"  # the argument, at the use (the third layer), as the location says


def _at(text: str, at: str) -> str:
    """``<string>:line:column`` of ``at`` in ``text``, computed from the text itself."""
    offset = text.index(at)
    return f"<string>:{text.count(chr(10), 0, offset) + 1}:{offset - text.rfind(chr(10), 0, offset)}"


BLOCK_A = "blocks:\n  a:\n    params: {w: null}\n    layers:\n      - dense: {units: $w, activation: relux}\n"


def test_a_mistake_in_a_block_used_twice_is_one_problem_naming_both_uses():
    text = BLOCK_A + "input: [8]\nlayers:\n  - a: {w: 3}\n  - a: {w: 4}\n"
    problems = _problems(text)
    assert len(problems) == 1, [str(p) for p in problems]
    (p,) = problems
    assert str(p.location) == _at(text, "relux")
    first, second = _at(text, "a: {w: 3}"), _at(text, "a: {w: 4}")  # each use: at its kind key
    assert p.message.endswith(f"got 'relux' (in block 'a', used at {first} and {second})")


def test_a_mistake_in_a_nested_block_lists_the_uses_under_each_enclosing_use():
    text = (BLOCK_A + "  b:\n    params: {w: null}\n    layers:\n      - a: {w: $w}\n"
            "input: [8]\nlayers:\n  - b: {w: 3}\n  - b: {w: 4}\n  - a: {w: 5}\n")
    (p,) = _problems(text)
    inner = _at(text, "a: {w: $w}")
    b1, b2, a3 = _at(text, "b: {w: 3}"), _at(text, "b: {w: 4}"), _at(text, "a: {w: 5}")
    assert p.message.endswith(f"(in block 'a', used at {inner}, in block 'b', used at {b1} and {b2}; "
                              f"in block 'a', used at {a3})")


def test_problems_that_differ_between_uses_stay_apart():
    text = "blocks:\n  a:\n    params: {w: null}\n    layers:\n      - dense: $w\ninput: [8]\nlayers:\n" \
           "  - a: {w: -1}\n  - a: {w: 0}\n"
    problems = _problems(text)
    assert [p.message.partition(" (the argument")[0].rpartition("; ")[2] for p in problems] == ["got -1", "got 0"]
    assert [str(p.location) for p in problems] == [_at(text, "-1}"), _at(text, "0}")]  # each at its argument
