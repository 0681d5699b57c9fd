"""Weights in: a state dict from another code base loads into a compiled spec by name, else by
structure (network order and shapes); leftovers and ambiguities are a table, refused unless partial.

The truth is a hand-written PyTorch module in torchvision's layout (``layer1.0.downsample.0``), never
netspec: loading its state dict must give the same outputs. With torchvision importable, its own
models (randomly initialised, batch-norm statistics randomised) load into the reference specs too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from hf_support import small_decoder
from torchvision_layout import BasicBlock, TinyResNet, randomise  # noqa: F401

import netspec
from netspec.backends.torch.weights import align, load_weights, plan, read_state_dict
from netspec.cli.main import main
from netspec.core.errors import DataError, SpecValidationError, UsageError

ROOT = Path(__file__).resolve().parents[3]

TINY_RESNET = """
netspec: 1
name: tiny_resnet
blocks:
  basic_block:
    params: {width: null, stride: 1}
    residual: true
    activation: relu
    layers:
      - conv2d: {filters: $width, kernel: 3, stride: $stride, padding: 1, bias: false}
        name: conv1
      - batchnorm2d: {}
        name: bn1
      - relu: {}
      - conv2d: {filters: $width, kernel: 3, padding: 1, bias: false}
        name: conv2
      - batchnorm2d: {}
        name: bn2
input: [3, 16, 16]
layers:
  - conv2d: {filters: 8, kernel: 3, padding: 1, bias: false}
    name: conv1
  - batchnorm2d: {}
    name: bn1
  - relu: {}
  - max_pool2d: {kernel: 2, stride: 2}
  - basic_block: {width: 8}
    repeat: 2
    name: layer1
  - basic_block: {width: 16, stride: "${2 if i == 0 else 1}"}
    repeat: 2
    name: layer2
  - global_avg_pool: {}
  - dense: HEAD
    name: HEAD_NAME
"""


def tiny_spec(head: int = 10, head_name: str = "fc") -> str:
    return TINY_RESNET.replace("HEAD_NAME", head_name).replace("HEAD", str(head))


@pytest.fixture(scope="module")
def theirs(tmp_path_factory) -> tuple[nn.Module, Path]:
    model = randomise(TinyResNet())
    path = tmp_path_factory.mktemp("w") / "tiny.pth"
    torch.save(model.state_dict(), path)
    return model, path


def test_torchvision_layout_loads_by_name_with_the_same_outputs(theirs):
    """netspec's ``layer1.basic_block_1.conv1`` is PyTorch's ``layer1.0.conv1`` (a repeat's copies are
    indices) and its automatic projection ``shortcut.conv``/``shortcut.bn`` torchvision's
    ``downsample.0``/``downsample.1``: every module loads by name."""
    model, path = theirs
    mine = netspec.compile(tiny_spec(), weights=path).eval()
    report = mine.netspec_weights
    assert report.complete
    assert report.mapping["layer2.basic_block_1.shortcut.conv.weight"] == "layer2.0.downsample.0.weight"
    assert report.mapping["layer1.basic_block_2.bn2.running_var"] == "layer1.1.bn2.running_var"
    assert report.mapping["fc.weight"] == "fc.weight"
    hows = {m.path: how for m, _, how in report.loaded}
    assert set(hows.values()) == {"name"} and "loaded by name" in report.summary()
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-6)


def test_a_replaced_head_is_refused_with_a_table_then_loads_partially(theirs):
    model, path = theirs
    with pytest.raises(DataError) as err:
        netspec.compile(tiny_spec(head=5, head_name="head"), weights=path)
    text = str(err.value)
    assert "not in the file" in text and "unused" in text and "--partial" in text
    assert "head" in text and "fc" in text and "(5, 16)" in text and "(10, 16)" in text
    torch.manual_seed(3)
    fresh = netspec.compile(tiny_spec(head=5, head_name="head"))
    torch.manual_seed(3)
    mine = netspec.compile(tiny_spec(head=5, head_name="head"), weights=path, partial=True).eval()
    report = mine.netspec_weights
    assert [m.path for m in report.missing] == ["head"] and [f.path for f in report.unused] == ["fc"]
    assert torch.equal(mine.head.weight, fresh.head.weight)  # kept as initialised
    body = dict(model.named_modules())
    assert torch.equal(mine.layer2.basic_block_1.shortcut.bn.running_mean, body["layer2.0.downsample.1"].running_mean)


def test_netspecs_own_checkpoint_loads_by_name(tmp_path):
    torch.manual_seed(1)
    a = randomise(netspec.compile(tiny_spec()))
    ckpt = tmp_path / "last.pt"
    torch.save({"format": "netspec-checkpoint-1", "spec_name": "tiny_resnet", "model": a.state_dict(),
                "epoch": 3}, ckpt)
    for source in (ckpt, tmp_path):  # the file, or its run directory
        torch.manual_seed(2)
        b = netspec.compile(tiny_spec(), weights=source).eval()
        assert all(how == "name" for *_, how in b.netspec_weights.loaded)
        x = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            assert torch.equal(a(x), b(x))


def test_swapped_names_of_same_shaped_tensors_are_refused(theirs):
    """Two same-shaped modules' names swapped in the file (the tensors keep their places): by name they
    would load crossed, silently. The names contradict the file's order, so they are refused."""
    model, _ = theirs
    sd = model.state_dict()
    a, b = "layer1.0.conv1.weight", "layer1.0.conv2.weight"
    assert sd[a].shape == sd[b].shape
    swapped = {(b if k == a else a if k == b else k): v for k, v in sd.items()}
    with pytest.raises(DataError) as err:
        netspec.compile(tiny_spec(), weights=swapped)
    assert "layer1.basic_block_1.conv1" in str(err.value) and "order" in str(err.value)
    report = netspec.compile(tiny_spec(), weights=swapped, partial=True).netspec_weights
    assert sorted(m.path for m, _ in report.disordered) == ["layer1.basic_block_1.conv1",
                                                             "layer1.basic_block_1.conv2"]
    # The same file with the names in place loads completely: the refusal came from the swap.
    assert netspec.compile(tiny_spec(), weights=sd).netspec_weights.complete


