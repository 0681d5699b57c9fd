"""The check report (netspec/backends/report): memory figures and pins, against torch at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

import netspec

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("spec", ["lenet5.yaml", "resnet18.yaml", "gru_classifier.yaml"])
def test_parameter_and_buffer_bytes_equal_the_state_dict(spec):
    report = netspec.check(ROOT / "specs" / spec)
    net = next(iter(report.networks.values()))
    model = netspec.compile(ROOT / "specs" / spec)
    assert net.param_bytes == sum(p.numel() * p.element_size() for p in model.parameters())
    # batch norm's num_batches_tracked is int64: 8 bytes, not 4
    assert net.buffer_bytes == sum(b.numel() * b.element_size() for b in model.buffers())
    state = model.state_dict()
    assert net.param_bytes + net.buffer_bytes == sum(t.numel() * t.element_size() for t in state.values())


def test_symbolic_pins_bind_with_the_sizes():
    text = ("name: s\ninput: [T, 10]\nlayers:\n  - lstm: {units: 8, return_sequences: true}\n"
            "expect:\n  macs: '4*8*(10 + 8)*T'\n  output_shape: [T, 8]\n")
    assert netspec.check(text).ok
    assert netspec.check(text, bind={"T": 50}).ok  # 4·8·18·50 = 28,800 and (50, 8)
    wrong = text.replace("(10 + 8)*T", "(10 + 8)*T + 1")
    assert not netspec.check(wrong).ok and not netspec.check(wrong, bind={"T": 50}).ok
