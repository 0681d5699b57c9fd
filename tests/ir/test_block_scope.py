"""A name given as a block argument names a layer of the scope the block is USED in (lexical scoping, as a
function's argument), however deep it is passed on; errors inside a block use say which use caused them,
and a wrong name given as an argument is located at that argument."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec.core.errors import NetspecError

# The block's own layer is also called `upc`: `$skip` must still be the caller's `upc`.
CLASH_YAML = """input: [4, 8, 8]
blocks:
  up:
    params: {skip: null}
    layers:
      - conv2d: {filters: 6, kernel: 1, name: upc}
      - concat: {from: [$skip, upc]}
layers:
  - conv2d: {filters: 3, kernel: 1, name: upc}
  - up: {skip: upc}
"""
CLASH_DSL = """block up(skip) {
  upc: conv2d 6 1x1
  cat: concat from $skip, upc
}

input [4, 8, 8]
upc: conv2d 3 1x1
up skip=upc
"""


def _out_shape(text: str, file: str, tmp_path) -> tuple:
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    (net,) = netspec.analyze(str(path)).networks.values()
    (out,) = net.output_types().values()
    return out.shape


@pytest.mark.parametrize("text,file", [(CLASH_YAML, "c.yaml"), (CLASH_DSL, "c.ns")])
def test_argument_names_the_callers_layer(text, file, tmp_path):
    # concat of the outer upc (3 channels) and the block's upc (6): 3 + 6 = 9 (12 would be the inner one twice)
    assert _out_shape(text, file, tmp_path) == (9, 8, 8)


@pytest.mark.parametrize("text,file", [(CLASH_YAML, "c.yaml"), (CLASH_DSL, "c.ns")])
def test_argument_scoping_in_torch(text, file, tmp_path):
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    model = netspec.compile(str(path)).eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        y = model(x)
        outer = F.conv2d(x, model.upc.weight, model.upc.bias)  # the caller's 1×1 conv, applied by torch
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.out_channels == 6)
        inner = F.conv2d(outer, conv.weight, conv.bias)  # the block's conv follows the caller's
    assert y.shape == (2, 9, 8, 8)
    torch.testing.assert_close(y[:, :3], outer)
    torch.testing.assert_close(y[:, 3:], inner)


FORWARDED = """input: [4, 8, 8]
blocks:
  up:
    params: {skip: null}
    layers:
      - conv2d: {filters: 6, kernel: 1, name: upc}
      - concat: {from: [$skip, upc]}
  outer:
    params: {skip: null}
    layers:
      - conv2d: {filters: 5, kernel: 1, name: upc}
      - up: {skip: $skip}
layers:
  - conv2d: {filters: 3, kernel: 1, name: upc}
  - outer: {skip: upc}
