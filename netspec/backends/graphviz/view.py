"""Views for `netspec draw`: which groups are clusters, which collapse, how leaves map to boxes."""

from __future__ import annotations

import re
from typing import Any

from netspec.backends.graphviz.model import Box, Cluster, DrawOptions, NetView
from netspec.core.types import Ref
from netspec.ir.graph import NetGraph, Node

AUTO_MAX_ITEMS = 70  # automatic depth: the deepest view with at most this many boxes...
AUTO_MAX_RANKS = 36  # ...and at most this many boxes on its longest path


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _in_group(node: Node, group: str) -> bool:
    return node.group == group or node.group.startswith(group + ".")


class _Tree:
    """Children (nodes and groups, in order) of every group of a (possibly partial) network."""

    def __init__(self, g: NetGraph) -> None:
        self.g = g
        self.children: dict[str, list[str]] = {"": []}
        self.is_group: set[str] = set(g.groups)
        self.leaves: dict[str, list[Node]] = {name: [] for name in g.groups}
        seen: set[str] = set()

        def attach(entry: str, parent: str) -> None:
            if entry not in seen:
                seen.add(entry)
                self.children.setdefault(parent, []).append(entry)

        for n in g.nodes:
            attach(n.name, n.group)
            grp = n.group
            while grp:
                self.leaves.setdefault(grp, []).append(n)
                info = g.groups.get(grp)
                parent = info.parent if info else ""
                attach(grp, parent)
                grp = parent
        self.depth: dict[str, int] = {}
        for name in g.groups:
            d, grp = 0, name
            while grp:
                d += 1
                info = g.groups.get(grp)
                grp = info.parent if info else ""
            self.depth[name] = d

    @property
    def max_depth(self) -> int:
        return max((self.depth[g] for g in self.children if g), default=0)

    def out_shape(self, group: str) -> str:
        info = self.g.groups[group]
        if info.output is not None:
            try:
                return str(self.g.type_of(info.output))
            except KeyError:
                pass
        leaves = self.leaves.get(group) or []
        return str(leaves[-1].out) if leaves else ""

    def signature(self, group: str) -> tuple[Any, ...]:
        """Equal for blocks that are copies of each other (same block and args, or same structure)."""
        info = self.g.groups[group]
        inner = tuple((n.name[len(group):], n.layer.label(), getattr(n.layer, "activation", None), n.n_params,
                       tuple(str(t) for t in n.in_types), str(n.out)) for n in self.leaves.get(group, []))
        return (info.kind, info.block, info.label if info.block else None, inner)


def _group_title(g: NetGraph, group: str) -> tuple[str, str]:
    """(name, description) of a group: ``bottleneck_1``, ``bottleneck(width=64) · residual``."""
    info = g.groups[group]
    name = _short(group)
    if info.block:
        desc = info.label + (" · residual" if info.kind == "residual" else "")
    elif info.kind in ("sequential", "group", "branch", "shortcut"):
        desc = ""
    else:
        desc = info.kind
    if desc == name:
        desc = ""
    return name, desc


def _leaf_label(node: Node) -> str:
    label = node.layer.label()
    act = getattr(node.layer, "activation", None)
    if act and node.layer.FAMILY != "merge":
        label += f" + {act}"
    return label


def _failed_name(g: NetGraph) -> str | None:
    """Full dotted name of the layer shape inference stopped at, when the error says it."""
    err = g.error
    if err is None:
        return None
    for p in err.problems:
        m = re.search(r"\(([A-Za-z_][A-Za-z0-9_.]*)\)$", p.path or "") or re.fullmatch(r"([A-Za-z_][A-Za-z0-9_.]*)", p.path or "")
        if m:
            return m.group(1)
    return None