def test_spellings_shared_by_two_modules_load_nothing_by_name():
    """A spelling is a name only when one model module has it: ``a_1``/``a_2`` in a group are ``0``/``1``,
    and so is ``b_1``/``b_2`` in another; the file's ``0`` fits neither by name."""
    target = {"g.a_1.weight": torch.zeros(4, 4), "h.a_1.weight": torch.zeros(4, 4)}
    report = plan(target, {"0.weight": torch.ones(4, 4)}, spellings={"g.a_1": {"0": 1}, "h.a_1": {"0": 1}})
    assert not any(how == "name" for *_, how in report.loaded) and report.ambiguous


def test_wrapper_prefixes_and_nested_state_dicts(tmp_path):
    sd = randomise(TinyResNet()).state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "ddp.pth")
    assert read_state_dict(tmp_path / "ddp.pth").keys() == sd.keys()


@pytest.mark.parametrize("content, fragment", [
    ("nothing", None),
    ([1, 2, 3], "not a state dict"),
    ({"epoch": 3}, "holds no tensors"),
])
def test_unreadable_weights_are_data_errors(tmp_path, content, fragment):
    path = tmp_path / "w.pt"
    if content == "nothing":
        with pytest.raises(UsageError, match="no file"):
            read_state_dict(path)
        return
    torch.save(content, path)
    with pytest.raises(DataError, match=fragment):
        read_state_dict(path)


def test_nothing_fits(tmp_path):
    torch.save({"w.weight": torch.zeros(3, 3)}, tmp_path / "w.pt")
    with pytest.raises(DataError, match="nothing in the file fits"):
        netspec.compile(tiny_spec(), weights=tmp_path / "w.pt", partial=True)


A, B, C = ((("weight", (4, 4)),), (("weight", (8, 4)),), (("weight", (2, 2)),))


@pytest.mark.parametrize("mine, file, certain, unsure", [
    ([A, B, C], [A, B, C], [(0, 0), (1, 1), (2, 2)], []),
    ([A, B, C], [A, C], [(0, 0), (2, 1)], []),              # B is new (a replaced layer)
    ([A, A], [A], [], [(0, 0), (1, 0)]),                    # which A takes the file's one?
    ([A, B], [B, A], [], [(0, 1), (1, 0)]),                 # crossing: either, not both
    ([A, B, A], [A, A], [(0, 0), (2, 1)], []),
])
def test_alignment_is_certain_or_ambiguous(mine, file, certain, unsure):
    assert align(mine, file) == (certain, unsure)


def test_names_break_ties():
    """Equal shapes, one candidate named like the model's module: it wins; otherwise ambiguous."""
    certain, unsure = align([A], [A, A], ["stage4.branch4.bn"], ["stage4.branch4.1.bn", "aux1.conv.bn"])
    assert certain == [(0, 0)] and not unsure
    certain, unsure = align([A], [A, A], ["x.bn"], ["aux1.bn", "aux2.bn"])
    assert not certain and unsure == [(0, 0), (0, 1)]


def test_ambiguity_is_refused_and_reported():
    target = {"a.weight": torch.zeros(4, 4), "b.weight": torch.zeros(4, 4)}
    report = plan(target, {"x.weight": torch.zeros(4, 4)})
    assert not report.complete and report.ambiguous
    assert "ambiguous" in report.table()
    module = nn.Module()
    module.a, module.b = nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False)
    with pytest.raises(DataError, match="ambiguous"):
        load_weights(module, {"x.weight": torch.zeros(4, 4)})


