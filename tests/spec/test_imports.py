"""Block libraries (issue 12): `imports:` in YAML, `import "..."` in the DSL.

A library is a spec file holding only `blocks:` (and a description, its own imports); its blocks are
used as if defined locally. Every wrong import is a located problem with a hint (exit 1, never a
traceback). The expected numbers are worked by hand in comments (a dense layer n -> m has n·m + m
parameters).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import netspec
from netspec.core.errors import Location, NetspecError, SpecValidationError
from netspec.frontends import MAX_IMPORT_DEPTH, MAX_IMPORTS
from netspec.spec.load import load, validate_library
from netspec.spec.reference import json_schema

MLP_LIB = """\
description: a library of one block
blocks:
  mlp:
    params: {width: null}
    layers:
      - dense: {units: $width, activation: relu}
        name: hidden
      - dense: $width
        name: out
"""

MLP_NS = """\
description "the same library in the DSL"
block mlp(width) {
  hidden: dense $width relu
  out: dense $width
}
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def params(path: Path) -> int:
    return netspec.check(path).to_dict()["params"]["total"]


def problems(path: Path) -> list:
    with pytest.raises(SpecValidationError) as info:
        load(path)
    return info.value.problems


# 8 -> mlp(16): hidden 8·16 + 16 = 144, out 16·16 + 16 = 272; then dense 2: 16·2 + 2 = 34. Total 450.
MLP_TOTAL = 450


# --- the blocks of a library are usable as if defined locally --------------------------------------
def test_yaml_spec_imports_a_yaml_library(tmp_path: Path):
    write(tmp_path, {"blocks/lib.yaml": MLP_LIB,
                     "net.yaml": "imports: [blocks/lib.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 16}\n"
                                 "    name: m\n  - dense: 2\n"})
    assert params(tmp_path / "net.yaml") == MLP_TOTAL
    report = netspec.check(tmp_path / "net.yaml").to_dict()
    names = [layer["name"] for layer in report["layers"]]
    assert "m.hidden" in names and "m.out" in names  # the block's own names, as a local block gives


def test_imported_block_equals_the_same_block_defined_locally(tmp_path: Path):
    local = "blocks:\n" + MLP_LIB.split("blocks:\n", 1)[1] + "input: [8]\nlayers:\n  - mlp: {width: 16}\n  - dense: 2\n"
    write(tmp_path, {"lib.yaml": MLP_LIB, "local.yaml": local,
                     "imported.yaml": "imports: [lib.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 16}\n  - dense: 2\n"})
    a, b = load(tmp_path / "local.yaml").model_dump(), load(tmp_path / "imported.yaml").model_dump()
    a.pop("name"), b.pop("name")
    assert a["networks"]["local"] == b["networks"]["imported"]


def test_dsl_spec_imports_a_dsl_library(tmp_path: Path):
    write(tmp_path, {"lib.ns": MLP_NS,
                     "net.ns": 'import "lib.ns"\ninput [8]\nmlp width=16\ndense 2\n'})
    assert params(tmp_path / "net.ns") == MLP_TOTAL


def test_mixed_formats_dsl_imports_yaml_and_yaml_imports_dsl(tmp_path: Path):
    write(tmp_path, {"blocks/lib.yaml": MLP_LIB, "blocks/lib.ns": MLP_NS.replace("mlp", "mlp2"),
                     "a.ns": 'import "blocks/lib.yaml"\ninput [8]\nmlp width=16\ndense 2\n',
                     "b.yaml": "imports: [blocks/lib.ns]\ninput: [8]\nlayers:\n  - mlp2: {width: 16}\n  - dense: 2\n"})
    assert params(tmp_path / "a.ns") == MLP_TOTAL
    assert params(tmp_path / "b.yaml") == MLP_TOTAL


