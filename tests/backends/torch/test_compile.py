"""Compiling to torch: modes, initialisation, frozen layers, graphs, several networks, torch.compile, CUDA."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import netspec
from netspec.core.errors import BuildError
from netspec.ir.build import build_graph

NET = """\
name: small
input: [3, 16, 16]
layers:
  - conv2d: {filters: 8, kernel: 3, padding: 1, activation: relu, name: conv}
  - batchnorm2d: {name: bn}
  - max_pool2d: {kernel: 2, name: pool}
  - dropout: {rate: 0.5, name: drop}
  - flatten
  - dense: {units: 5, name: head}
"""


def test_train_and_eval_modes_are_honoured():
    model = netspec.compile(NET)
    x = torch.randn(4, 3, 16, 16)
    model.train()
    torch.manual_seed(0)
    a = model(x)
    b = model(x)
    assert not torch.allclose(a, b), "dropout must be active in training"
    model.eval()
    assert torch.equal(model(x), model(x))
    assert model.bn.running_mean.abs().sum() > 0, "batch norm updated its running statistics in training"


def test_module_names_match_check_table():
    report = netspec.check(NET)
    model = netspec.compile(NET)
    names = dict(model.named_modules())
    for layer in report.to_dict()["layers"]:
        assert layer["name"] in names
        assert sum(p.numel() for p in names[layer["name"]].parameters()) == layer["params"]


def test_literal_init_and_frozen_layers():
    text = """\
input: [3]
layers:
  - dense: {units: 2, bias: false, trainable: false, name: fixed,
            init: {weight: [[1, -2, 2], [2, 1, -4]]}}
  - dense: {units: 1, name: learned, init: {weight: zeros, bias: 0.5}}
"""
    model = netspec.compile(text)
    assert torch.equal(model.fixed.weight, torch.tensor([[1.0, -2.0, 2.0], [2.0, 1.0, -4.0]]))
    assert not model.fixed.weight.requires_grad
    assert torch.equal(model.learned.weight, torch.zeros(1, 2))
    assert model.learned.bias.item() == 0.5
    report = netspec.check(text)
    assert report.to_dict()["params"] == {"total": 9, "trainable": 3, "non_trainable": 6}


def test_named_scheme_init():
    text = "input: [64]\nlayers:\n  - dense: {units: 64, init: orthogonal, name: d}\n"
    w = netspec.compile(text).d.weight.detach()
    assert torch.allclose(w @ w.T, torch.eye(64), atol=1e-4)
    assert torch.count_nonzero(netspec.compile(text).d.bias) == 0


def test_graph_with_skip_and_several_outputs():
    text = """\
inputs: {image: [3, 8, 8], extra: [4]}
outputs: [logits, features]
layers:
  - conv2d: {filters: 4, kernel: 3, padding: 1, name: a}
  - conv2d: {filters: 4, kernel: 3, padding: 1, name: b}
  - add: {from: [a, b], activation: relu, name: merged}
  - global_avg_pool: {name: features}
  - concat: {from: [features, extra], name: joined}
  - dense: {units: 2, name: logits}
"""
    model = netspec.compile(text)
    logits, features = model(torch.randn(2, 3, 8, 8), torch.randn(2, 4))
    assert logits.shape == (2, 2) and features.shape == (2, 4)
    with torch.no_grad():
        x = torch.randn(1, 3, 8, 8)
        a = model.a(x)
        expected = torch.relu(a + model.b(a)).mean(dim=(2, 3))
        assert torch.allclose(model(x, torch.zeros(1, 4))[1], expected, atol=1e-6)


def test_several_networks_compile_together_and_alone():
    text = """\
name: ae
networks:
  encoder:
    input: [12]
    layers: [{dense: {units: 3, activation: relu}}]
  decoder:
    inputs: {z: encoder}
    layers: [{dense: {units: 12, activation: sigmoid}}]
"""
    both = netspec.compile(text)
    assert isinstance(both, torch.nn.ModuleDict) and set(both) == {"encoder", "decoder"}
    out = both["decoder"](both["encoder"](torch.randn(5, 12)))
    assert out.shape == (5, 12)
    decoder = netspec.compile(text, network="decoder")
    assert sum(p.numel() for p in decoder.parameters()) == 3 * 12 + 12
    assert netspec.check(text, network="decoder").to_dict()["inputs"] == {"z": [3]}
    with pytest.raises(netspec.NetspecError, match="no network 'decodr'.*did you mean 'decoder'"):
        netspec.check(text, network="decodr")


def test_residual_projection_matches_hand_written_block():
    text = """\
input: [4, 8, 8]
layers:
  - residual:
      name: block
      activation: relu
      layers:
        - conv2d: {filters: 8, kernel: 3, stride: 2, padding: 1, bias: false, name: conv1}
        - batchnorm2d: {name: bn1}
