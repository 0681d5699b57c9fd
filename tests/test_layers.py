"""Every registered layer kind, built in torch from its EXAMPLES and compared with what netspec inferred."""

from __future__ import annotations

import pytest

from netspec import load
from netspec.graph import build_graph
from netspec.layers import layer_kinds
from torch_truth import assert_matches_torch

CASES = [(kind, i, args, shapes) for kind, cls in layer_kinds().items() for i, (args, shapes) in enumerate(cls.EXAMPLES)]


def spec_for(kind: str, args: dict, shapes: list[tuple]) -> dict:
    cls = layer_kinds()[kind]
    dtypes = getattr(cls, "INPUT_DTYPES", None) or ["long" if cls.INPUT_DTYPE == "long" else "float"] * len(shapes)
    inputs = {f"x{i}": {"shape": list(s), "dtype": dtypes[i]} for i, s in enumerate(shapes)}
    layer = {"kind": kind, **args}
    if len(shapes) > 1:
        layer["from"] = list(inputs)
    return {"name": "probe", "inputs": inputs, "layers": [layer]}


def test_every_kind_has_examples():
    missing = [kind for kind, cls in layer_kinds().items() if not cls.EXAMPLES]
    assert not missing, f"layer kinds without EXAMPLES (so untested against torch): {missing}"


@pytest.mark.parametrize("kind,i,args,shapes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_kind_matches_torch(kind, i, args, shapes):
    spec = load(spec_for(kind, args, shapes))
    graph = build_graph(spec, bind={"T": 9}).network()
    assert_matches_torch(graph)


@pytest.mark.parametrize("kind,i,args,shapes", [c for c in CASES if any(isinstance(d, str) for s in c[3] for d in s)],
                         ids=lambda v: str(v) if isinstance(v, str) else None)
def test_symbolic_dims_stay_symbolic(kind, i, args, shapes):
    """With T unbound the inferred shape keeps a name; binding T afterwards gives the bound result."""
    spec = load(spec_for(kind, args, shapes))
    free = build_graph(spec).network()
    bound = build_graph(spec, bind={"T": 9}).network()
    node_free, node_bound = free.nodes[-1], bound.nodes[-1]
    assert any(isinstance(d, str) for t in node_free.outputs.values() for d in t.shape) or all(
        isinstance(d, int) for t in node_bound.outputs.values() for d in t.shape)
    assert node_free.params == node_bound.params
