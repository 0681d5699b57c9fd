"""Completion: an option or key is offered only while it is not written yet (YAML braces, block style,
sections; the DSL), and what the text around the cursor makes of the position: a block's arguments inside its
definition, the kind of an item whatever line holds it, flow mappings continued on the next lines, the DSL's
statements after a brace or a semicolon and its mappings over lines.

Expected candidates are read from the registry's pydantic models, the spec models and the specs' own text
(loaded with PyYAML, not netspec), never from netspec's completion output."""

import typing
from pathlib import Path

import yaml
from editor_support import CURSOR, at_cursor

from netspec.editor.analysis import analyze
from netspec.editor.complete import PARAM, complete
from netspec.frontends.keys import ITEM_KEYS
from netspec.layers import canonical_kind, layer_class, layer_kinds
from netspec.spec.model import Expect
from netspec.spec.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
KINDS = set(layer_kinds())


def _labels(text: str, fmt: str) -> set[str]:
    lines = text.split("\n")
    return {c.label for c in complete(lines, len(lines) - 1, len(lines[-1]), fmt, None)}


def test_yaml_options_already_given_are_not_offered_again():
    labels = _labels("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 8, kernel: 3, ", "yaml")
    assert "stride" in labels and "padding" in labels
    assert "filters" not in labels and "kernel" not in labels


def test_dsl_options_already_given_are_not_offered_again():
    labels = _labels("input 3x8x8\nconv2d filters=8 kernel=3 ", "dsl")
    assert "stride" in labels
    assert "filters" not in labels and "kernel" not in labels


def _labels_at(text: str, line: int, fmt: str = "yaml") -> set[str]:
    lines = text.split("\n")
    return {c.label for c in complete(lines, line, len(lines[line]), fmt, None)}


def test_block_style_options_written_above_or_below_are_not_offered_again():
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d:\n      filters: 8\n      \n      kernel: 3\n"
            "  - conv2d:\n      \n  - relu\n")
    labels = _labels_at(text, 4)  # between filters and kernel of the first conv
    assert "stride" in labels and "padding" in labels
    assert "filters" not in labels and "kernel" not in labels
    second = _labels_at(text, 7)  # the second conv has nothing written: everything is offered
    assert {"filters", "kernel", "stride"} <= second


def test_section_keys_already_written_are_not_offered_again():
    text = "input: [1, 8, 8]\nlayers: [flatten, dense: 10]\ntrain:\n  epochs: 3\n  \n"
    labels = _labels_at(text, 4)
    assert "epochs" not in labels and "batch_size" in labels


def test_item_keys_already_written_are_not_offered_again():
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d:\n      filters: 8\n    name: c1\n    repeat: 2\n    \n"
    labels = _labels_at(text, 6)  # at the item's key column
    assert "name" not in labels and "repeat" not in labels
    assert "from" in labels and "trainable" in labels


def test_a_comment_on_the_kind_line_keeps_the_options():
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d:   # the stem\n      \n"
    assert {"filters", "kernel"} <= _labels_at(text, 3)


def test_the_kind_on_the_second_line_of_an_item_gets_its_options():
    text = "input: [3, 8, 8]\nlayers:\n  - name: c1\n    conv2d:\n      filters: 8\n      \n"
    labels = _labels_at(text, 5)
    assert "kernel" in labels and "filters" not in labels


def test_top_level_keys_already_written_are_not_offered_again():
    text = "input: [3, 8, 8]\nlayers: [flatten]\n\n"
    labels = _labels_at(text, 2)
    assert "input" not in labels and "layers" not in labels and "train" in labels


def test_share_and_tie_values_offer_layer_names():
    from netspec.editor.outline import Outline
    from netspec.frontends.yaml import parse_yaml

    head = ("input: {shape: [5], dtype: long}\nlayers:\n  - embedding: {vocab: 16, dim: 8}\n    name: emb\n"
            "  - dense: {units: 16, bias: false}\n")
    for last in ("    share: ", "    tie: {weight: "):
        text = head + last
        lines = text.split("\n")
        outline = Outline(parse_yaml(head, "<string>"), lines)
        labels = {c.label for c in complete(lines, len(lines) - 1, len(lines[-1]), "yaml", outline)}
        assert "emb" in labels, (last, labels)


def test_dsl_option_values_after_the_equals_sign():
    assert {"same", "valid"} <= _labels("input [3, 8, 8]\nc1: conv 8 3x3 padding=", "dsl")
    assert "relu" in _labels("input [3, 8, 8]\ndense 8 activation=re", "dsl")
    assert "kernel" in _labels("input [3, 8, 8]\nc1: conv 8 ", "dsl")  # an option name where no '=' is open


# --- the context around the cursor -----------------------------------------------------------------------



