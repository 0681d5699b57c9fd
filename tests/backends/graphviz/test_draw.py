"""`netspec draw`: DOT-level structure (nodes, edges, labels, clusters, collapse, several networks,
failing specs, unrolling), real renders with Graphviz, the missing-`dot` path and the CLI.

Expected numbers are derived by hand from the specs written here (the arithmetic is in comments).
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import netspec
from netspec.api import render_diagram
from netspec.backends.graphviz import render
from netspec.backends.graphviz.style import FAILED_LINE, FAMILY_COLORS, LINK_COLOR, SHORTCUT_COLOR
from netspec.backends.graphviz.view import AUTO_MAX_ITEMS
from netspec.cli.main import main
from netspec.core.errors import BuildError, UsageError
from netspec.core.types import Ref, TensorType
from netspec.ir.graph import Graph, NetGraph, Node
from netspec.layers import layer_kinds

ROOT = Path(__file__).resolve().parents[3]
SPECS = ROOT / "specs"


# --- a small DOT reader -------------------------------------------------------------------------------

class Dot:
    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes: dict[str, str] = {}
        self.edges: list[tuple[str, str, str]] = []
        self.clusters = re.findall(r'subgraph "cluster_([^"]+)"', text)
        for line in text.splitlines():
            m = re.match(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$', line)
            if m:
                self.edges.append((m.group(1), m.group(2), m.group(3)))
                continue
            m = re.match(r'^\s*"([^"]+)" \[(.*)\];$', line)
            if m:
                self.nodes[m.group(1)] = m.group(2)

    def text_of(self, node: str) -> str:
        """The visible text of a node's label (HTML tags dropped)."""
        attrs = self.nodes[node]
        label = re.search(r"label=<(.*)>(?= tooltip| shape|$)", attrs)
        raw = label.group(1) if label else attrs
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())

    def edge(self, src: str, dst: str) -> str:
        hits = [a for s, d, a in self.edges if s == src and d == dst]
        assert hits, f"no edge {src} -> {dst}; edges: {[(s, d) for s, d, _ in self.edges]}"
        return hits[0]

    def has_edge(self, src: str, dst: str) -> bool:
        return any(s == src and d == dst for s, d, _ in self.edges)

    def caption(self) -> str:
        m = re.search(r"^  label=<(.*)>;$", self.text, re.M)
        assert m, "no caption"
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(1))).split())


def dot(source, **kw) -> Dot:
    return Dot(netspec.to_dot(source, **kw))


LENET = """
name: lenet
input: [1, 32, 32]
layers:
  - conv2d: {filters: 6, kernel: 5, activation: tanh}
    name: conv1
  - avg_pool2d: {kernel: 2, stride: 2}
    name: pool1
  - conv2d: {filters: 16, kernel: 5, activation: tanh}
    name: conv2
  - avg_pool2d: {kernel: 2, stride: 2}
    name: pool2
  - flatten
  - dense: {units: 120, activation: tanh}
    name: fc1
  - dense: 10
    name: fc2
"""

# Residual blocks: block1 keeps (8, 16, 16) (identity shortcut); block2 halves the size and doubles the
# width (projection shortcut: 1×1 conv + batch norm); then three identical blocks (repeat: 3).
RESNET = """
name: resdemo
input: [8, 16, 16]
blocks:
  res:
    params: {w: null, stride: 1}
    residual: true
    activation: relu
    layers:
      - conv2d: {filters: $w, kernel: 3, stride: $stride, padding: 1, bias: false}
      - batchnorm2d
      - relu
      - conv2d: {filters: $w, kernel: 3, padding: 1, bias: false}
      - batchnorm2d
layers:
  - res: {w: 8}
    name: block1
  - res: {w: 16, stride: 2}
    name: block2
  - res: {w: 16}
    repeat: 3
    name: stage
  - global_avg_pool
  - flatten
  - dense: 10
"""
# Parameters: block1 = 2·(8·8·9) + 2·(2·8) = 1,184
#             block2 = 16·8·9 + 32 + 16·16·9 + 32 + (projection 16·8 + 32) = 3,680
#             each repeated block = 2·(16·16·9) + 2·32 = 4,672; ×3 = 14,016
#             dense = 16·10 + 10 = 170; total 19,050
BLOCK1, BLOCK2, REPEATED, DENSE = 1184, 3680, 4672, 170

