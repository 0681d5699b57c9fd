"""The IR's node (netspec/ir/graph.py): counts kept once computed, fields still read-only."""

from __future__ import annotations

import dataclasses

import pytest

import netspec

LENET_HEAD = "name: t\ninput: [1, 28, 28]\nlayers:\n  - conv2d: {filters: 6, kernel: 5}\n  - batchnorm2d\n"


def test_counts_are_kept_and_the_node_stays_frozen():
    conv, norm = netspec.analyze(LENET_HEAD).network().nodes
    # conv 5×5, 1 → 6 channels: 6·1·5·5 weights + 6 biases = 156; batch norm: weight and bias of 6,
    # buffers running mean and variance of 6 and the step counter = 6 + 6 + 1 = 13
    assert (conv.n_params, conv.n_trainable, norm.n_params, norm.n_buffers) == (156, 156, 12, 13)
    assert conv.__dict__["n_params"] == 156  # kept on the node, not summed again at each read
    with pytest.raises(dataclasses.FrozenInstanceError):
        conv.params = {}  # type: ignore[misc]
    # a node made from it counts its own fields afresh: sharing another's module owns no parameters
    assert dataclasses.replace(conv, shared="other").n_params == 0
    assert dataclasses.replace(conv, params={"weight": (6, 1, 5, 5)}).n_params == 150
    assert dataclasses.replace(conv, trainable=False).n_trainable == 0