"""
    model = netspec.compile(text).eval()
    names = dict(model.named_modules())
    assert {"block.conv1", "block.bn1", "block.shortcut.conv", "block.shortcut.bn", "block.add"} <= set(names)
    assert names["block.shortcut.conv"].stride == (2, 2) and names["block.shortcut.conv"].kernel_size == (1, 1)
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        want = torch.relu(model.block.bn1(model.block.conv1(x)) + model.block.shortcut.bn(model.block.shortcut.conv(x)))
        assert torch.allclose(model(x), want)


@pytest.mark.skipif(shutil.which("gcc") is None and shutil.which("cc") is None,
                    reason="torch.compile needs a C compiler")
def test_torch_compile():
    model = netspec.compile(NET).eval()
    compiled = torch.compile(model)
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(compiled(x), model(x), atol=1e-5)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (run on the GPU machine)")
def test_runs_on_cuda():
    model = netspec.compile(NET).cuda().eval()
    x = torch.randn(2, 3, 16, 16, device="cuda")
    assert model(x).device.type == "cuda"
    graph = build_graph(netspec.load(NET)).network()
    assert tuple(model(x).shape[1:]) == tuple(graph.output_types()[next(iter(graph.outputs))].shape)


# --- in-place activations and residual adds: the same numbers, gradients included -------------------

def _outputs_and_grads(model: torch.nn.Module, xs: tuple[torch.Tensor, ...], train: bool):
    model.train(train)
    xs = tuple(x.clone().requires_grad_() for x in xs)
    before = tuple(x.detach().clone() for x in xs)
    out = model(*xs)
    outs = out if isinstance(out, tuple) else (out,)
    sum((o * torch.linspace(-1, 1, o.numel()).reshape(o.shape)).sum() for o in outs).backward()
    for x, b in zip(xs, before):
        assert torch.equal(x.detach(), b), "the network modified its input"
    grads = {n: p.grad for n, p in model.named_parameters()}
    return [o.detach() for o in outs], [x.grad for x in xs], grads


def _assert_in_place_changes_nothing(text: str, shape: dict[str, int] | None = None) -> torch.nn.Module:
    """The compiled module (in place) and the same weights compiled out of place give equal outputs,
    input gradients and parameter gradients, bit for bit, in train and eval mode."""
    from netspec.backends.torch.compile import compile_graph, example_inputs

    graph = netspec.analyze(text)
    fast, plain = compile_graph(graph), compile_graph(graph, in_place=False)
    plain.load_state_dict(fast.state_dict())
    xs = example_inputs(graph.network(), batch=3)
    for train in (True, False):
        got, want = _outputs_and_grads(fast, xs, train), _outputs_and_grads(plain, xs, train)
        for a, b in zip(got[0] + got[1], want[0] + want[1]):
            assert torch.equal(a, b)
        assert got[2].keys() == want[2].keys()
        for name in got[2]:
            assert torch.equal(got[2][name], want[2][name]), name
    return fast


def _in_place_calls(model: torch.nn.Module) -> int:
    from netspec.backends.torch.compile import InPlaceAdd

    modules = dict(model.named_modules())
    count = 0
    for n in model.graph.nodes:
        module = modules[n.target] if n.op == "call_module" else None
        count += bool(n.kwargs.get("inplace") or isinstance(module, InPlaceAdd) or getattr(module, "inplace", False))
    return count


def test_in_place_resnet18_same_outputs_and_gradients():
    with open("specs/resnet18.yaml") as f:
        text = f.read().replace("input: [3, 224, 224]", "input: [3, 64, 64]")
    model = _assert_in_place_changes_nothing(text)
    # every ReLU (stem, one inside each of 8 blocks, one after each add) and every add runs in place
    assert _in_place_calls(model) == 1 + 8 + 8 + 8


def test_in_place_never_touches_a_value_something_else_reads():
    text = """\
inputs: {x: [6]}
outputs: [pre, act, both, twice, squashed]
layers:
  - relu: {name: on_input}                               # the caller's tensor: not in place
  - dense: {units: 4, name: pre}                         # a network output: its relu is not in place
  - relu: {name: act}
  - dense: {units: 4, from: on_input, name: shared}      # read by two activations and an add
  - relu: {from: shared, name: r1}
  - leaky_relu: {from: shared, name: r2}
  - add: {from: [shared, r1], name: both}                # first operand read elsewhere: out of place
  - add: {from: [r2, r2], activation: relu, name: twice} # the same value twice: out of place
  - dense: {units: 4, from: on_input, activation: sigmoid, name: sig}
  - relu: {from: sig, name: squashed}                    # sigmoid's backward reads its output
"""
    model = _assert_in_place_changes_nothing(text)
    assert _in_place_calls(model) == 1  # only the relu after the add 'twice'
    x = torch.randn(3, 6)
    with torch.no_grad():
        pre = model.pre(torch.relu(x))
        shared = model.shared(torch.relu(x))
        r2 = torch.nn.functional.leaky_relu(shared)
        want = (pre, torch.relu(pre), shared + torch.relu(shared), torch.relu(r2 + r2),
                torch.relu(torch.sigmoid(model.sig(torch.relu(x)))))
        for got, expected in zip(model(x), want):
            assert torch.equal(got, expected)


def test_in_place_activation_after_sigmoid_and_after_batch_norm():
    text = """\
