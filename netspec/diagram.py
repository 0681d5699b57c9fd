"""Architecture diagrams (`netspec draw`): the checked graph IR as Graphviz DOT, rendered by `dot`.

Reads only the graph IR. The DOT text is written here (no dependency); the ``graphviz`` package and
the system ``dot`` are needed only to render svg/png/pdf, and are imported lazily (``netspec check``
never imports them).

What a picture shows: one box per layer (name, the notes' label ``conv 5×5 ×6 /1``, output shape,
parameters), coloured by layer family with a legend in the caption; edges labelled with tensor
shapes; shortcut and skip connections dashed; merges as small circles (``+``, ``‖``, ``×``); blocks,
residual blocks and parallel branches as clusters. Blocks deeper than ``depth`` collapse into one box
(total parameters and output shape); consecutive identical blocks collapse into one box marked ``×n``.
Several networks are drawn side by side with the edges between them; recurrent layers can be drawn
unrolled through time. A spec that fails shape inference is drawn up to the failure, the failing
layer in red and the error in the caption.
"""

from __future__ import annotations

import html
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Literal

from netspec.errors import BuildError, NetspecError, UsageError
from netspec.graph import Graph, NetGraph, Node, Ref

if TYPE_CHECKING:  # pragma: no cover
    from netspec.api import Source

FORMATS = ("svg", "png", "pdf", "dot")
AUTO_MAX_ITEMS = 70  # automatic depth: the deepest view with at most this many boxes...
AUTO_MAX_RANKS = 36  # ...and at most this many boxes on its longest path
MAX_UNROLL = 12

INSTALL_HINT = ("Graphviz's 'dot' program was not found on PATH; it renders svg/png/pdf.\n"
                "Install it:\n"
                "    Debian/Ubuntu:  sudo apt-get install graphviz\n"
                "    macOS:          brew install graphviz\n"
                "    conda:          conda install -c conda-forge graphviz\n"
                "or write the DOT source without it: --format dot (netspec.draw(..., format='dot')).")

# Fill colours by layer family (pastel, readable under black text); unknown families get a stable one.
FAMILY_COLORS: dict[str, str] = {
    "conv": "#a6cee3",
    "dense": "#fdbf6f",
    "recurrent": "#cab2d6",
    "attention": "#fb9a99",
    "embedding": "#b2df8a",
    "pool": "#c7e9c0",
    "norm": "#dadaeb",
    "activation": "#eeeeee",
    "reshape": "#fff2ae",
    "regularization": "#f2f2f2",
    "merge": "#ffffff",
    "structure": "#e0ecf4",
    "other": "#e5d8bd",
}
_SPARE_COLORS = ("#ccebc5", "#fddaec", "#decbe4", "#fed9a6", "#e5d8bd", "#b3cde3", "#ffffcc")
FAMILY_NAMES = {"regularization": "dropout / noise", "reshape": "reshape / pad"}
BLOCK_FILL = "#f4f1e8"
INPUT_FILL = "#ffffff"
FAILED_FILL = "#f8c4c4"
FAILED_LINE = "#cc0000"
SHORTCUT_COLOR = "#2b6cb0"
SKIP_COLOR = "#6b46c1"
LINK_COLOR = "#c05621"
STATE_COLOR = "#6a3d9a"
CLUSTER_FILLS = {"residual": "#f3f8fd", "parallel": "#fdf8ef", "branch": "#fffdf8", "shortcut": "#eef5fc",
                 "network": "#ffffff"}
FONT = "Helvetica,Arial,sans-serif"
MERGE_GLYPHS = {"add": "+", "concat": "‖", "multiply": "×"}


def family_color(family: str) -> str:
    if family in FAMILY_COLORS:
        return FAMILY_COLORS[family]
    return _SPARE_COLORS[sum(map(ord, family)) % len(_SPARE_COLORS)]


