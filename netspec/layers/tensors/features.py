"""The input check of the kinds that read a ``(T, E)`` sequence of feature vectors."""

from netspec.core.errors import ShapeError
from netspec.core.types import TensorType
from netspec.layers.base import need_float


def features(x: TensorType, kind: str) -> int:
    """Check that ``x`` is a float ``(T, E)`` sequence with a fixed E; return E."""
    if x.rank != 2:
        raise ShapeError(f"{kind} expects a sequence (T, E) (positions, features), got shape {x}; hint: an image "
                         "(C, H, W) becomes a sequence of patches with 'reshape: [C, -1]' and 'permute: [1, 0]'")
    need_float(x, kind)
    e = x.shape[1]
    if isinstance(e, str):
        raise ShapeError(f"{kind} needs a fixed feature size, got symbolic '{e}' in {x}")
    return e
