"""The text DSL (issue 6): grammar, frontend, writers, `netspec convert`, errors, packaging.

* Every reference spec in specs/*.yaml (globbed when the tests are collected) round-trips: YAML -> DSL
  -> YAML gives an equal validated spec, and `check` reports exactly the same for the YAML and DSL
  forms. Comments come along.
* specs/lenet5.ns (the showcase) checks identically to specs/lenet5.yaml.
* A table of bad DSL inputs with the message fragments each must produce (location, caret, words).
* Random printable text and random token soup only ever raise located netspec errors.
"""

from __future__ import annotations

import re
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netspec
from netspec.cli.main import main
from netspec.core.errors import (
    NetspecError,
    ShapeError,
    SpecSyntaxError,
    SpecValidationError,
)
from netspec.core.source import PosDict, PosList, strip_positions
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.dsl.grammar import grammar_text
from netspec.frontends.write.comments import yaml_comments
from netspec.frontends.write.dsl import to_dsl
from netspec.frontends.write.yaml import to_yaml
from netspec.frontends.yaml import parse_yaml
from netspec.spec.load import load, validate

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
YAML_SPECS = sorted(SPECS.glob("*.yaml"))


def dsl(text: str, file: str = "t.ns"):
    return validate(parse_dsl(text, file), file)


# --- the showcase and the basic forms ------------------------------------------------------------
LENET = """\
netspec lenet5
input [1, 32, 32]
c1: conv 6 5x5 tanh
s2: avgpool 2x2 /2
c3: conv 16 5x5 tanh
s4: avgpool 2x2 /2
c5: conv 120 5x5 tanh
flatten
f6: dense 84 tanh
out: dense 10 softmax
expect params=61706
"""


def test_lenet5_in_a_dozen_lines():
    report = netspec.check(dsl(LENET))
    assert report.ok
    assert report.to_dict()["params"]["total"] == 61706  # 156 + 2,416 + 48,120 + 10,164 + 850
    assert len(LENET.splitlines()) <= 12


def test_showcase_lenet5_ns_checks_like_the_yaml():
    ns, yaml_path = SPECS / "lenet5.ns", SPECS / "lenet5.yaml"
    assert ns.exists(), "specs/lenet5.ns is the DSL showcase"
    if not yaml_path.exists():
        pytest.skip("specs/lenet5.yaml is not there yet")
    assert netspec.check(ns).to_dict() == netspec.check(yaml_path).to_dict()
    assert load(ns).model_dump() == load(yaml_path).model_dump()


def test_raw_tree_is_what_yaml_gives():
    text = "netspec demo\ninput [1, 8, 8]\nc1: conv 4 3x3 relu padding=same\nflatten\ndense 10\n"
    yaml_text = ("netspec: 1\nname: demo\ninput: [1, 8, 8]\nlayers:\n"
                 "  - conv: {filters: 4, kernel: 3, activation: relu, padding: same}\n    name: c1\n"
                 "  - flatten\n  - dense: {units: 10}\n")
    raw = parse_dsl(text, "t.ns")
    assert strip_positions(raw) == strip_positions(parse_yaml(yaml_text))
    assert isinstance(raw, PosDict) and isinstance(raw["layers"], PosList)
    conv = raw["layers"][0]
    # positions point into the .ns text: the item at its label, each option at its token
    assert (raw["layers"].where(0).line, raw["layers"].where(0).column) == (3, 1)
    assert conv["conv"].where("filters").column == 10
    assert conv["conv"].where("kernel").column == 12
    assert conv["conv"].where("padding").column == 21
    assert raw["layers"][1] == "flatten"


