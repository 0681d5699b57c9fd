"""Sliding-window arithmetic shared by the convolution, pooling and locally connected kinds:
the axis names, 3-D size options, the output-size check and per-axis tuples."""

from typing import Any

from netspec.core.errors import ShapeError
from netspec.core.sizes import Size
from netspec.layers.base import Ctx, sizes

AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
IntTriple = sizes(3)  # kernel, stride, dilation of a 3-D window
PadTriple = sizes(3, low=0)


def check_size(size: Size, axis: str, kind: str, ctx: Ctx, stride: int,
               option: tuple[str | int, ...] = ()) -> int | str:
    """Raise on a size <= 0; warn (or fail with --strict) when a stride drops pixels. ``option``: the
    option (or its element on this axis, :func:`axis_option`) a size <= 0 is blamed on, where it is written."""
    if isinstance(size.value, int) and size.value <= 0:
        raise ShapeError(f"{axis} {size.arithmetic} (the {kind} window is larger than its padded input); "
                         "hint: pad the input, or use a smaller kernel or stride", option=option)
    if size.dropped:
        what = {"height": "row", "width": "column"}.get(axis, "position")
        ctx.warn(f"{axis}: {size.arithmetic} is not a whole division: the last {size.dropped} input "
                 f"{what}{'s never reach' if size.dropped > 1 else ' never reaches'} a window (stride {stride}); "
                 "hint: adjust the padding or stride")
    return size.value


def axis_option(name: str, value: Any, axis: int) -> tuple[str | int, ...]:
    """The option ``name`` on one axis, as an error locates it: its element there when it is written as a
    list (``kernel: [3, 9]``: ``("kernel", 1)``), else the option itself (one value for every axis)."""
    return (name, axis) if isinstance(value, (list, tuple)) else (name,)


def size_tuple(v: Any, n: int) -> tuple[int, ...]:
    return (v,) * n if isinstance(v, int) else tuple(int(x) for x in v)


def lrtb(p: int | list[int]) -> tuple[int, int, int, int]:
    """p, [vertical, horizontal] or [left, right, top, bottom] as (left, right, top, bottom)."""
    if isinstance(p, int):
        return (p, p, p, p)
    if len(p) == 1:
        return (p[0],) * 4
    if len(p) == 2:
        return (p[1], p[1], p[0], p[0])
    return (p[0], p[1], p[2], p[3])
