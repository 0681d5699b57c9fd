"""The DSL side of issue 12: `import "lib"` statements, `from $param` in a block, and `netspec convert`
keeping imports (never inlining a library), converting libraries, and locating what it cannot write."""

from __future__ import annotations

from pathlib import Path

import pytest

import netspec
from netspec.cli.main import main
from netspec.convert import convert
from netspec.core.errors import Location, NetspecError, SpecSyntaxError
from netspec.core.source import strip_positions
from netspec.frontends import parse
from netspec.frontends.dsl import parse_dsl
from netspec.frontends.yaml import parse_yaml
from netspec.spec.load import load

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"

LIB = """\
description: one block
blocks:
  mlp:
    params: {width: null}
    layers:
      - dense: {units: $width, activation: relu}
      - dense: $width
"""


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


# --- the import statement ----------------------------------------------------------------------------
def test_import_statements_become_the_imports_list():
    raw = parse_dsl('netspec demo\nimport "blocks/a.yaml"\nimport "b.ns"\ninput [8]\nrelu\n', "t.ns")
    assert strip_positions(raw)["imports"] == ["blocks/a.yaml", "b.ns"]
    assert (raw["imports"].where(1).line, raw["imports"].where(1).column) == (3, 8)  # at the string
    yaml = parse_yaml("netspec: 1\nname: demo\nimports: [blocks/a.yaml, b.ns]\ninput: [8]\nlayers: [relu]\n")
    assert strip_positions(raw) == strip_positions(yaml)


@pytest.mark.parametrize("text, where, hint", [
    ("import blocks/a.ns\ninput [8]\nrelu\n", (1, 8), 'the path of a library is a string: import "'),
    ("input [8]\nnetwork n {\n  import \"a.ns\"\n}\n", (3, 10), "'import' goes at the top level"),
    ('import "a.ns"\ninput [8]\nmlp 16\n', (3, 5), "a block imported from another file takes its arguments "
                                                   "as key=value"),
])
def test_a_malformed_import_is_a_located_syntax_error(text: str, where: tuple[int, int], hint: str):
    with pytest.raises(SpecSyntaxError) as info:
        parse_dsl(text, "t.ns")
    p = info.value.problems[0]
    assert (p.location.line, p.location.column) == where
    assert hint in p.hint


def test_import_is_still_usable_as_a_label():
    raw = strip_positions(parse_dsl("input [8]\nimport: dense 4\n", "t.ns"))
    assert raw["layers"] == [{"dense": {"units": 4}, "name": "import"}]


def test_a_dsl_text_that_opens_with_import_is_told_from_yaml(tmp_path: Path, monkeypatch):
    write(tmp_path, {"lib.yaml": LIB})
    monkeypatch.chdir(tmp_path)  # text has no file: its imports are relative to the current directory
    report = netspec.check('import "lib.yaml"\ninput [8]\nmlp width=4\n')
    assert report.to_dict()["params"]["total"] == (8 * 4 + 4) + (4 * 4 + 4)  # 56


# --- from $param ----------------------------------------------------------------------------------------
UP = """\
netspec up
block up(width, skip) {
  u: dense $width
  cat: concat from $skip, u
}
input [8]
e: dense 6
up 4 e
"""


def test_from_takes_a_block_parameter():
    raw = parse_dsl(UP, "t.ns")
    cat = raw["blocks"]["up"]["layers"][1]
    assert strip_positions(cat) == {"concat": {}, "name": "cat", "from": ["$skip", "u"]}
    assert (cat["from"].where(0).line, cat["from"].where(0).column) == (4, 20)
    spec = load(UP)
    # e: 8·6 + 6 = 54; up.u: 6·4 + 4 = 28; concat [e (6), u (4)] -> 10 features
    assert netspec.check(spec).to_dict()["params"]["total"] == 82
    net = netspec.analyze(spec).network()
    assert [t.shape for t in net.output_types().values()] == [(10,)]


def test_from_takes_an_expression_in_braces():
    spec = load(UP.replace("from $skip, u", "from ${skip}, u"))
    net = netspec.analyze(spec).network()
    assert [t.shape for t in net.output_types().values()] == [(10,)]


def test_a_from_parameter_naming_no_layer_is_located():
    with pytest.raises(NetspecError) as info:
        netspec.check(UP.replace("up 4 e", "up 4 nowhere"))
    assert "nowhere" in str(info.value)
    assert all(p.location is not None for p in info.value.problems)