class _ViewBuilder:
    def __init__(self, g: NetGraph, depth: int | None, opts: DrawOptions, prefix: str) -> None:
        self.g = g
        self.tree = _Tree(g)
        self.depth = depth
        self.opts = opts
        self.prefix = prefix
        self.owner: dict[str, str] = {}
        self.boxes: dict[str, Box] = {}
        failed = _failed_name(g)
        self.failed_name = failed
        self.failed_node = failed if failed and any(n.name == failed for n in g.nodes) else None
        self.failed_group = ""
        if g.error is not None:
            if failed:
                grp = failed.rpartition(".")[0]
                while grp and grp not in g.groups:
                    grp = grp.rpartition(".")[0]
                self.failed_group = grp
        # groups on the way to the failure are always expanded, so the red box is visible
        self.force: set[str] = set()
        grp = self.failed_group
        while grp:
            self.force.add(grp)
            info = g.groups.get(grp)
            grp = info.parent if info else ""

    def id(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def build(self) -> NetView:
        g = self.g
        root = Cluster(self.id(""), g.name, "network")
        for iname, t in g.inputs.items():
            src = g.input_sources.get(iname)
            box = Box(self.id(f"input:{iname}"), "input", title=iname, label=f"from {src}" if src else "input",
                      shape=str(t) + ("" if t.dtype == "float" else f" {t.dtype}"), family="input",
                      fullname=iname)
            self.boxes[box.id] = box
            self.owner[iname] = box.id
            root.items.append(box)
        self.fill(root, "")
        if g.error is not None and self.failed_node is None:
            self.add_failed(root)
        view = NetView(g, root, self.owner, self.boxes)
        return view

    def fill(self, cluster: Cluster, group: str) -> None:
        entries = self.tree.children.get(group, [])
        i = 0
        while i < len(entries):
            e = entries[i]
            if e not in self.tree.is_group:
                node = self.g.node(e)
                box = Box(self.id(e), "failed" if e == self.failed_node else "leaf", [node], title=_short(e),
                          label=_leaf_label(node), shape=str(node.out), params=node.n_params,
                          family=node.layer.FAMILY, fullname=e,
                          note=str(self.g.error) if e == self.failed_node else "")
                self.add_box(cluster, box)
                i += 1
                continue
            run = [e]
            if self.opts.collapse_repeats and e not in self.force:
                sig = self.tree.signature(e)
                j = i + 1
                while (j < len(entries) and entries[j] in self.tree.is_group and entries[j] not in self.force
                       and self.tree.signature(entries[j]) == sig):
                    run.append(entries[j])
                    j += 1
            if len(run) > 1:
                self.add_block(cluster, run, title_of=None)
                i += len(run)
                continue
            self.group(cluster, e, None)
            i += 1

    def group(self, cluster: Cluster, e: str, outer: tuple[str, str] | None) -> None:
        """Draw group ``e`` inside ``cluster``: as a box when collapsed, else as a cluster.
        ``outer`` is the (name, description) of a single-child parent drawn as this one."""
        collapsed = self.depth is not None and self.tree.depth[e] > self.depth and e not in self.force
        kids = self.tree.children.get(e, [])
        if collapsed:
            self.add_block(cluster, [e], title_of=outer)
            return
        name, desc = _group_title(self.g, e)
        if outer is not None:  # a wrapper around a single group (a block holding one parallel)
            oname, odesc = outer
            name, desc = oname, odesc or desc
        if len(kids) == 1 and kids[0] in self.tree.is_group:
            self.group(cluster, kids[0], (name, desc))
            return
        info = self.g.groups[e]
        title = name + (f": {desc}" if desc else "")
        sub = Cluster(self.id(e), title, info.kind)
        cluster.items.append(sub)
        self.fill(sub, e)
        if self.g.error is not None and self.failed_node is None and self.failed_group == e:
            self.add_failed(sub)
        # a cluster that ended up holding one box (a repeat group of identical blocks) is redundant
        if len(sub.items) == 1 and isinstance(sub.items[0], Box):
            cluster.items[-1] = sub.items[0]
            only = sub.items[0]
            if only.kind == "run" and not info.block:
                only.title = name

    def add_box(self, cluster: Cluster, box: Box) -> None:
        self.boxes[box.id] = box
        for n in box.nodes:
            self.owner[n.name] = box.id
        cluster.items.append(box)

    def add_block(self, cluster: Cluster, groups: list[str], title_of: tuple[str, str] | None) -> None:
        first = groups[0]
        leaves = [n for grp in groups for n in self.tree.leaves.get(grp, [])]
        name, desc = _group_title(self.g, first)
        info = self.g.groups[first]
        if not desc:
            desc = self._summary(first)
        if title_of is not None:
            name, desc = title_of[0], title_of[1] or desc
        count = len(groups)
        if count > 1:
            name = f"{_short(first)} … {_short(groups[-1])}"
            desc = (desc or info.kind) + f"  ×{count}"
        elif not info.block and self._repeats(first):  # a repeat group: n copies of one block
            kids = self.tree.children[first]
            count = len(kids)
            kdesc = _group_title(self.g, kids[0])[1] or self._summary(kids[0])
            if title_of is None or not title_of[1]:
                desc = f"{kdesc}  ×{count}"
        fam = self._family(leaves)
        box = Box(self.id(first), "run" if count > 1 else "block", leaves, title=name, label=desc,
                  shape=self.tree.out_shape(groups[-1]), params=sum(n.n_params for n in leaves), family=fam,
                  count=count, fullname=first)
        self.add_box(cluster, box)

    def _repeats(self, group: str) -> bool:
        """True when a group's children are two or more identical blocks (what ``repeat: n`` makes)."""
        kids = self.tree.children.get(group, [])
        if len(kids) < 2 or any(k not in self.tree.is_group for k in kids):
            return False
        sig = self.tree.signature(kids[0])
        return all(self.tree.signature(k) == sig for k in kids[1:])

    def _summary(self, group: str) -> str:
        """What a collapsed block without a block name holds: its layers' labels, when few."""
        leaves = self.tree.leaves.get(group, [])
        shown = [_leaf_label(n) for n in leaves if n.layer.FAMILY not in ("activation", "norm", "regularization")]
        if 0 < len(shown) <= 3:
            return " → ".join(shown)
        kids = self.tree.children.get(group, [])
        blocks = {self.g.groups[k].block for k in kids if k in self.tree.is_group}
        if kids and all(k in self.tree.is_group for k in kids) and len(blocks) == 1 and None not in blocks:
            return f"{blocks.pop()} ×{len(kids)}"
        return f"{self.g.groups[group].kind} of {len(leaves)} layers"

    @staticmethod
    def _family(leaves: list[Node]) -> str:
        weights: dict[str, int] = {}
        for n in leaves:
            weights[n.layer.FAMILY] = weights.get(n.layer.FAMILY, 0) + n.n_params + 1
        return max(weights, key=weights.__getitem__) if weights else "structure"

    def add_failed(self, cluster: Cluster) -> None:
        failed = self.g.failed_layer
        layer = failed[1] if failed else None
        name = self.failed_name or (failed[0] if failed else "?")
        label = layer.label() if layer is not None else "?"
        act = getattr(layer, "activation", None)
        if act and layer is not None and layer.FAMILY != "merge":
            label += f" + {act}"
        box = Box(self.id(f"failed:{name}"), "failed", title=_short(name), label=label,
                  family=layer.FAMILY if layer is not None else "other", note=str(self.g.error), fullname=name)
        self.boxes[box.id] = box
        cluster.items.append(box)


def _failed_inputs(view: NetView, box: Box) -> list[Ref]:
    """Best guess at what the failed layer (not in the graph) was fed: its ``from:``, else the chain."""
    g = view.graph
    layer = g.failed_layer[1] if g.failed_layer else None
    names = [n.name for n in g.nodes]
    group = box.fullname.rpartition(".")[0] if "." in box.fullname else ""
    refs: list[Ref] = []
    for text in (getattr(layer, "from_", None) or []):
        src, _, key = text.partition(":")
        cands = [f"{group}.{src}" if group else src, src] + [n for n in names if n.endswith("." + src)]
        hit = next((c for c in cands if c in names or c in g.inputs), None)
        if hit is None and src in g.groups:
            out = g.groups[src].output
            hit = out.src if out else None
        if hit:
            refs.append(Ref(hit, key or "out"))
    if refs:
        return refs
    in_group = [n for n in g.nodes if n.group == group] if group else []
    if in_group:
        refs.append(Ref(in_group[-1].name, next(iter(in_group[-1].outputs))))
        if layer is not None and layer.ARITY is None:  # a merge: the block's input too (residual add)
            first = next(n for n in g.nodes if _in_group(n, group))
            refs.extend(r for r in first.inputs if r not in refs)
        return refs
    if g.nodes:
        return [Ref(g.nodes[-1].name, next(iter(g.nodes[-1].outputs)))]
    return [Ref(next(iter(g.inputs)))]


def _edges(view: NetView) -> None:
    g = view.graph
    groups = g.groups
    seen: set[tuple[str, str]] = set()

    def add(src: str, dst: str, ref: Ref, style: str, index: int) -> None:
        if src == dst or (src, dst) in seen:
            return
        seen.add((src, dst))
        t = g.type_of(ref)
        label = str(t) if ref.key == "out" else f"{ref.key}: {t}"
        view.edges.append((src, dst, label, style, ref.key, index))

    for node in g.nodes:
        dst = view.owner.get(node.name)
        if dst is None:
            continue
        merge = node.layer.FAMILY == "merge"
        in_parallel = groups.get(node.group) is not None and groups[node.group].kind == "parallel"
        shortcut_group = _shortcut_ancestor(g, node.group)
        for i, ref in enumerate(node.inputs):
            src = view.owner.get(ref.src)
            if src is None:
                continue
            style = "normal"
            if node.role == "residual" and i >= 1:
                style = "shortcut"
            elif shortcut_group and not (ref.src in g.inputs or _in_group(g.node(ref.src), shortcut_group)):
                style = "shortcut"
            elif merge and not in_parallel and i >= 1:
                style = "skip"
            add(src, dst, ref, style, i)
    for box in view.boxes.values():
        if box.kind == "failed" and not box.nodes:
            for ref in _failed_inputs(view, box):
                src = view.owner.get(ref.src)
                if src is not None:
                    add(src, box.id, ref, "failed", 0)


def _shortcut_ancestor(g: NetGraph, group: str) -> str:
    while group:
        info = g.groups.get(group)
        if info is None:
            return ""
        if info.kind == "shortcut":
            return group
        group = info.parent
    return ""


def _ranks(view: NetView) -> int:
    """Boxes on the longest path: how tall (TB) the picture is."""
    preds: dict[str, list[str]] = {}
    for src, dst, *_ in view.edges:
        preds.setdefault(dst, []).append(src)
    memo: dict[str, int] = {}
    for start in view.boxes:  # boxes are in topological order (inputs first, then the graph's order)
        memo[start] = 1 + max((memo.get(p, 1) for p in preds.get(start, [])), default=0)
    return max(memo.values(), default=0)


def _readable(view: NetView) -> bool:
    return view.n_items <= AUTO_MAX_ITEMS and _ranks(view) <= AUTO_MAX_RANKS


def _build_view(g: NetGraph, depth: int | None, opts: DrawOptions, prefix: str) -> NetView:
    view = _ViewBuilder(g, depth, opts, prefix).build()
    _edges(view)
    return view


def _view(g: NetGraph, opts: DrawOptions, prefix: str) -> NetView:
    """The view at the requested depth; automatic depth takes the deepest one that stays readable."""
    if opts.depth is not None:
        return _build_view(g, opts.depth, opts, prefix)
    view = _build_view(g, None, opts, prefix)
    d = _Tree(g).max_depth
    while not _readable(view) and d > 0:
        d -= 1
        view = _build_view(g, d, opts, prefix)
    return view


def auto_depth(g: NetGraph, collapse_repeats: bool = True) -> int | None:
    """The depth the automatic setting picks for a network (None: every block expanded)."""
    opts = DrawOptions(collapse_repeats=collapse_repeats)
    if _readable(_build_view(g, None, opts, "")):
        return None
    d = _Tree(g).max_depth
    while d > 0:
        d -= 1
        if _readable(_build_view(g, d, opts, "")):
            return d
    return 0
