"""Every error of the graph builder is located at what the user wrote, with a hint: a merge the builder
made itself (a residual's add, a parallel's merge) at the structure item, an ``outputs:`` typo at its
entry, an ``inputs:`` naming an unknown network at that input; in YAML and in the DSL alike. ``--strict``
keeps every axis's problem."""

from __future__ import annotations

import pytest

import netspec
from netspec.core.errors import NetspecError, Problem


def _one(text: str, file: str, tmp_path, **kw) -> Problem:
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), **kw)
    problems = info.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.location is not None and p.location.file == str(path), p
    assert p.hint, p
    return p


RESIDUAL_YAML = """input: [3, 32, 32]
layers:
  - conv2d: {filters: 3, kernel: 1}
  - residual: {shortcut: identity, layers: [conv2d: {filters: 8, kernel: 3, padding: 1}]}
"""
RESIDUAL_DSL = """input [3, 32, 32]
conv 3 1x1
residual shortcut=identity {
  conv 8 3x3 padding=1
}
"""
PARALLEL_YAML = """input: [3, 32, 32]
layers:
  - parallel:
      merge: add
      branches:
        - [conv2d: {filters: 8, kernel: 3}]
        - [conv2d: {filters: 8, kernel: 3, padding: 1}]
"""
PARALLEL_DSL = """input [3, 32, 32]
parallel add {
  branch { conv 8 3x3 }
  branch { conv 8 3x3 padding=1 }
}
"""


@pytest.mark.parametrize("text,file,line,column,word", [
    # the add of (8, 32, 32) and the identity shortcut's (3, 32, 32): at the residual item
    (RESIDUAL_YAML, "r.yaml", 4, 5, "projection shortcut"),
    (RESIDUAL_DSL, "r.ns", 3, 1, "projection shortcut"),
    # an unpadded 3×3 branch (30×30) and a padded one (32×32): at the parallel item
    (PARALLEL_YAML, "p.yaml", 3, 5, "branch"),
    (PARALLEL_DSL, "p.ns", 2, 1, "branch"),
])
def test_a_merge_the_builder_made_is_located_at_its_structure(tmp_path, text, file, line, column, word):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column) == (line, column)
    assert "needs equal shapes" in p.message and "hint:" not in p.message
    assert word in p.hint
    assert p.path.startswith("layers[1]" if "residual" in text else "layers[0]")


@pytest.mark.parametrize("text,file,line,column", [
    ("input: [3]\nlayers:\n  - dense: 4\n    name: a\n  - dense: 4\n    name: b\noutputs: [a, bb]\n",
     "o.yaml", 7, 14),
    ("input [3]\na: dense 4\nb: dense 4\noutputs a, bb\n", "o.ns", 4, 12),
])
def test_an_outputs_typo_is_located_at_its_entry(tmp_path, text, file, line, column):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column) == (line, column)
    assert p.path == "outputs[1]" and "'bb' is not a layer or input" in p.message
    assert p.hint == "did you mean 'b'?"


def test_an_input_from_an_unknown_network_is_located_at_that_input(tmp_path):
    text = ("networks:\n  enc:\n    input: [3]\n    layers: [dense: 4]\n"
            "  other:\n    inputs: {z: {from: encc}}\n    layers: [dense: 4]\n")
    p = _one(text, "n.yaml", tmp_path)
    assert (p.location.line, p.location.column) == (6, 24)  # the value of from: ("    inputs: {z: {from: encc}}")
    assert "unknown network 'encc'" in p.message and p.hint == "did you mean 'enc'?"


def test_an_input_from_a_missing_output_is_located_at_that_input(tmp_path):
    text = ("networks:\n  enc:\n    input: [3]\n    layers: [dense: {units: 4, name: mu}]\n    outputs: [mu]\n"
            "  other:\n    inputs: {z: {from: enc.mus}}\n    layers: [dense: 4]\n")
    p = _one(text, "n.yaml", tmp_path)
    assert p.location.line == 7 and "has no output 'mus'" in p.message and p.hint == "did you mean 'mu'?"


def test_a_merge_with_one_input_in_the_dsl_has_a_dsl_hint(tmp_path):
    p = _one("input [3]\nadd\n", "m.ns", tmp_path)
    assert p.location.line == 2 and "'from a, b'" in p.hint


