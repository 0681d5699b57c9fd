"""The editor on blocks that read their input (``$in``) and items decided by ``if:`` (issue 12): the
analysis never fails, each line of such a block shows its uses' numbers, and a problem of a lazily
expanded block is a diagnostic at its line."""

from __future__ import annotations

from pathlib import Path

from netspec.editor.analysis import analyze
from netspec.frontends.write.dsl import to_dsl
from netspec.frontends.yaml import parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def _line(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if fragment in line)


def test_mobilenet_v2_lines_show_every_use_of_its_one_block():
    text = (ROOT / "specs" / "mobilenet_v2.yaml").read_text(encoding="utf-8")
    for source, name in ((text, "mobilenet_v2.yaml"), (to_dsl(parse_yaml(text, "m.yaml")), "mobilenet_v2.ns")):
        a = analyze(source, name)
        assert a.ok, [d.message for d in a.diagnostics]
        # the depthwise line: first in stage1 (t = 1, 32 channels: 32·9 weights and a batch norm of
        # 2·32), last in stage7 (t = 6 on 160 channels: 960·9 + 2·960), at 7×7
        dw = a.layers[_line(source, "kernel: 3, stride: $stride" if name.endswith("yaml") else "dw: conv_bn")]
        assert (dw.uses[0].shape, dw.uses[0].params) == ("(32, 112, 112)", 32 * 9 + 2 * 32)
        assert (dw.uses[-1].shape, dw.uses[-1].params) == ("(960, 7, 7)", 960 * 9 + 2 * 960)
        # the expansion is left out of stage1 (t = 1); stage7's is 160 → 960 at 7×7
        expand = a.layers[_line(source, "- conv_bn: {filters: \"${in.channels * t}\"}" if name.endswith("yaml")
                                else "expand: conv_bn")]
        assert expand.uses and not any(u.name.startswith("stage1.") for u in expand.uses)
        assert expand.uses[-1].shape == "(960, 7, 7)"


def test_a_problem_of_a_lazily_expanded_block_is_a_diagnostic_at_its_line():
    text = """blocks:
  b:
    params: {}
    layers:
      - dense: "${in.channels * 2}"
input: [T, 4]
layers:
  - b: {}
"""
    a = analyze(text, "t.yaml")
    assert not a.ok
    [d] = a.diagnostics
    assert d.line == 4 and "symbolic size" in d.message and "used at" in d.message
