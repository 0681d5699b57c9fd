"""Problems located in a .ns file speak the DSL: values (`{a=1}`, not YAML's `{a: 1}`), options
(`axis=-1`, `shortcut=identity`), kinds with their value (`permute [1, 0]`) and group lists
(`shortcut { ... }`), in messages, hints and warnings alike; a YAML file keeps the YAML words."""

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
])
def test_dsl_values_rewrites_values_and_options_only(text, dsl):
    assert dsl_values(text) == dsl