def test_build_weights_flag(theirs, tmp_path, capsys):
    """`netspec build --weights` loads before training (here a dry run); a misfit is refused (exit 1)
    unless partial (`--partial`, or `train: {weights: {path: ..., partial: true}}`)."""
    _, path = theirs
    spec = tmp_path / "tiny.yaml"
    spec.write_text(tiny_spec(head=5) + "train: {data: random, epochs: 1, batch_size: 4}\n")
    args = ["build", str(spec), "--dry-run", "--subset", "8", "--weights", str(path)]
    assert main(args) == 1
    assert "refused" in capsys.readouterr().err
    recipe = f"train: {{data: random, epochs: 1, weights: {{path: '{path}', partial: true}}}}\n"
    spec.write_text(tiny_spec(head=5) + recipe)
    assert main(["build", str(spec), "--dry-run", "--subset", "8"]) == 0


# --- optional: torchvision's own models ---------------------------------------------------------------
TORCHVISION = {
    "resnet18": lambda m: m.resnet18(), "resnet50": lambda m: m.resnet50(), "vgg16": lambda m: m.vgg16(),
    "googlenet": lambda m: m.googlenet(aux_logits=False, init_weights=True),
    "mobilenet_v2": lambda m: m.mobilenet_v2(), "densenet121": lambda m: m.densenet121(),
    # their blocks register a part before the body: `layer_scale` before `block`, `proj` before `f`
    "convnext_tiny": lambda m: m.convnext_tiny(), "regnet_y_400mf": lambda m: m.regnet_y_400mf(),
}


