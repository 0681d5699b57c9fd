"""Code out: spec -> module -> Python source / ONNX / torch.export -> the same outputs.

Each product is read back here independently of the exporter's own check: the Python file is imported
as a module (no netspec import in it; its ``state_dict`` keys equal the compiled module's, in order),
the ONNX file runs in onnxruntime, the ``.pt2`` loads with ``torch.export.load``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import netspec
from netspec.backends.torch.compile import example_inputs
from netspec.cli.main import main
from netspec.core.errors import BuildError
from netspec.interop.export import export

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT / "specs"


def small(name: str, size: int = 32) -> str:
    """A reference image spec at a small input, without its pinned numbers (they are for 224×224)."""
    text = (SPECS / f"{name}.yaml").read_text(encoding="utf-8")
    text = text.replace("input: [3, 224, 224]", f"input: [3, {size}, {size}]")
    return text.split("\nexpect:")[0] + "\n"


CASES = {
    "lenet5": lambda: SPECS / "lenet5.yaml",
    "resnet18@32": lambda: small("resnet18"),
    "googlenet@32": lambda: small("googlenet"),
    "pytorch_lstm": lambda: SPECS / "pytorch_lstm.yaml",
    "sobel_edges": lambda: SPECS / "sobel_edges.yaml",  # literal init:, trainable: false
    "tied": lambda: TIED,  # tie:
    "shared": lambda: SHARED,  # share:
    "inits": lambda: INITS,  # scheme, number and literal init:
    "block_ties": lambda: BLOCK_TIES,  # init: and tie: inside a repeated block
}
BIND = {"T": 9}


def _import(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def _structure(module: torch.nn.Module) -> tuple[int, list[list[str]], list[str], list[str]]:
    """Parameter count (a shared Parameter once, as torch counts it), the names of each Parameter under
    several names, the frozen names, the buffer names."""
    names: dict[int, list[str]] = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(n)
    return (sum(p.numel() for p in module.parameters()), sorted(v for v in names.values() if len(v) > 1),
            sorted(n for n, p in module.named_parameters(remove_duplicate=False) if not p.requires_grad),
            [n for n, _ in module.named_buffers()])


def _outputs(value) -> list[torch.Tensor]:
    return list(value) if isinstance(value, tuple) else [value]


def _reference(source, bind=None):
    """The compiled module (seeded as the exports were), random inputs of batch 3 and its outputs."""
    graph = netspec.analyze(source, bind=bind)
    torch.manual_seed(0)
    model = netspec.compile(graph).eval()
    net = next(iter(graph.networks.values()))
    x = example_inputs(net, batch=3, bind=bind)
    with torch.no_grad():
        return graph, model, x, _outputs(model(*x))


@pytest.mark.parametrize("case", sorted(CASES))
def test_python_source_round_trip(case, tmp_path):
    source = CASES[case]()
    bind = BIND if case.endswith("lstm") else None
    path = tmp_path / "model.py"
    done = export(source, path, bind=bind, check=False)  # checked here, independently
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"^\s*(import|from) netspec", text, re.M), "the source must not import netspec"
    graph, model, x, expected = _reference(source, bind)
    cls = getattr(_import(path, f"exported_{case.replace('@', '_')}"), done.model_class)
    torch.manual_seed(0)  # as _reference seeded the compiled module: the same constructors draw the same numbers
    mine = cls().eval()  # fresh: no state dict loaded
    assert list(mine.state_dict()) == list(model.state_dict())
    assert _structure(mine) == _structure(model)
    assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), model.state_dict().values()))
    with torch.no_grad():
        got = _outputs(mine(*x))
    assert all(torch.equal(a, b) for a, b in zip(got, expected)) and len(got) == len(expected)
    if shutil.which("ruff"):
        lint = subprocess.run(["ruff", "check", "--isolated", "--extend-select", "E,F,W,I", "--line-length", "120",
                               str(path)], capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout


def test_python_source_is_one_class_per_block_with_a_readable_forward():
    text = export(small("resnet18"), None).text
    classes = re.findall(r"^class (\w+)\(nn\.Module\)", text, re.M)
    assert classes == ["GlobalPool", "BasicBlock", "BasicBlockWithShortcut", "Resnet18"]
    assert "self.layer1 = nn.Sequential(OrderedDict([" in text
    assert '("basic_block_1", BasicBlockWithShortcut(in_channels=64, out_channels=128)),' in text
    assert "return F.relu(out + x)" in text  # the residual sum and the block's activation, as a person writes it
    assert "self.shortcut = nn.Sequential(OrderedDict([" in text
    assert "nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)" in text  # defaults left out


def test_python_source_freezes_what_the_spec_freezes(tmp_path):
    """A frozen body is frozen where it is used (`self.layer1.requires_grad_(False)`), so one block class
    serves the frozen and the trainable stages."""
    text = (SPECS / "resnet18_finetune.yaml").read_text(encoding="utf-8").replace("[3, 64, 64]", "[3, 32, 32]")
    text = text.split("\nexpect:")[0] + "\n"
    path = tmp_path / "ft.py"
    done = export(text, path, check=False)
    source = path.read_text(encoding="utf-8")
    assert "self.layer3.requires_grad_(False)" in source and "self.layer4.requires_grad_" not in source
    assert re.findall(r"^class (\w+)", source, re.M).count("BasicBlock") == 1
    model = netspec.compile(text)
    mine = getattr(_import(path, "exported_ft"), done.model_class)()
    assert {n: p.requires_grad for n, p in mine.named_parameters()} == \
        {n: p.requires_grad for n, p in model.named_parameters()}


def test_python_source_of_several_networks(tmp_path):
    path = tmp_path / "gan.py"
    done = export(SPECS / "gan.yaml", path)
    model = netspec.compile(SPECS / "gan.yaml")
    mine = getattr(_import(path, "exported_gan"), done.model_class)()
    assert list(mine) == list(model) and list(mine.state_dict()) == list(model.state_dict())


@pytest.mark.parametrize("case", ["lenet5", "resnet18@32", "pytorch_lstm"])
def test_onnx_round_trip(case, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    source = CASES[case]()
    bind = BIND if case.endswith("lstm") else None
    path = tmp_path / "model.onnx"
    torch.manual_seed(0)
    done = export(source, path, bind=bind, check=case == "lenet5")  # the exporter's own check, once
    assert case != "lenet5" or (done.max_diff is not None and done.max_diff < 1e-4)
    graph, model, x, expected = _reference(source, {"T": 13} if bind else None)  # another length: T is dynamic
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(next(iter(graph.networks.values())).inputs)
    got = session.run(None, {i.name: t.numpy() for i, t in zip(session.get_inputs(), x)})
    for a, b in zip(got, expected):
        assert torch.allclose(torch.from_numpy(a), b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case", ["lenet5", "pytorch_lstm"])
def test_torch_export_round_trip(case, tmp_path):
    source = CASES[case]()
    bind = BIND if case.endswith("lstm") else None
    path = tmp_path / "model.pt2"
    torch.manual_seed(0)
    export(source, path, bind=bind, check=False)
    graph, model, x, expected = _reference(source, bind)
    program = torch.export.load(str(path)).module()
    with torch.no_grad():
        got = _outputs(program(*x))  # batch 3: the program was traced at batch 2
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, expected))


RECURRENT = {kind: f"input: [T, 4]\nlayers:\n  - {kind}: {{units: 8, return_sequences: true}}\n"
             for kind in ("lstm", "gru", "rnn")}


@pytest.mark.parametrize("kind", sorted(RECURRENT))
def test_torch_export_of_a_length_it_fixes_is_refused_naming_it(kind, tmp_path):
    """torch.export unrolls a recurrent layer over the traced steps (T=7): torch's own program, exported
    here the way netspec does (Dim.AUTO), fails at another length. netspec's export must not write it as
    if T stayed dynamic: refused, naming T and the sizes it was traced at; bound, it is written and said."""
    graph = netspec.analyze(RECURRENT[kind])
    net = next(iter(graph.networks.values()))
    torch.manual_seed(0)  # the weights the bound export below draws
    model = netspec.compile(graph).eval()
    x = example_inputs(net, batch=2, bind={"T": 7})
    program = torch.export.export(model, x, dynamic_shapes=({0: torch.export.Dim.AUTO, 1: torch.export.Dim.AUTO},))
    with pytest.raises(Exception):  # torch's truth: the program is for T=7 only
        program.module()(*example_inputs(net, batch=2, bind={"T": 8}))
    path = tmp_path / "model.pt2"
    with pytest.raises(BuildError) as err:
        export(RECURRENT[kind], path)
    assert "T=8" in str(err.value) and "T=7" in str(err.value) and "--bind T=" in str(err.value)
    assert not path.exists()
    torch.manual_seed(0)
    done = export(RECURRENT[kind], path, bind={"T": 11})
    assert "T=11" in done.note
    loaded = torch.export.load(str(path)).module()
    x = example_inputs(net, batch=3, bind={"T": 11})
    with torch.no_grad():
        assert torch.allclose(_outputs(loaded(*x))[0], _outputs(model(*x))[0], atol=1e-5)


def test_torch_export_keeps_a_symbolic_length_dynamic_where_torch_does(tmp_path):
    """A convolution over a length T: the program runs at T=13 and batch 3 though traced at T=7, batch 2,
    and gives the compiled module's outputs there; nothing is said about a fixed size."""
    text = "input: [4, T]\nlayers:\n  - conv1d: {filters: 8, kernel: 3}\n"
    path = tmp_path / "conv.pt2"
    torch.manual_seed(0)  # the weights _reference draws
    done = export(text, path)
    assert done.max_diff is not None and not done.note
    graph, model, x, expected = _reference(text, {"T": 13})
    with torch.no_grad():
        got = _outputs(torch.export.load(str(path)).module()(*x))
    assert torch.allclose(got[0], expected[0], atol=1e-5)