def test_nested_imports_are_relative_to_each_file(tmp_path: Path):
    # net.yaml -> lib/outer.yaml -> lib/inner/core.ns: `twice` (in outer) uses `mlp` (in core)
    write(tmp_path, {
        "lib/inner/core.ns": MLP_NS,
        "lib/outer.yaml": "imports: [inner/core.ns]\nblocks:\n  twice:\n    params: {w: null}\n"
                          "    layers:\n      - mlp: {width: $w}\n      - mlp: {width: $w}\n",
        "net.yaml": "imports: [lib/outer.yaml]\ninput: [8]\nlayers:\n  - twice: {w: 4}\n"})
    # mlp(4) from 8: 8·4+4 + 4·4+4 = 56; the second from 4: 4·4+4 + 4·4+4 = 40. Total 96.
    assert params(tmp_path / "net.yaml") == 96


def test_a_file_imported_twice_is_read_once(tmp_path: Path):
    # a diamond: net imports left and right, both import base; base's block is defined once
    write(tmp_path, {"base.yaml": MLP_LIB,
                     "left.yaml": "imports: [base.yaml]\nblocks: {l: {layers: [relu]}}\n",
                     "right.yaml": "imports: [base.yaml]\nblocks: {r: {layers: [tanh]}}\n",
                     "net.yaml": "imports: [left.yaml, right.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 16}\n"
                                 "  - l\n  - r\n  - dense: 2\n"})
    assert params(tmp_path / "net.yaml") == MLP_TOTAL


def test_spec_given_as_text_imports_relative_to_the_current_directory(tmp_path: Path, monkeypatch):
    write(tmp_path, {"blocks/lib.yaml": MLP_LIB})
    monkeypatch.chdir(tmp_path)
    text = "imports: [blocks/lib.yaml]\ninput: [8]\nlayers:\n  - mlp: {width: 16}\n  - dense: 2\n"
    assert netspec.check(text).to_dict()["params"]["total"] == MLP_TOTAL


# --- errors: located, with a hint, never a traceback ----------------------------------------------
def _one(found: list, fragment: str):
    hits = [p for p in found if fragment in p.message]
    assert hits, f"no problem says {fragment!r}: {[str(p) for p in found]}"
    return hits[0]


def test_local_block_with_an_imported_name_names_both_places(tmp_path: Path):
    write(tmp_path, {"lib.yaml": MLP_LIB,
                     "net.yaml": "imports: [lib.yaml]\nblocks:\n  mlp:\n    layers: [relu]\n"
                                 "input: [8]\nlayers: [mlp]\n"})
    p = _one(problems(tmp_path / "net.yaml"), "block 'mlp' is defined here and also in")
    assert p.location == Location(str(tmp_path / "net.yaml"), 3, 3)  # the local definition
    assert f"{tmp_path / 'lib.yaml'}:3:3" in p.message  # the library's definition
    assert "rename" in p.hint


def test_two_libraries_defining_one_name_name_both_places(tmp_path: Path):
    write(tmp_path, {"a.yaml": MLP_LIB, "b.ns": MLP_NS,
                     "net.yaml": "imports: [a.yaml, b.ns]\ninput: [8]\nlayers:\n  - mlp: {width: 4}\n"})
    p = _one(problems(tmp_path / "net.yaml"), "block 'mlp' is defined in")
    assert p.location == Location(str(tmp_path / "net.yaml"), 1, 19)  # the second import
    assert f"{tmp_path / 'b.ns'}:2:7" in p.message and f"{tmp_path / 'a.yaml'}:3:3" in p.message


def test_an_import_cycle_is_refused_with_the_chain(tmp_path: Path):
    write(tmp_path, {"a.yaml": "imports: [b.yaml]\nblocks: {x: {layers: [relu]}}\n",
                     "b.yaml": "imports: [a.yaml]\nblocks: {y: {layers: [relu]}}\n",
                     "net.yaml": "imports: [a.yaml]\ninput: [8]\nlayers: [x, y]\n"})
    p = _one(problems(tmp_path / "net.yaml"), "import cycle")
    net, a, b = (str(tmp_path / n) for n in ("net.yaml", "a.yaml", "b.yaml"))
    assert f"{net} → {a} → {b} → {a}" in p.message
    assert p.location == Location(b, 1, 11) and "a file that imports it" in p.hint


