"""Size arithmetic against numbers worked by hand (and the notes' examples, corrected where they slip)."""

from netspec.core.sizes import conv_out, conv_transpose_out, receptive, sym_add
from netspec.spec.expr import ExprError, evaluate


def test_conv_formula_worked_examples():
    # floor((n + 2p - d(k - 1) - 1)/s) + 1, worked by hand:
    assert conv_out(32, 5).value == 28             # LeNet C1: 32 - 5 + 1
    assert conv_out(227, 11, 4).value == 55        # AlexNet conv1: (227 - 11)/4 + 1
    assert conv_out(55, 3, 2).value == 27          # AlexNet pool1: (55 - 3)/2 + 1
    assert conv_out(224, 7, 2, 3).value == 112     # ResNet stem: (224 + 6 - 7)/2 + 1 = 112.5 -> 112
    assert conv_out(56, 1, 2).value == 28          # the notes' 1x1 stride-2 shortcut (OCR'd as 86)
    assert conv_out(10, 5, 2).value == 3           # notes 001: 10 steps, kernel 5, stride 2
    assert conv_out(9, 3, 1, 0, 2).value == 5      # dilation 2: 9 - 2*2 = 5


def test_notes_slip_125_by_49():
    # Notes 004 say (62, 24); the formula gives (63, 25): the notes drop the +1.
    assert (conv_out(125, 5, 2, 2).value, conv_out(49, 5, 2, 2).value) == (63, 25)


def test_exactness_flags_dropped_pixels():
    assert conv_out(10, 5, 2).exact is False   # (10 - 5)/2 = 2.5
    assert conv_out(10, 5, 2).dropped == 1     # windows start at 0, 2, 4 and end at 8: input 9 is never seen
    assert conv_out(11, 5, 2).exact is True    # (11 - 5)/2 = 3
    assert conv_out(7, 2, 2).dropped == 1      # 2x2/2 pooling of 7 loses the 7th row
    # ResNet's 3x3/2 with padding 1 on 56: (56 + 2 - 3)/2 = 27.5, but only the right padding is left out.
    assert conv_out(56, 3, 2, 1).exact is False and conv_out(56, 3, 2, 1).dropped == 0
    # A 1x1 stride-2 shortcut skips every other position by design; that is not a dropped tail.
    assert conv_out(56, 1, 2).dropped == 0


def test_ceil_mode_matches_pytorch_rule():
    # ceil((7 + 2 - 3)/2) + 1 = 4; the last window starts at 6 < 7 + 1, so it is kept.
    assert conv_out(7, 3, 2, 1, ceil_mode=True).value == 4
    # ceil((6 - 2)/3) + 1 = 3, but the 3rd window would start at 6 >= 6: PyTorch drops it -> 2.
    assert conv_out(6, 2, 3, 0, ceil_mode=True).value == 2


def test_symbolic_sizes_stay_readable():
    assert conv_out("T", 5, 2).value == "floor((T - 5)/2) + 1"
    assert conv_out("T", 3, 1, 1).value == "T"
    assert conv_out("T", 5).value == "T - 4"
    assert sym_add("T - 4", 4) == "T"


def test_transpose_formula():
    # (n - 1)s - 2p + d(k - 1) + output_padding + 1: (7 - 1)*2 - 2 + 3 + 1 = 14
    assert conv_transpose_out(7, 4, 2, 1).value == 14


def test_receptive_field_recurrence():
    # Two 3x3 convs then a 2x2/2 pool: 3 -> 5 -> 6 (jump 2), by r' = r + (k - 1) j.
    r, j = receptive(1, 1, 3, 1)
    r, j = receptive(r, j, 3, 1)
    r, j = receptive(r, j, 2, 2)
    assert (r, j) == (6, 2)


def test_expressions_are_safe_and_useful():
    assert evaluate("${width * 4}", {"width": 16}) == 64
    assert evaluate("${2 if i == 0 else 1}", {"i": 0}) == 2
    assert evaluate("$w", {"w": 3}) == 3
    for bad in ("${__import__('os')}", "${w.__class__}", "${[1, 2]}", "${open('x')}", "${lambda: 1}"):
        try:
            evaluate(bad, {"w": 1})
        except ExprError:
            continue
        raise AssertionError(f"{bad} was evaluated")
