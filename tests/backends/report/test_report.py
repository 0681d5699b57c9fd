"""The check report (netspec/backends/report): memory figures and pins, against torch at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

import netspec
from netspec.backends.report.summary import render

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


SHARED_NORM = """
name: shared_norm
input: [4, 8, 8]
layers:
  - batchnorm2d: {}
    name: b
  - conv2d: {filters: 4, kernel: 1}
  - batchnorm2d: {}
    share: b
"""


def test_a_shared_layers_buffers_count_once_as_torch_counts_them():
    report = netspec.check(SHARED_NORM)
    net = report.networks["shared_norm"]
    model = netspec.compile(SHARED_NORM)
    # one batch norm over 4 channels: running_mean 4 + running_var 4 + num_batches_tracked 1 = 9 values,
    # 4·4 + 4·4 + 1·8 (int64) = 40 bytes; the second use applies the same module
    assert sum(b.numel() for b in model.buffers()) == 9
    assert sum(b.numel() * b.element_size() for b in model.buffers()) == 40
    data = report.to_dict()
    assert (data["buffers"], data["buffer_bytes"]) == (9, 40)
    assert [row["buffers"] for row in data["layers"]] == [9, 0, 0]
    assert net.param_bytes + net.buffer_bytes == sum(t.numel() * t.element_size() for t in model.state_dict().values())
    text = render(report)
    assert "buffers: 9 (" in text and "buffers 40 B" in text


def test_symbolic_pins_bind_with_the_sizes():
    text = ("name: s\ninput: [T, 10]\nlayers:\n  - lstm: {units: 8, return_sequences: true}\n"
            "expect:\n  macs: '4*8*(10 + 8)*T'\n  output_shape: [T, 8]\n")
    assert netspec.check(text).ok
    assert netspec.check(text, bind={"T": 50}).ok  # 4·8·18·50 = 28,800 and (50, 8)
    wrong = text.replace("(10 + 8)*T", "(10 + 8)*T + 1")
    assert not netspec.check(wrong).ok and not netspec.check(wrong, bind={"T": 50}).ok


def test_table_warnings_are_located_with_the_hint_on_its_own_line_and_copies_once():
    """Two branches made from one block warn at the same place in the same words: shown once, counted."""
    text = ("blocks:\n  b:\n    layers: [conv2d: {filters: 4, kernel: 1}, dense: 8]\ninput: [3, 8, 8]\n"
            "layers:\n  - parallel:\n      branches: [[b: {}], [b: {}]]\n      merge: concat\n")
    report = netspec.check(text)
    lines = [ln for ln in report.table().splitlines() if "warning" in ln or "hint:" in ln]
    assert len(lines) == 2, lines
    assert lines[0].startswith("<string>:3:47: warning: ") and lines[0].endswith("(and 1 more copy)")
    assert lines[1] == "    hint: put a flatten before it to connect every value (or a 1×1 conv2d to mix the " \
                       "channels at each position)"
    assert len(report.warnings) == 2  # the JSON contract keeps one entry per node


def _place(text: str, at: str) -> tuple[int, int]:
    """Line and column (1-based) of the first ``at`` in ``text``: where a problem about it must point."""
    offset = text.index(at)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def test_failed_expectations_are_reported_in_file_order():
    """Four pins that fail, checked in a fixed order of the code (params, MACs, output shape, shapes): said in
    the order they are written, by the report, its JSON and its table alike."""
    text = ('input: [1, 8, 8]\nlayers: [conv2d: 2]\n'
            'expect: {params: 21, shapes: {nosuch: [1]}, macs: "abc", output_shape: [2, 6]}\n')
    report = netspec.check(text)
    # conv2d 1 → 2, kernel 3: 2·1·3·3 + 2 = 20 parameters, output (2, 6, 6): all four fail
    places = [(p.location.line, p.location.column) for p in report.failures]
    assert places == [_place(text, "21"), _place(text, "[1]"), _place(text, '"abc"'), _place(text, "[2, 6]")]
    assert [p.path for p in report.failures] == ["expect.params", "expect.shapes.nosuch", "expect.macs",
                                                 "expect.output_shape"]
    assert report.to_dict()["expectations_failed"] == [str(p) for p in report.failures]
    shown = [ln for ln in report.table().splitlines() if ln.startswith("expectation failed:")]
    assert shown == [f"expectation failed: {str(p).splitlines()[0]}" for p in report.failures]  # hints below


def test_failed_expectations_of_several_networks_are_in_file_order():
    """`dec` is written first but built second (it reads `enc`): its failure still comes first."""
    text = ("networks:\n  dec:\n    inputs: {z: {from: enc}}\n    layers: [dense: 4]\n    expect: {params: 1}\n"
            "  enc:\n    input: [3]\n    layers: [dense: 4]\n    expect: {params: 2}\n")
    report = netspec.check(text)
    assert list(report.networks) == ["enc", "dec"]  # the build order, which is not the file's
    assert [(p.location.line, p.location.column) for p in report.failures] == [
        _place(text, "1}"), _place(text, "2}")]
