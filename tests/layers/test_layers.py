"""Every registered layer kind, built in torch from its EXAMPLES and compared with what netspec inferred."""

from __future__ import annotations

import pytest
import torch
from torch_truth import assert_matches_torch, spec_for

import netspec
from netspec import NetspecError, ShapeError, load
from netspec.backends.torch.compile import compile_graph, example_inputs
from netspec.core.sizes import evaluate
from netspec.ir.build import build_graph
from netspec.layers import layer_kinds
from netspec.layers.base import Layer

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
    _assert_outputs_as_checked(out, graph)


def _assert_outputs_as_checked(out, graph) -> None:
    """The compiled module returns what `check` reports: one tensor for one output (a one-piece split too:
    a tuple there broke the next layer), a tuple of that many for several, of the reported shapes."""
    types = list(graph.output_types().values())
    if len(types) == 1:
        assert isinstance(out, torch.Tensor), f"one output reported, the module returned a {type(out).__name__}"
        out = (out,)
    assert isinstance(out, tuple) and len(out) == len(types)
    assert [tuple(o.shape[1:]) for o in out] == [tuple(t.shape) for t in types]


@pytest.mark.parametrize("layer", ["split: {sizes: [4]}", "chunk: 1", "split: {sizes: [4], axis: -1}",
                                   "chunk: {chunks: 1, axis: 0}"])
def test_a_one_piece_split_is_its_input_to_the_next_layer(layer):
    """`split: {sizes: [4]}` / `chunk: 1` (a block's `chunks: ${heads}` at heads = 1) then a dense layer:
    the compiled module runs and equals torch.split/chunk (one piece, the input itself) then the Linear."""
    text = f"input: [4]\nlayers:\n  - {layer}\n  - dense: {{units: 2, name: d}}\n"
    report = netspec.check(text)
    assert report.to_dict()["outputs"] == {"d": [2]}
    model = netspec.compile(text)
    x = torch.randn(3, 4)
    (piece,) = torch.split(x, [4], dim=1) if "split" in layer else torch.chunk(x, 1, dim=1)
    assert torch.equal(model(x), model.d(piece))


EDGE_CASES = [(kind, i) for kind, i, _, _ in CASES]


def _edge_values(prop: dict) -> list:
    """Values at and around the bounds the option's JSON Schema gives (what `check` lets through)."""
    out: list = []
    for s in [prop, *prop.get("anyOf", []), *prop.get("oneOf", [])]:
        t = s.get("type")
        out += list(s.get("enum", [])) + ([s["const"]] if "const" in s else [])
        out += [True, False] if t == "boolean" else []
        if t in ("integer", "number"):
            step = 1 if t == "integer" else 1e-6
            out += [s[k] for k in ("minimum", "maximum") if k in s and abs(s[k]) <= 64]
            out += [s["exclusiveMinimum"] + step] if "exclusiveMinimum" in s else []
            out += [s["exclusiveMaximum"] - step] if s.get("exclusiveMaximum", 1e9) <= 64 else []
            out += [0, 1, 2, 3, 5, 8, 16, -1, -2] if t == "integer" else [0.0, 0.5, 0.999, 1.0, 2.0]
        if t == "array" and (s.get("items") or {}).get("type") == "integer":
            out += [[v] * n for v in (0, 1, 2, 3, 5, 8) for n in {s.get("minItems", 1), max(s.get("minItems", 1), 2)}]
        if t == "array" and "prefixItems" in s:
            out += [[v] * len(s["prefixItems"]) for v in (0, 1, 2, 3, 5, 8)]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind,i", EDGE_CASES, ids=[f"{k}-{i}" for k, i in EDGE_CASES])
def test_what_check_accepts_at_the_edges_builds_and_runs(kind, i):
    """Each kind's EXAMPLES with one option at a time moved to its bounds and small values: whatever `check`
    accepts, torch builds and runs (train and eval) with the outputs `check` reports, or `check` refuses it."""
    cls = layer_kinds()[kind]
    args, shapes = cls.EXAMPLES[i]
    props = cls.model_json_schema(by_alias=True).get("properties", {})
    common = set(Layer.model_fields) | {"from"}
    variants = [{**args, f: v} for f, p in props.items() if f not in common and not cls.CHILDREN.get(f)
                for v in _edge_values(p)]
    for var in [args, *variants]:  # the example first: it must build, so the test cannot pass on refusals alone
        try:
            spec = load(spec_for(kind, var, shapes))
            graph = build_graph(spec, bind={"T": 9}).network()
        except NetspecError:
            assert var is not args, "the kind's own example must pass check"
            continue  # refused by check: a message, not a crash (the spec tests cover the messages)
        model = compile_graph(build_graph(spec, bind={"T": 9}))
        for mode in (True, False):
            torch.manual_seed(0)
            _assert_outputs_as_checked(model.train(mode)(*example_inputs(graph, high=1)), graph)  # id 0: any vocab


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
