"""Sequence plumbing: embedding, permute, repeat_vector, sequence_pool, time_distributed, conv1d over T."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_truth import assert_matches_torch

import netspec
from netspec.backends.torch.compile import compile_network
from netspec.core.errors import ShapeError, SpecValidationError
from netspec.ir.build import build_graph

SPECS = Path(__file__).resolve().parents[2] / "specs"
LOCATED = re.compile(r"<string>:\d+:\d+")


def net_of(text: str, bind: dict[str, int] | None = None):
    return netspec.analyze(text, bind=bind).network()


def test_embedding_counts_padding_and_dtype() -> None:
    net = net_of("name: e\ninput: {shape: [T], dtype: long}\nlayers:\n  - embedding: {vocab: 50, dim: 8, "
                 "padding_idx: 0}\n")
    assert net.nodes[0].out.shape == ("T", 8)
    assert net.params == 50 * 8
    model = compile_network(net)
    ids = torch.tensor([[0, 3, 7], [5, 0, 1]])
    out = model(ids)
    assert out.shape == (2, 3, 8)
    assert torch.equal(out[0, 0], torch.zeros(8)) and torch.equal(out[1, 1], torch.zeros(8))
    assert torch.equal(out[0, 1], model.get_submodule(net.nodes[0].name).weight[3])


def test_embedding_rejects_float_and_dense_rejects_ids() -> None:
    with pytest.raises(ShapeError, match="needs long input") as info:
        netspec.analyze("name: e\ninput: [5]\nlayers:\n  - embedding: {vocab: 10, dim: 2}\n")
    assert LOCATED.search(str(info.value))
    with pytest.raises(ShapeError, match="embedding"):
        netspec.analyze("name: e\ninput: {shape: [5], dtype: long}\nlayers:\n  - dense: 3\n")
    with pytest.raises(SpecValidationError, match="padding_idx"):
        netspec.analyze("name: e\ninput: {shape: [5], dtype: long}\nlayers:\n  - embedding: {vocab: 4, dim: 2, "
                        "padding_idx: 4}\n")


def test_conv1d_over_symbolic_length_and_the_notes_example() -> None:
    text = ("name: c\ninput: [T, 1]\nlayers:\n  - permute: [1, 0]\n  - conv1d: {filters: 4, kernel: 5, stride: 2}\n"
            "  - permute: [1, 0]\n  - lstm: 6\n")
    free = net_of(text)
    assert free.nodes[1].out.shape == (4, "floor((T - 5)/2) + 1")
    assert free.nodes[2].out.shape == ("floor((T - 5)/2) + 1", 4)
    bound = net_of(text, bind={"T": 10})
    assert bound.nodes[1].out.shape == (4, (10 - 5) // 2 + 1) == (4, 3)  # the notes: 10 steps → 3
    # Compiled, the conv1d → permute → LSTM chain runs, and its output matches the pieces by hand.
    model = compile_network(bound).eval()
    x = torch.randn(2, 10, 1)
    conv, lstm = model.get_submodule(bound.nodes[1].name), model.get_submodule(bound.nodes[3].name)
    y = conv(x.transpose(1, 2)).transpose(1, 2)
    assert y.shape == (2, 3, 4)
    _, (h, _) = nn.LSTM.forward(lstm, y)
    assert torch.allclose(model(x), h[-1], atol=1e-6)


def test_permute_rejects_a_non_permutation() -> None:
    with pytest.raises(ShapeError, match="permutation") as info:
        netspec.analyze("name: p\ninput: [3, 4]\nlayers:\n  - permute: [0, 2]\n")
    assert LOCATED.search(str(info.value))


def test_repeat_vector() -> None:
    net = net_of("name: r\ninput: [3]\nlayers:\n  - repeat_vector: 4\n")
    assert net.nodes[0].out.shape == (4, 3)
    x = torch.randn(2, 3)
    out = compile_network(net)(x)
    assert torch.equal(out, torch.stack([x] * 4, dim=1))


def test_repeat_vector_on_a_sequence_is_located() -> None:
    text = "name: r\ninput: [5, 3]\nlayers:\n  - dense: 4\n  - repeat_vector: 4\n"
    with pytest.raises(ShapeError) as info:
        netspec.analyze(text)
    msg = str(info.value)
    assert "repeat_vector repeats one feature vector (F,), got shape (5, 4)" in msg
    assert "<string>:5:" in msg  # the repeat_vector line


@pytest.mark.parametrize("mode,fn", [("last", lambda x: x[:, -1]), ("first", lambda x: x[:, 0]),
                                     ("mean", lambda x: x.mean(1)), ("max", lambda x: x.max(1).values)])
def test_sequence_pool(mode: str, fn) -> None:
    net = net_of(f"name: s\ninput: [T, 3]\nlayers:\n  - sequence_pool: {mode}\n")
    assert net.nodes[0].out.shape == (3,)
    x = torch.randn(2, 6, 3)
    assert torch.equal(compile_network(net)(x), fn(x))


def test_time_distributed_dense_shares_weights_across_steps() -> None:
    text = ("name: t\ninput: [T, 5]\nlayers:\n  - time_distributed:\n      layers:\n"
            "        - dense: {units: 3, activation: relu}\n")
    net = net_of(text, bind={"T": 4})
    node = net.nodes[0]
    assert node.out.shape == (4, 3)
    assert node.params == {"layers.0.weight": (3, 5), "layers.0.bias": (3,)}
    assert node.macs == 4 * 5 * 3
    model = compile_network(net)
    td = model.get_submodule(node.name)
    x = torch.randn(2, 4, 5)
    want = torch.stack([torch.relu(td.layers[0](x[:, t])) for t in range(4)], dim=1)
    assert torch.allclose(model(x), want, atol=1e-6)


def test_time_distributed_conv_over_frames() -> None:
    text = ("name: v\ninput: [T, 1, 8, 8]\nlayers:\n  - time_distributed:\n      layers:\n"
            "        - conv2d: {filters: 2, kernel: 3}\n        - max_pool2d: 2\n        - flatten\n  - lstm: 4\n")
    net = net_of(text)
    assert net.nodes[0].out.shape == ("T", 2 * 3 * 3)
    assert net.nodes[0].params == {"layers.0.weight": (2, 1, 3, 3), "layers.0.bias": (2,)}
    assert compile_network(net)(torch.randn(2, 5, 1, 8, 8)).shape == (2, 4)


def test_time_distributed_rejects_merges_and_wrong_shapes() -> None:
    with pytest.raises(ShapeError, match="single-input layers") as info:
        netspec.analyze("name: t\ninput: [4, 3]\nlayers:\n  - time_distributed:\n      layers:\n        - add\n")
    assert LOCATED.search(str(info.value))
    with pytest.raises(ShapeError, match="at each step of"):
        netspec.analyze("name: t\ninput: [4, 3]\nlayers:\n  - time_distributed:\n      layers:\n"
                        "        - conv2d: 2\n")


@pytest.mark.parametrize("spec", ["word2vec_cbow", "word2vec_skipgram"])
def test_word2vec_is_two_vocabulary_by_dimension_matrices(spec: str) -> None:
    net = netspec.analyze(SPECS / f"{spec}.yaml").network()
    v, d = 10_000, 300
    assert net.params == 2 * v * d
    ids = torch.randint(0, v, (2, *net.inputs["input"].shape))
    assert compile_network(net)(ids).shape == (2, v)


# --- property test: random sequence graphs --------------------------------------------------------


@st.composite
def sequence_layer(draw, shape):
    """One layer valid for ``shape`` and the shape it produces, tracked by hand (not by netspec)."""
    if len(shape) == 1:  # a vector (F,)
        if draw(st.booleans()):
            n = draw(st.integers(1, 4))
            return [{"repeat_vector": n}], (n, shape[0])
        u = draw(st.integers(1, 6))
        return [{"dense": u}], (u,)
    t, f = shape
    choice = draw(st.sampled_from(["recurrent", "recurrent", "td", "pool", "conv"]))
    if choice == "recurrent":
        kind = draw(st.sampled_from(["rnn", "gru", "lstm"]))
        units, layers, bi = draw(st.integers(1, 5)), draw(st.integers(1, 2)), draw(st.booleans())
        merge = draw(st.sampled_from(["concat", "sum", "mean", "mul"])) if bi else "concat"
        seqs = draw(st.booleans())
        out = units * (2 if bi and merge == "concat" else 1)
        args = {"units": units, "layers": layers, "bidirectional": bi, "merge": merge, "return_sequences": seqs}
        return [{kind: args}], ((t, out) if seqs else (out,))
    if choice == "td":
        u = draw(st.integers(1, 5))
        return [{"time_distributed": {"layers": [{"dense": {"units": u, "activation": "tanh"}}]}}], (t, u)
    if choice == "pool":
        return [{"sequence_pool": draw(st.sampled_from(["last", "first", "mean", "max"]))}], (f,)
    k = draw(st.integers(1, t))
    s = draw(st.integers(1, 2))
    c = draw(st.integers(1, 4))
    return ([{"permute": [1, 0]}, {"conv1d": {"filters": c, "kernel": k, "stride": s}}, {"permute": [1, 0]}],
            ((t - k) // s + 1, c))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_sequence_graphs_match_torch(data) -> None:
    t, f = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 4))
    shape: tuple = (t, f)
    layers: list = []
    for _ in range(data.draw(st.integers(1, 4))):
        items, shape = data.draw(sequence_layer(shape))
        layers += items
    net = build_graph(netspec.load({"name": "prop", "input": [t, f], "layers": layers})).network()
    assert net.output_types()[next(iter(net.outputs))].shape == shape
    assert_matches_torch(net)


@pytest.mark.parametrize("kind", ["conv1d: {filters: 8, kernel: 3}", "batchnorm1d", "group_norm: 2"])
def test_a_sequence_given_to_a_channels_first_kind_gets_the_permute_hint(kind: str):
    # (T, 32): the symbolic T sits where these kinds read their channels
    with pytest.raises(ShapeError) as info:
        netspec.check(f"name: s\ninput: [T, 32]\nlayers:\n  - {kind}\n")
    assert "'T'" in str(info.value) and "permute: [1, 0]" in str(info.value)