INCEPTION = """
name: incdemo
input: [16, 8, 8]
blocks:
  inc:
    params: {a: null, b: null}
    layers:
      - parallel:
          name: branches
          branches:
            - [{conv2d: {filters: $a, kernel: 1}}]
            - [{conv2d: {filters: 4, kernel: 1}}, {conv2d: {filters: $b, kernel: 3, padding: 1}}]
            - [{max_pool2d: {kernel: 3, stride: 1, padding: 1}}, {conv2d: {filters: 4, kernel: 1}}]
layers:
  - inc: {a: 8, b: 12}
    name: inc1
  - inc: {a: 4, b: 4}
    name: inc2
"""
# inc1 concat: 8 + 12 + 4 = 24 channels → (24, 8, 8); inc2: 4 + 4 + 4 = 12 → (12, 8, 8).

GAN = """
name: gan
networks:
  generator:
    input: [16]
    layers:
      - dense: {units: 64, activation: relu}
      - reshape: [1, 8, 8]
  discriminator:
    input: {from: generator}
    layers:
      - flatten
      - dense: {units: 1, activation: sigmoid}
"""

# LeNet with a 28×28 input: 28 →conv5→ 24 →pool→ 12 →conv5→ 8 →pool→ 4 →conv5→ 0: conv3 fails.
FAILING = """
name: lenet_typo
input: [1, 28, 28]
layers:
  - conv2d: {filters: 6, kernel: 5}
    name: conv1
  - max_pool2d: 2
    name: pool1
  - conv2d: {filters: 16, kernel: 5}
    name: conv2
  - max_pool2d: 2
    name: pool2
  - conv2d: {filters: 120, kernel: 5}
    name: conv3
  - flatten
  - dense: 10
    name: fc
"""


# --- nodes, labels, edges -----------------------------------------------------------------------------

def test_lenet_nodes_labels_and_edge_shapes():
    d = dot(LENET)
    names = ["conv1", "pool1", "conv2", "pool2", "flatten_1", "fc1", "fc2"]
    for n in names:
        assert f"lenet/{n}" in d.nodes
    assert "lenet/input:input" in d.nodes
    conv1 = d.text_of("lenet/conv1")
    # the notes' notation, the output shape (32 - 5 + 1 = 28) and 6·1·5·5 + 6 = 156 parameters
    assert "conv1" in conv1 and "conv 5×5 ×6 /1 + tanh" in conv1
    assert "(6, 28, 28)" in conv1 and "156 params" in conv1
    assert "(16, 10, 10)" in d.text_of("lenet/conv2") and "2,416 params" in d.text_of("lenet/conv2")  # 16·6·25 + 16
    assert "48,120 params" in d.text_of("lenet/fc1")  # 400·120 + 120
    assert "params" not in d.text_of("lenet/pool1")  # no parameters, no count
    # the chain, each edge labelled with the tensor it carries
    chain = ["input:input", *names]
    assert len(d.edges) == len(chain) - 1
    for a, b in zip(chain, chain[1:]):
        d.edge(f"lenet/{a}", f"lenet/{b}")
    assert "(6, 28, 28)" in d.edge("lenet/conv1", "lenet/pool1")
    assert "(400,)" in d.edge("lenet/flatten_1", "lenet/fc1")  # 16·5·5
    # colours by family, and a legend naming the families drawn
    assert FAMILY_COLORS["conv"] in d.nodes["lenet/conv1"]
    assert FAMILY_COLORS["dense"] in d.nodes["lenet/fc1"]
    cap = d.caption()
    assert "lenet" in cap and "conv" in cap and "pool" in cap and "dense" in cap
    # no clusters for a plain chain
    assert d.clusters == []


def test_no_shapes_no_params_and_rankdir():
    d = dot(LENET, shapes=False, params=False, rankdir="LR")
    assert "rankdir=LR" in d.text
    text = d.text_of("lenet/conv1")
    assert "conv 5×5 ×6 /1" in text
    assert "(6, 28, 28)" not in text and "params" not in text
    assert all("label" not in attrs for _, _, attrs in d.edges)
    assert "params" not in d.caption()