BY_NAME = {"resnet18", "resnet50", "densenet121"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_weights_give_torchvisions_outputs(name, tmp_path):
    try:
        import torchvision.models as models
    except Exception:  # absent, or a build that does not match this torch
        pytest.skip("torchvision is not importable here")
    spec = ROOT / "specs" / f"{name}.yaml"
    if not spec.exists():
        pytest.skip(f"no reference spec {spec.name}")
    theirs = randomise(TORCHVISION[name](models))
    torch.save(theirs.state_dict(), tmp_path / "w.pth")
    mine = netspec.compile(spec, weights=tmp_path / "w.pth").eval()
    if name in BY_NAME:  # laid out as torchvision: every module by name (PyTorch spellings)
        assert {how for *_, how in mine.netspec_weights.loaded} == {"name"}
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(mine(x), theirs(x), atol=1e-4, rtol=1e-4)


# --- transfer learning end to end ---------------------------------------------------------------------
def test_fine_tuning_from_weights_keeps_the_frozen_body(tmp_path):
    """specs/resnet18_finetune.yaml from a ResNet-18 state dict with a 1000-way `fc`: the body loads,
    the new head is left as initialised (partial), stage 4 trains at its group learning rate, and the
    frozen parameters are exactly the file's after training."""
    from netspec.train import api

    torch.manual_seed(0)
    pretrained = randomise(netspec.compile(ROOT / "specs" / "resnet18.yaml")).state_dict()
    torch.save(pretrained, tmp_path / "resnet18.pth")
    spec = ROOT / "specs" / "resnet18_finetune.yaml"
    flags = {"weights": str(tmp_path / "resnet18.pth"), "partial": True, "subset": 16, "batch_size": 16,
             "epochs": 1, "threads": 2, "device": "cpu"}
    api.train(spec, flags, out=tmp_path / "run", quiet=True)
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    trained = state["model"]
    model = netspec.compile(spec)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen and all(not n.startswith(("layer4", "head")) for n in frozen)
    for name in frozen:
        assert torch.equal(trained[name], pretrained[name]), name
    moved = [n for n, p in model.named_parameters() if p.requires_grad and n in pretrained
             and not torch.equal(trained[n], pretrained[n])]
    assert any(n.startswith("layer4") for n in moved)
    lrs = sorted(g["lr"] for g in state["optimizers"][0]["param_groups"])
    assert lrs == [0.001, 0.01]


def test_group_learning_rates(tmp_path):
    """`optimizer.group_lr` gives the parameters under a layer or group name their own learning rate
    (the longest matching name wins); a name matching no trainable parameter is refused."""
    from netspec.train import api

    spec = tmp_path / "tiny.yaml"
    spec.write_text(tiny_spec() + "train: {data: random, epochs: 1, optimizer: {name: sgd, lr: 0.1, "
                    "group_lr: {layer2: 0.01, layer2.basic_block_2: 0.001}}}\n")
    trainer = api.prepare(spec, write=False, quiet=True)
    names = {id(p): n for n, p in trainer.model.named_parameters()}
    groups = {g["lr"]: {names[id(p)] for p in g["params"]} for g in trainer.optimizers[0].param_groups}
    assert set(groups) == {0.1, 0.01, 0.001}
    assert "layer2.basic_block_1.shortcut.conv.weight" in groups[0.01] and "fc.weight" in groups[0.1]
    assert all(n.startswith("layer2.basic_block_2.") for n in groups[0.001])
    with pytest.raises(SpecValidationError, match="layer9"):  # located at the flag that gave it, as check does
        api.prepare(spec, sets=["optimizer.group_lr={layer9: 0.01}"], write=False, quiet=True)


TINY_DENSENET = """
netspec: 1
name: tiny_densenet
blocks:
  denselayer:
    params: {growth: 4, bn_size: 2}
    layers:
      - parallel:
          merge: concat
          branches:
            - []
            - - batchnorm2d: {}
                name: norm1
              - relu: {}
              - conv2d: {filters: "${bn_size * growth}", kernel: 1, bias: false}
                name: conv1
              - batchnorm2d: {}
                name: norm2
              - relu: {}
              - conv2d: {filters: $growth, kernel: 3, padding: 1, bias: false}
                name: conv2
        name: layer
input: [3, 16, 16]
layers:
  - sequential:
      layers:
        - conv2d: {filters: 8, kernel: 3, padding: 1, bias: false}
          name: conv0
        - batchnorm2d: {}
          name: norm0
        - relu: {}
        - max_pool2d: 2
        - denselayer: {}
          repeat: 3
          name: denseblock1
        - sequential:
            layers:
              - batchnorm2d: {}
                name: norm
              - relu: {}
              - conv2d: {filters: 10, kernel: 1, bias: false}
                name: conv
              - avg_pool2d: {kernel: 2, stride: 2}
          name: transition1
        - denselayer: {}
          repeat: 2
          name: denseblock2
        - batchnorm2d: {}
          name: norm5
    name: features
  - relu: {}
  - global_avg_pool: {}
  - dense: 5
    name: classifier
"""


def test_a_densenet_spec_loads_torchvision_names():
    """The reference DenseNet's layout (a dense layer is one parallel group: the input, and the
    BN-ReLU-conv branch): `features.denseblock1.denselayer_2.layer.branch2.norm1` is torchvision's
    `features.denseblock1.denselayer2.norm1` (the repeat copy's number run into its name; the block's one
    group and the branch are not levels). Every module by name, torchvision-layout outputs."""
    from torchvision_layout import TinyDenseNet

    model = randomise(TinyDenseNet())
    mine = netspec.compile(TINY_DENSENET, weights=model.state_dict()).eval()
    report = mine.netspec_weights
    assert report.complete and {how for *_, how in report.loaded} == {"name"}
    assert report.mapping["features.denseblock1.denselayer_2.layer.branch2.norm1.running_var"] == \
        "features.denseblock1.denselayer2.norm1.running_var"
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(mine(x), model(x), atol=1e-5)


TINY_CONVNEXT = (ROOT / "specs" / "convnext_tiny.yaml").read_text(encoding="utf-8").split("\ninput:")[0] + """
input: [3, 32, 32]
layers:
  - conv2d: {filters: 8, kernel: 4, stride: 4}
    name: stem
  - layernorm: {channels_first: true, eps: 1.0e-6}
    name: stem_norm
  - convnext_block: {width: 8}
    repeat: 2
    name: stage1
  - downsample: {width: 16}
    name: down2
  - convnext_block: {width: 16}
    repeat: 2
    name: stage2
  - adaptive_avg_pool2d: 1
    name: avgpool
  - layernorm: {channels_first: true, eps: 1.0e-6}
    name: norm
  - flatten
  - dense: 5
    name: fc
"""


@pytest.mark.parametrize("partial", [False, True])
def test_a_block_registering_its_parameter_before_its_body_loads_into_its_own_block(partial):
    """torchvision's ConvNeXt block registers `layer_scale` before `block`: the file lists each block's
    scale first, netspec's block last. Each scale must land in its own block (a shift by one block
    would give every block the next one's scale): the outputs are the hand-written module's."""
    from torchvision_layout import TinyConvNeXt

    theirs = randomise(TinyConvNeXt())
    assert list(theirs.state_dict())[4:6] == ["features.1.0.layer_scale", "features.1.0.block.0.weight"]
    mine = netspec.compile(TINY_CONVNEXT, weights=theirs.state_dict(), partial=partial).eval()
    assert mine.netspec_weights.complete
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_a_block_the_file_lacks_is_refused_not_filled_from_another_block():
    """Drop the scales of stage 1's blocks from the file: those blocks match no file module, so their
    modules load nothing (they would otherwise take other blocks' tensors of the same shapes), the table
    says why, and stage 2's blocks still load their own tensors. With one scale dropped, the one file
    block left could be either block of stage 1: both are listed as ambiguous, neither loads."""
    from torchvision_layout import TinyConvNeXt

    full = randomise(TinyConvNeXt()).state_dict()
    state = {k: v for k, v in full.items() if k not in ("features.1.0.layer_scale", "features.1.1.layer_scale")}
    with pytest.raises(DataError) as err:
        netspec.compile(TINY_CONVNEXT, weights=state)
    assert "stage1.convnext_block_2.layer_scale" in str(err.value) and "across a block boundary" in str(err.value)
    mine = netspec.compile(TINY_CONVNEXT, weights=state, partial=True)
    mapping = mine.netspec_weights.mapping
    assert mapping["stage2.convnext_block_1.layer_scale.layer_scale"] == "features.3.0.layer_scale"
    assert mapping["stage2.convnext_block_2.dwconv.weight"] == "features.3.1.block.0.weight"
    for k in (1, 2):  # what stage 1's blocks load (their bodies, in order) comes from their own file block
        assert all(v.startswith(f"features.1.{k - 1}.block.") for key, v in mapping.items()
                   if key.startswith(f"stage1.convnext_block_{k}."))
        assert f"stage1.convnext_block_{k}.layer_scale.layer_scale" not in mapping
    del full["features.1.1.layer_scale"]
    report = netspec.compile(TINY_CONVNEXT, weights=full, partial=True).netspec_weights
    assert {m.path.rpartition(".")[0] for m, _ in report.ambiguous} == \
        {"stage1.convnext_block_1", "stage1.convnext_block_2"}
    assert not any(k.startswith("stage1.") for k in report.mapping)
    assert report.mapping["stage2.convnext_block_2.layer_scale.layer_scale"] == "features.3.1.layer_scale"


# --- registration order is not call order ---------------------------------------------------------------
THREE_DENSE = """
input: [16]
layers:
  - dense: {units: 16, activation: relu}
    name: NAME1
  - dense: {units: 16, activation: relu}
    name: NAME2
  - dense: 4
    name: NAME3
"""


def three_dense(*names: str) -> str:
    text = THREE_DENSE
    for k, n in enumerate(names, 1):
        text = text.replace(f"NAME{k}", n)
    return text


class SecondFirst(nn.Module):
    """Registers ``second`` before ``first`` and calls ``first`` first: the file's order is not forward's."""

    def __init__(self) -> None:
        super().__init__()
        self.second = nn.Linear(16, 16)
        self.first = nn.Linear(16, 16)
        self.head = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.second(torch.relu(self.first(x)))))