def test_onnx_carries_loaded_weights(tmp_path):
    pytest.importorskip("onnxruntime")
    torch.manual_seed(5)
    trained = netspec.compile(SPECS / "lenet5.yaml")
    torch.save(trained.state_dict(), tmp_path / "w.pt")
    done = export(SPECS / "lenet5.yaml", tmp_path / "m.onnx", weights=tmp_path / "w.pt")
    import onnxruntime as ort

    x = torch.randn(2, 1, 32, 32)
    got = ort.InferenceSession(str(done.path)).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        assert torch.allclose(torch.from_numpy(got), trained.eval()(x), atol=1e-5)


@pytest.mark.parametrize("argv, code, fragment", [
    (["export", "SPEC", "-o", "OUT/m.txt"], 2, "cannot tell the export format"),
    (["export", str(SPECS / "gan.yaml"), "-o", "OUT/g.onnx"], 2, "choose one with --network"),
    (["export", "SPEC", "--format", "onnx"], 2, "give -o FILE"),
    (["export", "SPEC", "-o", "OUT/exists.py"], 2, "exists; use --force"),
])
def test_export_usage_errors(argv, code, fragment, tmp_path, capsys):
    (tmp_path / "exists.py").write_text("")
    argv = [a.replace("SPEC", str(SPECS / "lenet5.yaml")).replace("OUT", str(tmp_path)) for a in argv]
    assert main(argv) == code
    assert fragment in capsys.readouterr().err