def test_a_spec_importing_itself_is_a_cycle(tmp_path: Path):
    write(tmp_path, {"net.yaml": "imports: [net.yaml]\ninput: [8]\nlayers: [relu]\n"})
    assert "import cycle" in _one(problems(tmp_path / "net.yaml"), "cycle").message


@pytest.mark.parametrize("entry, fragment, hint", [
    ("nothere.yaml", "cannot import 'nothere.yaml': no such file", "relative to the importing file"),
    ("lib.txt", "a library is a .yaml, .yml or .ns file", "suffix"),
    ("3", "an import is the path of a spec file", "imports: ["),
    ("sub", "is a directory", "relative to the importing file"),
])
def test_a_bad_import_entry_is_located_at_it(tmp_path: Path, entry: str, fragment: str, hint: str):
    (tmp_path / "sub").mkdir()
    (tmp_path / "lib.txt").write_text("blocks: {}\n")
    if entry == "sub":
        (tmp_path / "sub.yaml").mkdir()
        entry = "sub.yaml"
    write(tmp_path, {"net.yaml": f"imports: [{entry}]\ninput: [8]\nlayers: [relu]\n"})
    p = _one(problems(tmp_path / "net.yaml"), fragment)
    assert p.location == Location(str(tmp_path / "net.yaml"), 1, 11)
    assert hint in p.hint


def test_imports_must_be_a_list(tmp_path: Path):
    write(tmp_path, {"lib.yaml": MLP_LIB, "net.yaml": "imports: lib.yaml\ninput: [8]\nlayers: [relu]\n"})
    p = _one(problems(tmp_path / "net.yaml"), "'imports' is a list of spec files")
    assert p.location.line == 1 and "imports: [" in p.hint


def test_a_library_that_defines_a_network_is_refused(tmp_path: Path):
    write(tmp_path, {"net2.yaml": "input: [3]\nlayers: [relu]\nblocks: {c: {layers: [relu]}}\n",
                     "net.yaml": "imports: [net2.yaml]\ninput: [8]\nlayers: [c]\n"})
    found = problems(tmp_path / "net.yaml")
    p = _one(found, "is imported as a block library, which holds only blocks, but it has 'input'")
    assert p.location == Location(str(tmp_path / "net2.yaml"), 1, 1)  # in the library, at the key
    assert f"imported at {tmp_path / 'net.yaml'}:1:11" in p.hint


def test_a_syntax_error_in_a_library_is_located_in_it_and_at_the_import(tmp_path: Path):
    write(tmp_path, {"lib.ns": "block mlp(width) {\n  dense $width [\n}\n",
                     "net.yaml": "imports: [lib.ns]\ninput: [8]\nlayers:\n  - mlp: {width: 4}\n"})
    with pytest.raises(NetspecError) as info:
        load(tmp_path / "net.yaml")
    found = info.value.problems
    at_import = _one(found, "cannot import 'lib.ns' (its problems follow)")
    assert at_import.location == Location(str(tmp_path / "net.yaml"), 1, 11)
    assert any(p.location is not None and p.location.file == str(tmp_path / "lib.ns") for p in found)


@pytest.mark.parametrize("library", ["lib.ns", "missing.yaml"])
def test_the_blocks_of_a_library_that_cannot_be_read_are_not_also_unknown_kinds(tmp_path: Path, library: str):
    """Root causes only: the import's problem (and the library's own) are said, not 'unknown layer kind'
    for each block the library would have defined, in the layers or inside a local block; a misspelled
    kind is a problem whatever the import holds."""
    write(tmp_path, {"lib.ns": "block mlp(width) {\n  dense $width [\n}\n",
                     "net.yaml": f"imports: [{library}]\ninput: [8]\nblocks:\n  two: {{layers: [mlp, mlp]}}\n"
                                 "layers:\n  - mlp: {width: 4}\n  - two\n  - dennse: 3\n"})
    with pytest.raises(NetspecError) as info:
        load(tmp_path / "net.yaml")
    found = info.value.problems
    assert any("cannot import" in p.message for p in found)
    unknown = [p for p in found if "unknown layer kind" in p.message]
    assert [(p.message, p.location.line) for p in unknown] == [("unknown layer kind 'dennse'", 8)]
    assert "dense" in unknown[0].hint


