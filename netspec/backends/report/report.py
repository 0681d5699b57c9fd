"""`netspec check`: the summary table, the JSON contract and the ``expect:`` checks.

Reads only the graph IR; never imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from netspec.backends.report.json_text import dumps_indented
from netspec.core.errors import NetspecError, Problem, did_you_mean
from netspec.core.fmt import human
from netspec.core.sizes import Count, Dim, Expr, count_text, evaluate, numeric_product, same_size, size_product, symbols
from netspec.core.types import fmt_shape
from netspec.ir.graph import Graph, NetGraph, Node

BYTES_PER_VALUE = 4  # float32 parameters and activations
DTYPE_BYTES = {"float": 4, "long": 8}  # buffers: float32 statistics, int64 counters (torch's dtypes)


def _count(n: Count) -> int | str:
    """JSON form of a count: an integer, or the expression of the symbolic sizes it depends on."""
    return n if isinstance(n, int) else str(n)


def _shape(shape: tuple[Any, ...]) -> list[Any]:
    return list(shape)


@dataclass
class NetworkReport:
    """Counts of one network and the expectations it failed."""

    graph: NetGraph
    batch: int = 1
    failures: list[Problem] = field(default_factory=list)
    bind: dict[str, int] = field(default_factory=dict)

    @property
    def param_bytes(self) -> int:
        """Bytes of the parameters (float32), as the state dict holds them."""
        return self.graph.params * BYTES_PER_VALUE

    @property
    def buffer_bytes(self) -> int:
        """Bytes of the buffers, each in its own dtype (batch norm's step counter is int64); a shared
        module's buffers count once, where they live."""
        return sum(numeric_product(shape) * DTYPE_BYTES[n.buffer_dtypes.get(name, "float")]
                   for n in self.graph.nodes for name, shape in n.own_buffers.items())

    @property
    def activation_bytes(self) -> Count:
        """Forward activations of a batch (every node output and the inputs), float32; an expression
        of the symbolic sizes when there are some."""
        values: Count = sum((size_product(t.shape) for t in self.graph.inputs.values()), 0)
        values = values + sum((size_product(t.shape) for n in self.graph.nodes for t in n.outputs.values()), 0)
        return values * (self.batch * BYTES_PER_VALUE)

    def layer_dict(self, node: Node) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": node.name, "kind": node.kind, "output_shape": _shape(node.out.shape),
            "params": node.n_params, "macs": _count(node.macs),
            "trainable": node.n_trainable, "buffers": node.n_buffers, "group": node.group or None,
            "receptive_field": [list(axis) for axis in node.rf] if node.rf else None,
        }
        if len(node.outputs) > 1:
            out["outputs"] = {k: _shape(t.shape) for k, t in node.outputs.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        g = self.graph
        params, trainable = g.params, g.trainable
        return {
            "name": g.name,
            "inputs": {k: _shape(t.shape) for k, t in g.inputs.items()},
            "outputs": {k: _shape(t.shape) for k, t in g.output_types().items()},
            "params": {"total": params, "trainable": trainable, "non_trainable": params - trainable},
            "buffers": g.buffers,
            "macs": _count(g.macs),
            "symbols": sorted({s for t in g.inputs.values() for d in t.shape for s in symbols(d)}),
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "activation_bytes": _count(self.activation_bytes),
            "batch": self.batch,
            "layers": [self.layer_dict(n) for n in g.nodes],
            "warnings": g.warnings,
            "expectations_failed": [str(p) for p in self.failures],
        }


@dataclass
class Report:
    """The result of ``netspec.check``: one :class:`NetworkReport` per network."""

    graph: Graph
    networks: dict[str, NetworkReport]

    @property
    def ok(self) -> bool:
        return not any(r.failures for r in self.networks.values())

    @property
    def failures(self) -> list[Problem]:
        """Every network's failed expectations, in file order (networks are built in dependency order)."""
        return sorted((p for r in self.networks.values() for p in r.failures), key=_file_order)

    @property
    def warnings(self) -> list[str]:
        return [w for r in self.networks.values() for w in r.graph.warnings]

    def to_dict(self) -> dict[str, Any]:
        if len(self.networks) == 1:
            return next(iter(self.networks.values())).to_dict()
        nets = {name: r.to_dict() for name, r in self.networks.items()}
        return {
            "name": self.graph.name,
            "networks": nets,
            "params": {k: sum(n["params"][k] for n in nets.values()) for k in ("total", "trainable", "non_trainable")},
            "macs": _count(sum((r.graph.macs for r in self.networks.values()), 0)),
        }

    def to_json(self, indent: int | None = 2) -> str:
        data = self.to_dict()
        return json.dumps(data) if indent is None else dumps_indented(data, indent)

    def table(self, color: bool = False) -> str:
        """The human-readable summary (one table per network); ANSI colours if ``color``."""
        from netspec.backends.report.summary import render

        return render(self, color=color)


def check_expectations(report: NetworkReport, base: tuple[Any, ...]) -> None:
    """Compare a network's ``expect:`` block with what was inferred; record failures."""
    g = report.graph
    expect = g.expect
    if expect is None:
        return

    bad: set[tuple[Any, ...]] = set()  # pins with an unknown symbol: reported once, not compared too

    def fail(key: tuple[Any, ...], msg: str, hint: str = "") -> None:
        if key in bad:
            return
        loc = expect.where(*key)
        report.failures.append(Problem(msg, loc, ".".join(str(k) for k in (*base, "expect", *key)), hint))

    known = {s for t in g.inputs.values() for d in t.shape if isinstance(d, str) for s in symbols(d)} | set(report.bind)
    pins: list[tuple[tuple[Any, ...], Any]] = [(("macs",), [expect.macs]), (("output_shape",), expect.output_shape)]
    pins += [((what, name), shape) for what in ("outputs", "shapes") for name, shape in (getattr(expect, what) or {}).items()]
    for key, dims in pins:  # a pin naming a size the network does not have can never hold: say which
        for dim in dims or ():
            extra = sorted(symbols(dim) - known) if isinstance(dim, str) else []
            if extra:
                have = f"the network's symbolic sizes: {', '.join(sorted(known))}" if known else \
                    "the network has no symbolic sizes (they are names in an input's shape, such as [T, 64])"
                fail(key, f"unknown symbol '{extra[0]}' in {dim!r}", did_you_mean(extra[0], known) or have)
                bad.add(key)
                break

    params, trainable = g.params, g.trainable
    totals = {"params": params, "trainable": trainable, "non_trainable": params - trainable}
    for key, got in totals.items():
        want = getattr(expect, key)
        if want is not None and want != got:
            what = "parameters" if key == "params" else f"{key.replace('_', '-')} parameters"
            fail((key,), f"expected {want:,} {what}, the network has {got:,} (difference {got - want:+,})")
    bind = report.bind
    if expect.macs is not None:
        _check_macs(g.macs, expect.macs, expect.macs_tolerance, bind, lambda msg: fail(("macs",), msg))
    outs = g.output_types()
    if expect.output_shape is not None:
        got_shape = list(next(iter(outs.values())).shape)
        if not _same_shape(got_shape, expect.output_shape, bind):
            fail(("output_shape",),
                 f"expected output shape {fmt_shape(expect.output_shape)}, got {fmt_shape(got_shape)}")
    for name, shape in (expect.outputs or {}).items():
        if name not in outs:
            fail(("outputs", name), f"no output named '{name}'; outputs: {', '.join(outs)}")
        elif not _same_shape(list(outs[name].shape), shape, bind):
            fail(("outputs", name), f"expected output '{name}' {fmt_shape(shape)}, got {outs[name]}")
    nodes = {n.name: n for n in g.nodes}
    for name, shape in (expect.shapes or {}).items():
        node = nodes.get(name)
        if node is None:
            fail(("shapes", name), f"no layer named '{name}'")
        elif not _same_shape(list(node.out.shape), shape, bind):
            fail(("shapes", name), f"expected {name} to output {fmt_shape(shape)}, got {node.out}")
    for name, count in (expect.layer_params or {}).items():
        node = nodes.get(name)
        if node is None:
            fail(("layer_params", name), f"no layer named '{name}'")
        elif node.n_params != count:
            fail(("layer_params", name), f"expected {name} to have {count:,} parameters, it has {node.n_params:,}")
    report.failures.sort(key=_file_order)  # checked in a fixed order: reported in the order they are written


def _file_order(p: Problem) -> tuple[int, int]:
    """A problem's place for sorting: line, then column; one without a place last (a stable sort keeps
    those, and equal places, in the order they were found)."""
    return (p.location.line, p.location.column) if p.location is not None else (1 << 30, 0)


def _pinned(dim: Dim, bind: dict[str, int]) -> Dim:
    """A pinned size with the bound symbols substituted (``[T, 128]`` under ``--bind T=50``)."""
    if isinstance(dim, str) and symbols(dim) and symbols(dim) <= set(bind):
        try:
            return evaluate(dim, bind)
        except (ValueError, ArithmeticError):  # undefined at these sizes (T/(T - 10) at T=10): it cannot hold
            return dim
    return dim


def _same_shape(got: list[Dim], want: list[Dim], bind: dict[str, int]) -> bool:
    return len(got) == len(want) and all(same_size(a, _pinned(b, bind)) for a, b in zip(got, want))


def _check_macs(got: Count, want: float | str, tolerance: float, bind: dict[str, int], fail: Any) -> None:
    """A MAC pin: a number, or an expression of the symbolic sizes (bound ones substituted)."""
    if isinstance(want, str):
        want = _pinned(want, bind)
    if isinstance(got, Expr) or isinstance(want, str):
        if not same_size(str(got), str(want) if isinstance(want, str) else int(want)):
            fail(f"expected {want} MACs, the network has {count_text(got)}")
        return
    if abs(got - want) > tolerance * want:
        fail(f"expected {human(want, 'MACs')} (±{tolerance:.1%}), the network has {human(got, 'MACs')} ({got:,})")


def make_report(graph: Graph, batch: int = 1) -> Report:
    nets = {}
    for name, g in graph.networks.items():
        r = NetworkReport(g, batch, bind=graph.bind)
        base: tuple[Any, ...] = () if graph.single else ("networks", name)
        check_expectations(r, base)
        nets[name] = r
    return Report(graph, nets)


def problem_dict(p: Problem) -> dict[str, Any]:
    """One problem for the JSON contract: where (file, line, column: 1-based, null when unknown), the
    user path, the message and the hint. A message that carries its hint as text (``...\n    hint: ...``,
    as an error raised with a message alone prints it) has the hint moved to its own field."""
    loc = p.location
    message, hint = p.message, p.hint
    if not hint and HINT_LINE in message:
        message, _, hint = message.partition(HINT_LINE)
    elif not hint and message.count(GUESS) == 1 and message.endswith("?"):  # "... 'adamm'; did you mean 'adam'?"
        message, _, guess = message.partition(GUESS)
        hint = GUESS[2:] + guess
    return {"file": loc.file if loc else None, "line": loc.line if loc else None,
            "column": loc.column if loc else None, "path": p.path, "message": message, "hint": hint}


HINT_LINE = "\n    hint: "  # how a Problem, and a message written as one, sets its hint under the message
GUESS = "; did you mean "  # a close match named at the end of a one-line message (a flag's value, a command)


def error_dict(err: NetspecError) -> dict[str, Any]:
    """A spec that could not be checked, for the JSON contract (``check --json`` on stdout): ``ok`` false,
    ``error`` the stage that refused it (syntax, validation, shape, usage, ...) and every problem."""
    stage = {"SpecSyntaxError": "syntax", "SpecValidationError": "validation", "UnknownLayerError": "validation",
             "ShapeError": "shape", "UsageError": "usage", "ExpectationError": "expectation", "BuildError": "build",
             "DataError": "data"}.get(type(err).__name__, "error")
    problems = err.problems or [Problem(str(err))]
    return {"ok": False, "error": stage, "problems": [problem_dict(p) for p in problems]}