def _at(text: str, fmt: str = "yaml", outline: bool = False) -> list:
    """The candidates at the cursor mark, with the document's outline when it parses without the mark."""
    lines, line, column = at_cursor(text)
    found = analyze("\n".join(lines), "t.ns" if fmt == "dsl" else "t.yaml").outline if outline else None
    return complete(lines, line, column, fmt, found)


def _keys_of(kind: str, required: bool | None = None) -> set[str]:
    """A kind's option keys as its pydantic model declares them (all, or only the required ones)."""
    fields = layer_class(canonical_kind(kind)).model_fields
    return {f.alias or n for n, f in fields.items()
            if n != "kind" and (required is None or f.is_required() == required)}


def _literals(annotation: object) -> set[str]:
    """The fixed values a field's annotation allows (``Literal['same', 'valid']`` inside a Union)."""
    if typing.get_origin(annotation) is typing.Literal:
        return {str(a) for a in typing.get_args(annotation)}
    return set().union(*(_literals(a) for a in typing.get_args(annotation)))


def _fields(model: type) -> set[str]:
    return {f.alias or n for n, f in model.model_fields.items()}


def test_block_arguments_are_offered_as_values_inside_the_block_definition():
    text = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    params = yaml.safe_load(text)["blocks"]["basic_block"]["params"]  # {width: null, stride: 1}
    expected = {f"${p}" for p in params}
    written = "- conv2d: {filters: $width, kernel: 3, stride: $stride"
    for typed in ("", "$", "$wi"):  # nothing typed yet, the `$`, part of the name
        found = _at(text.replace(written, written.replace("filters: $width", "filters: " + typed + CURSOR), 1))
        args = [c for c in found if c.what == PARAM]
        assert {c.label for c in args} == expected, typed
        assert all(c.replace == len(typed) for c in args)  # what is typed is replaced (`$` is no word char)
        # the argument written where the cursor was is the spec as it was: a valid one
        done = text.replace(written, written.replace("$width", typed + "$width"[len(typed):]), 1)
        assert done == text and analyze(done, "resnet18.yaml").ok
    # block style under the kind, and the kind's main option (`- dense: $w`)
    block = ("input: [3, 8, 8]\nblocks:\n  b:\n    params:\n      width: null\n      stride: 1\n    layers:\n"
             "      - conv2d:\n          filters: 4\n          stride: {}\n      - dense: {}\nlayers: [b: 4]\n")
    assert {c.label for c in _at(block.format(CURSOR, "3")) if c.what == PARAM} == {"$width", "$stride"}
    assert {c.label for c in _at(block.format("1", "$" + CURSOR)) if c.what == PARAM} == {"$width", "$stride"}
    # outside a block definition there are no arguments
    assert not [c for c in _at("input: [3, 8, 8]\nlayers:\n  - conv2d: {filters: " + CURSOR + "}\n") if c.what == PARAM]


def test_inside_an_expression_the_block_arguments_and_in_are_offered():
    text = (ROOT / "specs" / "efficientnet_b0.yaml").read_text(encoding="utf-8")
    params = yaml.safe_load(text)["blocks"]["conv_bn_silu"]["params"]  # filters, kernel, stride, groups
    quoted = text.replace('padding: "${(kernel - 1) // 2}"', 'padding: "${(' + CURSOR + 'kernel - 1) // 2}"', 1)
    labels = {c.label for c in _at(quoted)}
    assert set(params) | {"in"} <= labels  # docs/dsl.md: `$name`, `${expression}` of the parameters, and `in`
    assert not {f"${p}" for p in params} & labels  # bare names inside ${...}
    dotted = ("input: [3, 8, 8]\nblocks:\n  b:\n    layers:\n      - conv2d: {filters: \"${in." + CURSOR + "\"}\n"
              "layers: [b]\n")
    assert {"channels", "shape"} <= {c.label for c in _at(dotted)}  # docs/dsl.md: ${in.channels}, in.shape


def test_an_item_whose_first_line_is_its_name():
    head = "input: [3, 8, 8]\nlayers:\n  - name: c1\n"
    found = _at(head + "    " + CURSOR + "\n")  # the kind not written yet: the kinds, `kind:`, the item's keys
    labels = {c.label for c in found}
    assert KINDS <= labels and "kind" in labels and set(ITEM_KEYS) - {"name"} <= labels and "name" not in labels
    dense = next(c for c in found if c.label == "dense")
    assert analyze(head + "    " + dense.insert + "3\n", "t.yaml").ok  # `dense: 3` completes a valid item
    assert KINDS <= {c.label for c in _at(head + "    kind: " + CURSOR + "\n")}
    # the kind as a value on the second line: its options (required first) beside the item's keys
    long = _at(head + "    kind: conv2d\n    " + CURSOR + "\n")
    labels = {c.label for c in long}
    assert _keys_of("conv2d") - {"name"} <= labels and {"repeat", "if"} <= labels and "name" not in labels
    assert [c.label for c in long][:1] == sorted(_keys_of("conv2d", required=True))
    # the kind as a key on the second line: its options inside its braces, its values under it
    flow = {c.label for c in _at(head + "    conv2d: {filters: 8, " + CURSOR + "}\n")}
    assert _keys_of("conv2d") - {"filters"} <= flow and "filters" not in flow
    padding = _literals(layer_class("conv2d").model_fields["padding"].annotation)
    assert padding and padding <= {c.label for c in _at(head + "    conv2d:\n      padding: " + CURSOR + "\n")}