def test_same_shaped_modules_whose_names_do_not_order_them_are_refused():
    """fc1, fc2 against the file's ``second``, ``first`` (same shapes, unrelated names): only the file's
    order would pair them, and it is the wrong one here (the model's outputs say so), so both are refused
    and listed with their shapes and candidates. Named as the spec's layers, in call order, the same
    tensors load by name, with the model's outputs."""
    torch.manual_seed(0)
    theirs = SecondFirst().eval()
    x = torch.randn(5, 16)
    with torch.no_grad():
        truth = theirs(x)
    with pytest.raises(DataError) as err:
        netspec.compile(three_dense("fc1", "fc2", "out"), weights=theirs.state_dict())
    text = str(err.value)
    assert "fc1" in text and "fc2" in text and "second | first" in text and "(16, 16)" in text
    assert "hint:" in text and "load_state_dict" in text and "'fc1.weight': sd['M.weight']" in text
    report = netspec.compile(three_dense("fc1", "fc2", "out"), weights=theirs.state_dict(),
                             partial=True).netspec_weights
    assert sorted(m.path for m, _ in report.unordered) == ["fc1", "fc2"]
    assert report.mapping == {"out.weight": "head.weight", "out.bias": "head.bias"}
    sd = theirs.state_dict()
    in_call_order = {k: sd[k] for k in ("first.weight", "first.bias", "second.weight", "second.bias",
                                         "head.weight", "head.bias")}
    mine = netspec.compile(three_dense("first", "second", "head"), weights=in_call_order).eval()
    assert {how for *_, how in mine.netspec_weights.loaded} == {"name"}
    with torch.no_grad():
        torch.testing.assert_close(mine(x), truth)


def test_single_letters_out_of_order_are_refused_too():
    """``b`` registered before ``a`` with a norm between them: single letters number a sequence only in
    alphabetical order, so the file's b-then-a does not settle which dense takes which."""
    module = nn.Module()
    module.b, module.norm, module.a = nn.Linear(16, 16), nn.LayerNorm(16), nn.Linear(16, 16)
    spec = "input: [16]\nlayers:\n  - dense: 16\n    name: x1\n  - layernorm: {}\n    name: ln\n" \
           "  - dense: 16\n    name: x2\n"
    with pytest.raises(DataError, match="ambiguous"):
        netspec.compile(spec, weights=module.state_dict())


