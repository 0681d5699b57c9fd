"""Raw tree -> canonical tree: the step between a frontend and pydantic.

What users write is short (``- conv2d: {filters: 6}``, ``- flatten``, ``- dense: 120``, a block used
like a layer, ``repeat: 3``, a top-level ``input:`` and ``layers:``). The canonical form is what the
pydantic models read: every layer a mapping with a ``kind`` key, blocks expanded into groups with
their arguments substituted, repeats expanded, a single network moved under ``networks:``.
Positions are carried over, so errors still point into the file. Problems are collected, not raised
one by one.
"""

from __future__ import annotations

from typing import Any

from netspec.core.errors import Location, Problem, did_you_mean
from netspec.core.source import PosDict, PosList
from netspec.frontends.keys import BLOCK_CHILDREN, BLOCK_KEYS, BLOCK_OPTIONS, ITEM_KEYS, REPEAT
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import all_kind_names, field_names
from netspec.layers.structure import Residual, Sequential
from netspec.spec.expr import ExprError, evaluate, is_expr

TOP_KEYS = ("netspec", "name", "description", "input", "inputs", "outputs", "layers", "blocks", "networks",
            "expect", "train")
NETWORK_KEYS = ("description", "input", "inputs", "outputs", "layers", "expect")
MAX_REPEAT = 1000
MAX_DEPTH = 24
MAX_LAYERS = 100_000