"""
# written inside `outer`'s definition: `upc` is outer's own (5 channels)
LITERAL_IN_BLOCK = FORWARDED.replace("up: {skip: $skip}", "up: {skip: upc}")
# a block reading its input type (expanded by the builder once it is known): 2 × 3 channels inside
DEFERRED = CLASH_YAML.replace("filters: 6, kernel: 1, name: upc", 'filters: "${in.channels * 2}", kernel: 1, name: upc')
# a default written in the definition names the block's own layer: the inner upc twice, 6 + 6
DEFAULT = CLASH_YAML.replace("{skip: null}", "{skip: upc}").replace("- up: {skip: upc}", "- up")


@pytest.mark.parametrize("text,channels", [
    (FORWARDED, 3 + 6),  # passed on from outer to up: still the top-level upc (3), not outer's (5)
    (LITERAL_IN_BLOCK, 5 + 6),
    (DEFERRED, 3 + 6),
    (DEFAULT, 6 + 6),
])
def test_argument_scope_nested_and_deferred(text, channels, tmp_path):
    assert _out_shape(text, "n.yaml", tmp_path) == (channels, 8, 8)


def test_forwarded_argument_in_torch(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(FORWARDED, encoding="utf-8")
    model = netspec.compile(str(path)).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x)[:, :3], F.conv2d(x, model.upc.weight, model.upc.bias))


def _problem(text: str, file: str, tmp_path, hint: bool = True):
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path))
    (p,) = info.value.problems
    assert p.location is not None and p.location.file == str(path) and (p.hint or not hint), p
    return p, str(path)


def test_wrong_argument_is_located_at_the_use(tmp_path):
    p, _ = _problem(CLASH_YAML.replace("- up: {skip: upc}", "- up: {skip: upd}"), "t.yaml", tmp_path)
    assert (p.location.line, p.location.column) == (10, 10)  # the argument `skip: upd`: `  - up: {skip: upd}`
    assert "'upd' is not an earlier layer" in p.message and "'skip'" in p.message and "'up'" in p.message
    assert "upc" in p.hint


def test_forwarded_wrong_argument_is_located_where_written(tmp_path):
    p, _ = _problem(FORWARDED.replace("- outer: {skip: upc}", "- outer: {skip: upd}"), "t.yaml", tmp_path)
    assert (p.location.line, p.location.column) == (15, 13)  # `  - outer: {skip: upd}`


# up halves the size, so its concat of a full-size skip fails: in the definition (line 7), for the use at 11
HALVING = """input: [4, 8, 8]
blocks:
  up:
    params: {skip: null}
    layers:
      - conv2d: {filters: 6, kernel: 2, stride: 2, name: upc}
      - concat: {from: [$skip, upc]}
layers:
  - conv2d: {filters: 3, kernel: 1, name: upc}
  - max_pool2d: 1
  - up: {skip: upc}
"""


def test_error_inside_a_block_names_the_use(tmp_path):
    p, file = _problem(HALVING, "h.yaml", tmp_path, hint=False)
    assert p.location.line == 7
    assert p.message.endswith(f"(in block 'up', used at {file}:11:5)"), p.message


def test_error_inside_nested_blocks_names_every_use(tmp_path):
    text = HALVING.replace("  - max_pool2d: 1\n  - up: {skip: upc}\n", "  - mid: {skip: upc}\n").replace(
        "layers:\n  - conv2d: {filters: 3", "  mid:\n    params: {skip: null}\n    layers:\n      - up: {skip: $skip}\n"
        "layers:\n  - conv2d: {filters: 3")
    p, file = _problem(text, "m.yaml", tmp_path, hint=False)
    assert p.location.line == 7
    assert p.message.endswith(f"(in block 'up', used at {file}:11:9, in block 'mid', used at {file}:14:5)"), p.message


def test_unet_skip_typo_is_located_at_the_use(tmp_path):
    text = (Path(__file__).parents[2] / "specs" / "unet.ns").read_text(encoding="utf-8")
    assert "dec1: up_level 64 skip=enc1\n" in text
    p, _ = _problem(text.replace("skip=enc1", "skip=e9"), "u.ns", tmp_path)
    line = text[:text.index("dec1: up_level")].count("\n") + 1
    # `dec1: up_level 64 skip=e9`: `skip` starts at column 19 (6 + 9 + 3 characters before it)
    assert (p.location.line, p.location.column) == (line, 19)
    assert "'e9' is not an earlier layer" in p.message


# A tied output head as a block: a layer of its own is also called `wte`, with a weight of the same shape
# (16x8), so resolving `$target` inside the block would tie the wrong matrix without any error.
TIE_CLASH_YAML = """input: {shape: [5], dtype: long}
blocks:
  head:
    params: {target: null}
    layers:
      - dense: {units: 16, bias: false}
        name: wte
      - dense: {units: 16, bias: false}
        tie: {weight: $target}
        from: [x]
layers:
  - embedding: {vocab: 16, dim: 8}
    name: wte
  - dense: {units: 8, bias: false}
    name: x
  - head: {target: wte}
