"""An error about one axis of a windowed kind's size written as a list (``kernel: [3, 9]``, ``3x9`` in the
DSL) points at that element, not at the whole list or the layer: every windowed kind (pools, adaptive
pools, convolutions, transposed convolutions, locally connected), 1-3-D, YAML and DSL.

Each expected place is found in the spec text itself (the column of the offending number on its line),
never copied from netspec's output."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError


def _place(text: str, line: int, needle: str) -> str:
    """``line:col`` of the last ``needle`` on the 1-based ``line`` of ``text``."""
    row = text.splitlines()[line - 1]
    assert needle in row, (needle, row)
    return f"{line}:{row.rindex(needle) + 1}"


# (input, layer as YAML, the offending number as written, the path of the element)
YAML = [
    ("[3, 8, 8]", "max_pool2d: {kernel: [3, 9]}", "9", "kernel[1]"),
    ("[3, 8, 8]", "avg_pool2d: {kernel: [9, 3]}", "9", "kernel[0]"),
    ("[3, 8]", "max_pool1d: {kernel: [9]}", "9", "kernel[0]"),
    ("[3, 8]", "avg_pool1d: {kernel: [9]}", "9", "kernel[0]"),
    ("[3, 8, 8, 8]", "max_pool3d: {kernel: [3, 9, 2]}", "9", "kernel[1]"),
    ("[3, 8, 8, 8]", "avg_pool3d: {kernel: [3, 9, 2]}", "9", "kernel[1]"),  # before padding: its own check
    ("[3, 8, 8]", "max_pool2d: {kernel: [3, 4], padding: [1, 3]}", "3]", "padding[1]"),  # 3 > 4/2
    ("[3, 8, 8, 8]", "max_pool3d: {kernel: [2, 2, 4], padding: [1, 2, 1]}", "2, 1]", "padding[1]"),  # 2 > 2/2
    ("[3, 8, 8]", "adaptive_avg_pool2d: {output_size: [3, 0]}", "0", "output_size[1]"),
    ("[3, 8]", "conv1d: {filters: 4, kernel: [9]}", "9", "kernel[0]"),
    ("[3, 8, 8]", "conv2d: {filters: 4, kernel: [3, 9]}", "9", "kernel[1]"),
    ("[3, 8, 8, 8]", "conv3d: {filters: 4, kernel: [3, 3, 9]}", "9", "kernel[2]"),
    ("[3, 8, 8]", "locally_connected2d: {filters: 4, kernel: [9, 3]}", "9", "kernel[0]"),
    # (4 − 1)·1 − 2·5 + (3 − 1) + 1 = −4 on the width: the padding takes off more than there is
    ("[3, 4, 4]", "conv_transpose2d: {filters: 4, kernel: 3, padding: [0, 5]}", "5", "padding[1]"),
    ("[3, 4, 4]", "conv_transpose2d: {filters: 4, stride: [2, 1], output_padding: [1, 1]}", "1]", "output_padding[1]"),
]


@pytest.mark.parametrize("shape,layer,needle,path", YAML, ids=[c[1] for c in YAML])
def test_yaml_error_points_at_the_element(shape, layer, needle, path):
    text = f"input: {shape}\nlayers:\n  - {layer}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    message = str(info.value)
    assert message.startswith(f"<string>:{_place(text, 3, needle)}: layers[0].{path}"), message


def test_a_size_written_once_points_at_the_number():
    text = "input: [3, 8, 8]\nlayers:\n  - max_pool2d: {kernel: 9}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    assert str(info.value).startswith(f"<string>:{_place(text, 3, '9')}: layers[0].kernel "), str(info.value)


# (input, layer line as DSL, the offending number as written, the path of the element)
DSL = [
    ("[3, 8, 8]", "maxpool 3x9", "9", "kernel[1]"),
    ("[3, 8, 8]", "avgpool 9x3", "9", "kernel[0]"),
    ("[3, 8, 8]", "maxpool kernel=[3, 9]", "9", "kernel[1]"),
    ("[3, 8, 8, 8]", "max_pool3d 3x9x2", "9", "kernel[1]"),
    ("[3, 8, 8, 8]", "avg_pool3d 3x9x2", "9", "kernel[1]"),
    ("[3, 8, 8]", "maxpool 3x4 padding=1x3", "3", "padding[1]"),
    ("[3, 8, 8]", "maxpool 3x4 /1x0", "0", "stride[1]"),  # a stride's numbers have their places too
    ("[3, 8, 8]", "adaptive_avg_pool2d [3, 0]", "0", "output_size[1]"),
    ("[3, 8, 8]", "conv 4 3x9", "9", "kernel[1]"),
    ("[3, 8, 8, 8]", "conv3d 4 3x3x9", "9", "kernel[2]"),
    ("[3, 8, 8]", "locally_connected2d 4 9x3", "9", "kernel[0]"),
    ("[3, 4, 4]", "conv_transpose2d 4 3x3 padding=0x5", "5", "padding[1]"),
]


@pytest.mark.parametrize("shape,layer,needle,path", DSL, ids=[c[1] for c in DSL])
def test_dsl_error_points_at_the_element(shape, layer, needle, path):
    text = f"netspec probe\ninput {shape}\n{layer}\n"
    with pytest.raises(NetspecError) as info:
        netspec.check(text)
    message = str(info.value)
    assert message.startswith(f"<string>:{_place(text, 3, needle)}: layers[0].{path}"), message
