"""Graph IR -> standalone PyTorch source: plain ``nn.Module`` classes and a ``forward`` per class.

The module tree is the nodes' dotted names (so ``state_dict()`` keys are the compiled module's, in the
same order). Each container in it becomes:

- a class per block definition (``GroupInfo.block``); instances that differ in sizes share it, and what
  differs becomes a constructor parameter (``BasicBlock(in_channels=64, ...)``); instances that differ
  in structure (a projection shortcut) get a second class (``BasicBlockWithShortcut``);
- ``nn.Sequential(OrderedDict(...))`` for a plain chain that is not a block (a ``repeat``, a shortcut);
- a class named after it otherwise (parallel branches), shared by instances alike in structure.

A ``forward`` is written from the IR's data flow: one line per child, the activation shorthand as a
functional call around it (``F.relu(self.conv1(x))``), merges as operators (``out + x``,
``torch.cat([...], dim=1)``), values named ``x``/``out`` along a chain and after their module in branches.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from netspec.backends.torch.code.calls import (
    EMPTY,
    Call,
    Code,
    Helpers,
    function_name,
    identifier,
    literal,
    module_call,
    record_build,
)
from netspec.backends.torch.compile import frozen_stateful
from netspec.core.errors import BuildError
from netspec.core.types import Ref
from netspec.ir.graph import Graph, GroupInfo, NetGraph, Node

WIDTH = 118  # longest line written before arguments go one per line
INDENT = "    "
SUM, PRODUCT, CONCAT = "+", "×", "‖"  # the merge glyphs written as operators
# what to do when the Python writer cannot write a network: the other formats take what the compiler builds
INSTEAD = ("export ONNX (.onnx) or a torch.export program (.pt2) instead, which take every network the compiler "
           "builds; if it should be writable as Python, please report it with the spec")


def refused(node: Node | None, why: str, where: Any = None) -> BuildError:
    """The Python writer cannot write ``node`` (or the group at ``where``): located, why, and what to do."""
    if node is not None:
        head = f"{node.location or node.name}: cannot write layer '{node.name}' ({node.kind}) as Python source"
    else:
        head = f"{where}: cannot write it as Python source" if where else "cannot write the network as Python source"
    return BuildError(f"{head}: {why}\n    hint: {INSTEAD}")


@dataclass
class Unit:
    """A child of a container: a leaf node, or a container."""

    attr: str
    node: Node | None = None
    box: "Box | None" = None

    @property
    def inputs(self) -> list[Ref]:
        return list(self.node.inputs) if self.node is not None else self.box.inputs  # type: ignore[union-attr]

    @property
    def outputs(self) -> list[Ref]:
        if self.node is not None:
            return [Ref(self.node.name, k) for k in self.node.outputs]
        return self.box.exports  # type: ignore[union-attr]


@dataclass
class Box:
    """A container of the module tree (the network itself, a group, or a path prefix)."""

    path: str
    attr: str
    group: GroupInfo | None
    units: list[Unit] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[Ref] = field(default_factory=list)
    exports: list[Ref] = field(default_factory=list)
    # ``share:`` of a layer outside: owner's dotted name -> the forward argument its module is passed as (the
    # module is the owner's, registered where it lives; the group receives it at each call, owning nothing)
    shared: dict[str, str] = field(default_factory=dict)


@dataclass
class ClassPlan:
    """A generated class: its name, one box per instance, and the constructor parameters."""

    name: str
    key: Any
    boxes: list[Box]
    calls: list[list[Call]]  # per instance, the calls making its units
    params: list[tuple[str, list[Any], Any]] = field(default_factory=list)  # name, value per instance, default
    slots: dict[tuple[Any, ...], str] = field(default_factory=dict)  # leaf path -> parameter name


@functools.lru_cache(maxsize=1)
def helper_names() -> frozenset[str]:
    """Every name the output may define or import for the definitions it copies from netspec's torch modules
    (``GroupedQueryAttention``, ``rotary``, ``nn``, ``F``...): a block or network named the same (a block
    ``grouped_query_attention``) takes another class name instead of shadowing it."""
    import ast
    from pathlib import Path

    import netspec.backends.torch as backends_torch
    import netspec.layers.torch as layers_torch

    names = {"torch", "nn", "F", "OrderedDict"}
    for package in (layers_torch, backends_torch):
        for path in Path(package.__file__).parent.rglob("*.py"):
            for stmt in ast.parse(path.read_text(encoding="utf-8")).body:
                if isinstance(stmt, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                    names.add(stmt.name)
                elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    names.update((a.asname or a.name).split(".")[0] for a in stmt.names)
                elif isinstance(stmt, ast.Assign):
                    names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return frozenset(names)


class Writer:
    """Writes one spec's networks as source."""

    def __init__(self, graph: Graph, description: str = "") -> None:
        self.graph = graph
        self.description = description
        self.helpers = Helpers()
        self.classes: list[ClassPlan] = []
        self.by_key: dict[Any, ClassPlan] = {}
        self.names: set[str] = set(helper_names())  # a block's class must not shadow a copied definition
        self.uses_functional = False
        self.uses_ordered_dict = False
        self.modules: dict[str, Any] = {}

    # --- the module tree -------------------------------------------------------------------------
    def tree(self, net: NetGraph) -> Box:
        root = Box("", net.name, None)
        boxes = {"": root}
        for node in net.nodes:
            parts = node.name.split(".")
            box = root
            for i in range(len(parts) - 1):
                path = ".".join(parts[: i + 1])
                if path not in boxes:
                    boxes[path] = Box(path, parts[i], net.groups.get(path))
                    box.units.append(Unit(parts[i], box=boxes[path]))
                box = boxes[path]
            box.units.append(Unit(parts[-1], node=node))
        for path, box in boxes.items():
            box.nodes = [n for n in net.nodes if not path or n.name.startswith(path + ".")]
            self._flows(net, box)
            self._shared_from_outside(box)
        return root

    def _shared_from_outside(self, box: Box) -> None:
        """The modules ``box``'s layers apply by ``share:`` that live outside it: passed to its ``forward``."""
        taken = set(self._params(box))
        for node in box.nodes:
            owner = node.shared
            if owner is None or _relative(box, owner) is not None or owner in box.shared:
                continue
            name = _ident(owner.rsplit(".", 1)[-1])
            while name in taken:
                name += "_"
            taken.add(name)
            box.shared[owner] = name

    def _flows(self, net: NetGraph, box: Box) -> None:
        inside = {n.name for n in box.nodes}
        if box.path:
            index = {n.name: i for i, n in enumerate(net.nodes)}
            at = sorted(index[n] for n in inside)
            if at and at[-1] - at[0] + 1 != len(at):
                first = net.nodes[at[0]]
                where = box.group.location if box.group is not None and box.group.location else first.location
                raise refused(None, f"the layers of {box.path} are interleaved with others in the network's order; "
                                    "the Python writer needs each group's layers together", where or box.path)
        for n in box.nodes:
            for r in n.inputs:
                if r.src not in inside and r not in box.inputs:
                    box.inputs.append(r)
        if not box.path:
            box.exports = list(net.outputs.values())
            return
        used_outside = [r for n in net.nodes if n.name not in inside for r in n.inputs if r.src in inside]
        used_outside += [r for r in net.outputs.values() if r.src in inside]
        out = box.group.output if box.group is not None else None
        order = {n.name: i for i, n in enumerate(box.nodes)}
        found = sorted(set(used_outside), key=lambda r: (r != out, order[r.src], r.key))
        last = box.nodes[-1]
        box.exports = found or [out if out is not None else Ref(last.name, next(iter(last.outputs)))]

    # --- constructor calls -------------------------------------------------------------------------
    def leaf_call(self, node: Node) -> Call:
        if node.shared is not None:  # ``share:``: forward calls the first layer's module again
            return Call("", inline=True)
        try:
            module, records = record_build(lambda: node.layer.build(list(node.in_types)))
            if node.glyph is not None:
                self.modules[node.name] = module  # a merge: forward reads its dim
            if self._merge(node) is not None:
                return Call("", inline=True)
            return module_call(module, records, self.helpers)  # then the module and its weights are dropped
        except BuildError as err:  # a module whose construction or definitions cannot be written
            raise refused(node, str(err)) from None

    def _merge(self, node: Node) -> str | None:
        """A merge without parameters written as an operator: ``+``, ``*`` or ``cat`` (else None)."""
        if node.params or node.glyph not in (SUM, PRODUCT, CONCAT):
            return None
        if node.glyph == CONCAT:
            return "cat" if isinstance(getattr(self.modules.get(node.name), "dim", None), int) else None
        return "+" if node.glyph == SUM else "*"

    def box_call(self, box: Box) -> Call:
        calls = [self.leaf_call(u.node) if u.node is not None else self.box_call(u.box)  # type: ignore[arg-type]
                 for u in box.units]
        if self._sequential(box):
            self.uses_ordered_dict = True
            return Call("nn.Sequential", items=[(u.attr, c) for u, c in zip(box.units, calls)])
        return self._instance(box, calls)

    def _sequential(self, box: Box) -> bool:
        """A plain chain that is not a block: each child takes the previous one's only output."""
        if box.group is not None and (box.group.block or box.group.topology == "branches"):
            return False
        if len(box.inputs) != 1 or len(box.exports) != 1 or not box.units or box.shared:
            return False
        prev = box.inputs[0]
        for u in box.units:
            if u.inputs != [prev] or len(u.outputs) != 1:
                return False
            if u.box is not None and u.box.shared:  # it is passed modules: a forward calls it
                return False
            if u.node is not None and (u.node.activation or u.node.glyph or u.node.shared) \
                    or self._frozen_inside(box, u) or self.after_lines(box, u):
                return False
            prev = u.outputs[0]
        return box.exports == [prev]

    @staticmethod
    def _frozen(nodes: list[Node]) -> bool:
        """Every layer with parameters among ``nodes`` is frozen (and there is one)."""
        weighted = [n for n in nodes if n.params]
        return bool(weighted) and not any(n.trainable for n in weighted)

    def _frozen_inside(self, box: Box, u: Unit) -> bool:
        """``u`` is frozen whole and ``box`` is not: ``box`` writes the ``requires_grad_(False)`` (a box
        frozen whole is frozen by its parent, so its class serves frozen and trainable uses alike)."""
        if box.path and self._frozen(box.nodes) or u.node is not None and u.node.shared is not None:
            return False  # (a shared layer's module is its first use's, frozen there)
        return self._frozen([u.node] if u.node is not None else u.box.nodes)  # type: ignore[union-attr]

    def _instance(self, box: Box, calls: list[Call]) -> Call:
        body = self.forward_lines(box, self._params(box))
        frozen = tuple(u.attr for u in box.units if self._frozen_inside(box, u))
        after = tuple(tuple(self.after_lines(box, u)) for u in box.units)
        key = ((box.group.block if box.group is not None else None) or box.attr, tuple(body), frozen, after,
               tuple((u.attr, _shape_key(c)) for u, c in zip(box.units, calls)))
        plan = self.by_key.get(key)
        if plan is None:
            plan = ClassPlan(self._class_name(box), key, [], [])
            self.by_key[key] = plan
            self.classes.append(plan)
        plan.boxes.append(box)
        plan.calls.append(calls)
        return Call(plan.name, instance=(plan, len(plan.boxes) - 1))

    def _class_name(self, box: Box) -> str:
        base = _camel((box.group.block if box.group is not None else None) or box.attr) or "Block"
        if base in helper_names():  # a block named as a copied definition: GroupedQueryAttentionBlock
            base += "Block"
        name = base
        if name in self.names:
            first = next((p for p in self.classes if p.name == base), None)
            extra = [u.attr for u in box.units if first is None or u.attr not in {v.attr for v in first.boxes[0].units}]
            name = base + "With" + "".join(_camel(a) for a in extra) if extra else base
            i = 2
            while name in self.names:
                name, i = f"{base}{i}", i + 1
        self.names.add(name)
        return name

    # --- constructor parameters ----------------------------------------------------------------------
    def finish(self, plan: ClassPlan) -> None:
        """Turn what differs between the instances into parameters (equal columns share one)."""
        columns: dict[tuple[Any, ...], list[Any]] = {}
        names: dict[tuple[Any, ...], str] = {}
        for calls in plan.calls:
            for i, call in enumerate(calls):
                for path, name, value in _leaves(call, (i,)):
                    columns.setdefault(path, []).append(value)
                    names[path] = name
        varying = [(path, values) for path, values in columns.items()
                   if any(literal(v) != literal(values[0]) for v in values)]
        by_column: dict[str, tuple[Any, ...]] = {}
        for path, values in varying:
            by_column.setdefault(repr([literal(v) for v in values]), path)
        firsts = list(by_column.values())
        # a name is the argument's; where columns would share one, they take their place as a prefix
        depth = dict.fromkeys(firsts, 0)
        for _ in range(8):
            chosen = {p: _param_name(plan, p, names[p], depth[p]) for p in firsts}
            counts: dict[str, int] = {}
            for name in chosen.values():
                counts[name] = counts.get(name, 0) + 1
            clash = [p for p in firsts if counts[chosen[p]] > 1]
            if not clash:
                break
            for p in clash:
                depth[p] += 1
        seen: set[str] = set()
        required, defaulted = [], []
        for path in firsts:
            name = chosen[path]
            while name in seen:
                name += "_"
            seen.add(name)
            chosen[path] = name
            values = columns[path]
            texts = [literal(v) for v in values]
            common = max(texts, key=texts.count)
            if texts.count(common) > max(1, len(texts) // 2):  # most instances: a default, left out of their calls
                defaulted.append((name, values, values[texts.index(common)]))
            else:
                required.append((name, values, EMPTY))
        plan.params = required + defaulted
        for path, values in varying:
            plan.slots[path] = chosen[by_column[repr([literal(v) for v in values])]]

    def _params(self, box: Box) -> list[str]:
        if len(box.inputs) == 1:
            return ["x"]
        out: list[str] = []
        for r in box.inputs:
            name = _ident(r.src.rsplit(".", 1)[-1] + ("" if r.key == "out" else f"_{r.key}"))
            while name in out:
                name += "_"
            out.append(name)
        return out

    # --- what a layer's spec sets after construction: init:, tie: ----------------------------------
    def after_lines(self, box: Box, u: Unit) -> list[str]:
        """Lines that follow ``u``'s construction in ``box``'s ``__init__``, in the compiler's order: a
        leaf's ``init:`` (the compiler initialises each layer right after building it, so with one seed
        the random schemes draw the same numbers), then every ``tie:`` of a layer inside ``u`` whose
        owner lies in ``box`` but not inside ``u`` (ties deeper down are written by ``u``'s class)."""
        lines: list[str] = []
        if u.node is not None and u.node.shared is None:
            lines += init_lines(u.node, _module_expr(u.attr))
        inner = u.box.path if u.box is not None else None
        for node in ([u.node] if u.node is not None else u.box.nodes):  # type: ignore[union-attr]
            for pname, (owner, oparam) in node.tied.items():
                if inner is not None and (owner == inner or owner.startswith(inner + ".")):
                    continue
                rel_owner, rel_node = _relative(box, owner), _relative(box, node.name)
                if rel_owner is None or rel_node is None:
                    continue  # written by an enclosing class
                lines.append(f"{_param_expr(rel_node, pname)} = {_param_expr(rel_owner, oparam)}  # tie: one Parameter")
                if not node.trainable:
                    lines.append(f"{_param_expr(rel_node, pname)}.requires_grad_(False)  # trainable: false")
        return lines

    # --- forward --------------------------------------------------------------------------------
    def forward_lines(self, box: Box, params: list[str]) -> list[str]:
        env: dict[Ref, str] = dict(zip(box.inputs, params))
        params = [*params, *box.shared.values()]  # (passed after the tensors; no value takes their names)
        last: dict[Ref, int] = {}
        for k, u in enumerate(box.units):
            for r in u.inputs:
                last[r] = k
        keep = set(box.exports)
        branches = box.group is not None and box.group.topology == "branches"
        chain_names = {"x", "out"}
        lines: list[str] = []
        live = set(params)
        for k, u in enumerate(box.units):
            expr = self._expression(u, [env[r] for r in u.inputs], box)
            outs = u.outputs
            used = [o for o in outs if o in keep or any(o in v.inputs for v in box.units[k + 1:])]
            freed = [env[r] for r in dict.fromkeys(u.inputs) if last.get(r) == k and r not in keep]
            if k == len(box.units) - 1 and len(box.exports) == 1 and outs == box.exports:
                lines.append(f"return {expr}")
                return lines
            for name in freed:
                live.discard(name)
            if not used:
                lines.append(expr)
                continue
            targets = []
            for o in outs:
                if o not in used:
                    targets.append("_")
                    continue
                state = len(outs) > 1 and o.key != outs[0].key  # h, c of a recurrent layer: named so
                reuse = [n for n in freed if n in chain_names and n not in targets] if not (branches or state) else []
                if reuse:
                    name = reuse[0]
                else:
                    hints = [] if branches or state else ["x", "out"]
                    hints += [_ident(o.key)] if state else []
                    hints.append(_ident(u.attr + ("" if not state else f"_{o.key}")))
                    name = next((h for h in hints if h not in live and h not in targets), hints[-1])
                    while name in live or name in targets:
                        name += "_"
                targets.append(name)
                live.add(name)
                env[o] = name
            lines.append(f"{', '.join(targets)} = {expr}")
        results = [env[r] for r in box.exports]
        lines.append("return " + ", ".join(results))
        return lines

    def _expression(self, u: Unit, args: list[str], box: Box) -> str:
        node = u.node
        if u.box is not None and u.box.shared:  # the modules it applies by share: from outside, after the tensors
            args = [*args, *(self._shared_module(box, owner) for owner in u.box.shared)]
        call = f"self.{u.attr}({', '.join(args)})" if identifier(u.attr) else \
            f'getattr(self, "{u.attr}")({", ".join(args)})'
        if node is not None and node.shared is not None:
            call = f"{self._shared_module(box, node.shared)}({', '.join(args)})"
        if node is None:
            return call
        op = self._merge(node)
        if op == "cat":
            expr = f"torch.cat([{', '.join(args)}], dim={self.modules[node.name].dim})"
        elif op is not None:
            expr = f" {op} ".join(args)
        else:
            expr = call
        if node.activation:
            from netspec.layers.torch.activations import activation_fn

            fn, kwargs = activation_fn(node.activation)
            try:
                name = function_name(fn, self.helpers)
            except BuildError as err:
                raise refused(node, f"its activation {node.activation}: {err}") from None
            self.uses_functional |= name.startswith("F.")
            extra = "".join(f", {k}={literal(v)}" for k, v in kwargs.items())
            return f"{name}({expr}{extra})"
        return expr

    @staticmethod
    def _shared_module(box: Box, owner: str) -> str:
        """Source for the module of ``owner`` (a ``share:`` target) in ``box``'s forward: its submodule when it
        lies inside, else the argument ``box`` receives it as."""
        inside = _relative(box, owner)
        return _module_expr(inside) if inside is not None else box.shared[owner]

    # --- the file --------------------------------------------------------------------------------
    def network(self, net: NetGraph) -> str:
        root = self.tree(net)
        calls = [self.leaf_call(u.node) if u.node is not None else self.box_call(u.box)  # type: ignore[arg-type]
                 for u in root.units]
        params = ["x"] if len(net.inputs) == 1 else [_ident(n) for n in net.inputs]
        body = self.forward_lines(root, params)
        name = _camel(net.name) or "Network"
        while name in self.names:
            name += "Net"
        self.names.add(name)
        plan = ClassPlan(name, None, [root], [calls])
        self.classes.append(plan)
        plan.forward = (params, body)  # type: ignore[attr-defined]
        return name

    def write(self, source_name: str = "") -> tuple[str, str]:
        """The source text and the name of the class to instantiate."""
        nets = [self.network(net) for net in self.graph.networks.values()]
        for plan in self.classes:
            if plan.key is not None:
                self.finish(plan)
        blocks = [self._class_text(p) for p in self.classes]
        top = nets[0]
        if len(nets) > 1:
            top = _camel(self.graph.name) or "Model"
            while top in self.names:
                top += "Model"
            items = ", ".join(f'"{k}": {n}()' for k, n in zip(self.graph.networks, nets))
            blocks.append(f'class {top}(nn.ModuleDict):\n{INDENT}"""The networks of {self.graph.name}."""\n\n'
                          f"{INDENT}def __init__(self) -> None:\n{INDENT * 2}super().__init__({{{items}}})")
        try:
            helper_imports, helper_defs = self.helpers.source()
        except BuildError as err:  # copying the definitions the layers' modules need
            raise refused(None, str(err), source_name) from None
        imports = {"import torch", "from torch import nn",
                   *(i for i in helper_imports if i != "import torch.nn as nn")}  # ruff prefers the from-import
        if self.uses_functional:
            imports.add("import torch.nn.functional as F")
        if self.uses_ordered_dict:
            imports.add("from collections import OrderedDict")
        doc = (f'"""{self.graph.name}' + (f": {self.description}" if self.description else "") +
               "\n\nWritten by `netspec export" + (f" {source_name}" if source_name else "") + " --format py`; "
               f"needs only torch.\nThe model is `{top}()`: a fresh one is initialised as the spec says (init:, tie:, "
               "trainable:);\nits `state_dict()` keys are netspec's compiled module's, so trained weights load with "
               "`load_state_dict`.\n\"\"\"")
        text = "\n\n\n".join([doc + "\n\nfrom __future__ import annotations\n\n" + _sorted_imports(imports),
                              *helper_defs, *blocks])
        return text + f"\n\n\n__all__ = [\"{top}\"]\n", top

    def _class_text(self, plan: ClassPlan) -> str:
        box = plan.boxes[0]
        if plan.key is None:
            params, body = plan.forward  # type: ignore[attr-defined]
            doc = self.description if len(self.graph.networks) == 1 and self.description else f"The {box.attr} network."
        else:
            params, body = self._params(box), self.forward_lines(box, self._params(box))
            what = f"block {box.group.block}" if box.group is not None and box.group.block else f"{box.attr}"
            uses = ", ".join(b.path for b in plan.boxes[:2]) + (", ..." if len(plan.boxes) > 2 else "")
            doc = f"The {what}: {uses}" + ("" if uses.endswith("...") else ".")
            if len(doc) + 10 > WIDTH:
                doc = f"The {what}."
        sig = [f"{n}: {_type_name(v[0])}" + ("" if d is EMPTY else f" = {literal(d)}") for n, v, d in plan.params]
        head = f"{INDENT}def __init__(self{''.join(', ' + a for a in sig)}) -> None:"
        if len(head) > WIDTH:
            head = f"{INDENT}def __init__(\n" + "".join(f"{INDENT * 2}{a},\n" for a in ["self", *sig]) + \
                f"{INDENT}) -> None:"
        lines = [f"class {plan.name}(nn.Module):", f'{INDENT}"""{doc}"""', "", head, f"{INDENT * 2}super().__init__()"]
        for i, (u, call) in enumerate(zip(box.units, plan.calls[0])):
            if call.inline:
                lines += [f"{INDENT * 2}{ln}" for ln in self.after_lines(box, u)]
                continue
            text = self._call_text(call, plan, (i,), 2)
            target = f"self.{u.attr} = " if identifier(u.attr) else f'self.add_module("{u.attr}", '
            close = "" if identifier(u.attr) else ")"
            lines.append(_wrap(f"{INDENT * 2}{target}", text, close))
            lines += [f"{INDENT * 2}{ln}" for ln in self.after_lines(box, u)]
            if self._frozen_inside(box, u):
                lines.append(f"{INDENT * 2}self.{u.attr}.requires_grad_(False)  # trainable: false")
        annotated = ", ".join([*(f"{p}: torch.Tensor" for p in params),
                               *(f"{p}: nn.Module" for p in box.shared.values())])
        ret = "torch.Tensor" if len(box.exports) == 1 else f"tuple[{', '.join(['torch.Tensor'] * len(box.exports))}]"
        lines += ["", f"{INDENT}def forward(self, {annotated}) -> {ret}:"]
        lines += [f"{INDENT * 2}{b}" for b in body]
        if plan.key is None:
            lines += self._train_lines(plan, box)
        return "\n".join(lines)

    def _train_lines(self, plan: ClassPlan, box: Box) -> list[str]:
        """A network's ``train()`` that keeps its frozen layers with running statistics in eval mode
        (what the compiled module does, :func:`~netspec.backends.torch.compile.frozen_stateful`)."""
        names = frozen_stateful(box.nodes)
        if not names:
            return []
        i2, i3, i4 = INDENT * 2, INDENT * 3, INDENT * 4
        return ["", f"{INDENT}def train(self, mode: bool = True) -> {plan.name}:",
                f'{i2}"""Training mode, except the frozen layers with running statistics (trainable: false):',
                f'{i2}they stay in eval mode, so fine-tuning does not change their statistics."""',
                f"{i2}super().train(mode)", f"{i2}if mode:", f"{i3}for name in (",
                *(f'{i4}"{n}",' for n in names), f"{i3}):", f"{i4}self.get_submodule(name).eval()",
                f"{i2}return self"]

    def _call_text(self, call: Call, plan: ClassPlan, path: tuple[Any, ...], depth: int) -> str:
        if call.items is not None:
            items = [_wrap(f'{INDENT * (depth + 1)}("{name}", ',
                           self._call_text(c, plan, path + (("item", j),), depth + 2), "),")
                     for j, (name, c) in enumerate(call.items)]
            return "nn.Sequential(OrderedDict([\n" + "".join(f"{it}\n" for it in items) + f"{INDENT * depth}]))"
        if call.instance is not None:
            sub, index = call.instance
            args = [f"{n}={plan.slots.get(path + (n,)) or self._value_text(values[index], plan, path + (n,), depth)}"
                    for n, values, default in sub.params
                    if plan.slots.get(path + (n,)) or default is EMPTY or literal(values[index]) != literal(default)]
            return f"{call.callee}({', '.join(args)})"
        parts = []
        named = False
        for j, a in enumerate(call.args):
            slot = path + ((j,),)
            param = plan.slots.get(slot)
            if param is None and not isinstance(a.value, Call) and a.default is not EMPTY \
                    and literal(a.value) == literal(a.default):
                named = True
                continue
            text = param if param is not None else self._value_text(a.value, plan, slot, depth)
            if a.star or (a.positional and not named):
                parts.append(text)
            else:
                named = True
                parts.append(f"{a.name}={text}")
        return f"{call.callee}({', '.join(parts)})"

    def _value_text(self, value: Any, plan: ClassPlan, path: tuple[Any, ...], depth: int) -> str:
        if isinstance(value, Call):
            return self._call_text(value, plan, path, depth)
        if isinstance(value, (list, tuple)) and any(isinstance(v, Call) for v in value):
            inner = [self._value_text(v, plan, path + (("at", i),), depth) for i, v in enumerate(value)]
            return ("[" + ", ".join(inner) + "]") if isinstance(value, list) else \
                ("(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")")
        return literal(value)


def _param_name(plan: ClassPlan, path: tuple[Any, ...], name: str, depth: int) -> str:
    """The argument's name, prefixed by up to ``depth`` names of the place it is in (unit, items)."""
    box = plan.boxes[0]
    places = [box.units[path[0]].attr]
    call = plan.calls[0][path[0]]
    for step in path[1:]:
        if isinstance(step, tuple) and step and step[0] == "item" and call.items is not None:
            places.append(call.items[step[1]][0])
            call = call.items[step[1]][1]
        elif isinstance(step, tuple) and len(step) == 1 and call.items is None and call.instance is None:
            arg = call.args[step[0]]
            if isinstance(arg.value, Call):
                call = arg.value
    base = name if identifier(name) else "value"
    if depth == 0:
        return base
    return _ident("_".join(places[:depth] + [base]))


def _leaves(call: Call, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str, Any]]:
    """Every literal argument in a call tree: (path, argument name, value)."""
    out: list[tuple[tuple[Any, ...], str, Any]] = []
    if call.items is not None:
        for j, (_, c) in enumerate(call.items):
            out += _leaves(c, path + (("item", j),))
    elif call.instance is not None:
        sub, index = call.instance
        out += [(path + (n,), n, values[index]) for n, values, _ in sub.params]
    else:
        for j, a in enumerate(call.args):
            if isinstance(a.value, Call):
                out += _leaves(a.value, path + ((j,),))
            else:
                out.append((path + ((j,),), a.name, a.value))
    return out


