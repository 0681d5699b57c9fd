"""Batch-second sequences in a traced model: PyTorch's ``batch_first=False`` attention and Transformer layers
read ``(T, N, E)``, which forward makes with ``x.transpose(0, 1)`` and undoes after them. netspec's sequences
are batch-first, and such a layer computes the same function on ``(N, T, E)`` with ``batch_first=True``, so
the two transposes are no layers of the spec and the layers between them are read as batch-first ones.

:func:`batch_second` follows which tensors of the traced graph hold the batch on axis 1: a swap of the first
two axes of a tensor of rank ≥ 3 (``transpose(0, 1)``, ``swapaxes``, ``permute(1, 0, 2)``) turns one layout into
the other; a ``batch_first=False`` attention or Transformer layer reads and returns batch-second tensors;
a layer that acts on each position's last axis alone (``nn.Linear``, ``nn.LayerNorm``, a plain dropout or
activation, a sum or product of two batch-second tensors) keeps the layout; a mean over dim 0, ``y[0]`` and
``y[-1]`` of a batch-second ``(T, N, E)`` are a ``sequence_pool`` (mean, first, last step). Any other use of a
batch-second tensor, a batch-first tensor given to a ``batch_first=False`` layer, and a batch-second output are
noted as refusals at the call that makes them.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
import torch.nn as nn
import torch.nn.functional as F

from netspec.interop.structure import tensor_nodes
from netspec.interop.torch_table import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_MODULES,
    MERGES,
    METHODS,
    PERMUTES,
    TRANSFORMERS,
    fn_name,
    holds_tensor,
)

# layers that see each position's last axis alone: the same function on (T, N, E) and (N, T, E)
LAST_AXIS_MODULES = (nn.Linear, nn.LayerNorm, nn.Dropout, nn.Identity)
BATCH_SECOND_LAYERS = (nn.MultiheadAttention, *TRANSFORMERS)  # the layers that take batch_first=False
SWAP = "x.transpose(0, 1)"
READS = ("netspec reads a batch-second (T, N, E) tensor only into batch_first=False attention and Transformer "
         "layers, layers on its last axis (nn.Linear, nn.LayerNorm, dropout, activations, a sum of two), back "
         f"through {SWAP}, or as a mean over dim 0 or its step y[0] or y[-1]")


@dataclass
class Layout:
    """What :func:`batch_second` found: ``swaps`` (a swap node -> the node it swaps: no layer of the spec),
    ``second`` (the nodes whose tensors are batch-second), ``layers`` (the ``batch_first=False`` layers read as
    batch-first), ``pools`` (a node -> the ``sequence_pool`` mode it is), ``notes`` (a node -> why it is refused)."""

    swaps: dict[str, str] = field(default_factory=dict)
    second: set[str] = field(default_factory=set)
    layers: set[str] = field(default_factory=set)
    pools: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def permutation(n: fx.Node, rank: int) -> list[int]:
    """The full permutation (batch included) of a permute, transpose or swapaxes call ``n`` on a tensor of ``rank``."""
    if n.target in (torch.permute, torch.permute.__name__):
        raw = n.args[1:] if len(n.args) > 2 or not isinstance(n.args[1] if len(n.args) > 1 else None,
                                                               (list, tuple)) else n.args[1]
        raw = raw or n.kwargs.get("dims", ())
        return [int(d) % rank for d in raw]
    a, b = (list(n.args[1:3]) + [n.kwargs.get("dim0"), n.kwargs.get("dim1")])[:2]
    order = list(range(rank))
    a, b = int(a) % rank, int(b) % rank
    order[a], order[b] = order[b], order[a]
    return order


def is_swap(n: fx.Node, x: Any) -> bool:
    if n.op not in ("call_function", "call_method") or not (n.target in PERMUTES or
                                                            n.target in {f.__name__ for f in PERMUTES}):
        return False
    if not isinstance(x, torch.Tensor) or x.dim() < 3:
        return False
    try:
        order = permutation(n, x.dim())
    except (TypeError, ValueError):
        return False
    return order == [1, 0, *range(2, x.dim())]


def _keeps_layout(n: fx.Node, modules: dict[str, nn.Module], count: int) -> bool:
    """``n`` acts on each position's last axis alone (or merges two tensors position by position)."""
    if n.op == "call_module":
        m = modules.get(str(n.target))
        return type(m) in LAST_AXIS_MODULES or type(m) in ACTIVATION_MODULES
    if n.op == "call_function" and n.target in MERGES:
        return count == 2 and n.kwargs.get("alpha", 1) == 1
    if n.op == "call_function":
        return n.target in ACTIVATION_FUNCTIONS or n.target is F.dropout
    if n.op == "call_method":
        return n.target == "contiguous" or (n.target in METHODS and METHODS[n.target] in ACTIVATION_FUNCTIONS)
    return False


