from typing import Any, ClassVar

from netspec.core.sizes import sym_add
from netspec.core.types import TensorType
from netspec.layers.base import READS_STEPS, Ctx, Layer, register_layer
from netspec.layers.tensors.features import features


@register_layer("class_token", aliases=("cls_token",))
class ClassToken(Layer):
    """Prepend a learned token to a sequence: ``(T, E)`` → ``(T + 1, E)`` (ViT's and BERT's [CLS]).

    The parameter is ``class_token`` ``(1, 1, E)``, zeros at first, as torchvision's VisionTransformer;
    ``sequence_pool: first`` reads the token back after the encoder.
    """

    FAMILY: ClassVar[str] = "tensor"
    READS: ClassVar[str | None] = READS_STEPS
    FEATURES_LAST: ClassVar[bool] = True
    EXAMPLES: ClassVar = [({}, [(4, 6)]), ({}, [("T", 3)]), ({"trainable": False}, [(1, 2)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        e = features(x, self.KIND)
        return TensorType((sym_add(x.shape[0], 1), e))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"class_token": (1, 1, int(ins[0].shape[1]))}

    def label(self) -> str:
        return "class token"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import ClassToken as TorchClassToken

        return TorchClassToken(int(ins[0].shape[1]))
