"""Recovering the model's structure for ``netspec import``: the traced ops (:class:`Op`) in their containers
(:class:`Box`), read as chains, residuals, parallel branches, groups, block definitions and repeats."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import torch.fx as fx
import torch.nn as nn

from netspec.core.source import map_leaves
from netspec.interop.naming import snake
from netspec.layers.activations import ACTIVATIONS
from netspec.layers.merge.add import Add
from netspec.layers.merge.concat import Concat
from netspec.layers.merge.multiply import Multiply
from netspec.layers.structure.parallel import Parallel
from netspec.layers.structure.residual import Residual
from netspec.layers.structure.sequential import Sequential

SHORTCUT = next(k for k in Residual.CHILDREN if k != "layers")  # the residual's option of its shortcut layers
MEMORY = "\x00memory"  # in an op's item, the name of the node it reads by name (Op.reads), written when named


@dataclass
class Op:
    """One traced call, mapped: its layer item, its tensor inputs (fx node names), its container."""

    node: str
    container: str
    attr: str
    item: dict[str, Any]
    inputs: list[str]
    module: str | None = None  # the module's path, for a module call
    concat: bool = False  # a torch.cat (of one tensor: the identity)
    param: str | None = None  # the parameter it reads (a class token, position table, layer scale)
    states: dict[str, str] = field(default_factory=dict)  # fx nodes of a recurrent layer's state -> h or c
    composite: type | None = None  # a module written as a group of layers (nn.TransformerEncoderLayer): its class
    named: bool = False  # a function's op named by ``attr`` rather than its kind (a row of a state: ``h_2``)
    reads: list[str] = field(default_factory=list)  # fx nodes its layers read by name (a decoder's memory)
    shares: str | None = None  # the fx node of the first call of the module it calls again (its layer's `share:`)
    ties: dict[str, tuple[str, str]] = field(default_factory=dict)  # its parameter -> (fx node, parameter) it is
    calls: dict[str, str] = field(default_factory=dict)  # a container called again -> that call's key (`enc@1`)


@dataclass
class Box:
    """A container module: its ops and child containers, in trace order."""

    path: str
    attr: str
    cls: type
    units: list[Any] = field(default_factory=list)  # Op | Box
    inputs: list[str] = field(default_factory=list)  # fx nodes from outside, in order of use
    output: str | None = None
    exported: set[str] = field(default_factory=set)  # its fx nodes used outside it


class Structure:
    """Importer's methods that read the traced ops as the model's structure: groups, residuals, parallels,
    blocks; mixed into :class:`netspec.interop.importer.Importer`, which sets the attributes below."""

    model: nn.Module
    name: str
    modules: dict[str, nn.Module]
    blocks: dict[str, dict[str, Any]]
    kinds: set[str]
    classes: dict[int, type]
    last_output: dict[str, Any]
    from_one: dict[str, str]

    # --- containers -------------------------------------------------------------------------------------
    def tree(self, ops: list[Op], outputs: list[str]) -> Box:
        root = Box("", self.name, type(self.model))
        boxes = {"": root}
        where: dict[str, Box] = {}
        for op in ops:
            parts = op.container.split(".") if op.container else []
            box = root
            for i in range(len(parts)):
                path = ".".join(parts[: i + 1])
                # a container forward calls again (a Siamese encoder) is a group of its own, its layers share:
                key = "/".join(op.calls.get(p, p) for p in (".".join(parts[: j + 1]) for j in range(i + 1)))
                if key not in boxes:
                    boxes[key] = Box(path, parts[i], type(self.modules.get(path, nn.Module())))
                    box.units.append(boxes[key])
                box = boxes[key]
            box.units.append(op)
            where[op.node] = box
        for path, box in boxes.items():
            inside = {node for op in _ops(box) for node in (op.node, *op.states)}
            for op in _ops(box):
                for a in op.inputs:
                    if a not in inside and a not in box.inputs:
                        box.inputs.append(a)
            outside = [a for op in ops if op.node not in inside for a in (*op.inputs, *op.reads) if a in inside]
            outside += [o for o in outputs if o in inside]
            box.exported = set(outside)
            last = _ops(box)[-1].node if _ops(box) else None
            box.output = last
            if path and (len(box.exported) > 1 or (box.exported and last not in box.exported)):
                box.output = None  # read from outside: its layers must be named, not its output
        return root

    # --- items --------------------------------------------------------------------------------------
    def items(self, box: Box, names: dict[str, str], prefix: str) -> list[dict[str, Any]]:
        """The layer items of a container's units (a chain, or layers naming their inputs)."""
        out: list[dict[str, Any]] = []
        prev = box.inputs[0] if len(box.inputs) == 1 else None
        taken: set[str] = set()
        for unit in box.units:
            name = self.unit_name(unit, taken)
            full = f"{prefix}{name}"
            ins = unit.inputs
            item = self.unit_item(unit, names, full + ".")
            if list(ins) != [prev] and ins and (isinstance(unit, Op) or len(ins) == 1):
                # a group of several inputs takes none itself: its layers name theirs
                item["from"] = [names[a] for a in ins] if len(ins) > 1 else names[ins[0]]
            item["name"] = name
            out.append(item)
            out_node = unit.node if isinstance(unit, Op) else unit.output
            if out_node is not None:
                names[out_node] = self.output_name(unit, item, full)
            if isinstance(unit, Op):
                names.update({node: f"{full}:{state}" for node, state in unit.states.items()})
            prev = out_node
        return out

    def unit_name(self, unit: Any, taken: set[str]) -> str:
        # An index (a child of nn.Sequential or nn.ModuleList) becomes `<kind or class>_<index + 1>`: the
        # weights loader spells such numbered siblings back as the indices (weights.torch_names), and
        # children named from 0 (`encoder_layer_0`) are numbered from 1 (`from_one`), as a repeat's copies.
        if isinstance(unit, Op):
            base = unit.attr if unit.module is not None or unit.param is not None or unit.named else \
                next(iter(unit.item))
            if not base.isidentifier():
                base = f"{next(iter(unit.item))}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        else:
            base = unit.attr
            if not base.isidentifier():
                base = f"{snake(unit.cls.__name__)}_{int(base) + 1}" if base.isdigit() else re.sub(r"\W", "_", base)
        path = unit.module if isinstance(unit, Op) else unit.path
        base = self.from_one.get(path, base) if path is not None else base
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    def output_name(self, unit: Any, item: dict[str, Any], full: str) -> str:
        """The full name of the node a unit's output is (a group's is inside it)."""
        if isinstance(unit, Op):
            return full
        kind = _kind(item)
        if kind == Residual.KIND:
            return f"{full}.{Add.KIND}"
        if kind == Parallel.KIND:
            return f"{full}.merge"
        return self.last_output[unit.path]

    def unit_item(self, unit: Any, names: dict[str, str], prefix: str) -> dict[str, Any]:
        if isinstance(unit, Op):
            item = dict(unit.item)
            if unit.reads:  # the layers that read a node by name (a decoder's memory) name it as it is named here
                item = map_leaves(item, lambda v: names[unit.reads[0]] if v == MEMORY else v)
            if unit.composite is not None:
                self.classes[id(item)] = unit.composite  # one block, when used more than once
            # names relative to the op's group when it holds them (`share: fc` in a block used three times: one
            # definition), else from the network's top (`share: encoder.dense_1`)
            scope = prefix.rstrip(".").rpartition(".")[0]

            def named(node: str) -> str:
                full = names[node]
                return full[len(scope) + 1:] if scope and full.startswith(scope + ".") else full

            if unit.shares is not None:  # the module called again: that layer's
                item["share"] = named(unit.shares)
            if unit.ties:  # a parameter that is another module's: `tie: {weight: wte}` (or `wte.weight`)
                item["tie"] = {p: named(node) if tp == p else f"{named(node)}.{tp}"
                               for p, (node, tp) in unit.ties.items()}
            return item
        item = self.structured(unit, names, prefix)
        if item is None:
            layers = self.items(unit, names, prefix)
            self.last_output[unit.path] = names[unit.output] if unit.output else prefix.rstrip(".")
            item = {Sequential.KIND: {"layers": layers}}
        self.classes[id(item)] = unit.cls
        return item

    def structured(self, box: Box, names: dict[str, str], prefix: str) -> dict[str, Any] | None:
        """A chain, a residual or parallel branches, or a chain of those (a Transformer layer's two
        residuals), written without ``from:``; None when it is none."""
        if len(box.inputs) != 1 or box.output is None or any(isinstance(u, Box) and u.output is None
                                                             for u in box.units):
            return None
        item = self.group(box.units, box.inputs[0], box.output, names, prefix)
        if item is None:
            item = self.segments(box.units, box.inputs[0], box.output, names, prefix)
        if item is not None and _kind(item) == Sequential.KIND:
            self.last_output[box.path] = names[box.output]
        return item

    def segments(self, units: list[Any], x: str, output: str, names: dict[str, str],
                 prefix: str) -> dict[str, Any] | None:
        """``units`` as a chain of segments from ``x`` to ``output``, each one unit or a residual or
        parallel group (:meth:`group`) that nothing after it reads into; None when they are not."""
        reads: dict[str, list[int]] = {}
        for i, u in enumerate(units):
            for a in u.inputs:
                reads.setdefault(a, []).append(i)
        parts: list[list[Any]] = []
        cur, start = x, 0
        for i, u in enumerate(units):
            part = units[start:i + 1]
            made = {_out(v) for v in part}
            if any(a not in made and a != cur for v in part for a in v.inputs):
                return None  # reads something before the segment: not a chain of segments
            end = _out(u)
            if any(j > i for node in made | {cur} if node != end for j in reads.get(node, ())):
                continue  # a later unit reads into it: the segment goes on
            parts.append(part)
            cur, start = end, i + 1
        if start != len(units) or cur != output or all(len(p) == 1 for p in parts):
            return None
        layers: list[dict[str, Any]] = []
        taken: set[str] = set()
        cur = x
        for part in parts:
            if len(part) == 1:
                layers += self.sub_items(part, names, prefix, taken)
            else:
                kind = Residual.KIND if any(next(iter(u.item)) == Add.KIND for u in part if isinstance(u, Op)) \
                    else Parallel.KIND
                name = self.free_name(kind, taken)
                item = self.group(part, cur, _out(part[-1]), names, f"{prefix}{name}.")
                if item is None or _kind(item) == Sequential.KIND:
                    return None
                item["name"] = name
                layers.append(item)
            cur = _out(part[-1])
        return {Sequential.KIND: {"layers": layers}}

    @staticmethod
    def free_name(base: str, taken: set[str]) -> str:
        name, i = base, 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    def group(self, units: list[Any], x: str, output: str, names: dict[str, str],
              prefix: str) -> dict[str, Any] | None:
        """``units`` from ``x`` to ``output`` as a chain, a residual or parallel branches; None otherwise."""
        outs = {_out(u): u for u in units}

        def chain(end: str) -> list[Any] | None:
            seq: list[Any] = []
            cur = end
            while cur != x:
                u = outs.get(cur)
                if u is None or len(u.inputs) != 1:
                    return None
                seq.append(u)
                cur = u.inputs[0]
            return seq[::-1]

        whole = chain(output)
        if whole is not None and len(whole) == len(units):
            return {Sequential.KIND: {"layers": self.sub_items(whole, names, prefix)}}
        # residual: ... merge(a, b) [activation]; parallel: merge(branches...)
        tail: list[Any] = []
        end = output
        while outs.get(end) is not None and isinstance(outs[end], Op) and len(outs[end].inputs) == 1 and \
                next(iter(outs[end].item)) in ACTIVATIONS and not tail:
            tail.append(outs[end])
            end = outs[end].inputs[0]
        merge = outs.get(end)
        if not isinstance(merge, Op) or next(iter(merge.item)) not in (Add.KIND, Concat.KIND, Multiply.KIND):
            return None
        branches = []
        for a in merge.inputs:
            b = [] if a == x else chain(a)
            if b is None:
                return None
            branches.append(b)
        used = sum(len(b) for b in branches) + 1 + len(tail)
        if used != len(units) or len({id(u) for b in branches for u in b}) != used - 1 - len(tail):
            return None
        kind = next(iter(merge.item))
        act = next(iter(tail[0].item)) if tail else None
        # branches that are containers named as a parallel names its branches (netspec's own, exported)
        as_parallel = [i for i, b in enumerate(branches)
                       if len(b) == 1 and isinstance(b[0], Box) and b[0].attr == f"branch{i + 1}"]
        if kind == Add.KIND and len(branches) == 2 and any(branches) and len(as_parallel) < 2:
            # the shortcut is the identity or the projection: the empty branch, else the one of fewer layers
            # (torchvision's ResNet adds `out + downsample(x)`, its RegNet `proj(x) + f(x)`)
            size = [sum(len(_ops(u)) if isinstance(u, Box) else 1 for u in b) for b in branches]
            body, short = (branches[1], branches[0]) if size[0] < size[1] else (branches[0], branches[1])
            named = [b for b in branches if len(b) == 1 and isinstance(b[0], Box) and b[0].attr == SHORTCUT]
            if len(named) == 1:  # a container named as the residual's shortcut (netspec's own, exported): its layers
                short = named[0][0].units
                body = next(b for b in branches if b is not named[0])
            item: dict[str, Any] = {"layers": self.sub_items(body, names, prefix)}
            if short:
                item["shortcut"] = self.sub_items(short, names, prefix + "shortcut.")
            if act:
                item["activation"] = act
            _name_merge(names, merge, tail, f"{prefix}{Add.KIND}")
            return {Residual.KIND: item}
        if any(branches) and len(branches) >= 2:  # an empty branch is the input (DenseNet's concat(x, f(x)))
            # a branch that is one container named as the parallel names its branches (netspec's own, exported):
            # its layers, which the parallel's branch holds under that name
            branches = [b[0].units if i in as_parallel else b for i, b in enumerate(branches)]
            item = {"merge": kind, "branches": [self.sub_items(b, names, f"{prefix}branch{i + 1}.")
                                                for i, b in enumerate(branches)]}
            if kind == Concat.KIND and merge.item[kind].get("axis", 0) != 0:
                item["axis"] = merge.item[kind]["axis"]
            if act:
                item["activation"] = act
            _name_merge(names, merge, tail, f"{prefix}merge")
            return {Parallel.KIND: item}
        return None

    def sub_items(self, units: list[Any], names: dict[str, str], prefix: str,
                  taken: set[str] | None = None) -> list[dict[str, Any]]:
        out = []
        taken = set() if taken is None else taken
        for u in units:
            name = self.unit_name(u, taken)
            item = self.unit_item(u, names, f"{prefix}{name}.")
            item["name"] = name
            node = u.node if isinstance(u, Op) else u.output
            names[node] = self.output_name(u, item, f"{prefix}{name}")
            if isinstance(u, Op):
                names.update({n: f"{prefix}{name}:{state}" for n, state in u.states.items()})
            out.append(item)
        return out

    # --- blocks -------------------------------------------------------------------------------------
    def make_blocks(self, layers: list[dict[str, Any]]) -> None:
        """Groups of one container class and one structure become a block definition (inner ones first)."""
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}

        def visit(items: list[dict[str, Any]]) -> None:
            for item in items:
                kind = _kind(item)
                body = item[kind]
                if isinstance(body, dict):
                    for key in ("layers", "shortcut"):
                        if isinstance(body.get(key), list):
                            visit(body[key])
                    for branch in body.get("branches") or []:
                        visit(branch)
                cls = self.classes.get(id(item))
                if cls is not None and cls not in (nn.Sequential, nn.ModuleList, nn.ModuleDict) and \
                        not _mentions(body, "from"):
                    found.setdefault((cls.__name__, _shape(item)), []).append(item)

        visit(layers)
        for (cls_name, _), group in found.items():
            if len(group) < 2:
                continue
            base = snake(cls_name) or "block"
            numbered = {re.sub(r"_?\d+$", "", str(item.get("name", ""))) for item in group}
            if len(numbered) == 1 and all(re.search(r"\d$", str(item.get("name", ""))) for item in group):
                base = numbered.pop() or base  # `denselayer1`...: the block is `denselayer`, as the model says
            if base in self.kinds:
                base += "_block"
            name = base
            if name in self.blocks:
                name = f"{base}_with_shortcut" if _mentions(group[0], "shortcut") else base
            i = 2
            while name in self.blocks:
                name, i = f"{base}_{i}", i + 1
            self.blocks[name] = self.parameterise(name, group)

    def parameterise(self, bname: str, group: list[dict[str, Any]]) -> dict[str, Any]:
        kind = _kind(group[0])
        columns: dict[tuple[Any, ...], list[Any]] = {}
        for item in group:
            for path, value in _leaves(item[kind], ()):
                columns.setdefault(path, []).append(value)
        varying = {p: v for p, v in columns.items() if any(x != v[0] for x in v)}
        params: dict[str, tuple[Any, ...]] = {}
        pnames: dict[tuple[Any, ...], str] = {}
        for path, values in varying.items():
            key = tuple(repr(v) for v in values)
            existing = next((n for n, k in params.items() if k == key), None)
            if existing is None:
                base = _param_name(path)
                name, i = base, 2
                while name in params:
                    name, i = f"{base}_{i}", i + 1
                params[name] = key
                existing = name
            pnames[path] = existing
        definition = _substitute(group[0][kind], (), pnames)
        block: dict[str, Any] = {"params": {n: None for n in params}} if params else {}
        if kind == Sequential.KIND:
            block["layers"] = definition["layers"]
        elif kind == Residual.KIND:
            block.update({k: definition[k] for k in ("layers", "shortcut", "activation") if k in definition})
            block = {**({"params": block["params"]} if params else {}), Residual.KIND: True,
                     **{k: v for k, v in block.items() if k != "params"}}
        else:
            block["layers"] = [{Parallel.KIND: definition, "name": "branches"}]
        for item in group:
            values = {n: _get(item[kind], p) for p, n in pnames.items()}
            name = item.get("name")
            frm = item.get("from")
            item.clear()
            item[bname] = values
            if frm is not None:
                item["from"] = frm
            if name is not None:
                item["name"] = name
        return block