def test_numbered_or_distinct_modules_still_load_by_structure():
    """An nn.Sequential numbers its same-shaped layers in call order (``0``, ``2``): they load by structure,
    with its outputs. Unrelated names whose shapes all differ load by structure too."""
    torch.manual_seed(1)
    seq = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    x = torch.randn(5, 16)
    mine = netspec.compile(three_dense("fc1", "fc2", "out"), weights=seq.state_dict()).eval()
    assert mine.netspec_weights.complete
    with torch.no_grad():
        torch.testing.assert_close(mine(x), seq(x))
    distinct = nn.Module()
    distinct.alpha, distinct.omega = nn.Linear(16, 32), nn.Linear(32, 4)
    spec = "input: [16]\nlayers:\n  - dense: 32\n    name: fc1\n  - dense: 4\n    name: fc2\n"
    mine = netspec.compile(spec, weights=distinct.state_dict()).eval()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), distinct.omega(distinct.alpha(x)))


REPEATED_SE = """
blocks:
  unit:
    layers:
      - dense: {units: 4}
        name: fc
      - parallel:
          merge: multiply
          branches:
            - []
            - [{dense: {units: 4}, name: gate}, {sigmoid: {}}]
        name: se
input: [4]
layers:
  - unit: {}
    repeat: 3
"""


@pytest.mark.parametrize("numbering", ["own", "from_0"])
def test_numbered_siblings_are_spelled_one_way_for_the_whole_group(numbering):
    """Siblings ``unit_1..3`` are a file's ``unit_1..3`` (netspec's own names, here under an nn.Sequential's
    ``0`` instead of netspec's group) or, where the file has a ``unit_0``, its ``unit_0..2``: never a mix,
    where ``unit_2`` (numbered from 0) would take the file's ``unit_1`` while ``unit_1`` keeps its own name.
    The truth is the file: each model module must hold the tensors of the file module the numbering names."""
    mine = netspec.compile(REPEATED_SE)
    first = 0 if numbering == "from_0" else 1
    torch.manual_seed(2)
    file = {}
    for key, value in mine.state_dict().items():  # sequential_1.unit_<k>.<rest>
        _, unit, rest = key.split(".", 2)
        k = int(unit.rpartition("_")[2]) - 1 + first
        file[f"0.unit_{k}.{rest}"] = torch.randn_like(value)
    loaded = netspec.compile(REPEATED_SE, weights=file)
    assert loaded.netspec_weights.complete
    got = loaded.state_dict()
    for key in got:
        _, unit, rest = key.split(".", 2)
        k = int(unit.rpartition("_")[2]) - 1 + first
        assert torch.equal(got[key], file[f"0.unit_{k}.{rest}"]), key


def test_a_file_sorted_as_text_loads_by_its_numbers():
    """A state dict sorted as text (safetensors keeps its keys so; ``dict(sorted(sd.items()))``) has
    ``10.bias`` before ``10.weight`` and ``10`` before ``2``: a module's tensors pair by name, and
    numbered siblings in their numbers' order. The truth is the nn.Sequential's own outputs. The same
    modules in another order that is not the text's (reversed) are refused: there the file's order is
    its registration order, and the names contradict it."""
    torch.manual_seed(4)
    seq = nn.Sequential(*[nn.Linear(8, 8) for _ in range(12)]).eval()
    state = seq.state_dict()
    spec = "input: [8]\nlayers:\n" + "".join(f"  - dense: 8\n    name: fc{i}\n" for i in range(1, 13))
    with pytest.raises(DataError, match="refused"):
        netspec.compile(spec, weights=dict(reversed(state.items())))
    mine = netspec.compile(spec, weights=dict(sorted(state.items()))).eval()
    assert mine.netspec_weights.complete
    x = torch.randn(3, 8)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), seq(x), rtol=0, atol=0)


def test_names_with_several_numbers_keep_the_files_order():
    """``conv3x3`` registered before ``conv1x1`` (a 3×3 then a 1×1 convolution, called in that order): their
    numbers are sizes, not places, and the file's order stands."""
    torch.manual_seed(5)
    model = nn.Module()
    model.conv3x3, model.conv1x1 = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1)
    spec = ("input: [4, 6, 6]\nlayers:\n  - conv2d: {filters: 4, kernel: 3, padding: 1}\n    name: a\n"
            "  - conv2d: {filters: 4, kernel: 1}\n    name: b\n")
    mine = netspec.compile(spec, weights=model.state_dict()).eval()
    x = torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), model.conv1x1(model.conv3x3(x)), rtol=0, atol=0)


