"""Completion offers an option only while it is not written yet (YAML braces and the DSL)."""

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