def test_residual_clusters_merges_and_shortcuts():
    assert netspec.analyze(RESNET).network().params == BLOCK1 + BLOCK2 + 3 * REPEATED + DENSE == 19050
    d = dot(RESNET, depth=9, collapse_repeats=False)
    # blocks are clusters (with their block label), the projection shortcut a cluster inside block2
    for c in ("resdemo/block1", "resdemo/block2", "resdemo/block2.shortcut", "resdemo/stage",
              "resdemo/stage.res_1", "resdemo/stage.res_2", "resdemo/stage.res_3"):
        assert c in d.clusters
    assert "res(w=16, stride=2)" in d.text and "residual" in d.text
    # the residual add is a small circle with "+" (and the block's relu)
    add = d.nodes["resdemo/block1.add"]
    assert 'shape="circle"' in add and "<b>+</b>" in add and "relu" in add
    # identity shortcut: the block input goes straight to the add, dashed; the body's last layer solid
    sc = d.edge("resdemo/input:input", "resdemo/block1.add")
    assert 'style="dashed"' in sc and SHORTCUT_COLOR in sc
    assert "dashed" not in d.edge("resdemo/block1.batchnorm2d_2", "resdemo/block1.add")
    # projection shortcut: into the 1×1 conv and out of its batch norm, both dashed
    assert "dashed" in d.edge("resdemo/block1.add", "resdemo/block2.shortcut.conv")
    assert "dashed" in d.edge("resdemo/block2.shortcut.bn", "resdemo/block2.add")
    assert "conv 1×1 ×16 /2" in d.text_of("resdemo/block2.shortcut.conv")
    assert "(16, 8, 8)" in d.edge("resdemo/block2.add", "resdemo/stage.res_1.conv2d_1")
    assert "shortcut" in d.caption()  # legend entry for the dashed edges


def test_parallel_branches_and_concat():
    d = dot(INCEPTION, depth=9)
    # the block holding one parallel is drawn as one cluster named after the block instance
    assert "incdemo/inc1.branches" in d.clusters and "incdemo/inc1" not in d.clusters
    assert "inc1: inc(a=8, b=12)" in d.text
    assert "incdemo/inc1.branches.branch2" in d.clusters
    merge = "incdemo/inc1.branches.merge"
    assert 'shape="circle"' in d.nodes[merge] and "‖" in d.nodes[merge]
    into = [s for s, t, _ in d.edges if t == merge]
    assert sorted(into) == sorted(["incdemo/inc1.branches.branch1.conv2d_1", "incdemo/inc1.branches.branch2.conv2d_2",
                                   "incdemo/inc1.branches.branch3.conv2d_1"])
    assert all("dashed" not in d.edge(s, merge) for s in into)  # branches are not skips
    # the concat output: 8 + 12 + 4 channels
    assert "(24, 8, 8)" in d.edge(merge, "incdemo/inc2.branches.branch1.conv2d_1")
    # the input fans out to three branches; its shape is written once
    fan = [a for s, _, a in d.edges if s == "incdemo/input:input"]
    assert len(fan) == 3 and sum("label=" in a for a in fan) == 1


def test_depth_collapses_blocks_with_totals_and_shapes():
    d = dot(RESNET, depth=0)
    assert d.clusters == []
    b1, b2, stage = d.text_of("resdemo/block1"), d.text_of("resdemo/block2"), d.text_of("resdemo/stage")
    assert "res(w=8)" in b1 and "1,184 params" in b1 and "(8, 16, 16)" in b1
    assert "res(w=16, stride=2)" in b2 and "3,680 params" in b2 and "(16, 8, 8)" in b2
    # the repeat group: three copies of one block, marked ×3, their total 3 · 4,672
    assert "×3" in stage and "14,016 params" in stage and "(16, 8, 8)" in stage
    assert 'shape="box3d"' in d.nodes["resdemo/stage"]
    # nothing inside a collapsed block is drawn; the chain runs block to block
    assert not any("block1." in n for n in d.nodes)
    d.edge("resdemo/input:input", "resdemo/block1")
    d.edge("resdemo/block1", "resdemo/block2")
    assert "(16, 8, 8)" in d.edge("resdemo/block2", "resdemo/stage")
    d.edge("resdemo/stage", "resdemo/global_avg_pool_1")
    assert "collapsed block" in d.caption()