def _pool(n: fx.Node, x: torch.Tensor) -> str | None:
    """The ``sequence_pool`` mode ``n`` is on a batch-second ``(T, N, E)`` ``x``: a mean over dim 0 (mean), ``y[0]``
    (first), ``y[-1]`` (last); None for any other call."""
    if x.dim() != 3:
        return None
    if n.op in ("call_method", "call_function") and n.target in ("mean", torch.mean):
        call = dict(zip(("dim", "keepdim"), n.args[1:])) | dict(n.kwargs)
        dim = call.get("dim")
        dims = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        if dims in ([0], [-3]) and not call.get("keepdim") and call.get("dtype") is None:
            return "mean"
        return None
    if n.op == "call_function" and n.target is operator.getitem:
        index = n.args[1]
        if isinstance(index, tuple) and index and all(i == slice(None) for i in index[1:]):
            index = index[0]
        if isinstance(index, int) and not isinstance(index, bool):
            t = x.shape[0]
            return "first" if index in (0, -t) else "last" if index in (-1, t - 1) else None
    return None


def batch_second(gm: fx.GraphModule, modules: dict[str, nn.Module], values: dict[str, Any],
                 skipped: set[str]) -> Layout:
    """Which nodes of ``gm`` hold batch-second tensors, and what that makes of them (:class:`Layout`); ``values``
    are what each node computed on the example input, ``skipped`` the nodes that are no layers (masks)."""
    out = Layout()
    for n in gm.graph.nodes:
        if n.op in ("placeholder", "get_attr") or n.name in skipped or \
                (n.op != "output" and not holds_tensor(values.get(n.name))):
            continue  # sizes read from a shape are no layers
        ins = [a for a in tensor_nodes(list(n.args) + list(n.kwargs.values()))
               if isinstance(values.get(a.name), (torch.Tensor, tuple)) and a.name not in skipped]
        second = [a.name in out.second for a in ins]
        if n.op == "output":
            if any(second):
                out.notes[n.name] = f"returns a batch-second (T, N, E) tensor; hint: return it as {SWAP}"
            continue
        m = modules.get(str(n.target)) if n.op == "call_module" else None
        if isinstance(m, BATCH_SECOND_LAYERS) and not getattr(_attention_of(m), "batch_first", True):
            if ins and all(second):
                out.second.add(n.name)
                out.layers.add(n.name)
            else:
                out.notes[n.name] = ("batch_first=False on a batch-first tensor (netspec's sequences are batch-first, "
                                     f"(N, T, E)); hint: give the layer {SWAP} and transpose its output back, or build "
                                     "it with batch_first=True")
            continue
        if not any(second):
            if len(ins) == 1 and is_swap(n, values.get(ins[0].name)):
                out.swaps[n.name] = ins[0].name
                out.second.add(n.name)
            continue
        if n.op == "call_function" and n.target is operator.getitem and ins and \
                isinstance(values.get(ins[0].name), tuple):
            if n.args[1] == 0:  # attention's (output, weights)[0]
                out.second.add(n.name)
            continue
        x = values.get(ins[0].name)
        if len(ins) == 1 and is_swap(n, x):
            out.swaps[n.name] = ins[0].name  # back to batch-first
        elif len(ins) == 1 and isinstance(x, torch.Tensor) and _pool(n, x) is not None:
            out.pools[n.name] = str(_pool(n, x))
        elif all(second) and _keeps_layout(n, modules, len(ins)):
            out.second.add(n.name)
        else:
            what = type(m).__name__ if m is not None else fn_name(n.target)
            out.notes[n.name] = (f"{what} of a batch-second (T, N, E) tensor ({SWAP}): {READS}; hint: transpose it "
                                 f"back, {SWAP}, before it")
    return out


def _attention_of(m: nn.Module) -> nn.Module:
    """The attention whose ``batch_first`` a Transformer layer (or the attention itself) follows."""
    if isinstance(m, nn.MultiheadAttention):
        return m
    first = next((c for c in m.modules() if isinstance(c, nn.MultiheadAttention)), None)
    return first if first is not None else m
