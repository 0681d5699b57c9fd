"""Views for `netspec draw`: which groups are clusters, which collapse, how leaves map to boxes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from netspec.backends.graphviz.model import Box, Cluster, DrawOptions, NetView
from netspec.backends.graphviz.style import MERGE_FAMILY, MINOR_FAMILIES, NETWORK
from netspec.core.types import Ref
from netspec.ir.graph import Failure, NetGraph, Node

AUTO_MAX_ITEMS = 70  # automatic depth: the deepest view with at most this many boxes...
AUTO_MAX_RANKS = 36  # ...and at most this many boxes on its longest path


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _in_group(node: Node, group: str) -> bool:
    return node.group == group or node.group.startswith(group + ".")


# Group topologies drawn without a description of their own (their name says it all).
PLAIN_TOPOLOGIES = ("chain", "branch", "shortcut")


class _Tree:
    """Children (nodes and groups, in order) of every group of a (possibly partial) network.

    Built once per network and shared by the views tried at each depth (signatures are memoized).
    """

    def __init__(self, g: NetGraph) -> None:
        self.g = g
        self.names: set[str] = {n.name for n in g.nodes}
        self.signatures: dict[str, tuple[Any, ...]] = {}
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
        # the group the failed layer (not a node) belongs to: drawn even when nothing in it was built
        self.failure = g.failure if g.error is not None else None
        self.failed_group = ""
        if self.failure is not None and self.failure.name not in self.names:
            grp = self.failure.name.rpartition(".")[0]
            while grp and grp not in g.groups:
                grp = grp.rpartition(".")[0]
            self.failed_group = grp
            while grp:
                parent = g.groups[grp].parent
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
        sig = self.signatures.get(group)
        if sig is None:
            info = self.g.groups[group]
            inner = tuple((n.name[len(group):], n.label, n.activation, n.n_params,
                           tuple(str(t) for t in n.in_types), str(n.out)) for n in self.leaves.get(group, []))
            sig = self.signatures[group] = (info.kind, info.block, info.label if info.block else None, inner)
        return sig


def _group_title(g: NetGraph, group: str) -> tuple[str, str]:
    """(name, description) of a group: ``bottleneck_1``, ``bottleneck(width=64) · residual``."""
    info = g.groups[group]
    name = _short(group)
    if info.block:
        desc = info.label + (f" · {info.kind}" if info.topology == "skip" else "")
    elif info.topology in PLAIN_TOPOLOGIES:
        desc = ""
    else:
        desc = info.kind
    if desc == name:
        desc = ""
    return name, desc


def _leaf_label(node: Node | Failure) -> str:
    """The notes' label, with the activation applied after the module (a merge shows it in its circle)."""
    if node.activation and node.family != MERGE_FAMILY:
        return f"{node.label} + {node.activation}"
    return node.label