def _shape_key(call: Call) -> Any:
    """What must agree for two instances to share a class: callees and argument names, not values."""
    if call.items is not None:
        return ("items", tuple((n, _shape_key(c)) for n, c in call.items))
    if call.instance is not None:
        return ("class", call.callee)
    return (call.callee, tuple((a.name, _shape_key(a.value) if isinstance(a.value, Call) else None) for a in call.args))


def _wrap(head: str, text: str, close: str) -> str:
    """``head + text + close``, breaking a long call's arguments onto their own lines."""
    line = head + text + close
    if len(line) <= WIDTH or "\n" in text:
        return line
    m = re.match(r"^([\w.]+)\((.*)\)$", text, re.S)
    if not m:
        return line
    margin = head[: len(head) - len(head.lstrip())]
    return head + m.group(1) + "(\n" + "".join(f"{margin}{INDENT}{a},\n" for a in _split_args(m.group(2))) + \
        margin + ")" + close


def _split_args(text: str) -> list[str]:
    out, depth, cur, quote = [], 0, "", ""
    for ch in text:
        if quote:
            cur += ch
            quote = "" if ch == quote else quote
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _sorted_imports(lines: set[str]) -> str:
    """Standard library, then third party; ``import x`` before ``from x import y`` (isort's order)."""
    def module(line: str) -> str:
        return line.split()[1]

    def section(line: str) -> int:
        return 0 if module(line).split(".")[0] in sys.stdlib_module_names else 1

    merged: dict[str, set[str]] = {}
    for ln in lines:
        if ln.startswith("from "):
            merged.setdefault(module(ln), set()).add(ln.split(" import ", 1)[1])
    lines = {ln for ln in lines if not ln.startswith("from ")}
    lines |= {f"from {m} import {', '.join(sorted(names, key=_isort_key))}" for m, names in merged.items()}
    groups = []
    for sec in (0, 1):
        mine = [ln for ln in lines if section(ln) == sec]
        plain = sorted((ln for ln in mine if ln.startswith("import ")), key=lambda ln: module(ln).lower())
        froms = sorted((ln for ln in mine if ln.startswith("from ")), key=lambda ln: module(ln).lower())
        if plain or froms:
            groups.append("\n".join(plain + froms))
    return "\n\n".join(groups)


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order of imported names: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _camel(name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9A-Za-z]+", name) if p).lstrip("0123456789")


