"""Graph IR -> ``torch.nn.Module``.

Each network becomes a ``torch.fx.GraphModule``: one ``call_module`` per node at its dotted name
(so ``dict(model.named_modules())[node.name]`` is that layer), the activation shorthand as a
``call_function`` after it. fx generates plain Python for ``forward``, so there is no per-forward
interpretation overhead and the module works under ``torch.compile``.
"""

from __future__ import annotations


import operator
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn

from netspec.errors import BuildError
from netspec.graph import Graph, NetGraph, Node, Ref
from netspec.layers.base import InitSpec
from netspec.torch_ops import activation_fn

_DTYPES = {"float": torch.float32, "long": torch.long}


class NetworkModule(fx.GraphModule):
    """A compiled network: an fx GraphModule that remembers its netspec graph."""

    netspec_graph: NetGraph


def compile_graph(graph: Graph, network: str | None = None) -> nn.Module:
    """Compile one network (a GraphModule) or, for a spec with several, all of them (ModuleDict)."""
    if network is not None or len(graph.networks) == 1:
        return compile_network(graph.network(network))
    return nn.ModuleDict({name: compile_network(g) for name, g in graph.networks.items()})


def compile_network(net: NetGraph) -> nn.Module:
    root: dict[str, Any] = {}
    g = fx.Graph()
    values: dict[Ref, fx.Node] = {}
    for name in net.inputs:
        values[Ref(name)] = g.placeholder(name)
    for node in net.nodes:
        try:
            module = node.layer.build(list(node.in_types))
        except Exception as exc:  # a torch constructor refusing what the shape rule allowed is a netspec bug
            raise BuildError(f"{node.location or ''} {node.name}: building {node.kind} failed: {exc}") from exc
        _initialise(module, node)
        if not node.layer.trainable:
            for p in module.parameters():
                p.requires_grad_(False)
        root[node.name] = module
        args = tuple(values[r] for r in node.inputs)
        out = g.call_module(node.name, args)
        keys = list(node.outputs)
        if len(keys) == 1:
            values[Ref(node.name, keys[0])] = _activate(g, out, node)
        else:
            for i, key in enumerate(keys):
                values[Ref(node.name, key)] = g.call_function(operator.getitem, (out, i))
    outs = [values[r] for r in net.outputs.values()]
    g.output(outs[0] if len(outs) == 1 else tuple(outs))
    module = NetworkModule(root, g, class_name=f"{net.name}")
    module.netspec_graph = net
    return module


def _activate(g: fx.Graph, value: fx.Node, node: Node) -> fx.Node:
    name = getattr(node.layer, "activation", None)
    if not name or name in ("identity", "linear"):
        return value
    fn, kwargs = activation_fn(name)
    return g.call_function(fn, (value,), kwargs)


def example_inputs(net: NetGraph, batch: int = 2, bind: dict[str, int] | None = None,
                   device: str | torch.device = "cpu", high: int = 2) -> tuple[torch.Tensor, ...]:
    """Random inputs of the network's input types (symbolic dims from ``bind``, default 7)."""
    out = []
    for t in net.inputs.values():
        shape = [batch, *((bind or {}).get(d, 7) if isinstance(d, str) else d for d in t.shape)]
        if t.dtype == "long":
            out.append(torch.randint(0, high, shape, device=device))
        else:
            out.append(torch.randn(shape, device=device))
    return tuple(out)


# --- initialisation ----------------------------------------------------------------------------------
_SCHEMES = {
    "xavier_uniform": nn.init.xavier_uniform_, "glorot_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_, "glorot_normal": nn.init.xavier_normal_,
    "kaiming_uniform": lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"),
    "he_uniform": lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"),
    "kaiming_normal": lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"),
    "he_normal": lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"),
    "orthogonal": nn.init.orthogonal_, "zeros": nn.init.zeros_, "ones": nn.init.ones_,
    "normal": nn.init.normal_, "uniform": nn.init.uniform_,
}


def _apply_scheme(t: torch.Tensor, scheme: str | InitSpec) -> None:
    if isinstance(scheme, InitSpec):
        s = scheme.scheme
        if s == "normal":
            nn.init.normal_(t, scheme.mean, scheme.std)
        elif s == "uniform":
            nn.init.uniform_(t, scheme.a, scheme.b)
        elif s == "constant":
            nn.init.constant_(t, scheme.value)
        elif s in ("xavier_uniform", "glorot_uniform"):
            nn.init.xavier_uniform_(t, gain=scheme.gain)
        elif s in ("xavier_normal", "glorot_normal"):
            nn.init.xavier_normal_(t, gain=scheme.gain)
        elif s != "default":
            _apply_scheme(t, s)
        return
    if scheme == "default":
        return
    if t.dim() < 2 and scheme in ("xavier_uniform", "xavier_normal", "glorot_uniform", "glorot_normal",
                                  "kaiming_uniform", "kaiming_normal", "he_uniform", "he_normal", "orthogonal"):
        nn.init.zeros_(t)  # fan-based schemes are for weights; vectors (biases) start at zero
        return
    _SCHEMES[scheme](t)


@torch.no_grad()
def _initialise(module: nn.Module, node: Node) -> None:
    init = node.layer.init
    if init is None:
        return
    params = dict(module.named_parameters())
    if isinstance(init, str):
        for pname, p in params.items():
            _apply_scheme(p, init if p.dim() >= 2 or init in ("zeros", "ones", "normal", "uniform") else "zeros")
        return
    for pname, value in init.items():
        p = params[pname]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p.fill_(float(value))
        elif isinstance(value, list):
            p.copy_(torch.tensor(value, dtype=p.dtype))
        else:
            _apply_scheme(p, value)



