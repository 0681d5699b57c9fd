"""A block reads the type of its input (``$in.channels``; issue 12, "Language"): the graph builder expands
such a block where it is used, once that type is known, and what it builds is what torch builds by hand.

* widths from ``$in`` (depthwise ``groups: $in.channels``, expansion ``${in.channels * t}``, SE widths)
  compared with ``nn.Conv2d``/``nn.Linear`` modules built by hand: parameter counts, output shapes, MACs
  (torch's flop counter) and the function with the same weights;
* ``if:`` decided by ``$in`` (a residual only when the shapes allow);
* symbolic sizes stay honest: passed through where a size may be symbolic, a located error otherwise;
* problems of a deferred expansion are located in the block definition and name the use.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

import netspec
from netspec.core.errors import NetspecError, ShapeError, SpecValidationError

DEPTHWISE = """
blocks:
  depthwise:
    params: {k: 3}
    layers:
      - conv2d: {filters: $in.channels, kernel: $k, padding: "${k // 2}", groups: $in.channels, bias: false}
        name: dw
input: [24, 10, 10]
layers:
  - depthwise: {}
    name: a
  - conv2d: {filters: 40, kernel: 1}
    name: widen
  - depthwise: {k: 5}
    name: b
"""


def _macs(module: nn.Module, x: torch.Tensor) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return counter.get_total_flops() // 2


def test_depthwise_groups_from_the_input_equal_torchs_depthwise_convolutions():
    net = netspec.analyze(DEPTHWISE).network()
    theirs = nn.Sequential(nn.Conv2d(24, 24, 3, padding=1, groups=24, bias=False), nn.Conv2d(24, 40, 1),
                           nn.Conv2d(40, 40, 5, padding=2, groups=40, bias=False))
    assert net.params == sum(p.numel() for p in theirs.parameters())  # 24·9 + (24·40 + 40) + 40·25
    assert [tuple(s) for n in net.nodes for s in n.params.values()] == [tuple(p.shape) for p in theirs.parameters()]
    x = torch.randn(2, 24, 10, 10)
    assert net.macs == _macs(theirs, x[:1])
    ours = netspec.compile(DEPTHWISE).eval()
    with torch.no_grad():
        for mine, their in zip(ours.parameters(), theirs.parameters(), strict=True):
            mine.copy_(their)
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


INVERTED = """
blocks:
  inverted:
    params: {out: null, t: 6, stride: 1}
    layers:
      - residual:
          shortcut: identity
          layers:
            - conv2d: {filters: "${in.channels * t}", kernel: 1, bias: false}
            - relu6: {}
            - conv2d: {filters: "${in.channels * t}", kernel: 3, padding: 1, groups: "${in.channels * t}",
                       bias: false}
            - conv2d: {filters: $out, kernel: 1, bias: false}
        if: ${stride == 1 and in.channels == out}
      - sequential:
          layers:
            - conv2d: {filters: "${in.channels * t}", kernel: 1, bias: false}
            - relu6: {}
            - conv2d: {filters: "${in.channels * t}", kernel: 3, stride: $stride, padding: 1,
                       groups: "${in.channels * t}", bias: false}
            - conv2d: {filters: $out, kernel: 1, bias: false}
        if: ${not (stride == 1 and in.channels == out)}
input: [8, 16, 16]
layers:
  - inverted: {out: 8}
  - inverted: {out: 12, stride: 2}
  - inverted: {out: 12, t: 4}
"""


class _Inverted(nn.Module):
    def __init__(self, cin: int, out: int, t: int, stride: int) -> None:
        super().__init__()
        hidden = cin * t
        self.body = nn.Sequential(nn.Conv2d(cin, hidden, 1, bias=False), nn.ReLU6(),
                                  nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                  nn.Conv2d(hidden, out, 1, bias=False))
        self.skip = stride == 1 and cin == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + x if self.skip else self.body(x)


def test_if_on_in_chooses_the_residual_exactly_where_torch_would_add():
    net = netspec.analyze(INVERTED).network()
    theirs = nn.Sequential(_Inverted(8, 8, 6, 1), _Inverted(8, 12, 6, 2), _Inverted(12, 12, 4, 1)).eval()
    # residual only for the first (8 → 8, stride 1) and third (12 → 12, stride 1) uses
    assert [g.kind for g in net.groups.values() if g.block] == ["sequential", "sequential", "sequential"]
    assert [g.kind for g in net.groups.values() if not g.block] == ["residual", "sequential", "residual"]
    assert sum(1 for n in net.nodes if n.role == "residual") == 2
    assert net.params == sum(p.numel() for p in theirs.parameters())
    x = torch.randn(2, 8, 16, 16)
    assert net.macs == _macs(theirs, x[:1])
    assert tuple(net.output_types()[next(iter(net.output_types()))].shape) == (12, 8, 8)
    ours = netspec.compile(INVERTED).eval()
    with torch.no_grad():
        for mine, their in zip(ours.parameters(), theirs.parameters(), strict=True):
            mine.copy_(their)
        assert torch.allclose(ours(x), theirs(x), atol=1e-5)


SE = """
blocks:
  se:
    params: {ratio: 4}
    layers:
      - parallel:
          merge: multiply
          branches:
            - []
            - - global_avg_pool: {}
              - dense: "${in.channels // ratio}"
              - relu: {}
              - dense: $in.channels
              - sigmoid: {}
              - reshape: ["$in.channels", 1, 1]