def test_sugar_resolves_through_the_registry():
    raw = strip_positions(parse_dsl(
        "input [3, 8, 8]\n"
        "conv 8 3x5 /2x1 same gelu\n"          # size != -> list; /axb -> stride list; same -> padding
        "maxpool 2x2\n"                         # PRIMARY of a pool is kernel
        "dropout 0.25\n"                        # a float PRIMARY
        "upsample 2 bilinear\n"                 # a literal word -> mode
        "parallel add { branch { conv 8 1x1 } branch {} }\n"
        "reshape [-1]\n", "t.ns"))
    layers = raw["layers"]
    assert layers[0] == {"conv": {"filters": 8, "kernel": [3, 5], "stride": [2, 1], "padding": "same",
                                  "activation": "gelu"}}
    assert layers[1] == {"maxpool": {"kernel": 2}}
    assert layers[2] == {"dropout": {"rate": 0.25}}
    assert layers[3] == {"upsample": {"scale": 2, "mode": "bilinear"}}
    assert layers[4] == {"parallel": {"merge": "add", "branches": [[{"conv": {"filters": 8, "kernel": 1}}], []]}}
    assert layers[5] == {"reshape": {"shape": [-1]}}


RESNET_NS = """\
netspec tiny_resnet
block basic(width, stride=1) residual relu {
  description "two 3×3 convolutions"
  conv1: conv $width 3x3 /$stride padding=1 bias=false
  bn1: batchnorm2d
  relu
  conv2: conv $width 3x3 padding=1 bias=false
  bn2: batchnorm2d
}
input [3, 32, 32]
stem: conv 16 3x3 padding=1
stage1: repeat 2 basic 16
stage2: repeat 2 basic 32 /${2 if i == 0 else 1}
residual relu shortcut=projection {
  conv 32 3x3 same
}
head: parallel concat {
  branch { gap }
  branch { global_max_pool }
}
fc: dense 10 from head
"""

RESNET_YAML = """\
netspec: 1
name: tiny_resnet
blocks:
  basic:
    params: {width: null, stride: 1}
    residual: true
    activation: relu
    description: two 3×3 convolutions
    layers:
      - conv: {filters: $width, kernel: 3, stride: $stride, padding: 1, bias: false}
        name: conv1
      - batchnorm2d: {}
        name: bn1
      - relu
      - conv: {filters: $width, kernel: 3, padding: 1, bias: false}
        name: conv2
      - batchnorm2d: {}
        name: bn2
input: [3, 32, 32]
layers:
  - conv: {filters: 16, kernel: 3, padding: 1}
    name: stem
  - basic: {width: 16}
    name: stage1
    repeat: 2
  - basic: {width: 32, stride: "${2 if i == 0 else 1}"}
    name: stage2
    repeat: 2
  - residual:
      activation: relu
      shortcut: projection
      layers:
        - conv: {filters: 32, kernel: 3, padding: same}
  - parallel:
      merge: concat
      branches:
        - - gap
        - - global_max_pool
    name: head
  - dense: {units: 10}
    name: fc
    from: head
"""


def test_blocks_repeat_residual_parallel_from_match_yaml():
    a, b = dsl(RESNET_NS), validate(parse_yaml(RESNET_YAML), "t.yaml")
    assert a.model_dump() == b.model_dump()
    assert netspec.check(a).to_dict() == netspec.check(b).to_dict()
    # and the raw trees are the same (blocks stay blocks)
    assert strip_positions(parse_dsl(RESNET_NS, "t.ns")) == strip_positions(parse_yaml(RESNET_YAML))


