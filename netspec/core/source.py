"""Raw spec trees that remember where each value came from.

Frontends (YAML, DSL) produce plain dicts and lists, except that mappings are :class:`PosDict` and
sequences :class:`PosList`: they behave exactly like ``dict``/``list`` and additionally record the
:class:`~netspec.core.errors.Location` of the container, of each key and of each item. Validation and
shape errors use them to point at ``file:line:column``.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from netspec.core.errors import Location

# Hostile-input bounds: a spec is a few kilobytes; these stop a crafted file early.
MAX_TEXT_BYTES = 5_000_000
MAX_NODES = 500_000


class PosDict(dict):
    """A dict with source locations: ``pos`` (the mapping) and ``key_pos[key]``."""

    __slots__ = ("pos", "key_pos", "path")

    def __init__(self, *args: Any, pos: Location | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.pos = pos
        self.key_pos: dict[Any, Location] = {}
        self.path: str | None = None  # user-facing path of this node, set by the expander

    def where(self, key: Any) -> Location | None:
        return self.key_pos.get(key, self.pos)


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


def locate(root: Any, loc: Iterable[Any]) -> Location | None:
    """Best location for a path into a raw tree: the deepest step that has one.

    Path steps that do not exist (pydantic adds union tags, for example) are skipped.
    """
    node = root
    best = getattr(root, "pos", None)
    for part in loc:
        if isinstance(node, PosDict) and part in node:
            best = node.where(part) or best
            node = node[part]
        elif isinstance(node, PosList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.where(part) or best
            node = node[part]
        elif isinstance(node, (dict, list)):
            continue
        else:
            break
    return best


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


def strip_positions(value: Any) -> Any:
    """Plain dict/list copy of a raw tree (for comparisons and dumping)."""
    if isinstance(value, dict):
        return {k: strip_positions(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_positions(v) for v in value]
    return value


def to_raw(value: Any) -> Any:
    """Plain dicts/lists (a spec built in Python) as a raw tree without positions."""
    if isinstance(value, PosDict | PosList):
        return value
    if isinstance(value, dict):
        out = PosDict()
        for k, v in value.items():
            out[k] = to_raw(v)
        return out
    if isinstance(value, (list, tuple)):
        return PosList([to_raw(v) for v in value])
    return value
