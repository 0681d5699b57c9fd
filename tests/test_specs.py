"""Every reference spec in specs/: it checks with its own expectations, compiles, and runs.

For each ``specs/*.yaml`` / ``specs/*.ns``: ``netspec.check`` passes (every ``expect:`` number holds);
each network compiles and a forward pass on CPU (eval mode, no grad; batch 2, or batch 1 at the real
input size for the large image networks; on torch's meta device, shapes without data, for a network
too large for memory) has the checked output shapes, and every node's submodule
exists with the checked output shape, parameter and buffer shapes and MACs (torch's flop counter),
via ``torch_truth.assert_matches_torch``.

Then the worked examples of the notes, with the expected numbers worked by hand here, not taken from
netspec: the 3-3-2 sigmoid network of notes 002, the edge kernels of notes 004 and the perceptron; an
optional cross-check against torchvision's own models; and the specs/README.md drift check.
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_truth import assert_matches_torch

import netspec

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SPEC_FILES = sorted([*SPECS.glob("*.yaml"), *SPECS.glob("*.ns")])
BIG_MACS = 10**8  # above this, one sample at the real input size is enough
BIG_PARAMS = 2**28  # 1 GiB of float32 weights: above this, on torch's meta device (shapes, no data)
SYMBOLIC_SIZE = 12  # a symbolic sequence length T is bound to this for the forward pass
# Specs whose symbolic sizes are tied to each other: the bindings for the forward pass.
BIND = {
    "recursive_nn.yaml": {"L": 7, "M": 6},  # a binary tree over L leaves has M = L − 1 internal nodes
}


def _symbols(spec: netspec.spec.model.Spec) -> set[str]:
    return {d for net in spec.networks.values() for inp in net.inputs.values()
            for d in (inp.shape or []) if isinstance(d, str)}


def test_there_are_specs():
    names = {p.name for p in SPEC_FILES}
    mine = {"perceptron.yaml", "mlp_worked_example.yaml", "mnist_demo_cnn.yaml", "keras_mnist_convnet.yaml",
            "pytorch_cifar_cnn.yaml", "lenet5.yaml", "alexnet.yaml", "zfnet.yaml", "vgg16.yaml", "vgg19.yaml",
            "googlenet.yaml", "resnet18.yaml", "resnet34.yaml", "resnet50.yaml", "resnet101.yaml",
            "resnet152.yaml", "sobel_edges.yaml", "autoencoder_3_2_3.yaml", "stacked_autoencoder.yaml",
            "conv_autoencoder.yaml"}
    assert mine <= names, f"missing: {sorted(mine - names)}"


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_spec_checks_compiles_and_runs(path: Path):
    spec = netspec.load(path)
    report = netspec.check(spec)
    assert report.ok, "\n".join(str(p) for p in report.failures)
    bind = BIND.get(path.name) or {name: SYMBOLIC_SIZE for name in _symbols(spec)}
    graph = netspec.analyze(spec, bind=bind) if bind else report.graph
    for name, net in graph.networks.items():
        checked = report.networks[name].to_dict()
        batch = 1 if net.macs >= BIG_MACS else 2
        torch.manual_seed(0)
        model = assert_matches_torch(net, batch=batch, device="meta" if net.params > BIG_PARAMS else None)
        assert not model.training, "assert_matches_torch runs the module in eval mode"
        assert sum(p.numel() for p in model.parameters()) == checked["params"]["total"]
        assert sum(p.numel() for p in model.parameters() if not p.requires_grad) == checked["params"]["non_trainable"]
        modules = dict(model.named_modules())
        for layer in checked["layers"]:
            assert layer["name"] in modules, f"{path.name}: no submodule '{layer['name']}'"


# --- the notes' worked examples ----------------------------------------------------------------------
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_mlp_worked_example_gives_the_notes_outputs():
    # Notes 002, worked by hand for the input (0.5, 0.9, -0.3):
    #   H1 = S(1·0.5 − 2·0.9 + 2·(−0.3)) = S(−1.9) ≈ 0.130
    #   H2 = S(2·0.5 + 1·0.9 − 4·(−0.3)) = S(3.1)  ≈ 0.957
    #   H3 = S(1·0.5 − 1·0.9 + 0)        = S(−0.4) ≈ 0.401
    #   O1 = S(−3·H1 + 1·H2 − 3·H3) = S(−0.637) ≈ 0.346   (notes: S(−.63) = .35)
    #   O2 = S( 0·H1 + 1·H2 + 2·H3) = S(1.759)  ≈ 0.853   (notes: S(1.76) = .85)
    # The notes round the hidden values to two places first (.13, .96, .40), which gives their −.63 and
    # 1.76; their outputs .35 and .85 agree with the unrounded ones to two places.
    h1, h2, h3 = _sigmoid(-1.9), _sigmoid(3.1), _sigmoid(-0.4)
    o1, o2 = _sigmoid(-3 * h1 + h2 - 3 * h3), _sigmoid(h2 + 2 * h3)
    assert (round(h1, 2), round(h2, 2), round(h3, 2)) == (0.13, 0.96, 0.40)
    assert (round(o1, 2), round(o2, 2)) == (0.35, 0.85)

    model = netspec.compile(SPECS / "mlp_worked_example.yaml").eval()
    with torch.no_grad():
        out = model(torch.tensor([[0.5, 0.9, -0.3]]))
        hidden = torch.sigmoid(model.hidden(torch.tensor([[0.5, 0.9, -0.3]])))
    assert torch.allclose(hidden, torch.tensor([[h1, h2, h3]]), atol=1e-6)
    assert torch.allclose(out, torch.tensor([[o1, o2]]), atol=1e-6)
    assert out[0, 0].item() == pytest.approx(0.35, abs=0.005)
    assert out[0, 1].item() == pytest.approx(0.85, abs=0.005)
    assert sum(p.numel() for p in model.parameters()) == 15
    assert all(m.bias is None for m in (model.hidden, model.output))


def test_sobel_edges_respond_to_a_step_as_worked_by_hand():
    # Notes 004's example: a 6×6 image, 10 in the left three columns, 0 in the right three.
    # A 3×3 window at output column j covers input columns j..j+2 (cross-correlation, no flip):
    #   j = 0: columns 0-2, all 10: every kernel here sums to 0 across its columns → 0
    #   j = 1: columns 1-3 = (10, 10, 0): left kernel column · 10 + middle column · 10 (weights 0)
    #   j = 2: columns 2-4 = (10, 0, 0): left kernel column · 10
    #   j = 3: columns 3-5, all 0 → 0
    # so the response at j = 1, 2 is 10 × (sum of the kernel's left column):
    #   vertical (1, 1, 1) → 30 (the notes' "30 in the 2nd & 3rd column"), Sobel (1, 2, 1) → 40,
    #   Scharr (3, 10, 3) → 160; the horizontal kernel's rows each sum to 0 across the columns → 0.
    model = netspec.compile(SPECS / "sobel_edges.yaml").eval()
    assert not any(p.requires_grad for p in model.parameters()), "the kernels are not trainable"
    image = torch.zeros(1, 1, 6, 6)
    image[..., :3] = 10.0
    with torch.no_grad():
        out = model(image)[0]
    assert out.shape == (4, 4, 4)
    row = {"vertical": [0, 30, 30, 0], "horizontal": [0, 0, 0, 0], "sobel": [0, 40, 40, 0],
           "scharr": [0, 160, 160, 0]}
    for channel, name in enumerate(row):
        want = torch.tensor([row[name]] * 4, dtype=torch.float32)
        assert torch.equal(out[channel], want), f"{name}: {out[channel].tolist()}"
    # The same step turned on its side (top rows bright) excites the horizontal kernel alone:
    # rows (1, 1, 1) on top, (−1, −1, −1) below → 10 · 3 = 30 in the output rows 1 and 2.
    with torch.no_grad():
        out = model(image.transpose(-1, -2))[0]
    assert torch.equal(out[1], torch.tensor([[0.0] * 4, [30.0] * 4, [30.0] * 4, [0.0] * 4]))
    assert torch.equal(out[0], torch.zeros(4, 4))


def test_perceptron_computes_and():
    # w = (1, 1), b = −1.5: net = x1 + x2 − 1.5 ≥ 0 only for (1, 1) (0.5); else −1.5 or −0.5.
    model = netspec.compile(SPECS / "perceptron.yaml").eval()
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    with torch.no_grad():
        assert model(x).flatten().tolist() == [0.0, 0.0, 0.0, 1.0]


def test_autoencoder_parts_are_submodules():
    model = netspec.compile(SPECS / "autoencoder_3_2_3.yaml")
    assert sum(p.numel() for p in model.encoder.parameters()) == 3 * 2 + 2
    assert sum(p.numel() for p in model.decoder.parameters()) == 2 * 3 + 3
    x = torch.randn(5, 3)
    with torch.no_grad():
        assert torch.allclose(model(x), model.decoder(model.encoder(x)))


# --- optional: torchvision's own models --------------------------------------------------------------
TORCHVISION = {
    "resnet18": lambda m: m.resnet18(), "resnet34": lambda m: m.resnet34(), "resnet50": lambda m: m.resnet50(),
    "resnet101": lambda m: m.resnet101(), "resnet152": lambda m: m.resnet152(),
    "vgg16": lambda m: m.vgg16(), "vgg19": lambda m: m.vgg19(),
    "googlenet": lambda m: m.googlenet(aux_logits=False, init_weights=False),
}


def _torchvision_models():
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch (e.g. a CUDA wheel)
        return None
    return models


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_same_parameters_and_macs_as_torchvision(name: str):
    """Parameter and buffer shapes, in order, and MACs at 224×224 equal torchvision's own model (when
    torchvision is importable; the specs pin torchvision's documented numbers either way)."""
    from torch.utils.flop_counter import FlopCounterMode

    models = _torchvision_models()
    if models is None:
        pytest.skip("torchvision is not importable here; the specs pin its documented numbers instead")
    with torch.device("meta"):  # shapes only: no memory, no arithmetic
        theirs = TORCHVISION[name](models).eval()
        x = torch.empty(1, 3, 224, 224)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        theirs(x)
    net = netspec.analyze(SPECS / f"{name}.yaml").network()
    assert [s for node in net.nodes for s in node.params.values()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [s for node in net.nodes for s in node.buffers.values()] == [tuple(b.shape) for b in theirs.buffers()]
    assert net.macs == counter.get_total_flops() // 2


# --- specs/README.md ---------------------------------------------------------------------------------
def _make_readme():
    spec = importlib.util.spec_from_file_location("make_readme", SPECS / "make_readme.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["make_readme"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_readme_is_generated_from_the_specs():
    # A fresh interpreter: the generator must not import torch, and specs/README.md must be its output.
    result = subprocess.run([sys.executable, str(SPECS / "make_readme.py"), "--check"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr + result.stdout


def test_readme_lists_every_spec():
    text = (SPECS / "README.md").read_text(encoding="utf-8")
    for path in SPEC_FILES:
        assert f"[{path.name}]({path.name})" in text


def test_readme_generator_fails_loudly_on_a_bad_spec(tmp_path: Path):
    make_readme = _make_readme()
    (tmp_path / "good.yaml").write_text("input: [3]\nlayers:\n  - dense: 2\nexpect:\n  params: 8\n")
    (tmp_path / "wrong_count.yaml").write_text("input: [3]\nlayers:\n  - dense: 2\nexpect:\n  params: 9\n")
    (tmp_path / "broken.yaml").write_text("input: [3]\nlayers:\n  - dense: {unitz: 2}\n")
    with pytest.raises(SystemExit) as exc:
        make_readme.render(tmp_path)
    message = str(exc.value)
    assert "wrong_count.yaml" in message and "broken.yaml" in message and "good.yaml" not in message