def _ident(name: str) -> str:
    name = re.sub(r"\W", "_", name)
    if not name or name[0].isdigit():
        name = "x_" + name
    return name if identifier(name) else name + "_"


def _type_name(v: Any) -> str:
    if isinstance(v, Code):
        return "object"
    return type(v).__name__ if isinstance(v, (bool, int, float, str, tuple, list, dict)) else "object"


LITERAL_LIMIT = 4096  # most numbers a literal ``init:`` is written with in the source


def _relative(box: Box, name: str) -> str | None:
    """``name`` relative to ``box`` (None when it lies outside)."""
    if not box.path:
        return name
    return name[len(box.path) + 1:] if name.startswith(box.path + ".") else None


def _module_expr(path: str) -> str:
    """Source for the submodule at dotted ``path`` of ``self``."""
    if not path:
        return "self"
    if all(identifier(p) for p in path.split(".")):
        return f"self.{path}"
    return f'self.get_submodule("{path}")'


def _param_expr(module: str, pname: str) -> str:
    return _param(_module_expr(module), pname)


def init_lines(node: Node, module: str) -> list[str]:
    """A layer's ``init:`` as source, applied to its module (source text ``module``), as
    :func:`netspec.backends.torch.init.initialise` applies it: a scheme per parameter through
    ``nn.init``, a number by ``nn.init.constant_``, a literal (nested list) copied from ``torch.tensor``.

    Raises:
        BuildError: a literal of more than :data:`LITERAL_LIMIT` numbers (export the weights instead).
    """
    from netspec.layers.init import init_items

    items = init_items(node.init, node.params)
    lines: list[str] = []
    for pname, value in items:
        target = _param(module, pname)
        shape = node.params.get(pname, ())
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lines.append(f"nn.init.constant_({target}, {literal(float(value))})")
        elif isinstance(value, list):
            count = _count(value)
            if count > LITERAL_LIMIT:
                raise BuildError(f"{node.location or node.name}: {node.name}: its init: for {pname} has {count:,} "
                                 f"numbers, more than the {LITERAL_LIMIT:,} the Python writer spells out\n    hint: "
                                 "give the layer a scheme (init: {...: normal}) and load the values with "
                                 "load_state_dict after the export, or export ONNX (.onnx) or a torch.export program "
                                 "(.pt2), which carry the values")
            lines.append("with torch.no_grad():  # init: the spec's literal values")
            head = f"{target}.copy_(torch.tensor("
            lines.append(f"{INDENT}{head}{_nested(value, len(INDENT) * 3 + len(head))}))")
        else:
            line = _scheme_line(target, value, shape)
            if line:
                lines.append(line)
    return lines