def running_concatenations(ops: list[Op], outputs: list[str]) -> tuple[list[Op], list[str]]:
    """Dense connectivity as a chain: DenseNet's layer k concatenates everything before it,
    ``cat([x, n1, ..., n(k-1)])``; when ``cat([x, n1, ..., n(k-2)])`` was computed before (by layer k-1),
    it is ``cat([that, n(k-1)])`` (concatenation is associative), and that concatenation of a container's
    input with its last output belongs to that container: layer k-1 becomes ``x -> concat(x, f(x))``, a
    parallel group with an empty branch, and the layers of a dense block are copies of one block.
    A concatenation of one tensor is that tensor."""
    alias: dict[str, str] = {}
    seen: dict[tuple[str, ...], str] = {}  # the inputs of a concatenation -> its node
    producer = {op.node: op for op in ops}
    readers: dict[str, set[str]] = {}
    for op in ops:
        for a in op.inputs:
            readers.setdefault(a, set()).add(op.container)
    out: list[Op] = []
    for op in ops:
        op.inputs = [alias.get(a, a) for a in op.inputs]
        op.reads = [alias.get(a, a) for a in op.reads]
        if not op.concat:
            out.append(op)
            continue
        ins = tuple(op.inputs)
        if len(ins) == 1:
            alias[op.node] = ins[0]
            seen.setdefault(ins, ins[0])
            continue
        prefix = seen.get(ins[:-1])
        last = producer.get(ins[-1])
        axis = op.item.get(Concat.KIND, {}).get("axis")
        prior = producer.get(prefix) if prefix is not None else None
        same_axis = prior is None or not prior.concat or prior.item.get(Concat.KIND, {}).get("axis") == axis
        if prefix is not None and last is not None and same_axis and len(ins) > 2:
            op.inputs = [prefix, ins[-1]]
        if prefix is not None and last is not None and same_axis and last.container != op.container and \
                last.container in readers.get(prefix, set()):  # the container reads the prefix: it is its input
            op.container, op.calls = last.container, last.calls
        seen[ins] = op.node
        out.append(op)
    return out, [alias.get(o, o) for o in outputs]


