"""The YAML frontend's two parsers agree: libyaml (fast) and PyYAML's pure-Python one (the reference).

``parse_yaml`` composes with libyaml where PyYAML has it and falls back to the pure parser for
documents nested too deep for libyaml's recursive composer and for every document that is not valid
YAML (so messages read the same either way). Here both run over every reference spec and a table of
awkward documents, and must give the same raw tree: the same values of the same types, the same
line and column for every mapping, key, sequence and item, and the same error, located the same.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import netspec.frontends.yaml as frontend
from netspec.core.errors import NetspecError, SpecSyntaxError
from netspec.core.source import MAX_NESTING, PosDict, PosList
from netspec.frontends.yaml import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
YAML_SPECS = sorted((ROOT / "specs").glob("*.yaml"))

needs_libyaml = pytest.mark.skipif(getattr(yaml, "CSafeLoader", None) is None,
                                   reason="PyYAML was built without libyaml: only the pure parser exists here")


def _loc(where: Any) -> Any:
    """A location with, for a key, where its value starts (which equality leaves out)."""
    return None if where is None else (where.file, where.line, where.column, where.value_at)


def shape(value: Any) -> Any:
    """A raw tree as nested tuples carrying every position and the exact type of every value."""
    if isinstance(value, PosDict):
        return ("map", _loc(value.pos),
                tuple((shape(k), _loc(value.key_pos.get(k)), shape(v)) for k, v in value.items()))
    if isinstance(value, PosList):
        return ("seq", _loc(value.pos), tuple(_loc(p) for p in value.item_pos), tuple(shape(v) for v in value))
    assert not isinstance(value, (dict, list)), f"a plain {type(value).__name__} in a raw tree"
    return (type(value).__name__, value)


def outcome(text: str, fast: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The tree's shape, or the error's type and text, from one parser."""
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(frontend, "_FAST_LOADER", None)
        try:
            return shape(parse_yaml(text, "doc.yaml"))
        except NetspecError as err:
            return (type(err).__name__, str(err), [_loc(p.location) for p in getattr(err, "problems", [])])