def _param(module: str, pname: str) -> str:
    if all(identifier(p) for p in pname.split(".")):
        return f"{module}.{pname}"
    return f'{module}.get_parameter("{pname}")'


def _scheme_line(target: str, scheme: Any, shape: tuple[Any, ...]) -> str | None:
    import inspect

    from netspec.layers.init import INIT_SCHEMES, InitSpec

    spec = scheme if isinstance(scheme, InitSpec) else InitSpec(scheme=scheme)
    entry = INIT_SCHEMES[spec.scheme]
    if entry.torch_fn is None:
        return None
    if entry.fan_based and len(shape) < 2:  # a vector has no fan: the compiler zeroes it
        return f"nn.init.zeros_({target})"
    kwargs: dict[str, Any] = dict(entry.kwargs)
    if isinstance(scheme, InitSpec):
        kwargs.update({kw: getattr(spec, f) for f, kw in entry.args.items()})
    import torch.nn as nn

    defaults = {k: p.default for k, p in inspect.signature(getattr(nn.init, entry.torch_fn)).parameters.items()}
    text = "".join(f", {k}={literal(v)}" for k, v in kwargs.items() if k not in defaults or defaults[k] != v)
    return f"nn.init.{entry.torch_fn}({target}{text})"


def _count(value: Any) -> int:
    return sum(_count(v) for v in value) if isinstance(value, list) else 1


def _nested(value: Any, margin: int) -> str:
    """A nested list as source: on one line when it fits, else one element per line."""
    flat = literal(value)
    if len(flat) + margin <= WIDTH or not isinstance(value, list):
        return flat
    pad = " " * (margin + 1)
    return "[" + (",\n" + pad).join(_nested(v, margin + 1) for v in value) + "]"


def python_source(graph: Graph, description: str = "", source_name: str = "") -> tuple[str, str]:
    """Standalone PyTorch source for every network of ``graph`` and the name of the model class.

    Raises:
        BuildError: a layer whose module or a graph whose layout cannot be written as source.
    """
    return Writer(graph, description).write(source_name)


