"""DSL first pass: lark's tree -> small statement records (:class:`Statements`), values parsed and located."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Transformer, v_args

from netspec.core.errors import Location, Problem
from netspec.core.fmt import written
from netspec.core.source import PosDict, PosList, whole_number
from netspec.frontends.dsl.grammar import WORDS


@dataclass
class Val:
    """A value with where it starts; ``kind`` is the token kind for positional sugar."""

    kind: str  # int float size str expr word list map stride
    value: Any
    loc: Location
    text: str = ""


@dataclass
class Kw:
    """``key=value``; ``loc`` is the key's place, recording the value's (``Location.value_at``)."""

    key: str
    loc: Location
    value: Val


@dataclass
class Refs:
    refs: list[tuple[str, Location]]
    loc: Location


@dataclass
class Label:
    name: str
    loc: Location


@dataclass
class Repeat:
    value: Val


@dataclass
class Params:
    items: list[tuple[str, Location, Val | None]]
    loc: Location


@dataclass
class Stmt:
    what: str  # header description import input output expect train block network layer
    loc: Location
    parts: dict[str, Any] = field(default_factory=dict)


class Statements(Transformer):
    """lark tree -> Stmt/Val records (values already converted to plain Python with positions)."""

    def __init__(self, file: str, text: str) -> None:
        super().__init__()
        self.file = file
        self.text = text
        self.kept: list[Problem] = []  # problems after which the tree is still whole (a key given twice)

    def _loc(self, x: Any) -> Location:
        if isinstance(x, Token):
            return Location(self.file, x.line or 1, x.column or 1)
        return Location(self.file, getattr(x, "line", 1) or 1, getattr(x, "column", 1) or 1)

    def _slice(self, meta: Any) -> str:
        return re.sub(r"\s+", "", self.text[meta.start_pos:meta.end_pos])

    # --- values ---------------------------------------------------------------------------------
    @v_args(meta=True)
    def scalar(self, meta: Any, ch: list[Token]) -> Val:
        tok = ch[0]
        loc = self._loc(tok)
        kind = tok.type
        if kind == "INT":
            return Val("int", written(_whole(str(tok), loc), str(tok)), loc, str(tok))
        if kind == "FLOAT":  # a message quotes the number as the file writes it (1e-400, not 0.0)
            return Val("float", written(float(tok), str(tok)), loc, str(tok))
        if kind == "SIZE":  # each number at its own column (`3x9`: an error about the 9 points at the 9)
            return Val("size", PosList(_size(str(tok), loc), pos=loc, item_pos=_size_places(str(tok), loc)), loc,
                       str(tok))
        if kind == "STRING":
            return Val("str", _string(str(tok), loc), loc, str(tok))
        if kind == "EXPR":
            return Val("expr", str(tok), loc, str(tok))
        word = str(tok)
        if word in WORDS:
            return Val("const", WORDS[word], loc, word)
        return Val("word", word, loc, word)

    @v_args(meta=True)
    def list(self, meta: Any, ch: list[Val]) -> Val:
        loc = Location(self.file, meta.line, meta.column)
        return Val("list", PosList([v.value for v in ch], pos=loc, item_pos=[v.loc for v in ch]), loc)

    @v_args(meta=True)
    def mapping(self, meta: Any, ch: list[tuple[str, Location, Val]]) -> Val:
        loc = Location(self.file, meta.line, meta.column)
        out = PosDict(pos=loc)
        for key, kloc, val in ch:
            if key in out:  # said, at its place, with where the first is; the first kept (the tree stays whole)
                first = out.key_pos.get(key)
                where = f"line {first.line}, column {first.column}" if first is not None else "above"
                self.kept.append(Problem(f"duplicate key '{key}': it is first written at {where}", kloc,
                                         hint="each key may appear once in a mapping; remove one of them"))
                continue
            out[key] = val.value
            out.key_pos[key] = kloc.with_value(val.loc)
        return Val("map", out, loc)

    @v_args(meta=True)
    def entry(self, meta: Any, ch: list[Any]) -> tuple[str, Location, Val]:
        key, kloc = ch[0]
        return key, kloc, ch[1]

    @v_args(meta=True)
    def key(self, meta: Any, ch: list[Token]) -> tuple[str, Location]:
        loc = self._loc(ch[0])
        if ch[0].type == "STRING":
            return _string(str(ch[0]), loc), loc
        return ".".join(str(t) for t in ch), loc

    @v_args(meta=True)
    def kwarg(self, meta: Any, ch: list[Any]) -> Kw:
        key, at = ch[0], ch[1].loc  # one location: the key's, recording where its value starts
        return Kw(str(key), Location(self.file, key.line or 1, key.column or 1, (at.line, at.column)), ch[1])

    @v_args(meta=True)
    def stride(self, meta: Any, ch: list[Token]) -> Val:
        inner = self.scalar(meta, ch)
        return Val("stride", inner.value, Location(self.file, meta.line, meta.column), "/" + inner.text)

    @v_args(meta=True)
    def ref(self, meta: Any, ch: list[Token]) -> tuple[str, Location]:
        if ch[0].type == "EXPR":  # `$skip`, `${...}`: a block parameter, substituted when the block is used
            return str(ch[0]), self._loc(ch[0])
        return self._slice(meta), self._loc(ch[0])

    @v_args(meta=True)
    def from_clause(self, meta: Any, ch: list[Any]) -> Refs:
        return Refs([c for c in ch[1:]], self._loc(ch[0]))

    @v_args(meta=True)
    def label(self, meta: Any, ch: list[Token]) -> "Label":
        return Label(str(ch[0]), self._loc(ch[0]))

    @v_args(meta=True)
    def repeat(self, meta: Any, ch: list[Token]) -> "Repeat":
        return Repeat(self.scalar(meta, ch[1:]))

    @v_args(meta=True)
    def body(self, meta: Any, ch: list[Stmt]) -> list[Stmt]:
        return ch

    @v_args(meta=True)
    def param(self, meta: Any, ch: list[Any]) -> tuple[str, Location, Val | None]:
        return str(ch[0]), self._loc(ch[0]), ch[1] if len(ch) > 1 else None

    @v_args(meta=True)
    def params(self, meta: Any, ch: list[Any]) -> "Params":
        return Params(ch, Location(self.file, meta.line, meta.column))

    # --- statements -----------------------------------------------------------------------------
    def _layer(self, meta: Any, ch: list[Any], has_body: bool) -> Stmt:
        parts: dict[str, Any] = {"label": None, "repeat": None, "args": [], "from": None, "body": None}
        if has_body:
            parts["body"] = ch[-1]
            ch = ch[:-1]
        for c in ch:
            if isinstance(c, Label):
                parts["label"] = (c.name, c.loc)
            elif isinstance(c, Repeat):
                parts["repeat"] = c.value
            elif isinstance(c, Token) and "kind" not in parts:
                parts["kind"] = (str(c), self._loc(c))
            elif isinstance(c, Refs):
                if parts["from"] is not None:
                    raise Fail("'from' is given twice", c.loc, "list every input once: 'from a, b'")
                parts["from"] = c
            else:
                parts["args"].append(c)
        return Stmt("layer", Location(self.file, meta.line, meta.column), parts)

    @v_args(meta=True)
    def layer(self, meta: Any, ch: list[Any]) -> Stmt:
        return self._layer(meta, ch, False)

    @v_args(meta=True)
    def group(self, meta: Any, ch: list[Any]) -> Stmt:
        return self._layer(meta, ch, True)

    @v_args(meta=True)
    def header(self, meta: Any, ch: list[Token]) -> Stmt:
        parts: dict[str, Any] = {"kw": self._loc(ch[0])}
        for tok in ch[1:]:
            if tok.type == "INT":
                parts["version"] = (_whole(str(tok), self._loc(tok)), self._loc(tok))
            else:
                value = _string(str(tok), self._loc(tok)) if tok.type == "STRING" else str(tok)
                parts["name"] = (value, self._loc(tok))
        return Stmt("header", self._loc(ch[0]), parts)

    @v_args(meta=True)
    def description(self, meta: Any, ch: list[Token]) -> Stmt:
        loc = self._loc(ch[1])
        return Stmt("description", self._loc(ch[0]), {"value": Val("str", _string(str(ch[1]), loc), loc)})

    @v_args(meta=True)
    def import_stmt(self, meta: Any, ch: list[Token]) -> Stmt:
        loc = self._loc(ch[1])
        return Stmt("import", self._loc(ch[0]), {"value": Val("str", _string(str(ch[1]), loc), loc)})

    @v_args(meta=True)
    def input(self, meta: Any, ch: list[Any]) -> Stmt:
        parts: dict[str, Any] = {"name": None, "opts": []}
        for c in ch[1:]:
            if isinstance(c, Token) and parts["name"] is None and "value" not in parts:
                parts["name"] = (str(c), self._loc(c))
            elif isinstance(c, Token):
                parts["opts"].append(Val("word", str(c), self._loc(c), str(c)))
            elif "value" not in parts:
                parts["value"] = c
            else:
                parts["opts"].append(c)
        return Stmt("input", self._loc(ch[0]), parts)

    @v_args(meta=True)
    def output(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("output", self._loc(ch[0]), {"refs": ch[1:]})

    @v_args(meta=True)
    def expect(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("expect", self._loc(ch[0]), {"entries": ch[1:]})

    @v_args(meta=True)
    def train(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("train", self._loc(ch[0]), {"entries": ch[1:]})

    @v_args(meta=True)
    def block(self, meta: Any, ch: list[Any]) -> Stmt:
        parts: dict[str, Any] = {"name": (str(ch[1]), self._loc(ch[1])), "params": None, "args": [], "body": ch[-1]}
        for c in ch[2:-1]:
            if isinstance(c, Params):
                parts["params"] = (c.items, c.loc)
            else:
                parts["args"].append(c)
        return Stmt("block", self._loc(ch[0]), parts)

    @v_args(meta=True)
    def network(self, meta: Any, ch: list[Any]) -> Stmt:
        return Stmt("network", self._loc(ch[0]), {"name": (str(ch[1]), self._loc(ch[1])), "body": ch[2:]})

    @v_args(meta=True)
    def start(self, meta: Any, ch: list[Stmt]) -> list[Stmt]:
        return ch


class Fail(Exception):
    """A located problem found while transforming (turned into a SpecSyntaxError)."""

    def __init__(self, message: str, loc: Location | None, hint: str = "") -> None:
        super().__init__(message)
        self.problem = Problem(message, loc, hint=hint)


def _whole(text: str, loc: Location) -> int:
    try:
        return whole_number(text)
    except ValueError as exc:
        raise Fail(str(exc), loc, "sizes and counts are small whole numbers") from None


def _size(text: str, loc: Location) -> list[int]:
    """`3x3` -> [3, 3]: one value per axis, as written (never shortened to one number, so a size with the
    wrong number of axes is refused like YAML's list: `conv1d 8 3x3` is two values for one axis)."""
    return [_whole(p, loc) for p in text.split("x")]


def _size_places(text: str, loc: Location) -> list[Location]:
    """Where each number of a size token (`3x9`, one line) starts."""
    places, column = [], loc.column
    for part in text.split("x"):
        places.append(Location(loc.file, loc.line, column))
        column += len(part) + 1
    return places


def _string(text: str, loc: Location) -> str:
    try:
        value = json.loads(text, strict=False)  # (tabs may stand in a string as they are)
    except ValueError:
        raise Fail(f"bad escape in string {text[:40]}", loc,
                    'strings use JSON escapes: \\" \\\\ \\n \\t \\uXXXX') from None
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise Fail("a string may not contain a lone surrogate escape", loc)
    return value

