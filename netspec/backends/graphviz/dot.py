"""DOT text for `netspec draw`: boxes, clusters, unrolled recurrent layers, edges, legend and caption."""

from __future__ import annotations

import html
import re
from typing import Any, Iterable

from netspec.backends.graphviz.model import Box, Cluster, DrawOptions, NetView
from netspec.backends.graphviz.style import (
    CLUSTER_FILL,
    CLUSTER_FILLS,
    DASHED_CLUSTERS,
    FAILED_FILL,
    FAILED_LINE,
    FAMILY_NAMES,
    FONT,
    INPUT_FILL,
    LINK_COLOR,
    MERGE_FAMILY,
    RECURRENT_FAMILY,
    SHORTCUT_CLUSTERS,
    SHORTCUT_COLOR,
    SKIP_COLOR,
    SMALL_FAMILIES,
    STATE_COLOR,
    family_color,
    fmt_params,
)
from netspec.backends.graphviz.view import net_view
from netspec.core.errors import NetspecError
from netspec.core.fmt import human
from netspec.ir.graph import Graph


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
        if box.kind == "leaf" and box.family == MERGE_FAMILY and box.nodes:
            self.merge(box, indent)
            return
        if box.kind == "leaf" and view.unrolled.get(box.id):
            return  # drawn as its steps
        rows = [f"<b>{_h(box.title)}</b>"] if box.title else []
        if box.kind == "input":
            rows = [f"<b>{_h(box.title)}</b>"
                    + (f"  <font color=\"#666666\">{_h(box.label)}</font>" if box.label != "input" else "")]
        elif box.label:
            rows.append(_h(box.label))
        info = []
        if o.shapes and box.shape:
            info.append(_h(box.shape))
        if o.params and box.params:
            info.append(f"{fmt_params(box.params)} params")
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
        elif box.kind in ("collapsed", "run"):
            self.families[box.family] = None
            self.styles.add("collapsed")
            attrs = dict(shape="box3d" if box.count > 1 else "box", style="filled,bold", color="#444444",
                         fillcolor=family_color(box.family), penwidth="1.4")
        else:
            self.families[box.family] = None
            small = box.family in SMALL_FAMILIES and not box.params
            attrs = dict(shape="box", style="rounded,filled", color="#666666", fillcolor=family_color(box.family))
            if small:
                attrs["fontsize"] = "11"
        self.emit(f"{_q(box.id)} {_attrs(label=label, tooltip=tip, **attrs)};", indent)

    def merge(self, box: Box, indent: int) -> None:
        """A merge as a small circle with its operator (``+``, ``‖``, ``×``) and its activation."""
        node = box.nodes[0]
        glyph = node.glyph or node.label
        act = node.activation
        label = (f"<<b>{_h(glyph)}</b>" + (f"<br/><font point-size=\"8\">{_h(act)}</font>" if act else "")
                 + ">")
        tip = (f"{box.fullname}: {node.kind}" + (f" + {act}" if act else "")
               + (f" → {box.shape}" if self.opts.shapes else ""))
        self.families[MERGE_FAMILY] = None
        attrs = _attrs(label=label, shape="circle", style="filled", fillcolor="#ffffff", color="#555555",
                       fontsize="16" if not act else "13", width="0.4", height="0.4", fixedsize="false",
                       margin="0.02", tooltip=tip)
        self.emit(f"{_q(box.id)} {attrs};", indent)

    def items(self, items: list[Box | Cluster], indent: int, view: NetView) -> None:
        for item in items:
            if isinstance(item, Cluster):
                self.cluster(item, indent, view)
            else:
                self.box(item, indent, view)
                if item.id in view.unrolled:
                    self.unrolled(item, indent, view)

    def cluster(self, cl: Cluster, indent: int, view: NetView, top: bool = False) -> None:
        self.emit(f"subgraph {_q('cluster_' + cl.id)} {{", indent)
        fill = CLUSTER_FILLS.get(cl.topology, CLUSTER_FILL)
        if top:
            g = view.graph
            bits = [f"{fmt_params(g.params)} params"] if self.opts.params else []
            title = (f"<<b>{_h(cl.title)}</b>"
                     + (f"  <font point-size=\"10\">{' · '.join(bits)}</font>" if bits else "") + ">")
            self.emit(f"label={title}; labeljust=c; labelloc=t; style=\"rounded\"; color=\"#999999\"; fontsize=14; "
                      f"fillcolor=\"{fill}\"; penwidth=1.2; margin=14;", indent + 1)
        else:
            label = f"<<i>{_h(cl.title)}</i>>" if cl.title else '""'
            style = "rounded,filled,dashed" if cl.topology in DASHED_CLUSTERS else "rounded,filled"
            color = SHORTCUT_COLOR if cl.topology in SHORTCUT_CLUSTERS else "#aaaaaa"
            self.emit(f"label={label}; labeljust=l; labelloc=t; style=\"{style}\"; color=\"{color}\"; "
                      f"fillcolor=\"{fill}\"; fontsize=11; fontcolor=\"#333333\"; margin=8;", indent + 1)
        self.items(cl.items, indent + 1, view)
        self.emit("}", indent)

    def unrolled(self, box: Box, indent: int, view: NetView) -> None:
        node = box.nodes[0]
        steps = view.unrolled[box.id]
        state = ", ".join(node.states) or "h"  # the state passed from step to step
        self.families[box.family] = None
        shared = (f"  <font point-size=\"9\">{fmt_params(box.params)} params (shared)</font>"
                  if self.opts.params and box.params else "")
        self.emit(f"subgraph {_q('cluster_' + box.id + '@unrolled')} {{", indent)
        self.emit(f"label=<<i>{_h(box.title)}: {_h(box.label)}, unrolled through time</i>" + shared
                  + ">; labeljust=l; labelloc=t; style=\"rounded,filled,dashed\"; color=\"#6a3d9a\"; "
                  "fillcolor=\"#faf7fc\"; fontsize=11; margin=8;", indent + 1)
        same = []
        for sid in steps:
            t = sid.rsplit("@t", 1)[-1]
            if t == "…":
                self.emit(f"{_q(sid)} {_attrs(label='⋯', shape='plaintext', fontsize='18')};", indent + 1)
            else:
                label = f"<<b>{_h(box.title)}</b><br/>t = {_h(t)}>"
                attrs = _attrs(label=label, shape="box", style="rounded,filled", color="#666666",
                               fillcolor=family_color(box.family), tooltip=f"{box.fullname} at step {t}")
                self.emit(f"{_q(sid)} {attrs};", indent + 1)
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
        if box.kind != "leaf" or not box.nodes or box.nodes[0].family != RECURRENT_FAMILY:
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
        if opts.rankdir.upper() in ("TB", "BT"):
            attrs.update(tailport="e", headport="n")
        else:
            attrs.update(tailport="s", headport="n")
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
                color = attrs.get("color", "#555555") if style != "normal" else "#555555"
                a["label"] = f"<<font point-size=\"8\" color=\"{color}\">{_h(label)}</font>>"
            lines.append(f"{_q(s)} -> {_q(d)} {_attrs(**a)};")
    return lines


