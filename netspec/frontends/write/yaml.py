"""Raw spec tree -> clean YAML (``netspec convert a.ns -o a.yaml``).

Written by hand rather than with ``yaml.dump`` so the result reads like the reference specs: layer
options in flow style on one line (``- conv2d: {filters: 6, kernel: 5}``), groups and blocks in block
style, short lists and mappings in flow style, and the source's comments carried over by line.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from netspec.core.fmt import show
from netspec.frontends.keys import BLOCK_CHILDREN, ITEM_KEYS, kind_class
from netspec.frontends.write.base import CannotWrite, CommentedLines, fmt_scalar, last_line, last_line_first
from netspec.frontends.write.comments import Comments

LINE = 100
_PLAIN = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*|\$[A-Za-z_][A-Za-z0-9_]*)\Z")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _plain_ok(s: str, in_flow: bool) -> bool:
    """Whether ``s`` reads back as the same string without quotes (here, in flow or block context)."""
    if _PLAIN.match(s):
        pass
    elif in_flow or not s or s != s.strip() or not s.isprintable() or s[0] in "-?:,[]{}#&*!|>'\"%@`$" or \
            ": " in s or " #" in s or s.endswith(":"):
        return False
    if _FLOAT.match(s):  # the YAML frontend reads 1e-3 as a number
        return False
    try:
        return yaml.safe_load(f"[{s}]" if in_flow else f"k: {s}") == ([s] if in_flow else {"k": s})
    except yaml.YAMLError:
        return False


def quote(s: str) -> str:
    out = ['"']
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c.isprintable() and c not in "\u2028\u2029\ufeff":
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    out.append('"')
    return "".join(out)


def scalar(v: Any, in_flow: bool = True) -> str:
    if isinstance(v, float) and math.isnan(v):
        return ".nan"
    if isinstance(v, float) and math.isinf(v):
        return ".inf" if v > 0 else "-.inf"
    text = fmt_scalar(v)
    if text is not None and isinstance(v, float):
        if "e" in text and not _FLOAT.match(text):  # pragma: no cover
            text = repr(v)
        if "e" not in text and "." not in text:
            text += ".0"
        if "e" in text:  # YAML 1.1 (PyYAML) reads `1e-6` as a string: it wants `1.0e-6`, and a signed exponent
            mantissa, _, exponent = text.partition("e")
            text = (mantissa if "." in mantissa else mantissa + ".0") + "e" + (
                exponent if exponent[:1] in "+-" else "+" + exponent)
    if text is not None:
        return text
    if isinstance(v, str):
        return v if _plain_ok(v, in_flow) else quote(v)
    raise CannotWrite(f"cannot write {show(v)} as a YAML scalar")


def flow(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(flow(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{key(k)}: {flow(x)}" for k, x in v.items()) + "}"
    return scalar(v)


def key(k: Any) -> str:
    if isinstance(k, bool) or k is None:
        raise CannotWrite(f"cannot write the key {show(k)}")
    if isinstance(k, (int, float)):
        return scalar(k)
    return scalar(str(k))


class YamlWriter(CommentedLines):
    def __init__(self, raw: Any, comments: Comments | None = None) -> None:
        super().__init__(comments)
        self.raw = raw

    def line(self, indent: int, text: str, start: Any = None, end: int | None = None) -> None:
        self.emit(" " * indent, text, start, end)

    # --- generic --------------------------------------------------------------------------------
    def entry(self, indent: int, k: Any, v: Any, where: Any) -> None:
        """``key: value``: flow when short and plain, else block style."""
        head = f"{key(k)}:"
        if not isinstance(v, (dict, list)):
            self.line(indent, f"{head} {scalar(v, in_flow=False)}", where, last_line(v))
        elif not v or len(" " * indent + head + " " + flow(v)) <= LINE:
            self.line(indent, f"{head} {flow(v)}", where, last_line(v))
        elif isinstance(v, dict):
            self.line(indent, head, where)
            for k2, v2 in v.items():
                self.entry(indent + 2, k2, v2, v.where(k2) if hasattr(v, "where") else None)
        else:
            self.line(indent, head, where)
            for i, x in enumerate(v):
                w = v.where(i) if hasattr(v, "where") else None
                self.line(indent + 2, f"- {flow(x)}", w, last_line(x))

    # --- the spec -------------------------------------------------------------------------------
    def spec(self) -> str:
        raw = self.raw
        if not isinstance(raw, dict):
            raise CannotWrite("a spec must be a mapping")
        previous = ""
        for k, v in raw.items():
            where = raw.where(k) if hasattr(raw, "where") else None
            group = {"netspec": "head", "name": "head", "description": "head"}.get(k, k)
            if group != previous and previous:
                self.blank()
            previous = group
            self.top_key(0, k, v, where)
        return self.text()

    def top_key(self, indent: int, k: str, v: Any, where: Any) -> None:
        if k == "layers":
            self.line(indent, "layers:", _head(where, v))
            self.items(indent + 2, v)
        elif k == "blocks" and isinstance(v, dict):
            self.line(indent, "blocks:", _head(where, v))
            for i, (name, bdef) in enumerate(v.items()):
                if i:
                    self.blank()
                self.block(indent + 2, name, bdef, v.where(name) if hasattr(v, "where") else None)
        elif k == "networks" and isinstance(v, dict):
            self.line(indent, "networks:", _head(where, v))
            for i, (name, net) in enumerate(v.items()):
                if i:
                    self.blank()
                w = v.where(name) if hasattr(v, "where") else None
                self.line(indent + 2, f"{key(name)}:", w)
                if not isinstance(net, dict):
                    raise CannotWrite(f"network '{name}' must be a mapping")
                for k2, v2 in net.items():
                    self.top_key(indent + 4, k2, v2, net.where(k2) if hasattr(net, "where") else None)
        elif k == "inputs" and isinstance(v, dict):
            self.line(indent, "inputs:", _head(where, v))
            for name, value in v.items():
                self.line(indent + 2, f"{key(name)}: {flow(value)}", v.where(name) if hasattr(v, "where") else None,
                          last_line(value))
        else:
            self.entry(indent, k, v, where)

    def block(self, indent: int, name: str, bdef: Any, where: Any) -> None:
        if not isinstance(bdef, dict):
            raise CannotWrite(f"block '{name}' must be a mapping")
        self.line(indent, f"{key(name)}:", where)
        first = [k for k in ("description", "params") if k in bdef]
        order = first + [k for k in bdef if k not in first]
        for k, v in ((k, bdef[k]) for k in order):
            w = bdef.where(k) if hasattr(bdef, "where") else None
            if k in BLOCK_CHILDREN and isinstance(v, list):
                self.line(indent + 2, f"{k}:", w)
                self.items(indent + 4, v)
            elif k == "params" and isinstance(v, dict):
                self.line(indent + 2, f"params: {flow(v)}", w, last_line(v))
            else:
                self.entry(indent + 2, k, v, w)

    # --- layers -----------------------------------------------------------------------------------
    def items(self, indent: int, items: Any) -> None:
        if not isinstance(items, list):
            raise CannotWrite("'layers' must be a list")
        if not items:
            self.out[-1] += " []"
            return
        for i, item in enumerate(items):
            self.item(indent, item, items.where(i) if hasattr(items, "where") else None)

    def item(self, indent: int, raw: Any, where: Any) -> None:
        if isinstance(raw, str):
            self.line(indent, f"- {scalar(raw)}", where)
            return
        if not isinstance(raw, dict):
            raise CannotWrite(f"a layer must be a kind name or a mapping, got {show(raw)}")
        kinds = [k for k in raw if k not in ITEM_KEYS]
        if len(kinds) != 1:
            raise CannotWrite(f"a layer item needs exactly one kind, got {kinds}")
        kind = kinds[0]
        value = raw[kind]
        rest = [(k, v) for k, v in raw.items() if k != kind]
        cls = kind_class(kind) if isinstance(kind, str) else None
        children = {k: d for k, d in (cls.CHILDREN.items() if cls else ())
                    if isinstance(value, dict) and isinstance(value.get(k), list)}
        if children:
            first = min((last_line_first(value[k]) for k in children), default=0)
            self.line(indent, f"- {key(kind)}:", where, first - 1 if first else None)
            self.structure(indent + 4, value, children)
        else:
            self.line(indent, f"- {key(kind)}: {flow(value)}" if value is not None else f"- {key(kind)}:", where,
                      last_line(raw))
        for k, v in rest:
            self.line(indent + 2, f"{key(k)}: {flow(v)}", raw.where(k) if hasattr(raw, "where") else None,
                      last_line(v))

    def structure(self, indent: int, args: dict, children: dict[str, int]) -> None:
        for k, v in args.items():
            w = args.where(k) if hasattr(args, "where") else None
            if children.get(k) == 2:
                self.line(indent, f"{key(k)}:", w)
                if not v:
                    self.out[-1] += " []"
                for j, branch in enumerate(v):
                    bw = v.where(j) if hasattr(v, "where") else None
                    if not isinstance(branch, list):
                        raise CannotWrite(f"'{k}' must be a list of layer lists")
                    if not branch:
                        self.line(indent + 2, "- []", bw)
                        continue
                    mark = len(self.out)
                    self.items(indent + 4, branch)
                    # the branch's first item: "    - x" -> "  - - x" (a list inside the list)
                    for n in range(mark, len(self.out)):
                        text = self.out[n]
                        if text.startswith(" " * (indent + 4) + "- "):
                            self.out[n] = " " * (indent + 2) + "- " + text[indent + 4:]
                            break
            elif children.get(k) == 1:
                self.line(indent, f"{key(k)}:", w)
                self.items(indent + 2, v)
            else:
                self.entry(indent, k, v, w)


def _head(where: Any, container: Any) -> Any:
    """The location for a container's ``key:`` line, unless its first entry is on the same source
    line (DSL sources, where `layers` is where the first layer is): then the entry takes the comments."""
    firsts = [loc.line for loc in list(getattr(container, "item_pos", []))[:1] + list(
        getattr(container, "key_pos", {}).values())[:1] if loc is not None]
    if where is not None and firsts and firsts[0] <= where.line:
        return None
    return where


def to_yaml(raw: Any, comments: Comments | None = None) -> str:
    """Clean YAML text for a raw spec tree (from either frontend)."""
    return YamlWriter(raw, comments).spec()