def test_a_library_that_is_not_a_mapping(tmp_path: Path):
    write(tmp_path, {"lib.yaml": "- just\n- a list\n", "net.yaml": "imports: [lib.yaml]\ninput: [8]\nlayers: [relu]\n"})
    p = _one(problems(tmp_path / "net.yaml"), "is not a block library")
    assert p.location.file == str(tmp_path / "lib.yaml") and "imported at" in p.hint


def test_imports_nested_too_deep_are_refused(tmp_path: Path):
    depth = MAX_IMPORT_DEPTH + 2
    files = {f"l{i}.yaml": f"imports: [l{i + 1}.yaml]\nblocks: {{b{i}: {{layers: [relu]}}}}\n" for i in range(depth)}
    files[f"l{depth}.yaml"] = "blocks: {end: {layers: [relu]}}\n"
    files["net.yaml"] = "imports: [l0.yaml]\ninput: [8]\nlayers: [b0]\n"
    write(tmp_path, files)
    p = _one(problems(tmp_path / "net.yaml"), f"imports are nested more than {MAX_IMPORT_DEPTH} deep")
    assert "import the libraries from fewer levels" in p.hint


def test_too_many_imports_are_refused(tmp_path: Path):
    n = MAX_IMPORTS + 3
    files = {f"l{i}.yaml": f"blocks: {{b{i}: {{layers: [relu]}}}}\n" for i in range(n)}
    files["net.yaml"] = "imports: [" + ", ".join(f"l{i}.yaml" for i in range(n)) + "]\ninput: [8]\nlayers: [b0]\n"
    write(tmp_path, files)
    found = problems(tmp_path / "net.yaml")
    assert len([p for p in found if f"more than {MAX_IMPORTS} files" in p.message]) == 1  # said once


def test_a_problem_inside_an_imported_block_points_into_the_library_and_says_where_it_was_used(tmp_path: Path):
    lib = "blocks:\n  bad:\n    params: {w: null}\n    layers:\n      - dense: {units: $w, colour: red}\n"
    write(tmp_path, {"lib.yaml": lib,
                     "net.yaml": "imports: [lib.yaml]\ninput: [8]\nlayers:\n  - dense: 4\n  - bad: {w: 3}\n"})
    p = _one(problems(tmp_path / "net.yaml"), "unknown option 'colour'")
    assert p.location == Location(str(tmp_path / "lib.yaml"), 5, 28)
    assert f"(in block 'bad', used at {tmp_path / 'net.yaml'}:5:5)" in p.message


def _place(text: str, at: str) -> tuple[int, int]:
    """Line and column (1-based) of ``at`` in ``text``: where a problem must point."""
    offset = text.index(at)
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


def test_a_problem_inside_an_imported_block_used_twice_is_said_once_naming_both_uses(tmp_path: Path):
    lib = "blocks:\n  blk_c:\n    params: {w: null}\n    layers:\n      - conv2d: {filters: $w, kernl: 3}\n"
    net = "imports: [lib/c.yaml]\ninput: [1, 8, 8]\nlayers:\n  - blk_c: {w: 3}\n  - blk_c: {w: 4}\n"
    write(tmp_path, {"lib/c.yaml": lib, "s2.yaml": net})
    found = problems(tmp_path / "s2.yaml")
    assert len(found) == 1, [str(p) for p in found]  # one mistake, one problem (it was said once per use)
    (p,) = found
    assert (p.location.file, p.location.line, p.location.column) == (
        str(tmp_path / "lib" / "c.yaml"), *_place(lib, "kernl"))
    uses = [f"{tmp_path / 's2.yaml'}:{line}:{column}" for line, column in
            (_place(net, "blk_c: {w: 3}"), _place(net, "blk_c: {w: 4}"))]
    assert p.message == f"unknown option 'kernl' for conv2d (in block 'blk_c', used at {uses[0]} and {uses[1]})"
    assert p.hint == "did you mean 'kernel'?"
    from netspec.backends.report.report import error_dict  # `check --json`: the same one problem

    with pytest.raises(NetspecError) as info:
        netspec.check(tmp_path / "s2.yaml")
    assert [q["message"] for q in error_dict(info.value)["problems"]] == [p.message]


