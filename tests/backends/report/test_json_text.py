"""The indented JSON writer (netspec/backends/report/json_text.py) against the standard library's
``json.dumps``, the independent source of every expected text here."""

from __future__ import annotations

import enum
import json
from collections import OrderedDict
from pathlib import Path

import pytest

import netspec
from netspec.backends.report.json_text import dumps_indented

ROOT = Path(__file__).resolve().parents[3]
SPECS = sorted([*(ROOT / "specs").glob("*.yaml"), *(ROOT / "specs").glob("*.ns")])


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_every_reports_text_is_json_dumps(spec: Path):
    data = netspec.check(spec).to_dict()
    for indent in (0, 2, 4):
        assert dumps_indented(data, indent) == json.dumps(data, indent=indent)


def test_the_report_writes_through_it():
    report = netspec.check(ROOT / "specs" / "lenet5.yaml")
    assert report.to_json() == json.dumps(report.to_dict(), indent=2)
    assert report.to_json(indent=None) == json.dumps(report.to_dict())


class Colour(enum.IntEnum):
    RED = 1


class Text(str):
    pass


AWKWARD = [
    {},
    [],
    {"a": {}, "b": [], "c": [[]], "d": [{}], "e": [[[1]]]},
    {"é": "ünïcödé ✓", "tab\t": "new\nline \"quoted\" \\ \x00 \x1f \u2028 😀"},
    [None, True, False, 0, -1, 10**30, "", "x"],
    {"bool keys are ints' subclass": [True, 1]},
    [1.5, float("nan"), float("inf"), -0.0],  # floats: left to json.dumps
    {"t": (1, 2, (3,))},  # tuples are written as lists
    {1: "int key", None: "none key", 2.5: "float key"},
    {False: "bool key", "and": "a string key"},
    OrderedDict([("z", 1), ("a", 2)]),
    {"sub": Text("a str subclass"), "enum": Colour.RED},
    [{"deep": [{"deeper": [1, [2, [3, {"deepest": None}]]]}]}],
]


@pytest.mark.parametrize("value", AWKWARD, ids=range(len(AWKWARD)))
@pytest.mark.parametrize("indent", [0, 1, 2, 4])
def test_awkward_values_read_as_json_dumps_writes_them(value, indent):
    assert dumps_indented(value, indent) == json.dumps(value, indent=indent)


def test_what_json_cannot_write_fails_as_json_dumps_fails():
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_indented({"a": [1, object()]})


def test_plain_data_does_not_go_through_json_dumps(monkeypatch):
    """The point of the writer: a report (plain dicts, lists, strings, ints, booleans, None) is written
    without the standard library's pure-Python indenting encoder."""
    data = netspec.check(ROOT / "specs" / "seq2seq.yaml").to_dict()
    expected = json.dumps(data, indent=2)

    def refuse(*args, **kwargs):
        raise AssertionError("json.dumps was called")

    monkeypatch.setattr("netspec.backends.report.json_text.json.dumps", refuse)
    assert dumps_indented(data) == expected
