"""Raw spec tree -> DSL text (``netspec convert a.yaml -o a.ns``).

Works on the raw tree, before expansion, so blocks stay blocks and ``repeat`` stays ``repeat``. The
positional sugar is written only where :mod:`netspec.frontends.dsl` reads it back to the same key
and value (``conv 6 5x5 tanh``, ``conv1d 8 3 /2``, ``avgpool 2x2 /2``, ``bottleneck 64 /2``); everything else is
``key=value``. Comments of the source are carried over by line when given.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from netspec.core.fmt import show
from netspec.frontends.dsl.grammar import HEAD_KEYS, KERNEL, KEYWORDS, WORDS, axes_of, kernel_slot, word_field
from netspec.frontends.keys import BLOCK_CHILDREN, IMPORTS_KEY, ITEM_KEYS, REPEAT, kind_class
from netspec.frontends.write.base import CannotWrite, CommentedLines, fmt_scalar, last_line, last_line_first
from netspec.frontends.write.comments import Comments
from netspec.layers import canonical_kind
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import field_names
from netspec.layers.structure.residual import Residual

INDENT = "  "
LINE = 100  # a mapping longer than this is written one entry per line
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_REF = re.compile(r"[A-Za-z_][A-Za-z0-9_]*([.:][A-Za-z_][A-Za-z0-9_]*)*\Z")
_EXPR = re.compile(r"\$(\{[^{}\n]*\}|[A-Za-z_][A-Za-z0-9_]*)\Z")
# `$in.channels`, `$in.shape[-1]` (YAML's short form of an attribute or index): braced in the DSL
_DOTTED = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*|\[-?\d+\])+)\Z")


# ---------------------------------------------------------------------------------------------
# values


def fmt_string(s: str) -> str:
    if _NAME.match(s) and s not in WORDS and s not in ("from",):
        return s
    if _EXPR.match(s):
        return s
    if _DOTTED.match(s):
        return "${" + s[1:] + "}"
    return json.dumps(s, ensure_ascii=False)


def fmt_key(k: Any) -> str:
    if not isinstance(k, str):
        raise CannotWrite(f"the DSL has only text keys, got {show(k)}")
    return k if _KEY.match(k) else json.dumps(k, ensure_ascii=False)


def fmt_value(v: Any) -> str:
    text = fmt_scalar(v)
    if text is not None:
        return text
    if isinstance(v, float):
        raise CannotWrite(f"the DSL has no literal for {show(v)}")
    if isinstance(v, str):
        return fmt_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{fmt_key(k)}={fmt_value(x)}" for k, x in v.items()) + "}"
    raise CannotWrite(f"the DSL cannot write the value {show(v)}")


def fmt_ref(r: Any) -> str:
    if not isinstance(r, str) or not (_REF.match(r) or _EXPR.match(r)):  # `$skip`: a block parameter
        raise CannotWrite(f"'{r}' is not a node reference (name, name:output, network.name or $param)")
    return r


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _size(v: Any, axes: tuple[int, ...] = ()) -> str | None:
    """`5x5` for 5 when the option takes two axes (``axes`` = (2,)), `3x5` for [3, 5]; None when the sugar
    would not read back the same. The DSL reads a size of equal parts as the one number only where that
    count of axes is the option's (a layer's, see ``sized`` in the builder); elsewhere (a block's
    parameter) it stays the list, so a list of equal parts is written as sugar there only."""
    if _is_int(v) and v >= 0:
        return "x".join([str(v)] * axes[0]) if len(axes) == 1 and axes[0] >= 2 else None
    if isinstance(v, list) and len(v) >= 2 and all(_is_int(x) and x >= 0 for x in v) and \
            (len(set(v)) > 1 or len(v) not in axes) and (not axes or len(v) in axes):
        return "x".join(str(x) for x in v)
    return None


def _stride(v: Any, axes: tuple[int, ...] = ()) -> str | None:
    if _is_int(v):
        return f"/{v}"
    if isinstance(v, str) and _EXPR.match(v):
        return f"/{v}"
    size = _size(v, axes) if isinstance(v, list) else None
    return f"/{size}" if size else None


def _bare_ok(v: Any) -> bool:
    """A value a bare positional reads back unchanged (for PRIMARY or a block parameter)."""
    if isinstance(v, bool) or v is None:
        return False
    if isinstance(v, (int, float)):
        return not (isinstance(v, float) and (math.isnan(v) or math.isinf(v)))
    if isinstance(v, str):
        return bool(_EXPR.match(v) or _DOTTED.match(v))
    if isinstance(v, list):
        return True
    return False


# ---------------------------------------------------------------------------------------------
# the writer


class DslWriter(CommentedLines):
    def __init__(self, raw: Any, comments: Comments | None = None) -> None:
        super().__init__(comments)
        self.raw = raw
        self.blocks: dict[str, list[str]] = {}
        blocks = raw.get("blocks") if isinstance(raw, dict) else None
        if isinstance(blocks, dict):
            for name, bdef in blocks.items():
                params = bdef.get("params") if isinstance(bdef, dict) else None
                self.blocks[name] = list(params) if isinstance(params, dict) else []

    # --- output with comments -------------------------------------------------------------------
    def line(self, depth: int, text: str, start: Any = None, end: int | None = None) -> None:
        self.emit(INDENT * depth, text, start, end)

    # --- the spec -------------------------------------------------------------------------------
    def spec(self) -> str:
        raw = self.raw
        if not isinstance(raw, dict):
            raise CannotWrite("a spec must be a mapping")
        header_done = False
        previous = ""
        for key, value in raw.items():
            where = raw.where(key) if hasattr(raw, "where") else None
            group = {"netspec": "head", "name": "head", "description": "head", "input": "io", "inputs": "io"}.get(
                key, key)
            if group != previous and previous:
                self.blank()
            previous = group
            if key in ("netspec", "name"):
                if header_done:
                    continue
                header_done = True
                self.header(raw, where)
            elif key == "description":
                self.line(0, f"description {json.dumps(str(value), ensure_ascii=False)}", where)
            elif key == "blocks":
                self.blocks_(value)
            elif key == IMPORTS_KEY:  # one `import "path"` line per library
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise CannotWrite(f"'{IMPORTS_KEY}' must be a list of file paths")
                for i, path in enumerate(value):
                    self.line(0, f"import {json.dumps(path, ensure_ascii=False)}",
                              value.where(i) if hasattr(value, "where") else where)
            elif key == "networks":
                if not isinstance(value, dict):
                    raise CannotWrite("'networks' must be a mapping")
                for i, (name, net) in enumerate(value.items()):
                    if i:
                        self.blank()
                    self.network(name, net, value.where(name) if hasattr(value, "where") else None)
            elif key == "train":
                self.mapping_stmt(0, "train", value, where)
            else:
                self.network_key(0, raw, key, value, where)
        return self.text()

    def header(self, raw: dict, where: Any) -> None:
        parts = ["netspec"]
        version = raw.get("netspec", 1)
        if version != 1:
            if not _is_int(version):
                raise CannotWrite(f"'netspec' must be a version number, got {show(version)}")
            parts.append(str(version))
        if "name" in raw:
            name = raw["name"]
            parts.append(name if isinstance(name, str) and _NAME.match(name) and name not in KEYWORDS
                         else json.dumps(str(name), ensure_ascii=False))
        self.line(0, " ".join(parts), where)

    def network(self, name: str, net: Any, where: Any) -> None:
        if not isinstance(net, dict) or not _NAME.match(str(name)):
            raise CannotWrite(f"network '{name}' must be a mapping with an identifier name")
        first = next(iter(net.key_pos.values()), None) if hasattr(net, "key_pos") else None
        self.line(0, f"network {name} {{", where, (first.line - 1) if first else None)
        for key, value in net.items():
            self.network_key(1, net, key, value, net.where(key) if hasattr(net, "where") else None)
        self.line(0, "}")

    def network_key(self, depth: int, owner: dict, key: str, value: Any, where: Any) -> None:
        if key == "description":
            self.line(depth, f"description {json.dumps(str(value), ensure_ascii=False)}", where)
        elif key == "input":
            self.input(depth, None, value, where)
        elif key == "inputs":
            if not isinstance(value, dict):
                raise CannotWrite("'inputs' must map names to shapes")
            for name, v in value.items():
                self.input(depth, name, v, value.where(name) if hasattr(value, "where") else where)
        elif key == "outputs":
            refs = [value] if isinstance(value, str) else value
            if not isinstance(refs, list) or not refs:
                raise CannotWrite("'outputs' must be a name or a list of names")
            word = "output" if len(refs) == 1 else "outputs"
            self.line(depth, f"{word} " + ", ".join(fmt_ref(r) for r in refs), where, last_line(value))
        elif key == "layers":
            self.items(depth, value)
        elif key == "expect":
            self.mapping_stmt(depth, "expect", value, where)
        else:
            raise CannotWrite(f"unknown key '{key}' (the spec does not validate)")

    def input(self, depth: int, name: Any, value: Any, where: Any) -> None:
        head = "input" + (f" {name}" if name is not None else "")
        if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
            raise CannotWrite(f"input name {show(name)} must be an identifier")
        opts: list[str] = []
        if isinstance(value, list):
            body = fmt_value(value)
        elif isinstance(value, str):
            body = f"from {fmt_ref(value)}"
        elif isinstance(value, dict) and ("shape" in value) != ("from" in value):
            body = fmt_value(value["shape"]) if "shape" in value else f"from {fmt_ref(value['from'])}"
            if "shape" in value and not isinstance(value["shape"], list):
                raise CannotWrite("an input shape must be a list")
            for k, v in value.items():
                if k in ("shape", "from"):
                    continue
                if k == "dtype" and v in ("float", "long"):
                    opts.append(v)
                else:
                    opts.append(f"{fmt_key(k)}={fmt_value(v)}")
        else:
            raise CannotWrite("an input is a shape, 'from: network' or {shape: [...], dtype: ...}")
        self.line(depth, " ".join([head, body, *opts]), where, last_line(value))

    def mapping_stmt(self, depth: int, word: str, value: Any, where: Any) -> None:
        if not isinstance(value, dict):
            raise CannotWrite(f"'{word}' must be a mapping")
        if not value:
            self.line(depth, f"{word} {{}}", where)
            return
        entries = [f"{fmt_key(k)}={fmt_value(v)}" for k, v in value.items()]
        one = f"{word} " + " ".join(entries)
        if len(INDENT * depth + one) <= LINE:
            self.line(depth, one, where, last_line(value))
            return
        self.line(depth, f"{word} {{", where)
        self.mapping_lines(depth + 1, value)
        self.line(depth, "}")

    def mapping_lines(self, depth: int, value: dict) -> None:
        """One ``key = value`` per line; a nested mapping too long for a line opens its own braces."""
        for k, v in value.items():
            kw = value.where(k) if hasattr(value, "where") else None
            text = f"{fmt_key(k)} = {fmt_value(v)}"
            if isinstance(v, dict) and v and len(INDENT * depth + text) > LINE:
                self.line(depth, f"{fmt_key(k)} = {{", kw)
                self.mapping_lines(depth + 1, v)
                self.line(depth, "}")
            else:
                self.line(depth, text, kw, last_line(v) if isinstance(v, (dict, list)) else None)

    # --- blocks -----------------------------------------------------------------------------------
    def blocks_(self, blocks: Any) -> None:
        if not isinstance(blocks, dict):
            raise CannotWrite("'blocks' must map names to definitions")
        for i, (name, bdef) in enumerate(blocks.items()):
            if i:
                self.blank()
            self.block(name, bdef, blocks.where(name) if hasattr(blocks, "where") else None)

    def block(self, name: str, bdef: Any, where: Any) -> None:
        if not isinstance(bdef, dict) or not isinstance(name, str) or not _NAME.match(name):
            raise CannotWrite(f"block '{name}' must be a mapping with an identifier name")
        head = f"block {name}"
        params = bdef.get("params")
        if isinstance(params, dict):
            shown = []
            for p, default in params.items():
                if not isinstance(p, str) or not _NAME.match(p):
                    raise CannotWrite(f"block parameter {show(p)} must be an identifier")
                shown.append(p if default is None else f"{p}={fmt_value(default)}")
            head += "(" + ", ".join(shown) + ")"
        elif params is not None:
            raise CannotWrite("block 'params' must be a mapping")
        children = [k for k in BLOCK_CHILDREN if isinstance(bdef.get(k), list)]
        opts = []
        for key, value in bdef.items():
            if key in ("params", "layers", "description") or key in children:
                continue
            if key == Residual.KIND and value is True:  # `residual: true` -> `block name(...) residual`
                opts.append(Residual.KIND)
            elif key == "activation" and isinstance(value, str) and value in ACTIVATIONS:
                opts.append(value)
            else:
                opts.append(f"{fmt_key(key)}={fmt_value(value)}")
        head = " ".join([head, *opts])
        first_child = min((last_line_first(bdef[k]) for k in children), default=None)
        self.line(0, head + " {", where, first_child - 1 if first_child else None)
        if "description" in bdef:
            self.line(1, f"description {json.dumps(str(bdef['description']), ensure_ascii=False)}",
                      bdef.where("description") if hasattr(bdef, "where") else None)
        self.body_fields(1, bdef, BLOCK_CHILDREN)
        self.line(0, "}")

    # --- layers -----------------------------------------------------------------------------------
    def items(self, depth: int, items: Any) -> None:
        if not isinstance(items, list):
            raise CannotWrite("'layers' must be a list")
        for i, item in enumerate(items):
            where = items.where(i) if hasattr(items, "where") else None
            try:
                self.item(depth, item, where)
            except CannotWrite as exc:  # located at the innermost item that could not be written
                exc.location = exc.location or where
                raise

    def item(self, depth: int, raw: Any, where: Any) -> None:
        if isinstance(raw, str):
            kind, args, top = raw, {}, {}
        elif isinstance(raw, dict):
            kinds = [k for k in raw if k not in ITEM_KEYS]
            if len(kinds) != 1 or not isinstance(kinds[0], str):
                raise CannotWrite(f"a layer item needs exactly one kind, got {kinds}")
            kind = kinds[0]
            value = raw[kind]
            top = {k: v for k, v in raw.items() if k != kind}
            if isinstance(value, dict):
                args = dict(value)
            elif value is None:
                args = {}
            else:
                cls = kind_class(kind)
                if cls is None or cls.PRIMARY is None:
                    raise CannotWrite(f"'{kind}: {show(value)}' does not validate (it takes named options)")
                args = {cls.PRIMARY: value}
        else:
            raise CannotWrite(f"a layer must be a kind name or a mapping, got {show(raw)}")
        for key in HEAD_KEYS:  # name/from/repeat given inside the options move to the line's head
            if key in args and key not in top:
                top[key] = args.pop(key)
        if not _NAME.match(kind):
            raise CannotWrite(f"layer kind {show(kind)} is not a name")
        if kind in KEYWORDS or kind == "branch":
            kind = canonical_kind(kind) or kind
        head: list[str] = []
        name = top.pop("name", None)
        if isinstance(name, str) and _NAME.match(name) and name != "from":
            head.append(f"{name}:")
        elif name is not None:
            args = {"name": name, **args}
        repeat = top.pop(REPEAT, None)
        if _is_int(repeat) or isinstance(repeat, str) and _EXPR.match(repeat):
            head.append(f"{REPEAT} {repeat}")
        elif repeat is not None:
            args[REPEAT] = repeat
        source = top.pop("from", None)
        for key, value in top.items():  # trainable / init at item level
            if key in args:
                raise CannotWrite(f"'{key}' is given twice")
            args[key] = value
        head.append(kind)
        children: dict[str, int] = {}
        if kind in self.blocks:
            head += self.block_call(kind, args)
        else:
            cls = kind_class(kind)
            if cls is not None:
                children = {k: d for k, d in cls.CHILDREN.items() if isinstance(args.get(k), list)}
                plain = {k: v for k, v in args.items() if k not in children}
                head += self.layer_call(kind, cls, plain)
            else:
                head += [f"{fmt_key(k)}={fmt_value(v)}" for k, v in args.items()]
        if source is not None:
            refs = [source] if isinstance(source, str) else source
            if not isinstance(refs, list) or not refs:
                raise CannotWrite("'from' must be a name or a list of names")
            head.append("from " + ", ".join(fmt_ref(r) for r in refs))
        text = " ".join(head)
        if not children:
            self.line(depth, text, where, last_line(raw))
            return
        first_child = min(last_line_first(args[k]) for k in children)
        self.line(depth, text + " {", where, first_child - 1 if first_child else None)
        self.body_fields(depth + 1, args, {k: d for k, d in cls.CHILDREN.items()})  # type: ignore[union-attr]
        self.line(depth, "}")

    def body_fields(self, depth: int, args: dict, children: dict[str, int]) -> None:
        default = next((f for f, d in children.items() if d == 1), None)
        for key, d in children.items():
            value = args.get(key)
            if not isinstance(value, list):
                continue
            if d == 1 and key == default:
                self.items(depth, value)
            elif d == 1:
                self.line(depth, f"{key} {{")
                self.items(depth + 1, value)
                self.line(depth, "}")
            else:
                for j, branch in enumerate(value):
                    where = value.where(j) if hasattr(value, "where") else None
                    if not isinstance(branch, list):
                        raise CannotWrite(f"'{key}' must be a list of layer lists")
                    if not branch:
                        self.line(depth, "branch {}", where)
                        continue
                    self.line(depth, "branch {", where, last_line_first(branch) - 1)
                    self.items(depth + 1, branch)
                    self.line(depth, "}")

    def layer_call(self, kind: str, cls: type, args: dict) -> list[str]:
        fields = field_names(cls)
        primary = cls.PRIMARY
        first: list[str] = []
        sugar: list[str] = []
        kwargs: list[str] = []
        kernel = axes_of(cls, KERNEL) if KERNEL in fields else ()
        # a 1-D kernel is a bare number after the primary (`conv1d 8 3`): the DSL reads a bare whole
        # number as the kernel once the primary is given, so only when the primary is written bare too
        bare_kernel = kernel == (1,) and kernel_slot(cls) == KERNEL and primary in args and \
            _bare_ok(args[primary]) and _is_int(args.get(KERNEL))
        for key, value in args.items():
            size = _size(value, kernel) if key == KERNEL and kernel else None
            if key == KERNEL and bare_kernel:
                sugar.insert(0, str(value))
            elif key == primary and _bare_ok(value) and not size:
                first.append(fmt_value(value))
            elif size:
                sugar.append(size)
            elif key == "stride" and "stride" in fields and _stride(value, axes_of(cls, key)):
                sugar.append(_stride(value, axes_of(cls, key)))  # type: ignore[arg-type]
            elif isinstance(value, str) and _NAME.match(value) and value not in WORDS and \
                    word_field(cls, value) == key:
                sugar.append(value)
            else:
                kwargs.append(f"{fmt_key(key)}={fmt_value(value)}")
        return first + sugar + kwargs

    def block_call(self, kind: str, args: dict) -> list[str]:
        params = self.blocks[kind]
        sugar: dict[str, str] = {}
        if "stride" in params and "stride" in args and _stride(args["stride"]):
            sugar["stride"] = _stride(args["stride"])  # type: ignore[assignment]
        if KERNEL in params and KERNEL in args and _size(args[KERNEL]):
            sugar[KERNEL] = _size(args[KERNEL])  # type: ignore[assignment]
        act = args.get("activation")
        if "activation" in params and isinstance(act, str) and act in ACTIVATIONS:
            sugar["activation"] = act
        # positional: the first parameter (as a layer's PRIMARY), or all of them when every one is
        # given and none has sugar (`inception 64 96 128 16 32 32`, the papers' table rows)
        rest = [p for p in params if p not in sugar]
        positional: list[str] = []
        if rest and all(p in args and _bare_ok(args[p]) for p in rest) and not sugar and len(args) == len(rest):
            positional = rest
        elif rest and rest[0] == params[0] and rest[0] in args and _bare_ok(args[rest[0]]):
            positional = rest[:1]
        out = [fmt_value(args[p]) for p in positional] + [sugar[p] for p in params if p in sugar]
        out += [f"{fmt_key(k)}={fmt_value(v)}" for k, v in args.items() if k not in sugar and k not in positional]
        return out


def to_dsl(raw: Any, comments: Comments | None = None) -> str:
    """DSL text for a raw spec tree (from either frontend)."""
    return DslWriter(raw, comments).spec()
