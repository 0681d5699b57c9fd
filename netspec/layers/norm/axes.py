"""Which axes a normalization reads: the channel count and the trailing axes."""

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import SEQUENCE_HINT


def trailing_axes(x: TensorType, axes: int, kind: str) -> tuple[int, ...]:
    """The sizes of the last ``axes`` axes, which layer and RMS norms normalize over (fixed sizes only)."""
    if x.rank < axes:
        raise ShapeError(f"{kind} over axes: {axes} trailing axes needs an input of rank ≥ {axes}, got {x} of rank "
                         f"{x.rank}: expected axes 1..{x.rank} (per-sample axes; the batch is never normalized here)",
                         option="axes")
    dims = x.shape[-axes:]
    if any(isinstance(d, str) for d in dims):
        raise ShapeError(f"{kind} axes must be fixed sizes, got {x}")
    return tuple(int(d) for d in dims)


def channels(x: TensorType) -> int:
    if isinstance(x.shape[0], str):
        raise ShapeError(f"the channel count must be fixed, got '{x.shape[0]}'" + SEQUENCE_HINT)
    return int(x.shape[0])