def both(text: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    fast, pure = outcome(text, True, monkeypatch), outcome(text, False, monkeypatch)
    assert fast == pure
    return pure


def test_there_are_reference_specs():
    assert len(YAML_SPECS) >= 20


@needs_libyaml
@pytest.mark.parametrize("spec", YAML_SPECS, ids=lambda p: p.name)
def test_every_reference_spec_parses_identically(spec: Path, monkeypatch):
    text = spec.read_text(encoding="utf-8")
    assert frontend._compose_fast(text) is not frontend._REFUSED, "a reference spec must take the fast path"
    assert both(text, monkeypatch)[0] == "map"


DOCS = {
    "plain and quoted floats": "a: 1e-3\nb: '1e-3'\nc: \"2E+5\"\nd: 1.5e3\ne: .5e1\nf: 1_000\ng: 0x1f\n",
    "nulls and bools": "a:\nb: ~\nc: null\nd: yes\ne: 'no'\nf: True\n",
    "non-ascii before values": "d: ×→ é — 😀\nk: [1, 2]\nl: {x: 😀, y: [é, ü]}\n",
    "CRLF": "a: 1\r\nb:\r\n  - 2\r\n  - {c: 3}\r\n",
    "byte order mark": "\ufeffa: 1\nb: [1]\n",
    "NEL and line separator": "a: 1\x85b: 2\u2028c: 3\n",
    "compact nesting": "- - - x\n  - y\n- a: 1\n  b: - \n",
    "indentless sequence": "a:\n- 1\n- b: 2\n  c:\n  - 3\n",
    "explicit keys": "? a\n: 1\n? [b, c]\n: 2\n",
    "single pairs in a flow sequence": "a: [x: 1, y: [z: 2]]\n",
    "block scalars": "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\nc: x\n",
    "multi-line plain and quoted": "a: one\n  two\nb: \"three\n  four\"\n",
    "anchors and aliases": "a: &x {k: [1, 2]}\nb: *x\nc: [*x, *x]\n",
    "tags": "a: !!str 12\nb: !!int '7'\nc: !!float 1\n",
    "forbidden tags": "a: !!python/object:os.system x\n",
    "custom tag": "a: !mine 3\n",
    "merge key": "a: &x {k: 1}\nb:\n  <<: *x\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate key, flow": "{a: 1, a: 2}\n",
    "mapping key": "? [a]\n: 1\n",
    "long int": "a: " + "9" * 40 + "\n",
    "tab indentation": "a:\n\t- 1\n",
    "mapping value in a plain scalar": "a: b: c\n",
    "unclosed flow": "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 6\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "undefined alias": "a: *nope\n",
    "control character": "a: \x07\n",
    "empty": "",
    "only a comment": "# nothing\n",
    "scalar document": "just text\n",
    "comments everywhere": "# head\na: 1  # one\n# mid\nb: [1,  # in flow\n    2]\n",
    "flow spanning lines": "a: [1,\n  2, {b:\n    3}]\n",
    # where libyaml alone would differ (found by the random edits below): PyYAML decides
    "tab after a key": "a: {kernel\t: 3}\n",
    "question mark in a flow scalar": "a: [9? 6, 54]\nb: {paddi? ng: 2}\n",
    "byte order mark inside": "a: 1\nb: {\ufeff x: [1, 2]}\n",
    "tag before a comma": "data: {name: !random, samples: 2000}\n",
}


@needs_libyaml
@pytest.mark.parametrize("text", DOCS.values(), ids=DOCS.keys())
def test_awkward_documents_parse_identically(text: str, monkeypatch):
    both(text, monkeypatch)


def test_plain_scalars_style_reads_the_same(monkeypatch):
    """libyaml reports a plain scalar's style as '' where PyYAML says None: only plain 1e-3 is a float."""
    tree = both(DOCS["plain and quoted floats"], monkeypatch)
    values = {k[1]: v[1] for k, _, v in tree[2]}
    assert values == {"a": 0.001, "b": "1e-3", "c": "2E+5", "d": 1500.0, "e": 5.0, "f": 1000, "g": 31}


def test_errors_keep_the_pure_parsers_words(monkeypatch):
    """Hints match PyYAML's wording (libyaml says 'found character that cannot start any token')."""
    kind, message, locations = both(DOCS["tab indentation"], monkeypatch)
    assert kind == "SpecSyntaxError" and "tab character" in message and "spaces, not tabs" in message
    assert locations == [("doc.yaml", 2, 1, None)]
    kind, message, locations = both(DOCS["duplicate key"], monkeypatch)
    assert "duplicate key 'a'" in message and locations == [("doc.yaml", 3, 1, None)]


def _flow(depth: int) -> str:
    return "a: " + "[" * depth + "1" + "]" * depth + "\n"


def _block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"


@needs_libyaml
@pytest.mark.parametrize("make", [_flow, _block], ids=["flow", "block"])
def test_nesting_around_the_bound(make, monkeypatch):
    """Up to the bound both parse; one level past it both give the same located 'too deep' error.
    The top mapping is level 1 and the scalar inside counts as a level, as the pure composer counts."""
    ok = both(make(MAX_NESTING - 2), monkeypatch)
    assert ok[0] == "map"
    kind, message, locations = both(make(MAX_NESTING), monkeypatch)
    assert kind == "SpecSyntaxError" and f"nested more than {MAX_NESTING} deep" in message
    assert locations and locations[0][0] == "doc.yaml"
    assert both(make(MAX_NESTING - 1), monkeypatch)[0] in ("map", "SpecSyntaxError")


def test_very_deep_nesting_is_a_located_error_not_a_crash(tmp_path):
    """libyaml's composer is recursive C: 100,000 brackets would overflow the C stack and kill the
    process. It never sees such a document; the pure parser reports it. Run in a child process so a
    crash shows as one."""
    code = ("import sys; from netspec.frontends.yaml import parse_yaml\n"
            "from netspec.core.errors import SpecSyntaxError\n"
            "for text in ('[' * 100000 + ']' * 100000, '- ' * 50000 + 'x', '{a: ' * 50000 + '1' + '}' * 50000):\n"
            "    try:\n        parse_yaml(text, 'deep.yaml')\n    except SpecSyntaxError as err:\n"
            "        print(err.problems[0].location.line, 'deep' in str(err))\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["1", "True"] * 3


def test_without_libyaml_the_pure_parser_does_everything(monkeypatch):
    monkeypatch.setattr(frontend, "_FAST_LOADER", None)
    calls = []
    real = yaml.compose
    monkeypatch.setattr(yaml, "compose", lambda text, Loader: calls.append(Loader) or real(text, Loader=Loader))
    tree = parse_yaml("a: [1, 2]\n", "x.yaml")
    assert tree == {"a": [1, 2]} and tree.key_pos["a"].line == 1
    assert len(calls) == 1 and issubclass(calls[0], yaml.SafeLoader)


@needs_libyaml
def test_valid_specs_are_composed_by_libyaml_once(monkeypatch):
    calls = []
    real = yaml.compose
    monkeypatch.setattr(yaml, "compose", lambda text, Loader: calls.append(Loader) or real(text, Loader=Loader))
    parse_yaml((ROOT / "specs" / "resnet152.yaml").read_text(encoding="utf-8"), "r.yaml")
    assert calls == [yaml.CSafeLoader]


def _mutate(text: str, rng: random.Random) -> str:
    """Small random edits of a real spec: delete, duplicate or swap characters, insert YAML punctuation."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.3:
            del chars[i]
        elif op < 0.5:
            chars.insert(i, chars[i])
        elif op < 0.7:
            j = rng.randrange(len(chars))
            chars[i], chars[j] = chars[j], chars[i]
        else:
            chars.insert(i, rng.choice(["[", "]", "{", "}", ":", "- ", "\n", "  ", "\t", "&a ", "*a", "'", '"',
                                        "#", "? ", "!!str ", "1e-3", "|\n"]))
    return "".join(chars)


@needs_libyaml
@pytest.mark.parametrize("spec", YAML_SPECS[::4], ids=lambda p: p.name)
def test_mutated_specs_parse_identically(spec: Path, monkeypatch):
    """Fuzz: whatever a mutation does (valid or not), both parsers answer the same."""
    rng = random.Random(spec.name)
    text = spec.read_text(encoding="utf-8")
    for _ in range(25):
        both(_mutate(text, rng), monkeypatch)


def test_a_difference_would_be_caught(monkeypatch):
    """The comparison sees a position off by one column (what a wrong mark would give)."""
    a = parse_yaml("a: [1, 2]\n", "doc.yaml")
    b = parse_yaml("a:  [1, 2]\n", "doc.yaml")
    assert shape(a) != shape(b)
    a, b = parse_yaml("a: 1\n", "doc.yaml"), parse_yaml("a:  1\n", "doc.yaml")  # only the value's column differs
    assert shape(a) != shape(b)
    with pytest.raises(SpecSyntaxError):
        parse_yaml("a: [\n", "doc.yaml")
