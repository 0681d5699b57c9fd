"""Learned tensors: ``class_token``, ``position_embedding``, ``layer_scale``.

Layers whose parameter is a tensor used as it is, not a weight matrix applied to the input: a token
prepended to a sequence, a table of positions added to it, a per-channel multiplier. Sequences are
``(T, E)`` per sample (time first, as ``attention`` reads them). Their parameters are named and shaped
as torchvision's (``class_token`` ``(1, 1, E)`` and ``pos_embedding`` ``(1, T, E)`` of its
VisionTransformer, ``layer_scale`` ``(C, 1, 1)`` of ConvNeXt's block), so weights load by name. They
have no multiply-adds (an addition, a concatenation, an element-wise product).
"""

from typing import Any, ClassVar

from pydantic import Field

from netspec.core.errors import ShapeError
from netspec.core.sizes import sym_add
from netspec.core.types import TensorType
from netspec.layers.base import Axis, Bool, Ctx, Float, Layer, need_float, number, register_layer, sample_axis

MAX_LEN = 1 << 20


def _features(x: TensorType, kind: str) -> int:
    """Check that ``x`` is a float ``(T, E)`` sequence with a fixed E; return E."""
    if x.rank != 2:
        raise ShapeError(f"{kind} expects a sequence (T, E) (positions, features), got shape {x}; hint: an image "
                         "(C, H, W) becomes a sequence of patches with 'reshape: [C, -1]' and 'permute: [1, 0]'")
    need_float(x, kind)
    e = x.shape[1]
    if isinstance(e, str):
        raise ShapeError(f"{kind} needs a fixed feature size, got symbolic '{e}' in {x}")
    return e


@register_layer("class_token", aliases=("cls_token",))
class ClassToken(Layer):
    """Prepend a learned token to a sequence: ``(T, E)`` → ``(T + 1, E)`` (ViT's and BERT's [CLS]).

    The parameter is ``class_token`` ``(1, 1, E)``, zeros at first, as torchvision's VisionTransformer;
    ``sequence_pool: first`` reads the token back after the encoder.
    """

    FAMILY: ClassVar[str] = "tensor"
    EXAMPLES: ClassVar = [({}, [(4, 6)]), ({}, [("T", 3)]), ({"trainable": False}, [(1, 2)])]

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        e = _features(x, self.KIND)
        return TensorType((sym_add(x.shape[0], 1), e))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"class_token": (1, 1, int(ins[0].shape[1]))}

    def label(self) -> str:
        return "class token"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import ClassToken as TorchClassToken

        return TorchClassToken(int(ins[0].shape[1]))