# --------------------------------------------------------------------------------------------------
# Options and the drawing model
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DrawOptions:
    """What ``to_dot`` and ``draw`` take as keyword arguments."""

    depth: int | None = None  # None: automatic (readable); N: blocks nested deeper than N collapse
    collapse_repeats: bool = True
    network: str | None = None
    unroll: int = 0
    rankdir: Literal["TB", "LR", "BT", "RL"] = "TB"
    shapes: bool = True
    params: bool = True
    legend: bool = True
    title: str | None = None
    bind: dict[str, int] | None = None
    strict: bool = False

    def check(self) -> "DrawOptions":
        if self.depth is not None and (isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 0):
            raise UsageError(f"depth must be a whole number ≥ 0 (or None for automatic), got {self.depth!r}")
        if isinstance(self.unroll, bool) or not isinstance(self.unroll, int) or not 0 <= self.unroll <= MAX_UNROLL:
            raise UsageError(f"unroll must be a whole number from 0 to {MAX_UNROLL}, got {self.unroll!r}")
        if str(self.rankdir).upper() not in ("TB", "LR", "BT", "RL"):
            raise UsageError(f"rankdir must be TB or LR (or BT, RL), got {self.rankdir!r}")
        return self


@dataclass
class Box:
    """One drawn node: a layer, a collapsed block, a run of identical blocks, an input, the failed layer."""

    id: str
    kind: Literal["leaf", "block", "run", "input", "failed"]
    nodes: list[Node] = field(default_factory=list)  # the leaves it stands for
    title: str = ""
    label: str = ""
    shape: str = ""
    params: int = 0
    family: str = "other"
    count: int = 1
    note: str = ""  # the error message of a failed layer
    fullname: str = ""


@dataclass
class Cluster:
    """An expanded group: a block, repeat, residual, parallel, branch or shortcut."""

    id: str
    title: str
    kind: str
    items: list["Box | Cluster"] = field(default_factory=list)


@dataclass
class NetView:
    """A network as drawn: its clusters and boxes, which box each leaf maps to, the edges."""

    graph: NetGraph
    root: Cluster
    owner: dict[str, str]  # node name (or input name) -> box id
    boxes: dict[str, Box]
    edges: list[tuple[str, str, str, str, str, int]] = field(default_factory=list)  # src, dst, label, style, key, index
    unrolled: dict[str, list[str]] = field(default_factory=dict)  # box id -> step box ids

    @property
    def n_items(self) -> int:
        return len(self.boxes)


# --------------------------------------------------------------------------------------------------
# Graph: build every network, keeping the partial graph of a failing one
# --------------------------------------------------------------------------------------------------

def _analyze(source: "Source", bind: dict[str, int] | None, strict: bool) -> tuple[Graph, NetspecError | None]:
    """The graph of every network that builds, plus the partial graph and error of a failing one."""
    from netspec.graph import _network_order, build_network
    from netspec.loader import load

    if isinstance(source, Graph):
        return source, None
    spec = load(source)
    nets: dict[str, NetGraph] = {}
    error: NetspecError | None = None
    for name in _network_order(spec):
        try:
            nets[name] = build_network(name, spec.networks[name], nets, bind or {}, strict)
        except NetspecError as err:
            partial = getattr(err, "partial", None)
            if partial is None:
                raise
            nets[name] = partial
            error = err
            break
    return Graph(spec.name, spec, nets), error


# --------------------------------------------------------------------------------------------------
# Views: which groups are clusters, which collapse, how leaves map to boxes
# --------------------------------------------------------------------------------------------------

def _fmt_params(n: int) -> str:
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} M"
    return f"{n:,}"


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


# --------------------------------------------------------------------------------------------------
# DOT text
# --------------------------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A DOT quoted ID."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    """Text for an HTML-like label."""
    return html.escape(str(text), quote=True)


def _wrap(text: str, width: int = 90) -> list[str]:
    import textwrap

    out: list[str] = []
    for line in str(text).splitlines() or [""]:
        out.extend(textwrap.wrap(line, width, subsequent_indent="    ", break_long_words=True) or [""])
    return out


def _rows(rows: list[str]) -> str:
    """An HTML-like label of stacked rows (a table: rows keep their distance in every font)."""
    return ("<<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">"
            + "".join(f"<tr><td>{r}</td></tr>" for r in rows) + "</table>>")


def _attrs(**kw: Any) -> str:
    parts = []
    for k, v in kw.items():
        if v is None:
            continue
        if isinstance(v, str) and v.startswith("<") and v.endswith(">"):
            parts.append(f"{k}={v}")
        else:
            parts.append(f"{k}={_q(str(v))}")
    return "[" + " ".join(parts) + "]"


