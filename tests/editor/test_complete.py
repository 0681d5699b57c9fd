"""Completion offers an option or key only while it is not written yet (YAML braces, block style, sections; the DSL)."""

from netspec.editor.complete import complete


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