def _legend(families: Iterable[str], styles: set[str], edge_styles: set[str]) -> str:
    cells = []
    for fam in families:
        if fam in ("input",):
            continue
        name = FAMILY_NAMES.get(fam, fam)
        if fam == MERGE_FAMILY:
            cells.append("<td border=\"1\" color=\"#555555\" bgcolor=\"#ffffff\" style=\"rounded\" fixedsize=\"true\" "
                         "width=\"26\" height=\"14\" cellpadding=\"0\">+ ‖</td><td align=\"left\">merge</td>")
        else:
            cells.append(f"<td border=\"1\" color=\"#666666\" bgcolor=\"{family_color(fam)}\" fixedsize=\"true\" "
                         f"width=\"16\" height=\"11\" cellpadding=\"0\"></td><td align=\"left\">{_h(name)}</td>")
    if "collapsed" in styles:
        cells.append("<td border=\"2\" color=\"#444444\" fixedsize=\"true\" width=\"16\" height=\"11\" "
                     "cellpadding=\"0\"></td><td align=\"left\">collapsed block (×n: n identical copies)</td>")
    if "shortcut" in edge_styles:
        cells.append(f"<td><font color=\"{SHORTCUT_COLOR}\"><b>- - →</b></font></td><td align=\"left\">shortcut</td>")
    if "skip" in edge_styles:
        cells.append(f"<td><font color=\"{SKIP_COLOR}\"><b>- - →</b></font></td><td align=\"left\">skip</td>")
    if "link" in edge_styles or "link-side" in edge_styles:
        cells.append(f"<td><font color=\"{LINK_COLOR}\"><b>━→</b></font></td>"
                     "<td align=\"left\">between networks</td>")
    if not cells:
        return ""
    per_row = 6
    rows = ["<tr><td><table border=\"0\" cellspacing=\"4\" cellpadding=\"1\"><tr>" + "".join(cells[i:i + per_row])
            + "</tr></table></td></tr>" for i in range(0, len(cells), per_row)]
    return ("<font point-size=\"9\"><table border=\"0\" cellspacing=\"0\" cellpadding=\"0\">" + "".join(rows)
            + "</table></font>")


def _caption(graph: Graph, views: list[NetView], error: NetspecError | None, opts: DrawOptions,
             families: Iterable[str], styles: set[str], edge_styles: set[str]) -> str:
    rows = []
    title = opts.title if opts.title is not None else graph.name
    params = sum(v.graph.params for v in views)
    macs = sum((v.graph.macs for v in views), 0)
    bits = []
    if opts.params:
        bits.append(f"{fmt_params(params)} params")
        if macs:
            bits.append(human(macs, "MACs") if isinstance(macs, int) else f"{macs} MACs")
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
    for view in views.values():
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


def dot_source(graph: Graph, opts: DrawOptions) -> str:
    """The DOT text of a graph's diagram; a partial graph (``Graph.error``) is drawn up to its failure.

    Raises:
        NetspecError: ``opts.network`` names no network of the graph (the valid names are listed).
    """
    opts.check()
    nets = graph.networks
    error = graph.error
    if opts.network is not None:
        graph.network(opts.network)  # raises with the valid names
        nets = {opts.network: nets[opts.network]}
        if nets[opts.network].error is None:
            error = None  # the failure is in another network
    views = {name: net_view(g, opts, name) for name, g in nets.items()}
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
    for view in views.values():
        if many:
            d.cluster(view.root, 1, view, top=True)
        else:
            d.items(view.root.items, 1, view)
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
