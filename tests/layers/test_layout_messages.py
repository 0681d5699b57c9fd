"""Messages that follow the layout the builder knows of an input: a norm over the trailing axes of a
channels-first map warns that it leaves the channels out, and a parallel's concat of sequences whose features
differ says to join them along axis -1. The shapes are worked by hand in the comments; the parameter counts
come from torch at run time."""

from __future__ import annotations

import pytest
import torch

import netspec
from netspec.core.errors import NetspecError


def _warnings(spec: str) -> list[str]:
    return [w for net in netspec.check(spec).networks.values() for w in net.graph.warnings]


MAP = "input: [8, 6, 6]\nlayers:\n  - conv2d: {filters: 8, kernel: 3}\n"  # (8, 4, 4): 6 − 3 + 1 = 4


@pytest.mark.parametrize("norm, hint", [
    ("layernorm", "channels_first: true"),
    ("rms_norm", "axes: 3 normalizes over all of C, H, W"),
])
def test_a_trailing_norm_on_a_channels_first_map_warns(norm: str, hint: str):
    warned = [w for w in _warnings(MAP + f"  - {norm}\n") if norm in w and "channels-first map" in w]
    assert len(warned) == 1 and "over W (4 values) only" in warned[0] and hint in warned[0], warned
    assert "axes: 3" in warned[0]


@pytest.mark.parametrize("layer", ["layernorm: {channels_first: true}", "layernorm: {axes: 3}", "rms_norm: {axes: 3}"])
def test_the_hinted_forms_do_not_warn(layer: str):
    assert not [w for w in _warnings(MAP + f"  - {layer}\n") if "channels-first map" in w]


@pytest.mark.parametrize("layers", [
    "input: [4, 8]\nlayers:\n  - dense: 6\n  - layernorm\n",  # a sequence (T, F) = (4, 6): its features are last
    "input: [8]\nlayers:\n  - dense: 6\n  - rms_norm\n",
])
def test_a_norm_over_features_last_does_not_warn(layers: str):
    assert not [w for w in _warnings(layers) if "channels-first map" in w]


def test_layernorm_axes_3_has_the_params_of_torchs_layernorm_over_c_h_w():
    with_norm = netspec.check(MAP + "  - {layernorm: {axes: 3}, name: ln}\n").graph.network().params
    conv = sum(p.numel() for p in torch.nn.Conv2d(8, 8, 3).parameters())
    assert with_norm == conv + sum(p.numel() for p in torch.nn.LayerNorm([8, 4, 4]).parameters())


PARALLEL = "input: [T, 8]\nlayers:\n  - parallel:\n{axis}      branches:\n        - [{{dense: 4}}]\n        - [{{dense: 6}}]\n"


def test_a_parallel_concat_of_sequences_with_other_widths_hints_axis_minus_1():
    with pytest.raises(NetspecError) as info:
        netspec.check(PARALLEL.format(axis=""))
    (problem,) = info.value.problems
    assert (problem.location.line, problem.location.column) == (3, 5)
    assert "(T, 4)" in problem.message and "(T, 6)" in problem.message and "axis: -1" in problem.hint


def test_a_parallel_concat_along_axis_minus_1_joins_the_features():
    report = netspec.check(PARALLEL.format(axis="      axis: -1\n"))
    assert [t.shape for t in report.graph.network().output_types().values()] == [("T", 10)]  # 4 + 6 features


def test_a_plain_concat_of_sequences_with_other_widths_hints_axis_minus_1():
    text = ("input: [T, 8]\nlayers:\n  - {dense: 4, name: a}\n  - {dense: 6, name: b, from: input}\n"
            "  - concat: {from: [a, b]}\n")
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    assert "write axis: -1" in str(info.value) and "U-Net" not in str(info.value)


SEQUENCE = "inputs:\n  tokens: {shape: [T], dtype: long}\nlayers:\n  - embedding: {vocab: 100, dim: 8}\n  - {%s, name: pos}\n"


@pytest.mark.parametrize("layer, said", [
    ("position_embedding: {max_len: 64}", "+ positions, length ≤ 64"),
    ("position_embedding: {max_len: 16, sinusoidal: true}", "+ sinusoidal positions, length ≤ 16"),
])
def test_check_shows_the_bound_max_len_puts_on_a_symbolic_length(layer: str, said: str):
    """Before any --bind: the table says the sequence may be at most max_len long."""
    from netspec.backends.report.summary import render

    report = netspec.check(SEQUENCE % layer)
    (row,) = [line for line in render(report).splitlines() if line.startswith("pos ")]
    assert said in row and "(T, 8)" in row


def test_a_longer_bound_sequence_hints_the_max_len_it_needs():
    with pytest.raises(NetspecError) as info:
        netspec.check(SEQUENCE % "position_embedding: {max_len: 64}", bind={"T": 100})
    (problem,) = info.value.problems
    assert "longer than the table's max_len 64" in problem.message and "max_len: 100" in problem.hint