def test_collapse_repeats_inside_expanded_view():
    on = dot(RESNET, depth=9, collapse_repeats=True)
    # block1 and block2 differ; the three repeated copies become one box (the redundant cluster dropped)
    assert "resdemo/block1" in on.clusters and "resdemo/block2" in on.clusters
    assert "resdemo/stage" not in on.clusters and "resdemo/stage.res_1" in on.nodes  # a box named after the group
    run = on.text_of("resdemo/stage.res_1")
    assert run.startswith("stage ") and "res(w=16)" in run and "×3" in run and "14,016 params" in run
    assert 'shape="box3d"' in on.nodes["resdemo/stage.res_1"]
    assert not any(n.startswith("resdemo/stage.res_2") for n in on.nodes)
    off = dot(RESNET, depth=9, collapse_repeats=False)
    assert "resdemo/stage.res_1" not in off.nodes
    assert sum(1 for n in off.nodes if n.startswith("resdemo/stage.")) == 3 * 6  # 5 layers + add per copy


def test_depth_one_keeps_top_blocks_and_collapses_inner():
    d = dot(RESNET, depth=1, collapse_repeats=False)
    assert "resdemo/block2" in d.clusters
    # the shortcut group is at depth 2: one box with its 16·8 + 32 = 160 parameters
    assert "resdemo/block2.shortcut" not in d.clusters
    assert "160 params" in d.text_of("resdemo/block2.shortcut")
    assert "dashed" in d.edge("resdemo/block1.add", "resdemo/block2.shortcut")
    assert "resdemo/stage" in d.clusters  # the repeat group, its copies collapsed inside it
    assert all(f"resdemo/stage.res_{i}" in d.nodes for i in (1, 2, 3))


def _resnet_like(counts: tuple[int, ...]) -> str:
    """A ResNet in the reference specs' style (stride expression on the first copy of each stage)."""
    text = RESNET.split("layers:\n  - res")[0].replace("[8, 16, 16]", "[3, 64, 64]")
    text += "layers:\n  - conv2d: {filters: 8, kernel: 3, padding: 1}\n"
    for i, n in enumerate(counts):
        text += (f"  - res: {{w: {8 * 2 ** i}, stride: \"${{2 if i == 0 and {i} > 0 else 1}}\"}}\n"
                 f"    repeat: {n}\n    name: layer{i + 1}\n")
    return text + "  - global_avg_pool\n  - dense: 10\n"


def test_auto_depth_is_readable_for_a_resnet152_layout():
    spec = _resnet_like((3, 8, 36, 3))
    g = netspec.analyze(spec).network()
    assert len(g.nodes) > 300  # 50 blocks of 6 layers, plus projections
    d = dot(spec)
    boxes = [n for n in d.nodes]
    assert len(boxes) <= AUTO_MAX_ITEMS
    # each stage shows its first block and the run of identical copies after it: ×2, ×7, ×35, ×2
    text = d.text
    for n in (2, 7, 35):
        assert f"×{n}" in text


def test_repeats_collapse_only_when_every_copy_would_not_read():
    # automatic: the small net draws its three copies (the insides of a repeated block stay visible, as a
    # user drawing a 2-layer Transformer expects); the ResNet-152 layout above collapses its runs
    small = dot(RESNET)
    assert "resdemo/stage.res_1" in small.clusters and "resdemo/stage.res_3" in small.clusters
    assert not any("box3d" in attrs for attrs in small.nodes.values())  # no run box
    assert sum(1 for n in small.nodes if n.startswith("resdemo/stage.")) == 3 * 6  # 5 layers + add per copy
    big = dot(_resnet_like((3, 8, 36, 3)))
    assert "×35" in big.text


def _googlenet_like() -> str:
    text = INCEPTION.split("layers:\n  - inc")[0].replace("[16, 8, 8]", "[3, 64, 64]")
    text += "layers:\n  - conv2d: {filters: 16, kernel: 3, padding: 1}\n"
    for k in range(9):
        text += f"  - inc: {{a: {8 + k}, b: 12}}\n    name: inc{k + 1}\n"
    return text + "  - global_avg_pool\n  - dense: 10\n"


def test_auto_depth_keeps_inception_branches_visible():
    d = dot(_googlenet_like())
    assert len(d.nodes) <= AUTO_MAX_ITEMS
    merges = [n for n, a in d.nodes.items() if "‖" in a]
    assert len(merges) == 9  # one concat per module: the branches are still drawn
    for k in range(1, 10):
        assert f"incdemo/inc{k}.branches" in d.clusters


# --- several networks --------------------------------------------------------------------------------

