"""Raw tree -> canonical tree: the step between a frontend and pydantic.

What users write is short (``- conv2d: {filters: 6}``, ``- flatten``, ``- dense: 120``, a block used
like a layer, ``repeat: 3``, a top-level ``input:`` and ``layers:``). The canonical form is what the
pydantic models read: every layer a mapping with a ``kind`` key, blocks expanded into groups with
their arguments substituted, repeats expanded, a single network moved under ``networks:``.
Positions are carried over, so errors still point into the file. Problems are collected, not raised
one by one.

``if: EXPR`` on an item leaves it out when false, and ``repeat: 0`` makes nothing. A block whose
definition reads its input's type (``$in.channels``, ``${in.shape[-1] * 4}``) cannot be expanded
before shapes are known: its use becomes a *deferred* group (an empty ``sequential`` whose ``path`` is
a :class:`Deferred` carrying the block, its arguments and what expansion needs), which the graph
builder expands with :func:`expand_deferred` once the type entering it is known (what rides on a path from
here to the builder is in :mod:`netspec.spec.carried`).

This module expands layer lists and blocks; :mod:`netspec.spec.canonical` is the entry point for a whole
file (top-level keys, networks) and :mod:`netspec.spec.imports` merges the block libraries a spec imports.
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Any, NamedTuple

from netspec.core.errors import Location, Problem, close_matches, did_you_mean
from netspec.core.fmt import bounds_text, show
from netspec.core.source import PosDict, PosList
from netspec.frontends.keys import BLOCK_CHILDREN, BLOCK_KEYS, BLOCK_OPTIONS, IF, ITEM_KEYS, REPEAT
from netspec.layers import canonical_kind, layer_class
from netspec.layers.base import Layer, all_kind_names, field_names
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential
from netspec.spec.carried import (
    ArgKey,
    ArgName,
    ArgValue,
    Deferred,
    DeferredUse,
    Tally,
    argument_context,
    at_argument,
    carry_args,
    use_context,
)
from netspec.spec.expr import FUNCTIONS, INPUT, ExprError, InputView, evaluate, is_expr, names_in

MAX_REPEAT = 1000
MAX_DEPTH = 24  # blocks used inside blocks
MAX_NESTING = 40  # layer lists inside layer lists (groups, bodies, branches): what the DSL can write back
MAX_LAYERS = 20_000  # layers and groups after expansion; ResNet-152 has about 500


class DeferredExpansion(NamedTuple):
    """What :func:`expand_deferred` returns."""

    item: PosDict | None  # the canonical group (None when a problem was found)
    problems: list[Problem]
    count: int  # layers and groups made so far, this expansion's included (pass it to the next one)


def expand_deferred(use: DeferredUse, inputs: list[Any], count: int | None = None) -> DeferredExpansion:
    """Expand a deferred block use, ``in`` bound to the type of its input (``inputs[0]``, a TensorType).

    ``count``: the layers made so far in this build (default: the spec's own expansion), so that a build's
    deferred expansions together stay within MAX_LAYERS. Problems are located in the block definition
    and say which use they come from."""
    exp = Expander(use.blocks, use.file)
    exp.tally = Tally(use.tally.count if count is None else count)
    exp.nesting = use.nesting
    exp.context = use_context(use)
    first = inputs[0]
    group = PosDict(pos=use.where)
    for key, (value, where) in use.item_keys.items():
        group[key] = value
        group.key_pos[key] = where
    group["args"] = dict(use.args)
    out = exp.body(use.block, group, {**use.env, INPUT: InputView(first.shape, first.dtype)}, use.path, use.stack,
                   use.places)
    problems = [p if argument_context(p.location) else Problem(f"{p.message} ({exp.context})", p.location, p.path,
                                                                p.hint) for p in exp.problems]  # (an argument's says)
    return DeferredExpansion(None if problems else out, problems, exp.count)


class Expander:
    """Holds the block definitions and the problems found while expanding."""

    def __init__(self, blocks: dict[str, Any], file: str) -> None:
        self.blocks = blocks
        self.file = file
        self.problems: list[Problem] = []
        self.tally = Tally()  # layers and groups made so far
        self.over = False  # MAX_LAYERS was passed: stop expanding
        self.nesting = 0  # layer lists open now
        self.dropped: dict[int, Any] = {}  # see Canonical
        self.meant: dict[tuple[int, str], Any] = {}
        self.lazy: dict[str, bool] = {}  # block name -> its definition reads `in`
        self.context = ""  # in a deferred expansion: which use (added to its problems)
        self.gone: list[dict[str, str]] = []  # per open layer list: names of items left out -> why
        self.left_out = 0  # items left out by `if:` or `repeat: 0` so far
        self.checking = ""  # the block check_definition is checking
        self.refused: set[str] = set()  # blocks whose definition is wrong (said there): their uses are not unknown
        self.used: set[str] = set()  # the blocks a use reached (a deferred one says its problems with its use)
        self.top_gone: dict[str, str] = {}  # the last layer list closed: names of its items left out -> why
        # The block body being expanded: its parameters given at the use -> where the use writes each (a
        # value put in from one, `kernel: $k`, is located there: see ArgValue).
        self.frame: dict[str, ArgValue] = {}

    @property
    def count(self) -> int:
        return self.tally.count

    @count.setter
    def count(self, value: int) -> None:
        self.tally.count = value

    def problem(self, message: str, where: Location | None, path: str, hint: str = "") -> None:
        problem = Problem(message, where, path, hint)  # at a block argument: said of it (which, where it is used)
        self.problems.append(at_argument(problem) or problem)

    # --- layers ---------------------------------------------------------------------------------
    def layers(self, raw: Any, where: Location | None, path: str, env: dict[str, Any],
               stack: tuple[str, ...]) -> PosList:
        if not isinstance(raw, list):
            self.problem("expected a list of layers", where, path, "each layer is a '- kind: {...}' item")
            out = PosList([], pos=where)
            self.dropped[id(out)] = out  # "at least 1 layer" would say it again
            return out
        out = PosList([], pos=getattr(raw, "pos", where))
        out.item_pos = []
        if self.nesting >= MAX_NESTING:
            self.problem(f"layers are nested more than {MAX_NESTING} deep (groups inside groups)", where, path,
                         "a spec this deep is almost certainly a mistake")
            self.dropped[id(out)] = out
            return out
        self.nesting += 1
        self.gone.append({})
        problems, left = len(self.problems), self.left_out
        try:
            for i, item in enumerate(raw):
                item_where = raw.where(i) if isinstance(raw, PosList) else where
                before = self.left_out
                made = self.item(item, item_where, f"{path}[{i}]", env, stack)
                if not made and self.left_out == before:
                    self.dropped[id(out)] = out  # its problem is reported; an emptied list is not another one
                for canon in made:
                    out.append(canon)
                    out.item_pos.append(item_where)
        finally:
            self.nesting -= 1
            self.top_gone = self.gone.pop()  # a network's own list last: what its `outputs:` may not name
        if raw and not out and self.left_out > left and len(self.problems) == problems:
            self.dropped[id(out)] = out
            self.problem("every layer of this list is left out (if: false or repeat: 0)", where, path,
                         "a list of layers needs at least one; put the if: on the group or block use instead")
        return out

    def item(self, raw: Any, where: Location | None, path: str, env: dict[str, Any],
             stack: tuple[str, ...]) -> list[PosDict]:
        if self.over:
            return []
        if raw is None:
            self.problem("an empty layer item", where, path, "write a kind after the '-' (e.g. '- flatten'), or remove the line")
            return []
        written = _missing_colon(raw)
        if written is not None:
            kind, rest = written
            self.problem(f"missing ':' after '{kind}'", where, path, f"a colon after the kind: '- {kind}: {rest}'")
            return []
        if isinstance(raw, str):
            kind, args = raw, PosDict(pos=where)
        elif isinstance(raw, dict) and isinstance(raw.get("kind"), str):
            kind = raw["kind"]  # canonical form: {kind: conv2d, filters: 6}
            args = PosDict({k: v for k, v in raw.items() if k != "kind"}, pos=getattr(raw, "pos", where))
            args.key_pos = dict(getattr(raw, "key_pos", {}))
        elif isinstance(raw, dict):
            kinds = [k for k in raw if k not in ITEM_KEYS]
            if len(kinds) > 1 and self.misspelled_item_keys(raw, kinds, path):
                return []
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
                    if key in args:  # in the options and beside them: said at the second, naming the first
                        first, here = args.where(key), raw.where(key)
                        if first and here and (first.line, first.column) > (here.line, here.column):
                            first, here = here, first
                        also = f": it is first written at line {first.line}, column {first.column}" if first else ""
                        self.problem(f"'{key}' is given twice{also}", here, path,
                                     "write it once, in the options or beside them")
                    args[key] = raw[key]
                    args.key_pos[key] = raw.where(key)
        else:
            self.problem(f"a layer must be a kind name or a mapping, got {show(raw)}", where, path,
                         "write '- flatten' or '- dense: {units: 10}'")
            return []
        if not isinstance(kind, str):
            self.problem(f"a layer kind must be a name, got {show(kind)}", where, path)
            return []
        # a problem with the condition or the count is at its value (a block argument's: at the argument)
        cond_where, repeat_where = self.value_place(args, IF), self.value_place(args, REPEAT)
        cond = args.pop(IF, True)
        repeat = args.pop(REPEAT, None)
        if repeat is None:
            keep = self.decide(cond, env, cond_where, f"{path}.{IF}")
            if not keep:
                if keep is False:
                    self.leave_out(args, env, f"if: false at {cond_where}" if cond_where else "if: false")
                return []
            self.check_refs(args, where, path)
            one = self.single(kind, args, where, path, env, stack)
            if one is not None:
                self.kept(one.get("name"))
            return [one] if one is not None else []
        if is_expr(repeat):
            before = len(self.problems)
            repeat = self.value(repeat, env, repeat_where, f"{path}.{REPEAT}")
            if len(self.problems) > before:
                return []
        if isinstance(repeat, bool) or not isinstance(repeat, int) or not 0 <= repeat <= MAX_REPEAT:
            self.problem(f"{REPEAT} must be a whole number {bounds_text(0, MAX_REPEAT)}, got {show(repeat)}",
                         repeat_where, f"{path}.{REPEAT}")
            return []
        if repeat == 0:
            self.leave_out(args, env, f"repeat: 0 at {args.where(REPEAT)}" if args.where(REPEAT) else "repeat: 0")
            return []
        self.check_refs(args, where, path)
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
            keep = self.decide(cond, {**env, "i": i}, cond_where, f"{path}#{i}.{IF}")
            if keep is None:
                return []
            if not keep:
                continue
            one = self.single(kind, copy, where, f"{path}#{i}", {**env, "i": i}, stack)
            if one is None or len(self.problems) > problems:  # reported once: the other copies would say the same
                return []
            body.append(one)
            body.item_pos.append(where)
            size = self.count - before  # the size of one copy bounds the rest before they are made
            if len(body) == 1 and self.count + size * (repeat - 1 - i) > MAX_LAYERS:
                self.over = True
                self.problem(f"{REPEAT}: {repeat} copies of {size:,} layer{'s' if size > 1 else ''} make the spec "
                             f"larger than {MAX_LAYERS:,} layers", repeat_where, f"{path}.{REPEAT}",
                             "lower the repeat counts (repeats inside blocks multiply)")
                return []
        if not body:
            self.count -= 1
            self.leave_out(group, env, f"if: false for every copy, at {cond_where}" if cond_where else "if: false")
            return []
        group["layers"] = body
        self.kept(group.get("name"))
        return [carry_args(group)]

    def misspelled_item_keys(self, raw: PosDict, keys: list[str], path: str) -> bool:
        """``- conv2d: 8`` beside ``nmae: x``: when exactly one key is a kind (or block) and each other one
        is close to an item key (name, from, ...), report each as an unknown key with its did-you-mean
        (rather than "a layer item needs exactly one kind key"). Whether it did."""
        kinds = [k for k in keys if isinstance(k, str) and (canonical_kind(k) or k in self.blocks)]
        others = [k for k in keys if k not in kinds]
        if len(kinds) != 1 or not all(isinstance(k, str) and close_matches(k, ITEM_KEYS) for k in others):
            return False
        where = raw.where if isinstance(raw, PosDict) else (lambda _: None)
        for key in others:
            self.problem(f"unknown key '{key}' in a layer item", where(key), f"{path}.{key}",
                         did_you_mean(key, ITEM_KEYS))
        return True

    # --- if: and repeat: 0 -------------------------------------------------------------------------
    def decide(self, cond: Any, env: dict[str, Any], where: Location | None, path: str, key: str = IF
               ) -> bool | None:
        """An item's ``if:`` (or a block's ``residual:``): True, False or None (a problem, reported)."""
        if is_expr(cond):
            before = len(self.problems)
            cond = self.value(cond, env, where, path)
            if len(self.problems) > before:
                return None
        if not isinstance(cond, bool):
            self.problem(f"{key}: needs true or false, got {show(cond)}", where, path,
                         f"write a condition, e.g. {key}: ${{stride == 1 and in.channels == out}}, or true / false")
            return None
        return cond

    def leave_out(self, args: PosDict, env: dict[str, Any], why: str) -> None:
        """An item is left out: a later ``from:`` naming it is told why."""
        self.left_out += 1
        name = args.get("name")
        if is_expr(name):
            try:
                name = evaluate(name, env)
            except ExprError:
                name = None
        if isinstance(name, str) and self.gone:
            self.gone[-1][name] = why

    def kept(self, name: Any) -> None:
        """An item named ``name`` was made: the name is no longer one of a left-out item (``if:`` pairs)."""
        if self.gone and isinstance(name, str):
            self.gone[-1].pop(name, None)

    def check_refs(self, args: PosDict, where: Location | None, path: str) -> None:
        """A ``from:`` naming an item that was left out: say so, where (the builder would only say that
        the name is unknown)."""
        refs = args.get("from")
        if not any(self.gone) or refs is None:
            return
        for ref in [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []:
            if not isinstance(ref, str) or is_expr(ref):
                continue
            name = ref.partition(":")[0]
            why = next((scope[name] for scope in reversed(self.gone) if name in scope), None)
            if why is not None:
                self.problem(f"from: '{name}' names a layer that is left out ({why})", args.where("from") or where,
                             f"{path}.from", "give this item the same if: (or read another layer)")

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
            if kind in self.blocks:
                what, named = f"block '{kind}'", "parameters"
                params = self.blocks[kind].get("params") if isinstance(self.blocks[kind], dict) else None
                opts = [str(p) for p in params] if isinstance(params, dict) else []
            else:
                what, named = f"'{kind}'", "options"
                base = set(field_names(Layer))
                opts = [f for f in field_names(layer_class(canon)) if f not in base]  # type: ignore[arg-type]
            if not opts:  # `- relu: 3`: nothing to set
                self.problem(f"{what} takes no {named}, got {show(value)}", where, path, f"write '- {kind}'")
            else:
                self.problem(f"{what} takes named {named}, got {show(value)}", where, path,
                             f"write '- {kind}: {{{opts[0]}: ...}}'; {named}: {', '.join(opts)}")
            return None
        args[primary] = value
        args.key_pos[primary] = where
        return args

    def unknown_kind(self, kind: str, where: Location | None, path: str) -> None:
        if kind in self.refused:  # defined, wrongly: its definition's problem is the root cause
            return
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
        if env or any(is_expr(v) for v in args.values()):  # outside blocks: say why `$width` means nothing
            args = self.substitute(args, env, path)
        failed = len(self.problems) > before  # an expression failed: report it, not what its None does later
        if kind in self.blocks:
            return None if failed else carry_args(self.block(kind, args, where, path, env, stack))
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
        return None if failed else carry_args(out)

    def block(self, name: str, args: PosDict, where: Location | None, path: str, env: dict[str, Any],
              stack: tuple[str, ...]) -> PosDict | None:
        if name in stack:
            self.problem(f"block '{name}' uses itself ({' → '.join((*stack, name))})", where, path)
            return None
        if len(stack) >= MAX_DEPTH:
            self.problem(f"blocks are nested more than {MAX_DEPTH} deep", where, path)
            return None
        self.used.add(name)
        bdef = self.blocks[name]
        params = bdef.get("params") or {}
        group = PosDict(pos=where)
        group.path = path
        group["kind"] = Residual.KIND if bdef.get(Residual.KIND) else Sequential.KIND  # `residual: true`
        values: dict[str, Any] = {}
        places: dict[str, Location | None] = {}  # where each argument's value is written
        bad = False  # a wrong argument: its body is not expanded (what it would say follows from the argument)
        meant: set[str] = set()  # parameters a misspelled argument was probably meant for
        for key, value in args.items():
            if key in ITEM_KEYS:
                group[key] = value
                group.key_pos[key] = args.where(key)
            elif key in params:
                if type(value) is str:  # a name written here names a layer of this scope (see ArgName)
                    value = ArgName(value, path, name, args.where(key), f"{path}.{key}")
                values[key] = value
                places[key] = args.value_where(key)
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
        if self.reads_input(name):
            return self.defer(name, group, values, env2, where, path, stack, places)
        group["args"] = {k: v for k, v in values.items()}
        return self.body(name, group, env2, path, stack, places)

    def reads_input(self, name: str) -> bool:
        """Whether block ``name``'s definition uses ``in`` (its input's type) anywhere but in the blocks
        it uses (whose ``in`` is their own input)."""
        if name not in self.lazy:
            found, todo = False, [self.blocks[name]]
            while todo and not found:
                value = todo.pop()
                if isinstance(value, dict):
                    todo.extend(value.values())
                elif isinstance(value, list):
                    todo.extend(value)
                elif is_expr(value):
                    found = INPUT in names_in(value)
            self.lazy[name] = found
        return self.lazy[name]

    def defer(self, name: str, group: PosDict, values: dict[str, Any], env: dict[str, Any], where: Location | None,
              path: str, stack: tuple[str, ...], places: dict[str, Location | None]) -> PosDict:
        """A use of a block that reads its input's type: an empty group, expanded by the graph builder."""
        use = DeferredUse(name, env, where, path, stack, self.nesting, self.blocks, self.file, self.tally,
                          self.context, {k: (v, group.where(k)) for k, v in group.items() if k in ITEM_KEYS},
                          dict(values), dict(places))
        group["kind"] = Sequential.KIND
        group["block"] = name
        group["args"] = {k: v for k, v in values.items()}
        group["layers"] = PosList([], pos=where)
        group.path = Deferred(path, use)
        return group

    def body(self, name: str, group: PosDict, env2: dict[str, Any], path: str, stack: tuple[str, ...],
             places: dict[str, Location | None] | None = None) -> PosDict | None:
        """A block's group: its kind (``residual:``), its options and its layers, ``env2`` its parameters,
        ``places`` where the use writes the arguments given (a value put into the body from one is located
        at the argument)."""
        outer = self.frame
        self.frame = {key: at if isinstance(at, ArgValue) else  # an argument passed on: where it was first written
                      ArgValue(at.file, at.line, at.column, arg=key, block=name, path=f"{path}.{key}")
                      for key, at in (places or {}).items() if at is not None}
        try:
            return self.body_of(name, group, env2, path, stack)
        finally:
            self.frame = outer

    def body_of(self, name: str, group: PosDict, env2: dict[str, Any], path: str, stack: tuple[str, ...]
                ) -> PosDict | None:
        bdef = self.blocks[name]
        group.path = path
        given = group["args"] if "args" in group else {k: v for k, v in env2.items() if k != INPUT}
        params = bdef.get("params") or {}
        for key, default in params.items():  # a default may be an expression: `hidden: ${in.channels * t}`
            if key not in given and is_expr(default):
                before = len(self.problems)
                env2 = {**env2, key: self.value(default, env2, params.where(key) if isinstance(params, PosDict)
                                                else bdef.where("params"), f"blocks.{name}.params.{key}")}
                if len(self.problems) > before:
                    return None
        residual = bdef.get(Residual.KIND, False)
        if Residual.KIND in bdef:  # `residual: ${stride == 1 and in.channels == out}`, or true / false
            residual = self.decide(residual, env2, bdef.value_where(Residual.KIND), f"blocks.{name}.{Residual.KIND}",
                                   Residual.KIND)
            if residual is None:
                return None
        group["kind"] = Residual.KIND if residual else Sequential.KIND
        group["block"] = name
        group["args"] = given
        for key in BLOCK_OPTIONS:  # the residual options; the layers come last, below
            if not residual:
                break  # the options of a residual that is not one (today, or ever: said at the definition)
            if key in bdef and key != "layers":
                value = bdef[key]
                if not is_expr(value) and not _option_ok(key, value):
                    continue  # said at the definition
                if key in BLOCK_CHILDREN and isinstance(value, list):
                    value = self.layers(value, bdef.where(key), f"blocks.{name}.{key}", env2, (*stack, name))
                elif is_expr(value):
                    before = len(self.problems)
                    arg = self.argument(value, bdef.value_where(key))  # `shortcut: $s`: a wrong one is the argument's
                    value = self.value(value, env2, bdef.where(key), f"blocks.{name}.{key}")
                    if len(self.problems) > before:
                        return None
                    if arg is not None:
                        group.key_pos[key] = arg
                group[key] = value
        group["layers"] = self.layers(bdef.get("layers"), bdef.where("layers"), f"{path}→{name}.layers", env2,
                                      (*stack, name))
        return group

    # --- a block definition, checked once whether used or not ---------------------------------------
    def check_definition(self, name: str, bdef: PosDict) -> None:
        """What a block definition gets wrong whatever its arguments: unknown kinds, blocks and options,
        names its expressions read that are not its parameters, literal residual options of the wrong
        type. Nothing is evaluated (the arguments and ``in`` are not known here); items under a false
        ``if:`` are checked too."""
        params = bdef.get("params") or {}
        names = set(params) | {INPUT}
        path = f"blocks.{name}"
        if isinstance(params, PosDict):
            for key, default in params.items():
                self.check_names(default, names, False, params.where(key), f"{path}.params.{key}")
        for key in (Residual.KIND, *BLOCK_OPTIONS):
            if key not in bdef:
                continue
            value, where = bdef[key], bdef.value_where(key)
            if key in BLOCK_CHILDREN and isinstance(value, list):
                self.check_layers(value, where, f"{path}.{key}", names, False)
                continue
            if is_expr(value):
                self.check_names(value, names, False, where, f"{path}.{key}")
            elif key == Residual.KIND:
                self.decide(value, {}, where, f"{path}.{key}", key)
            elif value is not None or key != "activation":
                self.check_option(key, value, where, f"{path}.{key}")
        residual = bdef.get(Residual.KIND, False)
        for key in BLOCK_OPTIONS:
            if key in bdef and key != "layers" and residual is False:
                self.problem(f"'{key}' applies to a residual block only, and block '{name}' is not one",
                             bdef.where(key), f"{path}.{key}", f"add '{Residual.KIND}: true', or remove '{key}'")

    def check_option(self, key: str, value: Any, where: Location | None, path: str) -> None:
        """A literal residual option (shortcut, projection_norm, activation) of a block definition."""
        if not _option_ok(key, value):
            choices = _choices(key)
            want = ", ".join(show(c) for c in choices) if choices else "true or false"
            hint = did_you_mean(value, [str(c) for c in choices]) if isinstance(value, str) and choices else ""
            self.problem(f"{key}: needs {want}" + (" or a list of layers" if key == "shortcut" else "")
                         + f", got {show(value)}", where, path, hint)

    def check_names(self, value: Any, names: set[str], in_repeat: bool, where: Location | None, path: str) -> None:
        """The names the expressions in ``value`` read that are not parameters (nor ``in``, nor ``i`` in a
        repeat)."""
        if isinstance(value, dict):
            for k, v in value.items():
                self.check_names(v, names, in_repeat, value.where(k) if isinstance(value, PosDict) else where,
                                 f"{path}.{k}")
        elif isinstance(value, list):
            for j, v in enumerate(value):
                self.check_names(v, names, in_repeat, value.where(j) if isinstance(value, PosList) else where,
                                 f"{path}[{j}]")
        elif is_expr(value):
            for n in sorted(names_in(value) - names - set(FUNCTIONS) - ({"i"} if in_repeat else set())):
                self.problem(f"in '{value}': unknown name '{n}'", where, path, unknown_name_hint(n, names))
            for attr in [] if self.checking in self.used else re.findall(r"(?<![\w.])in\.([A-Za-z_]\w*)", re.sub(r"'[^']*'|\"[^\"]*\"", " ", value)):
                if attr not in InputView.FIELDS:
                    close = close_matches(attr, InputView.FIELDS, 1)
                    self.problem(f"in '{value}': in.{attr} is not known", where, path,
                                 (f"did you mean in.{close[0]}? " if close else "") + "the input type has: "
                                 + ", ".join(f"in.{f}" for f in InputView.FIELDS))

    def check_layers(self, raw: list[Any], where: Location | None, path: str, names: set[str], in_repeat: bool
                     ) -> None:
        for i, item in enumerate(raw):
            item_where = raw.where(i) if isinstance(raw, PosList) else where
            ipath = f"{path}[{i}]"
            if isinstance(item, str):
                kind, value, kind_where, extra = item, None, item_where, {}
            elif isinstance(item, PosDict) and isinstance(item.get("kind"), str):
                kind, kind_where = item["kind"], item.where("kind") or item_where
                value = PosDict({k: v for k, v in item.items() if k != "kind"}, pos=item.pos)
                value.key_pos = dict(item.key_pos)
                extra = {}
            elif isinstance(item, PosDict):
                kinds = [k for k in item if k not in ITEM_KEYS]
                if len(kinds) != 1 or not isinstance(kinds[0], str):
                    continue  # the shape of the item: said where it is used
                kind, kind_where = kinds[0], item.where(kinds[0]) or item_where
                value, extra = item[kind], {k: v for k, v in item.items() if k in ITEM_KEYS}
            else:
                continue
            repeat = in_repeat or REPEAT in extra or isinstance(value, PosDict) and REPEAT in value
            for k, v in extra.items():
                self.check_names(v, names, repeat, item.where(k), f"{ipath}.{k}")
            canon = canonical_kind(kind)
            if canon is None and kind not in self.blocks:
                if _missing_colon(item) is None:
                    self.unknown_kind(kind, kind_where, ipath)
                continue
            if not isinstance(value, PosDict):
                self.check_names(value, names, repeat, kind_where, ipath)
                continue
            if canon is None:
                params = self.blocks[kind].get("params") or {}
                for key in value:
                    if key not in params and key not in ITEM_KEYS:
                        close = close_matches(key, params) if isinstance(key, str) else []
                        self.problem(f"block '{kind}' has no parameter '{key}'", value.where(key), f"{ipath}.{key}",
                                     did_you_mean(key, params) if close else
                                     f"its parameters: {', '.join(params) or 'none'}")
                self.check_names(value, names, repeat, kind_where, ipath)
                continue
            cls = layer_class(canon)
            known = field_names(cls)
            for key, v in value.items():
                kwhere = value.where(key)
                if key not in known and key not in ITEM_KEYS:
                    close = close_matches(key, known) if isinstance(key, str) else []
                    self.problem(f"unknown option '{key}' for {canon}", kwhere, f"{ipath}.{key}",
                                 did_you_mean(key, known) if close else
                                 f"{canon} takes: {', '.join(k for k in known if k != 'kind')}")
                    continue
                depth = cls.CHILDREN.get(key)
                if depth == 1 and isinstance(v, list):
                    self.check_layers(v, kwhere, f"{ipath}.{key}", names, repeat)
                elif depth and isinstance(v, list):
                    for j, sub in enumerate(v):
                        if isinstance(sub, list):
                            self.check_layers(sub, v.where(j) if isinstance(v, PosList) else kwhere,
                                              f"{ipath}.{key}[{j}]", names, repeat)
                else:
                    self.check_names(v, names, repeat, kwhere, f"{ipath}.{key}")

    # --- parameter substitution -----------------------------------------------------------------
    def value(self, text: str, env: dict[str, Any], where: Location | None, path: str) -> Any:
        try:
            return evaluate(text, env)
        except ExprError as exc:
            hint, message = "", str(exc)
            unknown = re.search(r"unknown name '(\w+)'", message)
            attribute = re.search(r"in\.(\w+) is not known", message)
            if INPUT in names_in(text) and INPUT not in env:
                hint = "write it inside a block definition: there 'in' is the type of the tensor entering the block"
            elif unknown:
                hint = unknown_name_hint(unknown.group(1), env)
            elif attribute:
                hint = ("in.channels is the first size, in.features the last, in.shape[i] any, in.spatial "
                        "the sizes after the first, in.rank their number, in.dtype the element type")
            elif "is a symbolic size" in message:
                hint = ("bind the symbol to a number (e.g. --bind T=50), or pass the size on as it is "
                        "(e.g. units: $in.features)")
            self.problem(f"in '{text}': {exc}", where, path, hint)
            return None

    def substitute(self, value: Any, env: dict[str, Any], path: str, where: Location | None = None) -> Any:
        """``value`` with every ``$expression`` in it evaluated against ``env``; a failed one is reported
        (at its ``path`` and place) and becomes None."""
        kind = type(value)
        if kind is str:
            return self.value(value, env, where, path) if value.startswith("$") else value
        if isinstance(value, dict):
            out = PosDict(pos=getattr(value, "pos", None))
            out.key_pos = dict(getattr(value, "key_pos", {}))
            for k, v in value.items():  # scalars, most options, are copied without a call (or a path)
                plain = type(v) in _SCALARS or type(v) is str and not v.startswith("$")
                out[k] = v if plain else self.substitute(v, env, f"{path}.{k}", out.value_where(k))
                arg = None if plain else self.argument(v, out.value_where(k))
                key = out.key_pos.get(k)
                if arg is not None and key is not None:  # the value is an argument's: a problem with it is there
                    out.key_pos[k] = ArgKey(key.file, key.line, key.column, (arg.line, arg.column), argument=arg)
            return out
        if isinstance(value, list):
            item_pos = list(getattr(value, "item_pos", [None] * len(value)))
            items = []
            for i, v in enumerate(value):
                at = item_pos[i] if i < len(item_pos) else where
                items.append(self.substitute(v, env, f"{path}[{i}]", at))
                arg = self.argument(v, at) if self.frame and i < len(item_pos) else None
                if arg is not None:
                    item_pos[i] = arg
            return PosList(items, pos=getattr(value, "pos", None), item_pos=item_pos)
        return self.value(value, env, where, path) if is_expr(value) else value


    def value_place(self, args: PosDict, key: str) -> Location | None:
        """Where a problem with ``args[key]``'s value is located: at the block argument that gave it, if one did."""
        if key not in args:
            return None
        at = args.value_where(key)
        return self.argument(args[key], at) or at

    def argument(self, value: Any, defined: Location | None) -> ArgValue | None:
        """Where the use writes the block argument ``value`` names when it is one of the current body's
        given arguments as it is (``$k``, ``${k}``), standing for ``defined`` (its place in the definition);
        else None (a literal, a default, or an expression computing something new from it)."""
        if not self.frame or type(value) is not str:
            return None
        match = _ARGUMENT.fullmatch(value)
        name = match and (match.group(1) or match.group(2))
        at = self.frame.get(name) if name else None
        if at is None:
            return None
        return ArgValue(at.file, at.line, at.column, arg=at.arg, block=at.block, defined=defined, path=at.path)


