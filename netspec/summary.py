"""The `netspec check` table, rendered with rich (in the spirit of Keras' model.summary and torchinfo)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from netspec.layers.base import fmt_shape

if TYPE_CHECKING:  # pragma: no cover
    from netspec.report import NetworkReport, Report


def _rf(node_rf: tuple[tuple[int, int], ...] | None) -> str:
    if not node_rf:
        return ""
    sizes = "×".join(str(s) for s, _ in node_rf)
    jumps = "×".join(str(j) for _, j in node_rf)
    if len(set(s for s, _ in node_rf)) == 1:
        sizes, jumps = str(node_rf[0][0]), str(node_rf[0][1])
    return f"{sizes} /{jumps}"


def _network_table(r: "NetworkReport") -> tuple[Table, list[str]]:
    from netspec.report import MACS_NOTE, human, human_bytes

    g = r.graph
    title = f"network {g.name}"
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_footer=False, pad_edge=False)
    t.add_column("layer", no_wrap=True)
    t.add_column("kind")
    t.add_column("output shape", no_wrap=True)
    t.add_column("params", justify="right")
    t.add_column("MACs", justify="right")
    t.add_column("RF /jump", justify="right")
    for name, typ in g.inputs.items():
        src = g.input_sources.get(name)
        t.add_row(name, "input" + (f" ← {src}" if src else "") + ("" if typ.dtype == "float" else f" ({typ.dtype})"),
                  fmt_shape(typ.shape), "", "", "")
    for n in g.nodes:
        params = f"{n.n_params:,}" if n.n_params else ""
        if n.n_params and not n.layer.trainable:
            params += " (frozen)"
        shape = fmt_shape(n.out.shape)
        if len(n.outputs) > 1:
            shape = ", ".join(f"{k} {fmt_shape(v.shape)}" for k, v in n.outputs.items())
        t.add_row(n.name, n.layer.label(), shape, params, f"{n.macs:,}" if n.macs else "", _rf(n.rf))
    lines = [
        f"params: {g.params:,} total, {g.trainable:,} trainable, {g.params - g.trainable:,} non-trainable"
        + (f"; buffers: {g.buffers:,} (batch-norm running statistics)" if g.buffers else ""),
        f"MACs: {g.macs:,} ({human(g.macs)}) per sample" + (" and per time step (symbolic sizes count as 1)"
                                                              if g.symbolic else ""),
        f"memory: parameters {human_bytes(r.param_bytes)}, forward activations "
        f"{human_bytes(r.activation_bytes)} at batch {r.batch} (float32)",
        f"outputs: " + ", ".join(f"{k} {fmt_shape(v.shape)}" for k, v in g.output_types().items()),
    ]
    return t, lines + [f"[dim]{MACS_NOTE}[/dim]"]


def render(report: "Report", width: int = 110, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                      highlight=False, soft_wrap=False)
    for r in report.networks.values():
        table, totals = _network_table(r)
        console.print(table)
        for line in totals:
            console.print(line, soft_wrap=True)
        for w in r.graph.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(w)}", soft_wrap=True)
        for p in r.failures:
            console.print(f"[red]expectation failed:[/red] {escape(str(p))}", soft_wrap=True)
        console.print()
    return "\n".join(line.rstrip() for line in buf.getvalue().rstrip().splitlines()) + "\n"