def test_several_networks_inputs_outputs_expect_train():
    text = """\
netspec codec
network encoder {
  input x [784]
  hidden: dense 64 relu from x
  mu: dense 8 from hidden
  logvar: dense 8 from hidden
  outputs mu, logvar
  expect params=51280
}
network decoder {
  input z from encoder.mu
  dense 784 sigmoid
  expect output_shape=[784]
}
train epochs=2
train optimizer={name=adam, lr=1e-3}
"""
    raw = strip_positions(parse_dsl(text, "t.ns"))
    assert raw["networks"]["encoder"]["inputs"] == {"x": [784]}
    assert raw["networks"]["encoder"]["outputs"] == ["mu", "logvar"]
    assert raw["networks"]["decoder"]["inputs"] == {"z": "encoder.mu"}
    assert raw["train"] == {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.001}}
    report = netspec.check(dsl(text))
    # encoder: 784·64 + 64 = 50,240, two heads of 64·8 + 8 = 520: 51,280 (pinned by its expect line)
    assert report.ok and report.networks["encoder"].to_dict()["params"]["total"] == 51280
    assert report.networks["decoder"].to_dict()["outputs"] == {"dense_1": [784]}
    assert strip_positions(parse_dsl("input ids [T] long\nembedding vocab=10 dim=4\n", "t.ns"))["inputs"] == \
        {"ids": {"shape": ["T"], "dtype": "long"}}
    with pytest.raises(SpecSyntaxError):
        parse_dsl("input x [3] 5\n", "t.ns")


def test_validation_and_shape_errors_point_into_the_ns_file():
    with pytest.raises(SpecValidationError) as e:
        dsl("input [1, 28, 28]\nconv 0 5x5\n", "bad.ns")
    assert "bad.ns:2:6" in str(e.value) and "layers[0].filters" in str(e.value)
    with pytest.raises(SpecValidationError) as e:
        dsl("input [1, 28, 28]\nconv 6 5x5 strid=2\n", "bad.ns")
    assert "bad.ns:2:12" in str(e.value) and "did you mean 'stride'" in str(e.value)
    with pytest.raises(ShapeError) as e:
        netspec.check(dsl("input [1, 4, 4]\nflatten\nc: conv 6 5x5\n", "bad.ns"))
    assert str(e.value).startswith("bad.ns:3:1")


def test_grammar_names_no_layer_kind_and_a_new_kind_needs_no_grammar_change():
    from typing import ClassVar, Literal

    from netspec.layers.base import _REGISTRY, Layer, all_kind_names, register_layer

    grammar = grammar_text()
    reserved = {"netspec", "description", "input", "inputs", "output", "outputs", "expect", "train", "network",
                "block", "repeat", "from"}
    for kind in set(all_kind_names()) - reserved - {"block"}:
        assert f'"{kind}"' not in grammar

    @register_layer("zz_test_kind")
    class ZZ(Layer):
        PRIMARY: ClassVar[str] = "size"
        size: int = 1
        style: Literal["plain", "fancy"] = "plain"
        stride: int = 1

    try:
        raw = strip_positions(parse_dsl("input [4]\nzz_test_kind 7 fancy /3\n", "t.ns"))
        assert raw["layers"][0] == {"zz_test_kind": {"size": 7, "style": "fancy", "stride": 3}}
    finally:
        del _REGISTRY["zz_test_kind"]


# --- every reference spec: YAML -> DSL -> YAML ---------------------------------------------------
@pytest.mark.parametrize("path", YAML_SPECS, ids=[p.name for p in YAML_SPECS])
def test_reference_spec_round_trips(path: Path, tmp_path: Path):
    text = path.read_text(encoding="utf-8")
    raw = parse_yaml(text, str(path))
    original = validate(raw, str(path), path.stem)
    dsl_text = to_dsl(raw, yaml_comments(text))
    shutil.copytree(SPECS / "blocks", tmp_path / "blocks")  # the libraries the specs import, beside the copies
    # the DSL form is the same spec, and checks the same (same stem: the default name agrees)
    ns = tmp_path / f"{path.stem}.ns"
    ns.write_text(dsl_text, encoding="utf-8")
    dsl_raw = parse_dsl(dsl_text, str(ns))
    assert validate(dsl_raw, str(ns), path.stem).model_dump() == original.model_dump()
    assert netspec.check(ns).to_dict() == netspec.check(path).to_dict()
    # ... and back to YAML
    yaml_text = to_yaml(dsl_raw)
    back = tmp_path / path.name
    back.write_text(yaml_text, encoding="utf-8")
    assert load(back).model_dump() == original.model_dump()
    # comments come along: every comment of the YAML is in the DSL text
    for comment, _ in yaml_comments(text).by_line.values():
        assert comment.strip() in dsl_text
    # the writer's output is its own fixed point (DSL -> DSL)
    from netspec.frontends.write.comments import dsl_comments

    assert to_dsl(dsl_raw, dsl_comments(dsl_text)) == dsl_text


