"""The JSON Schema of the language as written (`netspec schema`): every reference spec and every YAML example
of the README and docs validates; wrong specs are rejected at the place `netspec check` names.

An editor that meets a failed ``oneOf`` shows the errors of the alternative that matches the value best (the
kind whose key the item has); :func:`located` does the same, so that the test sees what a user would.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from netspec.cli.main import main
from netspec.core.errors import NetspecError
from netspec.frontends.keys import ITEM_KEYS
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import all_kind_names
from netspec.spec.load import load
from netspec.spec.reference import json_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json_schema()


@functools.lru_cache(maxsize=2)
def validator(draft: str = "2020-12") -> jsonschema.protocols.Validator:
    cls = jsonschema.Draft202012Validator if draft == "2020-12" else jsonschema.Draft7Validator
    return cls(schema())


def yaml_examples() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            out.append((f"{doc.name}#{i}", block))
    return out


def test_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_reference_spec_validates(path: Path):
    errors = list(validator().iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


# Editors' YAML plugins read draft-07: specs using blocks, several networks, parallel branches and train:
@pytest.mark.parametrize("name", ["resnet50.yaml", "googlenet.yaml", "gan.yaml", "lenet5.yaml", "vgg16.yaml"])
def test_draft_07_readers_accept_the_reference_specs(name: str):
    errors = list(validator("7").iter_errors(yaml.safe_load((ROOT / "specs" / name).read_text(encoding="utf-8"))))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


def test_there_are_yaml_examples_in_the_docs():
    assert len(yaml_examples()) >= 8


@pytest.mark.parametrize("name,text", yaml_examples(), ids=[n for n, _ in yaml_examples()])
def test_every_yaml_example_in_readme_and_docs_validates(name: str, text: str):
    data = yaml.safe_load(text)
    if isinstance(data, list):  # a fragment: a list of layers
        data = {"layers": data}
    errors = list(validator().iter_errors(data))
    assert not errors, [f"{list(e.absolute_path)}: {e.message[:200]}" for e in errors]


def test_kinds_and_their_options_are_enumerated_with_hover_text():
    s = schema()
    defs = s["$defs"]
    bare = defs["KindName"]
    assert len(bare["enum"]) == len(bare["enumDescriptions"])
    for kind, cls in ((k, layer_class(k)) for k in bare["enum"]):
        assert not [n for n, f in cls.model_fields.items() if f.is_required() and n != "kind"], kind
    conv = defs[layer_class("conv2d").__name__]
    assert conv["required"] == ["filters"]
    assert conv["properties"]["kernel"]["default"] == 3 and conv["properties"]["kernel"]["description"]
    assert "Shorthand: `- conv2d: <filters>`" in conv["markdownDescription"]
    item = defs["LayerItem"]  # every kind and alias is a key an editor completes, beside the item keys
    assert set(item["properties"]) == set(all_kind_names()) | set(ITEM_KEYS)
    assert item["properties"]["dense"]["$ref"].endswith("DenseValue")
    assert "units" in defs["DenseValue"]["description"]
    assert s["properties"]["input"]["description"] and s["properties"]["train"]


def test_schema_command_writes_a_file(tmp_path: Path, capsys):
    out = tmp_path / "netspec.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema()
    assert str(out) in capsys.readouterr().err


# --- wrong specs: rejected where `netspec check` says ---------------------------------------------------

def _resolve(node: Any) -> Any:
    """A subschema with its local ``$ref`` followed (siblings of the ref override the target's keys)."""
    while isinstance(node, dict) and "$ref" in node:
        target = schema()["$defs"][node["$ref"].rsplit("/", 1)[1]]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"},
                "properties": {**target.get("properties", {}), **node.get("properties", {})}}
    return node


def _is_valid(sub: Any, value: Any) -> bool:
    if sub is False:
        return False
    return jsonschema.Draft202012Validator({**_resolve(sub), "$defs": schema()["$defs"]}).is_valid(value)


