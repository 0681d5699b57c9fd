from typing import ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import Dim, divide
from netspec.core.types import TensorType
from netspec.layers.base import Int, register_layer
from netspec.layers.merge.base_split import SplitBase


@register_layer("chunk")
class Chunk(SplitBase):
    """Cut ``axis`` into ``chunks`` equal pieces (the axis must divide evenly)."""

    PRIMARY: ClassVar[str] = "chunks"
    EXAMPLES: ClassVar = [({"chunks": 2}, [(6, 3, 3)]), ({"chunks": 3, "axis": -1}, [(2, 9)]),
                          ({"chunks": 3, "axis": 0}, [("T", 4)])]

    chunks: Int = Field(ge=1, le=1024, description="how many equal pieces")

    def pieces(self, x: TensorType, ax: int) -> list[Dim]:
        size = divide(x.shape[ax], self.chunks)
        if not size.exact:
            raise ShapeError(f"chunk cuts axis {self.axis} of {x} into {self.chunks} equal pieces: {size.arithmetic} "
                             "is not whole; hint: use split with explicit sizes", option="chunks")
        return [size.value] * self.chunks

    def label(self) -> str:
        return f"chunk ÷{self.chunks}"
