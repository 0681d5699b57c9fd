"""Graph IR -> ``torch.nn.Module``.

Each network becomes a ``torch.fx.GraphModule``: one ``call_module`` per node at its dotted name
(so ``dict(model.named_modules())[node.name]`` is that layer), the activation shorthand as a
``call_function`` after it. fx generates plain Python for ``forward``, so there is no per-forward
interpretation overhead and the module works under ``torch.compile``.
"""

from __future__ import annotations

import operator

import torch
import torch.fx as fx
import torch.nn as nn

from netspec.backends.torch.init import initialise
from netspec.core.errors import BuildError
from netspec.core.types import Ref
from netspec.ir.graph import Graph, NetGraph, Node
from netspec.layers.torch.activations import activation_fn


class NetworkModule(fx.GraphModule):
    """A compiled network: an fx GraphModule that remembers its netspec graph."""

    netspec_graph: NetGraph


def compile_graph(graph: Graph, network: str | None = None) -> nn.Module:
    """Compile one network (a GraphModule) or, for a spec with several, all of them (ModuleDict)."""
    if network is not None or len(graph.networks) == 1:
        return compile_network(graph.network(network))
    return nn.ModuleDict({name: compile_network(g) for name, g in graph.networks.items()})


def compile_network(net: NetGraph) -> nn.Module:
    """One network as a GraphModule whose submodules are registered in network order (so
    ``print(model)``, ``state_dict()`` and loading by position follow the spec)."""
    root = nn.Module()
    g = fx.Graph()
    values: dict[Ref, fx.Node] = {}
    for name in net.inputs:
        values[Ref(name)] = g.placeholder(name)
    for node in net.nodes:
        target = node.shared or node.name  # a shared module is called again at its first name
        if node.shared is None:
            try:
                module = node.layer.build(list(node.in_types))
            except Exception as exc:  # a torch constructor refusing what the shape rule allowed is a netspec bug
                raise BuildError(f"{node.location or ''} {node.name}: building {node.kind} failed: {exc}") from exc
            initialise(module, node.init)
            for pname, (owner, owner_param) in node.tied.items():  # the same Parameter: counted once, as torch does
                setattr(module, pname, root.get_submodule(owner).get_parameter(owner_param))
            if not node.trainable:
                for p in module.parameters():
                    p.requires_grad_(False)
            _place(root, node.name, module)
        args = tuple(values[r] for r in node.inputs)
        out = g.call_module(target, args)
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


def _place(root: nn.Module, name: str, module: nn.Module) -> None:
    """Register ``module`` at a dotted path, making the enclosing containers on first use (fx's own
    dict-of-modules route registers shallow names first, which puts a classifier before the blocks)."""
    *parents, leaf = name.split(".")
    for part in parents:
        if part not in root._modules:
            root.add_module(part, nn.Module())
        root = root._modules[part]  # type: ignore[assignment]
    root.add_module(leaf, module)


def _activate(g: fx.Graph, value: fx.Node, node: Node) -> fx.Node:
    name = node.activation
    if name is None:
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
