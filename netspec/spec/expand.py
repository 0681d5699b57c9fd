"""Raw tree -> canonical tree: the step between a frontend and pydantic.

What users write is short (``- conv2d: {filters: 6}``, ``- flatten``, ``- dense: 120``, a block used
like a layer, ``repeat: 3``, a top-level ``input:`` and ``layers:``). The canonical form is what the
pydantic models read: every layer a mapping with a ``kind`` key, blocks expanded into groups with
their arguments substituted, repeats expanded, a single network moved under ``networks:``.
Positions are carried over, so errors still point into the file. Problems are collected, not raised
one by one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from netspec.core.errors import Location, Problem, close_matches, did_you_mean
from netspec.core.source import PosDict, PosList
from netspec.frontends import IMPORTS_KEY, Library, read_imports
from netspec.frontends.keys import BLOCK_CHILDREN, BLOCK_KEYS, BLOCK_OPTIONS, ITEM_KEYS, REPEAT
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import all_kind_names, field_names
from netspec.layers.structure import Residual, Sequential
from netspec.spec.expr import ExprError, evaluate, is_expr

TOP_KEYS = ("netspec", "name", "description", "imports", "input", "inputs", "outputs", "layers", "blocks",
            "networks", "expect", "train")
# A block library (a spec file other specs import) holds blocks only: no network, no expect, no train.
LIBRARY_KEYS = ("netspec", "name", "description", IMPORTS_KEY, "blocks")
NETWORK_MARKERS = ("input", "inputs", "layers", "networks")  # what makes a spec file more than a library
NETWORK_KEYS = ("description", "input", "inputs", "outputs", "layers", "expect")
MAX_REPEAT = 1000
MAX_DEPTH = 24  # blocks used inside blocks
MAX_NESTING = 40  # layer lists inside layer lists (groups, bodies, branches): what the DSL can write back
MAX_LAYERS = 20_000  # layers and groups after expansion; ResNet-152 has about 500


class Canonical(NamedTuple):
    """What :func:`canonicalize` returns."""

    tree: PosDict  # the canonical spec
    problems: list[Problem]  # every problem found, located
    # Keyed by id(), holding the objects so that no id is reused while the tree is validated:
    dropped: dict[int, Any]  # the lists and mappings of ``tree`` that lost an item to a problem
    meant: dict[tuple[int, str], Any]  # (a layer of ``tree``, option): missing because it was misspelled


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Expander:
    """Holds the block definitions and the problems found while expanding."""

    def __init__(self, blocks: dict[str, Any], file: str) -> None:
        self.blocks = blocks
        self.file = file
        self.problems: list[Problem] = []
        self.count = 0  # layers and groups made so far
        self.over = False  # MAX_LAYERS was passed: stop expanding
        self.nesting = 0  # layer lists open now
        self.dropped: dict[int, Any] = {}  # see Canonical
        self.meant: dict[tuple[int, str], Any] = {}

    def problem(self, message: str, where: Location | None, path: str, hint: str = "") -> None:
        self.problems.append(Problem(message, where, path, hint))

    # --- layers ---------------------------------------------------------------------------------
    def layers(self, raw: Any, where: Location | None, path: str, env: dict[str, Any],
               stack: tuple[str, ...]) -> PosList:
        if not isinstance(raw, list):
            self.problem("expected a list of layers", where, path, "each layer is a '- kind: {...}' item")
            return PosList([], pos=where)
        out = PosList([], pos=getattr(raw, "pos", where))
        out.item_pos = []
        if self.nesting >= MAX_NESTING:
            self.problem(f"layers are nested more than {MAX_NESTING} deep (groups inside groups)", where, path,
                         "a spec this deep is almost certainly a mistake")
            self.dropped[id(out)] = out
            return out
        self.nesting += 1
        try:
            for i, item in enumerate(raw):
                item_where = raw.where(i) if isinstance(raw, PosList) else where
                made = self.item(item, item_where, f"{path}[{i}]", env, stack)
                if not made:
                    self.dropped[id(out)] = out  # its problem is reported; an emptied list is not another one
                for canon in made:
                    out.append(canon)
                    out.item_pos.append(item_where)
        finally:
            self.nesting -= 1
        return out

    def item(self, raw: Any, where: Location | None, path: str, env: dict[str, Any],
             stack: tuple[str, ...]) -> list[PosDict]:
        if self.over:
            return []
        if isinstance(raw, str):
            kind, args = raw, PosDict(pos=where)
        elif isinstance(raw, dict) and isinstance(raw.get("kind"), str):
            kind = raw["kind"]  # canonical form: {kind: conv2d, filters: 6}
            args = PosDict({k: v for k, v in raw.items() if k != "kind"}, pos=getattr(raw, "pos", where))
            args.key_pos = dict(getattr(raw, "key_pos", {}))
        elif isinstance(raw, dict):
            kinds = [k for k in raw if k not in ITEM_KEYS]
            if len(kinds) != 1:
                got = ", ".join(map(str, kinds)) or "none"
                self.problem(f"a layer item needs exactly one kind key, got {got}", where, path,
                             "write '- conv2d: {filters: 6, kernel: 5}'; options go inside the braces")
                return []
            kind = kinds[0]
            value = raw[kind]
            args = self.args_of(kind, value, raw.where(kind) if isinstance(raw, PosDict) else where, path)
            if args is None:
                return []
            for key in raw:
                if key in ITEM_KEYS:
                    if key in args:
                        self.problem(f"'{key}' is given twice", raw.where(key), path)
                    args[key] = raw[key]
                    args.key_pos[key] = raw.where(key)
        else:
            self.problem(f"a layer must be a kind name or a mapping, got {_show(raw)}", where, path,
                         "write '- flatten' or '- dense: {units: 10}'")
            return []
        if not isinstance(kind, str):
            self.problem(f"a layer kind must be a name, got {_show(kind)}", where, path)
            return []
        repeat = args.pop(REPEAT, None)
        if repeat is None:
            one = self.single(kind, args, where, path, env, stack)
            return [one] if one is not None else []
        if is_expr(repeat):
            before = len(self.problems)
            repeat = self.value(repeat, env, args.where(REPEAT), f"{path}.{REPEAT}")
            if len(self.problems) > before:
                return []
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            self.problem(f"{REPEAT} must be an integer from 1 to {MAX_REPEAT}, got {_show(repeat)}",
                         args.where(REPEAT), f"{path}.{REPEAT}")
            return []
        group = PosDict(pos=where)
        group.path = path
        group["kind"] = Sequential.KIND
        for key in ("name", "from"):
            if key in args:
                group[key] = args.pop(key)
                group.key_pos[key] = args.where(key)
        body = PosList([], pos=where)
        self.count += 1  # the group
        for i in range(repeat):
            copy = PosDict(args, pos=args.pos)
            copy.key_pos = dict(args.key_pos)
            before, problems = self.count, len(self.problems)
            one = self.single(kind, copy, where, f"{path}#{i}", {**env, "i": i}, stack)
            if one is None or len(self.problems) > problems:  # reported once: the other copies would say the same
                return []
            body.append(one)
            body.item_pos.append(where)
            size = self.count - before  # the size of one copy bounds the rest before they are made
            if i == 0 and self.count + size * (repeat - 1) > MAX_LAYERS:
                self.over = True
                self.problem(f"{REPEAT}: {repeat} copies of {size:,} layer{'s' if size > 1 else ''} make the spec "
                             f"larger than {MAX_LAYERS:,} layers", args.where(REPEAT), f"{path}.{REPEAT}",
                             "lower the repeat counts (repeats inside blocks multiply)")
                return []
        group["layers"] = body
        return [group]

    def args_of(self, kind: str, value: Any, where: Location | None, path: str) -> PosDict | None:
        if isinstance(value, dict):
            args = PosDict(value, pos=getattr(value, "pos", where))
            args.key_pos = dict(getattr(value, "key_pos", {}))
            return args
        args = PosDict(pos=where)
        if value is None:
            return args
        canon = canonical_kind(kind)
        if canon is None and kind not in self.blocks:
            self.unknown_kind(kind, where, path)
            return None
        primary = layer_class(canon).PRIMARY if canon else None
        if primary is None:
            what = f"block '{kind}'" if kind in self.blocks else f"'{kind}'"
            self.problem(f"{what} takes named options, got {value!r}", where, path,
                         f"write '- {kind}: {{option: value}}'")
            return None
        args[primary] = value
        args.key_pos[primary] = where
        return args

    def unknown_kind(self, kind: str, where: Location | None, path: str) -> None:
        hint = did_you_mean(kind, [*all_kind_names(), *self.blocks])
        self.problem(f"unknown layer kind '{kind}'", where, path,
                     hint or "run 'netspec kinds' for the list, or define it under 'blocks:'")

    def single(self, kind: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
               stack: tuple[str, ...]) -> PosDict | None:
        """One layer (or one block's group); None when it has a problem (reported) or the spec is too large."""
        if self.over:
            return None
        self.count += 1
        if self.count > MAX_LAYERS:
            self.over = True
            self.problem(f"the spec expands to more than {MAX_LAYERS:,} layers", where, path,
                         "lower the repeat counts, or use fewer blocks inside blocks")
            return None
        before = len(self.problems)
        if env:
            args = self.substitute(args, env, path)
        failed = len(self.problems) > before  # an expression failed: report it, not what its None does later
        if kind in self.blocks:
            return None if failed else self.block(kind, args, where, path, env, stack)
        canon = canonical_kind(kind)
        if canon is None:
            self.unknown_kind(kind, where, path)
            return None
        cls = layer_class(canon)
        known = field_names(cls)
        out = PosDict(pos=where)
        out.path = path
        out["kind"] = canon
        for key, value in args.items():
            if key == "kind" or key not in known:
                close = close_matches(key, known) if isinstance(key, str) else []
                self.meant.update({(id(out), c): out for c in close[:1] if c not in args})
                hint = did_you_mean(key, known) if close else ""
                self.problem(f"unknown option '{key}' for {canon}", args.where(key), f"{path}.{key}",
                             hint or f"{canon} takes: {', '.join(k for k in known if k != 'kind')}")
                continue
            depth = cls.CHILDREN.get(key)
            if depth and isinstance(value, list):
                if depth == 1:
                    value = self.layers(value, args.where(key), f"{path}.{key}", env, stack)
                else:
                    lists = PosList([], pos=getattr(value, "pos", None))
                    self.nesting += 1  # a branch is a list in a list: two levels, as the DSL writes it
                    try:
                        for j, sub in enumerate(value):
                            sub_where = value.where(j) if isinstance(value, PosList) else args.where(key)
                            lists.append(self.layers(sub, sub_where, f"{path}.{key}[{j}]", env, stack))
                    finally:
                        self.nesting -= 1
                    lists.item_pos = [getattr(v, "pos", None) for v in lists]
                    value = lists
            out[key] = value
            out.key_pos[key] = args.where(key)
        return None if failed else out

    def block(self, name: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
              stack: tuple[str, ...]) -> PosDict | None:
        if name in stack:
            self.problem(f"block '{name}' uses itself ({' → '.join((*stack, name))})", where, path)
            return None
        if len(stack) >= MAX_DEPTH:
            self.problem(f"blocks are nested more than {MAX_DEPTH} deep", where, path)
            return None
        bdef = self.blocks[name]
        params = bdef.get("params") or {}
        group = PosDict(pos=where)
        group.path = path
        group["kind"] = Residual.KIND if bdef.get(Residual.KIND) else Sequential.KIND  # `residual: true`
        values: dict[str, Any] = {}
        bad = False  # a wrong argument: its body is not expanded (what it would say follows from the argument)
        meant: set[str] = set()  # parameters a misspelled argument was probably meant for
        for key, value in args.items():
            if key in ITEM_KEYS:
                group[key] = value
                group.key_pos[key] = args.where(key)
            elif key in params:
                values[key] = value
            else:
                bad = True
                close = close_matches(key, params) if isinstance(key, str) else []
                meant.update(c for c in close[:1] if c not in args)
                self.problem(f"block '{name}' has no parameter '{key}'", args.where(key), f"{path}.{key}",
                             did_you_mean(key, params) if close else f"its parameters: {', '.join(params) or 'none'}")
        env2 = {}
        for key, default in params.items():
            value = values.get(key, default)
            if value is None:
                bad = True
                if key not in meant:  # the misspelling is the root cause, already reported
                    self.problem(f"block '{name}' needs the argument '{key}'", where, path,
                                 f"write '- {name}: {{{key}: ...}}'")
            env2[key] = value
        if bad:
            return None
        group["block"] = name
        group["args"] = {k: v for k, v in values.items()}
        for key in BLOCK_OPTIONS:  # the residual options; the layers come last, below
            if key in bdef and key != "layers":
                value = bdef[key]
                if key in BLOCK_CHILDREN and isinstance(value, list):
                    value = self.layers(value, bdef.where(key), f"blocks.{name}.{key}", env2, (*stack, name))
                elif is_expr(value):
                    before = len(self.problems)
                    value = self.value(value, env2, bdef.where(key), f"blocks.{name}.{key}")
                    if len(self.problems) > before:
                        return None
                group[key] = value
        group["layers"] = self.layers(bdef.get("layers"), bdef.where("layers"), f"{path}→{name}.layers", env2,
                                      (*stack, name))
        return group

    # --- parameter substitution -----------------------------------------------------------------
    def value(self, text: str, env: dict[str, Any], where: Location | None, path: str) -> Any:
        try:
            return evaluate(text, env)
        except ExprError as exc:
            self.problem(f"in '{text}': {exc}", where, path)
            return None

    def substitute(self, value: Any, env: dict[str, Any], path: str, where: Location | None = None) -> Any:
        if is_expr(value):
            return self.value(value, env, where, path)
        if isinstance(value, dict):
            out = PosDict(pos=getattr(value, "pos", None))
            out.key_pos = dict(getattr(value, "key_pos", {}))
            for k, v in value.items():
                out[k] = self.substitute(v, env, f"{path}.{k}", out.where(k))
            return out
        if isinstance(value, list):
            item_pos = list(getattr(value, "item_pos", [None] * len(value)))
            return PosList([self.substitute(v, env, f"{path}[{i}]", item_pos[i] if i < len(item_pos) else where)
                            for i, v in enumerate(value)], pos=getattr(value, "pos", None), item_pos=item_pos)
        return value


def _check_keys(raw: PosDict, allowed: tuple[str, ...], path: str, exp: Expander, what: str) -> None:
    for key in raw:
        if key not in allowed:
            hint = did_you_mean(key, allowed) if isinstance(key, str) else ""
            exp.problem(f"unknown key '{key}' in {what}", raw.where(key), f"{path}{key}",
                        hint or f"{what} takes: {', '.join(allowed)}")


def _network(raw: PosDict, path: str, exp: Expander) -> PosDict:
    out = PosDict(pos=raw.pos)
    out.path = path
    inputs: Any = None
    if "input" in raw and "inputs" in raw:
        exp.problem("give either 'input' or 'inputs', not both", raw.where("inputs"), path)
    if "input" in raw:
        inputs = PosDict({"input": raw["input"]}, pos=raw.where("input"))
        inputs.key_pos["input"] = raw.where("input")
        out.key_pos["inputs"] = raw.where("input")
    elif "inputs" in raw:
        inputs = raw["inputs"]
        out.key_pos["inputs"] = raw.where("inputs")
    else:
        exp.problem("the network has no input", raw.pos, path, "add e.g. 'input: [1, 28, 28]' (channels first)")
    if isinstance(inputs, dict):
        canon = PosDict(pos=getattr(inputs, "pos", None))
        for name, value in inputs.items():
            where = inputs.where(name) if isinstance(inputs, PosDict) else None
            if isinstance(value, list):
                value = PosDict({"shape": value}, pos=where)
                value.key_pos["shape"] = where
            elif isinstance(value, str):
                value = PosDict({"from": value}, pos=where)
                value.key_pos["from"] = where
            elif not isinstance(value, dict):
                key = "input" if "input" in raw else name
                shape = f"[{value}]" if isinstance(value, int) and not isinstance(value, bool) else "[1, 28, 28]"
                exp.problem(f"an input is a shape (a list of sizes) or a mapping, got {_show(value)}", where,
                            f"{path}{'input' if key == 'input' else f'inputs.{name}'}",
                            f"write '{key}: {shape}' or '{key}: {{shape: {shape}, dtype: float}}'")
                exp.dropped[id(canon)] = canon
                continue
            canon[name] = value
            canon.key_pos[name] = where
        inputs = canon
    elif inputs is not None:
        exp.problem(f"'inputs' maps input names to shapes, got {_show(inputs)}", raw.where("inputs"), f"{path}inputs",
                    "write 'inputs: {x: [3, 32, 32]}', or 'input: [3, 32, 32]' for a single input")
        inputs = PosDict(pos=raw.where("inputs"))
        exp.dropped[id(inputs)] = inputs
    if inputs is not None:
        out["inputs"] = inputs
    for key in ("description", "expect"):
        if key in raw:
            out[key] = raw[key]
            out.key_pos[key] = raw.where(key)
    if "outputs" in raw:
        outputs = raw["outputs"]
        out["outputs"] = [outputs] if isinstance(outputs, str) else outputs
        out.key_pos["outputs"] = raw.where("outputs")
    if "layers" in raw:
        out["layers"] = exp.layers(raw["layers"], raw.where("layers"), f"{path}layers", {}, ())
        out.key_pos["layers"] = raw.where("layers")
    else:
        exp.problem("the network has no 'layers' list", raw.pos, path)
    return out


def _blocks(raw: Any, exp: Expander) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        exp.problem("'blocks' must map block names to definitions", getattr(raw, "pos", None), "blocks")
        return {}
    blocks = {}
    for name, bdef in raw.items():
        where = raw.where(name) if isinstance(raw, PosDict) else None
        if not isinstance(name, str) or not name.isidentifier():
            exp.problem(f"block name {name!r} must be an identifier", where, "blocks")
            continue
        if canonical_kind(name):
            exp.problem(f"block name '{name}' is already a layer kind", where, f"blocks.{name}",
                        "choose another name")  # still expanded below, so its uses do not fail too
        if not isinstance(bdef, PosDict) or "layers" not in bdef:
            exp.problem(f"block '{name}' needs a 'layers' list", where, f"blocks.{name}",
                        "blocks: {name: {params: {width: 64}, layers: [...]}}")
            continue
        _check_keys(bdef, BLOCK_KEYS, f"blocks.{name}.", exp, "a block definition")
        params = bdef.get("params") or {}
        if not isinstance(params, dict):
            exp.problem("block 'params' must map names to defaults (null = required)", bdef.where("params"),
                        f"blocks.{name}.params")
            continue
        blocks[name] = bdef
    return blocks


def is_library(raw: Any) -> bool:
    """A block library: a spec file with ``blocks:`` (or ``imports:``) and no network."""
    return isinstance(raw, dict) and not any(k in raw for k in NETWORK_MARKERS) and \
        ("blocks" in raw or IMPORTS_KEY in raw)


class _Importing(Expander):
    """The expander of a spec that imports blocks: a problem found inside an imported block (located in
    the library) also says where the spec used that block."""

    def __init__(self, blocks: dict[str, Any], file: str) -> None:
        super().__init__(blocks, file)
        self.imported: dict[str, Library] = {}

    def block(self, name: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
              stack: tuple[str, ...]) -> PosDict | None:
        before = len(self.problems)
        group = super().block(name, args, where, path, env, stack)
        if name in self.imported and where is not None and where.file == self.file:
            for i in range(before, len(self.problems)):
                p = self.problems[i]
                if p.location is not None and p.location.file != self.file and " used at " not in p.message:
                    self.problems[i] = Problem(f"{p.message} (in block '{name}', used at {where})", p.location,
                                               p.path, p.hint)
        return group


def _import(raw: PosDict, file: str, base: str | None, exp: _Importing) -> None:
    """Add the blocks of every library ``raw`` imports to ``exp.blocks``. A name defined twice (here and
    in a library, or in two libraries) is a problem naming both places: no definition overrides another,
    so that which block a name means never depends on the order of the imports."""
    libraries, problems = read_imports(raw, file, base)
    exp.problems.extend(problems)
    if not libraries:
        return
    local = raw.get("blocks")
    origins: dict[str, Location | None] = {
        name: local.where(name) if isinstance(local, PosDict) else None for name in exp.blocks}
    for lib in libraries:
        used = f"imported at {lib.where}" if lib.where is not None else "imported"
        if not isinstance(lib.raw, PosDict):
            exp.problem(f"'{lib.file}' is not a block library: a library is a mapping with 'blocks:'",
                        getattr(lib.raw, "pos", None) or Location(lib.file, 1, 1), "", f"{used}")
            continue
        for key in lib.raw:
            if key in LIBRARY_KEYS:
                continue
            where = lib.raw.where(key)
            if key in TOP_KEYS:
                exp.problem(f"'{lib.file}' is imported as a block library, which holds only blocks, but it has "
                            f"'{key}'", where, key,
                            f"{used}; a library may hold {', '.join(LIBRARY_KEYS)}: move the network into a spec "
                            "of its own that imports the library")
            else:
                hint = did_you_mean(key, LIBRARY_KEYS) if isinstance(key, str) else ""
                exp.problem(f"unknown key '{key}' in a block library", where, key,
                            hint or f"a library holds: {', '.join(LIBRARY_KEYS)}")
        for name, bdef in _blocks(lib.raw.get("blocks"), exp).items():
            place = lib.raw["blocks"].where(name) if isinstance(lib.raw["blocks"], PosDict) else None
            if name in origins:
                first = origins[name]
                if first is not None and first.file == file:
                    exp.problem(f"block '{name}' is defined here and also in {lib.file} ({place}, {used})", first,
                                f"blocks.{name}", "rename one of them: a spec may not redefine an imported block")
                else:
                    exp.problem(f"block '{name}' is defined in {lib.file} ({place}) and also in {first}",
                                lib.where or place, f"blocks.{name}",
                                "rename one of them, or import only one of the two files")
                continue
            origins[name] = place
            exp.blocks[name] = bdef
            exp.imported[name] = lib


def canonicalize(raw: Any, file: str = "<string>", default_name: str = "net", base: str | None = None,
                 library: bool = False) -> Canonical:
    """Turn a raw spec tree into canonical form; returns the tree, the problems found, and which of the
    tree's containers lost an item to one of them (so that "at least 1 item" is not reported again).

    Imported libraries are read (through the frontends) relative to ``base``, by default the folder of
    ``file`` (the current directory for a spec given as text). With ``library`` the tree is a block
    library: its keys, blocks and imports are checked and the tree holds its own ``blocks``, no network;
    without it, a library is a problem (there is no network to check)."""
    if not isinstance(raw, PosDict):
        where = getattr(raw, "pos", None) or Location(file, 1, 1)
        problem = Problem("a spec must be a mapping with 'input' and 'layers' (or 'networks')", where,
                          hint="see specs/lenet5.yaml for an example")
        return Canonical(PosDict(pos=where), [problem], {}, {})
    exp = _Importing({}, file)
    _check_keys(raw, LIBRARY_KEYS if library else TOP_KEYS, "", exp, "a block library" if library else "a spec")
    exp.blocks = _blocks(raw.get("blocks"), exp)
    own = dict(exp.blocks)
    _import(raw, file, base, exp)
    out = PosDict(pos=raw.pos)
    for key in ("netspec", "description", "train"):
        if key in raw:
            out[key] = raw[key]
            out.key_pos[key] = raw.where(key)
    if library or is_library(raw):
        if not library:
            names = ", ".join(own) or "none of its own"
            exp.problem(f"{file} is a block library (blocks: {names}), not a network: there is nothing to check "
                        "on its own", raw.pos, "",
                        "import it from a spec ('imports: [file]' in YAML, 'import \"file\"' in the DSL) and "
                        "use its blocks there")
        out["blocks"] = PosDict(own, pos=raw.pos)
        return Canonical(out, exp.problems, exp.dropped, exp.meant)
    name = raw.get("name", default_name)
    out["name"] = name
    out.key_pos["name"] = raw.where("name")
    nets = PosDict(pos=raw.pos)
    if "networks" in raw:
        for key in ("input", "inputs", "layers", "outputs", "expect"):
            if key in raw:
                exp.problem(f"'{key}' belongs inside a network when 'networks:' is used", raw.where(key), key)
        raw_nets = raw["networks"]
        if not isinstance(raw_nets, PosDict) or not raw_nets:
            exp.problem("'networks' must map network names to networks", raw.where("networks"), "networks")
        else:
            for net_name, net in raw_nets.items():
                if not isinstance(net, PosDict):
                    exp.problem("a network must be a mapping with 'input' and 'layers'", raw_nets.where(net_name),
                                f"networks.{net_name}")
                    continue
                _check_keys(net, NETWORK_KEYS, f"networks.{net_name}.", exp, "a network")
                nets[net_name] = _network(net, f"networks.{net_name}.", exp)
                nets.key_pos[net_name] = raw_nets.where(net_name)
        out.key_pos["networks"] = raw.where("networks")
    else:
        net_name = name if isinstance(name, str) and name.isidentifier() else "net"
        nets[net_name] = _network(raw, "", exp)
        nets.key_pos[net_name] = raw.pos
    out["networks"] = nets
    return Canonical(out, exp.problems, exp.dropped, exp.meant)