_SCALARS = frozenset((int, float, bool, type(None)))
_ARGUMENT = re.compile(r"\$([A-Za-z_]\w*)|\$\{\s*([A-Za-z_]\w*)\s*\}")  # a parameter as it is: $k, ${k}


def _option_ok(key: str, value: Any) -> bool:
    """Whether a literal residual option of a block definition has a value its kind takes."""
    if key in BLOCK_CHILDREN and isinstance(value, list):
        return True
    if key == "activation" and value is None:
        return True
    choices = _choices(key)
    return value in choices if choices else isinstance(value, bool)


@functools.cache
def _choices(key: str) -> tuple[Any, ...]:
    """The words residual's option ``key`` takes (every block use asks)."""
    return tuple(_literals(Residual.model_fields[key].annotation))


def _literals(annotation: Any) -> list[Any]:
    """The values the Literal types inside ``annotation`` allow."""
    if typing.get_origin(annotation) is typing.Literal:
        return list(typing.get_args(annotation))
    return [v for arg in typing.get_args(annotation) for v in _literals(arg)]


def unknown_name_hint(name: str, names: set[str] | dict[str, Any]) -> str:
    """What to say about an expression's unknown name."""
    if name == "i":
        return "$i (the copy's index) exists only inside an item with 'repeat:' and the layers under it"
    known = sorted(n for n in names if n != INPUT)
    return did_you_mean(name, known) or (f"the block's parameters: {', '.join(known)}" if known else
                                         "declare it under the block's 'params:'")