def test_strict_keeps_the_problem_of_every_axis(tmp_path):
    # a 5×5/2 window on 10×10: (10 − 5)/2 is not whole on both axes (the last row and the last column
    # are never seen), so both are errors under --strict
    path = tmp_path / "s.yaml"
    path.write_text("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 2, kernel: 5, stride: 2}\n", encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), strict=True)
    problems = info.value.problems
    assert [p.message.split(":")[0] for p in problems] == ["height", "width"], problems
    assert all(p.location.line == 3 and "--strict" in p.message and p.hint for p in problems)
    # without --strict both are warnings
    report = netspec.check(str(path))
    assert [w.split(":")[1].strip() for w in report.warnings] == ["height", "width"], report.warnings


@pytest.mark.parametrize("text, file, line, column, path", [
    # the second name of a flow list, on a line of its own: line 6, column 12 (positions counted by hand)
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, name: c}\n  - add:\n    from: [c,\n"
     "           cc]\n", "f.yaml", 6, 12, "layers[1].from[1]"),
    ("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, name: c}\n  - dense: {units: 3, from: cc}\n",
     "g.yaml", 4, 23, "layers[1].from"),  # one name: at its key (`from` at column 23)
    ("input [3, 8, 8]\nc: conv 8 3x3\nadd from c, cc\n", "h.ns", 3, 13, "layers[1].from[1]"),
])
def test_an_unknown_from_name_is_located_at_the_name(text, file, line, column, path, tmp_path):
    p = _one(text, file, tmp_path)
    assert (p.location.line, p.location.column, p.path) == (line, column, path)
    assert "'cc' is not an earlier layer" in p.message and "did you mean 'c'?" in p.hint


def test_a_name_that_exists_nowhere_lists_the_names_this_place_can_use(tmp_path):
    text = ("input: [8]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 4, name: b}\n"
            "  - add: {from: [a, zz]}\n")
    p = _one(text, "n.yaml", tmp_path)
    assert p.hint == "a layer can use only the layers above it and the inputs; here: b, a, input"
    close = _one(text.replace("name: b", "name: zzz"), "m.yaml", tmp_path)
    assert close.hint == "did you mean 'zzz'?"


@pytest.mark.parametrize("text, kw, places", [
    # two wrong names in one from: list, each at its place
    ("input: [8]\nlayers:\n  - dense: {units: 4, name: alpha}\n  - add: {from: [alpah, zz]}\n", {},
     [(4, 18), (4, 25)]),
    # two wrong outputs
    ("input: [8]\nlayers:\n  - dense: {units: 4, name: alpha}\noutputs: [alpah, zz]\n", {}, [(4, 11), (4, 18)]),
    # --strict: a layer's two axes and a later layer's warning, all reported (the build goes on after each)
    ("input: [1, 10, 10]\nlayers:\n  - conv2d: {filters: 1, kernel: 5, stride: 2}\n"
     "  - conv2d: {filters: 4, kernel: 3}\n  - dense: 3\n", {"strict": True}, [(3, 5), (3, 5), (5, 5)]),
])
def test_every_problem_of_a_kind_is_reported_at_once(text, kw, places, tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(path), **kw)
    assert [(p.location.line, p.location.column) for p in info.value.problems] == places


