"""YAML frontend: text -> raw tree of PosDict/PosList with locations.

Uses PyYAML's safe composer only (no Python object tags, no constructors that run code) and builds
the tree itself so every key, value and item keeps its line and column.

Two parsers give the same nodes: libyaml's (``yaml.CSafeLoader``, where PyYAML was built with it),
about 10x faster, and PyYAML's pure-Python one, which is the reference. libyaml's composer is
recursive C that crashes the process on deep nesting, so its event stream is walked first with a
depth counter; a document nested past ``MAX_NESTING``, and any document libyaml refuses, goes to
the pure parser, which gives the located message (its wording is what the hints below match).
A key's location records where its value starts too (``Location.value_at``): a problem with a value
points at the value, one with a key at the key.
``tests/frontends/test_yaml.py`` runs both over every spec and compares trees and positions.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from netspec.core.errors import Location, Problem, SpecSyntaxError
from netspec.core.fmt import written
from netspec.core.source import MAX_NESTING, MAX_NODES, MAX_TEXT_BYTES, PosDict, PosList, check_digits
from netspec.frontends.yaml_errors import yaml_problem


def _loc(mark: Any, file: str) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


def parse_yaml(text: str, file: str = "<string>") -> Any:
    """Parse YAML text into a raw tree with positions.

    Raises:
        SpecSyntaxError: not YAML, too large, or uses tags/aliases beyond the limits.
    """
    if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise SpecSyntaxError(f"{file}: spec is larger than {MAX_TEXT_BYTES // 1_000_000} MB; refusing to parse it")
    node = _compose_fast(text)
    if node is not _REFUSED and node is not None:
        conv = _Converter(file)
        try:
            return conv.whole(conv.convert(node))
        except SpecSyntaxError as err:
            if err.partial is not None:  # duplicate keys: the tree is read whole, as the pure parser reads it
                raise
            # every other error is the pure parser's to word (libyaml reads `!tag,` differently, for one)
    try:
        node = yaml.compose(text, Loader=_make_loader(file))
    except yaml.MarkedYAMLError as exc:
        problem = yaml_problem(exc, text, file)  # netspec/frontends/yaml_errors.py: the message in words
        raise SpecSyntaxError(problems=[Problem(f"not valid YAML: {problem.message}", problem.location,
                                                hint=problem.hint)]) from None
    except yaml.YAMLError as exc:
        raise SpecSyntaxError(f"{file}: not valid YAML: {exc}") from None
    if node is None:
        raise SpecSyntaxError(problems=[Problem("the spec is empty", Location(file, 1, 1),
                                                hint="start with 'input:' and 'layers:'")])
    conv = _Converter(file)
    return conv.whole(conv.convert(node))


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)  # None: PyYAML without libyaml
_REFUSED = object()
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _compose_fast(text: str) -> Any:
    """The node tree from libyaml, or ``_REFUSED`` when the pure parser must do it: libyaml is absent,
    the text is nested more than ``MAX_NESTING`` deep, or it is not valid YAML (messages come from the
    pure parser, so that they read the same whichever parser is installed).

    Where the two disagree on valid-looking text, libyaml is the more permissive: it reads a tab as a
    separator after a key (``{kernel\\t: 3}``) and a ``?`` inside a plain scalar in a flow collection
    (``[9? 6]``), both of which PyYAML refuses, and it counts a byte order mark inside the text as a
    column. Texts with a tab, a ``?`` or an inner byte order mark therefore go to the pure parser (no
    reference spec has any); random edits of every reference spec (``tests/frontends/test_yaml.py``)
    found no other difference."""
    if _FAST_LOADER is None or "\t" in text or "?" in text or "\ufeff" in text[1:]:
        return _REFUSED
    try:
        if _too_deep_for_c(text):
            return _REFUSED
        return yaml.compose(text, Loader=_FAST_LOADER)
    except Exception:  # noqa: BLE001 - yaml errors, and text libyaml's encoder refuses: the pure parser decides
        return _REFUSED


def _too_deep_for_c(text: str) -> bool:
    """Whether the text nests collections more than ``MAX_NESTING`` deep, from libyaml's events (its
    parser keeps explicit stacks; only its composer recurses). Stops at the first event past the bound."""
    parser = _FAST_LOADER(text)
    depth = 0
    try:
        while True:
            event = parser.get_event()
            if event is None:
                return False
            if isinstance(event, _COLLECTION_START):
                depth += 1
                if depth >= MAX_NESTING:  # the pure composer counts the scalar inside as one level more
                    return True
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
    finally:
        parser.dispose()


def _too_deep(mark: Any, file: str) -> SpecSyntaxError:
    return SpecSyntaxError(problems=[Problem(f"the spec is nested more than {MAX_NESTING} deep here",
                                             _loc(mark, file), hint="a spec this deep is almost certainly a mistake")])


def _make_loader(file: str) -> type:
    """PyYAML's safe loader, refusing nesting deeper than MAX_NESTING before its (recursive) composer
    reaches Python's stack limit."""

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_NESTING:
                    raise _too_deep(self.peek_event().start_mark, file)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.scalars = yaml.SafeLoader("")  # resolves int/float/bool/null/str safely
        self.repeated: list[Problem] = []  # keys written twice in a mapping (the first is kept)

    def convert(self, node: yaml.Node) -> Any:
        return _convert(node, self, 1)

    def whole(self, tree: Any) -> Any:
        """The tree read, or a SpecSyntaxError naming every key written twice, in file order, whose ``partial``
        is the tree (each mapping with its first value of the key): the spec stage reports the file's other
        problems with them."""
        if not self.repeated:
            return tree
        problems = sorted(self.repeated, key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))
        raise SpecSyntaxError(problems=problems, partial=tree)