def located(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors a user is shown for ``error``: inside a failed ``oneOf``/``anyOf``, those of the alternative
    whose properties match the value best (as editors choose); the union itself when none stands out."""
    if not error.context:
        return [error]
    groups: dict[int, list[jsonschema.ValidationError]] = {}
    for e in error.context:
        groups.setdefault(e.relative_schema_path[0], []).append(e)
    alternatives = error.schema[error.validator]

    def score(index: int) -> tuple[int, int, bool, int]:
        props = _resolve(alternatives[index]).get("properties", {}) if isinstance(alternatives[index], dict) else {}
        value = error.instance
        known = [k for k in value if k in props] if isinstance(value, dict) else []
        valid = [k for k in known if _is_valid(props[k], value[k])]
        rejects_type = any(e.validator == "type" and not e.relative_path for e in groups[index])
        return len(valid), len(known), not rejects_type, -len(groups[index])

    scores = {i: score(i) for i in groups}
    best = max(scores.values())
    chosen = [i for i, s in scores.items() if s == best]
    if len(chosen) > 1:
        return [error]
    return [leaf for e in groups[chosen[0]] for leaf in located(e)]


def check_paths(error: jsonschema.ValidationError, root: Any) -> list[str]:
    """The user-facing path `netspec check` would give a schema error: ``layers[0].filters`` (a layer item's
    kind key is not part of it; the main option written alone is that option; an unknown key is named)."""
    path, node, after_index, last_kind = "", root, False, None
    for step in error.absolute_path:
        if isinstance(step, int):
            path, after_index = f"{path}[{step}]", True
        elif after_index and isinstance(node, dict) and step not in ITEM_KEYS and step != "kind":
            last_kind, after_index = step, False  # the item's kind (or block) key
            node = node[step]
            continue
        else:
            path, after_index, last_kind = (f"{path}.{step}" if path else str(step)), False, None
        node = node[step]
    if last_kind is not None and not isinstance(node, (dict, type(None))) and canonical_kind(last_kind):
        path = f"{path}.{layer_class(last_kind).PRIMARY}"
    if error.validator == "additionalProperties":
        known = _resolve(error.schema).get("properties", {})
        return [f"{path}.{k}" if path else k for k in error.instance if k not in known]
    return [path]


def schema_paths(text: str) -> set[str]:
    data = yaml.safe_load(text)
    return {p for top in validator().iter_errors(data) for e in located(top) for p in check_paths(e, data)}


def check_problem_paths(text: str) -> set[str]:
    with pytest.raises(NetspecError) as info:
        load(text)
    return {p.path for p in info.value.problems}


BASE = "input: [1, 28, 28]\nlayers:\n"
WRONG = [  # (spec, the path check reports)
    (BASE + "  - conv2d: {filtrs: 6, kernel: 5}\n", "layers[0].filtrs"),
    (BASE + "  - avg_pol2d: {kernel: 2}\n", "layers[0]"),
    (BASE + "  - flaten\n", "layers[0]"),
    (BASE + "  - dense\n", "layers[0]"),
    (BASE + "  - conv2d: {kernel: 3}\n", "layers[0]"),
    (BASE + "  - conv2d: {filters: 6, padding: sam}\n", "layers[0].padding"),
    (BASE + "  - conv2d: {filters: six}\n", "layers[0].filters"),
    (BASE + "  - dropout: 1.5\n", "layers[0].rate"),
    (BASE + "  - flatten\n  - dense: {units: 10, activation: relux}\n", "layers[1].activation"),
    (BASE + "  - conv2d: {filters: 6}\n    repeat: -1\n", "layers[0].repeat"),
    (BASE + "  - conv2d: {filters: 6}\n    trainable: maybe\n", "layers[0].trainable"),
    (BASE + "  - {kind: conv2d, filters: 6, stide: 2}\n", "layers[0].stide"),
    (BASE + "  - residual:\n      layers: [{conv2d: {filters: 1, kernl: 3}}]\n", "layers[0].layers[0].kernl"),
    (BASE + "  - flatten\nlayer: []\n", "layer"),
    (BASE + "  - flatten\nexpect: {param: 5}\n", "expect.param"),
    (BASE + "  - flatten\nexpect: {params: -5}\n", "expect.params"),
    (BASE + "  - flatten\ntrain: {epochs: -1}\n", "train.epochs"),
    (BASE + "  - flatten\ntrain: {optimizer: adamm}\n", "train.optimizer"),
    (BASE + "  - flatten\ntrain: {optimizer: {name: adam, lrr: 0.1}}\n", "train.optimizer.lrr"),
    ("input: [1, 28, 28]\nnetworks: {a: {input: [3], layers: [flatten]}}\n", "input"),
    ("networks: {a: {input: [3], layers: [flatten], expct: {}}}\n", "networks.a.expct"),
    ("networks: {a: {input: [3], layers: [{dense: {units: 0}}]}}\n", "networks.a.layers[0].units"),
    ("name: 1abc\ninput: [3]\nlayers: [flatten]\n", "name"),
    ("blocks:\n  b:\n    layers: [{dense: 3}]\n    residul: true\ninput: [3]\nlayers: [b]\n", "blocks.b.residul"),
]


@pytest.mark.parametrize("text,path", WRONG, ids=[p for _, p in WRONG])
def test_wrong_specs_are_rejected_where_check_says(text: str, path: str):
    assert path in check_problem_paths(text)  # the table is right about check
    found = schema_paths(text)
    assert found, "the schema accepts it"
    checked = check_problem_paths(text)
    # check reports root causes only (a misspelled option, not also the option it leaves missing); the
    # schema may add the follow-on at the enclosing item, never a place check does not point into
    assert all(any(c == f or c.startswith(f + ".") or c.startswith(f + "[") for c in checked) for f in found), \
        f"schema: {sorted(found)}; check: {sorted(checked)}"
    assert path in found