# --- convert -----------------------------------------------------------------------------------------
def test_unet_converts_to_the_committed_ns_and_back_to_the_same_spec(tmp_path: Path):
    yaml_path, ns_path = SPECS / "unet.yaml", SPECS / "unet.ns"
    dsl_text = convert(yaml_path, "dsl")
    assert dsl_text == ns_path.read_text(encoding="utf-8")  # specs/unet.ns is the conversion, kept current
    assert "cat: concat from $skip, upconv" in dsl_text
    back = convert(ns_path, "yaml")
    (tmp_path / "unet.yaml").write_text(back, encoding="utf-8")
    assert load(tmp_path / "unet.yaml").model_dump() == load(yaml_path).model_dump()
    # the block stays a block whose from: names its parameter (nothing written out per level)
    raw = strip_positions(parse(tmp_path / "unet.yaml")[0])
    assert raw["blocks"]["up_level"]["layers"][1]["from"] == ["$skip", "upconv"]
    assert strip_positions(parse(yaml_path)[0])["blocks"] == raw["blocks"]
    # the pins hold for both forms (numbers worked by hand in the spec's comment)
    for path in (yaml_path, ns_path):
        report = netspec.check(path)
        assert report.ok and report.to_dict()["params"]["total"] == 31_030_658


@pytest.mark.parametrize("spec", ["vit_b_16.yaml", "bert_base.yaml"])
def test_convert_keeps_the_import_and_does_not_inline_the_library(spec: str, tmp_path: Path):
    dsl_text = convert(SPECS / spec, "dsl")
    assert 'import "blocks/transformer.yaml"' in dsl_text
    assert "block " not in dsl_text  # the library's blocks stay in the library
    # the converted file in another folder, with a copy of the library where its import says
    write(tmp_path, {"blocks/transformer.yaml": (SPECS / "blocks" / "transformer.yaml").read_text(encoding="utf-8"),
                     "spec.ns": dsl_text})
    ns = tmp_path / "spec.ns"
    assert load(ns).model_dump()["networks"] == load(SPECS / spec).model_dump()["networks"]
    yaml_text = convert(ns, "yaml")
    assert "imports: [" in yaml_text and "blocks/transformer.yaml" in yaml_text and "blocks:" not in yaml_text


def test_a_library_converts_both_ways(tmp_path: Path):
    lib = SPECS / "blocks" / "transformer.yaml"
    dsl_text = convert(lib, "dsl")
    assert "block encoder_layer(dim, heads, mlp, eps=1e-6) {" in dsl_text
    write(tmp_path, {"lib.ns": dsl_text})
    yaml_text = convert(tmp_path / "lib.ns", "yaml")
    write(tmp_path, {"lib.yaml": yaml_text})
    from netspec.spec.load import validate_library

    a, b = parse(lib), parse(tmp_path / "lib.yaml")
    assert validate_library(*a) == validate_library(*b)


def test_a_library_with_imports_converts_keeping_them(tmp_path: Path):
    write(tmp_path, {"base.yaml": LIB,
                     "more.yaml": "imports: [base.yaml]\nblocks:\n  two:\n    layers:\n      - mlp: {width: 3}\n"})
    out = convert(tmp_path / "more.yaml", "dsl")
    assert out.splitlines()[0] == 'import "base.yaml"'
    assert "block two {" in out and "mlp width=3" in out


def test_what_the_dsl_cannot_write_is_a_located_error(tmp_path: Path):
    # `from: ["x y"]` validates (the reference is checked when the graph is built) but is no DSL name: the graph
    # refuses it too, and convert says what check says, at the reference
    write(tmp_path, {"cw.yaml": "input: [8]\nlayers:\n  - dense: 4\n    name: x\n  - relu: {}\n    from: [\"x y\"]\n"})
    with pytest.raises(NetspecError) as info:
        convert(tmp_path / "cw.yaml", "dsl")
    p = info.value.problems[0]
    assert p.location == Location(str(tmp_path / "cw.yaml"), 6, 12)
    assert "'x y' is not an earlier layer or input" in p.message and "here: x, input" in p.hint


def test_convert_errors_exit_1_never_3(tmp_path: Path, capsys):
    write(tmp_path, {"cw.yaml": "input: [8]\nlayers:\n  - dense: 4\n    name: x\n  - relu: {}\n    from: [\"x y\"]\n",
                     "bad.yaml": "imports: [missing.yaml]\ninput: [8]\nlayers: [relu]\n"})
    assert main(["convert", str(tmp_path / "cw.yaml")]) == 1
    assert main(["convert", str(tmp_path / "bad.yaml")]) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err
    assert f"{tmp_path / 'bad.yaml'}:1:11" in err