def test_networks_side_by_side_with_the_link():
    d = dot(GAN)
    assert "generator/" in d.clusters and "discriminator/" in d.clusters
    link = d.edge("generator/reshape_1", "discriminator/input:input")
    assert LINK_COLOR in link and "(1, 8, 8)" in link and 'constraint="false"' in link
    assert "from generator" in d.text_of("discriminator/input:input")
    assert "between networks" in d.caption()
    # generator 16·64 + 64 = 1,088; discriminator 64·1 + 1 = 65
    assert "1,088 params" in d.text and "65 params" in d.text
    one = dot(GAN, network="discriminator")
    assert not any(n.startswith("generator/") for n in one.nodes)
    assert "discriminator/dense_1" in one.nodes
    with pytest.raises(netspec.NetspecError, match="no network 'critic'"):
        netspec.to_dot(GAN, network="critic")


def test_encoder_decoder_link_is_a_ranked_edge():
    spec = """
name: encdec
networks:
  encoder:
    input: [12]
    layers:
      - dense: 4
  decoder:
    inputs:
      z: {from: encoder}
      cond: [3]
    layers:
      - concat: {from: [z, cond]}
      - dense: 12
"""
    d = dot(spec)
    link = d.edge("encoder/dense_1", "decoder/input:z")
    assert LINK_COLOR in link and "constraint" not in link  # the decoder is pulled down beside the encoder
    # a merge that names its inputs: the second one is drawn as a skip
    assert "dashed" in d.edge("decoder/input:cond", "decoder/concat_1")


# --- failing specs ------------------------------------------------------------------------------------

def test_failing_spec_is_drawn_up_to_the_failure():
    d = dot(FAILING)
    for n in ("conv1", "pool1", "conv2", "pool2"):
        assert f"lenet_typo/{n}" in d.nodes
    failed = "lenet_typo/failed:conv3"
    assert failed in d.nodes and FAILED_LINE in d.nodes[failed]
    assert "conv 5×5 ×120 /1" in d.text_of(failed)
    d.edge("lenet_typo/pool2", failed)
    assert "(16, 4, 4)" in d.edge("lenet_typo/pool2", failed)
    assert "lenet_typo/fc" not in d.nodes and "lenet_typo/flatten_1" not in d.nodes
    cap = d.caption()
    assert "shape inference failed" in cap and "conv3" in cap and "height 4" in cap


def test_failing_residual_add_is_red_inside_its_block():
    spec = """
name: broken
input: [3, 16, 16]
blocks:
  down:
    params: {w: null}
    residual: true
    shortcut: identity
    layers:
      - conv2d: {filters: $w, kernel: 3, padding: 1, stride: 2}
layers:
  - conv2d: {filters: 4, kernel: 3, padding: 1}
  - down: {w: 4}
    name: blk
"""
    d = dot(spec)
    failed = "broken/failed:blk.add"
    assert "broken/blk" in d.clusters and failed in d.nodes
    # fed by the body (4, 8, 8) and the block input (4, 16, 16): the shapes that do not add up
    assert "(4, 8, 8)" in d.edge("broken/blk.conv2d_1", failed)
    assert FAILED_LINE in d.edge("broken/conv2d_1", failed)
    assert "(4, 16, 16)" in d.edge("broken/conv2d_1", "broken/blk.conv2d_1")  # its shape, written once
    assert "add needs equal shapes" in d.caption()


def test_failing_second_network_keeps_the_first():
    spec = GAN.replace("      - flatten\n", "      - conv2d: {filters: 4, kernel: 9}\n")  # 9 > 8
    d = dot(spec)
    assert "generator/dense_1" in d.nodes and "generator/reshape_1" in d.nodes
    assert any(n.startswith("discriminator/failed:") for n in d.nodes)
    d.edge("generator/reshape_1", "discriminator/input:input")
    assert "shape inference failed" in d.caption()
    # drawing only the generator: nothing failed there
    assert "failed" not in dot(spec, network="generator").caption()


def test_a_network_after_the_failure_raises_it():
    spec = GAN.replace("reshape: [1, 8, 8]", "reshape: [1, 8, 9]")  # 64 values cannot make 1·8·9 = 72
    with pytest.raises(netspec.ShapeError):  # the discriminator was never built: the failure is the answer
        netspec.to_dot(spec, network="discriminator")
    assert "generator/failed:reshape_1" in dot(spec).nodes
    with pytest.raises(netspec.NetspecError, match="no network 'critic'"):
        netspec.to_dot(spec, network="critic")


def test_invalid_spec_still_raises():
    with pytest.raises(netspec.SpecValidationError):
        netspec.to_dot("name: x\ninput: [3]\nlayers:\n  - dense: {unitz: 3}\n")