def test_safetensors_files_sharded_checkpoints_and_hugging_face_folders(tmp_path):
    """Weights saved with safetensors (one file, or shards with their ``.safetensors.index.json``, as Hugging
    Face's ``save_pretrained`` writes them) load from the file, the index or the folder, with the outputs of
    the model that saved them; a missing shard and a damaged file are messages."""
    from safetensors.torch import save_file

    torch.manual_seed(6)
    seq = nn.Sequential(*[nn.Linear(8, 8) for _ in range(12)]).eval()
    state = {k: v.contiguous() for k, v in seq.state_dict().items()}
    spec = "input: [8]\nlayers:\n" + "".join(f"  - dense: 8\n    name: fc{i}\n" for i in range(1, 13))
    x = torch.randn(3, 8)
    one = tmp_path / "one"
    one.mkdir()
    save_file(state, one / "model.safetensors")
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    keys = list(state)
    halves = {"model-00001-of-00002.safetensors": keys[:12], "model-00002-of-00002.safetensors": keys[12:]}
    for name, part in halves.items():
        save_file({k: state[k] for k in part}, sharded / name)
    index = {"metadata": {}, "weight_map": {k: name for name, part in halves.items() for k in part}}
    (sharded / "model.safetensors.index.json").write_text(json.dumps(index))
    for source in (one / "model.safetensors", one, sharded / "model.safetensors.index.json", sharded):
        mine = netspec.compile(spec, weights=source).eval()
        assert mine.netspec_weights.complete, source
        with torch.no_grad():
            torch.testing.assert_close(mine(x), seq(x), rtol=0, atol=0)
    (sharded / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(DataError, match="model-00002-of-00002.safetensors are not beside the index"):
        netspec.compile(spec, weights=sharded)
    (one / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(DataError, match="not a readable safetensors file"):
        netspec.compile(spec, weights=one)
    with pytest.raises(UsageError, match="a folder without weights"):
        netspec.compile(spec, weights=tmp_path)


TIED = """
input: {shape: [5], dtype: long}
layers:
  - embedding: {vocab: 11, dim: 4}
    name: wte
  - dense: {units: 11, bias: false}
    tie: {weight: wte}
    name: head
"""


def test_a_tied_tensor_loads_from_its_source_and_two_different_ones_are_refused():
    """``tie:`` makes the head's weight the embedding's: a file holding it once (Hugging Face's save_pretrained
    of tied embeddings) loads completely, as does one holding it twice with equal values; a file whose two
    tensors differ comes from a model that does not tie them, and loading both into one tensor would keep
    whichever came last, so it is refused."""
    torch.manual_seed(7)
    w = torch.randn(11, 4)
    for file in ({"wte.weight": w}, {"wte.weight": w, "head.weight": w.clone()}):
        mine = netspec.compile(TIED, weights=file)
        assert mine.netspec_weights.complete
        assert torch.equal(mine.state_dict()["head.weight"], w) and torch.equal(mine.state_dict()["wte.weight"], w)
    with pytest.raises(DataError, match="ties head.weight to wte.weight"):
        netspec.compile(TIED, weights={"wte.weight": w, "head.weight": torch.randn(11, 4)})


def test_batch_norms_step_count_is_optional_as_for_torch(theirs):
    """A state dict without batch norm's ``num_batches_tracked`` (older and converted checkpoints): torch's own
    ``load_state_dict(strict=True)`` accepts it, and so does netspec, with the file model's outputs; the step
    counts a file has are loaded."""
    model, _ = theirs
    sd = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    check = type(model)()
    check.load_state_dict(sd, strict=True)  # torch's own rule
    mine = netspec.compile(tiny_spec(), weights=sd).eval()
    assert mine.netspec_weights.complete
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), model.eval()(x))
    counted = {k: v.clone().fill_(7) if k.endswith("num_batches_tracked") else v for k, v in model.state_dict().items()}
    loaded = netspec.compile(tiny_spec(), weights=counted).state_dict()
    assert all(int(v) == 7 for k, v in loaded.items() if k.endswith("num_batches_tracked"))