class Expander:
    """Holds the block definitions and the problems found while expanding."""

    def __init__(self, blocks: dict[str, Any], file: str) -> None:
        self.blocks = blocks
        self.file = file
        self.problems: list[Problem] = []
        self.count = 0

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
        for i, item in enumerate(raw):
            item_where = raw.where(i) if isinstance(raw, PosList) else where
            for canon in self.item(item, item_where, f"{path}[{i}]", env, stack):
                out.append(canon)
                out.item_pos.append(item_where)
        return out

    def item(self, raw: Any, where: Location | None, path: str, env: dict[str, Any],
             stack: tuple[str, ...]) -> list[PosDict]:
        self.count += 1
        if self.count > MAX_LAYERS:
            if self.count == MAX_LAYERS + 1:
                self.problem(f"the spec expands to more than {MAX_LAYERS} layers", where, path,
                             "lower the repeat counts")
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
            self.problem(f"a layer must be a kind name or a mapping, got {raw!r}", where, path,
                         "write '- flatten' or '- dense: {units: 10}'")
            return []
        if not isinstance(kind, str):
            self.problem(f"a layer kind must be a name, got {kind!r}", where, path)
            return []
        repeat = args.pop(REPEAT, None)
        if repeat is None:
            one = self.single(kind, args, where, path, env, stack)
            return [one] if one is not None else []
        if is_expr(repeat):
            repeat = self.value(repeat, env, args.where(REPEAT), path)
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_REPEAT:
            self.problem(f"{REPEAT} must be an integer from 1 to {MAX_REPEAT}, got {repeat!r}",
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
        for i in range(repeat):
            copy = PosDict(args, pos=args.pos)
            copy.key_pos = dict(args.key_pos)
            one = self.single(kind, copy, where, f"{path}#{i}", {**env, "i": i}, stack)
            if one is not None:
                body.append(one)
                body.item_pos.append(where)
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
        primary = layer_class(canon).PRIMARY if canon else None
        if primary is None:
            what = f"block '{kind}'" if kind in self.blocks else f"'{kind}'"
            self.problem(f"{what} takes named options, got {value!r}", where, path,
                         f"write '- {kind}: {{option: value}}'")
            return None
        args[primary] = value
        args.key_pos[primary] = where
        return args

    def single(self, kind: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
               stack: tuple[str, ...]) -> PosDict | None:
        if env:
            args = self.substitute(args, env, path)
        if kind in self.blocks:
            return self.block(kind, args, where, path, env, stack)
        canon = canonical_kind(kind)
        if canon is None:
            hint = did_you_mean(kind, [*all_kind_names(), *self.blocks])
            self.problem(f"unknown layer kind '{kind}'", where, path,
                         hint or "run 'netspec kinds' for the list, or define it under 'blocks:'")
            return None
        cls = layer_class(canon)
        known = field_names(cls)
        out = PosDict(pos=where)
        out.path = path
        out["kind"] = canon
        for key, value in args.items():
            if key == "kind" or key not in known:
                hint = did_you_mean(key, known) if isinstance(key, str) else ""
                self.problem(f"unknown option '{key}' for {canon}", args.where(key), f"{path}.{key}",
                             hint or f"{canon} takes: {', '.join(k for k in known if k != 'kind')}")
                continue
            depth = cls.CHILDREN.get(key)
            if depth and isinstance(value, list):
                if depth == 1:
                    value = self.layers(value, args.where(key), f"{path}.{key}", env, stack)
                else:
                    lists = PosList([], pos=getattr(value, "pos", None))
                    for j, sub in enumerate(value):
                        sub_where = value.where(j) if isinstance(value, PosList) else args.where(key)
                        lists.append(self.layers(sub, sub_where, f"{path}.{key}[{j}]", env, stack))
                    lists.item_pos = [getattr(v, "pos", None) for v in lists]
                    value = lists
            out[key] = value
            out.key_pos[key] = args.where(key)
        return out

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
        for key, value in args.items():
            if key in ITEM_KEYS:
                group[key] = value
                group.key_pos[key] = args.where(key)
            elif key in params:
                values[key] = value
            else:
                hint = did_you_mean(key, params)
                self.problem(f"block '{name}' has no parameter '{key}'", args.where(key), f"{path}.{key}",
                             hint or f"its parameters: {', '.join(params) or 'none'}")
        env2 = {}
        for key, default in params.items():
            value = values.get(key, default)
            if value is None:
                self.problem(f"block '{name}' needs the argument '{key}'", where, path,
                             f"write '- {name}: {{{key}: ...}}'")
            env2[key] = value
        group["block"] = name
        group["args"] = {k: v for k, v in values.items()}
        for key in BLOCK_OPTIONS:  # the residual options; the layers come last, below
            if key in bdef and key != "layers":
                value = bdef[key]
                if key in BLOCK_CHILDREN and isinstance(value, list):
                    value = self.layers(value, bdef.where(key), f"blocks.{name}.{key}", env2, (*stack, name))
                elif is_expr(value):
                    value = self.value(value, env2, bdef.where(key), path)
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

    def substitute(self, value: Any, env: dict[str, Any], path: str) -> Any:
        if is_expr(value):
            return self.value(value, env, None, path)
        if isinstance(value, dict):
            out = PosDict(pos=getattr(value, "pos", None))
            out.key_pos = dict(getattr(value, "key_pos", {}))
            for k, v in value.items():
                out[k] = (self.value(v, env, out.where(k), f"{path}.{k}") if is_expr(v)
                          else self.substitute(v, env, path))
            return out
        if isinstance(value, list):
            return PosList([self.substitute(v, env, path) for v in value], pos=getattr(value, "pos", None),
                           item_pos=list(getattr(value, "item_pos", [None] * len(value))))
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
            canon[name] = value
            canon.key_pos[name] = where
        inputs = canon
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


def canonicalize(raw: Any, file: str = "<string>", default_name: str = "net") -> tuple[PosDict, list[Problem]]:
    """Turn a raw spec tree into canonical form; returns the tree and the problems found."""
    if not isinstance(raw, PosDict):
        where = getattr(raw, "pos", None) or Location(file, 1, 1)
        return PosDict(pos=where), [Problem("a spec must be a mapping with 'input' and 'layers' (or 'networks')",
                                            where, hint="see specs/lenet5.yaml for an example")]
    exp = Expander({}, file)
    _check_keys(raw, TOP_KEYS, "", exp, "a spec")
    exp.blocks = _blocks(raw.get("blocks"), exp)
    out = PosDict(pos=raw.pos)
    for key in ("netspec", "description", "train"):
        if key in raw:
            out[key] = raw[key]
            out.key_pos[key] = raw.where(key)
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
    return out, exp.problems