@register_layer("position_embedding", aliases=("pos_embedding", "positional_encoding"))
class PositionEmbedding(Layer):
    """Add a table of positions to a sequence: ``x·scale + P[:T]``, ``(T, E)`` → ``(T, E)``.

    Learned (the default): the parameter ``pos_embedding`` ``(1, L, E)``, normal with std 0.02 at first
    (torchvision's ViT; BERT's position embeddings are the same table). ``sinusoidal: true``: the
    Transformer paper's fixed table ``P[p, 2i] = sin(p / 10000^(2i/E))``, ``P[p, 2i+1] = cos(p /
    10000^(2i/E))``, a buffer (not saved in the state dict, not trained). ``L`` is ``max_len``, or the
    sequence's length when it is fixed; a sequence shorter than ``max_len`` (or of symbolic length)
    reads the first T rows. ``scale`` multiplies the input first (the paper's √d_model on embeddings).
    """

    FAMILY: ClassVar[str] = "tensor"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [
        ({}, [(5, 4)]),
        ({"max_len": 10}, [("T", 4)]),
        ({"sinusoidal": True}, [(6, 8)]),
        ({"sinusoidal": True, "max_len": 16, "scale": 2.0}, [("T", 5)]),
        ({"max_len": 7, "trainable": False}, [(3, 2)]),
    ]

    max_len: number(int, ge=1, le=MAX_LEN) | None = Field(default=None,  # type: ignore[valid-type]
                                description="rows of the table (default: the sequence's fixed length)")
    sinusoidal: Bool = Field(default=False, description="the fixed sin/cos table (a buffer) instead of a learned one")
    scale: Float = Field(default=1.0, description="multiplies the input before the addition (√E in the Transformer)")

    def length(self, x: TensorType) -> int:
        t = x.shape[0]
        if self.max_len is None:
            if isinstance(t, str):
                raise ShapeError(f"position_embedding needs the table's length for a sequence of symbolic length "
                                 f"'{t}' ({x}); hint: give max_len, the longest sequence it will see")
            return t
        if isinstance(t, int) and t > self.max_len:
            raise ShapeError(f"a sequence of {t} positions is longer than the table's max_len {self.max_len}")
        return self.max_len

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        x = ins[0]
        _features(x, self.KIND)
        self.length(x)
        return x

    def table_shape(self, ins: list[TensorType]) -> tuple[int, ...]:
        return (1, self.length(ins[0]), int(ins[0].shape[1]))

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {} if self.sinusoidal else {"pos_embedding": self.table_shape(ins)}

    def buffer_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        return {"pos_embedding": self.table_shape(ins)} if self.sinusoidal else {}

    def label(self) -> str:
        return "+ sinusoidal positions" if self.sinusoidal else "+ positions"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import PositionEmbedding as TorchPositionEmbedding

        _, length, dim = self.table_shape(ins)
        return TorchPositionEmbedding(length, dim, sinusoidal=self.sinusoidal, scale=self.scale)


@register_layer("layer_scale")
class LayerScale(Layer):
    """Multiply each channel by a learned ``γ`` (CaiT, ConvNeXt), ``value`` at first.

    The channel axis is the last of a rank-2 input, read as a sequence ``(T, C)``, and the first
    otherwise (``(C,)``, ``(C, H, W)``); ``axis`` overrides it (``axis: 0`` for conv1d's ``(C, L)``). The
    parameter ``layer_scale`` has C on that axis and 1 on the axes after it, so it broadcasts:
    ``(C, 1, 1)`` for an image, as torchvision's ConvNeXt; ``(C,)`` for a sequence.
    """

    FAMILY: ClassVar[str] = "tensor"
    PRIMARY: ClassVar[str] = "value"
    ELEMENTWISE: ClassVar[bool] = True
    EXAMPLES: ClassVar = [
        ({}, [(4, 5, 5)]),
        ({"value": 0.1}, [("T", 6)]),
        ({"value": 1e-5}, [(7,)]),
        ({"axis": 0}, [(3, "T")]),
        ({"axis": -1}, [(2, 3, 4)]),
    ]

    value: Float = Field(default=1e-6, description="the initial γ (torchvision's ConvNeXt: 1e-6)")
    axis: Axis | None = Field(default=None,
                             description="the channel axis (per sample; default: last of (T, C), else first)")

    def channel_axis(self, x: TensorType) -> int:
        axis = self.axis if self.axis is not None else (1 if x.rank == 2 else 0)
        axis = sample_axis(axis, x, kind=self.KIND)
        if isinstance(x.shape[axis], str):
            raise ShapeError(f"layer_scale needs a fixed channel count on axis {axis}, got '{x.shape[axis]}' in {x}"
                             + ("; hint: a sequence (T, C) scales its last axis" if x.rank == 2 else ""))
        return axis

    def infer(self, ins: list[TensorType], ctx: Ctx) -> TensorType:
        need_float(ins[0], self.KIND)
        self.channel_axis(ins[0])
        return ins[0]

    def param_shapes(self, ins: list[TensorType]) -> dict[str, tuple[int, ...]]:
        x = ins[0]
        axis = self.channel_axis(x)
        return {"layer_scale": (int(x.shape[axis]), *(1,) * (x.rank - 1 - axis))}

    def label(self) -> str:
        return f"× γ ({self.value:g})"

    def build(self, ins: list[TensorType]) -> Any:
        from netspec.layers.torch.tensors import LayerScale as TorchLayerScale

        return TorchLayerScale(self.param_shapes(ins)["layer_scale"], self.value)
