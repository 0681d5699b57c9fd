from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.fmt import show
from netspec.core.types import TensorType, fmt_shape
from netspec.layers.base import Ctx, Int, Layer, channels_first, features_last, register_layer


@register_layer("permute", aliases=("transpose",))
class Permute(Layer):
    """Reorder the per-sample axes: ``permute: [1, 0]`` turns conv1d's (C, L) into an LSTM's (L, C)."""
    SHAPE_ONLY: ClassVar[bool] = True

    FAMILY: ClassVar[str] = "reshape"
    PRIMARY: ClassVar[str] = "dims"
    INPUT_DTYPE: ClassVar[str] = "any"
    EXAMPLES: ClassVar = [({"dims": [1, 0]}, [(3, 5)]), ({"dims": [1, 2, 0]}, [(3, 4, 5)]),
                          ({"dims": [1, 0]}, [(4, "T")])]

    dims: list[Int] = Field(default_factory=lambda: [1, 0], min_length=1, max_length=8,
                            description="new order of the per-sample axes (batch excluded)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        if sorted(self.dims) != list(range(x.rank)):
            raise ShapeError(f"dims {show(self.dims)} must be a permutation of 0..{x.rank - 1} for an input of "
                             f"shape {x}", option="dims")
        return TensorType(tuple(x.shape[d] for d in self.dims), x.dtype)

    def output_features_last(self, ins: list[TensorType], ctx: Ctx) -> bool:
        """Channels moved last make a channels-last map (ConvNeXt's ``[1, 2, 0]``); a features-last input
        stays so while its last axis stays last."""
        if channels_first(ctx):  # of rank 2 it may be a (T, F) input read as (C, L): not known
            return ins[0].rank >= 3 and self.dims[-1] == 0
        return features_last(ctx) and self.dims[-1] == len(self.dims) - 1

    def output_axes(self, ins: list[TensorType], out: TensorType) -> tuple[int, ...]:
        """Output axis ``i`` is input axis ``dims[i]``: the builder composes these, so a body that permutes
        and permutes back (MLP-Mixer's token mixing) is known to keep its input's axis order."""
        return tuple(self.dims)

    def label(self) -> str:
        return f"permute {fmt_shape(self.dims)}"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.sequence import Permute as TorchPermute

        return TorchPermute(self.dims)