class _Dot:
    def __init__(self, opts: DrawOptions) -> None:
        self.opts = opts
        self.lines: list[str] = []
        self.families: dict[str, None] = {}
        self.styles: set[str] = set()

    def emit(self, line: str, indent: int) -> None:
        self.lines.append("  " * indent + line)

    def box(self, box: Box, indent: int, view: NetView) -> None:
        o = self.opts
        if box.kind == "leaf" and box.family == "merge" and box.nodes:
            node = box.nodes[0]
            glyph = MERGE_GLYPHS.get(node.kind, node.layer.label())
            act = getattr(node.layer, "activation", None)
            label = f"<<b>{_h(glyph)}</b>" + (f"<br/><font point-size=\"8\">{_h(act)}</font>" if act else "") + ">"
            tip = f"{box.fullname}: {node.kind}" + (f" + {act}" if act else "") + (f" → {box.shape}" if o.shapes else "")
            self.families["merge"] = None
            self.emit(f"{_q(box.id)} {_attrs(label=label, shape='circle', style='filled', fillcolor='#ffffff', color='#555555', fontsize='16' if not act else '13', width='0.4', height='0.4', fixedsize='false', margin='0.02', tooltip=tip)};", indent)
            return
        if box.kind == "leaf" and view.unrolled.get(box.id):
            return  # drawn as its steps
        rows = [f"<b>{_h(box.title)}</b>"] if box.title else []
        if box.kind == "input":
            rows = [f"<b>{_h(box.title)}</b>" + (f"  <font color=\"#666666\">{_h(box.label)}</font>" if box.label != "input" else "")]
        elif box.label:
            rows.append(_h(box.label))
        info = []
        if o.shapes and box.shape:
            info.append(_h(box.shape))
        if o.params and box.params:
            info.append(f"{_fmt_params(box.params)} params")
        if info:
            rows.append("<font point-size=\"9\" color=\"#333333\">" + " · ".join(info) + "</font>")
        if box.kind == "failed":
            rows.append("<font point-size=\"9\" color=\"#cc0000\"><b>✗ shape inference failed here</b></font>")
        label = _rows(rows)
        tip = box.fullname
        if box.kind == "input":
            attrs = dict(shape="box", style="rounded,bold", color="#333333", fillcolor=INPUT_FILL)
        elif box.kind == "failed":
            attrs = dict(shape="box", style="rounded,filled,bold", color=FAILED_LINE, fillcolor=FAILED_FILL,
                         penwidth="2.5", fontcolor="#000000")
            tip = f"{box.fullname}: {box.note}"
        elif box.kind in ("block", "run"):
            self.families[box.family] = None
            self.styles.add("block")
            attrs = dict(shape="box3d" if box.count > 1 else "box", style="filled,bold", color="#444444",
                         fillcolor=family_color(box.family), penwidth="1.4")
        else:
            self.families[box.family] = None
            small = box.family in ("activation", "regularization") and not box.params
            attrs = dict(shape="box", style="rounded,filled", color="#666666", fillcolor=family_color(box.family))
            if small:
                attrs["fontsize"] = "11"
        self.emit(f"{_q(box.id)} {_attrs(label=label, tooltip=tip, **attrs)};", indent)

    def cluster(self, cl: Cluster, indent: int, view: NetView, top: bool = False) -> None:
        self.emit(f"subgraph {_q('cluster_' + cl.id)} {{", indent)
        fill = CLUSTER_FILLS.get(cl.kind, "#fbfbfb")
        if top:
            g = view.graph
            bits = [f"{_fmt_params(g.params)} params"] if self.opts.params else []
            title = f"<<b>{_h(cl.title)}</b>" + (f"  <font point-size=\"10\">{' · '.join(bits)}</font>" if bits else "") + ">"
            self.emit(f"label={title}; labeljust=c; labelloc=t; style=\"rounded\"; color=\"#999999\"; fontsize=14; "
                      f"fillcolor=\"{fill}\"; penwidth=1.2; margin=14;", indent + 1)
        else:
            label = f"<<i>{_h(cl.title)}</i>>" if cl.title else '""'
            style = "rounded,filled,dashed" if cl.kind in ("branch", "shortcut") else "rounded,filled"
            color = {"residual": SHORTCUT_COLOR, "shortcut": SHORTCUT_COLOR}.get(cl.kind, "#aaaaaa")
            self.emit(f"label={label}; labeljust=l; labelloc=t; style=\"{style}\"; color=\"{color}\"; fillcolor=\"{fill}\"; "
                      f"fontsize=11; fontcolor=\"#333333\"; margin=8;", indent + 1)
        for item in cl.items:
            if isinstance(item, Cluster):
                self.cluster(item, indent + 1, view)
            else:
                self.box(item, indent + 1, view)
                if item.id in view.unrolled:
                    self.unrolled(item, indent + 1, view)
        self.emit("}", indent)

    def unrolled(self, box: Box, indent: int, view: NetView) -> None:
        node = box.nodes[0]
        steps = view.unrolled[box.id]
        state = "h, c" if node.kind == "lstm" else "h"
        self.families[box.family] = None
        self.emit(f"subgraph {_q('cluster_' + box.id + '@unrolled')} {{", indent)
        self.emit(f"label=<<i>{_h(box.title)}: {_h(box.label)}, unrolled through time</i>"
                  + (f"  <font point-size=\"9\">{_fmt_params(box.params)} params (shared)</font>" if self.opts.params and box.params else "")
                  + ">; labeljust=l; labelloc=t; style=\"rounded,filled,dashed\"; color=\"#6a3d9a\"; fillcolor=\"#faf7fc\"; "
                  "fontsize=11; margin=8;", indent + 1)
        same = []
        for sid in steps:
            t = sid.rsplit("@t", 1)[-1]
            if t == "…":
                self.emit(f"{_q(sid)} {_attrs(label='⋯', shape='plaintext', fontsize='18')};", indent + 1)
            else:
                label = f"<<b>{_h(box.title)}</b><br/>t = {_h(t)}>"
                self.emit(f"{_q(sid)} {_attrs(label=label, shape='box', style='rounded,filled', color='#666666', fillcolor=family_color(box.family), tooltip=box.fullname + ' at step ' + t)};", indent + 1)
            same.append(_q(sid))
        for a, b in zip(steps, steps[1:]):
            lab = f"<<font point-size=\"9\" color=\"{STATE_COLOR}\">{_h(state)}</font>>"
            self.emit(f"{_q(a)} -> {_q(b)} {_attrs(label=lab, color=STATE_COLOR, penwidth='1.6')};", indent + 1)
        self.emit("{rank=same; " + "; ".join(same) + ";}", indent + 1)
        self.emit("}", indent)