def test_an_item_whose_kind_is_on_the_first_line_and_name_follows():
    head = "input: [3, 8, 8]\nlayers:\n"
    labels = {c.label for c in _at(head + "  - kind: conv2d\n    name: c1\n    " + CURSOR + "\n")}
    assert _keys_of("conv2d", required=True) <= labels and "name" not in labels and "repeat" in labels
    labels = {c.label for c in _at(head + "  - conv2d: {filters: 8}\n    name: c1\n    " + CURSOR + "\n")}
    assert set(ITEM_KEYS) - {"name"} <= labels and "name" not in labels
    assert not _keys_of("conv2d", required=True) & labels  # an option here would be the item's key, not conv2d's
    assert KINDS <= {c.label for c in _at(head + "  - kind: " + CURSOR + "\n")}
    assert _keys_of("conv2d", required=True) <= {c.label for c in _at(head + "  - {kind: conv2d, " + CURSOR + "}\n")}


def test_flow_mappings_continued_on_the_next_lines_get_options_and_values():
    head = "input: [3, 8, 8]\nlayers:\n"
    for text in ("  - conv2d: {filters: 64,\n    kernel: 3, " + CURSOR + "}\n",
                 "  - conv2d: {filters: 64,\n      kernel: 3,\n      " + CURSOR + "}\n",
                 "  - conv2d: {filters: 64,\n          kernel: 3,\n      " + CURSOR + "\n  - relu\n"):
        labels = {c.label for c in _at(head + text)}
        assert _keys_of("conv2d") - {"filters", "kernel"} <= labels, text
        assert not {"filters", "kernel"} & labels, text
    padding = _literals(layer_class("conv2d").model_fields["padding"].annotation)
    assert padding <= {c.label for c in _at(head + "  - conv2d: {filters: 64,\n      padding: " + CURSOR + "}\n")}
    # a section's flow mapping over lines: the sub-model's fields (train: optimizer: {...})
    opt = typing.get_args(TrainConfig.model_fields["optimizer"].annotation) or \
        (TrainConfig.model_fields["optimizer"].annotation,)
    fields = _fields(next(t for t in opt if isinstance(t, type)))
    text = head + "  - flatten\ntrain:\n  optimizer: {name: adam,\n    " + CURSOR + "}\n"
    labels = {c.label for c in _at(text)}
    assert fields - {"name"} <= labels and "name" not in labels and "epochs" not in labels


def test_dsl_block_arguments_expressions_and_references():
    text = (ROOT / "specs" / "unet.ns").read_text(encoding="utf-8")
    params = yaml.safe_load((ROOT / "specs" / "unet.yaml").read_text(encoding="utf-8"))["blocks"]["up_level"]["params"]
    expected = {f"${p}" for p in params}  # filters, skip
    for before, after in (("conv_transpose2d $filters", "conv_transpose2d $" + CURSOR + "filters"),
                          ("concat from $skip, upconv", "concat from $" + CURSOR + "skip, upconv")):
        found = _at(text.replace(before, after, 1), "dsl")
        assert {c.label for c in found if c.what == PARAM} == expected, before
    kwarg = text.replace("conv_transpose2d $filters 2x2 /2", "conv_transpose2d $filters 2x2 stride=" + CURSOR, 1)
    assert {c.label for c in _at(kwarg, "dsl") if c.what == PARAM} == expected
    expr = "input [3, 8, 8]\nblock b(width, t=6) {\n  conv ${in.channels * " + CURSOR + "}\n}\nb 4\n"
    assert {"width", "t", "in"} <= {c.label for c in _at(expr, "dsl")}
    assert not [c for c in _at("input [3, 8, 8]\nconv $" + CURSOR + "\n", "dsl") if c.what == PARAM]