def test_convert_cli_both_ways(tmp_path: Path, capsys):
    src = SPECS / "resnet18.yaml"
    if not src.exists():
        pytest.skip("specs/resnet18.yaml is not there")
    ns, yml = tmp_path / "resnet18.ns", tmp_path / "resnet18.yaml"
    assert main(["convert", str(src), "-o", str(ns)]) == 0
    text = ns.read_text()
    assert "block " in text and "repeat " in text  # blocks stay blocks
    assert main(["check", str(ns)]) == 0
    assert main(["convert", str(ns), "-o", str(yml)]) == 0
    assert main(["check", str(yml)]) == 0
    assert load(yml).model_dump() == load(src).model_dump()
    assert main(["convert", str(src), "-o", str(ns)]) == 2  # exists: needs --force
    capsys.readouterr()
    assert main(["convert", str(ns), "--to", "yaml"]) == 0  # to stdout
    assert "layers:" in capsys.readouterr().out


def test_the_docs_examples_are_true():
    """README's DSL section: each YAML/DSL pair is the same spec, and the error example is verbatim."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    doc = readme[readme.index("## The text DSL"):]
    doc = doc[:doc.index("\n## ", 1)]
    blocks = re.findall(r"```(yaml|)\n(.*?)```", doc, re.S)
    pairs = [(blocks[i][1], blocks[i + 1][1]) for i in range(len(blocks) - 1)
             if blocks[i][0] == "yaml" and blocks[i + 1][0] == ""]
    assert len(pairs) == 2
    for yaml_text, dsl_text in pairs:
        a = validate(parse_yaml(yaml_text, "doc.yaml"), "doc.yaml", "doc")
        b = validate(parse_dsl(dsl_text, "doc.ns"), "doc.ns", "doc")
        assert a.model_dump() == b.model_dump()
    shown = re.search(r"```\n(lenet\.ns:4:9:.*?)```", doc, re.S).group(1).rstrip("\n")
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl("netspec lenet5\ninput [1, 32, 32]\n\nconv 6 5*5 tanh\n", "lenet.ns")
    assert str(e.value) == shown


# --- the writers on random input ------------------------------------------------------------------
def _values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                        st.floats(allow_nan=False, allow_infinity=False),
                        st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8), inner,
                        max_size=4)), max_leaves=12)


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), _values(), min_size=1, max_size=5))
def test_any_train_mapping_survives_both_writers(train: dict):
    """Quoting: every value and key reads back unchanged through the DSL and the YAML writer."""
    raw = PosDict({"netspec": 1, "name": "t", "input": PosList([3]), "layers": PosList(["flatten"]), "train": train})
    assert strip_positions(parse_dsl(to_dsl(raw), "t.ns")) == strip_positions(raw)
    if not _float_like_text(train):  # the YAML frontend reads "1e5" as a number even when quoted
        assert strip_positions(parse_yaml(to_yaml(raw), "t.yaml")) == strip_positions(raw)


def _float_like_text(v) -> bool:
    if isinstance(v, str):
        return bool(re.match(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$", v))
    if isinstance(v, dict):
        return any(_float_like_text(k) or _float_like_text(x) for k, x in v.items())
    if isinstance(v, list):
        return any(_float_like_text(x) for x in v)
    return False


try:  # the property test's generator of random valid specs (blocks, residual, parallel, repeat)
    from test_property import mlp_specs
    from test_property import specs as conv_specs
except Exception:  # pragma: no cover - that file belongs to another test module
    conv_specs = mlp_specs = None


@pytest.mark.skipif(conv_specs is None, reason="tests/test_property.py's generators are not importable")
@settings(max_examples=60, deadline=5000, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(conv_specs(), mlp_specs()) if conv_specs is not None else st.nothing())
def test_random_valid_specs_round_trip(spec: dict):
    import yaml

    text = yaml.safe_dump(spec, sort_keys=False)
    raw = parse_yaml(text, "r.yaml")
    original = validate(raw, "r.yaml").model_dump()
    ns = to_dsl(raw)
    assert validate(parse_dsl(ns, "r.ns"), "r.ns").model_dump() == original, ns
    assert validate(parse_yaml(to_yaml(parse_dsl(ns, "r.ns")), "r2.yaml"), "r2.yaml").model_dump() == original


# --- syntax errors in words ----------------------------------------------------------------------
BAD = [
    # (DSL text, error type, fragments that must appear in the message)
    ("input [1, 32, 32]\nconv 6 5*5 tanh\n", SpecSyntaxError,
     ["bad.ns:2:9", "unexpected character '*'", "    conv 6 5*5 tanh\n            ^",
      "write sizes with the letter x: 5x5"]),
    ("input [1, 32, 32]\nresidual {\n  conv 6 3x3 same\n", SpecSyntaxError,
     ["bad.ns:3:18", "unexpected end of file", "the '{' on line 2 is never closed; add '}'"]),
    ("input [1, 32, 32]\nconv 6 5x5\n}\n", SpecSyntaxError, ["bad.ns:3:1", "this '}' has no matching '{'"]),
    ("input [1, 32, 32\nconv 6 5x5\n", SpecSyntaxError, ["bad.ns:2:6", "the '[' on line 1 is never closed"]),
    ("input: [1, 32, 32]\n", SpecSyntaxError, ["bad.ns:1:8", "no ':' after 'input'", "input [1, 32, 32]"]),
    ("input [1, 32, 32]\nconv2d: {filters: 6}\n", SpecSyntaxError,
     ["bad.ns:2:9", "this looks like YAML", "conv2d filters=6"]),
    ("input [1, 32, 32]\nc1 conv 6 5x5\n", SpecSyntaxError,
     ["bad.ns:2:1", "unknown layer kind 'c1'", "missing ':'? write 'c1: conv ...'"]),
    ("input [1, 32, 32]\ncnov 6 5x5\n", SpecValidationError,
     ["bad.ns:2:1", "unknown layer kind 'cnov'", "did you mean 'conv'"]),
    ("input [1, 32, 32]\nconv 6 5x5 tanhh\n", SpecSyntaxError,
     ["bad.ns:2:12", "does not take a bare 'tanhh'", "did you mean 'tanh'"]),
    ("input [1, 32, 32]\nconv 6 stride 2\n", SpecSyntaxError, ["bad.ns:2:8", "missing '='? write stride="]),
    ("input [1, 32, 32]\nconv 6 5x5 tanh avgpool 2x2\n", SpecSyntaxError,
     ["bad.ns:2:17", "put each layer on its own line"]),
    ("expect params 61706\n", SpecSyntaxError, ["bad.ns:1:15", "expected '='", "missing '='? write params=value"]),
    ("input [1, 32, 32]\nconv(6, 5)\n", SpecSyntaxError, ["bad.ns:2:5", "unexpected '('", "parentheses are for block"]),
    # an input's shape without its brackets, or in parentheses: the hint is the DSL's input form (docs/dsl.md)
    ("netspec x\ninput 1, 28, 28\nconv 6 5x5\n", SpecSyntaxError,
     ["bad.ns:2:7", "unexpected '1'", "hint: the DSL writes an input's shape in brackets: 'input [1, 28, 28]'"]),
    ("netspec x\ninput (1, 28, 28)\nconv 6 5x5\n", SpecSyntaxError,
     ["bad.ns:2:7", "unexpected '('", "hint: the DSL writes an input's shape in brackets: 'input [1, 28, 28]'"]),
    ("netspec x\ninput ids (1, 2)\nconv 6 5x5\n", SpecSyntaxError,
     ["bad.ns:2:11", "unexpected '('", "hint: the DSL writes an input's shape in brackets"]),
    ("input [1, 32, 32]\nconv 6 'same'\n", SpecSyntaxError, ["bad.ns:2:8", "double quotes"]),
    ("input [1, 32, 32]\nflatten 5\n", SpecSyntaxError, ["bad.ns:2:9", "'flatten' takes no bare value"]),
    ("input [1, 32, 32]\nconv 6 5x5 /2 /3\n", SpecSyntaxError, ["bad.ns:2:15", "'stride' of conv is given twice"]),
    ("input [1, 8, 8]\nconv 6 5x5 x=\n", SpecSyntaxError, ["bad.ns:2:14", "a value is missing after '='"]),
    ("input [8]\na: dense 4\ndense 4 from=a\n", SpecSyntaxError, ["bad.ns:3:13", "write 'from a'"]),
    ("input [1, 8, 8]\ntrain epochs=3\ntrain epochs=4\n", SpecSyntaxError,
     ["bad.ns:3:7", "'train epochs' is given twice", "the first is on line 2"]),
    ('input [1, 8, 8]\ndescription "abc\n', SpecSyntaxError, ["bad.ns:2:13", "not closed on its line"]),
    ("block b(w) { conv $w 3x3 }\ninput [1, 8, 8]\nb 3 4\n", SpecSyntaxError,
     ["bad.ns:3:5", "block 'b' takes 1 parameter(s) (w)"]),
    ("input [1, 8, 8]\nparallel { conv 3 1x1 }\n", SpecSyntaxError, ["bad.ns:2:12", "branch { ... }"]),
    ("input [1, 8, 8]\nconv 6 3x3 { relu }\n", SpecSyntaxError, ["bad.ns:2:1", "'conv' takes no { body }"]),
    ("input [1, 8, 8]\ninput [1, 8, 8]\n", SpecSyntaxError, ["bad.ns:2:1", "'input' is given twice"]),
    ("input [1, 8, 8]\nconv 6 ∞\n", SpecSyntaxError, ["bad.ns:2:8", "ASCII"]),
    ("# nothing\n", SpecSyntaxError, ["bad.ns:1:1", "the spec is empty"]),
    ("input [1, 8, 8]\nconv 6 5x5 name=a\nc: conv 6 3x3 from a, b from c\n", SpecSyntaxError,
     ["bad.ns:3:25", "'from' is given twice"]),
    ("input [1, 8, 8]\nconv 6 5x5 true\n", SpecSyntaxError, ["bad.ns:2:12", "ambiguous", "option=true"]),
    ("input [1, 28, 28]\nflatten\ndense ten\n", SpecSyntaxError, ["bad.ns:3:7", "'dense' does not take a bare 'ten'"]),
    ('input [1, 8, 8]\ndescription "\\q"\n', SpecSyntaxError, ["bad.ns:2:13", "bad escape"]),
    ("network n {\n  input [3]\n  block b(w) { dense $w }\n}\n", SpecSyntaxError,
     ["bad.ns:3:9", "'block' goes at the top level"]),
    ("input [3]\nsequential {\n  input [3]\n}\n", SpecSyntaxError,
     ["bad.ns:3:9", "'input' cannot start a statement inside a group"]),
]


@pytest.mark.parametrize("text,kind,fragments", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_dsl_says_where_and_what(text: str, kind: type, fragments: list[str]):
    with pytest.raises(NetspecError) as e:
        netspec.check(validate(parse_dsl(text, "bad.ns"), "bad.ns"))
    assert type(e.value) is kind, f"{type(e.value).__name__}: {e.value}"
    message = str(e.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    if kind is SpecSyntaxError:
        assert all(p.location is not None for p in e.value.problems)
        assert not re.search(r"\b(RBRACE|LBRACE|LSQB|RSQB|_NL|NAME|INT|SEMICOLON|EQUAL)\b", message), message


def test_missing_brace_at_the_end_of_a_block():
    text = "block b(w) residual {\n  conv $w 3x3 same\ninput [3, 8, 8]\nb 3\n"
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl(text, "bad.ns")
    assert "bad.ns:3:7" in str(e.value) and "the '{' on line 1 is still open here; is a '}' missing?" in str(e.value)


def test_nesting_is_bounded():
    with pytest.raises(SpecSyntaxError) as e:
        parse_dsl("input [1]\nreshape " + "[" * 500 + "]" * 500 + "\n", "deep.ns")
    assert "nested more than" in str(e.value) and "deep.ns:2:" in str(e.value)


# --- hostile input -------------------------------------------------------------------------------
def _only_located_errors(text: str) -> None:
    try:
        raw = parse_dsl(text, "h.ns")
        netspec.check(validate(raw, "h.ns"))
    except SpecSyntaxError as err:
        assert err.problems, str(err)
        lines = text.replace("\r\n", "\n").count("\n") + 2
        for p in err.problems:
            assert p.location is not None and p.location.file == "h.ns", str(err)
            assert 1 <= p.location.line <= lines and p.location.column >= 1, str(err)
    except NetspecError as err:
        assert str(err)


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable, max_size=300))
def test_random_printable_text_gives_only_located_errors(text: str):
    _only_located_errors(text)


TOKENS = ["input", "[1, 8, 8]", "[3, 16, 16]", "conv", "6", "5x5", "3x3", "/2", "tanh", "relu", "same",
          "dense", "10", "flatten", "maxpool", "c1:", "a:", "from", "a", "c1", ",", "{", "}", "branch",
          "parallel", "residual", "block", "b(w)", "b", "$w", "${w*2}", "repeat", "2", "network", "n",
          "expect", "params=1", "train", "epochs=1", "output", "x=", "[", "]", "=", ":", ";", "\n", "#c\n",
          '"s"', "0.5", "-1", "null", "true", "sequential", "shortcut", "description", "netspec"]


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_random_token_soup_gives_only_located_errors(tokens: list[str]):
    _only_located_errors(" ".join(tokens))


# --- packaging -----------------------------------------------------------------------------------
def test_pyproject_ships_every_package_and_the_grammar():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^\[tool.setuptools.packages.find\]\ninclude = \["netspec\*"\]', text, re.M), \
        "pyproject.toml finds every netspec package"
    assert '"netspec.frontends.dsl" = ["*.lark"]' in text, "the grammar ships as package data of its frontend"
    assert (ROOT / "netspec" / "frontends" / "dsl" / "netspec.lark").exists()


@pytest.mark.slow
def test_installed_package_carries_the_grammar(tmp_path: Path):
    """`pip install` (from a copy of the checkout), then `netspec check x.ns` from another directory."""
    import shutil

    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "netspec", src / "netspec", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", src)
    readme = ROOT / "README.md"
    (src / "README.md").write_text(readme.read_text() if readme.exists() else "netspec\n")
    target = tmp_path / "site"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
                          "--quiet", "--target", str(target), str(src)], capture_output=True, text=True)
    if pip.returncode and "setuptools" in pip.stderr and "No module" in pip.stderr:
        pytest.skip("setuptools is not installed")
    assert pip.returncode == 0, pip.stderr
    assert (target / "netspec" / "frontends" / "dsl" / "netspec.lark").exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.ns").write_text(LENET)
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-c", "import sys; from netspec.cli.main import main; "
                          "import netspec.frontends.dsl as d; assert 'site' in d.__file__; "
                          "sys.exit(main(['check', 'x.ns']))"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "61,706" in run.stdout