def test_bad_options():
    with pytest.raises(UsageError, match="depth"):
        netspec.to_dot(LENET, depth=-1)
    with pytest.raises(UsageError, match="unroll"):
        netspec.to_dot(LENET, unroll=100)
    with pytest.raises(UsageError, match="rankdir"):
        netspec.to_dot(LENET, rankdir="XY")
    with pytest.raises(UsageError, match="did you mean 'depth'"):
        netspec.to_dot(LENET, dept=2)


# --- recurrent layers unrolled through time ----------------------------------------------------------

def _rnn_graph(seq_out: bool) -> Graph:
    """A hand-made IR: a recurrent layer of an unregistered kind (only its family matters to the
    diagram) and a head. ``layer=None``: the diagram reads the IR, never the layer objects."""
    x = TensorType((5, 3))
    out = TensorType((5, 4) if seq_out else (4,))
    rnn = Node(name="rnn", kind="toy_rnn", label="toy_rnn 4", family="recurrent", layer=None,  # type: ignore[arg-type]
               inputs=(Ref("x"),), in_types=(x,), outputs={"out": out}, params={"w": (4, 7)}, buffers={}, macs=0,
               rf=None, group="", location=None, path="")
    head = Node(name="head", kind="toy_dense", label="toy_dense", family="dense", layer=None,  # type: ignore[arg-type]
                inputs=(Ref("rnn"),), in_types=(out,), outputs={"out": TensorType((2,))}, params={}, buffers={},
                macs=0, rf=None, group="", location=None, path="")
    net = NetGraph("toy", {"x": x}, {"x": None}, [rnn, head], {}, {"head": Ref("head")})
    return Graph("toy", {"toy": net})


def test_unroll_last_step_output():
    d = dot(_rnn_graph(seq_out=False), unroll=3)
    steps = ["toy/rnn@t1", "toy/rnn@t2", "toy/rnn@t3", "toy/rnn@t…"]
    assert all(s in d.nodes for s in steps) and "toy/rnn" not in d.nodes
    assert "toy/rnn@unrolled" in d.clusters
    for a, b in zip(steps, steps[1:]):  # the state passed along
        assert ">h<" in d.edge(a, b)
    for s in steps[:3]:  # each step reads x_t: (5, 3) → (3,)
        assert "(3,)" in d.edge("toy/input:x", s)
    assert d.has_edge("toy/rnn@t…", "toy/head") and not d.has_edge("toy/rnn@t1", "toy/head")
    # without unroll: one box
    plain = dot(_rnn_graph(seq_out=False))
    assert "toy/rnn" in plain.nodes and "toy_rnn 4" in plain.text_of("toy/rnn")


def test_unroll_sequence_output_and_short_sequences():
    d = dot(_rnn_graph(seq_out=True), unroll=5)  # T = 5 steps: all drawn, no ellipsis
    steps = [f"toy/rnn@t{i}" for i in range(1, 6)]
    assert all(s in d.nodes for s in steps) and "toy/rnn@t…" not in d.nodes
    for s in steps:
        assert "(4,)" in d.edge(s, "toy/head")  # y_t: (5, 4) → (4,)


@pytest.mark.skipif("lstm" not in layer_kinds(), reason="recurrent kinds not registered")
def test_unroll_lstm_encoder_decoder():
    spec = """
name: s2s
networks:
  encoder:
    input: {shape: [T], dtype: long}
    outputs: [lstm_1:h, lstm_1:c]
    layers:
      - embedding: {vocab: 100, dim: 8}
      - lstm: {units: 16, return_state: true}
  decoder:
    inputs:
      target: {shape: [S], dtype: long}
      h0: {from: encoder.lstm_1:h}
      c0: {from: encoder.lstm_1:c}
    layers:
      - embedding: {vocab: 100, dim: 8, from: target}
      - lstm: {units: 16, return_sequences: true, from: [embedding_1, h0, c0]}
      - dense: 100
"""
    d = dot(spec, unroll=3)
    assert "h, c" in d.edge("encoder/lstm_1@t1", "encoder/lstm_1@t2")
    # the final state leaves the last step for the decoder's initial state, which enters its first step
    d.edge("encoder/lstm_1@t…", "decoder/input:h0")
    d.edge("decoder/input:h0", "decoder/lstm_1@t1")
    assert not d.has_edge("decoder/input:h0", "decoder/lstm_1@t2")
    for i in (1, 2, 3):
        assert "(8,)" in d.edge("decoder/embedding_1", f"decoder/lstm_1@t{i}")
        assert "(16,)" in d.edge(f"decoder/lstm_1@t{i}", "decoder/dense_1")


