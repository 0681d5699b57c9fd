from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import sym_add
from netspec.core.types import TensorType
from netspec.layers.base import READS_CHANNELS, Ctx, Layer, need_rank, register_layer, sizes
from netspec.layers.conv.window import lrtb


@register_layer("crop2d", aliases=("cropping2d",))
class Crop2d(Layer):
    """Cropping of (C, H, W): c, [vertical, horizontal] or [left, right, top, bottom] cut off.

    The inverse of zero_pad2d, in its order (PyTorch's padding order)."""

    FAMILY: ClassVar[str] = "reshape"
    READS: ClassVar[str | None] = READS_CHANNELS
    PRIMARY: ClassVar[str] = "cropping"
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"cropping": 2}, [(3, 10, 10)]), ({"cropping": [1, 2, 0, 3]}, [(2, 8, 9)]),
                          ({"cropping": [1, 0]}, [(1, 5, 4)])]

    cropping: sizes((1, 2, 4), low=0) = Field(  # type: ignore[valid-type]
        default=1, description="c, [vertical, horizontal] or [left, right, top, bottom]")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        left, right, top, bottom = lrtb(self.cropping)
        out = []
        for axis, n, cut in (("height", x.shape[1], top + bottom), ("width", x.shape[2], left + right)):
            size = sym_add(n, -cut)
            if isinstance(size, int) and size < 1:
                raise ShapeError(f"{axis}: cropping {cut} of {n} leaves {size}; hint: crop less", option="cropping")
            out.append(size)
        return TensorType((x.shape[0], *out), x.dtype)

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(1, 1, 1), (1, 1, 1)]

    def label(self) -> str:
        return "crop"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.conv import Crop2d as TorchCrop2d

        return TorchCrop2d(lrtb(self.cropping))
