"""Mobile and efficient convnets: the kinds they need, what each computes, and the reference specs
against torchvision's own models.

The registry test (tests/test_layers.py) already builds every kind's EXAMPLES in torch and compares
shapes, parameters, buffers and MACs; here each new kind's *function* is compared with a torch
expression written independently, and its shape errors are checked. The last section compares
specs/mobilenet_v2.yaml, mobilenet_v3_small.yaml, efficientnet_b0.yaml (and convnext_tiny.yaml where it
exists) with torchvision's models when torchvision is importable: parameter and buffer shapes in order,
MACs, output shape, and the function with torchvision's weights copied in by position.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec import ShapeError, load
from netspec.core.errors import SpecValidationError
from netspec.core.sizes import divide
from netspec.layers.activations import ACTIVATIONS

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"


def net(layers: list, inputs: dict | list) -> torch.nn.Module:
    """A compiled module of ``layers`` on ``inputs`` (a shape, or {name: shape})."""
    spec = {"name": "probe", "layers": layers}
    spec.update({"input": inputs} if isinstance(inputs, list) else {"inputs": inputs})
    return netspec.compile(spec).eval()


def shape_error(layers: list, inputs: list) -> str:
    with pytest.raises(ShapeError) as exc:
        netspec.analyze({"name": "probe", "input": inputs, "layers": layers})
    return str(exc.value)


# --- sizes ------------------------------------------------------------------------------------------
def test_divide():
    assert divide(12, 4).value == 3 and divide(12, 4).exact
    assert not divide(9, 2).exact and "9/2" in divide(9, 2).arithmetic
    assert divide("T", 3).value == "T/3" and divide("T", 1).value == "T"
    assert divide("T + 1", 2).value == "(T + 1)/2"


# --- activations ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fn", [("relu6", lambda x: x.clamp(0, 6)),
                                     ("hardswish", lambda x: x * (x + 3).clamp(0, 6) / 6),
                                     ("hardsigmoid", lambda x: (x + 3).clamp(0, 6) / 6),
                                     ("mish", lambda x: x * torch.tanh(F.softplus(x)))])
def test_new_activations_compute_their_formula(name, fn):
    x = torch.linspace(-8, 8, 97).reshape(1, 97)
    for model in (net([name], [97]), net([{"dense": {"units": 97, "activation": name}}], [97])):
        with torch.no_grad():
            y = model(x)
            ref = fn(model.dense_1(x)) if hasattr(model, "dense_1") else fn(x)
        assert torch.allclose(y, ref, atol=1e-6)
    assert ACTIVATIONS["hardsigmoid"].output == "probability"


def test_glu_is_torchs_and_swiglu_gates_the_first_half():
    x = torch.randn(3, 4, 10)
    with torch.no_grad():
        assert torch.allclose(net(["glu"], [4, 10])(x), F.glu(x, -1))
        assert torch.allclose(net([{"glu": {"axis": 0}}], [4, 10])(x), F.glu(x, 1))
        a, b = x.chunk(2, -1)
        assert torch.allclose(net(["swiglu"], [4, 10])(x), F.silu(a) * b)
        assert torch.allclose(net([{"glu": {"gate": "gelu"}}], [4, 10])(x), a * F.gelu(b))
        assert torch.allclose(net([{"glu": {"gate": "silu", "gate_half": "first"}}], [4, 10])(x), F.silu(a) * b)
    graph = netspec.analyze({"input": [4, 10], "layers": ["swiglu", {"glu": {"axis": 0}}]}).network()
    assert [n.outputs["out"].shape for n in graph.nodes] == [(4, 5), (2, 5)]
    assert "odd size" in shape_error(["glu"], [4, 7])


# --- norms ------------------------------------------------------------------------------------------
def test_channels_first_layernorm_is_convnexts_layernorm2d():
    model = net([{"layernorm": {"channels_first": True, "eps": 1e-6}}], [6, 5, 4])
    ln = model.layernorm_1
    with torch.no_grad():
        ln.weight.normal_()
        ln.bias.normal_()
        x = torch.randn(2, 6, 5, 4)
        ref = F.layer_norm(x.permute(0, 2, 3, 1), (6,), ln.weight, ln.bias, 1e-6).permute(0, 3, 1, 2)
        assert torch.allclose(model(x), ref, atol=1e-5)
    assert {n: tuple(p.shape) for n, p in ln.named_parameters()} == {"weight": (6,), "bias": (6,)}
    with pytest.raises(SpecValidationError):
        load({"input": [6, 5, 4], "layers": [{"layernorm": {"channels_first": True, "axes": 2}}]})


def test_group_instance_and_rms_norm_compute_torchs_functions():
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        assert torch.allclose(net([{"group_norm": 3}], [6, 5, 5])(x), F.group_norm(x, 3), atol=1e-5)
        assert torch.allclose(net(["instance_norm2d"], [6, 5, 5])(x), F.instance_norm(x), atol=1e-5)
        rms = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
        assert torch.allclose(net([{"rms_norm": {"eps": 1e-6}}], [6, 5, 5])(x), rms, atol=1e-5)
    assert "divisible by groups" in shape_error([{"group_norm": 4}], [6, 5, 5])
    tracked = netspec.analyze({"input": [3, 4, 4], "layers": [{"instance_norm2d": {"track_running_stats": True}}]})
    assert set(tracked.network().nodes[0].buffers) == {"running_mean", "running_var", "num_batches_tracked"}


# --- merges that broadcast, subtract, split, chunk --------------------------------------------------
def test_multiply_broadcasts_a_channel_gate():
    graph = netspec.analyze({"inputs": {"x": [4, 5, 6], "g": [4, 1, 1]},
                             "layers": [{"multiply": {}, "from": ["x", "g"]}]}).network()
    assert graph.nodes[0].outputs["out"].shape == (4, 5, 6)
    model = netspec.compile({"inputs": {"x": [4, 5, 6], "g": [4, 1, 1], "r": [6]},
                             "layers": [{"multiply": {}, "from": ["x", "g"], "name": "m"},
                                        {"add": {}, "from": ["m", "r"]}]}).eval()
    x, g, r = torch.randn(2, 4, 5, 6), torch.randn(2, 4, 1, 1), torch.randn(2, 6)
    with torch.no_grad():
        assert torch.allclose(model(x, g, r), x * g + r[:, None, None, :])


def test_unbroadcastable_shapes_keep_the_residual_hint():
    with pytest.raises(ShapeError) as exc:
        netspec.analyze({"inputs": {"a": [4, 6, 6], "b": [5, 6, 6]}, "layers": [{"add": {}, "from": ["a", "b"]}]})
    message = str(exc.value)
    assert "add needs equal shapes" in message and "(4, 6, 6)" in message and "(5, 6, 6)" in message
    assert "projection shortcut" in message


def test_subtract_is_first_minus_second():
    model = netspec.compile({"inputs": {"a": [3, 4], "b": [3, 1]}, "layers": [{"subtract": {}, "from": ["a", "b"]}]})
    a, b = torch.randn(2, 3, 4), torch.randn(2, 3, 1)
    with torch.no_grad():
        assert torch.allclose(model(a, b), a - b)
    with pytest.raises(ShapeError, match="exactly two"):
        netspec.analyze({"inputs": {"a": [3], "b": [3], "c": [3]},
                         "layers": [{"subtract": {}, "from": ["a", "b", "c"]}]})


def test_split_and_chunk_outputs_are_addressable():
    spec = {"input": [6, 4, 4], "layers": [
        {"split": {"sizes": [2, 4]}, "name": "s"},
        {"conv2d": {"filters": 3, "kernel": 1}, "from": "s:out1", "name": "c"},
        {"chunk": {"chunks": 2, "axis": -1}, "from": "s", "name": "h"},
        {"concat": {"axis": -1}, "from": ["h:out1", "h:out0"], "name": "swapped"}],
        "outputs": ["c", "swapped"]}
    graph = netspec.analyze(spec).network()
    s = graph.node("s")
    assert {k: t.shape for k, t in s.outputs.items()} == {"out0": (2, 4, 4), "out1": (4, 4, 4)}
    assert graph.node("c").in_types[0].shape == (4, 4, 4)
    model = netspec.compile(spec).eval()
    x = torch.randn(2, 6, 4, 4)
    with torch.no_grad():
        c, swapped = model(x)
    assert torch.allclose(c, model.c(x[:, 2:]))
    assert torch.equal(swapped, torch.cat([x[:, :2, :, 2:], x[:, :2, :, :2]], dim=-1))
    assert "add up to 5" in shape_error([{"split": [2, 3]}], [6, 4])
    assert "equal pieces" in shape_error([{"chunk": 4}], [6, 4])


# --- conv family: causal padding, conv3d, crop, pixel and channel shuffles --------------------------
def test_causal_conv1d_sees_only_the_past():
    model = net([{"conv1d": {"filters": 3, "kernel": 3, "dilation": 2, "padding": "causal"}}], [2, 10])
    conv = model.conv1d_1
    x = torch.randn(1, 2, 10)
    with torch.no_grad():
        y = model(x)
        assert y.shape == (1, 3, 10)
        assert torch.allclose(y, F.conv1d(F.pad(x, (4, 0)), conv.weight, conv.bias, dilation=2), atol=1e-6)
        x2 = x.clone()
        x2[..., 6:] += 1.0  # change the future from step 6 on
        assert torch.equal(model(x2)[..., :6], y[..., :6])
    strided = netspec.analyze({"input": [2, "T"], "layers": [
        {"conv1d": {"filters": 2, "kernel": 4, "stride": 2, "padding": "causal"}}]}, bind={"T": 11})
    assert strided.network().nodes[0].outputs["out"].shape == (2, 6)  # floor((11 − 1)/2) + 1
    with pytest.raises(SpecValidationError):
        load({"input": [1, 8, 8], "layers": [{"conv2d": {"filters": 2, "padding": "causal"}}]})


def test_crop_pixel_shuffle_and_channel_shuffle_move_values_as_torch():
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        assert torch.equal(net([{"crop2d": [1, 2, 0, 3]}], [8, 6, 6])(x), x[..., 0:3, 1:4])
        assert torch.equal(net([{"pixel_shuffle": 2}], [8, 6, 6])(x), F.pixel_shuffle(x, 2))
        assert torch.equal(net([{"pixel_unshuffle": 2}, {"pixel_shuffle": 2}], [8, 6, 6])(x), x)
        shuffled = x.reshape(2, 4, 2, 6, 6).transpose(1, 2).reshape(2, 8, 6, 6)  # ShuffleNet's reshape–transpose
        assert torch.equal(net([{"channel_shuffle": 4}], [8, 6, 6])(x), shuffled)
    graph = netspec.analyze({"input": [8, 6, 6], "layers": [{"pixel_unshuffle": 3}, {"pixel_shuffle": 2}]})
    assert [n.outputs["out"].shape for n in graph.network().nodes] == [(72, 2, 2), (18, 4, 4)]
    assert "divisible by 4" in shape_error([{"pixel_unshuffle": 4}], [8, 6, 6])
    assert "cropping" in shape_error([{"crop2d": [3, 3]}], [8, 6, 6])


def test_conv3d_pool3d_and_batchnorm3d_chain():
    graph = netspec.analyze({"input": [3, 8, 32, 32], "layers": [
        {"conv3d": {"filters": 8, "kernel": [3, 7, 7], "stride": [1, 2, 2], "padding": [1, 3, 3], "bias": False}},
        "batchnorm3d", "relu", {"max_pool3d": {"kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}},
        {"avg_pool3d": 2}, "global_avg_pool"]}).network()
    assert [n.outputs["out"].shape for n in graph.nodes] == [
        (8, 8, 16, 16), (8, 8, 16, 16), (8, 8, 16, 16), (8, 8, 8, 8), (8, 4, 4, 4), (8,)]
    assert graph.nodes[0].macs == 8 * 8 * 16 * 16 * 3 * 3 * 7 * 7


# --- stochastic depth -------------------------------------------------------------------------------
def test_drop_path_drops_whole_samples_in_training_only():
    model = net([{"residual": {"layers": [{"dense": 8}, {"drop_path": 0.5}]}}], [8])
    x = torch.randn(64, 8)
    with torch.no_grad():
        body = model.residual_1.dense_1(x)
        assert torch.allclose(model(x), body + x)  # eval: identity
        model.train()
        torch.manual_seed(0)
        branch = model(x) - x
    kept = [bool((branch[i] != 0).any()) for i in range(64)]
    assert 10 < sum(kept) < 54  # about half the samples keep their branch
    for i in range(64):  # a kept branch is scaled by 1/(1 − p); a dropped one is exactly zero
        assert torch.allclose(branch[i], 2 * body[i], atol=1e-5) if kept[i] else torch.equal(branch[i], torch.zeros(8))
    assert netspec.analyze({"input": [8], "layers": [{"drop_path": 0.1}]}).network().params == 0


# --- torchvision's models ---------------------------------------------------------------------------
def _torchvision_models():
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch
        return None
    return models


def _convnext_order(params: list, names: list[str]) -> list:
    """torchvision's CNBlock registers ``layer_scale`` before its ``block``; netspec's layer_scale node
    comes after the block's layers. Move each one after its block's last parameter (block.5.bias)."""
    scales = {n[: -len("layer_scale")]: p for n, p in zip(names, params) if n.endswith(".layer_scale")}
    out = []
    for n, p in zip(names, params):
        if n.endswith(".layer_scale"):
            continue
        out.append(p)
        if n.endswith(".block.5.bias"):
            out.append(scales.pop(n[: -len("block.5.bias")]))
    assert not scales
    return out


MODELS = {
    "mobilenet_v2": (lambda m: m.mobilenet_v2(), None),
    "mobilenet_v3_small": (lambda m: m.mobilenet_v3_small(), None),
    "efficientnet_b0": (lambda m: m.efficientnet_b0(), None),
    "convnext_tiny": (lambda m: m.convnext_tiny(), _convnext_order),
}


def _spec_or_skip(name: str) -> Path:
    path = SPECS / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"{path.name} is not written yet")
    return path


@pytest.mark.parametrize("name", sorted(MODELS))
def test_spec_matches_torchvision(name: str):
    """Parameter and buffer shapes in order, MACs (torch's flop counter on torchvision's model),
    output shape, and the function: torchvision's weights (with random batch-norm statistics and
    layer scales) copied into the compiled spec by position, in node order, give the same logits."""
    from torch.utils.flop_counter import FlopCounterMode

    path = _spec_or_skip(name)
    models = _torchvision_models()
    if models is None:
        pytest.skip("torchvision is not importable here; the specs pin its documented numbers instead")
    make, reorder = MODELS[name]
    torch.manual_seed(0)
    theirs = make(models).eval()
    named = list(theirs.named_parameters())
    their_params = [p for _, p in named]
    if reorder is not None:
        their_params = reorder(their_params, [n for n, _ in named])
    net = netspec.analyze(path).network()
    assert [s for node in net.nodes for s in node.params.values()] == [tuple(p.shape) for p in their_params]
    assert [s for node in net.nodes for s in node.buffers.values()] == [tuple(b.shape) for b in theirs.buffers()]
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        theirs(x[:1])
    assert net.macs == counter.get_total_flops() // 2

    ours = netspec.compile(path).eval()
    with torch.no_grad():
        for m in theirs.modules():  # non-trivial statistics and affine terms, so batch norm is tested too
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        for pname, p in theirs.named_parameters():  # ConvNeXt's γ starts at 1e-6, which would hide its branch
            if pname.endswith("layer_scale"):
                p.uniform_(0.5, 1.5)
        # the compiled module's own order is fx's (shallow submodules first): walk the nodes instead
        modules = dict(ours.named_modules())
        my_params = [modules[n.name].get_parameter(k) for n in net.nodes for k in n.params]
        my_buffers = [modules[n.name].get_buffer(k) for n in net.nodes for k in n.buffers]
        for mine, theirs_p in zip(my_params, their_params, strict=True):
            mine.copy_(theirs_p)
        for mine, theirs_b in zip(my_buffers, theirs.buffers(), strict=True):
            mine.copy_(theirs_b)
        want, got = theirs(x), ours(x)
    assert got.shape == want.shape == (2, 1000)
    assert torch.allclose(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())
