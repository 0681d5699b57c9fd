"""Both readers record where each key's value starts, beside the key's own place: the column of a value is
found in the text (``line.index``), never written by hand."""

from __future__ import annotations

from netspec.core.errors import Location
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
