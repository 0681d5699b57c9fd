from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.fmt import show
from netspec.core.types import TensorType
from netspec.layers.base import MAX_KERNEL, READS_CHANNELS, Ctx, Int, Layer, need_rank, register_layer
from netspec.layers.conv.window import axis_option


@register_layer("adaptive_avg_pool2d", aliases=("adaptive_avgpool2d",))
class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed output size (as torchvision's AlexNet/VGG heads)."""
    READS: ClassVar[str | None] = READS_CHANNELS

    FAMILY: ClassVar[str] = "pool"
    PRIMARY: ClassVar[str] = "output_size"
    EXAMPLES: ClassVar = [({"output_size": 6}, [(4, 13, 13)]), ({"output_size": [2, 3]}, [(3, 5, 7)]),
                          ({"output_size": [None, 1]}, [(3, 5, 7)])]

    output_size: Int | tuple[Int | None, Int | None] = Field(
        default=1, description="output (height, width); null keeps that axis's input size, as torch does")

    def sizes(self, x: TensorType) -> tuple[Any, Any]:
        """The output (height, width): ``null`` keeps the input's size on that axis."""
        pair_ = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return tuple(n if v is None else v for v, n in zip(pair_, x.shape[1:]))  # type: ignore[return-value]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        need_rank(x, (3,), "a 3-D input (channels, height, width)")
        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        for i, v in enumerate(raw):
            if v is not None and not 1 <= v <= MAX_KERNEL:  # at the element that is out of range, when a list
                raise ShapeError(f"output_size must be between 1 and {MAX_KERNEL} (or null), got {show(v)}",
                                 option=axis_option("output_size", self.output_size, i))
        return TensorType((x.shape[0], *self.sizes(x)), x.dtype)

    def label(self) -> str:
        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return "adaptive avgpool → " + "×".join("·" if v is None else str(v) for v in raw)

    def build(self, ins: list[TensorType]) -> Any:
        import torch.nn as nn

        raw = (self.output_size,) * 2 if isinstance(self.output_size, int) else self.output_size
        return nn.AdaptiveAvgPool2d(tuple(raw))