def test_export_cli_writes_and_reports(tmp_path, capsys):
    assert main(["export", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "lenet5.py")]) == 0
    err = capsys.readouterr().err
    assert "model class Lenet5" in err and "same outputs as the compiled module" in err
    assert (tmp_path / "lenet5.py").read_text().startswith('"""lenet5')


# --- what a fresh exported model has at construction: tie:, share:, init:, trainable: -------------------
TIED = """\
netspec: 1
name: tiny_lm
input: {shape: [8], dtype: long}
layers:
  - embedding: {vocab: 40, dim: 16}
    name: wte
  - layer_norm: {}
  - dense: {units: 40, bias: false}
    name: head
    tie: {weight: wte}
"""
SHARED = """\
netspec: 1
name: siamese
inputs: {a: [5], b: [5]}
layers:
  - dense: {units: 4}
    name: enc_a
    from: a
  - dense: {units: 4}
    name: enc_b
    from: b
    share: enc_a
  - add: {}
    from: [enc_a, enc_b]
"""
INITS = """\
netspec: 1
name: inits
input: [6]
layers:
  - dense: {units: 5}
    name: fc1
    init: {weight: xavier_uniform, bias: 0.1}
  - dense: {units: 5, activation: relu}
    name: fc2
    init: zeros
  - dense: {units: 3}
    name: fc3
    init: {weight: {scheme: normal, std: 0.02}, bias: [1, 2, 3]}
  - dense: {units: 3}
    name: fc4
    init: kaiming_normal
"""


def _fresh(source, tmp_path: Path, name: str):
    path = tmp_path / f"{name}.py"
    done = export(source, path)  # the exporter's own check runs too
    return getattr(_import(path, f"exported_{name}"), done.model_class), path.read_text(encoding="utf-8")


def test_python_source_ties_parameters(tmp_path):
    cls, text = _fresh(TIED, tmp_path, "tied")
    mine = cls()
    assert mine.head.weight is mine.wte.weight
    # 40·16 embedding (the head reuses it) + 2·16 layer norm = 672; untied it would be 640 more
    assert sum(p.numel() for p in mine.parameters()) == 40 * 16 + 2 * 16
    assert _structure(mine) == _structure(netspec.compile(TIED))
    assert "self.head.weight = self.wte.weight" in text


