"""Property test: random valid specs (chains, residual blocks, concats, parameterised blocks, dense heads).

Hypothesis draws a network while tracking its shape with the textbook formula written out here
(independently of netspec), so every drawn spec is valid; netspec's inferred shapes, parameter
shapes, buffers and MACs must then equal what the compiled torch module really has.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_truth import assert_matches_torch

from netspec import load
from netspec.ir.build import build_graph

ACTS = ["relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu", None]


def out_size(n: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False) -> int:
    num = n + 2 * p - d * (k - 1) - 1
    if ceil:
        out = -(-num // s) + 1
        if (out - 1) * s >= n + p:
            out -= 1
        return out
    return num // s + 1


@st.composite
def conv_layer(draw, shape):
    c, h, w = shape
    p = draw(st.integers(0, 2))
    d = draw(st.integers(1, 2))
    kmax = min(5, (min(h, w) + 2 * p - 1) // d + 1)
    k = draw(st.integers(1, kmax))
    s = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    f = groups * draw(st.integers(1, 4))
    args = {"filters": f, "kernel": k, "stride": s, "padding": p, "dilation": d, "groups": groups,
            "bias": draw(st.booleans())}
    act = draw(st.sampled_from(ACTS))
    if act:
        args["activation"] = act
    return {"conv2d": args}, (f, out_size(h, k, s, p, d), out_size(w, k, s, p, d))


@st.composite
def pool_layer(draw, shape):
    c, h, w = shape
    k = draw(st.integers(1, min(3, h, w)))
    s = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    ceil = draw(st.booleans())
    kind = draw(st.sampled_from(["max_pool2d", "avg_pool2d"]))
    return {kind: {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}}, (
        c, out_size(h, k, s, p, 1, ceil), out_size(w, k, s, p, 1, ceil))


@st.composite
def residual_layer(draw, shape):
    c, h, w = shape
    s = draw(st.sampled_from([1, 2]))
    f = draw(st.sampled_from([c, c + 2]))
    body = [{"conv2d": {"filters": f, "kernel": 3, "stride": s, "padding": 1, "bias": False}},
            "batchnorm2d", "relu",
            {"conv2d": {"filters": f, "kernel": 3, "padding": 1, "bias": False}}, "batchnorm2d"]
    return {"residual": {"layers": body, "activation": "relu"}}, (f, out_size(h, 3, s, 1), out_size(w, 3, s, 1))


@st.composite
def parallel_layer(draw, shape):
    c, h, w = shape
    options = [
        ([{"conv2d": {"filters": 2, "kernel": 1}}], 2),
        ([{"conv2d": {"filters": 3, "kernel": 3, "padding": 1, "activation": "relu"}}], 3),
        ([{"max_pool2d": {"kernel": 3, "stride": 1, "padding": 1}}, {"conv2d": {"filters": 1, "kernel": 1}}], 1),
        ([], c),
    ]
    picks = draw(st.lists(st.sampled_from(range(len(options))), min_size=1, max_size=4))
    branches = [options[i][0] for i in picks]
    return {"parallel": {"branches": branches}}, (sum(options[i][1] for i in picks), h, w)


@st.composite
def block_use(draw, shape):
    c, h, w = shape
    f = draw(st.integers(1, 6))
    return {"cbr": {"f": f}}, (f, h, w)


@st.composite
def specs(draw):
    shape = (draw(st.integers(1, 4)), draw(st.integers(5, 20)), draw(st.integers(5, 20)))
    spec = {"name": "random", "input": list(shape), "layers": [],
            "blocks": {"cbr": {"params": {"f": None},
                               "layers": [{"conv2d": {"filters": "$f", "kernel": 3, "padding": 1}},
                                          "batchnorm2d", "relu"]}}}
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "pool", "residual", "parallel", "block", "simple"]))
        if min(shape[1:]) < 3 and kind in ("conv", "pool"):
            kind = "simple"
        if kind == "simple":
            layer = draw(st.sampled_from(["batchnorm2d", "relu", {"dropout": 0.3}, "tanh", {"leaky_relu": {"slope": 0.2}}]))
        else:
            strategy = {"conv": conv_layer, "pool": pool_layer, "residual": residual_layer,
                        "parallel": parallel_layer, "block": block_use}[kind]
            layer, shape = draw(strategy(shape))
        if draw(st.integers(0, 4)) == 0 and isinstance(layer, dict):
            layer = {**layer, "repeat": 2} if kind in ("block", "simple") else layer
        spec["layers"].append(layer)
    head = draw(st.sampled_from(["flatten", "global_avg_pool", "global_max_pool"]))
    spec["layers"].append(head)
    units = draw(st.integers(1, 10))
    spec["layers"].append({"dense": {"units": units, "activation": draw(st.sampled_from(ACTS))}})
    return spec


@st.composite
def mlp_specs(draw):
    width = draw(st.integers(1, 12))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["dense", "residual", "norm", "parallel"]))
        if kind == "dense":
            width = draw(st.integers(1, 12))
            layers.append({"dense": {"units": width, "bias": draw(st.booleans()),
                                     "activation": draw(st.sampled_from(ACTS))}})
        elif kind == "residual":
            new = draw(st.integers(1, 12))
            layers.append({"residual": {"layers": [{"dense": new}, "relu", {"dense": new}]}})
            width = new
        elif kind == "norm":
            layers.append(draw(st.sampled_from(["batchnorm1d", "layernorm", {"dropout": 0.1}])))
        else:
            a, b = draw(st.integers(1, 5)), draw(st.integers(1, 5))
            layers.append({"parallel": {"branches": [[{"dense": a}], [{"dense": b}]]}})
            width = a + b
    return {"name": "mlp", "input": [draw(st.integers(1, 12))], "layers": layers}


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(specs())
def test_random_convnets_match_torch(spec):
    graph = build_graph(load(spec)).network()
    assert_matches_torch(graph)


@SETTINGS
@given(mlp_specs())
def test_random_mlps_match_torch(spec):
    graph = build_graph(load(spec)).network()
    assert_matches_torch(graph)