input: [16, 6, 6]
layers:
  - se: {}
  - conv2d: {filters: 32, kernel: 1}
  - se: {ratio: 8}
"""


def test_squeeze_excitation_widths_from_the_input():
    net = netspec.analyze(SE).network()
    # se on 16 channels: 16·4 + 4 + 4·16 + 16 = 148; conv 16·32 + 32 = 544;
    # se on 32 with ratio 8: 32·4 + 4 + 4·32 + 32 = 292
    theirs = [nn.Linear(16, 4), nn.Linear(4, 16), nn.Conv2d(16, 32, 1), nn.Linear(32, 4), nn.Linear(4, 32)]
    assert net.params == sum(p.numel() for m in theirs for p in m.parameters()) == 148 + 544 + 292


def test_a_block_inside_a_block_reads_its_own_input():
    text = """
blocks:
  double:
    params: {}
    layers:
      - dense: "${in.features * 2}"
  outer:
    params: {}
    layers:
      - dense: "${in.features + 1}"
      - double: {}
input: [5]
layers:
  - outer: {}
  - outer: {}
"""
    net = netspec.analyze(text).network()
    # 5 → 6 → 12 → 13 → 26: in of `double` is outer's dense output, not outer's input
    assert [n.outputs["out"].shape for n in net.nodes] == [(6,), (12,), (13,), (26,)]
    assert net.params == sum(a * b + b for a, b in [(5, 6), (6, 12), (12, 13), (13, 26)])


def test_a_symbolic_size_is_never_a_wrong_number():
    text = """blocks:
  wide:
    params: {t: 4}
    layers:
      - dense: "${in.features * t}"
      - reshape: [$in.channels, 8, "${in.features * t // 8}"]
input: [T, 16]
layers:
  - wide: {}
"""
    # in.features is known (16 → dense 64 → (T, 64)); in.channels is T, which no layer option takes as a
    # size (reshape's -1 does that): a located error naming the use, not a guess
    with pytest.raises(SpecValidationError) as info:
        netspec.analyze(text)
    [problem] = [str(p) for p in info.value.problems]
    assert problem == ("<string>:6:19: layers[0]→wide.layers[1].shape[0]: expected an integer; got 'T' "
                       "(in block 'wide' used at <string>:9:5)")
    # bound, the sizes are numbers: (7, 16) → (7, 64) → (7, 8, 16 · 4 // 8 = 8)
    assert netspec.analyze(text, bind={"T": 7}).network().nodes[-1].outputs["out"].shape == (7, 8, 8)


def test_arithmetic_on_a_symbolic_size_is_a_located_error_naming_the_use():
    text = """blocks:
  wide:
    params: {t: 4}
    layers:
      - dense: "${in.channels * t}"
input: [T, 16]
layers:
  - dense: 8
  - wide: {}
"""
    with pytest.raises(SpecValidationError) as info:
        netspec.analyze(text)
    [problem] = info.value.problems
    assert str(problem).startswith("<string>:5:16: layers[1]→wide.layers[0].units: in '${in.channels * t}': "
                                   "'T' is a symbolic size of the block's input: arithmetic on it is not known")
    assert problem.message.endswith("(in block 'wide' used at <string>:9:5)")
    assert problem.hint.startswith("bind the symbol to a number")
    # bound, the same spec is a number: (7, 8) → dense 7·4 = 28
    net = netspec.analyze(text, bind={"T": 7}).network()
    assert net.nodes[-1].outputs["out"].shape == (7, 28)


def test_problems_of_a_deferred_expansion_are_all_located_in_file_order_with_their_uses():
    text = """blocks:
  inner:
    params: {}
    layers:
      - dense: {units: "${in.features * 2}", bias: maybe}
  outer:
    params: {}
    layers:
      - dense: {units: "${in.feature}"}
      - dense: {units: $in.features, activation: rleu}
      - inner: {}
input: [8]
layers:
  - outer: {}
