"""User errors are messages: one located problem per root cause, in file order, in the user's words (not
pydantic's), with a did-you-mean for misspelled keys and values, and hints in the syntax of the file's
format (the DSL's for a .ns file)."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _problems(text: str, file: str | None = None, tmp_path=None) -> list[Problem]:
    source = text
    if file is not None:
        path = tmp_path / file
        path.write_text(text, encoding="utf-8")
        source = str(path)
    with pytest.raises(NetspecError) as info:
        netspec.check(source)
    return info.value.problems


def _where(p: Problem) -> tuple[int, int]:
    assert p.location is not None, p
    return p.location.line, p.location.column


# --- one problem per root cause, for the top-level keys ------------------------------------------------

@pytest.mark.parametrize("text,line,message,hint", [
    # a misspelled key says so, with did-you-mean; "no input" and "missing required 'inputs'" follow from it
    ("inptu: [3]\nlayers: [dense: 4]\n", 1, "unknown key 'inptu'", "did you mean 'input'"),
    ("input: [3]\nlayres: [dense: 4]\n", 2, "unknown key 'layres'", "did you mean 'layers'"),
    # no layers at all: said once (not also as pydantic's missing field)
    ("input: [3]\n", 1, "the network has no 'layers' list", "layers:"),
    ("layers: [dense: 4]\n", 1, "the network has no input", "input: [1, 28, 28]"),
    # a mapping where the list belongs: not also "at least 1 layer" about the emptied list
    ("input: [3]\nlayers: {conv2d: 8}\n", 2, "expected a list of layers", "'- kind: {...}'"),
])
def test_one_problem_per_root_cause(text, line, message, hint):
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0].location.line == line and message in problems[0].message and hint in problems[0].hint


def test_a_misspelled_key_inside_a_network_suppresses_its_follow_ons():
    text = "networks:\n  a:\n    inptus: {x: [3]}\n    layers: [dense: 4]\n"
    problems = _problems(text)
    assert len(problems) == 1 and "unknown key 'inptus'" in problems[0].message, problems
    assert _where(problems[0]) == (3, 5)


def test_problems_of_different_causes_are_all_kept_in_file_order():
    text = "inptu: [3]\nlayers:\n  - dens: 4\n  - dense: {units: 4, activation: rleu}\n"
    problems = _problems(text)
    assert [p.location.line for p in problems] == [1, 3, 4], problems


# --- a misspelled item key beside the kind --------------------------------------------------------------

@pytest.mark.parametrize("key,meant", [("nmae", "name"), ("form", "from"), ("trainabel", "trainable"),
                                       ("repaet", "repeat")])
def test_a_misspelled_item_key_beside_the_kind_is_an_unknown_key(key, meant):
    text = f"input: [3, 8, 8]\nlayers:\n  - conv2d: 8\n    {key}: x\n"
    problems = _problems(text)
    assert len(problems) == 1, problems
    assert problems[0].message == f"unknown key '{key}' in a layer item"
    assert problems[0].hint == f"did you mean '{meant}'?"
    assert _where(problems[0]) == (4, 5)  # at the key, not at the item


def test_two_kinds_in_one_item_still_say_one_kind_key():
    problems = _problems("input: [3, 8, 8]\nlayers:\n  - conv2d: 8\n    flatten: null\n")
    assert len(problems) == 1 and "exactly one kind key, got conv2d, flatten" in problems[0].message


# --- pydantic's wording, in the user's terms --------------------------------------------------------------

@pytest.mark.parametrize("text,fragments,leaks", [
    ("netspec: 2\ninput: [3]\nlayers: [dense: 4]\n", ["language version", "reads version 1", "got 2"],
     ["input should be"]),
    ("input: [3]\nlayers: []\n", ["expected at least 1 layer"], ["after validation", "list should"]),
    # (3, 3, 3) for a 2-d kernel: at most 2 sizes, (height, width)
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: [3, 3, 3]}\n",
     ["layers[0].kernel", "expected 2 values (one per axis) or one number", "got [3, 3, 3]"],
     ["after validation", "tuple should"]),
    # a number out of range names the whole range, not only the end it passed
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 0}\n", ["expected a whole number from 1 to ", "got 0"],
     ["greater than or equal", "Input should"]),
    ("input: [3]\nlayers:\n  - dropout: {rate: 2}\n", ["expected a number ≥ 0 and < 1; got 2"],
     ["less than", "Input should"]),
])
def test_pydantic_wording_does_not_leak(text, fragments, leaks):
    problems = _problems(text)
    assert len(problems) == 1, problems
    for fragment in fragments:
        assert fragment in str(problems[0]), problems[0]
    for leak in leaks:
        assert leak.lower() not in str(problems[0]).lower(), problems[0]


def test_a_validator_message_about_one_option_is_located_at_that_option():
    # padding's range is checked by the layer's validator (the whole item), but the option is what to fix
    problems = _problems("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, padding: -1}\n")
    assert len(problems) == 1 and problems[0].path == "layers[0].padding", problems
    assert _where(problems[0]) == (3, 46)  # the column of '-1' (the key 'padding' is at 37)
    assert "{'kind'" not in problems[0].message  # not the whole item dumped


# --- did-you-mean for values ----------------------------------------------------------------------------

@pytest.mark.parametrize("item,meant", [
    ("dense: {units: 4, activation: rleu}", "relu"),
    ("dense: {units: 4, init: kaiming_nromal}", "kaiming_normal"),  # a union: a scheme name or a mapping
    ("conv2d: {filters: 4, padding: saem}", "same"),
])
def test_a_misspelled_value_gets_did_you_mean(item, meant):
    problems = _problems(f"input: [3, 8, 8]\nlayers:\n  - {item}\n")
    assert len(problems) == 1, problems
    assert f"'{meant}'" in problems[0].hint and problems[0].hint.startswith("did you mean"), problems[0]


def test_train_values_get_did_you_mean_too():
    problems = _problems("input: [3]\nlayers: [dense: 4]\ntrain: {optimizer: adm, task: clasification}\n")
    assert [p.path for p in problems] == ["train.optimizer", "train.task"]
    assert "'adam'" in problems[0].hint and "'classification'" in problems[1].hint


# --- ${...} outside blocks --------------------------------------------------------------------------------

@pytest.mark.parametrize("text,where,number", [
    ('input: [3, "${2*16}", 32]\nlayers: [flatten]\n', (1, 12), "32"),
    ('input: [3]\nlayers: [dense: 4]\nexpect: {params: "${4*4}"}\n', (3, 18), "16"),  # at the value, not 'params'
])
def test_an_expression_outside_blocks_says_it_is_not_evaluated(text, where, number):
    problems = _problems(text)
    assert len(problems) == 1, problems  # not also "a symbolic size must be a name" or "expected an integer"
    assert "evaluated in layer items and block definitions only" in problems[0].message
    assert _where(problems[0]) == where and problems[0].hint == f"write {number} instead"


def test_a_dollar_in_a_train_path_is_not_an_expression():
    # "$HOME/data" is not ${...} or $name: left for the train: section's own checks
    spec = netspec.load("input: [3]\nlayers: [dense: 4]\ntrain: {data: {name: csv, path: $HOME/x.csv}}\n")
    assert spec.train is not None


# --- half-typed items --------------------------------------------------------------------------------------

def test_an_empty_item_says_so():
    problems = _problems("input: [3]\nlayers:\n  - \n  - dense: 4\n")
    assert len(problems) == 1 and problems[0].message == "an empty layer item", problems
    assert "None" not in str(problems[0])


@pytest.mark.parametrize("item,fix", [("conv2d {filters: 8}", "- conv2d: {filters: 8}"),
                                      ("conv2d [8, 3]", "- conv2d: [8, 3]"),
                                      ("conv2d 8", "- conv2d: 8")])
def test_a_kind_without_its_colon_says_where_the_colon_goes(item, fix):
    problems = _problems(f"input: [3, 8, 8]\nlayers:\n  - {item}\n")
    assert len(problems) == 1 and problems[0].message == "missing ':' after 'conv2d'", problems
    assert problems[0].hint == f"a colon after the kind: '{fix}'"


def test_two_words_that_are_not_a_kind_are_an_unknown_kind():
    (problem,) = _problems("input: [3, 8, 8]\nlayers:\n  - conv2e 8\n")
    assert problem.message == "unknown layer kind 'conv2e 8'"


# --- DSL hints in DSL words ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,message,dsl_hint,yaml_words", [
    ("block b(w) {\n  dense $w\n}\ninput [3]\nb\n", "needs the argument 'w'", "write 'b w=...'", "- b: {"),
    ("dense 4\n", "the network has no input", "'input [1, 28, 28]'", "input: ["),
    ("input [3]\nfoo 4\n", "unknown layer kind 'foo'", "'block name(params) { ... }'", "blocks:"),
])
def test_a_dsl_file_gets_dsl_hints(tmp_path, text, message, dsl_hint, yaml_words):
    problems = _problems(text, "spec.ns", tmp_path)
    assert len(problems) == 1 and message in problems[0].message, problems
    assert dsl_hint in problems[0].hint and yaml_words not in problems[0].hint, problems[0]


def test_the_same_problem_in_yaml_keeps_its_yaml_hint(tmp_path):
    problems = _problems("blocks:\n  b:\n    params: {w: null}\n    layers: [dense: $w]\ninput: [3]\nlayers: [b]\n",
                         "spec.yaml", tmp_path)
    assert problems[0].hint == "write '- b: {w: ...}'"


def test_dsl_text_given_as_a_string_gets_dsl_hints():
    problems = _problems("input [3]\nfoo 4\n")
    assert len(problems) == 1 and "'block name(params) { ... }'" in problems[0].hint


def test_a_list_too_short_for_its_option_says_how_many_values():
    # adaptive_avg_pool2d's output_size is a number or a pair (h, w): [3] has one value of two
    for item in ("adaptive_avg_pool2d: [3]", "adaptive_avg_pool2d: {output_size: [3]}"):
        (problem,) = _problems(f"input: [4, 6, 6]\nlayers:\n  - {item}\n")
        assert problem.message == "expected at least 2 values here; got [3]" and problem.path.endswith("output_size")


def test_a_union_members_model_name_is_never_a_place():
    """pydantic names a union's model member in an error's loc (``v.Opts.x``): the problem is at ``v.x``,
    in the words the user wrote; a key the user wrote with that name is still a place."""
    from typing import Union

    from pydantic import BaseModel, ConfigDict, ValidationError

    from netspec.spec.problems import problems_from_errors

    class Opts(BaseModel):
        model_config = ConfigDict(extra="forbid")
        size: int = 1

    class Root(BaseModel):
        v: Union[int, Opts]
        table: dict[str, Union[int, Opts]] = {}

    for tree, path, message in [({"v": {"x": 1}}, "v.x", "unknown key 'x'"),
                                ({"v": {"size": "big"}}, "v.size", "expected an integer; got 'big'"),
                                ({"v": 1, "table": {"Opts": {"sise": 2}}}, "table.Opts.sise", "unknown key 'sise'")]:
        with pytest.raises(ValidationError) as info:
            Root.model_validate(tree)
        (problem,) = problems_from_errors(info.value.errors(), tree, Root)
        assert (problem.path, problem.message) == (path, message)
