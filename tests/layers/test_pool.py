"""The windowed pools (netspec/layers/pool): which sizes ``check`` accepts and what it infers, swept over
tiny sizes against torch at run time; the review's avg_pool3d that check accepted and torch refused."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec.core.errors import NetspecError, ShapeError

POOLS = ["avg_pool1d", "avg_pool2d", "avg_pool3d", "max_pool1d", "max_pool2d", "max_pool3d"]


def _torch_shape(kind: str, shape: list[int], kernel: list[int], stride: list[int], padding: list[int],
                 ceil: bool) -> tuple[int, ...] | None:
    """The output shape torch gives (less the batch), or None where torch refuses the input."""
    try:
        return tuple(getattr(F, kind)(torch.zeros(1, *shape), kernel, stride, padding, ceil_mode=ceil).shape[1:])
    except RuntimeError:
        return None


def _netspec_shape(kind: str, shape: list[int], kernel: list[int], stride: list[int], padding: list[int],
                   ceil: bool) -> tuple[int, ...] | None:
    spec = (f"input: {shape}\nlayers:\n  - {kind}: {{kernel: {kernel}, stride: {stride}, padding: {padding}, "
            f"ceil_mode: {str(ceil).lower()}}}\n")
    try:
        return tuple(netspec.analyze(spec).network().nodes[-1].out.shape)
    except NetspecError:
        return None


@pytest.mark.parametrize("kind", POOLS)
def test_pool_accepts_exactly_what_torch_runs_with_its_shape(kind):
    """One axis at a time goes through tiny sizes, kernels, strides, paddings (up to half the kernel,
    torch's own limit, which the spec checks on its own) and ceil_mode; the other axes stay 3 wide with a
    kernel of 1."""
    n_axes = int(kind[-2])
    cases = refused = 0
    for axis, n, k, s, ceil in itertools.product(range(n_axes), range(1, 5), range(1, 4), (1, 2), (False, True)):
        for p in sorted({0, k // 2}):
            shape, kernel, stride, padding = [2] + [3] * n_axes, [1] * n_axes, [1] * n_axes, [0] * n_axes
            shape[1 + axis], kernel[axis], stride[axis], padding[axis] = n, k, s, p
            want = _torch_shape(kind, shape, kernel, stride, padding, ceil)
            got = _netspec_shape(kind, shape, kernel, stride, padding, ceil)
            assert got == want, f"{kind} input {shape} kernel {kernel} stride {stride} padding {padding} " \
                                f"ceil_mode {ceil}: torch {want}, netspec {got}"
            cases += 1
            refused += want is None
    assert refused > 0 and cases > refused  # the sweep reaches both sides of torch's rule


REVIEW = """input: [2, 9, 7, 3]
layers:
  - avg_pool3d: {kernel: [3, 2, 4], stride: [1, 2, 3], padding: 1}
"""


def test_avg_pool3d_with_a_kernel_larger_than_the_unpadded_input_is_refused_at_the_kernel(tmp_path):
    # torch checks avg_pool3d's input before padding: width 3 < kernel 4 (padded it would be 5)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        F.avg_pool3d(torch.zeros(1, 2, 9, 7, 3), [3, 2, 4], [1, 2, 3], 1)
    path = tmp_path / "pool.yaml"
    path.write_text(REVIEW, encoding="utf-8")
    with pytest.raises(ShapeError) as info:
        netspec.check(str(path))
    [problem] = info.value.problems
    assert problem.location is not None and problem.location.file == str(path)
    # line 3, column of the kernel's width, the 4 of "[3, 2, 4]" after "  - avg_pool3d: {kernel: [3, 2, "
    assert (problem.location.line, problem.location.column) == (3, len("  - avg_pool3d: {kernel: [3, 2, ") + 1)
    assert problem.path.startswith("layers[0].kernel[2]")
    assert "width 3" in problem.message and "kernel" in problem.message
    assert problem.hint and "at most 3" in problem.hint
    # max_pool3d checks only the padded input: the same options run in torch and pass check
    assert tuple(F.max_pool3d(torch.zeros(1, 2, 9, 7, 3), [3, 2, 4], [1, 2, 3], 1).shape[1:]) == \
        tuple(netspec.analyze(REVIEW.replace("avg_pool3d", "max_pool3d")).network().nodes[-1].out.shape)


def _padding_problem(layer: str):
    with pytest.raises(NetspecError) as info:
        netspec.check(f"input: [2, 9, 9]\nlayers:\n  - {layer}\n")
    (problem,) = info.value.problems
    assert problem.path.endswith("padding") and ("got 'same'" in problem.message or "got 'valid'" in problem.message)
    return problem


@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (5, 2), (5, 3)])
def test_max_pool_padding_same_hints_the_padding_that_gives_it(kernel: int, stride: int):
    """'same' (TF/Keras): an output of ceil(n/s). The hinted padding, given to torch's MaxPool2d, gives it."""
    problem = _padding_problem(f"max_pool2d: {{kernel: {kernel}, stride: {stride}, padding: same}}")
    pad = int(problem.hint.split("padding: ")[1].split()[0])
    out = torch.nn.MaxPool2d(kernel, stride, padding=pad)(torch.zeros(1, 2, 9, 9)).shape[-1]
    assert out == -(-9 // stride)  # ceil(9 / s)


@pytest.mark.parametrize("kernel", [2, 4])
def test_max_pool_padding_same_with_an_even_kernel_hints_ceil_mode_at_stride_2(kernel: int):
    """An even kernel: the hinted padding with ceil_mode gives ceil(n/2) at stride 2 (torch says so at n = 9)."""
    problem = _padding_problem(f"max_pool2d: {{kernel: {kernel}, stride: 2, padding: same}}")
    assert "ceil_mode: true" in problem.hint and "at stride 2" in problem.hint
    pad = int(problem.hint.split("padding: ")[1].split()[0])
    out = torch.nn.MaxPool2d(kernel, 2, padding=pad, ceil_mode=True)(torch.zeros(1, 2, 9, 9)).shape[-1]
    assert out == 5  # ceil(9 / 2)


def test_pool_padding_valid_hints_no_padding():
    assert "padding: 0" in _padding_problem("avg_pool2d: {kernel: 3, padding: valid}").hint
