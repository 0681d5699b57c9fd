"""The types every stage shares: a per-sample tensor type and a reference to a node's output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from netspec.core.sizes import Dim, same_size


@dataclass(frozen=True, eq=False)
class TensorType:
    """Per-sample tensor type: shape (channels first, batch excluded) and dtype (``float`` or ``long``).

    A dim is an int or a symbolic size (a ``str`` such as ``"T"`` or ``"floor((T - 5)/2) + 1"``). Two
    types are equal when their sizes are equal for every value of the symbols, however written.
    """

    shape: tuple[Dim, ...]
    dtype: str = "float"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        return fmt_shape(self.shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorType):
            return NotImplemented
        return self.dtype == other.dtype and same_shape(self.shape, other.shape)

    def __hash__(self) -> int:
        return hash((self.dtype, tuple(d if isinstance(d, int) else "sym" for d in self.shape)))


def same_shape(a: tuple[Dim, ...] | list[Dim], b: tuple[Dim, ...] | list[Dim]) -> bool:
    """Equal shapes: the same rank and sizes equal for every value of their symbols."""
    return len(a) == len(b) and all(same_size(x, y) for x, y in zip(a, b))


def fmt_shape(shape: tuple[Dim, ...] | list[Dim]) -> str:
    """``(6, 28, 28)``; a one-dim shape keeps Python's trailing comma: ``(120,)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Ref(NamedTuple):
    """An output of a node (or a network input): source name and output key."""

    src: str
    key: str = "out"

    def __str__(self) -> str:
        return self.src if self.key == "out" else f"{self.src}:{self.key}"
