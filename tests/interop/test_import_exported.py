"""The round trip spec -> ``netspec export --format py`` -> ``netspec import`` -> spec.

Exported source copies netspec's own torch modules (``MultiheadAttention``, ``GroupedQueryAttention``, the
recurrent layers returning netspec's outputs, ``Split``, ``TimeDistributed``, ...) into the model's file; the
importer reads them back as the kinds they were built from. For every reference spec small enough, every
one-input example of every kind, and attention in each of its forms, the imported spec must check with the
original's parameters, MACs and output shapes, take the exported model's state dict by name, and compute
what the exported model and the original spec (with those weights) compute — torch at run time is the judge.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn as nn
import yaml
from import_support import kinds_in

import netspec
from netspec.cli.main import main
from netspec.core.errors import NetspecError
from netspec.interop.importer import NotImportable, import_model
from netspec.interop.torch_table import own_module
from netspec.layers.attention.attention import Attention
from netspec.layers.base import layer_kinds

SPECS = Path(__file__).resolve().parents[2] / "specs"
SMALL = 5_000_000  # parameters: the reference networks the round trip runs on
FAST = 1_000_000  # above this, the case is marked slow
LENGTH = 6  # a symbolic size (a sequence's T) at the import (even, and a multiple of 3: the examples cut it)


BY_STRUCTURE = {"mobilenet_v3_small.yaml", "regnet_y_400mf.yaml", "shufflenet_v2_x1_0.yaml", "squeezenet1_0.yaml"}
# `netspec export` of the recursive network fails as it checks the module on random trees (not the import's part)
# sizes that fit together where the random ones (each symbolic size at 7) do not: tree rows M = L - 1
EXPORT_BIND = {"recursive_nn.yaml": ["--bind", "L=8", "--bind", "M=7"]}


def _networks() -> list[Any]:
    cases = []
    for path in sorted(SPECS.glob("*.yaml")):
        graph = netspec.analyze(path)
        for net in graph.networks.values():
            if net.params >= SMALL:
                continue
            marks = [pytest.mark.slow] if net.params >= FAST else []
            cases.append(pytest.param(path.name, net.name, marks=marks, id=f"{path.stem}-{net.name}"))
    return cases


def _load(py: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"exported_{py.stem}", py)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _export(source: Path, tmp_path: Path, network: str, capsys: Any) -> tuple[Path, str]:
    """The spec exported as Python (the export checks it against the compiled module); the file and the
    class of ``network`` in it."""
    py = tmp_path / f"{source.stem}_{network}.py"
    assert main(["export", str(source), "-o", str(py), *EXPORT_BIND.get(source.name, [])]) == 0, capsys.readouterr().err
    module = _load(py)
    root = getattr(module, module.__all__[0])()
    cls = type(root[network]) if isinstance(root, nn.ModuleDict) else type(root)
    return py, cls.__name__


def _example(model: nn.Module, shape: list[int], dtype: str) -> torch.Tensor:
    torch.manual_seed(3)
    if dtype == "long":
        vocab = min([m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)] or [2])
        return torch.randint(0, vocab, (3, *shape))
    return torch.randn(3, *shape)


def _outputs(y: Any) -> list[torch.Tensor]:
    return list(y) if isinstance(y, (tuple, list)) else [y]


def round_trip(source: Path, network: str, tmp_path: Path, capsys: Any, by_name: bool = True) -> dict[str, Any]:
    """Export ``network`` of ``source``, import it back, and compare (see the module's docstring); the
    imported spec's tree. ``by_name``: every weight loads by its name (else some may load by structure)."""
    original = netspec.analyze(source).networks[network]
    (x_type,) = original.inputs.values()
    bind = {d: LENGTH for d in x_type.shape if isinstance(d, str)}
    shape = [LENGTH if isinstance(d, str) else d for d in x_type.shape]
    py, cls = _export(source, tmp_path, network, capsys)
    done = import_model(f"{py}:{cls}", shape, input_dtype=x_type.dtype)

    # check: the original's parameters, MACs and output shapes at the same input
    before = netspec.check(source, bind=bind or None, network=network).graph.networks[network]
    after = netspec.analyze(done.text).network(None)
    torch.manual_seed(0)
    model = getattr(_load(py), cls)().eval()
    assert after.params == before.params == sum(p.numel() for p in model.parameters())
    assert after.trainable == before.trainable
    assert after.macs == before.macs
    assert [str(t) for t in after.output_types().values()] == [str(t) for t in before.output_types().values()]
    weighted = sorted((n.n_params, str(next(iter(n.outputs.values())))) for n in after.nodes if n.n_params)
    assert weighted == sorted((n.n_params, str(next(iter(n.outputs.values())))) for n in before.nodes if n.n_params)

    # the function: the exported model's weights through the importer's weights path, by name
    weights = model.state_dict()
    mine = netspec.compile(done.text, weights=weights).eval()
    assert mine.netspec_weights.complete
    if by_name:
        assert {how for *_, how in mine.netspec_weights.loaded} <= {"name"}, mine.netspec_weights.table(True)
    theirs = netspec.compile(source, network=network, weights=weights).eval()
    if isinstance(theirs, nn.ModuleDict):
        theirs = theirs[network]
    x = _example(model, shape, x_type.dtype)
    with torch.no_grad():
        a, b, c = _outputs(mine(x)), _outputs(model(x)), _outputs(theirs(x))
    assert len(a) == len(b) == len(c)
    for u, v, w in zip(a, b, c):
        assert u.shape == v.shape == w.shape
        assert torch.allclose(u, v, atol=1e-5, rtol=1e-4), float((u - v).abs().max())
        assert torch.allclose(u, w, atol=1e-5, rtol=1e-4), float((u - w).abs().max())
    return done.spec


@pytest.mark.parametrize(("spec", "network"), _networks())
def test_every_small_reference_spec_round_trips(spec: str, network: str, tmp_path: Path, capsys: Any):
    source = SPECS / spec
    net = netspec.analyze(source).networks[network]
    if len(net.inputs) > 1:  # the import runs a model on one input: the refusal names the inputs and says why
        py, cls = _export(source, tmp_path, network, capsys)
        with pytest.raises(NotImportable) as caught:
            import_model(f"{py}:{cls}", [LENGTH], input_dtype="long")
        message = str(caught.value)
        assert f"takes {len(net.inputs)} inputs" in message and "hint:" in message
        return
    # a parallel group the exporter writes as a class of its own comes back as a block holding the parallel,
    # one name deeper (squeeze-and-excitation's `se.branch2` is `se.branches.branch2`), and repeated blocks take
    # the block's name (`bneck3_1` for `bneck_1`): those weights load by structure, which the outputs confirm
    round_trip(source, network, tmp_path, capsys, by_name=spec not in BY_STRUCTURE)


def _example_spec(kind: str, index: int) -> str:
    """Kind ``kind``'s example ``index`` as a network of that one layer."""
    cls = layer_kinds()[kind]
    args, (shape,) = cls.EXAMPLES[index]
    long = cls.INPUT_DTYPE == "long"
    return yaml.safe_dump({"netspec": 1, "name": f"{kind}_{index}",
                           "input": {"shape": list(shape), **({"dtype": "long"} if long else {})},
                           "layers": [{kind: args} if args else kind]}, sort_keys=False)


def _examples() -> list[Any]:
    """Every kind's one-input examples that resolve as a network of that one layer (a few need layers around
    them, or other names: they are tested where they resolve)."""
    cases = []
    for kind, cls in sorted(layer_kinds().items()):
        for i, (_, shapes) in enumerate(cls.EXAMPLES):
            if len(shapes) != 1:
                continue
            try:
                netspec.analyze(_example_spec(kind, i))
            except NetspecError:
                continue
            cases.append(pytest.param(kind, i, id=f"{kind}-{i}"))
    return cases


@pytest.mark.parametrize(("kind", "index"), _examples())
def test_every_one_input_example_of_every_kind_round_trips(kind: str, index: int, tmp_path: Path, capsys: Any):
    """Each kind's own examples (``Layer.EXAMPLES``) as a network of one layer: what netspec's torch modules
    are built from (its options) comes back from the copied module."""
    source = tmp_path / f"{kind}_{index}.yaml"
    source.write_text(_example_spec(kind, index), encoding="utf-8")
    imported = round_trip(source, f"{kind}_{index}", tmp_path, capsys)
    # the kind's torch modules come back: the kind's, or a kind built as it is (swiglu is a gated unit, chunk a
    # split of equal sizes); an activation written as a shorthand comes back as a layer of its own
    built = [netspec.compile(text) for text in (source, yaml.safe_dump(imported))]
    classes = [{type(m).__name__ for m in b.modules()} - {type(b).__name__} for b in built]
    assert classes[0] <= classes[1]


ATTENTION = """
netspec: 1
name: attentions
input: {shape: [T, 8]}
layers:
  - attention: {heads: 2, causal: true, dropout: 0.1}
    name: causal
  - dense: 6
    name: memory
  - attention: {heads: 4, bias: false}
    from: [causal, memory]
    name: cross
  - dense: 5
    name: values
  - attention: {heads: 2}
    from: [cross, memory, values]
    name: apart
  - attention: {heads: 4, kv_heads: 2, rotary: true, rope_theta: 500.0}
    name: grouped
  - attention: {heads: 4, kv_heads: 1, bias: false, causal: true, rotary: true}
    name: multi_query
  - attention: {heads: 2, rotary: true}
    name: rotary
  - attention: {heads: 2, kv_heads: 2}
    name: separate
  - sequence_pool: mean
  - dense: 3
"""


def test_attention_in_every_form_round_trips(tmp_path: Path, capsys: Any):
    """Self, causal, cross (a memory of another width), keys and values apart, grouped-query, multi-query,
    rotary with its base, LLaMA's separate projections: each attention comes back with its options."""
    source = tmp_path / "attentions.yaml"
    source.write_text(ATTENTION, encoding="utf-8")
    spec = round_trip(source, "attentions", tmp_path, capsys)
    layers = {item["name"]: next(v for k, v in item.items() if k != "name" and k != "from") for item in spec["layers"]}
    assert layers["causal"] == {"heads": 2, "dropout": 0.1, "causal": True}
    assert layers["grouped"] == {"heads": 4, "kv_heads": 2, "rotary": True, "rope_theta": 500.0}
    assert layers["multi_query"] == {"heads": 4, "bias": False, "causal": True, "kv_heads": 1, "rotary": True}
    assert layers["separate"] == {"heads": 2, "kv_heads": 2}


BLOCKS = """
netspec: 1
name: {name}
imports: [blocks/{library}.yaml]
input: {{shape: [T], dtype: long}}
layers:
  - embedding: {{vocab: 50, dim: 16}}
  - position_embedding: {{max_len: 12}}
  - {block}
    repeat: 2
    name: layers
  - layernorm: {{}}
  - dense: 5
"""


@pytest.mark.parametrize(("library", "block"), [
    ("transformer", "encoder_layer: {dim: 16, heads: 2, mlp: 32}"),
    ("transformer", "bert_layer: {dim: 16, heads: 4, mlp: 24}"),
    ("llama", "llama_layer: {dim: 16, heads: 4, kv_heads: 2, mlp: 24, theta: 500000.0}"),
    ("llama", "llama_layer: {dim: 16, heads: 4, kv_heads: 2, mlp: 24, qkv_bias: true}"),  # Qwen2's
    ("gpt_neox", "neox_layer: {dim: 16, heads: 2, mlp: 24, rotary_pct: 0.25}"),  # parallel residual
    ("phi", "phi_layer: {dim: 16, heads: 2, mlp: 24, rotary: 0.5}"),  # one norm for both branches
])
def test_the_reference_attention_blocks_round_trip_at_a_small_width(library: str, block: str, tmp_path: Path,
                                                                    capsys: Any):
    """ViT's, BERT's, LLaMA's (and Qwen2's), GPT-NeoX's and Phi's layers (specs/blocks/, which the large reference specs repeat) at a width
    the test runs in a moment: a block of attention that is imported as attention, repeated."""
    shutil.copytree(SPECS / "blocks", tmp_path / "blocks")
    name = block.partition(":")[0].replace("_layer", "_tiny")
    source = tmp_path / f"{name}.yaml"
    source.write_text(BLOCKS.format(name=name, library=library, block=block), encoding="utf-8")
    spec = round_trip(source, name, tmp_path, capsys)
    assert Attention.KIND in kinds_in(spec)


# --- models a user brings ------------------------------------------------------------------------------------
class LSTMClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(40, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.embedding(x))
        return self.fc(h[-1])


class Pair(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + y


def _same(text: str, model: nn.Module, x: torch.Tensor) -> None:
    mine = netspec.compile(text, weights=model.state_dict()).eval()
    assert mine.netspec_weights.complete
    with torch.no_grad():
        assert torch.allclose(mine(x), model.eval()(x), atol=1e-5)


def test_a_bare_transformer_encoder_layer_imports_as_its_group():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
    done = import_model(layer, [5, 16])
    x = torch.randn(2, 5, 16)
    mine = netspec.compile(done.text, weights={f"transformer_encoder_layer.{k}": v
                                               for k, v in layer.state_dict().items()}).eval()
    with torch.no_grad():
        assert torch.allclose(mine(x), layer.eval()(x), atol=1e-5)


def test_a_bare_multihead_attention_imports_as_self_attention():
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(16, 4, batch_first=True)
    done = import_model(attention, [5, 16])
    assert kinds_in(done.spec["layers"]) >= {"heads"}
    x = torch.randn(2, 5, 16)
    mine = netspec.compile(done.text, weights={f"multihead_attention.{k}": v
                                               for k, v in attention.state_dict().items()}).eval()
    with torch.no_grad():
        assert torch.allclose(mine(x), attention.eval()(x, x, x)[0], atol=1e-5)


@pytest.mark.parametrize("model", [nn.MultiheadAttention(16, 2), nn.TransformerEncoderLayer(16, 2, 32)],
                         ids=["attention", "encoder_layer"])
def test_a_bare_sequence_first_layer_is_refused_with_the_way_out(model: nn.Module):
    with pytest.raises(NotImportable) as caught:
        import_model(model, [5, 16])
    message = str(caught.value)
    assert "batch_first=False" in message and "hint: give the layer x.transpose(0, 1)" in message


def test_an_lstm_classifier_imports():
    torch.manual_seed(0)
    model = LSTMClassifier()
    done = import_model(model, [6], input_dtype="long")
    _same(done.text, model, torch.randint(0, 40, (2, 6)))


def test_a_forward_of_two_inputs_is_refused_with_a_hint(capsys: Any):
    with pytest.raises(NotImportable) as caught:
        import_model(Pair(), [4])
    assert "forward(x, y): takes 2 inputs" in str(caught.value) and "hint:" in str(caught.value)


def test_a_users_class_named_as_netspecs_is_not_taken_for_it():
    """A class of the same name with another constructor is the user's own: traced through, not read as
    netspec's attention (a name alone does not say what a module computes)."""
    class MultiheadAttention(nn.Module):  # noqa: N801 - named as netspec's on purpose
        def __init__(self, dim: int) -> None:
            super().__init__()
            self.proj = nn.Linear(dim, dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(x)

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = MultiheadAttention(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.attention(x)

    assert own_module(MultiheadAttention(4)) is None
    torch.manual_seed(0)
    model = Model()
    done = import_model(model, [3, 4])
    assert "heads" not in kinds_in(done.spec["layers"])
    _same(done.text, model, torch.randn(2, 3, 4))


class TanhGelu(nn.Module):
    """GPT-2's MLP activation, as exported source writes it: ``F.gelu(x, approximate="tanh")``."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.gelu(self.fc(x), approximate="tanh")


def test_an_activation_function_with_its_options_is_the_activation_of_those_options():
    torch.manual_seed(0)
    model = TanhGelu()
    done = import_model(model, [6])
    assert {k for k in kinds_in(done.spec["layers"]) if k in layer_kinds()} == {"dense", "gelu_tanh"}
    _same(done.text, model, torch.randn(2, 6))
