"""The shared rule of ``pixel_shuffle`` and ``pixel_unshuffle``."""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import Size
from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Int, Layer


class ShuffleBase(Layer):
    """Moves values between channels and space; ``factor`` is r."""

    FAMILY: ClassVar[str] = "reshape"
    READS: ClassVar[str | None] = READS_CHANNELS
    PRIMARY: ClassVar[str] = "factor"
    SHAPE_ONLY: ClassVar[bool] = True
    INPUT_DTYPE: ClassVar[str] = "any"

    factor: Int = Field(default=2, ge=1, le=64,
                        description="r: each spatial axis grows (shuffle) or shrinks (unshuffle) r times")

    def checked(self, size: Size, what: str, x: TensorType) -> Any:
        if not size.exact:
            raise ShapeError(f"{self.KIND} by {self.factor} needs {what} divisible by {self.factor}"
                             f"{'²' if what == 'channels' else ''}, got {x} ({size.arithmetic})", option="factor")
        return size.value

    def label(self) -> str:
        return f"{self.KIND} ×{self.factor}"
