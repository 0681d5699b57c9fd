"""The registry's layout: one module per kind, imported (or made) on first use, listed in a fixed order.

`check` pays for the pydantic classes of the kinds a spec uses, whatever the number of kinds registered
(docs/performance.md §1, R6); `netspec kinds` and the schema list the kinds in their sources' order,
whatever order they were imported in.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from netspec.layers import base, index, layer_kinds

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ROOT / "netspec" / "layers"

# Run in a fresh process: `check` a spec, then report the Layer subclasses that exist. With `extra` > 0,
# first register that many more kinds the way a family package of the repository would be (an index
# entry and a module each), so that their number could only change the result by being created.
PROBE = r'''
import json, os, sys, tempfile
from netspec.cli.main import main
from netspec.layers import base, index
import netspec.layers

spec, extra = sys.argv[1], int(sys.argv[2])
if extra:
    root = tempfile.mkdtemp()
    os.mkdir(os.path.join(root, "probe_family"))
    with open(os.path.join(root, "probe_family", "__init__.py"), "w") as f:
        f.write(f"MODULES = {tuple(f'probe{i}' for i in range(extra))!r}\n")
    for i in range(extra):
        with open(os.path.join(root, "probe_family", f"probe{i}.py"), "w") as f:
            f.write("from netspec.layers.base import Int, Layer, register_layer\n\n\n"
                    f"@register_layer('probe_kind{i}')\nclass Probe{i}(Layer):\n    units: Int = 1\n")
        index.KINDS[f"probe_kind{i}"] = (f"probe_kind{i}", f"probe_family.probe{i}")
    netspec.layers.__path__.append(root)
    index.FAMILIES = (*index.FAMILIES, "probe_family")

code = main(["check", spec])

def subclasses(cls):
    out = {cls}
    for sub in cls.__subclasses__():
        out |= subclasses(sub)
    return out

created = sorted(f"{c.__module__}.{c.__qualname__}" for c in subclasses(base.Layer))
# Classes other stages import by name at module level (the block language's structure kinds): they
# are created by importing the check path itself, whatever the spec.
imported = sorted({f"{v.__module__}.{v.__qualname__}" for name, m in list(sys.modules.items())
                   if name.startswith("netspec.") and not name.startswith("netspec.layers.")
                   for v in vars(m).values()
                   if isinstance(v, type) and issubclass(v, base.Layer) and v is not base.Layer})
probe_reachable = extra == 0 or base.layer_class(f"probe_kind{extra - 1}").KIND == f"probe_kind{extra - 1}"
print(json.dumps({"code": code, "created": created, "imported": imported, "probe_reachable": probe_reachable}))
'''

SMALL = """\
name: small
input: [3, 16, 16]
layers:
  - conv2d: {filters: 4, kernel: 3, activation: tanh}
  - relu
  - max_pool2d: 2
  - flatten
  - dropout: 0.1
  - dense: 10
  - softmax
"""


def _named_kinds(layers: list) -> set[str]:
    """The kind of every layer item of a spec's `layers:` (and of the lists of layers inside them),
    read from the YAML text: an item is a bare kind name or a mapping whose one non-common key is it."""
    common = {"name", "from", "trainable", "init", "share", "tie"}
    kinds: set[str] = set()
    for item in layers:
        if isinstance(item, str):
            kinds.add(item)
            continue
        (kind,) = set(item) - common
        kinds.add(kind)
        args = item[kind] if isinstance(item[kind], dict) else {}
        for value in args.values():
            if isinstance(value, list) and value and isinstance(value[0], (dict, str)):
                kinds |= _named_kinds(value)
    return kinds


def _probe(spec: Path, extra: int) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(spec), str(extra)], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    return json.loads(out.splitlines()[-1])


def _with_bases(classes: list[type]) -> set[str]:
    return {f"{c.__module__}.{c.__qualname__}" for cls in classes for c in cls.__mro__
            if isinstance(c, type) and issubclass(c, base.Layer)}


@pytest.mark.parametrize("spec", ["small", "gru_classifier.yaml"])
def test_check_creates_only_the_classes_of_the_kinds_a_spec_names(spec: str, tmp_path: Path):
    path = ROOT / "specs" / spec
    if spec == "small":
        path = tmp_path / "small.yaml"
        path.write_text(SMALL, encoding="utf-8")
    named = _named_kinds(yaml.safe_load(path.read_text(encoding="utf-8"))["layers"])
    plain = _probe(path, 0)
    assert plain["code"] == 0
    imported = [_class(n) for n in plain["imported"]]
    expected = _with_bases([base.layer_class(k) for k in named] + imported)
    assert set(plain["created"]) == expected
    # What the check path imports by name is the structure kinds that blocks expand to, none other.
    assert imported and all(cls.COMPOSITE for cls in imported), plain["imported"]

    # 40 more kinds registered: the same classes, and the new kinds are live (looked up, they load).
    more = _probe(path, 40)
    assert more["probe_reachable"]
    assert more["created"] == plain["created"]


def _class(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _family_modules(family: str) -> list[str]:
    return importlib.import_module(f"netspec.layers.{family}").MODULES


def test_one_module_per_kind():
    """Each module of a family's ``MODULES`` registers one kind, named as the module (or, for a module with
    an ``ON_DEMAND`` hook, exactly the kinds it lists); the family's other modules register none."""
    owners: dict[str, list[str]] = {}
    for kind, cls in layer_kinds().items():
        owners.setdefault(cls.__module__, []).append(kind)
    for family in index.FAMILIES:
        listed = _family_modules(family)
        files = sorted(p.stem for p in (LAYERS / family).glob("*.py") if p.stem != "__init__")
        for stem in files:
            module = importlib.import_module(f"netspec.layers.{family}.{stem}")
            kinds = owners.get(module.__name__, [])
            if stem not in listed:
                assert not kinds, f"{module.__name__} registers {kinds} but is not in {family}.MODULES"
            elif hasattr(module, "ON_DEMAND"):
                assert kinds == list(module.ON_DEMAND) and callable(module.make_kind)
            else:
                assert kinds == [stem], f"{module.__name__} registers {kinds}, not the kind it is named for"
        assert set(listed) <= set(files), f"{family}.MODULES lists modules that do not exist"