def test_dsl_the_statement_is_the_one_after_a_brace_or_a_semicolon():
    conv = _keys_of("conv2d", required=True)
    par = _keys_of("parallel") - _keys_of("conv2d")  # parallel's own options (branches, merge)
    for text in ("input [3, 8, 8]\nparallel concat { branch { conv 8 1x1 } branch { conv " + CURSOR + " } }\n",
                 "input [3, 8, 8]\nrelu; conv " + CURSOR + "\n",
                 "input [3, 8, 8]\nsequential {\n  conv 8 padding=[1,\n    1] " + CURSOR + "\n}\n",
                 "input [3, 8, 8]\nblock b(n=1) {\n  c: repeat ${n + 1} conv " + CURSOR + "\n}\nb\n"):
        labels = {c.label for c in _at(text, "dsl")}
        assert conv <= labels and par and not par & labels, text
    assert KINDS <= {c.label for c in _at("input [3, 8, 8]\nsequential { conv 8 3x3; " + CURSOR + " }\n", "dsl")}


def test_dsl_train_and_expect_keys_also_over_several_lines():
    head = "input [3, 8, 8]\nflatten\ndense 10\n"
    labels = {c.label for c in _at(head + "train epochs=3 " + CURSOR + "\n", "dsl")}
    assert _fields(TrainConfig) - {"epochs"} <= labels and "epochs" not in labels
    labels = {c.label for c in _at(head + "train {\n  epochs = 3\n  " + CURSOR + "\n}\n", "dsl")}
    assert _fields(TrainConfig) - {"epochs"} <= labels and "epochs" not in labels
    opt = TrainConfig.model_fields["optimizer"].annotation
    labels = {c.label for c in _at(head + "train optimizer={name=adam,\n  " + CURSOR + "}\n", "dsl")}
    assert _fields(opt) - {"name"} <= labels and "name" not in labels and "epochs" not in labels
    assert _fields(Expect) == {c.label for c in _at(head + "expect " + CURSOR + "\n", "dsl")}


def test_every_position_of_every_spec_answers_without_raising():
    for path in sorted((ROOT / "specs").glob("*.*")):
        if path.suffix not in (".yaml", ".ns"):
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        fmt = "dsl" if path.suffix == ".ns" else "yaml"
        for i, line in enumerate(lines):
            for column in {len(line) // 2, len(line)}:
                assert isinstance(complete(lines, i, column, fmt, None), list)


def test_a_block_definitions_own_keys_take_the_residual_values_and_its_arguments():
    shortcut = _literals(layer_class(canonical_kind("residual")).model_fields["shortcut"].annotation)
    assert shortcut  # auto, identity, projection (docs/dsl.md: `shortcut=identity`, `shortcut=projection`)
    head = "input: [3, 8, 8]\nblocks:\n  b:\n    params: {out: null, stride: 1}\n"
    found = {c.label for c in _at(head + "    shortcut: " + CURSOR + "\n    layers: [relu]\nlayers: [b: 3]\n")}
    assert shortcut | {"$out", "$stride"} <= found
    found = {c.label for c in _at(head + "    residual: ${stride == 1 and " + CURSOR + "\n    layers: [relu]\n")}
    assert {"out", "stride", "in"} <= found
    dsl = "input [3, 8, 8]\nblock b(out, stride=1) {}{{\n  relu\n}}\nb 3\n"
    assert shortcut | {"$out", "$stride"} <= {c.label for c in _at(dsl.format("shortcut=" + CURSOR), "dsl")}
    assert {"out", "stride", "in"} <= {c.label for c in _at(dsl.format("residual=${stride == 1 and " + CURSOR + "}"),
                                                            "dsl")}
    labels = {c.label for c in _at(dsl.format("residual " + CURSOR), "dsl")}
    assert {"shortcut", "activation"} <= labels and "residual" not in labels  # docs/dsl.md's block header


def test_long_lines_and_deep_brackets_are_answered_in_linear_time():
    import time

    n = 50_000  # a step per character per character (a regular expression anchored at the end) would take minutes
    texts = ["layers:\n  - " + "x" * n + " ", "layers:\n  - conv2d: {filters: ${" + "x" * n + " ",
             "input: [1]\nlayers:\n  - conv2d: {filters: " + "x." * (n // 2) + " ", " " * n + "a",
             "input [1]\nconv " + "x=" * n + " ", "train " + "x" * n + " ", "${" + "in." * n, "[" * n, "{" * n + "a: ",
             "blocks:\n  b:\n    params: {" + "x" * n + "\n    layers:\n      - conv2d: "]
    for text in texts:
        lines = text.split("\n")
        for fmt in ("yaml", "dsl"):
            start = time.perf_counter()
            assert isinstance(complete(lines, len(lines) - 1, len(lines[-1]), fmt, None), list)
            assert time.perf_counter() - start < 3, (text[:40], fmt)


def test_a_networks_expect_takes_the_expect_keys_in_block_style_and_in_braces():
    head = "networks:\n  enc:\n    input: [3]\n    layers: [flatten]\n"
    assert _fields(Expect) == {c.label for c in _at(head + "    expect:\n      " + CURSOR + "\n")}
    assert _fields(Expect) - {"params"} == {c.label for c in _at(head + "    expect: {params: 3, " + CURSOR + "}\n")}
