"""A bare value given to a kind (or block) that has no primary option: the message says whether the kind
takes no options at all (hint: the bare kind) or lists the options it has. Option names are torch's
own where they mirror it: nn.LayerNorm(normalized_shape, eps, elementwise_affine) -> axes, eps, affine."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError


def _problems(text: str):
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    return info.value.problems


@pytest.mark.parametrize("item", ["relu: 3", "flatten: true", "relu: [1]"])
def test_a_kind_without_options_says_so(item):
    text = f"input: [4]\nlayers:\n  - {item}\n"
    (p,) = _problems(text)
    kind = item.split(":")[0]
    assert (p.location.line, p.location.column) == (3, text.splitlines()[2].index(kind) + 1)
    assert f"'{kind}' takes no options" in p.message
    assert p.hint == f"write '- {kind}'"
    assert "{option: value}" not in p.hint


def test_a_kind_with_options_lists_them():
    (p,) = _problems("input: [4]\nlayers:\n  - layer_norm: 3\n")
    assert "'layer_norm' takes named options" in p.message
    assert all(name in p.hint for name in ("axes", "eps", "affine"))
    assert "{option: value}" not in p.hint


def test_a_block_lists_its_parameters_or_says_it_has_none():
    text = ("blocks:\n  b:\n    params: {width: 4, act: relu}\n    layers: [dense: $width]\n"
            "  c:\n    layers: [relu]\ninput: [4]\nlayers:\n  - b: 3\n  - c: 3\n")
    first, second = _problems(text)
    assert "block 'b' takes named parameters" in first.message and "width, act" in first.hint
    assert "block 'c' takes no parameters" in second.message and second.hint == "write '- c'"
    assert (first.location.line, second.location.line) == (9, 10)


def test_the_dsl_hint_lists_only_the_kinds_own_options():
    (p,) = _dsl("netspec k\ninput [4]\nrelu 3\n")
    assert p.hint == "it takes no options"
    (q,) = _dsl("netspec k\ninput [4]\ndense 3 foo\n")
    assert q.hint == "write key=value; options: units, bias, activation"  # nn.Linear's out_features, bias


def _dsl(text: str):
    from netspec.frontends.dsl import parse_dsl

    with pytest.raises(NetspecError) as info:
        parse_dsl(text, "t.ns")
    return info.value.problems