"""


def test_tie_argument_names_the_callers_layer(tmp_path):
    path = tmp_path / "tie.yaml"
    path.write_text(TIE_CLASH_YAML, encoding="utf-8")
    model = netspec.compile(str(path))
    params = dict(model.named_parameters(remove_duplicate=False))
    head = next(n for n in params if n.startswith("head") and n.endswith("weight") and params[n].shape == (16, 8)
                and "wte" not in n)  # the tied dense layer's weight
    assert params[head] is params["wte.weight"]
    inner = next(n for n in params if n.startswith("head") and "wte" in n)
    assert params[inner] is not params["wte.weight"]
    # counted once: wte 16*8 + x 8*8 + the block's own wte 16*8 = 320 (the head's weight is the caller's wte's)
    (report,) = netspec.check(str(path)).networks.values()
    assert report.graph.params == 320 == sum(p.numel() for p in model.parameters())


SHARED_TOWER = """inputs: {a: [64], b: [64]}
blocks: {tower: {params: {w: 32}, layers: [{dense: {units: $w, activation: relu}}, {dense: 16}]}}
layers:
  - tower: {from: a}
    name: ta
  - tower: {from: b}
    name: tb
    share: ta
  - concat: {from: [ta, tb]}
"""


def test_share_or_tie_on_a_block_use_is_refused_not_ignored(tmp_path):
    # it used to be ignored: 5,216 parameters (two towers) where sharing would give 2,608
    for option, value in (("share", "ta"), ("tie", "{weight: ta}")):
        problem, _ = _problem(SHARED_TOWER.replace("share: ta", f"{option}: {value}"), f"{option}.yaml", tmp_path,
                              hint=False)
        assert f"'{option}' applies to a layer with parameters" in problem.message
        assert (problem.location.line, problem.path) == (8, f"layers[1].{option}")


TIED_HEAD = """inputs: {ids: {shape: [16], dtype: long}}
layers:
  - embedding: {vocab: 100, dim: 32}
    name: emb
  - dense: {units: 100, bias: false}
    name: out
    tie: {weight: emb}
"""


@pytest.mark.parametrize("extra, fragment", [
    ("    trainable: false\n", "this layer is frozen (trainable: false) and 'emb' is not"),  # torch froze emb too
    ("    init: {weight: zeros}\n", "weight is tied to emb.weight, which 'emb' initialises"),  # silently ignored
])
def test_a_tied_layer_cannot_differ_from_its_owner(tmp_path, extra, fragment):
    problem, _ = _problem(TIED_HEAD + extra, "tied.yaml", tmp_path)
    assert fragment in problem.message and problem.hint


def test_a_sharing_layer_cannot_be_frozen_alone(tmp_path):
    text = ("inputs: {a: [8], b: [8]}\nlayers:\n  - dense: {units: 4, from: a}\n    name: d\n"
            "  - dense: {units: 4, from: b}\n    share: d\n    trainable: false\n")
    path = tmp_path / "shared.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError, match="share: this layer is frozen"):
        netspec.check(str(path))
    # frozen on both sides is consistent: 8*4 + 4 parameters, none trainable (torch agrees)
    path.write_text(text.replace("name: d\n", "name: d\n    trainable: false\n"), encoding="utf-8")
    (report,) = netspec.check(str(path)).networks.values()
    model = netspec.compile(str(path))
    assert report.graph.params == 36 == sum(p.numel() for p in model.parameters())
    assert report.graph.trainable == 0 == sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_an_argument_cannot_name_a_layer_inside_the_use_itself(tmp_path):
    """Arguments name the caller's layers; the dotted path of the use's own inner layer is refused, at the argument."""
    text = ("inputs: {a: [8], b: [8]}\nblocks:\n  branch:\n    params: {twin: null}\n    layers:\n"
            "      - dense: {units: 4}\n        name: enc\n      - dense: {units: 4}\n        share: $twin\n"
            "layers:\n  - branch: {twin: br.enc, from: b}\n    name: br\n")
    problem, _ = _problem(text, "inside.yaml", tmp_path)
    assert "is a layer inside this use of block 'branch'" in problem.message
    assert (problem.location.line, problem.location.column) == (11, 14)
