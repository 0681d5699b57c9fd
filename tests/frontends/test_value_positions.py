"""Both readers record where each key's value starts, beside the key's own place: the column of a value is
found in the text (``line.index``), never written by hand."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import Location, SpecValidationError
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.yaml import parse_yaml


def _at(text: str, line: int, piece: str, after: str = "") -> Location:
    """Where ``piece`` starts on 1-based ``line`` (its first occurrence after ``after``)."""
    src = text.splitlines()[line - 1]
    return Location("f", line, src.index(piece, src.index(after) if after else 0) + 1)


def test_yaml_keys_record_their_values():
    text = "layers:\n  - conv2d:\n      stride:   2\n      padding: \"same\"\n  - dense: {units: 10, bias: false}\n"
    raw = parse_yaml(text, "f")
    conv = raw["layers"][0]["conv2d"]
    assert conv.where("stride") == _at(text, 3, "stride") and conv.value_where("stride") == _at(text, 3, "2")
    assert conv.value_where("padding") == _at(text, 4, '"same"')
    dense = raw["layers"][1]["dense"]
    assert dense.where("bias") == _at(text, 5, "bias") and dense.value_where("bias") == _at(text, 5, "false")
    assert raw["layers"][0].value_where("conv2d") == _at(text, 3, "stride")  # a block mapping starts at its first key
    assert raw.value_where("layers") == _at(text, 2, "-")


def test_a_yaml_key_with_nothing_after_it_is_its_own_value():
    raw = parse_yaml("a:\nb: 1\n", "f")
    assert raw.value_where("a") == raw.where("a") == Location("f", 1, 1)


def test_dsl_keys_record_their_values():
    text = "netspec t\ninput [1, 8, 8]\nconv 6 5x5 stride=2 padding=\"same\"\ndense 10 bias=false\n" \
           "train optimizer={name=adam, lr=0.01} epochs=3\n"
    raw = parse_dsl(text, "f")
    conv = raw["layers"][0]["conv"]
    assert conv.where("stride") == _at(text, 3, "stride") and conv.value_where("stride") == _at(text, 3, "2", "stride")
    assert conv.value_where("padding") == _at(text, 3, '"same"')
    assert conv.value_where("kernel") == conv.where("kernel") == _at(text, 3, "5x5")  # positional: the value itself
    assert raw["layers"][1]["dense"].value_where("bias") == _at(text, 4, "false")
    train = raw["train"]
    assert train.value_where("epochs") == _at(text, 5, "3", "epochs")
    assert train["optimizer"].where("lr") == _at(text, 5, "lr")
    assert train["optimizer"].value_where("lr") == _at(text, 5, "0.01")
    assert raw.value_where("input") == _at(text, 2, "[")


@pytest.mark.parametrize("text, file, line, leaf, words", [
    # a nan in the second row of a 3×6 weight: at the nan, not at the list
    ("input: [6]\nlayers:\n  - dense:\n      units: 3\n      init: {weight: [[1, 2, 3, 4, 5, 6], [1, .nan, 3, 4, 5, 6],"
     " [1, 2, 3, 4, 5, 6]]}\n", "w.yaml", 5, ".nan", "finite"),
    ("input: [6]\nlayers:\n  - dense:\n      units: 3\n      init:\n        weight:\n          - [1, 2, 3, 4, 5, 6]\n"
     "          - [1, 2, 3, 4, 5, -.inf]\n          - [1, 2, 3, 4, 5, 6]\n", "b.yaml", 8, "-.inf", "finite"),
    # 1e400 is beyond a float (inf)
    ("input [6]\ndense 3 init={weight=[[1, 2, 3, 4, 5, 6], [1, 2, 1e400, 4, 5, 6], [1, 2, 3, 4, 5, 6]]}\n", "w.ns", 2,
     "1e400", "finite"),
    ("input [6]\ndense 3 init={bias=[0, \"x\", 0]}\n", "s.ns", 2, '"x"', "expected numbers"),
])
def test_a_wrong_number_in_an_init_value_is_at_the_number(text, file, line, leaf, words, tmp_path):
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecValidationError) as info:
        netspec.check(str(path))
    (p,) = info.value.problems
    src = text.splitlines()[line - 1]
    assert (p.location.file, p.location.line, p.location.column) == (str(path), line, src.index(leaf) + 1), p
    assert words in p.message, p
