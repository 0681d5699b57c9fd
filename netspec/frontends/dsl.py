"""DSL frontend: ``.ns`` text -> the raw tree (PosDict/PosList with locations) YAML would give.

The grammar (``grammar/netspec.lark``, shipped as ``netspec.grammar``) knows statements and values
but no layer kinds. A layer line is ``[label:] [repeat N] kind positional... key=value... [from a, b]
[{ body }]``; here the kind and its positional sugar are resolved through the layer registry:

* a bare number, ``$param``, string or list -> the kind's ``PRIMARY`` field (``dense 120``);
* ``5x5`` -> ``kernel`` (5; ``3x5`` -> [3, 5]); ``/2`` -> ``stride``;
* a bare word -> ``activation`` when it names one, else the one field whose allowed values include
  it (``same`` -> padding, ``concat`` -> merge).

A block instance takes its parameters positionally in declaration order (``bottleneck 64 /2``).
Parsing happens in two steps: lark parses and :class:`_Ast` turns the tree into small statement
records; :class:`_Builder` then builds the raw tree (it needs every block's parameters, so blocks
may be used before they are defined). Every problem is a located ``SpecSyntaxError``.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from netspec.errors import Location, NetspecError, Problem, SpecSyntaxError, did_you_mean
from netspec.source import MAX_TEXT_BYTES, PosDict, PosList

MAX_NESTING = 48  # brackets/braces; keeps the (recursive) tree transform far from Python's stack limit
KEYWORDS = ("netspec", "description", "input", "inputs", "output", "outputs", "expect", "train", "network",
            "block", "repeat", "from")
COMMON_KEYS = ("name", "from", "repeat")  # kwargs that go on the layer item, as in YAML
NOT_BARE = ("kind", "name", "from", "trainable", "init", "block", "args")  # fields never set by a bare word
WORDS = {"true": True, "false": False, "null": None}
BLOCK_CHILDREN = {"layers": 1, "shortcut": 1}

# ------------------------------------------------------------------------------------------------
# the parser


def grammar_text() -> str:
    """The grammar: from the installed ``netspec.grammar`` package, or ``grammar/`` in a checkout."""
    try:
        from importlib.resources import files

        return files("netspec.grammar").joinpath("netspec.lark").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        path = Path(__file__).resolve().parents[2] / "grammar" / "netspec.lark"
        return path.read_text(encoding="utf-8")


_PARSER: Lark | None = None


def parser() -> Lark:
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark(grammar_text(), parser="lalr", lexer="contextual", propagate_positions=True,
                       maybe_placeholders=False)
    return _PARSER


# ------------------------------------------------------------------------------------------------
# statement records (the first pass)


@dataclass
class Val:
    """A value with where it starts; ``kind`` is the token kind for positional sugar."""

    kind: str  # int float size str expr word list map stride
    value: Any
    loc: Location
    text: str = ""


@dataclass
class Kw:
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
    what: str  # header description input output expect train block network layer
    loc: Location
    parts: dict[str, Any] = field(default_factory=dict)


class _Ast(Transformer):
    """lark tree -> Stmt/Val records (values already converted to plain Python with positions)."""

    def __init__(self, file: str, text: str) -> None:
        super().__init__()
        self.file = file
        self.text = text

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
            return Val("int", int(tok), loc, str(tok))
        if kind == "FLOAT":
            return Val("float", float(tok), loc, str(tok))
        if kind == "SIZE":
            size = _size(str(tok))
            return Val("size", PosList(size, pos=loc) if isinstance(size, list) else size, loc, str(tok))
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
            if key in out:
                raise _Fail(f"duplicate key '{key}'", kloc, "each key may appear once in a mapping")
            out[key] = val.value
            out.key_pos[key] = kloc
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
        return Kw(str(ch[0]), self._loc(ch[0]), ch[1])

    @v_args(meta=True)
    def stride(self, meta: Any, ch: list[Token]) -> Val:
        inner = self.scalar(meta, ch)
        return Val("stride", inner.value, Location(self.file, meta.line, meta.column), "/" + inner.text)

    @v_args(meta=True)
    def ref(self, meta: Any, ch: list[Token]) -> tuple[str, Location]:
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
                    raise _Fail("'from' is given twice", c.loc, "list every input once: 'from a, b'")
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
                parts["version"] = (int(tok), self._loc(tok))
            else:
                value = _string(str(tok), self._loc(tok)) if tok.type == "STRING" else str(tok)
                parts["name"] = (value, self._loc(tok))
        return Stmt("header", self._loc(ch[0]), parts)

    @v_args(meta=True)
    def description(self, meta: Any, ch: list[Token]) -> Stmt:
        loc = self._loc(ch[1])
        return Stmt("description", self._loc(ch[0]), {"value": Val("str", _string(str(ch[1]), loc), loc)})

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


class _Fail(Exception):
    """A located problem found while transforming (turned into a SpecSyntaxError)."""

    def __init__(self, message: str, loc: Location | None, hint: str = "") -> None:
        super().__init__(message)
        self.problem = Problem(message, loc, hint=hint)


def _size(text: str) -> int | list[int]:
    parts = [int(p) for p in text.split("x")]
    return parts[0] if len(set(parts)) == 1 else parts


def _string(text: str, loc: Location) -> str:
    try:
        value = json.loads(text, strict=False)  # (tabs may stand in a string as they are)
    except ValueError:
        raise _Fail(f"bad escape in string {text[:40]}", loc,
                    'strings use JSON escapes: \\" \\\\ \\n \\t \\uXXXX') from None
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise _Fail("a string may not contain a lone surrogate escape", loc)
    return value


# ------------------------------------------------------------------------------------------------
# registry look-ups shared with the writer


def literal_words(cls: type) -> dict[str, list[str]]:
    """word -> fields of a layer class whose allowed values include that word."""
    cache = _LITERALS.get(cls)
    if cache is not None:
        return cache
    out: dict[str, list[str]] = {}
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if key in NOT_BARE:
            continue
        for word in _literals(info.annotation):
            if isinstance(word, str):
                out.setdefault(word, []).append(key)
    _LITERALS[cls] = out
    return out


_LITERALS: dict[type, dict[str, list[str]]] = {}


def _literals(annotation: Any, depth: int = 0) -> list[Any]:
    if depth > 6:
        return []
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    out = []
    for arg in typing.get_args(annotation):
        out.extend(_literals(arg, depth + 1))
    return out


def word_field(cls: type, word: str) -> str | None:
    """The field a bare word sets for this layer class, or None (unknown or ambiguous)."""
    from netspec.layers.base import ACTIVATIONS, field_names

    fields = field_names(cls)
    if "activation" in fields and word in ACTIVATIONS:
        return "activation"
    hits = [f for f in literal_words(cls).get(word, []) if f != "activation"]
    return hits[0] if len(set(hits)) == 1 else None


def kind_info(kind: str) -> type | None:
    from netspec.layers import canonical_kind, layer_class

    canon = canonical_kind(kind)
    return layer_class(canon) if canon else None


# ------------------------------------------------------------------------------------------------
# the second pass: statement records -> raw tree


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.blocks: dict[str, list[str]] = {}

    def fail(self, message: str, loc: Location | None, hint: str = "") -> None:
        self.problems.append(Problem(message, loc, hint=hint))

    def put(self, mapping: PosDict, key: str, value: Any, loc: Location, what: str = "") -> None:
        if key in mapping:
            first = mapping.where(key)
            self.fail(f"{what or repr(key)} is given twice", loc,
                      f"the first is on line {first.line}" if first else "")
            return
        mapping[key] = value
        mapping.key_pos[key] = loc

    # --- top level ------------------------------------------------------------------------------
    def spec(self, stmts: list[Stmt]) -> PosDict:
        root = PosDict(pos=stmts[0].loc if stmts else Location(self.file, 1, 1))
        for s in stmts:
            if s.what == "block":
                name = s.parts["name"][0]
                params = s.parts["params"][0] if s.parts["params"] else []
                self.blocks.setdefault(name, [p[0] for p in params])
        for s in stmts:
            if s.what == "header":
                if "netspec" in root:
                    self.fail("'netspec' is given twice", s.loc)
                    continue
                version = s.parts.get("version")
                self.put(root, "netspec", version[0] if version else 1, version[1] if version else s.loc)
                if "name" in s.parts:
                    self.put(root, "name", s.parts["name"][0], s.parts["name"][1])
            elif s.what == "block":
                blocks = root.setdefault("blocks", PosDict(pos=s.loc))
                if "blocks" not in root.key_pos:
                    root.key_pos["blocks"] = s.loc
                name, nloc = s.parts["name"]
                self.put(blocks, name, self.block_def(s), nloc, f"block '{name}'")
            elif s.what == "network":
                nets = root.setdefault("networks", PosDict(pos=s.loc))
                if "networks" not in root.key_pos:
                    root.key_pos["networks"] = s.loc
                name, nloc = s.parts["name"]
                net = PosDict(pos=s.loc)
                for sub in s.parts["body"]:
                    self.network_stmt(net, sub)
                self.put(nets, name, net, nloc, f"network '{name}'")
            elif s.what == "train":
                self.merge(root, "train", s)
            else:
                self.network_stmt(root, s)
        return root

    def network_stmt(self, net: PosDict, s: Stmt) -> None:
        if s.what == "description":
            self.put(net, "description", s.parts["value"].value, s.loc, "'description'")
        elif s.what == "input":
            self.input(net, s)
        elif s.what == "output":
            refs = s.parts["refs"]
            value: Any = refs[0][0] if len(refs) == 1 else PosList([r[0] for r in refs], pos=s.loc,
                                                                       item_pos=[r[1] for r in refs])
            self.put(net, "outputs", value, s.loc, "'output'")
        elif s.what == "expect":
            self.merge(net, "expect", s)
        elif s.what == "layer":
            layers = net.get("layers")
            if layers is None:
                layers = net["layers"] = PosList([], pos=s.loc, item_pos=[])
                net.key_pos["layers"] = s.loc
            item = self.item(s)
            if item is not None:
                layers.append(item)
                layers.item_pos.append(s.loc)
        else:  # pragma: no cover - the grammar allows nothing else here
            self.fail(f"'{s.what}' is not allowed here", s.loc)

    def merge(self, owner: PosDict, key: str, s: Stmt) -> None:
        """`expect a=1 b=2` or `expect { ... }`; several lines add to one mapping."""
        target = owner.get(key)
        if target is None:
            target = owner[key] = PosDict(pos=s.loc)
            owner.key_pos[key] = s.loc
        for entry in s.parts["entries"]:
            if isinstance(entry, Kw):
                self.put(target, entry.key, entry.value.value, entry.loc, f"'{key} {entry.key}'")
            else:  # a mapping
                for k, v in entry.value.items():
                    self.put(target, k, v, entry.value.where(k), f"'{key} {k}'")

    def input(self, net: PosDict, s: Stmt) -> None:
        value_node = s.parts["value"]
        if isinstance(value_node, Refs):
            if len(value_node.refs) != 1:
                self.fail("an input comes from one network", value_node.loc, "write 'input z from encoder'")
                return
            source_key, value = "from", value_node.refs[0][0]
        else:
            source_key, value = "shape", value_node.value
        opts = s.parts["opts"]
        if opts:
            full = PosDict(pos=value_node.loc)
            full[source_key] = value
            full.key_pos[source_key] = value_node.loc
            for opt in opts:
                if isinstance(opt, Kw):
                    self.put(full, opt.key, opt.value.value, opt.loc)
                elif opt.value in ("float", "long"):
                    self.put(full, "dtype", opt.value, opt.loc, "the dtype")
                else:
                    self.fail(f"unexpected '{opt.text or opt.value}' after the input shape", opt.loc,
                              "an input line is 'input [name] [shape] [float|long]' or 'input name from network'")
            value = full
        name = s.parts["name"]
        if name is None:
            self.put(net, "input", value, s.loc, "'input'")
        else:
            inputs = net.get("inputs")
            if inputs is None:
                inputs = net["inputs"] = PosDict(pos=s.loc)
                net.key_pos["inputs"] = s.loc
            self.put(inputs, name[0], value, name[1], f"input '{name[0]}'")

    # --- blocks ---------------------------------------------------------------------------------
    def block_def(self, s: Stmt) -> PosDict:
        from netspec.layers.base import ACTIVATIONS

        out = PosDict(pos=s.loc)
        if s.parts["params"] is not None:
            plist, ploc = s.parts["params"]
            params = PosDict(pos=ploc)
            for pname, pl, default in plist:
                self.put(params, pname, default.value if default is not None else None, pl, f"parameter '{pname}'")
            out["params"] = params
            out.key_pos["params"] = ploc
        for arg in s.parts["args"]:
            if isinstance(arg, Kw):
                self.put(out, arg.key, arg.value.value, arg.loc)
            elif arg.kind == "word" and arg.value == "residual":
                self.put(out, "residual", True, arg.loc, "'residual'")
            elif arg.kind == "word" and arg.value in ACTIVATIONS:
                self.put(out, "activation", arg.value, arg.loc, "the activation")
            else:
                self.fail(f"unexpected '{arg.text}' in a block header", arg.loc,
                          "a block header is 'block name(param, param=default) [residual] [activation] "
                          "[key=value...] { layers }'")
        self.children(out, s.parts["body"], BLOCK_CHILDREN, s.loc, "a block", description=True)
        return out

    # --- layers ---------------------------------------------------------------------------------
    def item(self, s: Stmt) -> Any:
        p = s.parts
        kind, kloc = p["kind"]
        top = PosDict(pos=s.loc)
        if p["label"] is not None:
            top["name"] = p["label"][0]
            top.key_pos["name"] = p["label"][1]
        if p["repeat"] is not None:
            top["repeat"] = p["repeat"].value
            top.key_pos["repeat"] = p["repeat"].loc
        if p["from"] is not None:
            refs = p["from"].refs
            top["from"] = refs[0][0] if len(refs) == 1 else PosList([r[0] for r in refs], pos=refs[0][1],
                                                                     item_pos=[r[1] for r in refs])
            top.key_pos["from"] = p["from"].loc
        args = PosDict(pos=kloc)
        bare = [a for a in p["args"] if not isinstance(a, Kw)]
        cls = None if kind in self.blocks else kind_info(kind)
        skip = 0  # after a slip, the positional values it swallowed (no cascade of follow-up errors)
        for arg in p["args"]:
            if isinstance(arg, Kw) and arg.key in COMMON_KEYS:
                self.put(top, arg.key, arg.value.value, arg.loc, f"'{arg.key}'")
            elif isinstance(arg, Kw):
                self.put(args, arg.key, arg.value.value, arg.loc, f"'{arg.key}'")
            elif skip:
                skip -= 1
            elif cls is not None:
                skip = self.layer_arg(kind, cls, args, arg)
        if kind in self.blocks:
            self.block_args(kind, args, bare)
            if p["body"] is not None:
                self.fail(f"block '{kind}' takes no body", kloc, "its layers are in its definition")
        else:
            if cls is None:
                self.unknown(kind, kloc, bare)
                if p["body"] is not None:
                    self.children(args, p["body"], {"layers": 1}, kloc, f"'{kind}'")
            else:
                if p["body"] is not None:
                    if not cls.CHILDREN:
                        self.fail(f"'{kind}' takes no {{ body }}", kloc,
                                  "only groups (sequential, residual, parallel) and block definitions have bodies")
                    else:
                        self.children(args, p["body"], cls.CHILDREN, kloc, f"'{kind}'")
        if not args and not top and p["body"] is None:
            return kind
        item = PosDict(pos=s.loc)
        item[kind] = args
        item.key_pos[kind] = kloc
        for key, value in top.items():
            item[key] = value
            item.key_pos[key] = top.key_pos[key]
        return item

    def unknown(self, kind: str, kloc: Location, bare: list[Val]) -> None:
        """Unknown kinds are left to validation (which suggests names), except a missing label colon."""
        if bare and bare[0].kind == "word" and (kind_info(bare[0].value) or bare[0].value in self.blocks):
            self.fail(f"unknown layer kind '{kind}'", kloc,
                      f"missing ':'? write '{kind}: {bare[0].value} ...' to name the layer '{kind}'")

    def layer_arg(self, kind: str, cls: type, args: PosDict, val: Val) -> int:
        """One positional value of a layer line: which field it sets (see the module doc). Returns how
        many of the following values to skip after a problem (1 after `stride 2`, all after a kind)."""
        from netspec.layers.base import field_names

        fields = field_names(cls)
        primary = cls.PRIMARY
        key: str | None
        if val.kind == "stride":
            key = "stride" if "stride" in fields else None
            if key is None:
                self.fail(f"'{kind}' has no stride; '{val.text}' does not apply", val.loc, self.options_hint(cls))
                return 0
        elif val.kind == "size":
            key = "kernel" if "kernel" in fields else primary
            if key is None:
                self.fail(f"'{kind}' takes no size such as {val.text}", val.loc, self.options_hint(cls))
                return 0
        elif val.kind == "word":
            key = word_field(cls, val.value)
            if key is None:
                return self.bad_word(kind, cls, val)
        elif val.kind == "const":
            self.fail(f"a bare '{val.text}' is ambiguous", val.loc, f"write option={val.text}")
            return 0
        else:
            key = primary
            if key is None:
                self.fail(f"'{kind}' takes no bare value {val.text or val.value!r}", val.loc, self.options_hint(cls))
                return 0
        if key in args:
            self.fail(f"'{key}' of {kind} is given twice", val.loc,
                      f"a bare value sets {key}; write the others as key=value" if key == primary else "")
            return 0
        args[key] = val.value
        args.key_pos[key] = val.loc
        return 0

    def options_hint(self, cls: type) -> str:
        from netspec.layers.base import field_names

        opts = [f for f in field_names(cls) if f not in ("kind", "block", "args")]
        return f"write key=value; options: {', '.join(opts)}" if opts else "it takes no options"

    def bad_word(self, kind: str, cls: type, val: Val) -> int:
        from netspec.layers.base import ACTIVATIONS, field_names

        word = val.value
        fields = field_names(cls)
        skip = 0
        if word in fields:
            hint = f"missing '='? write {word}=..."
            skip = 1
        elif kind_info(word) is not None or word in self.blocks:
            hint = "put each layer on its own line (or separate them with ';')"
            skip = 1 << 30
        else:
            allowed = list(literal_words(cls))
            if "activation" in fields:
                allowed += list(ACTIVATIONS)
            hint = did_you_mean(word, allowed + fields) or self.options_hint(cls)
        hits = literal_words(cls).get(word, [])
        if len(set(hits)) > 1:
            hint = f"'{word}' could set {' or '.join(sorted(set(hits)))}; write the key"
        self.fail(f"'{kind}' does not take a bare '{word}'", val.loc, hint)
        return skip

    def block_args(self, kind: str, args: PosDict, bare: list[Val]) -> None:
        from netspec.layers.base import ACTIVATIONS

        params = self.blocks[kind]
        plain: list[Val] = []
        for val in bare:
            key = None
            if val.kind == "stride" and "stride" in params:
                key = "stride"
            elif val.kind == "size" and "kernel" in params:
                key = "kernel"
            elif val.kind == "word" and val.value in ACTIVATIONS and "activation" in params:
                key = "activation"
            if key is None:
                plain.append(val)
                continue
            if key in args:
                self.fail(f"'{key}' of block '{kind}' is given twice", val.loc)
                continue
            args[key] = val.value
            args.key_pos[key] = val.loc
        free = [p for p in params if p not in args]
        for i, val in enumerate(plain):
            if i >= len(free):
                self.fail(f"block '{kind}' takes {len(params)} parameter(s) ({', '.join(params) or 'none'}); "
                          f"'{val.text or val.value}' is one too many", val.loc)
                break
            args[free[i]] = val.value
            args.key_pos[free[i]] = val.loc
        ordered = [k for k in params if k in args] + [k for k in args if k not in params]
        items = [(k, args[k], args.key_pos.get(k)) for k in ordered]
        args.clear()
        for k, v, loc in items:  # the parameters in declaration order, as the definition reads
            args[k] = v
            args.key_pos[k] = loc

    def children(self, args: PosDict, body: list[Stmt], children: dict[str, int], loc: Location, what: str,
                 description: bool = False) -> None:
        """A `{ body }`: layers of the first list field; `field { ... }` another; `branch { ... }` branches."""
        default = next((f for f, d in children.items() if d == 1), None)
        nested = next((f for f, d in children.items() if d == 2), None)
        items = PosList([], pos=loc, item_pos=[])
        branches = PosList([], pos=loc, item_pos=[])
        fields_given = False
        for s in body:
            if s.what == "description":
                if description:
                    self.put(args, "description", s.parts["value"].value, s.loc, "'description'")
                else:
                    self.fail("only block definitions and networks have a description", s.loc,
                              "use a # comment here")
                continue
            p = s.parts
            kind, kloc = p["kind"]
            plain = p["label"] is None and p["repeat"] is None and not p["args"] and p["from"] is None
            if plain and p["body"] is not None and kind in children and kind != default:
                fields_given = True
                target = PosList([], pos=kloc, item_pos=[])
                if children[kind] == 1:
                    self.items_into(target, p["body"])
                else:
                    for sub in p["body"]:
                        self.branch(target, sub, kind)
                self.put(args, kind, target, kloc, f"'{kind}'")
            elif plain and p["body"] is not None and kind == default:
                self.items_into(items, p["body"])
            elif plain and p["body"] is not None and kind == "branch" and nested is not None:
                self.branch(branches, s, nested)
            elif default is None:
                self.fail(f"{what} body holds 'branch {{ ... }}' groups", s.loc,
                          "write 'branch { conv 64 1x1 }' for each branch")
            else:
                self.items_into(items, [s])
        empty = not body or not fields_given and not items and not branches
        if default is not None and (items or empty and nested is None):
            self.put(args, default, items, loc, f"'{default}'")
        if nested is not None and (branches or empty):
            self.put(args, nested, branches, loc, f"'{nested}'")

    def branch(self, target: PosList, s: Stmt, field_name: str) -> None:
        p = s.parts
        plain = p["label"] is None and p["repeat"] is None and not p["args"] and p["from"] is None
        if not (plain and p["body"] is not None and p["kind"][0] == "branch"):
            self.fail(f"'{field_name}' holds 'branch {{ ... }}' groups", s.loc,
                      "write 'branch { conv 64 1x1 }' for each branch")
            return
        sub = PosList([], pos=s.loc, item_pos=[])
        self.items_into(sub, p["body"])
        target.append(sub)
        target.item_pos.append(s.loc)

    def items_into(self, target: PosList, body: list[Stmt]) -> None:
        for sub in body:
            item = self.item(sub)
            if item is not None:
                target.append(item)
                target.item_pos.append(sub.loc)


# ------------------------------------------------------------------------------------------------
# syntax errors in words

_TERMINAL_WORDS = {
    "NAME": "a name", "INT": "a number", "FLOAT": "a number", "SIZE": "a size such as 5x5",
    "STRING": 'a "string"', "EXPR": "a $parameter", "_NL": "a new line", "SEMICOLON": "';'",
    "$END": "the end of the file", "VALUE": "a value",
}
_STATEMENT_START = {"NETSPEC", "INPUT", "BLOCK", "NETWORK", "TRAIN"}
_KEYWORD_TYPES = {"NETSPEC", "DESCRIPTION", "INPUT", "INPUTS", "OUTPUT", "OUTPUTS", "EXPECT", "TRAIN", "NETWORK",
                  "BLOCK", "REPEAT"}


_VALUES = {"INT", "FLOAT", "SIZE", "STRING", "EXPR", "NAME"}


def _expected_words(expected: set[str]) -> str:
    if not expected:
        return ""
    if _STATEMENT_START & expected or ("REPEAT" in expected and "NAME" in expected):
        return "a layer line (such as 'conv 6 5x5 relu') or a statement (input, output, block, expect...)"
    if "SLASH" in expected and "FROM" in expected:
        return "a layer option (6, 5x5, /2, relu, key=value, from a), '{' or the end of the line"
    if len(_VALUES & expected) >= 4:
        expected = (expected - _VALUES) | {"VALUE"}
    words = []
    p = parser()
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        else:
            try:
                pattern = p.get_terminal(name).pattern
                word = f"'{pattern.value}'" if pattern.type == "str" else name.lower()
            except KeyError:
                word = name.lower()
        if word not in words:
            words.append(word)
    # order: values first, punctuation after
    words.sort(key=lambda w: (w.startswith("'"), w))
    if len(words) > 7:
        words = words[:6] + ["..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _show_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    if tok.type in ("_NL",):
        return "end of line"
    text = str(tok)
    return f"'{text[:30]}'" + ("..." if len(text) > 30 else "")


def snippet(text: str, line: int, column: int) -> str:
    """The source line and a caret under ``column`` (1-based)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    src = lines[line - 1].replace("\t", " ").rstrip("\r")
    src = "".join(c if c.isprintable() else " " for c in src)
    col = max(1, min(column, len(src) + 1))
    if len(src) > 100:  # keep long lines readable around the caret
        start = max(0, col - 60)
        src = ("…" if start else "") + src[start:start + 100]
        col = col - start + (1 if start else 0)
    return f"\n    {src}\n    {' ' * (col - 1)}^"


