"""Every registered layer kind, built in torch from its EXAMPLES and compared with what netspec inferred."""

from __future__ import annotations

import pytest
import torch
from torch_truth import assert_matches_torch, spec_for

from netspec import ShapeError, load
from netspec.backends.torch.compile import example_inputs
from netspec.core.sizes import evaluate
from netspec.ir.build import build_graph
from netspec.layers import layer_kinds

CASES = [(kind, i, args, shapes) for kind, cls in layer_kinds().items() for i, (args, shapes) in enumerate(cls.EXAMPLES)]




def test_every_kind_has_examples():
    missing = [kind for kind, cls in layer_kinds().items() if not cls.EXAMPLES]
    assert not missing, f"layer kinds without EXAMPLES (so untested against torch): {missing}"


def test_sequence_families_are_registered():
    expected = {"rnn", "lstm", "gru", "embedding", "time_distributed", "repeat_vector", "sequence_pool", "permute",
                "gaussian_noise", "activity_regularization", "sample", "locally_connected2d", "tiled_conv2d", "rbm",
                "recursive"}
    assert expected <= set(layer_kinds())


@pytest.mark.parametrize("kind,i,args,shapes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_kind_matches_torch(kind, i, args, shapes):
    spec = load(spec_for(kind, args, shapes))
    graph = build_graph(spec, bind={"T": 9}).network()
    model = assert_matches_torch(graph).train()  # compared in eval mode; training mode must run too
    torch.manual_seed(0)
    out = model(*example_inputs(graph))
    outs = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape[1:]) for o in outs] == [tuple(t.shape) for t in graph.output_types().values()]


def _builds(spec, length: int) -> bool:
    try:
        build_graph(spec, bind={"T": length})
    except ShapeError:
        return False
    return True


@pytest.mark.parametrize("kind,i,args,shapes", [c for c in CASES if any(isinstance(d, str) for s in c[3] for d in s)],
                         ids=lambda v: str(v) if isinstance(v, str) else None)
def test_symbolic_dims_stay_symbolic(kind, i, args, shapes):
    """With T unbound, fixed sizes equal the bound result and the others are expressions of T that
    evaluate to it; the MACs are an expression of T equal to torch's count at two lengths."""
    spec = load(spec_for(kind, args, shapes))
    free = build_graph(spec).network()
    second = next((n for n in (12, 6, 18, 3) if _builds(spec, n)), None)  # a second valid length
    assert second is not None, "no second length to compare at"
    for length in (9, second):
        bound = build_graph(spec, bind={"T": length}).network()
        for node_free, node_bound in zip(free.nodes, bound.nodes, strict=True):
            for t_free, t_bound in zip(node_free.outputs.values(), node_bound.outputs.values(), strict=True):
                assert len(t_free.shape) == len(t_bound.shape)
                for d_free, d_bound in zip(t_free.shape, t_bound.shape):
                    assert evaluate(d_free, {"T": length}) == d_bound
            assert node_free.params == node_bound.params
        macs = free.macs if isinstance(free.macs, int) else free.macs.bind({"T": length})
        assert macs == bound.macs
        if length != 9:  # T = 9 is compared with torch by test_kind_matches_torch
            assert_matches_torch(bound)


def test_family_index_is_current():
    """`netspec/layers/index.py` says which module holds each kind, in `layer_kinds()` order; regenerate it
    after adding one (tests/layers/test_registry.py checks what is created from it)."""
    from pathlib import Path

    from netspec.layers import base, index

    assert Path(index.__file__).read_text(encoding="utf-8") == base.render_index(), \
        'stale: run python -c "from netspec.layers import base; base.write_index()"'


def test_dense_on_a_channels_first_map_warns_and_channels_last_does_not():
    """A dense layer on a conv's (C, H, W) output acts on W only (as nn.Linear does): a warning with the fix,
    through element-wise layers too, square or not. The deliberate use, channels last after a permute
    (ConvNeXt's pointwise layers), is quiet even when C happens to equal W."""
    import netspec

    after_conv = "input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3}\n  - dense: 10\n"
    (warning,) = netspec.check(after_conv).warnings
    assert "(4, 6, 6) becomes (4, 6, 10)" in warning and "flatten" in warning
    not_square = "input: [3, 8, 12]\nlayers:\n  - conv2d: {filters: 4, kernel: 3}\n  - relu\n  - dense: 10\n"
    (warning,) = netspec.check(not_square).warnings
    assert "(4, 6, 10) becomes (4, 6, 10)" in warning
    channels_last = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 1}\n"
                     "  - permute: [1, 2, 0]\n  - dense: 10\n")  # (8, 8, 8): C = W, still quiet
    assert netspec.check(channels_last).warnings == []
    assert netspec.check("input: [3, 8, 8]\nlayers:\n  - flatten\n  - dense: 10\n").warnings == []
    assert netspec.check("input: [12, 20]\nlayers:\n  - dense: 10\n").warnings == []  # a (T, F) sequence


def test_a_skip_that_lost_a_row_on_the_way_down_gets_the_size_hint():
    # 63 → pool 2 → 31 → up ×2 → 62: the skip (63) and the way up (62) cannot be joined
    spec = ("name: u\ninput: [3, 63, 63]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, padding: 1, name: skip}\n"
            "  - max_pool2d: 2\n  - conv_transpose2d: {filters: 8, kernel: 2, stride: 2, name: up}\n"
            "  - concat: {from: [skip, up]}\n")
    with pytest.raises(ShapeError, match=r"(?s)\(8, 63, 63\) and input 2 \(8, 62, 62\).*multiple of 2 per level"):
        build_graph(load(spec))
    build_graph(load(spec.replace("63, 63", "64, 64")))  # a multiple of 2 lines up
