from typing import ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.fmt import show
from netspec.core.sizes import Dim
from netspec.core.types import TensorType, fmt_shape
from netspec.layers.base import Count, register_layer
from netspec.layers.merge.base_split import SplitBase


@register_layer("split")
class Split(SplitBase):
    """Cut ``axis`` into pieces of the given ``sizes`` (they add up to the axis), as ``torch.split``."""

    PRIMARY: ClassVar[str] = "sizes"
    EXAMPLES: ClassVar = [({"sizes": [2, 3]}, [(5, 4, 4)]), ({"sizes": [1, 1, 2], "axis": -1}, [("T", 4)]),
                          ({"sizes": [3]}, [(3,)])]

    sizes: list[Count] = Field(min_length=1, max_length=1024, description="the size of each piece along the axis")

    def pieces(self, x: TensorType, ax: int) -> list[Dim]:
        n = x.shape[ax]
        if any(s < 1 for s in self.sizes):
            raise ShapeError(f"split sizes must be positive, got {show(self.sizes)}",
                             option=("sizes", next(i for i, s in enumerate(self.sizes) if s < 1)))
        if n != sum(self.sizes):
            raise ShapeError(f"split sizes {show(self.sizes)} add up to {sum(self.sizes)}, but axis {self.axis} of {x} "
                             f"has {n}", option="sizes")
        return list(self.sizes)

    def label(self) -> str:
        return f"split {fmt_shape(self.sizes)}"
