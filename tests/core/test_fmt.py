"""Values and ranges in messages: written as a spec writes them, one way everywhere.

Every expected text is what a user would write in YAML (and the DSL) for that value, checked by reading
it back with a YAML parser where the form is YAML's own.
"""

from __future__ import annotations

import pytest
import yaml

from netspec.core.fmt import bounds_text, number_text, schema_bounds, show
from netspec.core.source import PosDict, PosList


@pytest.mark.parametrize("value, written", [
    (True, "true"), (False, "false"), (None, "null"),
    (3, "3"), (0.5, "0.5"), (1.0, "1.0"), (1e-05, "1e-05"), (float("inf"), ".inf"), (float("-inf"), "-.inf"),
    ("tanhh", "'tanhh'"), ("it's", '"it\'s"'), ("a\nb", '"a\\nb"'),
    ([0.9, True], "[0.9, true]"), ((3, 3), "[3, 3]"), ([], "[]"), ({}, "{}"),
    ({"rate": 0.5, "spatial": None}, "{rate: 0.5, spatial: null}"),
    (PosList([1, PosDict({"a": False})]), "[1, {a: false}]"),
])
def test_show_writes_a_value_as_the_spec_does(value, written):
    assert show(value) == written
    if written not in (".inf", "-.inf", "1e-05"):  # YAML 1.1 reads these differently; netspec reads 1e-05 as a number
        assert yaml.safe_load(written) == (list(value) if isinstance(value, tuple) else value)


def test_show_cuts_a_long_value_and_does_not_render_all_of_it():
    text = show(list(range(10**6)), 40)  # a million items: the cut comes before the work
    assert len(text) == 40 and text.endswith("...") and text.startswith("[0, 1, 2, ")


@pytest.mark.parametrize("args, written", [
    ((1, 4096), "from 1 to 4096"),  # both ends included
    ((0.0, 1.0, False, True), "≥ 0 and < 1"),  # 0 ≤ p < 1 (dropout): the float bounds without a trailing .0
    ((0, 64, True, False), "> 0 and ≤ 64"),
    ((0, None, True), "> 0"),
    ((None, 100), "≤ 100"),
    ((1e-3, 1e6), "from 0.001 to 1000000"),
    ((None, None), ""),
])
def test_bounds_are_written_one_way(args, written):
    assert bounds_text(*args) == written


def test_a_json_schema_range_reads_as_bounds_text():
    assert schema_bounds({"type": "number", "minimum": 0, "exclusiveMaximum": 1.0}) == "≥ 0 and < 1"
    assert schema_bounds({"type": "integer", "minimum": 1, "maximum": 4096}) == "from 1 to 4096"
    assert schema_bounds({"type": "number", "exclusiveMinimum": 0}) == "> 0"
    assert schema_bounds({"type": "string"}) == ""


def test_number_text_drops_only_a_whole_floats_point():
    assert [number_text(x) for x in (1.0, 0.25, 3, 1e20, -2.0)] == ["1", "0.25", "3", "1e+20", "-2"]
