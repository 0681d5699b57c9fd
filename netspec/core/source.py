"""Raw spec trees that remember where each value came from.

Frontends (YAML, DSL) produce plain dicts and lists, except that mappings are :class:`PosDict` and
sequences :class:`PosList`: they behave exactly like ``dict``/``list`` and additionally record the
:class:`~netspec.core.errors.Location` of the container, of each key and of each item. Validation and
shape errors use them to point at ``file:line:column``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, NamedTuple

from netspec.core.errors import Location, Problem, SpecSyntaxError

# Hostile-input bounds: a spec is a few kilobytes; these stop a crafted file early.
MAX_TEXT_BYTES = 5_000_000
MAX_NODES = 500_000
MAX_NESTING = 200  # mappings and lists inside each other; a real spec stays under 30
MAX_DIGITS = 30  # digits of a whole number in a spec (a size, a count, a pinned total)


class PosDict(dict):
    """A dict with source locations: ``pos`` (the mapping) and ``key_pos[key]``."""

    __slots__ = ("pos", "key_pos", "path")

    def __init__(self, *args: Any, pos: Location | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pos = pos
        self.key_pos: dict[Any, Location] = {}
        self.path: str | None = None  # user-facing path of this node, set by the expander

    def where(self, key: Any) -> Location | None:
        """Where ``key`` is written (the mapping's own place when not recorded): for a problem with the key."""
        return self.key_pos.get(key, self.pos)

    def value_where(self, key: Any) -> Location | None:
        """Where the value of ``key`` is written: for a problem with the value (the key's place when the
        value's own is not recorded)."""
        at = self.key_pos.get(key)
        if at is None:
            return self.pos
        if at.value_at is not None:
            return at.of_value()
        inner = getattr(self.get(key), "pos", None)  # a mapping or list value knows where it starts
        return inner if inner is not None and inner.file == at.file else at


class PosList(list):
    """A list with source locations: ``pos`` (the sequence) and ``item_pos[i]``."""

    __slots__ = ("pos", "item_pos")

    def __init__(self, items: Iterable[Any] = (), pos: Location | None = None,
                 item_pos: list[Location | None] | None = None) -> None:
        super().__init__(items)
        self.pos = pos
        self.item_pos: list[Location | None] = item_pos if item_pos is not None else [pos] * len(self)

    def where(self, index: int) -> Location | None:
        if 0 <= index < len(self.item_pos) and self.item_pos[index] is not None:
            return self.item_pos[index]
        return self.pos


class Reached(NamedTuple):
    """Where a path into a raw tree leads (:func:`walk`)."""

    where: Location | None  # the deepest step that has a location (a key's: for a problem with the key)
    path: str  # user-facing: the expander's path of the node where it set one (``layers[2]#1``), else dotted
    steps: tuple[Any, ...]  # the path's steps that exist in the tree, plus the first missing key
    value: Any  # the value reached
    uses: tuple[tuple[str, Location], ...] = ()  # the block uses passed through (block, where used), innermost first
    at: Location | None = None  # where the value reached is written (for a problem with the value)


# Steps pydantic puts in an error's ``loc`` that are not keys of the data: the type tried in a union
# (``int``, ``list[...]``, ``function-after[...]``, ``literal['a','b']``).
_LABELS = ("int", "str", "float", "bool", "list", "dict", "none", "tuple", "function-after", "function-wrap")


def _is_label(part: Any) -> bool:
    return isinstance(part, str) and any(c in part for c in "[]'\"") or part in _LABELS


def walk(root: Any, loc: Iterable[Any]) -> Reached:
    """Follow a path (a pydantic error's ``loc``) into a raw tree, as far as it goes.

    Union labels and a layer's kind used as a union tag are skipped; a key the mapping lacks ends the walk
    (it is the key a "missing" or "unknown key" error is about); other steps that do not exist are skipped.
    ``where`` is the last key's place, ``at`` its value's (the same for a list item).
    """
    node, where, path, steps = root, getattr(root, "pos", None), "", []
    at = where
    uses: list[tuple[str, Location]] = []
    for part in loc:
        if isinstance(node, dict) and part in node:
            if isinstance(node, PosDict):
                where, at = node.where(part), node.value_where(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            if isinstance(node, PosList):
                where = at = node.where(part)
            node = node[part]
        elif part == "[key]" and isinstance(node, (dict, list)):
            at = where  # a problem with a mapping's key (a name), not with its value
            continue
        elif isinstance(node, dict) and node.get("kind") == part:
            continue  # union tag
        elif isinstance(node, (dict, list)) and not isinstance(part, int) and _is_label(part):
            continue
        elif isinstance(node, dict) and part not in node:
            steps.append(part)
            path = f"{path}.{part}" if path else str(part)
            at = where
            break
        else:
            continue
        steps.append(part)
        if isinstance(node, PosDict) and isinstance(node.get("block"), str) and node.pos is not None:
            uses.insert(0, (node["block"], node.pos))  # a group the expander made for a block use
        node_path = getattr(node, "path", None)
        if node_path is not None:
            path = node_path.rstrip(".")
        elif isinstance(part, int):
            path = f"{path}[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return Reached(where, path, tuple(steps), node, tuple(uses), at)


def key_locations(root: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Location]]:
    """Every path into a raw tree with the location it was written at (the root's own at ``()``)."""
    if getattr(root, "pos", None) is not None and not prefix:
        yield (), root.pos
    if isinstance(root, PosDict):
        for k, v in root.items():
            where = root.where(k)
            if where is not None:
                yield (*prefix, k), where
            yield from key_locations(v, (*prefix, k))
    elif isinstance(root, PosList):
        for i, v in enumerate(root):
            where = root.where(i)
            if where is not None:
                yield (*prefix, i), where
            yield from key_locations(v, (*prefix, i))


def _dotted(path: tuple[Any, ...]) -> str:
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "the top level"
    return where if len(where) <= 120 else where[:50] + " … " + where[-60:]


def map_leaves(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """Plain dict/list copy of a tree with ``leaf`` applied to every value that is neither."""
    if isinstance(value, dict):
        return {k: map_leaves(v, leaf) for k, v in value.items()}
    if isinstance(value, list):
        return [map_leaves(v, leaf) for v in value]
    return leaf(value)


def strip_positions(value: Any) -> Any:
    """Plain dict/list copy of a raw tree (for comparisons and dumping)."""
    return map_leaves(value, lambda v: v)


def check_digits(text: str) -> None:
    """Refuse a number written with more than :data:`MAX_DIGITS` digits, before converting it (Python's
    own limit is thousands of digits; no size or count needs more than a few).

    Raises:
        ValueError: too many digits; the message says how many.
    """
    digits = sum(c.isalnum() for c in text.lower().removeprefix("-").removeprefix("+").removeprefix("0x"))
    if digits > MAX_DIGITS:
        raise ValueError(f"a number of {digits} digits is out of range (at most {MAX_DIGITS} digits)")


def whole_number(text: str) -> int:
    """``int(text)`` for a whole number written in a spec, after :func:`check_digits`."""
    check_digits(text)
    return int(text)


def to_raw(value: Any) -> Any:
    """Plain dicts/lists (a spec built in Python) as a raw tree without positions.

    Raises:
        SpecSyntaxError: the data contains itself (a dict or list inside itself), or is nested more than
            :data:`MAX_NESTING` deep; the message gives the path.
    """
    return _to_raw(value, (), set())


def _to_raw(value: Any, path: tuple[Any, ...], open_ids: set[int]) -> Any:
    if isinstance(value, PosDict | PosList):
        return value
    if not isinstance(value, (dict, list, tuple)):
        return value
    if id(value) in open_ids:
        raise SpecSyntaxError(problems=[Problem(f"the spec contains itself at {_dotted(path)}",
                                                hint="a spec is a tree of dicts and lists; copy the part instead")])
    if len(path) >= MAX_NESTING:
        raise SpecSyntaxError(problems=[Problem(f"the spec is nested more than {MAX_NESTING} deep at {_dotted(path)}")])
    open_ids.add(id(value))
    try:
        if isinstance(value, dict):
            out = PosDict()
            for k, v in value.items():
                out[k] = _to_raw(v, (*path, k), open_ids)
            return out
        return PosList([_to_raw(v, (*path, i), open_ids) for i, v in enumerate(value)])
    finally:
        open_ids.discard(id(value))
