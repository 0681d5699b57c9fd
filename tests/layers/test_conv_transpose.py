"""The transposed convolutions (1-D, 2-D, 3-D): shapes, parameters and values against torch's
``nn.ConvTranspose{1,2,3}d`` built at run time with the same options and weights, and the checks across
options (PyTorch's output_padding rule) at the option's own place."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import netspec

CASES = [  # (kind, netspec options, torch module, per-sample input shape)
    ("conv_transpose1d", {"filters": 5, "kernel": 4, "stride": 3, "padding": 1, "output_padding": 2, "dilation": 2},
     nn.ConvTranspose1d(4, 5, 4, stride=3, padding=1, output_padding=2, dilation=2), [4, 11]),
    ("conv_transpose1d", {"filters": 6, "kernel": 3, "groups": 2, "bias": False},
     nn.ConvTranspose1d(4, 6, 3, groups=2, bias=False), [4, 7]),
    ("conv_transpose2d", {"filters": 3, "kernel": [3, 2], "stride": [2, 3], "padding": [1, 0],
                          "output_padding": [1, 2], "dilation": [1, 2]},
     nn.ConvTranspose2d(2, 3, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(1, 2)),
     [2, 5, 4]),
    ("conv_transpose3d", {"filters": 4, "kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1],
                          "output_padding": [0, 1, 0]},
     nn.ConvTranspose3d(2, 4, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), output_padding=(0, 1, 0)), [2, 3, 5, 4]),
    ("conv_transpose3d", {"filters": 4, "kernel": 2, "stride": 2, "dilation": 3, "output_padding": 2, "groups": 2},
     nn.ConvTranspose3d(2, 4, 2, stride=2, dilation=3, output_padding=2, groups=2), [2, 2, 3, 2]),
]


@pytest.mark.parametrize("kind, options, module, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_transposed_convolution_is_torchs_on_the_same_weights(kind, options, module, shape):
    torch.manual_seed(0)
    spec = {"name": "up", "input": shape, "layers": [{kind: options, "name": "up"}]}
    x = torch.randn(2, *shape)
    with torch.no_grad():
        want = module.eval()(x)  # torch's output size: its own ConvTranspose formula, output_padding and dilation
    node = netspec.analyze(spec).network().nodes[0]
    assert node.outputs["out"].shape == tuple(want.shape[1:])
    assert node.params == {n: tuple(p.shape) for n, p in module.named_parameters()}
    assert netspec.analyze(spec).network().params == sum(p.numel() for p in module.parameters())
    mine = netspec.compile(spec, weights={f"up.{k}": v for k, v in module.state_dict().items()}).eval()
    with torch.no_grad():
        assert torch.equal(mine(x), want)


def test_a_decoder_undoes_the_length_a_strided_encoder_lost():
    """conv1d (k 3, s 2, p 1) takes 12 steps to floor((12 + 2 − 3)/2) + 1 = 6, as it does 11; conv_transpose1d
    gives (6 − 1)·2 − 2 + 2 + 1 = 11, and with output_padding 1 the 12 back, as torch."""
    spec = {"input": [3, 12], "layers": [{"conv1d": {"filters": 8, "kernel": 3, "stride": 2, "padding": 1}},
                                         {"conv_transpose1d": {"filters": 3, "kernel": 3, "stride": 2, "padding": 1,
                                                               "output_padding": 1}}]}
    torch_out = nn.ConvTranspose1d(8, 3, 3, stride=2, padding=1, output_padding=1)(
        nn.Conv1d(3, 8, 3, stride=2, padding=1)(torch.randn(1, 3, 12)))
    assert netspec.analyze(spec).network().nodes[-1].outputs["out"].shape == tuple(torch_out.shape[1:]) == (3, 12)


@pytest.mark.parametrize("kind, options, where, module", [
    ("conv_transpose1d", "{filters: 6, stride: 2, output_padding: 2}", "layers[0].output_padding",
     lambda: nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=2)(torch.randn(1, 4, 8))),
    ("conv_transpose3d", "{filters: 6, stride: [2, 2, 1], output_padding: [1, 1, 1]}", "layers[0].output_padding",
     lambda: nn.ConvTranspose3d(4, 6, 3, stride=(2, 2, 1), output_padding=1)(torch.randn(1, 4, 8, 8, 8))),
    ("conv_transpose3d", "{filters: 6, groups: 4}", "layers[0].groups",
     lambda: nn.ConvTranspose3d(4, 6, 3, groups=4)),
])
def test_options_torch_refuses_are_refused_at_the_option(kind, options, where, module):
    with pytest.raises((RuntimeError, ValueError)):  # torch refuses the same options, building or running
        module()
    with pytest.raises(netspec.SpecValidationError) as info:
        netspec.check(f"input: [4, 8, 8, 8]\nlayers:\n  - {kind}: {options}\n")
    assert where in str(info.value)


def test_a_sequence_read_as_channels_warns():
    """A (T, F) from a recurrent layer is features-last: conv_transpose1d would read its steps as channels."""
    report = netspec.check({"input": [7, 4], "layers": [{"lstm": {"units": 6, "return_sequences": True}},
                                                        {"conv_transpose1d": 3}]})
    assert any("features on the last axis" in w for w in map(str, report.warnings))


@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (4, 2), (5, 2), (2, 2), (1, 3)])
def test_padding_same_hints_the_padding_that_gives_n_times_s(kernel: int, stride: int):
    """'same' of a transposed convolution (Keras's Conv2DTranspose): an output of n·s. The hinted padding and
    output_padding, given to torch's ConvTranspose2d, give it."""
    from netspec.core.errors import NetspecError

    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [2, 9, 9]\nlayers:\n  - conv_transpose2d: {{filters: 3, kernel: {kernel}, "
                      f"stride: {stride}, padding: same}}\n")
    (problem,) = info.value.problems
    assert problem.path.endswith("padding") and "got 'same'" in problem.message
    said = problem.hint.split(" gives")[0]
    pad = int(said.split("padding: ")[1].split(",")[0])
    out_pad = int(said.split("output_padding: ")[1]) if "output_padding" in said else 0
    module = nn.ConvTranspose2d(2, 3, kernel, stride, padding=pad, output_padding=out_pad)
    assert module(torch.zeros(1, 2, 9, 9)).shape[-1] == 9 * stride