# --- an error about one option's value is at that value (ShapeError.option) ------------------------------
# Each case: the spec, where the value the error is about starts (``"axis: |5"``: the 5 after "axis: "; the place
# is found in the spec's own text, never taken from netspec's output), the option's path, words of the message.
OPTION_CASES = [
    # softmax over axis 5 of a rank-2 input: an axis is -2..1
    ("input: [4, 6]\nlayers:\n  - softmax: {axis: 5}\n", "axis: |5", "layers[0].axis", "out of range"),
    ("input [4, 6]\nsoftmax axis=5\n", "axis=|5", "layers[0].axis", "out of range"),
    # concat along axis -3 of rank-2 inputs
    ("input: [4, 6]\nlayers:\n  - dense: {units: 6, name: a}\n  - concat: {from: [input, a], axis: -3}\n",
     "axis: |-3", "layers[1].axis", "out of range"),
    ("input [4, 6]\na: dense 6\nconcat axis=-3 from input, a\n", "axis=|-3", "layers[1].axis", "out of range"),
    # split's axis 2, and sizes 2 + 3 = 5 against the 6 of axis 1
    ("input: [4, 6]\nlayers:\n  - split: {sizes: [2, 2], axis: 2}\n", "axis: |2", "layers[0].axis", "out of range"),
    ("input [4, 6]\nsplit [2, 2] axis=2\n", "axis=|2", "layers[0].axis", "out of range"),
    ("input: [4, 6]\nlayers:\n  - split: {sizes: [2, 3], axis: 1}\n", "sizes: |[2, 3]", "layers[0].sizes",
     "add up to 5"),
    ("input [4, 6]\nsplit [2, 3] axis=1\n", "split |[2, 3]", "layers[0].sizes", "add up to 5"),
    # chunk: 6 / 4 pieces is not whole; its axis 3 of a rank-2 input
    ("input: [4, 6]\nlayers:\n  - chunk: {chunks: 4, axis: 1}\n", "chunks: |4", "layers[0].chunks", "not whole"),
    ("input [4, 6]\nchunk 4 axis=1\n", "chunk |4", "layers[0].chunks", "not whole"),
    ("input: [4, 6]\nlayers:\n  - chunk: {chunks: 2, axis: 3}\n", "axis: |3", "layers[0].axis", "out of range"),
    ("input [4, 6]\nchunk 2 axis=3\n", "axis=|3", "layers[0].axis", "out of range"),
    # permute: [0, 2] is not a permutation of the two axes 0, 1 (written as the shorthand: the value is the list)
    ("input: [4, 6]\nlayers:\n  - permute: [0, 2]\n", "permute: |[0, 2]", "layers[0].dims", "permutation"),
    ("input: [4, 6]\nlayers:\n  - permute: {dims: [1, 1]}\n", "dims: |[1, 1]", "layers[0].dims", "permutation"),
    ("input [4, 6]\npermute [0, 2]\n", "permute |[0, 2]", "layers[0].dims", "permutation"),
    # reshape: 4·6 = 24 values into 5·5 = 25; with -1: 24 is not divisible by 5
    ("input: [4, 6]\nlayers:\n  - reshape: [5, 5]\n", "reshape: |[5, 5]", "layers[0].shape", "24 values"),
    ("input: [4, 6]\nlayers:\n  - reshape: {shape: [5, -1]}\n", "shape: |[5, -1]", "layers[0].shape",
     "not divisible by 5"),
    ("input [4, 6]\nreshape [5, 5]\n", "reshape |[5, 5]", "layers[0].shape", "24 values"),
    # groups that do not divide 6 channels
    ("input: [6, 8, 8]\nlayers:\n  - group_norm: {groups: 4}\n", "groups: |4", "layers[0].groups", "divisible"),
    ("input [6, 8, 8]\ngroup_norm 4\n", "group_norm |4", "layers[0].groups", "divisible"),
    ("input: [6, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, groups: 4}\n", "groups: |4",
     "layers[0].groups", "divisible"),
    ("input [6, 8, 8]\nconv2d 8 3x3 groups=4\n", "groups=|4", "layers[0].groups", "divisible"),
    ("input: [6, 4, 4]\nlayers:\n  - channel_shuffle: {groups: 4}\n", "groups: |4", "layers[0].groups",
     "multiple of groups"),
    ("input [6, 4, 4]\nchannel_shuffle 4\n", "channel_shuffle |4", "layers[0].groups", "multiple of groups"),
    # pixel_shuffle by 2 needs the channels to be a multiple of 2² = 4; 6 is not
    ("input: [6, 4, 4]\nlayers:\n  - pixel_shuffle: 2\n", "pixel_shuffle: |2", "layers[0].factor", "divisible"),
    ("input [6, 4, 4]\npixel_shuffle 2\n", "pixel_shuffle |2", "layers[0].factor", "divisible"),
    # 4 heads do not divide 6 features
    ("input: [5, 6]\nlayers:\n  - attention: {heads: 4}\n", "heads: |4", "layers[0].heads", "heads must divide"),
    ("input [5, 6]\nattention 4\n", "attention |4", "layers[0].heads", "heads must divide"),
    # an rbm told 5 visible units, given 6
    ("input: [6]\nlayers:\n  - rbm: {hidden: 3, visible: 5}\n", "visible: |5", "layers[0].visible", "6 units"),
    ("input [6]\nrbm 3 visible=5\n", "visible=|5", "layers[0].visible", "6 units"),
    # 12 positions against a table of 10
    ("input: [12, 6]\nlayers:\n  - position_embedding: {max_len: 10}\n", "max_len: |10", "layers[0].max_len",
     "longer than"),
    ("input [12, 6]\nposition_embedding max_len=10\n", "max_len=|10", "layers[0].max_len", "longer than"),
    # a layer norm over 2 trailing axes of a rank-1 input
    ("input: [6]\nlayers:\n  - layernorm: {axes: 2}\n", "axes: |2", "layers[0].axes", "rank ≥ 2"),
    ("input [6]\nlayernorm axes=2\n", "axes=|2", "layers[0].axes", "rank ≥ 2"),
    # cropping 3 + 3 columns of 4
    ("input: [3, 4, 4]\nlayers:\n  - crop2d: [1, 3]\n", "crop2d: |[1, 3]", "layers[0].cropping", "leaves -2"),
    ("input [3, 4, 4]\ncrop2d [1, 3]\n", "crop2d |[1, 3]", "layers[0].cropping", "leaves -2"),
    # upsampling 2×2 by 0.25: floor(2·0.25) = 0 rows
    ("input: [3, 2, 2]\nlayers:\n  - upsample: {scale: 0.25}\n", "scale: |0.25", "layers[0].scale", "leaves no"),
    ("input [3, 2, 2]\nupsample 0.25\n", "upsample |0.25", "layers[0].scale", "leaves no"),
    # glu and layer_scale axes out of range
    ("input: [4, 6]\nlayers:\n  - glu: {axis: 3}\n", "axis: |3", "layers[0].axis", "out of range"),
    ("input [4, 6]\nglu axis=3\n", "axis=|3", "layers[0].axis", "out of range"),
    ("input: [4, 6]\nlayers:\n  - layer_scale: {axis: 2}\n", "axis: |2", "layers[0].axis", "out of range"),
    ("input [4, 6]\nlayer_scale axis=2\n", "axis=|2", "layers[0].axis", "out of range"),
    # a layer inside time_distributed: at the child's option (each step is (4, 6), rank 2)
    ("input: [5, 4, 6]\nlayers:\n  - time_distributed:\n      layers:\n        - softmax: {axis: 4}\n", "axis: |4",
     "layers[0].layers[0].axis", "out of range"),
    ("input [5, 4, 6]\ntime_distributed {\n  softmax axis=4\n}\n", "axis=|4", "layers[0].layers[0].axis",
     "out of range"),
    # init, share and tie: the builder's own checks of one option
    ("input: [4]\nlayers:\n  - dense: {units: 2, init: {weight: [[1, 2], [3, 4]]}}\n",
     "weight: |[[1, 2], [3, 4]]", "layers[0].init.weight", "has shape (2, 2)"),
    ("input [4]\ndense 2 init={weight=[[1, 2], [3, 4]]}\n", "weight=|[[1, 2], [3, 4]]", "layers[0].init.weight",
     "has shape (2, 2)"),
    ("input: [4]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 2, share: a}\n", "share: |a",
     "layers[1].share", "share: 'a' is a dense"),
    ("input [4]\na: dense 4\ndense 2 share=a\n", "share=|a", "layers[1].share", "share=a is a dense"),  # DSL words
    ("input: [4]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 2, tie: {weight: a}}\n",
     "weight: |a", "layers[1].tie.weight", "the shapes differ"),
    ("input [4]\na: dense 4\ndense 2 tie={weight=a}\n", "weight=|a", "layers[1].tie.weight", "the shapes differ"),
    ("input: [4, 6]\nlayers:\n  - log_softmax: {axis: 2}\n", "axis: |2", "layers[0].axis", "out of range"),
    ("input [4, 6]\nlog_softmax axis=2\n", "axis=|2", "layers[0].axis", "out of range"),
    # attention told its keys have 3 features; they have 4
    ("input: [5, 6]\nlayers:\n  - dense: {units: 4, name: m}\n  - attention: {heads: 2, kdim: 3, from: [input, m]}\n",
     "kdim: |3", "layers[1].kdim", "4 features"),
    ("input [5, 6]\nm: dense 4\nattention 2 kdim=3 from input, m\n", "kdim=|3", "layers[1].kdim", "4 features"),
    # an adaptive pool to 0 rows: at the 0, the element of the list that is wrong
    ("input: [3, 8, 8]\nlayers:\n  - adaptive_avg_pool2d: [0, 2]\n", "adaptive_avg_pool2d: [|0, 2]",
     "layers[0].output_size[0]", "between 1 and"),
    ("input [3, 8, 8]\nadaptive_avg_pool2d [0, 2]\n", "adaptive_avg_pool2d [|0, 2]", "layers[0].output_size[0]",
     "between 1 and"),
    # init inside time_distributed belongs on the time_distributed layer: at the child's init
    ("input: [5, 4, 6]\nlayers:\n  - time_distributed:\n      layers:\n        - dense: {units: 3, init: zeros}\n",
     "init: |zeros", "layers[0].layers[0].init", "put init on the time_distributed"),
    ("input [5, 4, 6]\ntime_distributed {\n  dense 3 init=zeros\n}\n", "init=|zeros", "layers[0].layers[0].init",
     "put init on the time_distributed"),
    # a parameter name that is not the layer's: at the name (the key), not at its value
    ("input: [4]\nlayers:\n  - dense: {units: 2, init: {wieght: zeros}}\n", "init: {|wieght", "layers[0].init.wieght",
     "init names 'wieght'"),
    ("input [4]\ndense 2 init={wieght=zeros}\n", "init={|wieght", "layers[0].init.wieght", "init names 'wieght'"),
    ("input: [4]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 4, tie: {wieght: a}}\n",
     "tie: {|wieght", "layers[1].tie.wieght", "tie names 'wieght'"),
    ("input [4]\na: dense 4\ndense 4 tie={wieght=a}\n", "tie={|wieght", "layers[1].tie.wieght", "tie names 'wieght'"),
    # a tied parameter initialised here: at this init
    ("input: [4]\nlayers:\n  - dense: {units: 4, name: a}\n  - dense: {units: 4, tie: {weight: a}, "
     "init: {weight: zeros}}\n", "init: {weight: |zeros", "layers[1].init.weight", "is tied to a.weight"),
    ("input [4]\na: dense 4\ndense 4 tie={weight=a} init={weight=zeros}\n", "init={weight=|zeros",
     "layers[1].init.weight", "is tied to a.weight"),
    # share: a network input has no parameters
    ("input: [4]\nlayers:\n  - dense: {units: 4, share: input}\n", "share: |input", "layers[0].share",
     "is a network input"),
    ("input [4]\ndense 4 share=input\n", "share=|input", "layers[0].share", "is a network input"),
    ("input [4]\ndense 2 share=b\n", "share=|b", "layers[0].share", "not an earlier layer"),
    # a layer in a structure, and in a block that reads its input's type (expanded by the builder)
    ("input: [4, 6]\nlayers:\n  - residual:\n      layers:\n        - softmax: {axis: 5}\n", "axis: |5",
     "layers[0].layers[0].axis", "out of range"),
    # a value given as a block argument: at the argument, where the use writes it (the message says where the
    # definition uses it)
    ("block b(x) {\n  dense ${in.features}\n  softmax axis=$x\n}\ninput [4, 6]\nb 5\n", "b |5",
     "layers[0].x", "the argument 'x' of block 'b'"),  # the path names the argument, as the location does
    ("blocks:\n  sm:\n    params: {ax: 0}\n    layers:\n      - softmax: {axis: $ax}\ninput: [4, 6]\nlayers:\n"
     "  - sm: {ax: 7}\n", "sm: {ax: |7", "layers[0].ax", "the argument 'ax' of block 'sm'"),
    ("block sm(ax=0) {\n  softmax axis=$ax\n}\ninput [4, 6]\nsm 7\n", "sm |7", "layers[0].ax",
     "the argument 'ax' of block 'sm'"),
    # a default, written in the definition: at the value the definition writes (the message says where the
    # block is used)
    ("blocks:\n  sm:\n    params: {ax: 7}\n    layers:\n      - softmax: {axis: $ax}\ninput: [4, 6]\nlayers:\n"
     "  - sm\n", "axis: |$ax", "layers[0]→sm.layers[0].axis", "used at"),
    ("block sm(ax=7) {\n  softmax axis=$ax\n}\ninput [4, 6]\nsm\n", "axis=|$ax", "layers[0]→sm.layers[0].axis",
     "used at"),
    ("input: [4]\nlayers:\n  - dense: {units: 2, share: b}\n", "share: |b", "layers[0].share",
     "not an earlier layer"),
]


def _value_place(text: str, spot: str) -> tuple[int, int]:
    """Line and column (1-based) in ``text`` of the value ``spot`` marks: ``"axis: |5"`` is the ``5`` of the
    first ``axis: 5`` written."""
    before, value = spot.split("|")
    at = text.index(before + value) + len(before)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


@pytest.mark.parametrize("text, spot, path, words", OPTION_CASES)
def test_an_error_about_one_option_is_at_its_value(text, spot, path, words, tmp_path):
    file = tmp_path / ("s.ns" if "layers:" not in text else "s.yaml")
    file.write_text(text, encoding="utf-8")
    with pytest.raises(NetspecError) as info:
        netspec.check(str(file))
    (p,) = info.value.problems
    assert p.location is not None and p.location.file == str(file), p
    assert (p.location.line, p.location.column) == _value_place(text, spot), p
    assert p.path.startswith(path + " (") and words in p.message, p
