"""Bad specs: each gives one clear, located message (table of spec text -> expected fragments)."""

from __future__ import annotations

import re

import pytest

import netspec
from netspec.core.errors import (
    NetspecError,
    ShapeError,
    SpecSyntaxError,
    SpecValidationError,
)

BAD = [
    # (spec text, error type, fragments that must appear)
    ("input: [1, 28, 28]\nlayers:\n  - conv2dd: {filters: 6}\n", SpecValidationError,
     ["<string>:3:5", "layers[0]", "unknown layer kind 'conv2dd'", "did you mean 'conv2d'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, kernal: 5}\n", SpecValidationError,
     ["3:26", "layers[0].kernal", "unknown option 'kernal'", "did you mean 'kernel'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 0}\n", SpecValidationError,
     ["3:14", "layers[0].filters", "greater than or equal to 1", "got 0"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, padding: sam}\n", SpecValidationError,
     ["layers[0].padding", "'same'", "'valid'", "invalid value 'sam'"]),
    ("input: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, stride: 2, padding: same}\n", SpecValidationError,
     ["layers[0]", "padding 'same' needs stride 1"]),
    ("input: [1, 28, 28]\nlayers:\n  - dense: {units: ten}\n", SpecValidationError,
     ["layers[0].units", "expected an integer", "got 'ten'"]),
    ("input: [1, 28, 28]\nlayres:\n  - flatten\n", SpecValidationError,
     ["2:1", "unknown key 'layres'", "did you mean 'layers'"]),
    ("input: [1, 28, 28]\nlayers:\n  - flatten\nexpect: {parms: 1}\n", SpecValidationError,
     ["expect.parms", "did you mean 'params'"]),
    ("layers:\n  - flatten\n", SpecValidationError, ["has no input", "input: [1, 28, 28]"]),
    ("input: [1, 4, 4]\nlayers:\n  - conv2d: {filters: 6, kernel: 3}\n  - conv2d: {filters: 6, kernel: 5, name: conv3}\n",
     ShapeError, ["4:5", "layers[1] (conv3)", "height 2 → (2 + 2·0 − 5)/1 + 1 = -2"]),
    ("input: [10]\nlayers:\n  - conv2d: {filters: 6, kernel: 3}\n", ShapeError,
     ["3:5", "expects a 3-D input (channels, height, width), got shape (10,)", "reshape"]),
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4, kernel: 3}, name: a}\n"
     "  - {conv2d: {filters: 5, kernel: 3}, name: b, from: input}\n  - {add: {}, from: [a, b]}\n", ShapeError,
     ["5:5", "add needs equal shapes", "(4, 6, 6)", "(5, 6, 6)"]),
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4}, name: a}\n  - {relu: {}, from: nope}\n", ShapeError,
     ["4:5", "'nope' is not an earlier layer or input"]),
    ("input: [3, 8, 8]\nlayers:\n  - {conv2d: {filters: 4}, name: a}\n  - {conv2d: {filters: 4}, name: a}\n",
     SpecValidationError, ["4:5", "duplicate name 'a'"]),
    ("input: [3, 8, 8]\nlayers:\n  - flatten\n  - {dense: 4, repeat: 5000}\n", SpecValidationError,
     ["repeat must be an integer from 1 to 1000"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {w: null}, layers: [{conv2d: {filters: $w}}]}\nlayers:\n  - b: {}\n",
     SpecValidationError, ["block 'b' needs the argument 'w'"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {width: 4}, layers: [{conv2d: {filters: $width}}]}\nlayers:\n  - b: {wdth: 3}\n",
     SpecValidationError, ["block 'b' has no parameter 'wdth'", "did you mean 'width'"]),
    ("input: [3, 8, 8]\nblocks:\n  b: {params: {w: 4}, layers: [{conv2d: {filters: '${__import__(\"os\")}'}}]}\n"
     "layers:\n  - b: {}\n", SpecValidationError, ["is not allowed in an expression"]),
    ("input: [3, 8, 8]\nlayers:\n  - !!python/object/apply:os.system ['echo hi']\n", SpecSyntaxError,
     ["3:5", "tag", "not allowed"]),
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 6\n", SpecSyntaxError, ["not valid YAML"]),
    ("input: [1, 1000000000]\nlayers:\n  - flatten\n", SpecValidationError, ["between 1 and"]),
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