def _unroll(view: NetView, steps: int) -> None:
    """Recurrent boxes become ``steps`` copies through time (edges are rewired when written)."""
    if steps <= 0:
        return
    for box in view.boxes.values():
        if box.kind != "leaf" or not box.nodes or box.nodes[0].layer.FAMILY != "recurrent":
            continue
        node = box.nodes[0]
        x = node.in_types[0] if node.in_types else None
        T = x.shape[0] if x is not None and x.rank >= 2 else None
        n = min(steps, T) if isinstance(T, int) else steps
        ids = [f"{box.id}@t{i}" for i in range(1, n + 1)]
        if not (isinstance(T, int) and T <= steps):
            ids.append(f"{box.id}@t…")
        view.unrolled[box.id] = ids


def _step_shape(label: str) -> str:
    """(T, F) -> (F,): the per-step slice of a sequence shape label."""
    m = re.match(r"^(.*?)\((.*)\)$", label)
    if not m:
        return label
    prefix, inner = m.groups()
    dims = [d.strip() for d in inner.split(",") if d.strip()]
    if len(dims) < 2:
        return label
    rest = dims[1:]
    return f"{prefix}({', '.join(rest)}{',' if len(rest) == 1 else ''})"


def _edge_lines(view: NetView, opts: DrawOptions) -> list[str]:
    out = []
    labelled: set[tuple[str, str]] = set()
    for src, dst, label, style, key, index in view.edges:
        # a tensor fanning out to several layers (branches, shortcuts) is labelled once
        show = (src, label) not in labelled
        labelled.add((src, label))
        out.extend(_edge(view, src, dst, label if show else "", style, opts, key, index))
    return out


