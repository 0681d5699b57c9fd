"""DSL second pass: statement records -> the raw tree (:class:`Builder`), layer sugar resolved."""

from __future__ import annotations

from typing import Any

from netspec.core.errors import Location, Problem, did_you_mean
from netspec.core.fmt import show
from netspec.core.source import PosDict, PosList
from netspec.frontends.dsl.grammar import (
    HEAD_KEYS,
    KERNEL,
    NOT_BARE,
    axes_of,
    axes_text,
    kernel_slot,
    literal_words,
    word_field,
)
from netspec.frontends.dsl.syntax import Kw, Refs, Stmt, Val
from netspec.frontends.keys import BLOCK_CHILDREN, IF, IMPORTS_KEY, REPEAT, kind_class
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.base import field_names
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential


def first_at(first: Location | None) -> str:
    """The hint of a value given twice: where the first one, which is kept, is written."""
    return f"the first is on line {first.line}, column {first.column} (it is the one kept)" if first else ""


class Builder:
    """Statement records -> the raw tree; problems are collected in :attr:`problems`."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        # Problems after which the tree is still whole (a size with the wrong number of axes is kept as written;
        # of a value given twice the first is kept; a misplaced description is only a note): the spec stage
        # reports them with its own (SpecSyntaxError.partial).
        self.kept: list[Problem] = []
        self.blocks: dict[str, list[str]] = {}
        self.imports = False  # the file imports libraries (whose blocks' parameters are not known here)

    def fail(self, message: str, loc: Location | None, hint: str = "", kept: bool = False) -> None:
        """A problem; ``kept``: the tree is whole after it (nothing the rest of the file needs was left out)."""
        (self.kept if kept else self.problems).append(Problem(message, loc, hint=hint))

    def put(self, mapping: PosDict, key: str, value: Any, loc: Location, what: str = "") -> None:
        if key in mapping:
            first = mapping.where(key)
            self.fail(f"{what or show(key)} is given twice", loc, first_at(first), kept=True)
            return
        mapping[key] = value
        mapping.key_pos[key] = loc

    # --- top level ------------------------------------------------------------------------------
    def spec(self, stmts: list[Stmt]) -> PosDict:
        root = PosDict(pos=stmts[0].loc if stmts else Location(self.file, 1, 1))
        self.imports = any(s.what == "import" for s in stmts)
        for s in stmts:
            if s.what == "block":
                name = s.parts["name"][0]
                params = s.parts["params"][0] if s.parts["params"] else []
                self.blocks.setdefault(name, [p[0] for p in params])
        for s in stmts:
            if s.what == "header":
                if "netspec" in root:
                    self.fail("'netspec' is given twice", s.loc, kept=True)
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
            elif s.what == "import":  # `import "x.ns"` lines gather into the list YAML writes `imports:`
                imports = root.get(IMPORTS_KEY)
                if imports is None:
                    imports = root[IMPORTS_KEY] = PosList([], pos=s.loc, item_pos=[])
                    root.key_pos[IMPORTS_KEY] = s.loc
                imports.append(s.parts["value"].value)
                imports.item_pos.append(s.parts["value"].loc)
            else:
                self.network_stmt(root, s)
        return root

    def network_stmt(self, net: PosDict, s: Stmt) -> None:
        if s.what == "description":
            text = s.parts["value"]
            self.put(net, "description", text.value, s.loc.with_value(text.loc), "'description'")
        elif s.what == "input":
            self.input(net, s)
        elif s.what == "output":
            refs = s.parts["refs"]
            value: Any = refs[0][0] if len(refs) == 1 else PosList([r[0] for r in refs], pos=s.loc,
                                                                       item_pos=[r[1] for r in refs])
            self.put(net, "outputs", value, s.loc.with_value(refs[0][1]), "'output'")
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
            self.put(net, "input", value, s.loc.with_value(value_node.loc), "'input'")
        else:
            inputs = net.get("inputs")
            if inputs is None:
                inputs = net["inputs"] = PosDict(pos=s.loc)
                net.key_pos["inputs"] = s.loc
            self.put(inputs, name[0], value, name[1].with_value(value_node.loc), f"input '{name[0]}'")

    # --- blocks ---------------------------------------------------------------------------------
    def block_def(self, s: Stmt) -> PosDict:
        out = PosDict(pos=s.loc)
        if s.parts["params"] is not None:
            plist, ploc = s.parts["params"]
            params = PosDict(pos=ploc)
            for pname, pl, default in plist:
                self.put(params, pname, default.value if default is not None else None,
                         pl.with_value(default.loc if default is not None else None), f"parameter '{pname}'")
            out["params"] = params
            out.key_pos["params"] = ploc
        for arg in s.parts["args"]:
            if isinstance(arg, Kw):
                self.put(out, arg.key, arg.value.value, arg.loc)
            elif arg.kind == "word" and arg.value == Residual.KIND:  # `block name(...) residual { ... }`
                self.put(out, Residual.KIND, True, arg.loc, f"'{Residual.KIND}'")
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
            top[REPEAT] = p["repeat"].value
            top.key_pos[REPEAT] = p["repeat"].loc
        if p["from"] is not None:
            refs = p["from"].refs
            top["from"] = refs[0][0] if len(refs) == 1 else PosList([r[0] for r in refs], pos=refs[0][1],
                                                                     item_pos=[r[1] for r in refs])
            top.key_pos["from"] = p["from"].loc.with_value(refs[0][1])
        args = PosDict(pos=kloc)
        bare = [a for a in p["args"] if not isinstance(a, Kw)]
        cls = None if kind in self.blocks else kind_class(kind)
        skip = 0  # after a slip, the positional values it swallowed (no cascade of follow-up errors)
        for arg in p["args"]:
            if isinstance(arg, Kw) and (arg.key in HEAD_KEYS or arg.key == IF):  # `if=` belongs to the item
                self.put(top, arg.key, arg.value.value, arg.loc, f"'{arg.key}'")
            elif isinstance(arg, Kw):
                if cls is not None:
                    self.check_axes(kind, cls, arg.key, arg.value, args, keyword=True)
                value = arg.value.value if cls is None else sized(cls, arg.key, arg.value)
                self.put(args, arg.key, value, arg.loc, f"'{arg.key}'")
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
                    self.children(args, p["body"], Sequential.CHILDREN, kloc, f"'{kind}'")
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
        if bare and bare[0].kind == "word" and (kind_class(bare[0].value) or bare[0].value in self.blocks):
            self.fail(f"unknown layer kind '{kind}'", kloc,
                      f"missing ':'? write '{kind}: {bare[0].value} ...' to name the layer '{kind}'")
        elif bare and self.imports:  # an imported block: its parameters are not known while parsing this file
            self.fail(f"'{kind}' is not a layer kind or a block of this file, so its bare value "
                      f"'{bare[0].text or bare[0].value}' cannot be placed", bare[0].loc,
                      f"a block imported from another file takes its arguments as key=value ('{kind} width=64'); "
                      "or check the spelling of the kind ('netspec kinds')")

    def layer_arg(self, kind: str, cls: type, args: PosDict, val: Val) -> int:
        """One positional value of a layer line: which field it sets (see the module doc). Returns how
        many of the following values to skip after a problem (1 after `stride 2`, all after a kind)."""
        fields = field_names(cls)
        primary = cls.PRIMARY
        key: str | None
        if val.kind == "stride":
            key = "stride" if "stride" in fields else None
            if key is None:
                self.fail(f"'{kind}' has no stride; '{val.text}' does not apply", val.loc, self.options_hint(cls))
                return 0
        elif val.kind == "size":
            key = KERNEL if KERNEL in fields else primary
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
            key = self.bare_key(cls, args, val)
            if key is None:
                self.fail(f"'{kind}' takes no bare value {val.text or show(val.value)}", val.loc,
                          self.options_hint(cls))
                return 0
        if key in args:
            slot = kernel_slot(cls)
            hint = ""
            if key == primary and slot is None:
                hint = f"a bare value sets {key}; write the others as key=value"
            elif key in (primary, slot):
                hint = f"bare numbers set {primary}, then {slot}; write the others as key=value"
            first = first_at(args.where(key) if isinstance(args, PosDict) else None)
            self.fail(f"'{key}' of {kind} is given twice", val.loc, "; ".join(filter(None, (first, hint))), kept=True)
            return 0
        self.check_axes(kind, cls, key, val, args)
        args[key] = sized(cls, key, val)
        args.key_pos[key] = val.loc
        return 0

    @staticmethod
    def bare_key(cls: type, args: PosDict, val: Val) -> str | None:
        """The option a bare value sets: the kind's primary; once that is given, a whole number (or
        `$param`) sets the kernel where the kind's kernel is a size (`conv1d 8 3`: 1-D has no `KxK`)."""
        slot = kernel_slot(cls)
        if cls.PRIMARY in args and slot is not None and val.kind in ("int", "expr"):
            return slot
        return cls.PRIMARY

    def check_axes(self, kind: str, cls: type, key: str, val: Val, args: PosDict, keyword: bool = False) -> None:
        """A size written with `x` (`3x3`, `/2x2`, `padding=1x1`) whose count of numbers is not one the
        option takes (from its type, :func:`~.grammar.axes_of`): a problem at the size, in DSL words,
        with the form that fits. Sizes written as lists (`[3, 3]`) are left to validation, as in YAML."""
        axes = axes_of(cls, key)
        parts = val.value
        if val.kind not in ("size", "stride") or not isinstance(parts, list) or not axes or len(parts) in axes:
            return
        written = val.text.lstrip("/")
        where = parts.pos if isinstance(parts, PosList) and parts.pos is not None else val.loc
        same = len(set(parts)) == 1
        if len(axes) == 1:
            has = f"{kind}'s {key} has {axes[0]} ax{'i' if axes[0] == 1 else 'e'}s"
            right = "x".join([str(parts[0])] * axes[0]) if same else ""
            count = "one number" if axes[0] == 1 else f"{axes[0]} numbers, one per axis"
        else:  # several counts (a padding of 1, 2 or 4 numbers): no one form to show
            has, right = f"{kind}'s {key} takes {axes_text(axes)}", ""
            count = axes_text(axes).replace("value", "number")
        if not right:
            hint = f"{has}: write {count}"
        elif keyword:
            hint = f"{has}: write {key}={right}"
        elif val.kind == "stride":
            hint = f"{has}: write /{right}"
        elif "x" in right or self.bare_key(cls, args, Val("int", parts[0], val.loc)) == key:
            before = args.get(cls.PRIMARY) if key != cls.PRIMARY else None
            example = f", as in '{kind} {before} {right}'" if isinstance(before, int) and not isinstance(
                before, bool) else ""
            hint = f"{has}: write {right}{example}"
        else:  # a bare number here would set the primary: `conv1d 3x3 8`
            hint = f"{has}: write {key}={right} (a bare number here sets {cls.PRIMARY})"
        self.fail(f"'{key}' of {kind}: expected {axes_text(axes)} (one per axis) or one number; got {written}",
                  where, hint, kept=True)  # the size is kept as written: validation reads the rest

    def options_hint(self, cls: type) -> str:
        opts = [f for f in field_names(cls) if f not in NOT_BARE]  # the kind's own (not every layer's name, init, ...)
        return f"write key=value; options: {', '.join(opts)}" if opts else "it takes no options"

    def bad_word(self, kind: str, cls: type, val: Val) -> int:
        word = val.value
        fields = field_names(cls)
        skip = 0
        if word in fields:
            hint = f"missing '='? write {word}=..."
            skip = 1
        elif kind_class(word) is not None or word in self.blocks:
            hint = "put each layer on its own line (or separate them with ';')"
            skip = 1 << 30
        else:
            allowed = list(literal_words(cls))
            if "activation" in fields:
                allowed += list(ACTIVATIONS)
            hint = did_you_mean(word, [*allowed, *fields]) or self.options_hint(cls)
        hits = literal_words(cls).get(word, [])
        if len(set(hits)) > 1:
            hint = f"'{word}' could set {' or '.join(sorted(set(hits)))}; write the key"
        self.fail(f"'{kind}' does not take a bare '{word}'", val.loc, hint)
        return skip

    def block_args(self, kind: str, args: PosDict, bare: list[Val]) -> None:
        params = self.blocks[kind]
        plain: list[Val] = []
        for val in bare:
            key = None
            if val.kind == "stride" and "stride" in params:
                key = "stride"
            elif val.kind == "size" and KERNEL in params:
                key = KERNEL
            elif val.kind == "word" and val.value in ACTIVATIONS and "activation" in params:
                key = "activation"
            if key is None:
                plain.append(val)
                continue
            if key in args:
                self.fail(f"'{key}' of block '{kind}' is given twice", val.loc, first_at(args.where(key)), kept=True)
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
                    self.put(args, "description", s.parts["value"].value, s.loc.with_value(s.parts["value"].loc),
                             "'description'")
                else:
                    self.fail("only block definitions and networks have a description", s.loc,
                              "use a # comment here", kept=True)
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



def sized(cls: type, key: str, val: Val) -> Any:
    """The value of a size (`3x3`, `/2x2`) as written: one number per axis. When all are the same and the
    option takes exactly that many axes it is that one number (`conv 6 5x5` is kernel 5, as YAML's
    `kernel: 5`); any other count stays a list, never shortened (`conv 8 3x3x3` is three values for
    conv2d's two axes): :meth:`Builder.check_axes` refuses it at the size, and where the count is not
    known here (a block's parameter) validation refuses it like YAML's `kernel: [3, 3, 3]`."""
    v = val.value
    if val.kind in ("size", "stride") and isinstance(v, list) and len(set(v)) == 1 and len(v) in axes_of(cls, key):
        return v[0]
    return v
