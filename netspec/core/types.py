"""The types every stage shares: a per-sample tensor type and a reference to a node's output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from netspec.core.sizes import Dim


@dataclass(frozen=True)
class TensorType:
    """Per-sample tensor type: shape (channels first, batch excluded) and dtype (``float`` or ``long``).

    A dim is an int or a symbolic size (a ``str`` such as ``"T"`` or ``"floor((T - 5)/2) + 1"``).
    """

    shape: tuple[Dim, ...]
    dtype: str = "float"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        return fmt_shape(self.shape)


def fmt_shape(shape: tuple[Dim, ...] | list[Dim]) -> str:
    """``(6, 28, 28)``; a one-dim shape keeps Python's trailing comma: ``(120,)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Ref(NamedTuple):
    """An output of a node (or a network input): source name and output key."""

    src: str
    key: str = "out"

    def __str__(self) -> str:
        return self.src if self.key == "out" else f"{self.src}:{self.key}"
