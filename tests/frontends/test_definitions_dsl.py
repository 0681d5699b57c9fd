"""The DSL's hint for ``$in.channels`` (the short ``$name`` form takes a plain name), and a block library
whose YAML writes the short ``$in.features`` converting to the DSL's ``${in.features}``."""

from __future__ import annotations

from pathlib import Path

import pytest

from netspec.convert import convert
from netspec.core.errors import NetspecError
from netspec.frontends import parser_for
from netspec.spec.load import load


@pytest.mark.parametrize("written,braced", [("$in.channels", "${in.channels}"), ("$in.shape[-1]", "${in.shape[-1]}")])
def test_a_dotted_short_parameter_in_the_dsl_says_to_brace_it(written: str, braced: str):
    text = f"block b() {{ dense units={written} }}\ninput [4]\nb\n"
    with pytest.raises(NetspecError) as info:
        load(text, "dsl")
    [problem] = info.value.problems
    # "block b() { dense units=$in" is 27 characters: the '.' is at column 28
    assert (problem.location.line, problem.location.column) == (1, 28)
    assert problem.hint == f"write {braced} (the short $name form takes a plain name)"


def test_a_library_with_an_unquoted_dotted_parameter_converts_to_dsl(tmp_path: Path):
    lib = tmp_path / "lib.yaml"
    lib.write_text("blocks: {b: {params: {}, layers: [{dense: $in.features}]}}\n")
    out = convert(str(lib), "dsl")
    assert "${in.features}" in out
    tree = parser_for("dsl")(out, "lib.ns")
    assert tree["blocks"]["b"]["layers"][0]["dense"] == {"units": "${in.features}"}