def check_keys(raw: PosDict, allowed: tuple[str, ...], path: str, exp: Expander, what: str) -> set[str]:
    """Report the keys of ``raw`` not in ``allowed``; returns the allowed keys they were probably meant
    for (absent from ``raw``), whose absence is then not a problem of its own."""
    meant: set[str] = set()
    for key in raw:
        if key not in allowed:
            close = close_matches(key, allowed) if isinstance(key, str) else []
            meant.update(c for c in close if c not in raw)
            hint = did_you_mean(key, allowed) if close else ""
            exp.problem(f"unknown key '{key}' in {what}", raw.where(key), f"{path}{key}",
                        hint or f"{what} takes: {', '.join(allowed)}")
    return meant


_KIND_THEN_BRACE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s+([{\[].*)", re.S)
_KIND_THEN_VALUE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s+([^\s#].*)", re.S)


def _missing_colon(raw: Any) -> tuple[str, str] | None:
    """``- conv2d {filters: 8}`` (YAML reads the key ``conv2d {filters`` with the value ``8}``) or
    ``- conv2d {filters 8}`` (a string): the kind and what should follow its colon."""
    if isinstance(raw, dict) and len(raw) == 1:
        key, value = next(iter(raw.items()))
        text = f"{key}: {value}" if isinstance(key, str) and isinstance(value, (str, int, float)) else None
    else:
        text = raw if isinstance(raw, str) else None
    match = _KIND_THEN_BRACE.fullmatch(text.strip()) if text else None
    if match is None and isinstance(raw, str):  # `- dense 10`: a kind's name, a space, its value
        match = _KIND_THEN_VALUE.fullmatch(raw.strip())
        if match is not None and canonical_kind(match.group(1)) is None:
            return None
    if match is None:
        return None
    return match.group(1), match.group(2)


def block_definitions(raw: Any, exp: Expander) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        exp.problem("'blocks' must map block names to definitions", getattr(raw, "pos", None), "blocks")
        return {}
    blocks = {}
    for name, bdef in raw.items():
        where = raw.where(name) if isinstance(raw, PosDict) else None
        if not isinstance(name, str) or not name.isidentifier():
            exp.problem(f"block name {show(name)} must be an identifier", where, "blocks")
            continue
        exp.refused.add(name)  # until its definition is accepted below
        if canonical_kind(name):
            exp.problem(f"block name '{name}' is already a layer kind", where, f"blocks.{name}",
                        "choose another name")  # still expanded below, so its uses do not fail too
        if not isinstance(bdef, PosDict) or "layers" not in bdef:
            before = len(exp.problems)
            if isinstance(bdef, PosDict):  # `layer:` for `layers:` is said at the key, with the right word
                check_keys(bdef, BLOCK_KEYS, f"blocks.{name}.", exp, "a block definition")
            if len(exp.problems) == before:
                exp.problem(f"block '{name}' needs a 'layers' list", where, f"blocks.{name}",
                            "blocks: {name: {params: {width: 64}, layers: [...]}}")
            continue
        check_keys(bdef, BLOCK_KEYS, f"blocks.{name}.", exp, "a block definition")
        params = bdef.get("params") or {}
        if not isinstance(params, dict):
            exp.problem("block 'params' must map names to defaults (null = required)", bdef.where("params"),
                        f"blocks.{name}.params")
            continue
        if isinstance(params, PosDict) and INPUT in params:
            exp.problem(f"block '{name}' has a parameter named '{INPUT}', which would hide its input",
                        params.where(INPUT), f"blocks.{name}.params.{INPUT}",
                        f"rename it: inside a block ${INPUT} is the type of the tensor entering it "
                        f"(${{{INPUT}.channels}}, ${{{INPUT}.features}})")
            continue
        blocks[name] = bdef
        exp.refused.discard(name)
    return blocks


def check_definitions(exp: Expander) -> None:
    """Check every block definition once, used or not; what a use reported already is not said again."""
    said = list(exp.problems)
    exp.problems = []
    for name, bdef in exp.blocks.items():
        exp.checking = name
        exp.check_definition(name, bdef)
    found, exp.problems = exp.problems, said

    def known(p: Problem) -> bool:
        return any(q.message.startswith(p.message) and (q.location == p.location or (
            q.location is not None and p.location is not None and q.location.file == p.location.file
            and q.location.line == p.location.line)) for q in said)
    exp.problems.extend(p for p in found if not known(p))