def test_python_source_applies_a_shared_layer_twice(tmp_path):
    cls, text = _fresh(SHARED, tmp_path, "shared")
    mine = cls()
    assert list(mine.state_dict()) == list(netspec.compile(SHARED).state_dict()) == ["enc_a.weight", "enc_a.bias"]
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    w, bias = mine.enc_a.weight, mine.enc_a.bias
    linear = torch.nn.functional.linear
    with torch.no_grad():
        assert torch.allclose(mine(a, b), linear(a, w, bias) + linear(b, w, bias))


def test_python_source_initialises_as_the_spec_says(tmp_path):
    cls, text = _fresh(INITS, tmp_path, "inits")
    mine = cls()
    assert torch.equal(mine.fc1.bias, torch.full((5,), 0.1))
    bound = (6 / (6 + 5)) ** 0.5  # xavier_uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out))
    assert mine.fc1.weight.abs().max() <= bound and mine.fc1.weight.std() > 0
    assert not mine.fc2.weight.any() and not mine.fc2.bias.any()
    assert torch.equal(mine.fc3.bias, torch.tensor([1.0, 2.0, 3.0])) and mine.fc3.weight.std() < 0.1
    assert not mine.fc4.bias.any()  # a fan-based scheme zeroes a vector
    assert "nn.init.xavier_uniform_(self.fc1.weight)" in text and "nn.init.constant_(self.fc1.bias, 0.1)" in text
    # the init order is the compiler's (each layer right after its construction): one seed, the same numbers
    torch.manual_seed(3)
    model = netspec.compile(INITS).eval()
    torch.manual_seed(3)
    mine = cls().eval()
    x = torch.randn(4, 6)
    with torch.no_grad():
        assert torch.equal(mine(x), model(x))


def test_python_source_keeps_literal_frozen_filters(tmp_path):
    import yaml

    source = (SPECS / "sobel_edges.yaml").read_text(encoding="utf-8")
    cls, text = _fresh(SPECS / "sobel_edges.yaml", tmp_path, "sobel")
    mine = cls()  # no state dict: the filters come from the source
    spec_weight = yaml.safe_load(source)["layers"][0]["init"]["weight"]
    assert torch.equal(mine.edges.weight, torch.tensor(spec_weight, dtype=torch.float32))
    assert not mine.edges.weight.requires_grad
    image = torch.zeros(1, 1, 6, 6)
    image[..., :3] = 10  # the notes' example: the vertical kernel gives columns 0, 30, 30, 0
    with torch.no_grad():
        out = mine(image)
        assert torch.equal(out[0, 0], torch.tensor([[0.0, 30, 30, 0]] * 4))
        assert torch.equal(out, netspec.compile(source)(image))
    assert 'Written by `netspec export sobel_edges.yaml --format py`' in text


def test_python_check_catches_a_lost_tie():
    """The exporter's check compares fresh modules: an untied head is a different model."""
    from netspec.interop.export import compare_fresh

    graph = netspec.analyze(TIED)
    untied = netspec.compile(TIED)
    untied.head.weight = torch.nn.Parameter(untied.head.weight.detach().clone())
    assert "parameters" in compare_fresh(netspec.compile(graph), untied, graph)
    sobel = netspec.analyze(SPECS / "sobel_edges.yaml")
    random_filters = netspec.compile(sobel)
    torch.nn.init.normal_(random_filters.edges.weight.requires_grad_(False))
    assert "edges.weight" in compare_fresh(netspec.compile(sobel), random_filters, sobel)


def test_export_py_refuses_weights(tmp_path, capsys):
    assert main(["export", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / "m.py"), "--weights", "w.pt"]) == 2
    assert "load_state_dict" in capsys.readouterr().err and not (tmp_path / "m.py").exists()


BLOCK_TIES = """\
netspec: 1
name: blk
input: [6]
blocks:
  unit:
    layers:
      - dense: {units: 6}
        name: fc
        init: {weight: orthogonal, bias: 0.5}
      - dense: {units: 6}
        name: fc2
        tie: {weight: fc}
layers:
  - unit: {}
    repeat: 2
    name: stack
  - dense: {units: 3}
    init: zeros
    trainable: false
"""