# --- rendering ----------------------------------------------------------------------------------------

def test_render_svg_and_png(tmp_path):
    svg = netspec.draw(RESNET, tmp_path / "net.svg", collapse_repeats=True)
    assert svg == tmp_path / "net.svg"
    text = svg.read_text()
    assert "<svg" in text and "block1" in text and "14,016 params" in text
    png = netspec.draw(LENET, tmp_path / "net.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pdf = netspec.draw(GAN, tmp_path / "out.bin", format="pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    src = netspec.draw(LENET, tmp_path / "net.dot")
    assert src.read_text().startswith("digraph netspec {")
    failing = render_diagram(FAILING, tmp_path / "fail.svg")
    assert failing.error is not None and "shape inference failed" in (tmp_path / "fail.svg").read_text()


def test_format_errors(tmp_path):
    with pytest.raises(UsageError, match="cannot tell the format"):
        netspec.draw(LENET, tmp_path / "net.jpg")
    with pytest.raises(UsageError, match="unknown format"):
        netspec.draw(LENET, tmp_path / "net.svg", format="gif")


def test_missing_dot_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    with pytest.raises(BuildError) as info:
        netspec.draw(LENET, tmp_path / "net.png")
    msg = str(info.value)
    assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
    assert "conda install -c conda-forge graphviz" in msg and "--format dot" in msg
    assert not (tmp_path / "net.png").exists()
    # the graphviz package's own lookup failing gives the same message
    monkeypatch.setattr(render, "dot_executable", lambda: "/somewhere/dot")
    with pytest.raises(BuildError, match="apt-get install graphviz"):
        netspec.draw(LENET, tmp_path / "net.svg")
    # DOT output needs no Graphviz
    assert netspec.draw(LENET, tmp_path / "net.dot").read_text().startswith("digraph")


# --- CLI ----------------------------------------------------------------------------------------------

def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_cli_draw(tmp_path, capsys, monkeypatch):
    spec = _write(tmp_path, "res.yaml", RESNET)
    out = tmp_path / "res.svg"
    assert main(["draw", spec, "-o", str(out), "--depth", "0", "--rankdir", "lr", "--no-params"]) == 0
    text = out.read_text()
    assert "<svg" in text and "14,016" not in text
    capsys.readouterr()
    assert main(["draw", spec, "--format", "dot", "--no-collapse-repeats", "--depth", "9"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("digraph") and "stage.res_3" in printed
    monkeypatch.chdir(tmp_path)
    assert main(["draw", spec]) == 0 and (tmp_path / "res.svg").exists()  # default: SPEC.svg
    assert main(["draw", spec, "--format", "png"]) == 0 and (tmp_path / "res.png").exists()


def test_cli_draw_failing_spec_writes_and_exits_1(tmp_path, capsys):
    spec = _write(tmp_path, "bad.yaml", FAILING)
    out = tmp_path / "bad.svg"
    assert main(["draw", spec, "-o", str(out)]) == 1
    assert out.exists() and "conv3" in out.read_text()
    err = capsys.readouterr().err
    assert "height 4" in err and "drawn up to the failing layer" in err


def test_cli_draw_usage_errors(tmp_path, capsys, monkeypatch):
    spec = _write(tmp_path, "lenet.yaml", LENET)
    assert main(["draw", spec, "-o", str(tmp_path / "x.jpg")]) == 2
    assert main(["draw", spec, "--network", "nope", "-o", str(tmp_path / "x.svg")]) == 2  # a usage error
    with pytest.raises(SystemExit) as info:
        main(["draw", spec, "--depth", "deep"])
    assert info.value.code == 2
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["draw", spec, "-o", str(tmp_path / "x.png")]) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err


def test_format_that_contradicts_the_file_name_is_refused(tmp_path, capsys):
    """`--format png -o x.svg` would put PNG bytes in a .svg file: a usage error, and nothing is written."""
    spec = _write(tmp_path, "lenet.yaml", LENET)
    for fmt, name in (("png", "x.svg"), ("svg", "x.png"), ("dot", "x.pdf"), ("pdf", "x.gv")):
        out = tmp_path / name
        assert main(["draw", spec, "--format", fmt, "-o", str(out)]) == 2, (fmt, name)
        err = capsys.readouterr().err
        assert f"--format {fmt} does not match the extension" in err and not out.exists()
        with pytest.raises(UsageError, match="does not match the extension"):
            netspec.draw(LENET, out, format=fmt)
        assert not out.exists()
    # agreeing, or an extension that names no format, is fine
    assert main(["draw", spec, "--format", "dot", "-o", str(tmp_path / "y.gv")]) == 0
    assert (tmp_path / "y.gv").read_text().startswith("digraph")
    assert main(["draw", spec, "--format", "dot", "-o", str(tmp_path / "y.txt")]) == 0


def test_unroll_without_a_recurrent_layer_is_a_usage_error(tmp_path, capsys):
    """`--unroll` on a spec with no recurrent layer is refused (not silently ignored), in the CLI and the API."""
    spec = _write(tmp_path, "lenet.yaml", LENET)
    out = tmp_path / "x.svg"
    assert main(["draw", spec, "--unroll", "3", "-o", str(out)]) == 2
    assert "has no recurrent layer to unroll" in capsys.readouterr().err and not out.exists()
    with pytest.raises(UsageError, match="no recurrent layer"):
        netspec.to_dot(LENET, unroll=3)
    assert netspec.to_dot(LENET, unroll=0)  # 0: not unrolled, fine anywhere
    if "gru" in layer_kinds():  # a recurrent layer: unrolled
        seq = "input: {shape: [T], dtype: long}\nlayers:\n  - embedding: {vocab: 10, dim: 4}\n  - gru: 8\n"
        assert "@t1" in netspec.to_dot(seq, unroll=2)
        two = ("networks:\n  a:\n    input: [4]\n    layers: [dense: 3]\n  b:\n    input: {shape: [T], dtype: long}\n"
               "    layers: [{embedding: {vocab: 10, dim: 4}}, gru: 8]\n")
        assert "@t1" in netspec.to_dot(two, unroll=2, network="b")
        with pytest.raises(UsageError, match="network 'a' has no recurrent layer"):
            netspec.to_dot(two, unroll=2, network="a")


def test_import_stays_light():
    code = ("import sys, netspec; from netspec.cli.main import main; "
            "rc = main(['check', sys.argv[1]]); "
            "print('HEAVY', [m for m in ('torch', 'graphviz') if m in sys.modules])")
    spec = SPECS / "lenet5.yaml"
    src = str(spec) if spec.exists() else None
    if src is None:
        pytest.fail("specs/lenet5.yaml is missing")
    res = subprocess.run([sys.executable, "-c", code, src], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "HEAVY []" in res.stdout, res.stdout + res.stderr
    # to_dot itself needs no graphviz either
    code = "import sys, netspec; netspec.to_dot(sys.argv[1]); print('HEAVY', 'graphviz' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code, src], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "HEAVY False" in res.stdout, res.stdout + res.stderr


# --- the reference specs ------------------------------------------------------------------------------

REFERENCE = ["lenet5.yaml", "resnet18.yaml", "resnet50.yaml", "resnet152.yaml", "googlenet.yaml", "vgg16.yaml"]


@pytest.mark.parametrize("name", REFERENCE)
def test_reference_specs_draw_readably(name):
    path = SPECS / name
    assert path.exists(), f"specs/{name} is missing"
    d = dot(path)
    assert len(d.nodes) <= AUTO_MAX_ITEMS
    g = netspec.analyze(path).network()
    assert f"{g.name}" in d.caption()
    assert "failed" not in d.caption()


def test_reference_lenet5():
    d = dot(SPECS / "lenet5.yaml")
    assert "conv 5×5 ×6 /1 + tanh" in d.text_of("lenet5/conv1") and "156 params" in d.text_of("lenet5/conv1")
    assert "(6, 28, 28)" in d.edge("lenet5/conv1", "lenet5/pool1")


def test_reference_resnet152_overview():
    d = dot(SPECS / "resnet152.yaml")
    # stages of 3, 8, 36, 3 bottlenecks: the first of each (it carries the stride) and the identical rest
    for n in (2, 7, 35):
        assert f"×{n}" in d.text
    d0 = dot(SPECS / "resnet152.yaml", depth=0)
    assert "bottleneck ×36" in d0.text_of("resnet152/layer3")


def test_reference_googlenet_shows_the_branches():
    d = dot(SPECS / "googlenet.yaml")
    assert len([n for n, a in d.nodes.items() if "‖" in a]) == 9  # nine inception modules, concat each
