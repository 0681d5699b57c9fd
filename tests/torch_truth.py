"""What the compiled module really does, measured with torch at run time.

Every comparison of netspec's static numbers goes through here: output shapes (per node, with
forward hooks), named parameter and buffer shapes, totals, and MACs against
``torch.utils.flop_counter.FlopCounterMode`` (which counts 2 FLOPs per multiply-add).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from netspec.backends.report.report import NetworkReport
from netspec.backends.torch.compile import compile_network, example_inputs
from netspec.ir.graph import NetGraph


def _shapes(value: Any) -> list[tuple[int, ...]]:
    if isinstance(value, torch.Tensor):
        return [tuple(value.shape[1:])]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _shapes(v)]
    return []


def assert_matches_torch(net: NetGraph, batch: int = 2, check_macs: bool = True,
                         device: str | None = None) -> torch.nn.Module:
    """Compile ``net`` (built with every symbolic dim bound) and compare everything with torch. ``device``
    ``"meta"``: tensors with shapes and no data (a network too large for this machine's memory), which
    torch runs and its flop counter counts all the same."""
    with torch.device(device or "cpu"):
        return _matches(net, batch, check_macs)


def _matches(net: NetGraph, batch: int, check_macs: bool) -> torch.nn.Module:
    model = compile_network(net).eval()
    modules = dict(model.named_modules())
    # a shared layer (``share:``) calls its first use's module again: each module's calls, in order
    target = {node.name: node.shared or node.name for node in net.nodes}
    seen: dict[str, list[list[tuple[int, ...]]]] = {name: [] for name in set(target.values())}
    hooks = []
    for name in seen:
        assert name in modules, f"no submodule '{name}' in the compiled module"
        hooks.append(modules[name].register_forward_hook(
            lambda m, i, o, name=name: seen[name].append(_shapes(o))))
    xs = example_inputs(net, batch)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(*xs)
    for h in hooks:
        h.remove()
    outs = out if isinstance(out, tuple) else (out,)
    want = [tuple(t.shape) for t in net.output_types().values()]
    assert [tuple(o.shape[1:]) for o in outs] == want, "network output shapes differ"
    calls = {name: iter(shapes) for name, shapes in seen.items()}
    for node in net.nodes:
        module = modules[target[node.name]]
        assert next(calls[target[node.name]], None) == [tuple(t.shape) for t in node.outputs.values()], \
            f"{node.name}: output shape"
        params = {n: tuple(p.shape) for n, p in module.named_parameters()}
        assert params == node.params, f"{node.name}: parameters {params} != inferred {node.params}"
        buffers = {n: tuple(b.shape) for n, b in module.named_buffers()}
        assert buffers == node.buffers, f"{node.name}: buffers {buffers} != inferred {node.buffers}"
    assert sum(p.numel() for p in model.parameters()) == net.params
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == net.trainable
    # buffers: a shared module's count once (model.buffers() yields each tensor once), each in its dtype
    assert sum(b.numel() for b in model.buffers()) == net.buffers, "buffer total differs from torch's"
    assert sum(b.numel() * b.element_size() for b in model.buffers()) == NetworkReport(net).buffer_bytes, \
        "buffer bytes differ from torch's"
    if check_macs:
        assert counter.get_total_flops() == 2 * net.macs * batch, "MACs differ from torch's flop counter"
    return model


def spec_for(kind: str, args: dict, shapes: list[tuple]) -> dict:
    """A spec of one layer of ``kind`` with ``args`` on inputs of ``shapes`` (a kind's ``EXAMPLES`` entry),
    each input of the dtype the kind takes."""
    from netspec.layers import layer_kinds

    cls = layer_kinds()[kind]
    dtypes = getattr(cls, "INPUT_DTYPES", None) or ["long" if cls.INPUT_DTYPE == "long" else "float"] * len(shapes)
    inputs = {f"x{i}": {"shape": list(s), "dtype": dtypes[i]} for i, s in enumerate(shapes)}
    layer = {"kind": kind, **args}
    if len(shapes) > 1:
        layer["from"] = list(inputs)
    return {"name": "probe", "inputs": inputs, "layers": [layer]}
