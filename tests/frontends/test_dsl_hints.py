"""Every hint shown for a .ns file is in the DSL's syntax, not YAML's: ``init=normal`` (not ``init: normal``),
``'permute [1, 0]'``, ``from a, b``, ``if=...``; options named bare in prose (``write init: on that layer``)
too. The same problems in a YAML file keep YAML's words."""

from __future__ import annotations

import re

import pytest

from netspec.api import check
from netspec.core.errors import NetspecError, Problem
from netspec.frontends.dsl.errors import dsl_hint, dsl_prose, dsl_values


def _problems(path) -> list[Problem]:
    with pytest.raises(NetspecError) as info:
        check(str(path))
    return info.value.problems


# (the .ns text, a fragment the hint must hold, then one the message must hold ("" for none))
CASES = [
    ("input [4]\ndense 3 init={wieght=zeros}\n",
     "init={weight=kaiming_normal} sets one parameter; init=normal or init={scheme=normal, std=0.02} sets every", ""),
    ("input [4]\ndense 3 init={scheme=normal, foo=2}\n", "init={foo={scheme=normal}}", ""),
    ("input [3, 8, 8]\nattention 2\n", "'reshape [C, -1]' and 'permute [1, 0]'", ""),
    ("input [3, 8, 8]\nclass_token\n", "'reshape [C, -1]' and 'permute [1, 0]'", ""),
    ("input [4]\nlstm 4\n", "'repeat_vector n' feeds it", ""),
    ("input [4]\na: dense 3\ndense 5 share=a\n", "share=... needs a layer of the same kind", ""),
    ("input [4]\nrelu init=normal\ndense 2\n", "write init=... on a layer with parameters", "relu has no parameters"),
    ("input [4]\na: dense 3\nb: dense 3 from input\ndense 3 from a, b\n", "name one node after 'from'",
     "got 2 in from a, b"),
    ("input [4]\na: dense 3 if=false\ndense 3 from a\n", "give this item the same if=...", "(if=false at "),
    ("input [3]\na: dense 3 init=normal\ndense 3 share=a init=zeros\n", "write init=... on that layer", ""),
    ("input [4]\na: dense 3\ndense 3 tie={wieght=a}\n", "did you mean 'weight'?", ""),
    ("input [4]\nsequential init={weight=zeros} {\n  dense 3\n  dense 3\n}\n", "or set init=... on the layer itself",
     "init={param=...} names the parameters of one layer"),
    ("input [4]\ndense 3 init={weight={normal={std=0.02, mean=1}}}\n",
     "name it with the key 'scheme': {scheme=normal, std=0.02, mean=1}", ""),
]

# YAML's way of writing an option, a kind's value or an item, as a hint would spell it
_YAML = re.compile(r"(?<![\w.])(init|share|tie|from|if|repeat|permute|reshape|repeat_vector|trainable|axis): |'- ")


@pytest.mark.parametrize("text,hint,message", CASES, ids=[c[0].splitlines()[-1][:40] for c in CASES])
def test_a_dsl_hint_is_in_dsl_words(tmp_path, text, hint, message):
    path = tmp_path / "k.ns"
    path.write_text("netspec k\n" + text, encoding="utf-8")
    (p,) = _problems(path)
    assert hint in p.hint, p
    assert not _YAML.search(p.hint), p.hint
    assert message in p.message, p.message


def test_the_same_hint_in_a_yaml_file_keeps_yaml_words(tmp_path):
    path = tmp_path / "k.yaml"
    path.write_text("input: [4]\nlayers:\n  - dense: {units: 3, init: {wieght: zeros}}\n", encoding="utf-8")
    (p,) = _problems(path)
    assert "init: {weight: kaiming_normal} sets one parameter; init: normal or init: {scheme: normal" in p.hint, p


@pytest.mark.parametrize("yaml_words, dsl", [
    ("write init: on that layer", "write init=... on that layer"),
    ("set init: on the layer itself", "set init=... on the layer itself"),
    ("hint: share: needs a layer of the same kind", "hint: share=... needs a layer of the same kind"),
    ("axis: names the channel axis", "axis=... names the channel axis"),
    ("name one node in from:, or merge them", "name one node after 'from', or merge them"),
    ("got 2 in from: [a, b]", "got 2 in from a, b"),
    ("left out (if: false at f:2:3)", "left out (if=false at f:2:3)"),
    ("(if: false or repeat: 0)", "(if=false or repeat 0)"),
    ("give this item the same if: (or read another layer)", "give this item the same if=... (or read another layer)"),
    ("init: normal or init: {scheme: normal, std: 0.02}", "init=normal or init={scheme=normal, std=0.02}"),
    ("tie: {parameter: other_layer} names one of them", "tie={parameter=other_layer} names one of them"),
    ("'repeat_vector: n' feeds it", "'repeat_vector n' feeds it"),
    ("with 'reshape: [C, -1]' and 'permute: [1, 0]'", "with 'reshape [C, -1]' and 'permute [1, 0]'"),
    ("give both the same 'trainable:'", "give both the same 'trainable=...'"),
    ("give the network an 'input:', or the first layer a 'from:'",
     "give the network an 'input [...]' line, or the first layer a 'from'"),
    ("an item with 'repeat:' and the layers under it", "an item with 'repeat N' and the layers under it"),
    ("give an input either a 'shape' or 'from: <network>'", "give an input either a 'shape' or 'from <network>'"),
    ("(a layer with from: naming them)", "(a layer with 'from' naming them)"),
    # left alone: prose that only looks like an option, a path, a string
    ("init: this relu has no parameters", "init: this relu has no parameters"),
    ("'x: y' is a string", "'x: y' is a string"),
])
def test_hint_texts_in_dsl_words(yaml_words, dsl):
    assert dsl_values(dsl_prose(dsl_hint(yaml_words))) == dsl
