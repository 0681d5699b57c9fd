"""Size arithmetic against numbers worked by hand (and the notes' examples, corrected where they slip)."""

import pytest

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


# --- symbolic sizes obey the concrete rules and torch -------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from netspec.core.sizes import Expr, same_size, size_product, upsample_out  # noqa: E402
from netspec.core.sizes import conv_out as _conv_out  # noqa: E402
from netspec.core.sizes import evaluate as evaluate_size  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(k=st.integers(1, 7), s=st.integers(1, 4), p=st.integers(0, 3), d=st.integers(1, 3), ceil=st.booleans())
def test_symbolic_conv_size_evaluates_to_the_concrete_rule_and_torch(k, s, p, d, ceil):
    import torch
    import torch.nn.functional as F

    if ceil and (p > (k - 1) // 2 or d != 1):
        return  # torch's pooling: padding at most half the window; ceil_mode is a pooling option
    sym = _conv_out("T", k, s, p, d, ceil_mode=ceil).value
    for n in range(1, 40):
        concrete = _conv_out(n, k, s, p, d, ceil_mode=ceil).value
        if concrete < 1:
            continue
        assert evaluate_size(sym, {"T": n}) == concrete, (sym, n)
        x = torch.zeros(1, 1, n)
        if ceil:
            out = F.max_pool1d(x, k, s, p, ceil_mode=True)
        else:
            out = F.conv1d(x, torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        assert out.shape[-1] == concrete


def test_ceil_mode_symbolic_is_torchs_floor_rule():
    # max_pool1d kernel 2, stride 2, padding 1, ceil_mode: torch gives floor(T/2) + 1 (the last window
    # may not start in the right padding), not ceil(T/2) + 1.
    sym = _conv_out("T", 2, 2, 1, ceil_mode=True).value
    assert same_size(sym, "floor(T/2) + 1")
    assert not same_size(sym, "ceil(T/2) + 1")


@pytest.mark.parametrize("scale", [2, 3, 0.5, 1.5])
def test_symbolic_upsample_evaluates_to_the_concrete_rule(scale):
    sym = upsample_out("T", scale).value
    for n in range(2, 30):
        assert evaluate_size(sym, {"T": n}) == upsample_out(n, scale).value


def test_transpose_symbolic_evaluates_to_the_concrete_rule():
    sym = conv_transpose_out("T", 4, 2, 1, 1).value
    for n in range(1, 30):
        assert evaluate_size(sym, {"T": n}) == conv_transpose_out(n, 4, 2, 1, 1).value == (n - 1) * 2 - 2 + 3 + 1 + 1


def test_counts_of_symbolic_sizes_are_polynomials():
    steps = "floor((T - 5)/2) + 1"
    macs = size_product((steps,)) * 2128 + 32  # a conv1d then a GRU, as an expression of T
    assert isinstance(macs, Expr) and str(macs) == "2128*(floor((T - 5)/2) + 1) + 32"
    assert macs.bind({"T": 21}) == 2128 * 9 + 32
    assert size_product((3, "T", "T")).bind({"T": 4}) == 48
    assert size_product((2, 3)) == 6


@pytest.mark.parametrize("text", ["__import__('os')", "T.real", "min()", "1 < 'a'", "T ** 2", "-'a'"])
def test_size_expressions_refuse_anything_else(text):
    with pytest.raises((ValueError, TypeError)):
        evaluate_size(text, {"T": 3})
