"""A block definition is checked once, whether used or not (netspec.spec.expand.check_definition): its
literal ``residual:`` and residual options, the kinds, blocks and options its items name, and the names
its expressions read. Each problem is located in the definition, with a hint; a use does not say it twice.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import netspec
from netspec.core.errors import NetspecError, SpecValidationError
from netspec.frontends import parser_for
from netspec.spec.load import load, validate_library

ROOT = Path(__file__).resolve().parents[2]


def _problems(text: str, fmt: str | None = None) -> list[str]:
    with pytest.raises(NetspecError) as info:
        netspec.analyze(text) if fmt is None else load(text, fmt)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("value,shown", [('"false"', "'false'"), ("maybe", "'maybe'"), ("5", "5"), ("[1]", "[1]"),
                                         ('"no"', "'no'")])
def test_a_literal_residual_that_is_not_a_boolean_is_refused_at_the_definition(value: str, shown: str):
    text = f"input: [4]\nblocks:\n  b: {{params: {{}}, residual: {value}, layers: [{{dense: 8}}]}}\nlayers:\n  - b: {{}}\n"
    [problem] = _problems(text)
    # at the value: "  b: {params: {}, residual: " is 28 characters, so the value starts at column 29
    assert problem.startswith(f"<string>:3:29: blocks.b.residual: residual: needs true or false, got {shown}")
    assert "hint:" in problem


def test_the_dsl_residual_no_is_refused_too():
    text = "block b() residual=no { dense 8 }\ninput [4]\nb\n"
    [problem] = _problems(text, fmt="dsl")
    assert "residual: needs true or false, got 'no'" in problem
    assert problem.startswith("<string>:1:")


def test_literal_residual_options_are_checked_at_the_definition_even_unused():
    text = ("input: [4]\nblocks:\n"
            "  c: {params: {}, residual: true, shortcut: bogus, activation: rleu, projection_norm: 7, layers: [dense: 4]}\n"
            "  s: {params: {}, shortcut: identity, layers: [dense: 4]}\n"
            "layers:\n  - dense: 4\n")
    problems = _problems(text)
    assert any("blocks.c.shortcut: shortcut: needs 'auto', 'identity', 'projection' or a list of layers, got 'bogus'"
               in p for p in problems)
    assert any("blocks.c.activation: activation: needs" in p and "did you mean 'relu'" in p for p in problems)
    assert any("blocks.c.projection_norm: projection_norm: needs true or false, got 7" in p for p in problems)
    assert any(p.startswith("<string>:4:") and "'shortcut' applies to a residual block only" in p for p in problems)
    assert len(problems) == 4  # each once: not again at a use, none about the valid network


def test_a_used_residual_block_with_a_bad_option_is_reported_once_at_the_definition():
    text = ("input: [4]\nblocks:\n  c: {params: {}, residual: true, activation: rleu, layers: [dense: 4]}\n"
            "layers:\n  - c: {}\n")
    [problem] = _problems(text)
    assert problem.startswith("<string>:3:")


LIB = "blocks:\n  blk: {params: {u: 8}, layers: [{dense: {unts: $u}}, {avg_pol2d: 2}]}\n"


def test_typos_in_a_library_checked_alone_are_reported():
    problems = _problems(LIB)
    assert any("<string>:2:" in p and "unknown option 'unts' for dense" in p and "did you mean 'units'" in p
               for p in problems)
    assert any("unknown layer kind 'avg_pol2d'" in p and "did you mean 'avg_pool2d'" in p for p in problems)
    with pytest.raises(NetspecError) as info:
        validate_library(parser_for("yaml")(LIB, "lib.yaml"), "lib.yaml")
    assert len(info.value.problems) == 2


def test_typos_in_an_unused_block_of_a_spec_are_reported_and_used_ones_once():
    text = ("input: [4]\nblocks:\n"
            "  unused: {params: {skip: 1}, layers: [{dense: {units: $skp}}, {conv2d: {filtrs: 3}}, {nob: {}}]}\n"
            "  used: {params: {}, layers: [{dense: {unts: 4}}]}\n"
            "layers:\n  - used: {}\n")
    problems = _problems(text)
    assert sum("unknown option 'unts' for dense" in p for p in problems) == 1
    assert any("in '$skp': unknown name 'skp'" in p and "did you mean 'skip'" in p for p in problems)
    assert any("unknown option 'filtrs' for conv2d" in p for p in problems)
    assert any("unknown layer kind 'nob'" in p for p in problems)
    assert all(p.startswith(("<string>:3:", "<string>:4:")) for p in problems)


def test_items_under_a_false_if_are_checked_and_i_only_in_a_repeat():
    text = ("input: [4]\nblocks:\n"
            "  b: {params: {}, layers: [{dense: {unts: 4}, if: false}, {dense: 4, repeat: 2, name: 'd${i}'},"
            " {dense: $i}]}\nlayers:\n  - b: {}\n")
    problems = _problems(text)
    assert any("unknown option 'unts' for dense" in p for p in problems)
    [i_problem] = [p for p in problems if "unknown name 'i'" in p]
    assert "exists only inside an item with 'repeat:'" in i_problem


def test_a_block_parameter_named_in_is_refused_at_the_definition():
    text = "input: [4]\nblocks:\n  b:\n    params: {in: 4}\n    layers: [dense: 4]\nlayers:\n  - dense: 4\n"
    [problem] = _problems(text)
    assert problem.startswith("<string>:4:14: blocks.b.params.in:")  # "    params: {" is 13 characters
    assert "hide its input" in problem and "hint:" in problem


def test_checking_a_library_with_a_typo_exits_1_located(tmp_path: Path):
    (tmp_path / "lib.yaml").write_text(LIB)
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "check", "lib.yaml"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 1
    assert "lib.yaml:2:" in out.stdout + out.stderr and "unts" in out.stdout + out.stderr


def test_expression_messages_have_hints():
    problems = _problems("input: [4]\nblocks:\n  b: {params: {}, layers: [{dense: {units: '${in.chanels}'}}]}\n"
                         "layers:\n  - dense: 4\n")
    assert any("in.chanels is not known" in p and "did you mean in.channels?" in p for p in problems)
    # T is a symbol: T * 2 has no number until it is bound
    [problem] = _problems("input: [T, 4]\nblocks:\n  c: {params: {}, layers: [{dense: {units: '${in.shape[0] * 2}'}}]}\n"
                          "layers:\n  - c: {}\n")
    assert problem.startswith("<string>:3:") and "hint: bind the symbol" in problem
    [problem] = _problems("input: [4]\nlayers:\n  - dense: $i\n")
    assert problem.startswith("<string>:3:") and "exists only inside an item with 'repeat:'" in problem


def test_an_output_naming_a_layer_left_out_by_if_says_so():
    [problem] = _problems("input: [4]\noutputs: [h, d]\nlayers:\n  - dense: {units: 4, name: d}\n"
                          "  - dense: {units: 4, name: h}\n    if: false\n")
    # 'h' is at column 11 of "outputs: [h, d]"; the if:'s value at line 6, column 9 ("    if: false")
    assert problem.startswith("<string>:2:11: outputs: output 'h' names a layer that is left out (if: false at "
                              "<string>:6:9)")
    assert "hint:" in problem


def test_a_wrong_block_definition_is_the_one_problem_not_also_each_use():
    """Root causes only: `layer:` for `layers:` (said at the key, with the word meant) and params given as a
    list are each one problem; the uses of those blocks are not also 'unknown layer kind'; a kind nobody
    defined still is."""
    text = ("input: [8]\nblocks:\n  mix:\n    params: {h: 2}\n    layer:\n      - dense: $h\n"
            "  mux:\n    params: [h]\n    layers:\n      - dense: $h\n"
            "layers:\n  - mix: {h: 2}\n  - mix: {h: 3}\n  - mux: {h: 3}\n  - mox: {h: 3}\n")
    with pytest.raises(SpecValidationError) as info:
        netspec.load(text)
    found = [(p.location.line, p.location.column, p.message) for p in info.value.problems]
    lines = text.splitlines()
    assert found == [(5, lines[4].index("layer") + 1, "unknown key 'layer' in a block definition"),
                     (8, lines[7].index("params") + 1, "block 'params' must map names to defaults (null = required)"),
                     (15, lines[14].index("mox") + 1, "unknown layer kind 'mox'")]
    assert info.value.problems[0].hint == "did you mean 'layers'?"