def tensor_nodes(value: Any) -> list[fx.Node]:
    if isinstance(value, fx.Node):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensor_nodes(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensor_nodes(v)]
    return []


def _out(unit: Op | Box) -> str | None:
    return unit.node if isinstance(unit, Op) else unit.output


def _ops(box: Box) -> list[Op]:
    out: list[Op] = []
    for u in box.units:
        out += [u] if isinstance(u, Op) else _ops(u)
    return out


def _kind(item: dict[str, Any]) -> str:
    return next(k for k in item if k not in ("name", "from", "repeat"))


def _mentions(v: Any, key: str) -> bool:
    if isinstance(v, dict):
        return key in v or any(_mentions(x, key) for x in v.values())
    if isinstance(v, list):
        return any(_mentions(x, key) for x in v)
    return False


def _shape(item: dict[str, Any]) -> str:
    """An item's structure without its values (what instances of one block share)."""
    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            return [strip(x) for x in v]
        if isinstance(v, list) and v and all(isinstance(x, list) for x in v):
            return [strip(x) for x in v]
        return type(v).__name__
    return repr({k: strip(v) for k, v in item.items() if k not in ("name", "from", "repeat")})


def _leaves(v: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(v, dict):
        return [leaf for k, x in v.items() if k != "name" for leaf in _leaves(x, path + (k,))]
    if isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
        return [leaf for i, x in enumerate(v) for leaf in _leaves(x, path + (i,))]
    return [(path, v)]


def _get(v: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        v = v[p]
    return v


def _substitute(v: Any, path: tuple[Any, ...], params: dict[tuple[Any, ...], str]) -> Any:
    if path in params:
        return f"${params[path]}"
    if isinstance(v, dict):
        return {k: (x if k == "name" else _substitute(x, path + (k,), params)) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(x, (dict, list)) for x in v):
        return [_substitute(x, path + (i,), params) for i, x in enumerate(v)]
    return v


def _param_name(path: tuple[Any, ...]) -> str:
    """``('layers', 0, 'conv2d', 'filters')`` -> ``filters``; the layer's name is added where it clashes."""
    keys = [p for p in path if isinstance(p, str) and p not in ("layers", "shortcut", "branches")]
    return keys[-1] if keys else "value"


def repeats(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A group whose children are identical block instances becomes one item with ``repeat``."""
    out = []
    for item in items:
        kind = _kind(item)
        body = item[kind]
        if kind == Sequential.KIND and isinstance(body, dict) and isinstance(body.get("layers"), list):
            kids = body["layers"] = repeats(body["layers"])
            kinds = {_kind(c) for c in kids}
            if len(kids) > 1 and len(kinds) == 1 and all("from" not in c and "repeat" not in c for c in kids):
                block = next(iter(kinds))
                args = [c[block] for c in kids]
                # The copies of a repeat are `<block>_1`...; the loader spells `<any>_<k>` as the index k - 1 (an
                # nn.Sequential child, which unit_name numbers so, whatever the block came to be called:
                # `block_block` when the class's name is a kind), `<block><k>` as the model's `<block><k>` and
                # `<block>_<k>` as the model's `<block>_<k - 1>` (see from_one).
                names = [str(c.get("name")) for c in kids]
                stem = re.sub(r"_\d+$", "", names[0])
                numbered = names in ([f"{stem}_{i + 1}" for i in range(len(kids))],
                                     [f"{block}{i + 1}" for i in range(len(kids))])
                if all(a == args[0] for a in args) and numbered:
                    new = {block: args[0], "repeat": len(kids)}
                    new.update({k: v for k, v in item.items() if k in ("name", "from")})
                    out.append(new)
                    continue
        elif isinstance(body, dict):
            for key in ("layers", "shortcut"):
                if isinstance(body.get(key), list):
                    body[key] = repeats(body[key])
        out.append(item)
    return out


def _name_merge(names: dict[Any, str], merge: Op, tail: list[Op], name: str) -> None:
    """A group's merge and the calls folded into it after (its activation) all answer to the merge's name."""
    for op in (merge, *tail):
        names[op.node] = name