input: [3, 8, 8]
layers:
  - conv2d: {filters: 4, kernel: 3, padding: 1, activation: sigmoid, name: c}
  - relu: {name: after_sigmoid}                          # not in place
  - conv2d: {filters: 4, kernel: 3, padding: 1, bias: false, name: c2}
  - batchnorm2d: {name: bn}
  - relu6: {name: after_bn}                              # in place
  - flatten
  - dense: {units: 3, activation: leaky_relu, name: head}  # in place
"""
    model = _assert_in_place_changes_nothing(text)
    assert not model.after_sigmoid.inplace and model.after_bn.inplace
    assert _in_place_calls(model) == 2


def test_in_place_transformer_residuals():
    text = """\
input: [5, 16]
layers:
  - residual:
      name: attn
      layers:
        - layernorm: {}
        - attention: {heads: 2}
  - residual:
      name: mlp
      layers:
        - layernorm: {}
        - dense: {units: 32, activation: relu}
        - dense: 16
"""
    model = _assert_in_place_changes_nothing(text)
    assert _in_place_calls(model) == 3  # both adds and the relu after the dense


def test_residual_on_a_sequence_projects_its_width_with_a_linear():
    # (T, F) = (10, 64) → dense 32 → (10, 32): the shortcut maps the features of each step, as
    # nn.Linear(64, 32) does (64·32 + 32 = 2,080 parameters), not a convolution over T.
    text = """\
input: [10, 64]
layers:
  - residual:
      name: block
      layers:
        - dense: {units: 32, name: fc}
"""
    model = netspec.compile(text).eval()
    short = model.get_submodule("block.shortcut.dense")
    assert isinstance(short, torch.nn.Linear) and (short.in_features, short.out_features) == (64, 32)
    report = netspec.check(text)
    assert report.to_dict()["params"]["total"] == 2 * (64 * 32 + 32) == sum(p.numel() for p in model.parameters())
    x = torch.randn(3, 10, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), model.block.fc(x) + short(x))


def test_an_init_torch_refuses_is_a_netspec_error_at_the_layer(monkeypatch):
    """Whatever slips past `check` (here torch's normal_ made to refuse every value) is a located
    BuildError from netspec.compile, never a raw RuntimeError."""
    def refuse(*args, **kwargs):
        raise RuntimeError("normal expects std >= 0.0")

    monkeypatch.setattr(torch.nn.init, "normal_", refuse)
    text = "input: [4]\nlayers:\n  - dense: {units: 2, name: d, init: {weight: {scheme: normal, std: 0.1}}}\n"
    with pytest.raises(netspec.NetspecError) as info:
        netspec.compile(text)
    assert "d: initialising dense failed" in str(info.value) and "normal expects" in str(info.value)
    assert "3:5" in str(info.value)  # the layer's place: line 3, column 5


# --- weights that cannot fit: refused before anything is allocated -------------------------------------
def test_a_network_larger_than_the_available_memory_is_refused_before_it_is_built(monkeypatch):
    from netspec.backends.torch import compile as compiling

    # LeNet-5: 61,706 parameters (notes 000), no buffers: 61,706 · 4 B = 246,824 B = 241.04 KiB of float32
    net = netspec.analyze(Path(__file__).resolve().parents[3] / "specs" / "lenet5.yaml").network()
    built = []
    monkeypatch.setattr(compiling, "available_memory", lambda: 246_823)
    monkeypatch.setattr(compiling, "initialise", lambda *a: built.append(a))
    with pytest.raises(BuildError, match=r"lenet5: its parameters and buffers need 241.04 KiB, more than the "
                                         r"241.04 KiB of memory available\n    hint: 'netspec check'"):
        compiling.compile_network(net)
    assert not built
    monkeypatch.undo()  # exactly enough memory: built
    monkeypatch.setattr(compiling, "available_memory", lambda: 246_824)
    assert sum(p.numel() for p in compiling.compile_network(net).parameters()) * 4 == 246_824


def test_the_memory_check_counts_buffers_and_skips_the_meta_device(monkeypatch):
    from netspec.backends.torch import compile as compiling

    # one batchnorm2d of 8 channels: weight and bias 2·8 float32 parameters, running mean and variance 2·8
    # float32 buffer values and num_batches_tracked, one int64: 32 · 4 B + 8 B = 136 B
    net = netspec.analyze("input: [8, 4, 4]\nlayers:\n  - batchnorm2d\n").network()
    model = compiling.compile_network(net)
    assert sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()]) == 136
    monkeypatch.setattr(compiling, "available_memory", lambda: 135)
    with pytest.raises(BuildError, match="need 136 B"):
        compiling.compile_network(net)
    with torch.device("meta"):  # nothing is allocated there: no check
        assert next(compiling.compile_network(net).parameters()).is_meta