def _edge(view: NetView, src: str, dst: str, label: str, style: str, opts: DrawOptions, key: str = "out",
          index: int = 0) -> list[str]:
    attrs: dict[str, Any] = {}
    if style == "shortcut":
        attrs.update(style="dashed", color=SHORTCUT_COLOR, penwidth="1.5")
    elif style == "skip":
        attrs.update(style="dashed", color=SKIP_COLOR, penwidth="1.5")
    elif style == "failed":
        attrs.update(color=FAILED_LINE, penwidth="1.5")
    elif style == "link":
        attrs.update(color=LINK_COLOR, penwidth="2.2", style="bold")
    elif style == "link-side":
        # the consumer only reads the producer (generator → discriminator): side by side, the link
        # leaves the producer's last layer sideways and enters the consumer's input from above
        attrs.update(color=LINK_COLOR, penwidth="2.2", style="bold", constraint="false")
        attrs.update(tailport="e", headport="n") if opts.rankdir.upper() in ("TB", "BT") else attrs.update(
            tailport="s", headport="n")
    else:
        attrs.update(color="#555555")
    lines = []
    srcs, dsts = [src], [dst]
    if src in view.unrolled:  # a sequence leaves every step; the last step and states only the last one
        steps = view.unrolled[src]
        node = view.boxes[src].nodes[0]
        seq = key == "out" and bool(node.in_types) and node.out.rank == node.in_types[0].rank
        srcs = [s for s in steps if not s.endswith("@t…")] if seq else [steps[-1]]
        if seq:
            label = _step_shape(label)
    if dst in view.unrolled:  # the sequence enters every step; an initial state the first one
        steps = [s for s in view.unrolled[dst] if not s.endswith("@t…")]
        if index == 0:
            dsts = steps
            label = _step_shape(label)
        else:
            dsts = steps[:1]
    for s in srcs:
        for d in dsts:
            a = dict(attrs)
            if opts.shapes and label:
                color = attrs.get("color", "#555555")
                a["label"] = f"<<font point-size=\"8\" color=\"{color if style != 'normal' else '#555555'}\">{_h(label)}</font>>"
            lines.append(f"{_q(s)} -> {_q(d)} {_attrs(**a)};")
    return lines


def _legend(families: Iterable[str], styles: set[str], edge_styles: set[str]) -> str:
    cells = []
    for fam in families:
        if fam in ("input",):
            continue
        name = FAMILY_NAMES.get(fam, fam)
        if fam == "merge":
            cells.append("<td border=\"1\" color=\"#555555\" bgcolor=\"#ffffff\" style=\"rounded\" fixedsize=\"true\" width=\"26\" height=\"14\" cellpadding=\"0\">+ ‖</td>"
                         "<td align=\"left\">merge</td>")
        else:
            cells.append(f"<td border=\"1\" color=\"#666666\" bgcolor=\"{family_color(fam)}\" fixedsize=\"true\" width=\"16\" height=\"11\" cellpadding=\"0\"></td>"
                         f"<td align=\"left\">{_h(name)}</td>")
    if "block" in styles:
        cells.append("<td border=\"2\" color=\"#444444\" fixedsize=\"true\" width=\"16\" height=\"11\" cellpadding=\"0\"></td><td align=\"left\">collapsed block (×n: n identical copies)</td>")
    if "shortcut" in edge_styles:
        cells.append(f"<td><font color=\"{SHORTCUT_COLOR}\"><b>- - →</b></font></td><td align=\"left\">shortcut</td>")
    if "skip" in edge_styles:
        cells.append(f"<td><font color=\"{SKIP_COLOR}\"><b>- - →</b></font></td><td align=\"left\">skip</td>")
    if "link" in edge_styles or "link-side" in edge_styles:
        cells.append(f"<td><font color=\"{LINK_COLOR}\"><b>━→</b></font></td><td align=\"left\">between networks</td>")
    if not cells:
        return ""
    per_row = 6
    rows = ["<tr><td><table border=\"0\" cellspacing=\"4\" cellpadding=\"1\"><tr>" + "".join(cells[i:i + per_row])
            + "</tr></table></td></tr>" for i in range(0, len(cells), per_row)]
    return ("<font point-size=\"9\"><table border=\"0\" cellspacing=\"0\" cellpadding=\"0\">" + "".join(rows)
            + "</table></font>")