class _ViewBuilder:
    def __init__(self, g: NetGraph, tree: _Tree, depth: int | None, opts: DrawOptions, prefix: str) -> None:
        self.g = g
        self.tree = tree
        self.depth = depth
        self.opts = opts
        self.prefix = prefix
        self.owner: dict[str, str] = {}
        self.boxes: dict[str, Box] = {}
        failure = tree.failure
        self.failure = failure
        # a layer already in the graph failed (its name is a node): that box is drawn red; otherwise
        # the failed layer gets a box of its own, in its group's cluster
        self.failed_node = failure.name if failure is not None and failure.name in tree.names else None
        self.failed_group = tree.failed_group
        self.failed_placed = False
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
        root = Cluster(self.id(""), g.name, NETWORK)
        for iname, t in g.inputs.items():
            src = g.input_sources.get(iname)
            box = Box(self.id(f"input:{iname}"), "input", title=iname, label=f"from {src}" if src else "input",
                      shape=str(t) + ("" if t.dtype == "float" else f" {t.dtype}"), family="input",
                      fullname=iname)
            self.boxes[box.id] = box
            self.owner[iname] = box.id
            root.items.append(box)
        self.fill(root, "")
        if self.failure is not None and self.failed_node is None and not self.failed_placed:
            self.add_failed(root)
        return NetView(g, root, self.owner, self.boxes)

    def fill(self, cluster: Cluster, group: str) -> None:
        entries = self.tree.children.get(group, [])
        i = 0
        while i < len(entries):
            e = entries[i]
            if e not in self.tree.is_group:
                node = self.g.node(e)
                box = Box(self.id(e), "failed" if e == self.failed_node else "leaf", [node], title=_short(e),
                          label=_leaf_label(node), shape=str(node.out), params=node.n_params,
                          family=node.family, fullname=e,
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
        holds_failed = self.failure is not None and self.failed_node is None and self.failed_group == e
        if len(kids) == 1 and kids[0] in self.tree.is_group and not holds_failed:
            self.group(cluster, kids[0], (name, desc))
            return
        info = self.g.groups[e]
        title = name + (f": {desc}" if desc else "")
        sub = Cluster(self.id(e), title, info.topology)
        cluster.items.append(sub)
        self.fill(sub, e)
        if holds_failed:
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
        box = Box(self.id(first), "run" if count > 1 else "collapsed", leaves, title=name, label=desc,
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
        shown = [_leaf_label(n) for n in leaves if n.family not in MINOR_FAMILIES]
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
            weights[n.family] = weights.get(n.family, 0) + n.n_params + 1
        return max(weights, key=weights.__getitem__) if weights else "structure"

    def add_failed(self, cluster: Cluster) -> None:
        """The layer shape inference stopped at (not in the graph), in red."""
        failure = self.failure
        assert failure is not None
        box = Box(self.id(f"failed:{failure.name}"), "failed", title=_short(failure.name),
                  label=_leaf_label(failure), family=failure.family, note=str(self.g.error),
                  fullname=failure.name)
        self.boxes[box.id] = box
        cluster.items.append(box)
        self.failed_placed = True


def _failed_inputs(g: NetGraph, failure: Failure) -> tuple[Ref, ...]:
    """What the failed layer was fed (as the builder recorded it); when it failed before its inputs
    were resolved, the previous layer (or the network's first input)."""
    if failure.inputs:
        return failure.inputs
    if g.nodes:
        last = g.nodes[-1]
        return (Ref(last.name, next(iter(last.outputs))),)
    return (Ref(next(iter(g.inputs))),)


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

    shortcuts: dict[str, str] = {}
    for node in g.nodes:
        dst = view.owner.get(node.name)
        if dst is None:
            continue
        merge = node.family == MERGE_FAMILY
        info = groups.get(node.group)
        in_parallel = info is not None and info.topology == "branches"
        # a residual block's merge: its output, fed by the body and then the shortcut
        skip_merge = info is not None and info.topology == "skip" and info.output is not None \
            and info.output.src == node.name
        shortcut_group = _shortcut_ancestor(g, node.group, shortcuts)
        for i, ref in enumerate(node.inputs):
            src = view.owner.get(ref.src)
            if src is None:
                continue
            style = "normal"
            if skip_merge and i >= 1:
                style = "shortcut"
            elif shortcut_group and not (ref.src in g.inputs or _in_group(g.node(ref.src), shortcut_group)):
                style = "shortcut"
            elif merge and not in_parallel and i >= 1:
                style = "skip"
            add(src, dst, ref, style, i)
    failure = g.failure
    if failure is not None:
        for box in view.boxes.values():
            if box.kind == "failed" and not box.nodes:
                for ref in _failed_inputs(g, failure):
                    src = view.owner.get(ref.src)
                    if src is not None:
                        add(src, box.id, ref, "failed", 0)


def _shortcut_ancestor(g: NetGraph, group: str, memo: dict[str, str]) -> str:
    """The innermost enclosing shortcut group of a residual block ("" when none); memoized per group."""
    if group in memo:
        return memo[group]
    found, grp = "", group
    while grp:
        info = g.groups.get(grp)
        if info is None:
            break
        if info.topology == "shortcut":
            found = grp
            break
        grp = info.parent
    memo[group] = found
    return found


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


def _build_view(g: NetGraph, tree: _Tree, depth: int | None, opts: DrawOptions, prefix: str) -> NetView:
    view = _ViewBuilder(g, tree, depth, opts, prefix).build()
    _edges(view)
    return view


def net_view(g: NetGraph, opts: DrawOptions, prefix: str) -> NetView:
    """A network as drawn: the view at the requested depth; automatic depth (``opts.depth`` None)
    takes the deepest one that stays readable. Box ids start with ``prefix/``."""
    tree = _Tree(g)
    if opts.collapse_repeats is None:  # automatic: every copy when that reads, so a small net shows its insides
        view = _build_view(g, tree, opts.depth, replace(opts, collapse_repeats=False), prefix)
        if _readable(view):
            return view
        opts = replace(opts, collapse_repeats=True)
    if opts.depth is not None:
        return _build_view(g, tree, opts.depth, opts, prefix)
    view = _build_view(g, tree, None, opts, prefix)
    d = tree.max_depth
    while not _readable(view) and d > 0:
        d -= 1
        view = _build_view(g, tree, d, opts, prefix)
    return view


def auto_depth(g: NetGraph, collapse_repeats: bool | None = None) -> int | None:
    """The depth the automatic setting picks for a network (None: every block expanded)."""
    tree = _Tree(g)
    if collapse_repeats is None:
        if _readable(_build_view(g, tree, None, DrawOptions(collapse_repeats=False), "")):
            return None
        collapse_repeats = True
    opts = DrawOptions(collapse_repeats=collapse_repeats)
    if _readable(_build_view(g, tree, None, opts, "")):
        return None
    d = tree.max_depth
    while d > 0:
        d -= 1
        if _readable(_build_view(g, tree, d, opts, "")):
            return d
    return 0
