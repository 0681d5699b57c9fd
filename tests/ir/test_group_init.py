"""``init:`` on a group (sequential, residual, a block use) must initialise something: refused at the group's
``init:`` when every layer inside with parameters shares another layer's weights (``share:``), has them all tied
(``tie:``), or when no layer inside has parameters; the message says why. On the sharing layer itself it was
already refused; a group with one layer of its own parameters keeps its init for that layer."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _problem(text: str, tmp_path, suffix: str = ".yaml") -> Problem:
    path = tmp_path / f"g{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path))
    (p,) = info.value.problems
    return p


def _at(text: str, line: int, piece: str) -> tuple[int, int]:
    """(line, column) of ``piece`` on the 1-based ``line`` of ``text``."""
    return line, text.splitlines()[line - 1].index(piece) + 1


SHARED = "input: [4]\nlayers:\n  - dense: {units: 4, name: a}\n"


@pytest.mark.parametrize("group", ["sequential", "residual"])
def test_a_group_whose_layers_share_weights_refuses_init(tmp_path, group):
    text = SHARED + f"  - {group}:\n      init: normal\n      layers:\n        - dense: {{units: 4, share: a}}\n" \
                    "        - relu\n"
    p = _problem(text, tmp_path)
    assert (p.location.line, p.location.column) == _at(text, 5, "normal"), p
    assert p.path.startswith("layers[1].init")
    assert f"init: nothing to initialise in this {group}: its layers share the weights of 'a'" in p.message, p
    assert "on the layer whose weights they use ('a')" in p.hint


def test_a_block_use_whose_layers_share_weights_refuses_init(tmp_path):
    text = ("input: [4]\nblocks:\n  b:\n    params: {}\n    layers:\n      - dense: {units: 4, share: a}\n"
            "layers:\n  - dense: {units: 4, name: a}\n  - b: {init: normal}\n")
    p = _problem(text, tmp_path)
    assert (p.location.line, p.location.column) == _at(text, 9, "normal"), p
    assert "nothing to initialise in block 'b': its layers share the weights of 'a'" in p.message, p
    assert "used at" not in p.message  # at the use itself: no note pointing there again


def test_dsl_group_init_with_shared_layers(tmp_path):
    text = "input [4]\na: dense 4\nsequential init=normal {\n  dense 4 share=a\n  relu\n}\n"
    p = _problem(text, tmp_path, ".ns")
    assert (p.location.line, p.location.column) == _at(text, 3, "normal"), p
    assert "its layers share the weights of 'a'" in p.message and "write init=... on the layer" in p.hint, p


def test_a_group_whose_parameters_are_all_tied_refuses_init(tmp_path):
    text = SHARED + "  - sequential:\n      init: normal\n      layers:\n" \
                    "        - dense: {units: 4, tie: {weight: a, bias: a}}\n"
    p = _problem(text, tmp_path)
    assert (p.location.line, p.location.column) == _at(text, 5, "normal"), p
    assert "their parameters are tied to 'a.weight' and 'a.bias'" in p.message, p


def test_a_group_of_layers_without_parameters_refuses_init(tmp_path):
    text = "input: [4]\nlayers:\n  - sequential:\n      init: normal\n      layers: [relu, dropout: 0.1]\n"
    p = _problem(text, tmp_path)
    assert (p.location.line, p.location.column) == _at(text, 4, "normal"), p
    assert "nothing to initialise in this sequential: its layers have no parameters" in p.message, p


def test_the_sharing_layer_itself_is_still_refused(tmp_path):
    text = SHARED + "  - dense: {units: 4, share: a, init: normal}\n"
    p = _problem(text, tmp_path)
    assert (p.location.line, p.location.column) == _at(text, 4, "normal"), p
    assert "a layer that shares 'a' uses its parameters" in p.message


def test_a_group_with_a_layer_of_its_own_keeps_its_init():
    text = SHARED + "  - sequential:\n      init: zeros\n      layers:\n        - dense: {units: 4, share: a}\n" \
                    "        - dense: {units: 3, name: own}\n"
    graph = netspec.analyze(text)
    inits = {n.name: n.init for n in graph.network().nodes}
    assert inits["sequential_1.own"] == "zeros"