def _caption(graph: Graph, views: list[NetView], error: NetspecError | None, opts: DrawOptions,
             families: Iterable[str], styles: set[str], edge_styles: set[str]) -> str:
    from netspec.report import human

    rows = []
    title = opts.title if opts.title is not None else graph.name
    params = sum(v.graph.params for v in views)
    macs = sum(v.graph.macs for v in views)
    bits = []
    if opts.params:
        bits.append(f"{_fmt_params(params)} params")
        if macs:
            symbolic = any(v.graph.symbolic for v in views)
            bits.append(human(macs, "MACs") + (" per step" if symbolic else ""))
    if title or bits:
        rows.append(f"<tr><td><font point-size=\"14\"><b>{_h(title)}</b></font>"
                    + (f"  <font point-size=\"11\">{_h(' · '.join(bits))}</font>" if bits else "") + "</td></tr>")
    if error is not None:
        lines = _wrap(str(error))[:12]
        text = "<br align=\"left\"/>".join(_h(line) for line in lines) + "<br align=\"left\"/>"
        rows.append(f"<tr><td align=\"left\"><font color=\"{FAILED_LINE}\" point-size=\"11\"><b>✗ shape inference "
                    f"failed</b> (drawn up to the failing layer)<br align=\"left\"/>{text}</font></td></tr>")
    if opts.legend:
        leg = _legend(families, styles, edge_styles)
        if leg:
            rows.append(f"<tr><td>{leg}</td></tr>")
    if not rows:
        return ""
    return "<<table border=\"0\" cellspacing=\"2\">" + "".join(rows) + "</table>>"


def _cross_edges(graph: Graph, views: dict[str, NetView]) -> list[tuple[str, str, str, str, str, int]]:
    """Edges from one network's output to another's input (``input: {from: encoder}``)."""
    out = []
    for name, view in views.items():
        g = view.graph
        for iname, src in g.input_sources.items():
            if not src:
                continue
            dep, _, key = src.partition(".")
            if dep not in views:
                continue
            prod = views[dep].graph
            if not prod.outputs:
                continue
            ref = prod.outputs.get(key) if key else next(iter(prod.outputs.values()))
            if ref is None:
                continue
            sbox = views[dep].owner.get(ref.src)
            if sbox is None:
                continue
            # a consumer that also has inputs of its own (a decoder) starts beside the producer and
            # is pulled down to where the link arrives; one that only reads it sits side by side
            own = any(not s for s in g.input_sources.values())
            out.append((sbox, view.owner[iname], str(g.inputs[iname]), "link" if own else "link-side", ref.key, 0))
    return out


def _dot(graph: Graph, error: NetspecError | None, opts: DrawOptions) -> str:
    opts.check()
    nets = graph.networks
    if opts.network is not None:
        if opts.network not in nets and opts.network in graph.spec.networks and error is not None:
            raise error  # the requested network comes after the one that failed
        graph.network(opts.network)  # raises with the valid names
        nets = {opts.network: nets[opts.network]}
        if error is not None and getattr(error, "partial", None) is not nets[opts.network]:
            error = None  # the failure is in another network
    views = {name: _view(g, opts, name) for name, g in nets.items()}
    for v in views.values():
        _unroll(v, opts.unroll)
    rankdir = str(opts.rankdir).upper()
    d = _Dot(opts)
    d.emit("digraph netspec {", 0)
    d.emit(f"graph [rankdir={rankdir} fontname=\"{FONT}\" nodesep=0.25 ranksep=0.32 compound=true newrank=true "
           f"labelloc=b labeljust=c pad=0.3 bgcolor=\"white\"];", 1)
    d.emit(f"node [fontname=\"{FONT}\" fontsize=12 margin=\"0.12,0.05\" penwidth=1];", 1)
    d.emit(f"edge [fontname=\"{FONT}\" fontsize=8 arrowsize=0.7];", 1)
    many = len(views) > 1
    for name, view in views.items():
        if many:
            d.cluster(view.root, 1, view, top=True)
        else:
            for item in view.root.items:
                if isinstance(item, Cluster):
                    d.cluster(item, 1, view)
                else:
                    d.box(item, 1, view)
                    if item.id in view.unrolled:
                        d.unrolled(item, 1, view)
    edge_styles: set[str] = set()
    for view in views.values():
        for line in _edge_lines(view, opts):
            d.emit(line, 1)
        edge_styles.update(e[3] for e in view.edges)
    merged = _merged_view(views)
    for src, dst, label, style, key, index in _cross_edges(graph, views):
        edge_styles.add(style)
        for line in _edge(merged, src, dst, label, style, opts, key, index):
            d.emit(line, 1)
    caption = _caption(graph, list(views.values()), error, opts, d.families, d.styles, edge_styles)
    if caption:
        d.emit(f"label={caption};", 1)
    d.emit("}", 0)
    return "\n".join(d.lines) + "\n"


def _merged_view(views: dict[str, NetView]) -> NetView:
    first = next(iter(views.values()))
    merged = NetView(first.graph, first.root, {}, {})
    for v in views.values():
        merged.boxes.update(v.boxes)
        merged.unrolled.update(v.unrolled)
    return merged


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------

