"""The shared rule of the element-wise merges (``add``, ``multiply``, ``subtract``)."""

from typing import ClassVar

from netspec.core.errors import ShapeError
from netspec.core.sizes import Dim, same_size
from netspec.core.types import TensorType
from netspec.layers.activations import ActivationName
from netspec.layers.base import Ctx, Layer


def broadcast(ins: list[TensorType], kind: str) -> TensorType:
    """The per-sample shape that ``ins`` broadcast to, by torch's (NumPy's) rules without the batch
    axis: shapes are aligned on the right, and on each axis the sizes are equal or 1. So a
    squeeze-excitation gate (C, 1, 1) multiplies (C, H, W), and a (W,) row adds to every row."""
    rank = max(t.rank for t in ins)
    out: list[Dim] = []
    for k in range(rank, 0, -1):
        sized = [(i, t) for i, t in enumerate(ins, start=1) if t.rank >= k and t.shape[-k] != 1]
        clash = [(i, t) for i, t in sized if not same_size(t.shape[-k], sized[0][1].shape[-k])]
        if clash:
            (i1, t1), (i2, t2) = sized[0], clash[0]
            raise ShapeError(f"{kind} needs equal shapes (or sizes of 1, which broadcast), got input {i1} {t1} "
                             f"and input {i2} {t2}; hint: a residual block whose stride or width changes needs a "
                             "projection shortcut")
        out.append(sized[0][1].shape[-k] if sized else 1)
    return TensorType(tuple(out), ins[0].dtype)


class ElementwiseMerge(Layer):
    """Shared rule of add, subtract and multiply: the inputs have the same shape, or shapes that
    broadcast (per sample, by torch's rules: right-aligned, equal sizes or 1)."""

    FAMILY: ClassVar[str] = "merge"
    ARITY: ClassVar[int | None] = None
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(3, 4), (3, 4)]), ({}, [(2,), (2,), (2,)]), ({}, [(4, 5, 6), (4, 1, 1)]),
                          ({}, [(1, 5, 1), (3, 1, 6), (6,)]), ({}, [("T", 4), (1, 4)])]

    activation: ActivationName | None = None  # type: ignore[valid-type]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        return broadcast(ins, self.KIND)
