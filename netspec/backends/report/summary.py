"""The `netspec check` table (in the spirit of Keras' model.summary and torchinfo).

Renders a :class:`~netspec.backends.report.report.Report` (``Report.table()`` calls it; this module
imports nothing from the report, so the two do not depend on each other both ways).

Plain column formatting: rich took a third of a second on ResNet-152's 500 rows, longer than the
whole analysis, and `check` is where users wait.
"""

from __future__ import annotations

from typing import Any

from netspec.core.fmt import MACS_NOTE, human, human_bytes
from netspec.core.sizes import Count, count_text
from netspec.core.types import fmt_shape
from netspec.frontends import DSL_SUFFIXES
from netspec.ir.graph import NetGraph

HEADERS = ("layer", "kind", "output shape", "params", "MACs", "RF /jump")
RIGHT = {3, 4, 5}  # numeric columns


def _rf(node_rf: tuple[tuple[int, int], ...] | None) -> str:
    if not node_rf:
        return ""
    if node_rf.count(node_rf[0]) == len(node_rf):  # the same size and jump on every axis
        return f"{node_rf[0][0]} /{node_rf[0][1]}"
    return "×".join(str(s) for s, _ in node_rf) + " /" + "×".join(str(j) for _, j in node_rf)


def _rows(r: Any) -> list[tuple[str, ...]]:
    g = r.graph
    rows = []
    for name, typ in g.inputs.items():
        src = g.input_sources.get(name)
        kind = "input" + (f" ← {src}" if src else "") + ("" if typ.dtype == "float" else f" ({typ.dtype})")
        rows.append((name, kind, fmt_shape(typ.shape), "", "", ""))
    for n in g.nodes:
        params = f"{n.n_params:,}" if n.n_params else ""
        if n.shared:
            params = f"shares {n.shared}"
        elif n.tied:
            params += (" + " if params else "") + "tied " + ", ".join(f"{o}.{p}" for o, p in n.tied.values())
        if n.n_params and not n.trainable:
            params += " (frozen)"
        shape = fmt_shape(n.out.shape)
        if len(n.outputs) > 1:
            shape = ", ".join(f"{k} {fmt_shape(v.shape)}" for k, v in n.outputs.items())
        rows.append((n.name, n.label, shape, params, count_text(n.macs) if n.macs else "", _rf(n.rf)))
    return rows


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(map(len, column)) for column in zip(HEADERS, *rows)]
    # One format for every line: left-aligned text, right-aligned numbers, two spaces between columns.
    form = "  ".join(f"{{:{'>' if i in RIGHT else '<'}{w}}}" for i, w in enumerate(widths)).format
    return [form(*HEADERS).rstrip(), "  ".join("─" * w for w in widths), *(form(*row).rstrip() for row in rows)]


def _totals(r: Any) -> list[str]:
    g = r.graph
    params, trainable, buffers, macs, buffer_bytes = g.params, g.trainable, g.buffers, g.macs, r.buffer_bytes
    return [
        f"params: {params:,} total, {trainable:,} trainable, {params - trainable:,} non-trainable"
        + (f"; buffers: {buffers:,} (not trained: running statistics, fixed tables)" if buffers else ""),
        (f"MACs: {macs:,} ({human(macs)}) per sample" if isinstance(macs, int)
         else f"MACs: {macs} per sample (symbolic sizes: --bind gives numbers)"),
        f"memory: parameters {human_bytes(r.param_bytes)}"
        + (f", buffers {human_bytes(buffer_bytes)}" if buffer_bytes else "")
        + f", forward activations {_bytes(r.activation_bytes)} at batch {r.batch} (float32)",
        "outputs: " + ", ".join(f"{k} {fmt_shape(v.shape)}" for k, v in g.output_types().items()),
        MACS_NOTE,
    ]


def _bytes(n: Count) -> str:
    return human_bytes(n) if isinstance(n, int) else f"{n} B"


def render(report: Any, color: bool = False) -> str:
    """The whole human-readable summary, one table per network."""
    bold, dim, yellow, red, off = ("\033[1m", "\033[2m", "\033[33m", "\033[31m", "\033[0m") if color else ("",) * 5
    out: list[str] = []
    for r in report.networks.values():
        out.append(f"{bold}network {r.graph.name}{off}")
        out.append("")
        out.extend(_table(_rows(r)))
        out.append("")
        totals = _totals(r)
        out.extend(totals[:-1])
        out.append(f"{dim}{totals[-1]}{off}")
        out.extend(warning_lines(r.graph, yellow, off))
        out.extend(f"{red}expectation failed:{off} {p}" for p in r.failures)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def warning_lines(graph: NetGraph, yellow: str = "", off: str = "") -> list[str]:
    """Each warning at the place it was written, its hint on a line of its own, as errors are shown; the
    copies of a repeat or of a block used again (the same words at the same place) once, with their count."""
    seen: dict[tuple[str, str], list[str]] = {}
    for n in graph.nodes:
        for w in n.warnings:
            seen.setdefault((str(n.location or ""), w), []).append(n.name)
    lines = []
    for (where, w), names in seen.items():
        message, _, hint = w.partition("; hint: ")
        if where.split(":")[0].lower().endswith(DSL_SUFFIXES):  # options and values in the DSL's words
            from netspec.frontends.dsl.errors import dsl_hint, dsl_values

            message, hint = dsl_values(message), dsl_values(dsl_hint(hint))
        more = f" (and {len(names) - 1} more cop{'y' if len(names) == 2 else 'ies'})" if len(names) > 1 else ""
        lines.append(f"{where + ': ' if where else ''}{yellow}warning:{off} {names[0]}: {message}{more}")
        if hint:
            lines.append(f"    hint: {hint}")
    return lines