def test_kind_order_does_not_depend_on_import_order():
    """Kinds looked up in another order first (on-demand activations out of the table's order, a family
    last) list in the same order, which is the index's."""
    code = ("import json, sys; from netspec.layers import layer_class, layer_kinds\n"
            "for k in sys.argv[1:]: layer_class(k)\n"
            "print(json.dumps(list(layer_kinds())))")
    firsts = ([], ["mish", "swiglu", "relu", "class_token", "conv3d", "lstm", "tanh"],
              ["tanh", "lstm", "conv3d", "gelu", "relu", "sigmoid", "add"])
    orders = [json.loads(subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True,
                                        cwd=ROOT, check=True).stdout) for names in firsts]
    assert orders[0] == orders[1] == orders[2]
    assert orders[0] == list(dict.fromkeys(canon for canon, _ in index.KINDS.values()))


def test_family_packages_import_no_kind():
    """A family package's ``__init__`` only names its modules: importing it creates no class."""
    for family in index.FAMILIES:
        tree = ast.parse((LAYERS / family / "__init__.py").read_text(encoding="utf-8"))
        assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], family
    assert base.canonical_kind("conv") == "conv2d"


def test_a_layer_keeps_where_it_was_written_through_copies():
    """A layer's place (file:line:col, its path, each `from:` name's place) lives beside its fields: it
    survives copies and pickling (the trainer deep-copies graphs), and a layer made in Python has none."""
    import copy
    import pickle

    from netspec import load

    text = "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3, name: a}\n" \
           "  - conv2d: {filters: 4, kernel: 3, name: b}\n  - add: {from: [a, b]}\n"
    merge = load(text).networks["n"].layers[2]
    # written on line 6 (1-based), the item at column 5; its two sources at columns 18 and 21
    assert (merge.where.line, merge.where.column, merge.path) == (6, 5, "layers[2]")
    assert [merge.from_where(i).column for i in range(2)] == [18, 21]
    for copied in (copy.copy(merge), copy.deepcopy(merge), pickle.loads(pickle.dumps(merge)),
                   merge.model_copy()):
        assert (copied.where, copied.path, copied.from_where(1)) == (merge.where, merge.path, merge.from_where(1))
    made = base.layer_class("conv2d")(kind="conv2d", filters=4, kernel=3)
    assert (made.where, made.path, made.from_where(0)) == (None, "", None)
    built = base.layer_class("conv2d").model_construct(kind="conv2d", filters=4, kernel=3)
    assert (built.where, built.path) == (None, "")


def test_kinds_share_the_common_fields_schemas():
    """Every kind's validator reuses one schema for each field of the base class (building them again
    for every kind was most of a kind's first-use cost, docs/performance.md): two kinds hold the very
    same schema object under their `default` wrapper, and a value wrong for a common field is refused
    by both alike."""
    from pydantic import ValidationError

    def field_schema(cls: type, name: str) -> dict:
        schema = cls.__pydantic_core_schema__
        while schema["type"] != "model-fields":
            schema = schema["schema"]
        return schema["fields"][name]["schema"]["schema"]  # inside the field's default

    conv, dense = base.layer_class("conv2d"), base.layer_class("dense")
    conv.model_rebuild(), dense.model_rebuild()
    for name in ("name", "from_", "trainable", "init", "share", "tie"):
        assert field_schema(conv, name) is field_schema(dense, name), name
    for cls, args in ((conv, {"filters": 4, "kernel": 3}), (dense, {"units": 4})):
        for bad in ({"name": "forward"}, {"from": []}, {"init": "xavier_unifrm"}, {"share": "1x"},
                    {"tie": {"weight": 3}}, {"trainable": "yes"}, {"name": "x" * 65}):
            with pytest.raises(ValidationError):
                cls(kind=cls.KIND, **args, **bad)
        assert cls(kind=cls.KIND, **args, **{"from": "a"}).from_ == ["a"]
