"""Every EXAMPLE of the recurrent, sequence, generative, local, energy and recursive families, built in
torch: output shapes, named parameter shapes and MACs (against ``torch.utils.flop_counter``) must agree
with what netspec infers. (tests/test_layers.py does this for the whole registry; this file keeps the
new families covered on their own and adds the symbolic-T rule: MACs per step = MACs at T = 1.)"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from netspec.layers import Ctx, TensorType, layer_kinds

FAMILY_MODULES = {"netspec.layers.recurrent", "netspec.layers.sequence", "netspec.layers.generative",
                  "netspec.layers.local", "netspec.layers.energy", "netspec.layers.recursive"}
CASES = [(kind, i, args, shapes) for kind, cls in layer_kinds().items() if cls.__module__ in FAMILY_MODULES
         for i, (args, shapes) in enumerate(cls.EXAMPLES)]


def _bind(shape: tuple, t: int) -> tuple[int, ...]:
    return tuple(t if isinstance(d, str) else d for d in shape)


def _dtype(cls: type, i: int) -> str:
    per_input = getattr(cls, "INPUT_DTYPES", None)
    if per_input:
        return per_input[i]
    return "long" if cls.INPUT_DTYPE == "long" else "float"


def _inputs(layer, shapes: list[tuple], t: int, batch: int = 2) -> list[torch.Tensor]:
    out = []
    for i, s in enumerate(shapes):
        shape = (batch, *_bind(s, t))
        long_input = _dtype(type(layer), i) == "long"
        out.append(torch.randint(0, 2, shape) if long_input else torch.randn(shape))
    return out


def test_every_new_kind_has_examples() -> None:
    kinds = {k for k, cls in layer_kinds().items() if cls.__module__ in FAMILY_MODULES}
    assert {"rnn", "lstm", "gru", "embedding", "time_distributed", "repeat_vector", "sequence_pool", "permute",
            "gaussian_noise", "activity_regularization", "sample", "locally_connected2d", "tiled_conv2d", "rbm",
            "recursive"} <= kinds
    assert all(layer_kinds()[k].EXAMPLES for k in kinds)


@pytest.mark.parametrize("kind,i,args,shapes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_example_matches_torch(kind: str, i: int, args: dict, shapes: list[tuple]) -> None:
    torch.manual_seed(0)
    cls = layer_kinds()[kind]
    layer = cls.model_validate({"kind": kind, **args})
    ins = [TensorType(tuple(s), _dtype(cls, j)) for j, s in enumerate(shapes)]
    out = layer.infer(ins, Ctx())
    outs = out if isinstance(out, dict) else {"out": out}
    module = layer.build(ins)
    assert {k: tuple(v.shape) for k, v in module.named_parameters()} == layer.param_shapes(ins)
    assert {k: tuple(v.shape) for k, v in module.named_buffers()} == layer.buffer_shapes(ins)
    symbolic = any(isinstance(d, str) for s in shapes for d in s)
    for t in ((1, 5) if symbolic else (1,)):
        for train in (True, False):
            module.train(train)
            x = _inputs(layer, shapes, t)
            with FlopCounterMode(display=False) as counter:
                y = module(*x)
            ys = y if isinstance(y, tuple) else (y,)
            assert len(ys) == len(outs)
            for got, want in zip(ys, outs.values()):
                assert tuple(got.shape) == (2, *_bind(want.shape, t))
            # MACs of one sample; a symbolic T counts per step, i.e. MACs at T = 1.
            if t == 1:
                assert counter.get_total_flops() // 2 // 2 == layer.macs(ins, list(outs.values()))
