"""Problems located in a .ns file speak the DSL: values (`{a=1}`, not YAML's `{a: 1}`), options
(`axis=-1`, `shortcut=identity`), kinds with their value (`permute [1, 0]`), group lists
(`shortcut { ... }`) and sizes (`3x3x3`, not `[3, 3, 3]`), in messages, hints and warnings alike; a YAML
file keeps the YAML words."""

from __future__ import annotations

import pytest

import netspec
from netspec.cli.main import main
from netspec.core.errors import NetspecError
from netspec.frontends.dsl.errors import dsl_values


def _problems(path):
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path))
    return info.value.problems


def test_a_mapping_value_in_dsl_words(tmp_path):
    path = tmp_path / "k.ns"
    path.write_text("netspec k\ninput [4]\ndense units={a=1}\n", encoding="utf-8")
    (p,) = _problems(path)
    assert p.message.endswith("got {a=1}") and "{a: 1}" not in p.message


def test_the_residual_order_hint_in_dsl_words(tmp_path):
    # permute [1, 0] on an (8, 8) input: same shape, axes swapped; [1, 0] is its own inverse
    path = tmp_path / "k.ns"
    path.write_text("netspec k\ninput [8, 8]\nresidual {\n  permute [1, 0]\n}\n", encoding="utf-8")
    (p,) = _problems(path)
    assert "(permute [1, 0])" in p.hint and "shortcut=identity" in p.hint and "shortcut { ... }" in p.hint
    assert "permute: " not in p.hint and "shortcut: " not in p.hint


@pytest.mark.parametrize("suffix, words", [(".ns", "permute [1, 0] makes"), (".yaml", "permute: [1, 0] makes")])
def test_the_sequence_hint_in_the_files_words(tmp_path, suffix, words):
    path = tmp_path / f"k{suffix}"
    path.write_text("netspec k\ninput [T, 8]\nbatch_norm1d\n" if suffix == ".ns" else
                    "input: [T, 8]\nlayers: [batch_norm1d]\n", encoding="utf-8")
    (p,) = _problems(path)
    assert words in p.hint


def test_a_warning_hint_in_dsl_words(tmp_path, capsys):
    path = tmp_path / "k.ns"
    path.write_text("netspec k\ninput [T, 8]\na: dense 4\nb: dense 4 from input\nconcat from a, b\n",
                    encoding="utf-8")
    assert main(["check", str(path)]) == 0
    seen = capsys.readouterr()
    text = seen.out + seen.err
    assert "write axis=-1 to join the features (axis=0 says" in text and "axis: " not in text


@pytest.mark.parametrize("text, dsl", [
    ("got {a: 1, b: {c: [1, 2]}}", "got {a=1, b={c=[1, 2]}}"),
    ("got 'x: y'", "got 'x: y'"),  # inside a string: left alone
    ("if: needs true or false, got null", "if: needs true or false, got null"),  # prose after the colon
    ("layers[0].kernel: expected 2 values", "layers[0].kernel: expected 2 values"),
    ("axis: names the channel axis", "axis: names the channel axis"),
    ("write axis: 0 for (C, L) or axis: -1 for (T, F)", "write axis=0 for (C, L) or axis=-1 for (T, F)"),
    # a size option's list of whole numbers is a size; other lists (shapes, permutations) stay lists
    ("padding 2 must be at most half the kernel [2, 3]", "padding 2 must be at most half the kernel 2x3"),
    ("write kernel: [1, 3, 3] here", "write kernel=1x3x3 here"),
    ("got {kernel: [3, 3], stride: 2}", "got {kernel=3x3, stride=2}"),
    ("expected input [1, 28, 28]", "expected input [1, 28, 28]"),
    ("permute: [1, 0] makes", "permute [1, 0] makes"),
    ("kernel [3, -1] and kernel [3]", "kernel [3, -1] and kernel [3]"),  # no size is written so
    ("layers[0].kernel [3, 3]", "layers[0].kernel [3, 3]"),  # a path, not an option in prose
])
def test_dsl_values_rewrites_values_and_options_only(text, dsl):
    assert dsl_values(text) == dsl


@pytest.mark.parametrize("suffix, text, got", [
    (".ns", "netspec k\ninput [3, 16, 16]\nconv2d 8 kernel=[3, 3, 3]\n", "got 3x3x3"),
    (".yaml", "input: [3, 16, 16]\nlayers:\n  - conv2d: {filters: 8, kernel: [3, 3, 3]}\n", "got [3, 3, 3]"),
    (".ns", "netspec k\ninput [3, 16, 16]\nconv2d 8 3x3 padding=[1, 2, 3]\n", "got 1x2x3"),
    (".ns", "netspec k\ninput [3, 16]\nmax_pool1d 2 stride=[2, 2]\n", "got 2x2"),
])
def test_a_list_valued_size_in_the_files_words(tmp_path, suffix, text, got):
    """The value a size option got: in a .ns file the DSL's size (`3x3x3` reads back as that list), in a
    YAML file the list as written."""
    path = tmp_path / f"k{suffix}"
    path.write_text(text, encoding="utf-8")
    (p,) = _problems(path)
    assert "(one per axis)" in p.message and p.message.endswith(got), p.message


def test_a_size_inside_a_message_in_dsl_words(tmp_path):
    # PyTorch's pool rule, padding ≤ kernel/2 per axis: 2 > 2/2 on the first axis of a 2x3 kernel
    path = tmp_path / "k.ns"
    path.write_text("netspec k\ninput [3, 16, 16]\nmax_pool2d 2x3 padding=2\n", encoding="utf-8")
    (p,) = _problems(path)
    assert "half the kernel 2x3" in p.message and "[2, 3]" not in p.message


def test_a_size_that_is_not_whole_numbers_stays_a_list(tmp_path):
    path = tmp_path / "k.ns"
    path.write_text("netspec k\ninput [3, 16, 16]\nconv2d 8 kernel=[3, 3, 3.5]\n", encoding="utf-8")
    (p,) = _problems(path)
    assert "x3" not in p.message
