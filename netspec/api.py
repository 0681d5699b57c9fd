"""The public functions: load, analyze, check, compile. Nothing here imports torch at import time."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from netspec.backends.report.report import Report, make_report
from netspec.ir.graph import Graph, build_graph
from netspec.spec.load import load
from netspec.spec.model import Spec

if TYPE_CHECKING:  # pragma: no cover
    import torch

Source = str | os.PathLike[str] | Spec | Graph


def analyze(source: Source, bind: dict[str, int] | None = None, strict: bool = False) -> Graph:
    """Parse, validate and resolve a spec into the graph IR (shapes, counts, receptive fields)."""
    if isinstance(source, Graph):
        return source
    return build_graph(load(source), bind=bind, strict=strict)


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
    graph = analyze(source, bind=bind, strict=strict)
    if network is not None:
        graph.network(network)  # raises with the valid names
        graph = Graph(graph.name, graph.spec, {network: graph.networks[network]})
    return make_report(graph, batch=batch)


def compile(source: Source, network: str | None = None, bind: dict[str, int] | None = None) -> "torch.nn.Module":  # noqa: A001
    """A real ``torch.nn.Module`` for the spec (a ModuleDict of networks when it has several)."""
    from netspec.backends.torch.compile import compile_graph

    return compile_graph(analyze(source, bind=bind), network)


def schema() -> dict[str, Any]:
    """JSON Schema of the canonical spec language (layers as ``{kind: ..., options}``), generated from the
    layer registry: each kind's definition pins ``kind`` to its name and aliases."""
    import json

    from netspec.layers import layer_kinds
    from netspec.layers.base import _ALIASES

    out = Spec.model_json_schema(by_alias=True)
    defs = out.setdefault("$defs", {})
    for kind, cls in layer_kinds().items():
        entry = cls.model_json_schema(by_alias=True)
        defs.update(entry.pop("$defs", {}))
        names = [kind, *(a for a, k in _ALIASES.items() if k == kind)]
        entry.setdefault("properties", {})["kind"] = {"enum": names, "description": "layer kind"}
        defs[cls.__name__] = entry
    # Nested layer lists are typed by the base class; in the schema they are any registered kind.
    defs["Layer"] = {"oneOf": [{"$ref": f"#/$defs/{cls.__name__}"} for cls in layer_kinds().values()],
                     "description": "a layer: {kind: <name>, ...options}"}
    out["title"] = "netspec spec (version 1)"
    return json.loads(json.dumps(out))