def _convert(node: yaml.Node, conv: _Converter, depth: int) -> Any:
    file = conv.file
    if depth > MAX_NESTING:  # aliases can nest what the composer saw as shallow
        raise _too_deep(node.start_mark, file)
    if node.tag not in _PLAIN_TAGS:
        raise SpecSyntaxError(problems=[Problem(f"YAML tag '{node.tag}' is not allowed", _loc(node.start_mark, file),
                                                hint="specs are plain data; remove the tag")])
    conv.count += 1
    if conv.count > MAX_NODES:
        raise SpecSyntaxError(problems=[Problem(
            f"spec has more than {MAX_NODES} YAML nodes (alias expansion?); refusing to load it",
            _loc(node.start_mark, file))])
    if isinstance(node, yaml.MappingNode):
        out = PosDict(pos=_loc(node.start_mark, file))
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise SpecSyntaxError(problems=[Problem("YAML merge keys ('<<') are not supported",
                                                        _loc(key_node.start_mark, file),
                                                        hint="define a reusable block under 'blocks:' instead")])
            key = _convert(key_node, conv, depth + 1)
            if isinstance(key, (dict, list)):
                raise SpecSyntaxError(problems=[Problem("a mapping key must be a plain value",
                                                        _loc(key_node.start_mark, file))])
            if key in out:  # each one said, at its place, with where the key is first written; the first kept
                first = out.key_pos.get(key)
                where = f"line {first.line}, column {first.column}" if first is not None else "above"
                conv.repeated.append(Problem(f"duplicate key '{key}': it is first written at {where}",
                                             _loc(key_node.start_mark, file),
                                             hint="each key may appear once in a mapping; remove one of them"))
                _convert(value_node, conv, depth + 1)  # still read: its own problems (a tag, a size) are the file's
                continue
            out[key] = _convert(value_node, conv, depth + 1)
            mark, at = key_node.start_mark, value_node.start_mark  # the key's place, and its value's
            if value_node.value == "" and not value_node.style:  # `stride:` with nothing after: the key it is
                out.key_pos[key] = Location(file, mark.line + 1, mark.column + 1)
            else:
                out.key_pos[key] = Location(file, mark.line + 1, mark.column + 1, (at.line + 1, at.column + 1))
        return out
    if isinstance(node, yaml.SequenceNode):
        items = [_convert(v, conv, depth + 1) for v in node.value]
        return PosList(items, pos=_loc(node.start_mark, file),
                       item_pos=[_loc(v.start_mark, file) for v in node.value])
    if node.tag == "tag:yaml.org,2002:int":  # PyYAML's YAML 1.1 ints (0x1f, 1_000, 1:30): count the digits first
        try:
            check_digits(node.value)
        except ValueError as exc:
            raise SpecSyntaxError(problems=[Problem(str(exc), _loc(node.start_mark, file),
                                                    hint="sizes and counts are small whole numbers")]) from None
    # a string is its text (what SafeConstructor.construct_yaml_str returns), without the constructor's dispatch
    value = node.value if node.tag == _STR else conv.scalars.construct_object(node, deep=True)
    if isinstance(value, str) and not node.style and _FLOAT.match(value):  # plain: style None, or '' from libyaml
        return written(float(value), value)  # YAML 1.1 reads 1e-3 as a string; users mean a number
    if node.tag in _NUMBERS:  # a message quotes the number as the file writes it (1e-400, not 0.0)
        return written(value, node.value)
    return value


_STR = "tag:yaml.org,2002:str"
_NUMBERS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")}
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