class _BasicConv(nn.Module):  # torchvision's GoogLeNet BasicConv2d: conv (no bias), batch norm (eps 1e-3)
    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class _Inception(nn.Module):  # torchvision's Inception layout (branch1..4), with inception3a's widths
    def __init__(self) -> None:
        super().__init__()
        self.branch1 = _BasicConv(192, 64, 1)
        self.branch2 = nn.Sequential(_BasicConv(192, 96, 1), _BasicConv(96, 128, 3))
        self.branch3 = nn.Sequential(_BasicConv(192, 16, 1), _BasicConv(16, 32, 3))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), _BasicConv(192, 32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


def test_a_file_sorted_as_text_never_pairs_a_layers_tensors_across_branches(tmp_path):
    """Sorted as text, a torchvision Inception's ``branch3.1.bn`` sits after ``branch3.1.conv``'s neighbours in
    the alphabet's order, and an alignment by order gave branch 3's batch norm the file's ``branch4.1.bn`` (both
    32 channels; outputs off by 3, "12 of 12 loaded"). Registration order (torch.save) loads with the model's
    outputs; the sorted file is refused where a layer's tensors would come from two places."""
    import yaml

    blocks = yaml.safe_load((ROOT / "specs" / "googlenet.yaml").read_text(encoding="utf-8"))["blocks"]
    spec = yaml.safe_dump({"netspec": 1, "blocks": blocks, "input": [192, 8, 8], "layers": [
        {"inception_module": {"ch1x1": 64, "ch3x3red": 96, "ch3x3": 128, "ch5x5red": 16, "ch5x5": 32,
                              "pool_proj": 32}, "name": "inception3a"}]}, sort_keys=False)
    torch.manual_seed(0)
    model = nn.Module()
    model.inception3a = _Inception()
    randomise(model)
    model.eval()
    x = torch.randn(2, 192, 8, 8)
    state = model.state_dict()
    mine = netspec.compile(spec, weights=state).eval()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), model.inception3a(x))
    with pytest.raises(DataError, match="sorted as text"):
        netspec.compile(spec, weights=dict(sorted(state.items())))


LLAMA_SMALL = small_decoder("llama.yaml", "llama_layer: {dim: 64, heads: 4, kv_heads: 2, mlp: 96, theta: 10000.0}")


@pytest.mark.parametrize("change, said", [
    ({}, None),
    ({"num_attention_heads": 8, "num_key_value_heads": 4}, "num_attention_heads: config.json 8, the spec heads: 4"),
    ({"rms_norm_eps": 1e-2}, "norm eps: config.json 0.01, the spec eps: 1e-05"),
    ({"rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}}, "rope_theta: config.json 500000.0"),
    ({"rope_parameters": None, "rope_theta": 500000.0}, "rope_theta: config.json 500000.0"),  # transformers 4's
    ({"rope_parameters": None, "rope_theta": 10000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0}},
     "rope_type: config.json llama3"),
    ({"sliding_window": 4}, "sliding_window: config.json 4"),
    ({"tie_word_embeddings": True}, "tie_word_embeddings: config.json true"),
])
def test_a_hugging_face_folders_config_is_held_to_the_spec(tmp_path, change, said):
    """The same tensors fit a spec of 4 heads and one of 8 (and any eps, RoPE base, window): a Hugging Face
    folder's config.json says which the weights were trained with, and a spec that computes otherwise is refused
    naming the option (the weights loaded would compute other logits silently); the file itself still loads."""
    from safetensors.torch import save_file

    spec = LLAMA_SMALL
    state = {k: v.contiguous() for k, v in netspec.compile(spec).state_dict().items()}
    folder = tmp_path / "hf"
    folder.mkdir()
    save_file(state, folder / "model.safetensors")
    config = {"model_type": "llama", "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
              "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "tie_word_embeddings": False,
              **change}
    config = {k: v for k, v in config.items() if v is not None}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if said is None:
        assert netspec.compile(spec, weights=folder).netspec_weights.complete
        return
    with pytest.raises(DataError, match=re.escape(said)):
        netspec.compile(spec, weights=folder)
    assert netspec.compile(spec, weights=folder / "model.safetensors").netspec_weights.complete


def test_computed_buffers_an_older_file_keeps_are_left_out_and_said():
    """Hugging Face's older LLaMA files keep RoPE's ``rotary_emb.inv_freq`` (computed from the base, not
    learned); such keys are left out, and the summary says so."""
    spec = LLAMA_SMALL
    state = dict(netspec.compile(spec).state_dict())
    state["layers.llama_layer_1.attention.self_attn.rotary_emb.inv_freq"] = torch.ones(8)
    mine = netspec.compile(spec, weights=state)
    assert mine.netspec_weights.complete
    assert "a computed buffer in the file left out: layers.llama_layer_1" in mine.netspec_weights.summary()


def test_a_shared_modules_other_names_in_the_file_are_not_left_over(tmp_path):
    """torch.save of a module shared under several names (ALBERT's ``ModuleList([block] * 3)``) writes its tensors
    under each name, one memory: a spec that shares the layer (``share:``) loads the first and the rest are the
    same tensors, not "unused" (they were refused). The truth: the model's own outputs."""
    torch.manual_seed(0)
    block = nn.Linear(8, 8)
    model = nn.Module()
    model.blocks = nn.ModuleList([block] * 3)
    path = tmp_path / "albert.pt"
    torch.save(model.state_dict(), path)
    spec = ("input: [8]\nlayers:\n  - dense: 8\n    name: b1\n  - dense: 8\n    share: b1\n"
            "  - dense: 8\n    share: b1\n")
    mine = netspec.compile(spec, weights=path)
    assert mine.netspec_weights.complete
    x = torch.randn(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(mine(x), block(block(block(x))))
