"""The layer outline of a raw tree (YAML or DSL, with positions): each layer item with the lines it spans,
its children, the block definitions, and where every name is defined.

Positions here are 0-based (line, column), as editors count; :class:`~netspec.core.errors.Location` is
1-based.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netspec.core.errors import Location
from netspec.core.source import PosDict, PosList
from netspec.frontends.keys import ITEM_KEYS
from netspec.layers import canonical_kind, layer_class


@dataclass
class Item:
    """One layer item as written."""

    key: str  # the kind, alias or block name as written
    name: str | None
    line: int
    column: int
    end_line: int
    block: bool  # the key names a block, not a kind
    section: str  # "" for the top level, "networks.<name>" or "blocks.<name>"
    options: Any = None  # the options mapping as written (or the main option's value), None for a bare name
    children: list["Item"] = field(default_factory=list)


@dataclass
class Section:
    """A network (of a multi-network spec) or a block definition, with its items."""

    title: str
    what: str  # "network" or "block"
    line: int
    column: int
    end_line: int
    items: list[Item] = field(default_factory=list)


@dataclass
class Definition:
    """Where a name is defined: a named layer, an input, a block."""

    name: str
    section: str
    line: int
    column: int


def zero(loc: Location | None) -> tuple[int, int]:
    """A 1-based Location as a 0-based (line, column); the start of the text when there is none."""
    return (loc.line - 1, loc.column - 1) if loc is not None else (0, 0)


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("#")


class Outline:
    """Layer items, sections and definitions of one raw tree."""

    def __init__(self, raw: Any, lines: list[str], dsl: bool = False) -> None:
        self.lines = lines
        self.dsl = dsl
        self.sections: list[Section] = []
        self.items: list[Item] = []  # the top level's items (a single network); sections hold the others
        self.definitions: list[Definition] = []
        self.blocks: dict[str, Definition] = {}
        self.params: dict[str, list[str]] = {}  # block -> its parameter names
        self.param_defs: list[Definition] = []  # where each block's parameters are declared
        self.flat: list[Item] = []
        if not isinstance(raw, PosDict):
            return
        self._inputs(raw, "")
        blocks = raw.get("blocks")
        if isinstance(blocks, PosDict):
            for name, bdef in blocks.items():
                if not isinstance(name, str):
                    continue
                line, col = zero(blocks.where(name))
                self.blocks[name] = Definition(name, "blocks", line, col)
                params = bdef.get("params") if isinstance(bdef, dict) else None
                self.params[name] = [str(p) for p in params] if isinstance(params, dict) else []
                if isinstance(params, PosDict):
                    for param in params:
                        p_line, p_col = zero(params.where(param))
                        self.param_defs.append(Definition(str(param), f"blocks.{name}", p_line, p_col))
        if isinstance(blocks, PosDict):
            for name, bdef in blocks.items():
                if isinstance(name, str) and isinstance(bdef, PosDict):
                    line, col = zero(blocks.where(name))
                    section = Section(name, "block", line, col, self.end(line, col, key=True))
                    section.items = self.layer_list(bdef.get("layers"), f"blocks.{name}")
                    self.sections.append(section)
        networks = raw.get("networks")
        if isinstance(networks, PosDict):
            for name, net in networks.items():
                if not isinstance(net, PosDict):
                    continue
                line, col = zero(networks.where(name))
                section = Section(str(name), "network", line, col, self.end(line, col, key=True))
                self._inputs(net, f"networks.{name}")
                section.items = self.layer_list(net.get("layers"), f"networks.{name}")
                self.sections.append(section)
        else:
            self.items = self.layer_list(raw.get("layers"), "")

    # --- spans --------------------------------------------------------------------------------------
    def end(self, line: int, column: int, key: bool = False) -> int:
        """The last line of what starts at (line, column): the lines after it that are indented deeper
        (YAML continuation lines of an item align with its first key; a DSL body is indented)."""
        last = line
        deeper_than = column if (key or self.dsl) else column - 1
        for i in range(line + 1, len(self.lines)):
            text = self.lines[i]
            if not _content(text):
                continue
            if self.dsl and text.lstrip().startswith("}") and indent(text) == column:
                return i  # a DSL body's closing brace
            if indent(text) <= deeper_than:
                break
            last = i
        return last

    # --- items --------------------------------------------------------------------------------------
    def layer_list(self, raw: Any, section: str) -> list[Item]:
        if not isinstance(raw, list):
            return []
        out = []
        for i, entry in enumerate(raw):
            where = raw.where(i) if isinstance(raw, PosList) else getattr(raw, "pos", None)
            item = self.item(entry, where, section)
            if item is not None:
                out.append(item)
        return out

    def item(self, raw: Any, where: Location | None, section: str) -> Item | None:
        line, col = zero(where)
        key: Any = None
        options: Any = None
        name = None
        if isinstance(raw, str):
            key = raw
        elif isinstance(raw, PosDict) and isinstance(raw.get("kind"), str):
            key, options = raw["kind"], raw
        elif isinstance(raw, PosDict):
            keys = [k for k in raw if k not in ITEM_KEYS]
            if keys:
                key = keys[0]
                options = raw[key]
        if not isinstance(key, str):
            return None
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            name = raw["name"]
        elif isinstance(options, dict) and isinstance(options.get("name"), str):
            name = options["name"]
        canon = canonical_kind(key)
        item = Item(key, name, line, col, self.end(line, col), canon is None and key in self.blocks, section, options)
        if name:
            self.definitions.append(Definition(name, section, line, col))
        if canon is not None and isinstance(options, dict):
            for fld, depth in layer_class(canon).CHILDREN.items():
                value = options.get(fld)
                if depth == 1:
                    item.children += self.layer_list(value, section)
                elif isinstance(value, list):
                    for branch in value:
                        item.children += self.layer_list(branch, section)
        self.flat.append(item)
        return item

    def _inputs(self, net: PosDict, section: str) -> None:
        if "input" in net:
            line, col = zero(net.where("input"))
            self.definitions.append(Definition("input", section, line, col))
        inputs = net.get("inputs")
        if isinstance(inputs, PosDict):
            for name in inputs:
                line, col = zero(inputs.where(name))
                self.definitions.append(Definition(str(name), section, line, col))

    # --- look-ups -----------------------------------------------------------------------------------
    def owner(self, line: int) -> Item | None:
        """The innermost layer item whose lines hold ``line``."""
        best = None
        for item in self.flat:
            if item.line <= line <= item.end_line and (best is None or item.line >= best.line):
                best = item
        return best

    def section_of(self, line: int) -> str:
        for s in self.sections:
            if s.line <= line <= s.end_line:
                return f"{'blocks' if s.what == 'block' else 'networks'}.{s.title}"
        return ""

    def definition(self, name: str, line: int) -> Definition | None:
        """Where ``name`` (a layer, an input, a block) is defined, preferring the section of ``line``."""
        section = self.section_of(line)
        found = [d for d in self.definitions if d.name == name]
        for d in found:
            if d.section == section:
                return d
        if found:
            return found[0]
        return self.blocks.get(name)

    def parameter(self, name: str, line: int) -> Definition | None:
        """Where the block that holds ``line`` declares its parameter ``name`` (``$width``)."""
        section = self.section_of(line)
        return next((d for d in self.param_defs if d.name == name and d.section == section), None)

    def names(self, line: int) -> list[str]:
        """Names a ``from:`` on ``line`` may use: the section's layers and inputs, then the others."""
        section = self.section_of(line)
        mine = [d.name for d in self.definitions if d.section == section]
        return list(dict.fromkeys([*mine, *(d.name for d in self.definitions)]))