def test_a_value_problem_in_an_imported_block_used_many_times_is_said_once(tmp_path: Path):
    lib = "blocks:\n  b:\n    params: {w: null}\n    layers:\n      - dense: {units: $w, activation: relux}\n"
    net = "imports: [lib.yaml]\ninput: [8]\nlayers:\n" + "".join(f"  - b: {{w: {w}}}\n" for w in range(1, 7))
    write(tmp_path, {"lib.yaml": lib, "net.yaml": net})
    (p,) = problems(tmp_path / "net.yaml")
    assert (p.location.line, p.location.column) == _place(lib, "relux")
    first = [f"{tmp_path / 'net.yaml'}:{line}:{column}" for line, column in
             (_place(net, f"b: {{w: {w}}}") for w in range(1, 5))]  # the first 4 of the 6 uses, each at its `b`
    assert p.message.endswith(f"(in block 'b', used at {', '.join(first)} and 2 more)")


def test_an_unknown_block_hints_at_imported_names(tmp_path: Path):
    write(tmp_path, {"lib.yaml": MLP_LIB,
                     "net.yaml": "imports: [lib.yaml]\ninput: [8]\nlayers:\n  - mlpp: {width: 4}\n"})
    p = _one(problems(tmp_path / "net.yaml"), "unknown layer kind 'mlpp'")
    assert "mlp" in p.hint


# --- a library on its own ---------------------------------------------------------------------------
def test_checking_a_library_alone_says_it_is_a_library(tmp_path: Path):
    write(tmp_path, {"lib.yaml": MLP_LIB})
    found = problems(tmp_path / "lib.yaml")
    assert len(found) == 1
    assert "is a block library (blocks: mlp), not a network" in found[0].message
    assert "import it from a spec" in found[0].hint


def test_validate_library_checks_keys_blocks_and_imports(tmp_path: Path):
    write(tmp_path, {"lib.yaml": MLP_LIB + "expect: {params: 3}\n"})
    from netspec.frontends import parse

    raw, file = parse(tmp_path / "lib.yaml")
    with pytest.raises(SpecValidationError) as info:
        validate_library(raw, file)
    assert "unknown key 'expect' in a block library" in str(info.value)
    write(tmp_path, {"ok.yaml": MLP_LIB})
    raw, file = parse(tmp_path / "ok.yaml")
    assert list(validate_library(raw, file)) == ["mlp"]


def test_reference_specs_use_the_transformer_library():
    root = Path(__file__).resolve().parents[2] / "specs"
    lib = root / "blocks" / "transformer.yaml"
    from netspec.frontends import parse

    raw, file = parse(lib)
    assert set(validate_library(raw, file)) == {"encoder_layer", "bert_layer"}
    for name in ("vit_b_16.yaml", "bert_base.yaml"):
        assert "imports: [blocks/transformer.yaml]" in (root / name).read_text(encoding="utf-8")


# --- the JSON Schema ---------------------------------------------------------------------------------
def test_json_schema_accepts_imports():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    ok = {"imports": ["blocks/transformer.yaml"], "input": [8], "layers": [{"mlp": {"width": 4}}]}
    jsonschema.validate(ok, schema)  # an imported block name is a layer item too
    lib = {"description": "blocks", "blocks": {"mlp": {"layers": [{"dense": 4}]}}}
    jsonschema.validate(lib, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"imports": "lib.yaml", "input": [8], "layers": ["relu"]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"imports": ["lib.txt"], "input": [8], "layers": ["relu"]}, schema)
    assert json.loads(json.dumps(schema)) == schema  # plain JSON