def test_python_source_writes_inits_and_ties_inside_blocks(tmp_path):
    cls, text = _fresh(BLOCK_TIES, tmp_path, "blk")
    assert text.count("class Unit") == 1  # both uses of the block share its class, init and tie lines
    torch.manual_seed(1)
    model = netspec.compile(BLOCK_TIES).eval()
    torch.manual_seed(1)
    mine = cls().eval()
    assert mine.stack.unit_2.fc2.weight is mine.stack.unit_2.fc.weight
    assert _structure(mine) == _structure(model)
    # 2 blocks · (6·6 weight once + 6 + 6 biases) + 6·3 + 3 = 117
    assert _structure(mine)[0] == 2 * (36 + 6 + 6) + 18 + 3
    assert torch.equal(mine.stack.unit_1.fc.bias, torch.full((6,), 0.5))
    w = mine.stack.unit_1.fc.weight
    assert torch.allclose(w @ w.T, torch.eye(6), atol=1e-5)  # orthogonal
    assert all(torch.equal(a, b) for a, b in zip(mine.state_dict().values(), model.state_dict().values()))


def test_python_source_refuses_a_huge_literal_init(tmp_path):
    values = [[0.5] * 80 for _ in range(80)]  # 6,400 numbers, over the limit the writer spells out
    spec = f"netspec: 1\nname: big\ninput: [80]\nlayers:\n  - dense: {{units: 80, bias: false}}\n" \
           f"    init: {{weight: {values}}}\n"
    with pytest.raises(netspec.NetspecError, match="numbers, more than"):
        export(spec, tmp_path / "big.py")


def test_train_keeps_frozen_batch_norms_in_eval_mode_compiled_and_exported(tmp_path):
    """specs/resnet18_finetune.yaml freezes the stem and layer1-3: after `.train()` and a forward pass, every
    running statistic there is bit-identical (torch's own state dict before and after), and layer4's
    running statistics changed, for the compiled module and for the exported source alike."""
    text = (SPECS / "resnet18_finetune.yaml").read_text(encoding="utf-8").replace("[3, 64, 64]", "[3, 32, 32]")
    text = text.split("\nexpect:")[0] + "\n"
    path = tmp_path / "ftt.py"
    done = export(text, path, check=False)
    source = path.read_text(encoding="utf-8")
    assert "def train(self, mode: bool = True)" in source
    frozen_prefixes = ("bn1.", "layer1.", "layer2.", "layer3.")  # the spec's trainable: false groups
    for model in (netspec.compile(text), getattr(_import(path, "exported_ftt"), done.model_class)()):
        before = {k: v.clone() for k, v in model.state_dict().items()}
        assert model.train() is model and model.training
        model(torch.randn(4, 3, 32, 32))
        after = model.state_dict()
        frozen = [k for k in before if k.startswith(frozen_prefixes) and "running" in k or
                  k.startswith(frozen_prefixes) and k.endswith("num_batches_tracked")]
        assert len(frozen) == 15 * 3  # the stem 1, layer1 2x2, layer2 and layer3 2x2 + a shortcut: 15 norms, 3 buffers each
        for key in frozen:
            assert torch.equal(before[key], after[key]), key
        assert not torch.equal(before["layer4.basic_block_2.bn2.running_mean"],
                               after["layer4.basic_block_2.bn2.running_mean"])
        assert not model.get_submodule("layer3.basic_block_2.bn2").training
        assert model.get_submodule("layer4.basic_block_2.bn2").training
        model.eval()
        assert not model.get_submodule("layer4.basic_block_2.bn2").training


def test_blocks_and_networks_named_as_copied_definitions_get_other_class_names():
    """A block `grouped_query_attention` (or a network `multihead_attention`) would define a class of the
    name of netspec's attention module that the file copies, and the file would call the wrong one."""
    text = ("name: multihead_attention\ninput: [T, 16]\nblocks:\n  grouped_query_attention:\n    layers:\n"
            "      - attention: {heads: 4, kv_heads: 2}\n  gated_unit:\n    layers:\n"
            "      - attention: {heads: 4}\nlayers:\n  - grouped_query_attention\n  - gated_unit\n")
    done = export(text, None, format="py")  # checked: the written class computes the compiled module's outputs
    classes = re.findall(r"^class (\w+)\(", done.text, flags=re.M)
    assert len(classes) == len(set(classes))
    assert {"GroupedQueryAttention", "MultiheadAttention"} <= set(classes)  # the copied modules, once each
    assert done.model_class not in ("GroupedQueryAttention", "MultiheadAttention") and done.max_diff is not None