def _brackets(text: str, file: str) -> tuple[list[tuple[str, int, int]], Problem | None]:
    """Scan brackets outside strings and comments: the still-open ones, and a nesting problem."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    problem = None
    for line_no, line in enumerate(text.split("\n"), start=1):
        j, n = 0, len(line)
        while j < n:
            c = line[j]
            if c == "#":
                break
            if c == '"':
                j += 1
                while j < n and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
            elif c in "([{":
                stack.append((c, line_no, j + 1))
                if len(stack) > MAX_NESTING and problem is None:
                    problem = Problem(f"brackets nested more than {MAX_NESTING} deep", Location(file, line_no, j + 1),
                                      hint="a spec this deep is almost certainly a mistake")
            elif c in ")]}" and stack and stack[-1][0] == pairs[c]:
                stack.pop()
            j += 1
    return stack, problem


def _syntax_problem(exc: UnexpectedInput, text: str, file: str) -> Problem:
    lines = text.split("\n")
    if isinstance(exc, UnexpectedCharacters):
        line, col = exc.line, exc.column
        char = exc.char
        allowed = set(exc.allowed or ())
        try:  # what the parser accepts here (the lexer's set is wider: it merges parser states)
            ip = getattr(exc, "interactive_parser", None)
            if ip is not None:
                allowed = set(ip.accepts()) or allowed
        except Exception:  # pragma: no cover - accepts() replays the parser; never let it mask the error
            pass
        expected = _expected_words(allowed)
        message = f"unexpected character {char!r}" + (f"; expected {expected}" if expected else "")
        hint = _char_hint(text, lines, line, col, char)
    else:
        tok = getattr(exc, "token", None)
        expected_set = set(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or ())
        if isinstance(exc, UnexpectedToken) and getattr(exc, "accepts", None):
            expected_set = set(exc.accepts)
        if tok is None or tok.type == "$END" or isinstance(exc, UnexpectedEOF):
            line, col = _end(lines)
            shown = "end of file"
        else:
            line, col = tok.line or 1, tok.column or 1
            shown = _show_token(tok)
        expected = _expected_words(expected_set)
        message = f"unexpected {shown}" + (f"; expected {expected}" if expected else "")
        hint = _token_hint(text, lines, exc, tok, expected_set, file)
    return Problem(message + snippet(text, line, col), Location(file, line, col), hint=hint)


def _end(lines: list[str]) -> tuple[int, int]:
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip():
            return i + 1, len(lines[i].rstrip()) + 1
    return 1, 1


def _char_hint(text: str, lines: list[str], line: int, col: int, char: str) -> str:
    src = lines[line - 1] if 1 <= line <= len(lines) else ""
    before = src[:col - 1]
    if char in "*×" and re.search(r"\d\s*$", before):
        m = re.search(r"(\d+)\s*$", before)
        after = re.match(r"\s*(\d+)", src[col:])
        a, b = m.group(1) if m else "5", after.group(1) if after else "5"
        return f"write sizes with the letter x: {a}x{b}"
    if char == "'":
        return 'strings use double quotes: "text"'
    if char == '"':
        return "this string is not closed on its line"
    if char == "$":
        return "a parameter is $name or ${expression}"
    if char == "-" and re.search(r"[A-Za-z_]$", before):
        return "names use '_' rather than '-'"
    if char == ":" and before.strip() == "":
        return "a label goes before a layer: 'c1: conv 6 5x5'"
    if char == "(":
        return ("write layer options as 'conv 64 3x3' or 'conv filters=64 kernel=3'; "
                "parentheses are for block definitions: 'block name(width, stride=1) { ... }'")
    if char == "\t":
        return ""
    if not char.isascii():
        return "names and keywords are ASCII; non-ASCII text must be in a \"string\""
    return ""


def _token_hint(text: str, lines: list[str], exc: UnexpectedInput, tok: Token | None, expected: set[str],
                file: str) -> str:
    stack, _ = _brackets(text, file)
    prev = None
    history = getattr(exc, "token_history", None)
    if history:
        prev = history[-1]
    if tok is None or tok.type == "$END":
        if stack:
            opener, line, col = stack[-1]
            closer = {"(": ")", "[": "]", "{": "}"}[opener]
            return f"the '{opener}' on line {line} is never closed; add '{closer}'"
        return "the last statement is incomplete"
    if tok.type == "RBRACE" and not any(o == "{" for o, _, _ in stack) and "RBRACE" not in expected:
        return "this '}' has no matching '{'"
    src = lines[tok.line - 1] if tok.line and 1 <= tok.line <= len(lines) else ""
    if prev is not None and prev.type == "EQUAL":
        return "a value is missing after '='"
    if tok.type == "LPAR":
        return ("write layer options as 'conv 64 3x3' or 'conv filters=64 kernel=3'; "
                "parentheses are for block definitions: 'block name(width, stride=1) { ... }'")
    open_lists = [o for o in stack if o[0] in "[(" and o[1] < (tok.line or 0)]
    if open_lists:
        opener, line, _ = open_lists[-1]
        return f"the '{opener}' on line {line} is never closed; add '{']' if opener == '[' else ')'}'"
    if prev is not None and prev.type == "COLON":
        keyword = src[:prev.column - 1].strip()
        if keyword in KEYWORDS:
            return f"no ':' after '{keyword}' in the DSL: write '{keyword} {src[prev.column:].strip()}'"
        if tok.type in ("LBRACE",):
            return ("this looks like YAML; in the DSL a layer is 'conv2d filters=6 kernel=5' "
                    "(and 'c1: conv2d ...' names it)")
    if prev is not None and expected == {"COLON"} and prev.type in _KEYWORD_TYPES:
        word = str(prev)
        where = ("goes at the top level, outside blocks, groups and networks"
                 if word in ("block", "network", "netspec", "train") else
                 "cannot start a statement inside a group or block body")
        unclosed = [o for o in stack if o[0] == "{" and o[1] < (prev.line or 0)]
        if unclosed:
            return f"the '{{' on line {unclosed[-1][1]} is still open here; is a '}}' missing? ('{word}' {where})"
        return f"'{word}' {where}"
    if "EQUAL" in expected and prev is not None and prev.type == "NAME":
        return f"missing '='? write {prev}=value"
    if tok.type == "COLON" and "EQUAL" in expected:
        return "options are written key=value"
    if tok.type == "_NL" and stack and stack[-1][0] in "[(":
        return f"the '{stack[-1][0]}' on line {stack[-1][1]} is not closed on its line"
    if tok.type == "LBRACE" and "_NL" in expected:
        return "only groups (sequential, residual, parallel), blocks and networks have a { body }"
    if tok.type == "RBRACE" and "RBRACE" not in expected:
        return "a statement before this '}' is incomplete"
    if tok.type == "NAME" and str(tok) in ("x", "X") and prev is not None and prev.type == "INT":
        return f"write sizes without spaces: {prev}x..."
    if tok.type in ("INT", "FLOAT", "SIZE") and prev is not None and prev.type in ("INT", "FLOAT", "SIZE") \
            and "EQUAL" not in expected:
        return "separate values with ','"
    open_braces = [o for o in stack if o[0] == "{" and o[1] < (tok.line or 0)]
    if open_braces:
        return f"the '{{' on line {open_braces[-1][1]} is still open here; is a '}}' missing?"
    return ""


# ------------------------------------------------------------------------------------------------
# the entry point


def parse_dsl(text: str, file: str = "<string>") -> Any:
    """Parse DSL text into the raw tree (PosDict/PosList with locations) the YAML frontend would give.

    Raises:
        SpecSyntaxError: the text is not a well-formed spec, each problem located with the line,
            a caret under the column, what was expected and a hint.
    """
    if len(text.encode("utf-8", "replace")) > MAX_TEXT_BYTES:
        raise SpecSyntaxError(f"{file}: spec is larger than {MAX_TEXT_BYTES // 1_000_000} MB; refusing to parse it")
    text = text.replace("\r\n", "\n")
    if text.startswith("\ufeff"):
        text = " " + text[1:]
    _, deep = _brackets(text, file)
    if deep is not None:
        raise SpecSyntaxError(problems=[Problem(deep.message + snippet(text, deep.location.line,
                                                                       deep.location.column),
                                                deep.location, hint=deep.hint)])
    try:
        tree = parser().parse(text + "\n")
    except UnexpectedInput as exc:
        raise SpecSyntaxError(problems=[_syntax_problem(exc, text, file)]) from None
    except LarkError as exc:  # pragma: no cover - defensive
        raise SpecSyntaxError(problems=[Problem(f"cannot parse: {exc}", Location(file, 1, 1))]) from None
    try:
        stmts = _Ast(file, text).transform(tree)
    except _Fail as fail:
        raise SpecSyntaxError(problems=[_with_snippet(fail.problem, text)]) from None
    except LarkError as exc:  # a _Fail raised inside a transformer callback arrives wrapped
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, _Fail):
            raise SpecSyntaxError(problems=[_with_snippet(inner.problem, text)]) from None
        if isinstance(inner, NetspecError):
            raise inner from None
        raise  # pragma: no cover
    if not stmts:
        raise SpecSyntaxError(problems=[Problem("the spec is empty", Location(file, 1, 1),
                                                hint="start with 'input [1, 28, 28]' and a layer per line")])
    builder = _Builder(file)
    raw = builder.spec(stmts)
    if builder.problems:
        problems = sorted(builder.problems,
                          key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0))
        raise SpecSyntaxError(problems=[_with_snippet(p, text) for p in problems])
    return raw


def _with_snippet(problem: Problem, text: str) -> Problem:
    if problem.location is None:
        return problem
    return Problem(problem.message + snippet(text, problem.location.line, problem.location.column),
                   problem.location, problem.path, problem.hint)
