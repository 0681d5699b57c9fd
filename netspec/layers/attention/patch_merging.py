from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import size_product, window_count
from netspec.core.types import TensorType
from netspec.layers.attention.window_attention import channels_last_map
from netspec.layers.base import MAX_WIDTH, Ctx, Float, Layer, register_layer


@register_layer("patch_merging")
class PatchMerging(Layer):
    """Swin's downsampling between stages: a channels-last map ``(H, W, C)`` → ``(⌈H/2⌉, ⌈W/2⌉, 2C)``
    (Liu et al. 2021; torchvision's ``PatchMerging``).

    Each 2×2 neighbourhood's four C-vectors are concatenated in torchvision's order x[0::2, 0::2],
    x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] (an odd H or W is padded with a zero row or column first),
    normalized by a LayerNorm over the 4C, and projected to 2C by a linear layer without bias.
    Parameters (torch's names and order): ``reduction.weight`` ``(2C, 4C)``, ``norm.weight`` ``(4C,)``,
    ``norm.bias`` ``(4C,)``. MACs per sample: the projection, ``⌈H/2⌉·⌈W/2⌉·4C·2C`` (the norm is not
    multiply-adds, as for ``layernorm``).
    """

    FAMILY: ClassVar[str] = "pool"
    FEATURES_LAST: ClassVar[bool] = True
    EXAMPLES: ClassVar = [
        ({}, [(8, 8, 4)]),
        ({"eps": 1e-6}, [(5, 7, 3)]),            # odd sizes: padded to 6×8
        ({}, [(1, 1, 2)]),
        ({}, [("T", 6, 4)]),
    ]

    eps: Float = Field(default=1e-5, gt=0, description="the LayerNorm's epsilon (torchvision's Swin: 1e-5)")

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        c = channels_last_map(x, self.KIND, ctx)
        if 4 * c > MAX_WIDTH:
            raise ShapeError(f"patch_merging would normalize 4·{c} = {4 * c} features, above {MAX_WIDTH:,}")
        h, w = (window_count(n, 2).value for n in x.shape[:2])
        return TensorType((h, w, 2 * c), x.dtype)

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        c = int(ins[0].shape[2])
        return {"reduction.weight": (2 * c, 4 * c), "norm.weight": (4 * c,), "norm.bias": (4 * c,)}

    def macs(self, ins: list[TensorType], outs: list[TensorType]) -> int:
        c = int(ins[0].shape[2])
        return size_product(outs[0].shape[:2]) * 8 * c * c

    def receptive(self) -> list[tuple[int, int, int]]:
        return [(2, 2, 1)] * 2

    def label(self) -> str:
        return "patch merging 2×2"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.window import PatchMerging as TorchPatchMerging

        return TorchPatchMerging(int(ins[0].shape[2]), eps=self.eps)