@dataclass
class Drawing:
    """The result of :func:`render`: where the picture went, its DOT text, and the error of a failing spec."""

    path: Path | None
    dot: str
    format: str
    error: NetspecError | None = None


def _options(kw: dict[str, Any]) -> DrawOptions:
    allowed = set(DrawOptions.__dataclass_fields__)
    unknown = [k for k in kw if k not in allowed]
    if unknown:
        from netspec.errors import did_you_mean

        hint = did_you_mean(unknown[0], allowed)
        raise UsageError(f"unknown drawing option '{unknown[0]}'" + (f"; {hint}" if hint else "")
                         + f" (options: {', '.join(sorted(allowed))})")
    return DrawOptions(**kw).check()


def to_dot(source: "Source", **options: Any) -> str:
    """The Graphviz DOT source of a spec's diagram (needs neither Graphviz nor torch).

    Args:
        source: a path, spec text, a loaded Spec or a Graph.
        depth: blocks nested deeper than this collapse into one box (None: automatic, readable).
        collapse_repeats: consecutive identical blocks become one box marked ×n (default True).
        network: draw only this network of a multi-network spec.
        unroll: draw recurrent layers unrolled over this many time steps (0: as one box).
        rankdir: "TB" (top to bottom, default) or "LR".
        shapes, params: show tensor shapes / parameter counts (default True).
        legend: the family colour legend in the caption (default True).
        title: caption title (default: the spec's name).
        bind, strict: as for ``netspec.check``.

    A spec that fails shape inference is drawn up to the failing layer (in red, the error in the
    caption); it does not raise.
    """
    opts = _options(options)
    graph, error = _analyze(source, opts.bind, opts.strict)
    return _dot(graph, error, opts)


def _format_for(path: str | os.PathLike[str] | None, fmt: str | None) -> str:
    if fmt is not None:
        f = str(fmt).lower().lstrip(".")
        if f == "gv":
            f = "dot"
        if f not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
        return f
    if path is None:
        return "svg"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gv":
        return "dot"
    if suffix in FORMATS:
        return suffix
    raise UsageError(f"cannot tell the format from '{path}'" + (f" (unknown extension '.{suffix}')" if suffix else "")
                     + f"; name it .svg, .png, .pdf or .dot, or pass --format")


def dot_executable() -> str | None:
    """Path of Graphviz's ``dot``, or None when it is not installed."""
    return shutil.which("dot")


def render_dot(dot: str, fmt: str) -> bytes:
    """Run Graphviz on DOT text; a missing ``dot`` is a BuildError saying how to install it."""
    if fmt == "dot":
        return dot.encode("utf-8")
    if dot_executable() is None:
        raise BuildError(INSTALL_HINT)
    import graphviz

    try:
        return graphviz.Source(dot).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise BuildError(INSTALL_HINT) from None
    except graphviz.CalledProcessError as exc:  # pragma: no cover - a bug in the DOT we write
        stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else str(exc.stderr)
        raise BuildError(f"Graphviz failed to render the diagram: {stderr.strip()}") from None


def render(source: "Source", path: str | os.PathLike[str] | None, format: str | None = None,  # noqa: A002
           **options: Any) -> Drawing:
    """Draw and write the picture; returns the path, the DOT text and the error of a failing spec."""
    opts = _options(options)
    fmt = _format_for(path, format)
    graph, error = _analyze(source, opts.bind, opts.strict)
    dot = _dot(graph, error, opts)
    data = render_dot(dot, fmt)
    out = Path(path) if path is not None else None
    if out is not None:
        if out.parent and not out.parent.exists():
            raise UsageError(f"cannot write {out}: the folder {out.parent} does not exist")
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}") from None
    return Drawing(out, dot, fmt, error)


def draw(source: "Source", path: str | os.PathLike[str], format: str | None = None, **options: Any) -> Path:  # noqa: A002
    """Render a spec's diagram to ``path`` (svg, png, pdf or dot, from the extension or ``format``).

    Takes the options of :func:`to_dot`. svg/png/pdf need Graphviz's ``dot`` program; without it a
    BuildError says how to install it (``format='dot'`` works without). A spec that fails shape
    inference is drawn up to the failure (the error is in the caption); use ``netspec.check`` to
    raise it.
    """
    return render(source, path, format=format, **options).path  # type: ignore[return-value]
