"""The public functions, and the only place the stages are chained: text → spec → graph IR → backends.

Nothing here imports torch or graphviz at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netspec.backends.report.report import Report, make_report
from netspec.core.errors import UsageError
from netspec.ir.build import build_graph, check_bind
from netspec.ir.graph import Graph
from netspec.spec.load import load
from netspec.spec.model import MAX_DIM, Spec

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from netspec.backends.graphviz.render import Drawing

Source = str | os.PathLike[str] | Spec | Graph


def _sizes(bind: Any) -> dict[str, int] | None:
    """``bind`` checked at the boundary: names of symbolic sizes to whole numbers from 1 to MAX_DIM."""
    if bind is None:
        return None
    if not isinstance(bind, dict):
        raise UsageError(f"bind maps symbolic sizes to numbers, e.g. {{'T': 10}}; got {type(bind).__name__}")
    for name, value in bind.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise UsageError(f"bind: a symbolic size is a name such as 'T', got {name!r}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DIM:
            raise UsageError(f"bind: {name} must be a whole number from 1 to {MAX_DIM:,}, got {str(value)[:40]!r}")
    return bind


def analyze(source: Source, bind: dict[str, int] | None = None, strict: bool = False) -> Graph:
    """Parse, validate and resolve a spec into the graph IR (shapes, counts, receptive fields).

    Raises:
        SpecSyntaxError, SpecValidationError: the text or the spec is wrong (every problem located).
        ShapeError: shape inference failed (located at the layer).
    """
    if isinstance(source, Graph):
        return source
    spec = load(source)
    bind = _sizes(bind)
    check_bind(spec, bind)
    return build_graph(spec, bind=bind, strict=strict)


def check(source: Source, batch: int = 1, bind: dict[str, int] | None = None, strict: bool = False,
          network: str | None = None) -> Report:
    """Everything ``netspec check`` reports: per-layer shapes, params, MACs, and the ``expect:`` results.

    Args:
        source: a path, spec text, a loaded Spec or a Graph.
        batch: batch size for the activation-memory estimate.
        bind: values for symbolic dims, e.g. ``{"T": 10}``.
        strict: make inexact stride divisions errors instead of warnings.
        network: report only this network of a multi-network spec.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch must be a whole number of at least 1, got {str(batch)[:40]!r}")
    graph = analyze(source, bind=bind, strict=strict)
    if network is not None:
        graph = graph.only(network)  # raises with the valid names
    return make_report(graph, batch=batch)


def compile(source: Source, network: str | None = None, bind: dict[str, int] | None = None,  # noqa: A001
            weights: str | os.PathLike[str] | Any = None, partial: bool = False) -> "torch.nn.Module":
    """A real ``torch.nn.Module`` for the spec (a ModuleDict of networks when it has several).

    Args:
        weights: a state dict to start from: a ``.pt``/``.pth`` file (a plain state dict, netspec's own
            checkpoint, or one holding it under ``model``/``state_dict``) or a mapping. Tensors load by
            name, else by structure (network order and shapes); what it did is ``module.netspec_weights``.
        partial: load what fits and keep the rest as initialised (a replaced head) instead of refusing.

    Raises:
        DataError: weights left over or ambiguous without ``partial`` (the message is the table).
    """
    from netspec.backends.torch.compile import compile_graph

    module = compile_graph(analyze(source, bind=bind), network)
    if weights is not None:
        from netspec.backends.torch.weights import load_weights

        load_weights(module, weights, partial=partial)
    return module


def schema() -> dict[str, Any]:
    """JSON Schema of the spec language, generated from the layer registry."""
    from netspec.spec.reference import json_schema

    return json_schema()


def _partial_graph(source: Source, bind: dict[str, int] | None, strict: bool, network: str | None) -> Graph:
    """The graph up to a shape failure, for drawing; asking for a network the failure kept from being
    built raises that failure."""
    if isinstance(source, Graph):
        return source
    spec = load(source)
    bind = _sizes(bind)
    check_bind(spec, bind)
    graph = build_graph(spec, bind=bind, strict=strict, partial=True)
    if graph.error is not None and network in spec.networks and network not in graph.networks:
        raise graph.error
    return graph


def to_dot(source: Source, **options: Any) -> str:
    """The Graphviz DOT source of a spec's diagram (needs neither Graphviz nor torch).

    Args:
        source: a path, spec text, a loaded Spec or a Graph.
        depth: blocks nested deeper than this collapse into one box (None: automatic, readable).
        collapse_repeats: consecutive identical blocks become one box marked ×n (default None: only
            when the diagram with every copy drawn would not be readable).
        network: draw only this network of a multi-network spec.
        unroll: draw recurrent layers unrolled over this many time steps (0: as one box).
        rankdir: "TB" (top to bottom, default) or "LR".
        shapes, params: show tensor shapes / parameter counts (default True).
        legend: the family colour legend in the caption (default True).
        title: caption title (default: the spec's name).
        bind, strict: as for :func:`check`.

    A spec that fails shape inference is drawn up to the failing layer (in red, the error in the
    caption); it does not raise.
    """
    from netspec.backends.graphviz import render

    opts = render.options(options)
    return render.to_dot(_partial_graph(source, opts.bind, opts.strict, opts.network), opts)


def render_diagram(source: Source, path: str | os.PathLike[str] | None, format: str | None = None,  # noqa: A002
                   **options: Any) -> "Drawing":
    """Draw and write the picture; returns the path, the DOT text and the error of a failing spec."""
    from netspec.backends.graphviz import render

    opts = render.options(options)
    fmt = render.format_for(path, format)
    return render.render(_partial_graph(source, opts.bind, opts.strict, opts.network), path, opts, format=fmt)


def draw(source: Source, path: str | os.PathLike[str], format: str | None = None, **options: Any) -> Path:  # noqa: A002
    """Render a spec's diagram to ``path`` (svg, png, pdf or dot, from the extension or ``format``).

    Takes the options of :func:`to_dot`. svg/png/pdf need Graphviz's ``dot`` program; without it a
    BuildError says how to install it (``format='dot'`` works without). A spec that fails shape
    inference is drawn up to the failure (the error is in the caption); use :func:`check` to raise it.
    """
    return render_diagram(source, path, format=format, **options).path  # type: ignore[return-value]