"""
    with pytest.raises(SpecValidationError) as info:
        netspec.check(text)
    problems = [str(p) for p in info.value.problems]
    # outer's expression fails: its own body is reported, the use named
    assert len(problems) == 1
    assert problems[0].startswith("<string>:9:24: layers[0]→outer.layers[0].units: in '${in.feature}': "
                                  "in.feature is not known")
    assert problems[0].split("\n")[0].endswith("(in block 'outer' used at <string>:14:5)")
    fixed = text.replace("${in.feature}", "${in.features}")
    with pytest.raises(SpecValidationError) as info:
        netspec.check(fixed)
    problems = [str(p) for p in info.value.problems]
    assert len(problems) == 1 and problems[0].startswith("<string>:10:50: layers[0]→outer.layers[1].activation")
    assert problems[0].split("\n")[0].endswith("got 'rleu' (in block 'outer' used at <string>:14:5)")
    fixed = fixed.replace("rleu", "relu")
    with pytest.raises(SpecValidationError) as info:
        netspec.check(fixed)
    [problem] = [str(p) for p in info.value.problems]
    # the inner block's problem names both uses, innermost first
    assert problem.startswith("<string>:5:52: layers[0]→outer.layers[2]→inner.layers[0].bias: expected true or false")
    assert problem.endswith("(in block 'inner' used at <string>:11:9, in block 'outer' used at <string>:14:5)")


def test_shape_errors_inside_a_deferred_block_are_located_at_the_layer():
    text = """blocks:
  bad:
    params: {}
    layers:
      - conv2d: {filters: $in.channels, kernel: 9}
input: [3, 4, 4]
layers:
  - bad: {}
"""
    with pytest.raises(ShapeError) as info:
        netspec.check(text)
    # (4 + 0 − 9) / 1 + 1 = −4: located at the convolution's kernel in the block definition (the 9, column
    # 49 of "      - conv2d: {filters: $in.channels, kernel: 9"), the node named
    assert str(info.value).startswith("<string>:5:49: layers[0]→bad.layers[0].kernel (bad_1.conv2d_1): height 4 → ")


def test_a_deferred_block_use_keeps_its_name_and_from():
    text = """
blocks:
  same:
    params: {}
    layers:
      - dense: $in.features
input: [6]
layers:
  - dense: 4
    name: a
  - dense: 9
  - same: {}
    name: back
    from: a
"""
    net = netspec.analyze(text).network()
    assert [n.name for n in net.nodes] == ["a", "dense_1", "back.dense_1"]
    assert net.nodes[-1].outputs["out"].shape == (4,)  # read from a: 4 features, so 4 units


def test_many_deferred_uses_stay_within_the_layer_cap():
    from netspec.spec.expand import MAX_LAYERS

    text = f"""
blocks:
  b:
    params: {{}}
    layers:
      - relu: {{}}
        repeat: ${{in.features * 0 + 1000}}
input: [4]
layers:
  - b: {{}}
    repeat: {MAX_LAYERS // 1000 + 2}
"""
    with pytest.raises(NetspecError) as info:
        netspec.analyze(text)
    # the copies of one use are bounded before they are made, counting every use expanded before it
    assert f"larger than {MAX_LAYERS:,} layers (in block 'b' used at <string>:10:5)" in str(info.value)


def test_check_of_a_spec_with_deferred_blocks_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = ("import sys; from netspec.cli.main import main; rc = main(['check', 'specs/efficientnet_b0.yaml']); "
            "print('IMPORTED', [m for m in ('torch', 'graphviz') if m in sys.modules]); sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "IMPORTED []" in r.stdout


def test_building_the_same_spec_again_and_again_does_not_use_up_the_layer_cap(monkeypatch):
    import netspec.spec.expand as expand

    monkeypatch.setattr(expand, "MAX_LAYERS", 60)  # DEPTHWISE: 3 items, and 1 layer per deferred use
    spec = netspec.load(DEPTHWISE)
    # 40 builds · 2 deferred layers > 60: each build counts from the spec's own expansion, not from the builds before
    for _ in range(40):
        netspec.analyze(spec)


def test_a_parameter_default_may_read_the_input():
    text = """
blocks:
  mlp:
    params: {t: 4, hidden: "${in.features * t}"}
    layers:
      - dense: $hidden
      - dense: $in.features
input: [5]
layers:
  - mlp: {}
  - mlp: {t: 2}
  - mlp: {hidden: 3}
"""
    net = netspec.analyze(text).network()
    # 5 → 20 → 5 (t = 4), 5 → 10 → 5 (t = 2), 5 → 3 → 5 (hidden given)
    assert [n.outputs["out"].shape[0] for n in net.nodes] == [20, 5, 10, 5, 3, 5]
    assert [g.label for g in net.groups.values()] == ["mlp", "mlp(t=2)", "mlp(hidden=3)"]
